"""A small gettext-style catalogue: the Polish text is the message id (Polish is the default
language); English translations are looked up by it. Chosen over Babel/.po files to keep the
build free of a compile step; the shape (``_("…")`` everywhere) lets .po files replace it."""

from __future__ import annotations

LANGS = ("pl", "en")

EN: dict[str, str] = {
    "Pulpit": "Dashboard",
    "Kamery": "Cameras",
    "Rozmowy": "Calls",
    "Zabezpieczenia": "Holds",
    "Wnioski": "Requests",
    "Kopie": "Copies",
    "Komisja niszcząca": "Destruction commission",
    "Rejestry": "Registers",
    "Upoważnienia": "Authorisations",
    "Użytkownicy": "Users",
    "Ustawienia": "Settings",
    "Rejestr dostępu": "Access log",
    "Wyloguj": "Log out",
    "Zaloguj": "Log in",
    "Logowanie": "Log in",
    "Nazwa użytkownika": "User name",
    "Hasło": "Password",
    "Kod jednorazowy (jeśli włączony)": "One-time code (if enabled)",
    "Zmiana hasła": "Change password",
    "Tokeny API": "API tokens",
    "Tokeny": "Tokens",
    "wszystkich użytkowników": "all users",
    "Nowe hasło": "New password",
    "Powtórz nowe hasło": "Repeat the new password",
    "Zapisz": "Save",
    "Cel dostępu": "Purpose of access",
    "Sprawa / znak sprawy": "Case reference",
    "Numer wniosku": "Request number",
    "Osoba upoważniona obecna przy przeglądzie": "Authorised person present",
    "Odtwórz": "Play",
    "Podgląd bieżący": "Live view",
    "Przerwa w nagraniu": "Gap in recording",
    "Fotografowanie i filmowanie ekranu podczas przeglądu nagrań jest zabronione.":
        "Photographing or filming the screen while viewing recordings is forbidden.",
    "system monitoringu": "monitoring system",
    "Odsłuch": "Listening",
    "Protokół z odsłuchania rozmowy telefonicznej": "Listening protocol",
    "Zabezpiecz nagranie": "Place a hold",
    "Zarejestruj wniosek": "Register a request",
    "Decyzja": "Decision",
    "wyrażam zgodę": "I agree",
    "nie wyrażam zgody": "I do not agree",
    "Brak uprawnień": "Not allowed",
    "Język": "Language",
    "Pracownicy": "Employees",
    # mail and IT events (web/monitoring.py)
    "Poczta": "Mail",
    "Zdarzenia IT": "IT events",
    "Źródło": "Source",
    "Włączone": "Enabled",
    "Przeglądaj": "Review",
    "Kategorie zdarzeń": "Event categories",
    "Otrzymano": "Received",
    "Nadawca": "Sender",
    "Adresaci": "Recipients",
    "Temat": "Subject",
    "Rozmiar": "Size",
    "Załączniki": "Attachments",
    "prywatna — tylko metadane": "private — metadata only",
    "Wiadomość (.eml)": "Message (.eml)",
    "Nie znaleziono wiadomości.": "No messages found.",
    "Czas": "Time",
    "Host": "Host",
    "Użytkownik": "User",
    "Program": "Program",
    "Kategoria": "Category",
    "Komunikat": "Message",
    "Szczegóły": "Details",
    "Nie znaleziono zdarzeń.": "No events found.",
    "Pokazano pierwsze wyniki; zawęź wyszukiwanie (osoba, okres), aby zobaczyć pozostałe.":
        "Showing the first results; narrow the search (person, period) to see the rest.",
    "jeszcze w bieżącej porcji danych": "still in the open chunk",
    "jeszcze w bieżącej porcji danych (zostanie zapisana w archiwum po zakończeniu godziny "
    "lub dnia)": "still in the open chunk (stored when its hour or day ends)",
    "Osoba (część nazwiska lub adresu)": "Person (part of a name or an address)",
    "Adres e-mail (dokładnie)": "E-mail address (exact)",
    "Rola adresu": "Address role",
    "dowolna": "any",
    "Temat zawiera": "Subject contains",
    "Komunikat zawiera": "Message contains",
    "Od": "From",
    "Do": "To",
    "Szukaj": "Search",
    "Zakończ przegląd": "End the review",
    # error pages (web/app.py)
    "Nie znaleziono": "Not found",
    "Nie ma takiej strony": "No such page",
    "Niepoprawna wartość": "Invalid value",
    "Sprawdź, czy w adresie nie ma literówki, albo wróć do pulpitu.":
        "Check the address for a typing mistake, or go back to the dashboard.",
    "Adres zawiera niepoprawną wartość (np. litery tam, gdzie powinien być numer). Sprawdź "
    "adres albo wróć do pulpitu.": "The address contains an invalid value (e.g. letters where "
    "a number belongs). Check the address or go back to the dashboard.",
    "Formularz zawiera niepoprawną wartość. Wróć, odśwież stronę i spróbuj ponownie.":
        "The form contains an invalid value. Go back, reload the page and try again.",
    "Niedozwolona operacja": "Operation not allowed",
    "Pod tym adresem nie można wykonać tej operacji (np. adres formularza otwarto "
    "bezpośrednio). Wróć do pulpitu i skorzystaj z przycisków na stronie.":
        "This address does not take this operation (e.g. a form's address was opened "
        "directly). Go back to the dashboard and use the buttons on the page.",
    "Formularz wygasł": "The form has expired",
    "Formularz wygasł — odśwież stronę i wyślij go ponownie. (Formularz nie zawierał ważnego "
    "znacznika sesji: strona była otwarta zbyt długo, nastąpiło wylogowanie albo formularz "
    "nie pochodzi z tej strony.)": "The form has expired — reload the page and send it again. "
    "(It carried no valid session token: the page was open too long, you were logged out, or "
    "the form did not come from this site.)",
    "Za duże żądanie": "Request too large",
    "Żądanie jest za duże (najwyżej 1 MB). Skróć wpisany tekst i wyślij formularz ponownie.":
        "The request is too large (1 MB at most). Shorten the text and send the form again.",
    "Błąd żądania": "Bad request",
    "Nie można obsłużyć tego żądania. Wróć do pulpitu i spróbuj ponownie.":
        "This request cannot be handled. Go back to the dashboard and try again.",
}


def translate(text: str, lang: str) -> str:
    if lang == "en":
        return EN.get(text, text)
    return text
