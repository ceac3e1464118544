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
    "Powiadomienia": "Notifications",
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
    "Przerwy w nagraniu": "Gaps in recording",
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
    "Baza danych jest niedostępna": "The database is unavailable",
    "Kustosz nie może teraz połączyć się ze swoją bazą danych, więc tej strony nie da się "
    "wyświetlić. Spróbuj ponownie za chwilę. Jeśli to potrwa dłużej, powiadom administratora "
    "systemu.": "Kustosz cannot reach its database right now, so this page cannot be shown. "
    "Try again in a moment. If it lasts longer, tell the system administrator.",
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
    # the alert settings page (web/alert_settings.py, alert_settings.html)
    "Powiadomienia o alarmach": "Alert notifications",
    "Wiadomość testowa:": "Test message:",
    "nie wysłano": "not sent",
    "wiadomość wysłana": "message sent",
    "żaden kanał nie jest włączony": "no channel is enabled",
    "Skąd pochodzą ustawienia": "Where the settings come from",
    "Podstawą są ustawienia z tabeli [alerts] w pliku kustosz.toml. Część zmieniona na tej "
    "stronie jest zapisywana w bazie Kustosza i zastępuje odpowiadającą jej część pliku (plik "
    "nie jest zmieniany). Przy każdej części podano, skąd pochodzi.":
        "The base is the [alerts] table of kustosz.toml. A part changed on this page is stored "
        "in Kustosz's database and replaces that part of the file (the file is not changed). "
        "Each part says where it comes from.",
    "Zmienione na tej stronie:": "Changed on this page:",
    "Przywróć ustawienia z kustosz.toml": "Restore the settings from kustosz.toml",
    "Wszystkie ustawienia pochodzą z pliku kustosz.toml.":
        "All settings come from kustosz.toml.",
    "Wiadomość testowa idzie zapisanymi ustawieniami każdym włączonym kanałem.":
        "A test message goes through each enabled channel with the saved settings.",
    "Wyślij wiadomość testową": "Send a test message",
    "pole wymagane": "required field",
    "E-mail": "E-mail",
    "e-mail": "e-mail",
    "Wysyłaj alarmy e-mailem przez serwer pocztowy urzędu":
        "Send alerts by e-mail through the office's mail relay",
    "Serwer pocztowy": "Mail relay",
    "np. smtp.um.example.pl": "e.g. smtp.um.example.pl",
    "Port": "Port",
    "587 dla STARTTLS, 465 dla TLS": "587 for STARTTLS, 465 for TLS",
    "Szyfrowanie": "Encryption",
    "np. kustosz@um.example.pl": "e.g. kustosz@um.example.pl",
    "Odbiorcy": "Recipients",
    "adresy e-mail, każdy w osobnym wierszu lub po przecinku":
        "e-mail addresses, one per line or separated by commas",
    "gdy serwer wymaga logowania": "when the relay requires a login",
    "Hasło jest zapisane (nie jest wyświetlane); zostaw puste, aby je zachować.":
        "A password is stored (not shown); leave empty to keep it.",
    "Przechowywane w postaci zaszyfrowanej kluczem skarbca; nigdy nie jest wyświetlane.":
        "Stored encrypted with the vault's key; never shown.",
    "Hasło do serwera pocztowego trzeba wpisać ponownie. Wcześniej na tej stronie wskazano "
    "plik z hasłem, a plik może wskazać już tylko kustosz.toml; do czasu wpisania hasła alarmy "
    "e-mailem nie wychodzą.": "The mail relay's password must be typed again. A password "
    "file was named on this page before, which only kustosz.toml may do now; until the "
    "password is typed, no alert goes out by e-mail.",
    "Certyfikat urzędu certyfikacji trzeba wkleić ponownie (treść PEM). Wcześniej na tej "
    "stronie wskazano plik certyfikatu, a plik może wskazać już tylko kustosz.toml.":
        "The certificate authority must be pasted again (PEM text). A certificate file was "
        "named on this page before, which only kustosz.toml may do now.",
    "Hasło jest czytane z pliku wskazanego w kustosz.toml:":
        "The password is read from the file kustosz.toml names:",
    "Wpisane tutaj zastąpi plik.": "A password typed here replaces the file.",
    "Teraz: plik wskazany w kustosz.toml:": "Now: the file kustosz.toml names:",
    "Gdy certyfikat serwera wystawił urząd: wklej treść certyfikatu PEM (od -----BEGIN "
    "CERTIFICATE-----). Plik certyfikatu można wskazać tylko w kustosz.toml.":
        "When the office issued the relay's certificate: paste the PEM certificate (from "
        "-----BEGIN CERTIFICATE-----). A certificate file can be named only in kustosz.toml.",
    "Usuń zapisane hasło": "Remove the stored password",
    "Certyfikat urzędu certyfikacji (opcjonalnie)": "Certificate authority (optional)",
    "Webhook": "Webhook",
    "webhook": "webhook",
    "Adres (JSON POST)": "Address (JSON POST)",
    "Zapisany adres:": "Stored address:",
    "(zapisany; nie jest wyświetlany, bo może zawierać token). Zostaw puste, aby go zachować, "
    "albo wpisz nowy.": "(stored; not shown, as it may carry a token). Leave empty to keep "
    "it, or type a new one.",
    "http:// lub https://; przechowywany w postaci zaszyfrowanej, bo może zawierać token":
        "http:// or https://; stored encrypted, as it may carry a token",
    "Wyłącz webhook (usuń adres)": "Turn the webhook off (remove the address)",
    "Syslog": "Syslog",
    "Serwer syslog": "Syslog server",
    "puste wyłącza syslog": "empty turns syslog off",
    "Port (UDP)": "Port (UDP)",
    "Prognoza i zestawienie dzienne": "Forecast and daily digest",
    "ustawienia ogólne": "general settings",
    "Alarm, gdy dysk zapełni się w ciągu (dni)": "Alert when the disk fills within (days)",
    "Zestawienie dzienne dla IOD o godzinie": "Daily digest for the DPO at",
    "GG:MM czasu polskiego; puste — bez zestawienia":
        "HH:MM Polish time; empty — no digest",
    "Odbiorcy zestawienia": "Digest recipients",
    "puste — odbiorcy alarmów e-mail": "empty — the e-mail alert recipients",
    "Rodzaje alarmów": "Alert kinds",
    "Zwłoka: jak długo problem musi trwać, zanim pójdzie wiadomość (krótsze przerwy nie są "
    "zgłaszane). Przypomnienie: co ile przypominać, póki problem trwa („nigdy” — bez "
    "przypomnień). Np. „2 minuty”, „1 godzina”, „30 s”, „1 dzień”.":
        "Grace: how long a problem must last before a message goes (shorter ones are not "
        "reported). Reminder: how often to remind while it lasts (\"never\" — no reminders). "
        "E.g. \"2 minutes\", \"1 hour\", \"30 s\", \"1 day\".",
    "Alarm": "Alert",
    "Zwłoka": "Grace",
    "Przypomnienie": "Reminder",
    "z pliku kustosz.toml": "from kustosz.toml",
    "zmienione na tej stronie": "changed on this page",
    "bez szyfrowania (tylko serwer lokalny)": "no encryption (local relay only)",
    "STARTTLS (zwykle port 587)": "STARTTLS (usually port 587)",
    "TLS (zwykle port 465)": "TLS (usually port 465)",
    "Kamera nie nagrywa": "Camera not recording",
    "Linia telefoniczna nie dostarcza nagrań": "Phone line not delivering recordings",
    "Mało miejsca na dysku": "Low disk space",
    "Dysk pełny": "Disk full",
    "Zapis punktu kontrolnego dziennika nie powiódł się": "Audit checkpoint not written",
    "Rejestrator kamery uruchamia się ponownie w pętli": "Camera recorder restarting in a loop",
    "Prognoza: dysk zapełni się w ciągu kilku dni": "Forecast: the disk fills within days",
    "Usuwanie nagrań po terminie nie działa": "Retention sweep not working",
    "Sprawdzenie dziennika zdarzeń wykazało naruszenie": "Audit log verification failed",
    "Certyfikat HTTPS wkrótce wygaśnie": "HTTPS certificate expiring soon",
    "Zegar serwera lub kamery przestawił się skokowo": "Server or camera clock jumped",
    "Kopia zapasowa się nie powiodła albo jej brakuje": "Backup failed or missing",
    "Węzeł rejestratora przestał odpowiadać": "A recorder node stopped answering",
    "Źródło nie ma węzła, który je nagrywa": "A source has no node recording it",
    "Zegar węzła rozmija się z zegarem bazy danych": "A node's clock differs from the database's",
    "Magazyn obiektów (S3) nie odpowiada": "The object store (S3) is not answering",
    "Bufor lokalny przekroczył swój limit": "The local spool is over its limit",
    "W magazynie obiektów są pliki nieznane rejestrowi":
        "The object store holds files the index does not know",
    "W magazynie obiektów brakuje nagrań z rejestru":
        "Recordings in the index are missing from the object store",
    "Inne alarmy": "Other alerts",
    # alert channel failures (alerts/channels.py REASONS_PL)
    "serwer pocztowy odrzucił logowanie": "the mail relay refused the login",
    "serwer pocztowy nie oferuje logowania (AUTH) — usuń użytkownika i hasło albo włącz "
    "STARTTLS (wiele serwerów oferuje logowanie dopiero po nim)": "the mail relay offers no "
    "login (AUTH) — remove the user and password, or turn STARTTLS on (many relays offer the "
    "login only after it)",
    "serwer pocztowy nie oferuje logowania AUTH PLAIN, potrzebnego dla hasła z polskimi "
    "literami — zmień hasło na takie bez polskich liter": "the mail relay offers no AUTH "
    "PLAIN, needed for a password with Polish letters — use a password without them",
    "nie można odczytać pliku z hasłem wskazanego w kustosz.toml albo nie należy on do root "
    "ani do konta usługi, albo mogą go czytać inni": "the password file kustosz.toml names "
    "cannot be read, or belongs to neither root nor the service's account, or others can "
    "read it",
    "hasło do serwera pocztowego trzeba wpisać ponownie na stronie „Powiadomienia o "
    "alarmach” (wcześniej wskazano tam plik z hasłem, a plik może wskazać tylko "
    "kustosz.toml)": "the relay's password must be typed again on the \"Alert "
    "notifications\" page (a password file was named there, which only kustosz.toml may do)",
    "adres webhooka odpowiedział przekierowaniem (3xx), którego Kustosz nie wykonuje: wpisz "
    "adres docelowy": "the webhook answered with a redirect (3xx), which Kustosz does not "
    "follow: enter the final address",
    "adres webhooka prowadzi do tego komputera (loopback) albo do adresu łącza lokalnego "
    "(169.254.…, fe80::…): Kustosz nie wysyła tam alarmów, chyba że kustosz.toml na to "
    "pozwala ([alerts] webhook_local = true)": "the webhook's address reaches this machine "
    "(loopback) or a link-local address (169.254.…, fe80::…): Kustosz sends no alerts there "
    "unless kustosz.toml allows it ([alerts] webhook_local = true)",
    "nie można odczytać zapisanego hasła do serwera pocztowego":
        "the stored relay password cannot be read",
    "serwer odrzucił wiadomość": "the server refused the message",
    "serwer jest nieosiągalny": "the server is unreachable",
    "nie udało się nawiązać szyfrowanego połączenia": "the encrypted connection failed",
    "adres webhooka odpowiedział błędem": "the webhook answered with an error",
    "adres webhooka odmówił dostępu (401/403): sprawdź użytkownika, hasło albo token w "
    "adresie": "the webhook refused access (401/403): check the user, password or token in "
    "its address",
    "adres webhooka jest nieprawidłowy: popraw go na stronie „Powiadomienia o alarmach” albo "
    "w kustosz.toml": "the webhook's address is invalid: correct it on the \"Alert "
    "notifications\" page or in kustosz.toml",
    "nie można użyć zapisanego adresu webhooka: wpisz go ponownie na stronie „Powiadomienia o "
    "alarmach”": "the stored webhook address cannot be used: type it again on the \"Alert "
    "notifications\" page",
    "serwer pocztowy nie przyjmie adresu nadawcy albo odbiorcy (np. polskie litery w adresie)":
        "the mail relay will not take the sender's or a recipient's address (e.g. Polish "
        "letters in it)",
    "nieoczekiwany błąd — szczegóły w dzienniku usługi (journalctl -u kustosz)":
        "unexpected error — see the service's log (journalctl -u kustosz)",
    # long work in the background (web/jobs_pages.py, job.html)
    "Zadanie w tle": "Background work",
    "Sporządzanie kopii nagrań": "Making the copy of the recordings",
    "Gotowe.": "Done.",
    "Zadanie czeka na rozpoczęcie.": "Waiting to start.",
    "Poprzednia próba nie powiodła się; kolejna o": "The last attempt failed; the next one at",
    "W toku…": "In progress…",
    "Strona odświeża się sama. Można ją zamknąć — praca trwa dalej na serwerze.":
        "This page refreshes itself. You may close it: the work goes on on the server.",
    "Odśwież": "Refresh",
    "Wróć do wniosku": "Back to the request",
    "Wróć do listy zabezpieczeń": "Back to the holds",
    "Blokada prawna nagrań w magazynie obiektów": "Legal hold of recordings in the object store",
    "Podpisywanie i zapisywanie kopii": "Signing and saving the copy",
}


def translate(text: str, lang: str) -> str:
    if lang == "en":
        return EN.get(text, text)
    return text
