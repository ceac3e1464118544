"""A small gettext-style catalogue: the Polish text is the message id (Polish is the default
language); English translations are looked up by it. Chosen over Babel/.po files to keep the
build free of a compile step; the shape (``_("…")`` everywhere) lets .po files replace it."""

from __future__ import annotations

import re

from kustosz.words import plural

LANGS = ("pl", "en")

EN: dict[str, str] = {
    "Pulpit": "Dashboard",
    # the page header's skip link and folding menu (issue 33, base.html)
    "Przejdź do treści": "Skip to content",
    "Menu": "Menu",
    "Więcej": "More",
    # approved requests never copied (issue 30 item 4, dashboard.html)
    "Wnioski zatwierdzone bez kopii — po terminie": "Approved requests without a copy — overdue",
    "Kopię można sporządzić od": "Copy possible from",
    "Po terminie od": "Overdue since",
    "Dopóki kopia nie zostanie sporządzona, nagrania objęte wnioskiem pozostają zabezpieczone i "
    "nie są usuwane po upływie okresu przechowywania. Sporządź kopię na stronie wniosku.":
        "Until the copy is made, the request's recordings stay held and are not deleted when "
        "their retention period ends. Make the copy on the request's page.",
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
    "Podgląd na żywo": "Watch live",
    "nie nagrywa od {since}": "not recording since {since}",
    "Przerwa w nagraniu od {since} (przyczyna: {why}) — trwa":
        "Gap in recording since {since} (cause: {why}) — ongoing",
    "rejestrator nie nagrywa": "the recorder is not recording",
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
    "Zegar kamery rozmija się z czasem serwera": "The camera's clock is off the server's",
    "Kamera nie odpowiada przez ONVIF": "The camera does not answer over ONVIF",
    "Kamera zgłasza sabotaż (zasłonięcie, przestawienie, oślepienie)":
        "The camera reports tampering (covered, turned, blinded)",
    "Kamera zgłasza utratę obrazu": "The camera reports video loss",
    "Linia telefoniczna nie dostarcza nagrań": "Phone line not delivering recordings",
    "Nagrywanie rozmów (SIPREC)": "Call recording (SIPREC)",
    "Rozmowy nagrywane teraz (SIPREC)": "Calls being recorded now (SIPREC)",
    "Nagrywanie rozmów z portu lustrzanego": "Call recording from a mirrored port",
    "Rozmowy nagrywane teraz (port lustrzany)": "Calls being recorded now (mirrored port)",
    "Proces przechwytywania (kustosz capture) nie jest połączony — rozmowy nie są "
    "nagrywane.": "The capture process (kustosz capture) is not connected — calls are not "
                  "being recorded.",
    "Interfejs {iface} nie jest czytany: {why}": "Interface {iface} is not being read: {why}",
    "Rozmowa nagrana z ubytkami albo nienagrana": "Call recorded with gaps, or not recorded",
    "Zmieniony plik kustosz.toml nie został wczytany":
        "A changed kustosz.toml was not loaded",
    "Mało miejsca na dysku": "Low disk space",
    "Dysk pełny": "Disk full",
    "Zapis punktu kontrolnego dziennika nie powiódł się": "Audit checkpoint not written",
    "Rejestrator kamery uruchamia się ponownie w pętli": "Camera recorder restarting in a loop",
    "Prognoza: dysk zapełni się w ciągu kilku dni": "Forecast: the disk fills within days",
    "Usuwanie nagrań po terminie nie działa": "Retention sweep not working",
    "Sprawdzenie dziennika zdarzeń wykazało naruszenie": "Audit log verification failed",
    "Certyfikat HTTPS wkrótce wygaśnie": "HTTPS certificate expiring soon",
    "Zegar serwera lub kamery przestawił się skokowo": "Server or camera clock jumped",
    "Urządzenie przysłało dane, których nie można przyjąć":
        "A device sent data that cannot be accepted",
    "Usługa Kustosz zatrzymała się nieoczekiwanie": "The Kustosz service stopped unexpectedly",
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
    "Można zamknąć tę stronę — praca trwa dalej na serwerze.":
        "You may close this page: the work goes on on the server.",
    "Odśwież": "Refresh",
    "— pokaże, jak daleko doszła praca.": "— shows how far the work got.",
    "Postęp": "Progress",
    "Przejdź do wniosku i kopii": "Go to the request and its copy",
    "Przejdź do listy zabezpieczeń": "Go to the holds",
    "Przejdź do wyniku": "Go to the result",
    "Wróć do wniosku": "Back to the request",
    "Wróć do listy zabezpieczeń": "Back to the holds",
    "Blokada prawna nagrań w magazynie obiektów": "Legal hold of recordings in the object store",
    "Podpisywanie i zapisywanie kopii": "Signing and saving the copy",
    # every page (base.html, _macros.html, _filters.html)
    "Błąd": "Error",
    "Formularz zawiera błędy": "The form has errors",
    "nagrania z monitoringu nie są informacją publiczną":
        "monitoring recordings are not public information",
    "Pierwszy dzień": "First day",
    "{what} od": "{what} (from)",
    "{what} do": "{what} (to)",
    "Nie zastosowano filtru — pokazano wszystkie pozycje.":
        "The filter was not applied — all entries are shown.",
    "Stan": "State",
    "— każdy —": "— any —",
    "Wyczyść filtr": "Clear the filter",
    "Znaleziono": "Found",
    "Razem": "Total",
    "pozycje": "entries",
    "Strony": "Pages",
    "poprzednia": "previous",
    "następna": "next",
    "Brak uprawnień do tej strony.": "You may not open this page.",
    "Nie znaleziono — ta pozycja nie istnieje albo adres jest błędny.":
        "Not found — this item does not exist or the address is wrong.",
    "Odmowa dostępu": "Access refused",
    "Próba została zapisana w rejestrze dostępu.": "The attempt was written to the access log.",
    "nr {n}": "no. {n}",
    "Nr": "No.",
    "od": "from",
    "do": "until",
    # the dashboard (dashboard.html, web/pages.py)
    "co administrator przygotowuje przed uruchomieniem systemu i co już jest gotowe":
        "what the administrator prepares before the system goes live, and what is ready",
    "Certyfikat samopodpisany": "Self-signed certificate",
    "przeglądarki ostrzegają przed połączeniem z tym serwerem, a użytkownicy uczą się klikać "
    "„kontynuuj”, co ułatwia podszycie się pod serwer; zastąp go certyfikatem urzędu "
    "(informatyk:": "browsers warn against connecting to this server and users learn to click "
    "\"continue\", which makes it easy to impersonate the server; replace it with the "
    "office's certificate (IT staff:",
    "albo": "or",
    "i": "and",
    "w kustosz.toml).": "in kustosz.toml).",
    "zajęte przez nagrania": "used by recordings",
    "wolne miejsce na dysku ({percent}%) — {lasts}":
        "free disk space ({percent}%) — {lasts}",
    "przyrost równoważony usuwaniem": "growth balanced by deletion",
    "wystarczy na ponad rok": "lasts more than a year",
    "wystarczy na mniej niż dobę": "lasts less than a day",
    "Żądania osób, których dane dotyczą — terminy odpowiedzi":
        "Data subjects' requests — answer deadlines",
    "Wniosek": "Request",
    "Wpłynął": "Received",
    "Odpowiedź do": "Answer due",
    "Pozostało": "Left",
    "(przedłużony)": "(extended)",
    "upływa dziś": "due today",
    "po terminie ({n} {days})": "overdue ({n} {days})",
    "Art. 12 ust. 3 RODO: odpowiedź w ciągu miesiąca od otrzymania żądania; raz można "
    "przedłużyć o dwa miesiące, zawiadamiając osobę w ciągu pierwszego miesiąca.":
        "Art. 12(3) GDPR: answer within a month of receiving the request; it may be extended "
        "once by two months, telling the person within the first month.",
    "Dziennik zdarzeń (audyt)": "Audit log",
    "Ostatnie sprawdzenie:": "Last check:",
    "codzienne sprawdzenie usługi Kustosz": "the Kustosz service's daily check",
    "polecenie": "command",
    "Dziennik zdarzeń jest naruszony albo niekompletny — powiadom informatyka i inspektora "
    "ochrony danych.": "The audit log is violated or incomplete — tell the IT staff and the "
    "data protection officer.",
    "Szczegóły techniczne (dla informatyka):": "Technical details (for the IT staff):",
    "Dziennika jeszcze nie sprawdzano.": "The audit log has not been checked yet.",
    "Sprawdź teraz": "Check now",
    "Alarmy": "Alerts",
    "Powiadomienia o alarmach ({channel}) nie docierają od {since}: {reason}.":
        "Alert notifications ({channel}) have not been delivered since {since}: {reason}.",
    "Rejestratory": "Recorders",
    "Kamera": "Camera",
    "nagrywa": "recording",
    "łączy się": "connecting",
    "nie nagrywa": "not recording",
    "dysk pełny — nie nagrywa": "disk full — not recording",
    "zatrzymany": "stopped",
    "wyłączona": "disabled",
    "nagrywanie niedozwolone": "recording not allowed",
    "czeka na termin rozpoczęcia": "waiting for its start date",
    "Brak danych o rejestratorach (uruchom": "No data about the recorders (start",
    "(ostatnia doba)": "(last 24 hours)",
    "trwa": "ongoing",
    "Węzły rejestratorów": "Recorder nodes",
    "Węzeł": "Node",
    "Komputer": "Computer",
    "Ostatni kontakt": "Last contact",
    "Linie telefoniczne": "Phone lines",
    "Zadania wspólne": "Shared tasks",
    "Czeka w buforze": "Waiting in the spool",
    "działa": "running",
    "nie odpowiada": "not answering",
    "Żaden węzeł nie obsługuje teraz:": "No node is handling now:",
    "Moje upoważnienia": "My authorisations",
    "(odwołane)": "(revoked)",
    "Nie masz upoważnień do przeglądania nagrań. Upoważnienie wydaje kierownik jednostki.":
        "You have no authorisation to view recordings. The head of the office issues them.",
    # labels other modules keep in Polish (access.authorisations, access.users, custody,
    # cameras, cluster, web/pages.py, web/requests_pages.py); pages show them through _()
    "podgląd bieżący (obraz z kamer na żywo)": "live view (live camera picture)",
    "odtwarzanie (przegląd) nagrań": "playback (review) of recordings",
    "odsłuch nagrań rozmów telefonicznych": "listening to call recordings",
    "przegląd wykazu rozmów telefonicznych (numery, czas i długość połączeń)":
        "review of the call list (numbers, times and lengths of calls)",
    "pobranie kopii nagrania": "download of a copy of recordings",
    "przegląd danych z monitoringu poczty elektronicznej (metadane wiadomości)":
        "review of e-mail monitoring data (message metadata)",
    "przegląd zdarzeń z monitoringu aktywności w systemach informatycznych":
        "review of IT-activity monitoring events",
    "kamery": "cameras",
    "linie telefoniczne": "phone lines",
    "dzienniki poczty elektronicznej": "mail journals",
    "źródła zdarzeń IT": "IT event sources",
    "obowiązuje": "in force",
    "odwołane": "revoked",
    "jeszcze nie obowiązuje": "not yet in force",
    "wygasło": "expired",
    "konta, stanowiska i ustawienia systemu (dział IT)":
        "accounts, workstations and system settings (IT department)",
    "Inspektor Ochrony Danych": "Data Protection Officer",
    "kierownik jednostki lub zastępca, decyduje o udostępnieniu nagrań":
        "head of the office or deputy, decides on disclosing recordings",
    "podgląd bieżący kamer": "live view of the cameras",
    "przegląd nagrań, tylko z upoważnieniem": "reviews recordings, only with an authorisation",
    "wgląd w rejestry i listy, bez zmian": "sees the registers and lists, changes nothing",
    "sporządzanie i przechowywanie kopii": "makes and keeps copies",
    "członek komisji niszczącej kopie": "member of the commission destroying copies",
    "administrator": "administrator",
    "IOD": "DPO",
    "zatwierdzający": "approver",
    "operator": "operator",
    "przeglądający": "viewer",
    "kontrola": "auditor",
    "nadzorujący": "supervisor",
    "nadzór nad wykorzystaniem, odsłuchiwaniem, udostępnianiem i przechowywaniem nagrań, np. "
    "Sekretarz Miasta; rejestry i rejestr dostępu, bez dostępu do nagrań":
        "supervises the use, listening, disclosure and keeping of recordings, e.g. the town "
        "secretary; registers and the access log, no access to recordings",
    "Osoba obecna przy odsłuchaniu": "Person present at the listening",
    "osoba z czynnym kontem albo pracownik z ewidencji — inna niż Ty (002 zał.5 §7 ust. 6)":
        "a person with an active account or an employee of the register — not you "
        "(002 zał.5 §7 ust. 6)",
    "nieobowiązkowe: druga osoba dokonująca odsłuchania; trafi do protokołu":
        "optional: a second person listening; goes into the protocol",
    "Konta w systemie": "Accounts in the system",
    "Pracownicy (ewidencja)": "Employees (register)",
    "(wpisano ręcznie)": "(typed by hand)",
    "nazwisko wpisane ręcznie, zanim osobę obecną wybierano z listy":
        "a name typed by hand, before the person present was chosen from a list",
    "kopie": "custodian",
    "komisja": "commission",
    "kamera odrzuciła login lub hasło (401)": "the camera refused the login or password (401)",
    "kamera nieosiągalna w sieci": "camera unreachable on the network",
    "kamera nie udostępnia strumienia pod tym adresem (404)":
        "the camera offers no stream at this address (404)",
    "strumień nie zawiera obrazu": "the stream carries no picture",
    "kamera przerwała transmisję": "the camera stopped sending",
    "awaria procesu nagrywającego": "the recording process crashed",
    "rejestrator nie działał": "the recorder was not running",
    "przerwa w strumieniu z kamery": "the camera's stream stalled",
    "skokowa zmiana czasu zegara serwera": "the server's clock jumped",
    "błąd procesu nagrywającego": "recording process error",
    "dysk pełny": "disk full",
    "usuwanie po terminie i zadania okresowe": "retention deletion and periodic tasks",
    "odbiór poczty i zdarzeń": "receiving mail and events",
    "czeka na decyzję": "waiting for a decision",
    "zgoda — czeka na kopię": "agreed — waiting for a copy",
    "odmowa": "refused",
    "kopia sporządzona": "copy made",
    "kopia sporządzona, niewydana": "copy made, not handed over",
    "kopia sporządzona — czeka na wydanie": "copy made — waiting to be handed over",
    "kopia wydana": "copy handed over",
    "kopia zniszczona": "copy destroyed",
    "uprawniony organ": "authority",
    "osoba zainteresowana": "interested person",
    "osoba, której dane dotyczą": "data subject",
    "sprawa wewnętrzna": "internal matter",
    "monitoring wizyjny": "video monitoring",
    "nagrania rozmów": "call recordings",
    "monitoring poczty elektronicznej (metadane)": "e-mail monitoring (metadata)",
    "monitoring aktywności IT (zdarzenia)": "IT-activity monitoring (events)",
    "aktywne": "active",
    "zwolnione": "released",
    "przechowywana": "kept",
    "wydana": "handed over",
    "zniszczona": "destroyed",
    "Rejestr udostępnionych nagrań": "Register of disclosed recordings",
    "Rejestr kopii": "Register of copies",
    "Rejestr działań w systemie monitoringu": "Register of actions in the monitoring system",
    "cały dzień": "whole day",
    "godzina": "hour",
    "10 minut": "10 minutes",
    "czeka na przegląd": "waiting for review",
    "zatwierdzona po przeglądzie": "approved after review",
    "zwrócona do poprawy": "sent back for correction",
    "wstrzymana — sprawdzenie wykryło twarz innej osoby":
        "withheld — the check found another person's face",
    # the kinds of rectangle marked on a data subject's request (custody.subject_review)
    "maska ręczna": "manual mask",
    "obszar osoby wnioskującej": "the requester's area",
    # an authorisation's scope, composed of parts (web.common.scope_in)
    "źródło {name}": "source {name}",
    "dla programu Excel (średnik, UTF-8 ze znacznikiem BOM)":
        "for Excel (semicolon, UTF-8 with a BOM)",
    "zwykły RFC 4180 (przecinek, UTF-8 bez BOM)": "plain RFC 4180 (comma, UTF-8 without a BOM)",
    "CSV zwykły (RFC 4180)": "Plain CSV (RFC 4180)",
    "Pobierz CSV": "Download CSV",
    "Filtruj": "Filter",
    "Odmowa": "Refused",
    "Dostęp": "Access",
    "Brak wpisów.": "No entries.",
    "operator serwera (wiersz poleceń)": "server operator (command line)",
    # the access log (access_log.html, web/media_register.py, access.records)
    "Każdy przegląd, odsłuch, podgląd i pobranie: kto, co, kiedy, w jakim celu, w obecności "
    "kogo, z którego stanowiska — oraz każda próba, której odmówiono, z powodem odmowy.":
        "Every review, listening, live view and download: who, what, when, for what purpose, "
        "with whom present, from which workstation — and every refused attempt, with the "
        "reason.",
    "Pokaż": "Show",
    "Powód odmowy": "Reason refused",
    "wszystkie wpisy": "all entries",
    "tylko dostępy": "accesses only",
    "tylko odmowy": "refusals only",
    "brak upoważnienia": "no authorisation",
    "upoważnienie nie obejmuje źródła": "authorisation does not cover the source",
    "upoważnienie jeszcze nie obowiązuje": "authorisation not yet in force",
    "upoważnienie wygasło": "authorisation expired",
    "upoważnienie odwołane": "authorisation revoked",
    "stanowisko niedopuszczone": "workstation not allowed",
    "rola nie uprawnia do czynności": "the role does not allow the action",
    "sesja przeglądu wygasła lub zakończona": "viewing session expired or ended",
    "nieznana sesja przeglądu": "unknown viewing session",
    "poza zakresem sesji przeglądu": "outside the viewing session's scope",
    "materiału już nie ma": "the material is gone",
    "hasło jednorazowe niezmienione": "one-time password not changed",
    "niezalogowany": "not logged in",
    "stanowisko spoza wykazu": "workstation not on the list",
    "umowa powierzenia wygasła": "processing agreement ended",
    "kopia tylko do przeglądu": "copy for review only",
    "Kiedy": "When",
    "Kto": "Who",
    "Czynność": "Action",
    "Co": "What",
    "Wynik": "Result",
    "Cel": "Purpose",
    "Sprawa / wniosek": "Case / request",
    "Obecny": "Present",
    "Stanowisko": "Workstation",
    "Pobrań": "Downloads",
    "nagranie rozmowy nr {n}": "call recording no. {n}",
    "kopia nr {n}": "copy no. {n}",
    "(sesja nr {n})": "(session no. {n})",
    "wniosek {n}": "request {n}",
    "lista odtwarzania nagrania": "recording playlist",
    "lista odtwarzania podglądu na żywo": "live view playlist",
    "nagranie rozmowy (dźwięk)": "call recording (audio)",
    "kopia (ZIP)": "copy (ZIP)",
    "wyszukiwanie w poczcie": "mail search",
    "wyszukiwanie w zdarzeniach IT": "IT event search",
    "wyszukiwanie rozmów": "call search",
    "zakończenie przeglądu": "end of the review",
    "protokół odsłuchania": "listening protocol",
    "strona przeglądu": "review page",
    "dostęp": "access",
    "materiał": "material",
    # the pages (templates): lists, forms and their hints
    "{n} odmowa dostępu wśród pokazanych wpisów.": "{n} access refusal among the entries shown.",
    "Rola tylko czyni osobę uprawnioną do upoważnienia; nagrania otwiera wyłącznie imienne, "
    "ważne upoważnienie.": "A role only makes a person eligible for an authorisation; "
    "recordings open only with a personal authorisation in force.",
    "Osoba upoważniona": "Authorised person",
    "Zakres": "Scope",
    "Wydał": "Issued by",
    "Obowiązuje": "In force",
    "drukuj (zał. 1)": "print (annex 1)",
    "Powód odwołania": "Reason for revoking",
    "Odwołaj": "Revoke",
    "Brak upoważnień.": "No authorisations.",
    "Wydaj upoważnienie": "Issue an authorisation",
    "Czynności": "Actions",
    "wszystkie ": "all ",
    "Źródła albo rodzaje źródeł": "Sources or kinds of sources",
    "Rodzaje źródeł": "Kinds of sources",
    "Wybrane źródła": "Chosen sources",
    "Nie ma jeszcze żadnej kamery ani linii telefonicznej.":
        "There is no camera or phone line yet.",
    "Obowiązuje od": "In force from",
    "Podstawa / uwagi": "Basis / notes",
    "wykaz rozmów telefonicznych": "call list",
    "Linia": "Line",
    "Włączona": "Enabled",
    "Przeglądaj wykaz": "Review the list",
    "Nie skonfigurowano linii telefonicznych (kustosz phones add — nagrania centrali; "
    "add-siprec — nagrywanie przez SBC; add-capture — z portu lustrzanego).":
        "No phone lines are configured (kustosz phones add — the PBX's recordings; "
        "add-siprec — recorded through the SBC; add-capture — off a mirrored port).",
    "Odsłuchanie rozmowy jest dopuszczalne tylko w wyjątkowych i uzasadnionych przypadkach, w "
    "określonym celu; po odsłuchaniu sporządza się protokół.": "Listening to a call is allowed "
    "only in exceptional, justified cases, for a stated purpose; a protocol is made "
    "afterwards.",
    "tak": "yes",
    "nie": "no",
    "nieznany": "unknown",
    "Początek": "Start",
    "Czas trwania": "Duration",
    "Dzwoniący": "Caller",
    "Wybrany": "Called",
    "Kierunek": "Direction",
    "Nie znaleziono rozmów.": "No calls found.",
    "Pokazano pierwsze wyniki; zawęź wyszukiwanie (numer, okres), aby zobaczyć pozostałe.":
        "Showing the first results; narrow the search (number, period) to see the rest.",
    "Numer (dzwoniący lub wybrany)": "Number (calling or called)",
    "Numer wybrany": "Called number",
    "Oś czasu nagrań": "Recordings timeline",
    "Powiększenie osi czasu": "Timeline zoom",
    "Powiększenie": "Zoom",
    "Powiększenie:": "Zoom:",
    "przybliż": "zoom in",
    "+ przybliż": "+ zoom in",
    "klawisze: + przybliża, − oddala, strzałki ← → przesuwają":
        "keys: + zooms in, − zooms out, arrows ← → move",
    "skróty klawiszowe włączone": "keyboard shortcuts on",
    "Wybierz fragment": "Choose a part",
    "Wybierz fragment:": "Choose a part:",
    "Godzina:": "Hour:",
    "seg.)": "seg.)",
    "Rejestr kamer": "Camera register",
    "kamera nie odpowiada przez ONVIF": "the camera does not answer over ONVIF",
    "kamera odpowiada przez ONVIF, ale jej obraz nie dociera":
        "the camera answers over ONVIF, but its picture does not arrive",
    "zegar kamery rozmija się z czasem serwera": "the camera's clock is off the server's",
    "zegar kamery": "camera's clock",
    "Rejestr kamer (PDF)": "Camera register (PDF)",
    "Zdarzenia zgłoszone przez kamerę": "Events the camera reported",
    "ruch w obrazie": "motion in the picture",
    "wejście alarmowe kamery": "the camera's alarm input",
    "Adres ONVIF": "ONVIF address",
    'Adres ONVIF kamery': "The camera's ONVIF address",
    "Brak stref do wyboru: dodaj budynek i strefę (kustosz sites add, kustosz zones add) albo "
    "poproś o uprawnienie do rozmieszczenia kamer.":
        "No zones to choose from: add a site and a zone (kustosz sites add, kustosz zones add) "
        "or ask for the camera locations right.",
    "Budynek i strefa": "Site and zone",
    "Cel monitoringu (art. 22² § 1 Kodeksu pracy)":
        "Purpose of monitoring (Labour Code art. 22² § 1)",
    "Czas oczekiwania na odpowiedzi (sekundy)": "Time to wait for answers (seconds)",
    "Dodaj kamerę": "Add a camera",
    "Dodaj kamerę do rejestru": "Add the camera to the register",
    "Dodaj kamerę po adresie": "Add a camera by its address",
    "Działanie": "Action",
    "Dzień oznakowania miejsca": "Day the place was marked",
    "Dzień powiadomienia pracowników": "Day employees were notified",
    "Długość segmentu (sekundy)": "Segment length (seconds)",
    'Hasło kamer (opcjonalnie)': "Cameras' password (optional)",
    'Hasło kamery': "Camera's password",
    "Interfejs sieciowy": "Network interface",
    "Kamera bez ONVIF: dodaj ją poleceniem kustosz cameras add --url.":
        "A camera without ONVIF: add it with kustosz cameras add --url.",
    "Kamery odpowiadają na zapytanie wysłane z wybranego interfejsu tego komputera. Zapytanie "
    "nie przechodzi przez router do innej sieci (VLAN) — kamerę z innej sieci dodaj po adresie "
    "(poniżej).":
        "Cameras answer a probe sent from the chosen interface of this computer. The probe "
        "does not cross a router into another network (VLAN): add a camera there by its "
        "address (below).",
    "Kamery, które odpowiedziały": "Cameras that answered",
    "Kustosz zapyta kamerę (ONVIF) o producenta, model, numer seryjny, strumienie obrazu i "
    "zegar. Adresu strumienia nie trzeba wpisywać.":
        "Kustosz asks the camera (ONVIF) for its make, model, serial number, video streams and "
        "clock. No stream address needs typing.",
    "Nagrywaj": "Record",
    "Nazwa kamery": "Camera name",
    "Obraz": "Picture",
    "Oprogramowanie": "Firmware",
    "Podgląd": "Live view",
    "Podgląd z lżejszego strumienia (H.264) nie obciąża łącza ani telefonu pełną "
    "rozdzielczością; nagrywany jest zawsze strumień wybrany w kolumnie „Nagrywaj”.":
        "Live view from a lighter stream (H.264) spares the link and a phone the full "
        'resolution; the stream chosen under "Record" is always the one recorded.',
    "Podgląd ze strumienia nagrywanego": "Live view from the recorded stream",
    "Pomieszczenie szczególne: jak osoby są nierozpoznawalne":
        "Special room: how people are made unrecognisable",
    "Pominięto odpowiedzi spoza sieci urzędu (ustawienie [cameras] networks) — hasło nie "
    "zostanie tam wysłane:":
        "Answers from outside the office's networks were left out ([cameras] networks setting) "
        "— no password is sent there:",
    "Połącz i odczytaj": "Connect and read",
    "Połącz z kamerą": "Connect to the camera",
    "Producent i model": "Make and model",
    "Profil": "Profile",
    "Profile kamery: wybierz strumień nagrywany i strumień podglądu":
        "The camera's profiles: choose the recorded stream and the live-view stream",
    "Strumienie obrazu": "Video streams",
    'Użytkownik kamer (opcjonalnie)': "Cameras' user name (optional)",
    'Użytkownik kamery': "Camera's user name",
    "W rejestrze": "In the register",
    "Wcześniejsze uruchomienie: przyczyna": "Earlier start: reason",
    "Wróć do wyszukiwania": "Back to the search",
    'Wyszukaj w sieci urzędu (ONVIF)': "Search the office's network (ONVIF)",
    'Zegar kamery': "Camera's clock",
    "Znajdź i dodaj kamery": "Find and add cameras",
    "Znajdź kamery": "Find cameras",
    "Znalezione kamery": "Cameras found",
    "brak adresu strumienia": "no stream address",
    "kamera nie podaje czasu UTC": "the camera does not give UTC time",
    "krok 1 z 2": "step 1 of 2",
    "krok 2 z 2": "step 2 of 2",
    "nagrywanie przed upływem terminów powiadomienia i oznakowania; odnotowane w dzienniku":
        "recording before the notice and marking periods have passed; recorded in the log",
    "nagrywanie zacznie się nie wcześniej niż 2 tygodnie później (art. 22² § 7)":
        "recording starts no earlier than 2 weeks later (art. 22² § 7)",
    "nie wcześniej niż dzień później (art. 22² § 9)": "no earlier than a day later (art. 22² § 9)",
    "np. 192.168.10.21 lub 192.168.10.21:8080": "e.g. 192.168.10.21 or 192.168.10.21:8080",
    "np. 192.168.10.21 lub http://192.168.10.21:8080/onvif/device_service":
        "e.g. 192.168.10.21 or http://192.168.10.21:8080/onvif/device_service",
    "np. hol-parter-1": "e.g. hol-parter-1",
    "przechowywane w postaci zaszyfrowanej; nigdy nie jest wyświetlane":
        "kept encrypted; never shown",
    "puste: wszystkie interfejsy": "empty: every interface",
    "tylko łazienki, szatnie, stołówki, palarnie (art. 22² § 2)":
        "sanitary rooms, changing rooms, canteens, smoking rooms only (art. 22² § 2)",
    'ustaw w kamerze serwer czasu (NTP) urzędu': "set the office's time server (NTP) in the camera",
    "więcej niż dopuszczalne": "more than the allowed",
    "względem serwera": "against the server",
    "z hasłem: każda kamera poda producenta, model, numer seryjny i oprogramowanie":
        "with a password each camera tells its make, model, serial number and firmware",
    "Łazienka: zgoda przedstawicieli pracowników (dokument)":
        "Sanitary room: the employee representatives' consent (document)",
    "Żadna kamera nie odpowiedziała w ciągu": "No camera answered within",
    "Podaj liczbę sekund od 0,5 do 30.": "Give a number of seconds from 0.5 to 30.",
    "Podaj liczbę sekund od 0,5 do 600.": "Give a number of seconds from 0.5 to 600.",
    "Podaj nazwę kamery.": "Give the camera a name.",
    "Wybierz strefę.": "Choose a zone.",
    "Wybierz cel monitoringu.": "Choose the purpose of monitoring.",
    "Nie ma takiej strefy.": "There is no such zone.",
    'Podaj nazwę użytkownika kamery.': "Give the camera's user name.",
    "Odczyt kamery wygasł (po 10 minutach) lub pochodzi z innej sesji — podaj dane kamery "
    "ponownie. Nic nie zapisano.":
        "The camera's reading has expired (after 10 minutes) or belongs to another session — "
        "give the camera's details again. Nothing was saved.",
    "Kamerę dodano do rejestru. Nagrywanie zacznie się samo, gdy pozwolą na to daty "
    "powiadomienia pracowników i oznakowania miejsca.":
        "The camera was added to the register. Recording starts by itself when the days of the "
        "notice to employees and of the marking allow it.",
    "Urządzenie": "Device",
    "Nr seryjny": "Serial no.",
    "oprogramowanie": "firmware",
    "dodana adresem RTSP": "added by RTSP address",
    "Budynek": "Building",
    "Strefa": "Zone",
    "Nagrywa": "Records",
    "Rozmieszczenie kamer jest tajemnicą pracodawcy — widzą je tylko role, którym je "
    "udostępniono.": "Where the cameras are is the employer's secret — only the roles it was "
    "shared with see it.",
    "brak nagrań": "no recordings",
    "nagranie": "recording",
    "Nośniki z nagraniami niszczy komisja w obecności co najmniej dwóch osób wyznaczonych przez":
        "Media with recordings are destroyed by a commission of at least two people appointed "
        "by the",
    ": zniszczenie kopii potwierdza tylko osoba, której wyznaczenie obowiązuje w dniu "
    "potwierdzenia": ": only a person whose appointment is in force on the day confirms the "
    "destruction of a copy",
    "Członek komisji": "Commission member",
    "Wyznaczony": "Appointed",
    "Wyznaczył": "Appointed by",
    "do odwołania": "until revoked",
    "zakończone": "ended",
    "Ostatni dzień": "Last day",
    "Zakończ wyznaczenie": "End the appointment",
    "Nikogo jeszcze nie wyznaczono.": "No one has been appointed yet.",
    "Wyznacz członka komisji": "Appoint a commission member",
    "osoby z rolą: członek komisji niszczącej":
        "people with the role: destruction commission member",
    "Zarządzenie (numer)": "Order (number)",
    "Z dnia": "Dated",
    "Wyznaczenie do (ostatni dzień)": "Appointed until (last day)",
    "puste: do odwołania": "empty: until revoked",
    "Zapisz wyznaczenie": "Save the appointment",
    "Kopię niszczy komisja: potrzebne są potwierdzenia dwóch różnych członków. Przy kopii "
    "niszczonej przed terminem (przed upływem okresu przechowywania, także zanim została "
    "wydana) pierwszy członek komisji podaje przyczynę; trafia ona do protokołu zniszczenia i "
    "rejestru działań.": "A copy is destroyed by the commission: two different members must "
    "confirm. For a copy destroyed early (before its retention period ends, also before it "
    "was handed over) the first member gives the reason; it goes into the destruction "
    "protocol and the register of actions.",
    "Numer kopii lub wniosku": "Copy or request number",
    "Kto sporządził lub przyjął": "Who made or received it",
    "Data sporządzenia": "Date made",
    "Okres": "Period",
    "Sporządził": "Made by",
    "Przechowywać do": "Keep until",
    "Zniszczenie (dwa potwierdzenia komisji)": "Destruction (two commission confirmations)",
    "— do zniszczenia": "— due for destruction",
    "potwierdzone przez Ciebie — czeka na drugiego członka komisji":
        "confirmed by you — waiting for the second commission member",
    "przyczyna:": "reason:",
    "potwierdził(a):": "confirmed by:",
    "; przyczyna:": "; reason:",
    "Przyczyna zniszczenia przed terminem": "Reason for destroying it early",
    "wymagana, bo kopia jest niszczona": "required, because the copy is destroyed",
    "; trafi do protokołu zniszczenia i rejestru działań":
        "; it goes into the destruction protocol and the register of actions",
    "Drugie potwierdzenie": "Second confirmation",
    "Pierwsze potwierdzenie": "First confirmation",
    "Protokół zniszczenia (PDF)": "Destruction protocol (PDF)",
    "potwierdzają członkowie komisji": "to be confirmed by commission members",
    "Nie znaleziono kopii spełniających warunki wyszukiwania.": "No copies match the search.",
    "Brak kopii.": "No copies.",
    "pobierz": "download",
    "informacja o monitoringu — wersja": "monitoring notice — version",
    "bez oświadczenia o zapoznaniu się z obowiązującą wersją informacji o monitoringu (przed "
    "dopuszczeniem do pracy).": "without an acknowledgment of the monitoring notice in force "
    "(before being allowed to work).",
    "Identyfikator kadrowy": "HR identifier",
    "Imię i nazwisko": "Full name",
    "Dopuszczenie do pracy": "Allowed to work from",
    "Komórka": "Unit",
    "Oświadczenie (wersja": "Acknowledgment (version",
    "złożone": "signed",
    "data oświadczenia (pole wymagane)": "date of the acknowledgment (required field)",
    "Zapisz oświadczenie": "Save the acknowledgment",
    "oświadczenie (PDF)": "acknowledgment (PDF)",
    "Nie znaleziono pracowników spełniających warunki wyszukiwania.":
        "No employees match the search.",
    "Brak pracowników.": "No employees.",
    "Dodaj pracownika": "Add an employee",
    "Komórka organizacyjna": "Organisational unit",
    "nieobowiązkowy; ten sam w pliku CSV aktualizuje dane":
        "optional; the same one in a CSV file updates the details",
    "Dodaj": "Add",
    "Wczytaj z pliku CSV": "Load from a CSV file",
    "Plik CSV (UTF-8 lub Windows-1250, separator ; lub ,)":
        "CSV file (UTF-8 or Windows-1250, separator ; or ,)",
    "Nagłówek:": "Header:",
    ", nieobowiązkowo także": ", optionally also",
    "(ostatni dzień pracy; pusta komórka — nadal zatrudniony); daty jako RRRR-MM-DD albo "
    "DD.MM.RRRR (jak zapisuje Excel)":
        "(the last working day; an empty cell: still employed); dates as YYYY-MM-DD or "
        "DD.MM.YYYY (as Excel writes them)",
    "Zakończenie pracy": "Last working day",
    "ostatni dzień pracy": "last working day",
    "Zapisz zakończenie": "Save the last day",
    "nie dotyczy — po zakończeniu pracy": "not applicable — no longer employed",
    "Wczytaj": "Load",
    "Wersja informacji o monitoringu": "Version of the monitoring notice",
    "Obowiązująca wersja": "Version in force",
    "Zmień": "Change",
    "oświadczenie złożone": "acknowledgment signed",
    "bez oświadczenia": "no acknowledgment",
    "Numer ewidencyjny lub imię i nazwisko": "HR number or full name",
    "przygotowanie systemu przez administratora": "the administrator's preparation of the system",
    "Gotowe": "Done",
    "System jest przygotowany.": "The system is prepared.",
    "Pozostałe punkty trzeba wykonać, zanim urząd zacznie polegać na systemie.":
        "The remaining items must be done before the office relies on the system.",
    # the callers' announcement on the first-day page (issue 49 item 6)
    "Wyjątek: komunikatu dla dzwoniących Kustosz nie słyszy — potwierdza go osoba, która go "
    "sprawdziła, a jej imię i nazwisko oraz data trafiają do dziennika zdarzeń.":
        "The exception: Kustosz cannot hear the callers' announcement — the person who checked "
        "it confirms it, and their name and the date go into the audit log.",
    "Komunikat o nagrywaniu rozmów dla dzwoniących": "The call recording announcement for callers",
    "Nie dodano jeszcze żadnej linii telefonicznej.": "No phone line has been added yet.",
    "żadna z obecnych": "none of the present ones",
    "Kustosz nie odtwarza komunikatu: ustaw go w centrali lub w SBC dla każdej linii, zadzwoń "
    "na każdą z nich z zewnątrz i sprawdź, że słychać go, zanim rozmowa się zacznie, a potem "
    "potwierdź to przyciskiem poniżej — Twoje imię i nazwisko, data i lista linii trafią do "
    "dziennika zdarzeń.": "Kustosz does not play the announcement: set it in the PBX or the "
    "SBC for every line, call each of them from outside and check that it is heard before the "
    "call begins, then confirm it with the button below — your name, the date and the list of "
    "lines go into the audit log.",
    "Dodaj linie telefoniczne (kustosz phones add …); gdy komunikat będzie ustawiony w "
    "centrali, zadzwoń na każdą linię i potwierdź go tutaj.": "Add the phone lines (kustosz "
    "phones add …); once the announcement is set in the PBX, call every line and confirm it "
    "here.",
    "Potwierdzam: na każdej linii dzwoniący słyszą komunikat, zanim rozmowa się zacznie":
        "I confirm: on every line callers hear the announcement before the call begins",
    "Zapisano potwierdzenie komunikatu.": "The announcement's confirmation was saved.",
    "Stan każdego punktu jest odczytywany z systemu przy każdym otwarciu strony — nie da się "
    "go zaznaczyć ręcznie.": "Each item's state is read from the system whenever the page "
    "opens — it cannot be ticked by hand.",
    "do zrobienia": "to do",
    "Przejdź": "Go",
    "Gdzie": "Where",
    "Źródła": "Sources",
    "co najmniej jedno": "at least one",
    "Podstawa zabezpieczenia": "Basis of the hold",
    "np. wniosek Policji, postępowanie wyjaśniające":
        "e.g. a police request, an internal inquiry",
    "Znak sprawy": "Case reference",
    "Numer zabezpieczenia lub znak sprawy": "Hold number or case reference",
    "Kto założył": "Placed by",
    "Zabezpieczony okres": "Held period",
    "Podstawa": "Basis",
    "Sprawa": "Case",
    "Założył(a)": "Placed by",
    "Powód zwolnienia": "Reason for release",
    "Zwolnij": "Release",
    "Nie znaleziono zabezpieczeń spełniających warunki wyszukiwania.": "No holds match the search.",
    "Brak zabezpieczeń.": "No holds.",
    "Link odblokowujący od administratora: logowanie na konto":
        "Unlock link from the administrator: logging in to the account",
    "bez czekania po wcześniejszych nieudanych próbach. Działa raz":
        "without waiting after earlier failed attempts. It works once",
    ", ważny do": ", valid until",
    ", tylko dla tego konta; hasło trzeba podać jak zwykle.":
        ", only for this account; the password is typed as usual.",
    "Dostęp wyłącznie dla osób upoważnionych. Każde logowanie i każdy dostęp do nagrań jest "
    "rejestrowany.": "Access for authorised persons only. Every login and every access to "
    "recordings is recorded.",
    "DW:": "Cc:",
    "UDW:": "Bcc:",
    "Wg raportu dziennika:": "Per the journal report:",
    "(bez nazwy)": "(no name)",
    "monitoring poczty elektronicznej": "e-mail monitoring",
    "monitoring aktywności w systemach informatycznych": "IT-activity monitoring",
    "Monitoring poczty nie może naruszać tajemnicy korespondencji ani innych dóbr osobistych "
    "pracownika (Kodeks pracy art. 22³ §2). System przechowuje metadane wiadomości (nadawca, "
    "adresaci, data, temat, rozmiar, nazwy i skróty załączników); treść tylko tam, gdzie "
    "regulamin to przewiduje, i nigdy dla wiadomości oznaczonych jako prywatne.":
        "E-mail monitoring may not breach the secrecy of correspondence or other personal "
        "rights of the employee (Labour Code art. 22³ §2). The system keeps the messages' "
        "metadata (sender, recipients, date, subject, size, attachments' names and hashes); "
        "the text only where the regulation provides for it, and never for messages marked "
        "private.",
    "Zdarzenia przekazują systemy urzędu (syslog, zdarzenia JSON); Kustosz ich nie wytwarza — "
    "przechowuje je, klasyfikuje według kategorii z regulaminu i usuwa po okresie "
    "przechowywania.": "The office's systems send the events (syslog, JSON events); Kustosz "
    "does not produce them — it keeps them, sorts them by the regulation's categories and "
    "deletes them after the retention period.",
    "Nie skonfigurowano dziennika poczty (kustosz mail add).":
        "No mail journal is configured (kustosz mail add).",
    "Nie skonfigurowano źródeł zdarzeń (kustosz events add).":
        "No event sources are configured (kustosz events add).",
    "Logujesz się hasłem jednorazowym — ustaw teraz własne hasło (co najmniej 12 znaków).":
        "You logged in with a one-time password — set your own password now (at least 12 "
        "characters).",
    "Obecne hasło": "Current password",
    "co najmniej 12 znaków, bez nazwy użytkownika": "at least 12 characters, without the user name",
    "Sporządził(a):": "Made by:",
    "; dołączony do wniosku": "; attached to request",
    "Drukuj (PDF)": "Print (PDF)",
    "CSV (Excel)": "CSV (Excel)",
    "CSV (Excel) otwiera się dwukrotnym kliknięciem w polskim Excelu: średnik między "
    "kolumnami, UTF-8 ze znacznikiem BOM (polskie litery bez zniekształceń). CSV zwykły "
    "(RFC 4180: przecinek, UTF-8 bez BOM) — dla innych programów.": "CSV (Excel) opens with "
    "a double click in a Polish Excel: a semicolon between columns, UTF-8 with a BOM (Polish "
    "letters undamaged). Plain CSV (RFC 4180: comma, UTF-8 without a BOM) — for other "
    "programs.",
    "Numer wniosku lub znak sprawy": "Request number or case reference",
    "Wnioskodawca lub osoba, której dotyczy": "Requester or the person concerned",
    "Data wpływu": "Date received",
    "Nagrania": "Recordings",
    "odpowiedź do": "answer due",
    "— po terminie": "— overdue",
    "Nie znaleziono wniosków spełniających warunki wyszukiwania.": "No requests match the search.",
    "Brak wniosków.": "No requests.",
    "Rodzaj": "Kind",
    "Rodzaj wniosku": "Kind of request",
    "Wnioskodawca": "Requester",
    "Wnioskodawca (dane)": "Requester (details)",
    "Kontakt": "Contact",
    "Data złożenia wniosku": "Date the request was made",
    "Data zdarzenia": "Date of the event",
    "Przybliżona godzina (GG:MM)": "Approximate time (HH:MM)",
    "nagrania wizyjne: godzina albo okres obok (jedno z nich wymagane); zabezpieczamy ±{m} min":
        "video recordings: a time or the period beside it (one of them is required); we hold "
        "±{m} min",
    "albo okres: od godziny (GG:MM[:SS])": "or a period: from (HH:MM[:SS])",
    "czas lokalny, w dniu zdarzenia; zabezpieczamy też {m} min przed i po":
        "local time, on the day of the event; we also hold {m} min before and after",
    "do godziny (GG:MM[:SS])": "to (HH:MM[:SS])",
    "godzina wcześniejsza niż początek to następny dzień (np. 23:50–00:20; przez północ "
    "najwyżej 12 godzin)": "a time earlier than the start is the next day (e.g. 23:50–00:20; "
    "across midnight 12 hours at most)",
    "nagrania wizyjne: kamera albo miejsce (jedno z nich wymagane)":
        "video recordings: a camera or a place (one of them is required)",
    "albo miejsce (budynek/strefa)": "or a place (building/zone)",
    "Numer dzwoniącego (rozmowy)": "Caller's number (calls)",
    "Źródło (poczta, zdarzenia IT)": "Source (mail, IT events)",
    "— wszystkie źródła tego rodzaju —": "— all sources of this kind —",
    "poczta": "mail",
    "zdarzenia": "events",
    "Osoba, adres e-mail, host lub użytkownik (poczta, zdarzenia)":
        "Person, e-mail address, host or user (mail, events)",
    "kopia obejmie tylko dane tej osoby lub tego urządzenia":
        "the copy will hold only this person's or this device's data",
    "Opis zdarzenia": "Description of the event",
    "wymagany przy nagraniach wizyjnych; przy żądaniu osoby, której dane dotyczą — "
    "nieobowiązkowy (np. ubiór, który pomoże ją odnaleźć)": "required for video recordings; "
    "optional for a data subject's request (e.g. clothing that helps to find the person)",
    "Cel uzyskania nagrania": "Purpose of obtaining the recording",
    "wymagany, z wyjątkiem żądania osoby, której dane dotyczą (art. 15 RODO nie wymaga podania "
    "celu)": "required, except for a data subject's request (art. 15 GDPR asks for no "
    "purpose)",
    "Stanowiska dopuszczone do nagrań": "Workstations allowed for recordings",
    "Podgląd, odtwarzanie, odsłuch i pobieranie kopii działają tylko z tych adresów (adresy lub "
    "sieci IP, oddzielone spacjami). Twoje stanowisko:": "Live view, playback, listening and "
    "copy downloads work only from these addresses (IP addresses or networks, separated by "
    "spaces). Your workstation:",
    "Adresy i sieci": "Addresses and networks",
    "Zapisać mimo to? Lista do zapisania:": "Save anyway? The list to save:",
    "Zapisz mimo to": "Save anyway",
    "Logowanie przez katalog (LDAP/Active Directory)": "Login through the directory "
    "(LDAP/Active Directory)",
    "Katalog sprawdza hasło osoby oznaczonej na stronie „Użytkownicy”; role i upoważnienia "
    "nadal nadaje Kustosz. Puste pole adresu wyłącza logowanie przez katalog.":
        "The directory checks the password of a person marked so on the \"Users\" page; "
        "Kustosz still grants the roles and authorisations. An empty address turns directory "
        "login off.",
    "Adres serwera": "Server address",
    "np. ldaps://dc1.um.example.pl lub ldap://10.0.0.5:389":
        "e.g. ldaps://dc1.um.example.pl or ldap://10.0.0.5:389",
    "Wzorzec nazwy do logowania": "Login name pattern",
    "np. {user}@um.example.pl (Active Directory) lub uid={user},ou=people,dc=example,dc=pl":
        "e.g. {user}@um.example.pl (Active Directory) or uid={user},ou=people,dc=example,dc=pl",
    "StartTLS (szyfrowanie połączenia ldap://)": "StartTLS (encrypts an ldap:// connection)",
    "Limit czasu (sekundy)": "Timeout (seconds)",
    "Dostęp do nagrań": "Access to recordings",
    "Zanim dane zostaną pokazane": "Before the data is shown",
    "Zanim kopia zostanie pobrana": "Before the copy is downloaded",
    "Zanim pokaże się podgląd": "Before the live view shows",
    "Zanim nagranie zostanie odtworzone": "Before the recording plays",
    ", podaj cel dostępu i sprawę, której służy. Dostęp zostanie zapisany w rejestrze dostępu "
    "(kto, co, kiedy, w jakim celu).": ", give the purpose of access and the case it serves. "
    "The access is written to the access log (who, what, when, for what purpose).",
    "Przegląd odbywa się w obecności osoby upoważnionej.":
        "The review takes place with an authorised person present.",
    "Rozmowa nr": "Call no.",
    "Podaj okres, którego dotyczy sprawa: wyszukiwanie obejmie tylko dane z tego okresu.":
        "Give the period the case concerns: the search covers only data from that period.",
    "Cel odsłuchania": "Purpose of listening",
    "jeśli dostęp służy wnioskowi": "if the access serves a request",
    "Przejdź do odsłuchu": "Go to listening",
    "Dalej": "Next",
    "Token pozwala programowi (np. skryptowi kopii) działać w Twoim imieniu przez API (":
        "A token lets a program (e.g. a copy script) act on your behalf through the API (",
    "), tylko w wybranych zakresach. Kończy się z terminem ważności, po unieważnieniu, po "
    "zmianie hasła, zmianie ról lub wyłączeniu konta.": "), only within the chosen scopes. "
    "It ends when it expires, is revoked, or when the password or roles change or the "
    "account is disabled.",
    "Nowy token (pokazany tylko teraz — zapisz go w programie, który będzie go używał):":
        "New token (shown only now — store it in the program that will use it):",
    "Nazwa": "Name",
    "Zakresy": "Scopes",
    "Utworzony": "Created",
    "Ważny do": "Valid until",
    "Ostatnio użyty": "Last used",
    "Unieważnij": "Revoke",
    "Brak tokenów.": "No tokens.",
    "Nowy token": "New token",
    "Nazwa (do czego służy)": "Name (what it is for)",
    "Ważny (dni, 1–730)": "Valid (days, 1–730)",
    "Utwórz token": "Create the token",
    "Drugi składnik logowania": "Second login factor",
    "Drugi składnik logowania (TOTP)": "Second login factor (TOTP)",
    "Drugi składnik jest już włączony. Zapisanie nowego klucza zastąpi poprzedni.":
        "The second factor is already on. Saving a new key replaces the old one.",
    "Wpisz ten klucz w aplikacji uwierzytelniającej (np. FreeOTP, Google Authenticator), a "
    "potem przepisz pokazany przez nią kod.": "Enter this key in an authenticator app (e.g. "
    "FreeOTP, Google Authenticator), then type the code it shows.",
    "Adres dla aplikacji:": "Address for the app:",
    "Kod z aplikacji": "Code from the app",
    "Włącz": "Turn on",
    "Obecny:": "Present:",
    "Czas nagrania:": "Recording time:",
    "(czas rejestratora; zegar nie jest synchronizowany z zewnętrznym wzorcem)":
        "(the recorder's time; its clock is not synchronised with an external reference)",
    "Rozmowa": "Call",
    "przychodząca": "incoming",
    "wychodząca": "outgoing",
    "wewnętrzna": "internal",
    "Osoby dokonujące odsłuchania (imię, nazwisko, stanowisko)":
        "People listening (full name, position)",
    "Pracownik prowadzący rozmowę": "Employee on the call",
    "Rozmówca lub rodzaj sprawy": "Other party or kind of matter",
    "Lokalizacja zdarzenia (np. nr telefonu)": "Where it happened (e.g. phone number)",
    "Rodzaj naruszenia bezpieczeństwa i okoliczności": "Kind of security breach and circumstances",
    "Przyczyny wystąpienia zdarzenia": "Causes of the event",
    "Podjęte działania": "Actions taken",
    "Postępowanie wyjaśniające": "Internal inquiry",
    "Zapisz i drukuj protokół": "Save and print the protocol",
    "Pobierz kopię (ZIP)": "Download the copy (ZIP)",
    "Zakończ": "End",
    "Zakończ odsłuch": "End listening",
    "Zakończ podgląd": "End the live view",
    # a request (request.html)
    "Wniosek nr": "Request no.",
    "Zdarzenie": "Event",
    "Okres we wniosku": "Period asked for",
    "Okres zabezpieczony": "Period held",
    "Linia telefoniczna": "Phone line",
    "Miejsce": "Place",
    "ukryte — rozmieszczenie kamer widzą tylko upoważnione role":
        "hidden — only authorised roles see where the cameras are",
    "Dotyczy": "Concerns",
    "Numer dzwoniącego": "Caller's number",
    "Opis": "Description",
    "Zabezpieczenie": "Hold",
    "brak": "none",
    "Uwaga": "Note",
    "Termin odpowiedzi": "Answer deadline",
    "Odpowiedź na żądanie (PDF)": "Answer to the request (PDF)",
    "do końca terminu": "until the deadline",
    "termin upływa dziś": "the deadline is today",
    "termin minął": "the deadline passed",
    "temu": "ago",
    "Osobie, której dane dotyczą, odpowiada się bez zbędnej zwłoki, najpóźniej w ciągu "
    "miesiąca od otrzymania żądania; termin można raz przedłużyć o dwa miesiące z uwagi na "
    "skomplikowany charakter żądania lub liczbę żądań, zawiadamiając ją o tym, z podaniem "
    "przyczyn, w ciągu pierwszego miesiąca (art. 12 ust. 3 RODO).": "A data subject is "
    "answered without undue delay, within a month of receiving the request at the latest; "
    "the deadline may be extended once by two months because of the request's complexity or "
    "the number of requests, telling the person so, with the reasons, within the first month "
    "(art. 12(3) GDPR).",
    "Zawiadomienie o przedłużeniu terminu (PDF)": "Notice of the extended deadline (PDF)",
    "Przyczyna przedłużenia": "Reason for the extension",
    "skomplikowany charakter żądania lub liczba żądań — osoba otrzymuje ją w zawiadomieniu":
        "the request's complexity or the number of requests — the person receives it in the "
        "notice",
    "Dzień zawiadomienia osoby": "Day the person was told",
    "najpóźniej {day}": "{day} at the latest",
    "Przedłuż termin o dwa miesiące": "Extend the deadline by two months",
    "zastępca": "deputy",
    "kierownik": "head",
    "Decyzja podjęta na piśmie (dokument:": "Decision made on paper (document:",
    "wprowadził(a):": "entered by:",
    "(z własnego konta)": "(from their own account)",
    "Decyduje": "Decided by",
    "Data decyzji": "Date of the decision",
    "zastępca (w zastępstwie kierownika)": "deputy (standing in for the head)",
    "Znak dokumentu z decyzją": "Reference of the decision document",
    "tylko gdy decyzję podjęto na papierze, a wprowadza ją inna osoba niż decydujący — "
    "decydujący zapisuje swoją decyzję sam, ze swojego konta": "only when the decision was "
    "made on paper and someone other than the decision-maker enters it — the decision-maker "
    "records their own decision from their own account",
    "Uzasadnienie": "Reasons",
    "wymagane przy odmowie": "required when refusing",
    "Zapisz decyzję": "Save the decision",
    "Maskowanie przed sporządzeniem kopii": "Masking before the copy is made",
    "szer. × wys. (%)": "width × height (%)",
    "Usuń": "Remove",
    "Nie zaznaczono obszarów — zamaskowane zostaną tylko twarze wykryte automatycznie, także "
    "twarz osoby wnioskującej.": "No areas are marked — only the faces detected "
    "automatically will be masked, the requester's face too.",
    "Dodaj obszar": "Add an area",
    "np. tablica rejestracyjna, ekran, osoba w tle": "e.g. a number plate, a screen, a person "
    "in the background",
    "Szerokość (%)": "Width (%)",
    "Wysokość (%)": "Height (%)",
    "Od (GG:MM:SS)": "From (HH:MM:SS)",
    "Do (GG:MM:SS)": "To (HH:MM:SS)",
    "odtwórz": "play",
    "(wymaga upoważnienia do odtwarzania; dostęp zostaje zapisany w rejestrze).":
        "(needs a playback authorisation; the access is written to the log).",
    "Klatka z nagrania": "Frame from the recording",
    "Chwila (GG:MM:SS)": "Moment (HH:MM:SS)",
    "Pokaż klatkę": "Show the frame",
    "Klatka z nagrania wybranej kamery w wybranej chwili":
        "A frame from the chosen camera at the chosen moment",
    "Kopia nagrania": "Copy of the recordings",
    "Sporządza:": "Made by:",
    "(kopię zapisuje osoba, która ją sporządza, ze swojego konta)":
        "(the person making the copy records it from their own account)",
    "Sporządź kopię": "Make the copy",
    "Kopia nr": "Copy no.",
    "Sporządził(a)": "Made by",
    "Przechowywana do": "Kept until",
    "Stan kopii": "State of the copy",
    "; wydana": "; handed over",
    "Przegląd": "Review",
    "przegląd kopii (druga osoba)": "review of the copy (second person)",
    "Pobierz kopię (wymaga upoważnienia)": "Download the copy (needs an authorisation)",
    "Kopie wydaje się tylko uprawnionym organom i osobom, których dane dotyczą, na ich pisemny "
    "wniosek — ten wniosek ({kind}) nie jest podstawą wydania.": "Copies are handed over only "
    "to authorities and data subjects, on their written request — this request ({kind}) is "
    "no basis for handing one over.",
    "Zamaskowaną kopię wydaje się dopiero po jej obejrzeniu w całości i zatwierdzeniu przez "
    "drugą osobę.": "A masked copy is handed over only after a second person has watched all "
    "of it and approved it.",
    "Przekazanie kopii": "Handover of the copy",
    "Przyjmujący (osoba, organ)": "Receiver (person, authority)",
    "imię, nazwisko, stanowisko i organ, np. asp. Jan Nowak, KPP Pleszew":
        "name, position and authority, e.g. asp. Jan Nowak, KPP Pleszew",
    "Nośnik": "Medium",
    "np. pendrive, ZIP szyfrowany": "e.g. a USB stick, an encrypted ZIP",
    "Po zapisaniu pobierzesz protokół przekazania (dwa egzemplarze) i pokwitowanie.":
        "After saving, download the handover protocol (two copies) and the receipt.",
    "Zapisz przekazanie": "Save the handover",
    "Dokumenty": "Documents",
    "Wydrukuj dla przekazania nr": "Print for handover no.",
    "protokół przekazania — 2 egzemplarze (PDF)": "handover protocol — 2 copies (PDF)",
    "pokwitowanie (PDF)": "receipt (PDF)",
    "Przekazanie": "Handover",
    "Kopia": "Copy",
    "Przyjmujący": "Receiver",
    "Wydał(a)": "Handed over by",
    "(wniosek": "(request",
    "nr": "no.",
    "nośnik:": "medium:",
    "Protokół przekazania (PDF, 2 egz.)": "Handover protocol (PDF, 2 copies)",
    "Pokwitowanie (PDF)": "Receipt (PDF)",
    # the review of a masked copy (review.html)
    "Przegląd kopii nr": "Review of copy no.",
    "Przegląd zamaskowanej kopii nr": "Review of masked copy no.",
    "wniosek nr": "request no.",
    "Stan przeglądu": "State of the review",
    "kopia nie podlega przeglądowi": "the copy needs no review",
    "; powód:": "; reason:",
    "Przed wydaniem kopii osobie, której dane dotyczą, druga osoba ogląda całe zamaskowane "
    "nagranie i sprawdza, czy nie widać na nim innych możliwych do zidentyfikowania osób. "
    "Przewijanie do przodu jest zablokowane; zatwierdzenie jest możliwe dopiero po obejrzeniu "
    "każdego nagrania do końca. Za obejrzane uznaje się tylko to, co serwer wysłał do "
    "odtwarzacza po kolei i co dało się obejrzeć w czasie rzeczywistym — zgłoszenia samego "
    "odtwarzacza niczego nie dodają.": "Before a copy is handed over to a data subject, a "
    "second person watches the whole masked recording and checks that no other identifiable "
    "person can be seen. Skipping forward is blocked; approval is possible only after every "
    "recording has been watched to the end. Only what the server sent to the player in order, "
    "and what could be watched in real time, counts as watched — the player's own reports "
    "add nothing.",
    "Sprawdzenie zamaskowanego nagrania": "Check of the masked recording",
    "— wykryta twarz": "— face detected",
    "Obrazy tych klatek widać po otwarciu nagrania do przeglądu.":
        "These frames' pictures show once the recording is opened for review.",
    "Kopii nie przekazano do przeglądu, więc nie pokazuje się jej obrazu: dodaj na stronie "
    "wniosku maski ręczne w podanych chwilach i sporządź kopię ponownie.": "The copy was not "
    "passed on for review, so its picture is not shown: add manual masks at these moments on "
    "the request's page and make the copy again.",
    "Tę kopię sporządził(a) Pan/Pani — przegląd przeprowadza inna osoba z rolą kustosza.":
        "You made this copy — another person with the custodian role reviews it.",
    "Ta strona pokazuje stan przeglądu.": "This page shows the state of the review.",
    "Nagranie po zamaskowaniu": "Recording after masking",
    "Odtworzenie kopii jest dostępem do nagrań: wymaga upoważnienia do pobrania kopii i "
    "zostaje zapisane w rejestrze dostępu (cel: przegląd kopii przed wydaniem).": "Playing "
    "the copy is access to recordings: it needs a copy-download authorisation and is written "
    "to the access log (purpose: review of the copy before handover).",
    "Otwórz nagranie do przeglądu": "Open the recording for review",
    "Decyzja po przeglądzie": "Decision after the review",
    "Nie obejrzano jeszcze do końca:": "Not yet watched to the end:",
    "Zatwierdź kopię do wydania": "Approve the copy for handover",
    "Powód zwrotu": "Reason for sending it back",
    "Zwrócona kopia zostaje zniszczona (nie była wydana); po poprawieniu masek we wniosku "
    "sporządza się nową kopię.": "A copy sent back is destroyed (it was not handed over); "
    "after the masks in the request are corrected, a new copy is made.",
    "Zwróć do poprawy": "Send back for correction",
    # users (users.html)
    "Login": "Login",
    "Role": "Roles",
    "w wykazie:": "on the list:",
    "wyłączony": "disabled",
    "— logowanie spowolnione": "— login slowed down",
    "— hasło z katalogu": "— password from the directory",
    "konserwator — umowa powierzenia nr": "maintenance contractor — processing agreement no.",
    "obowiązuje do": "in force until",
    ": dostęp zakończony": ": access ended",
    "Wyłącz konto": "Disable the account",
    "Włącz konto": "Enable the account",
    "Zdejmij spowolnienie": "Lift the slow-down",
    "Jednorazowy link: ta osoba zaloguje się bez czekania po nieudanych próbach (np. przy "
    "nowym komputerze), ważny 8 godzin": "One-time link: this person logs in without waiting "
    "after failed attempts (e.g. at a new computer), valid for 8 hours",
    "Link odblokowujący": "Unlock link",
    "Nowe hasło jednorazowe": "New one-time password",
    "Hasło lokalne zamiast katalogu": "Local password instead of the directory",
    "Hasło z katalogu (LDAP/AD)": "Password from the directory (LDAP/AD)",
    "Zmień role": "Change the roles",
    "Role użytkownika {name}": "Roles of user {name}",
    "Zapisz role": "Save the roles",
    "Zmiana ról kończy sesje i tokeny API tej osoby.":
        "Changing the roles ends this person's sessions and API tokens.",
    "Zmień stanowisko (wykaz)": "Change the position (list)",
    "Stanowisko użytkownika {name}": "Position of user {name}",
    "„—”: stanowisko spoza wykazu": "\"—\": a position not on the list",
    "Zapisz stanowisko": "Save the position",
    "Umowa powierzenia": "Processing agreement",
    "Numer umowy powierzenia": "Processing agreement number",
    "Obowiązuje do": "In force until",
    "Zapisz umowę": "Save the agreement",
    "Zmiana kończy sesje i tokeny API tej osoby.":
        "The change ends this person's sessions and API tokens.",
    "Adresy ze spowolnionym logowaniem": "Addresses with slowed-down login",
    "Adres": "Address",
    "Nieudane próby": "Failed attempts",
    "Następna próba po": "Next attempt after",
    "Zdejmij": "Lift",
    "Tokeny API wszystkich użytkowników": "API tokens of all users",
    "Nowy użytkownik": "New user",
    "małe litery, cyfry, kropka, np. jan.kowalski": "lower-case letters, digits, dot, e.g. "
    "jan.kowalski",
    "Stanowisko w wykazie regulaminu": "Position on the regulation's list",
    "tylko te stanowiska mogą otrzymać upoważnienie do nagrań; „—”: inne stanowisko":
        "only these positions may receive an authorisation for recordings; \"—\": another "
        "position",
    "Konserwator urządzeń (firma zewnętrzna)": "Maintenance contractor (outside company)",
    "Osoba świadcząca usługi konserwacji na podstawie umowy powierzenia — dostęp kończy się z "
    "umową": "A person providing maintenance under a processing agreement — access ends with "
    "the agreement",
    "Umowa obowiązuje do": "Agreement in force until",
    "Hasło sprawdza katalog urzędu (LDAP/Active Directory) — Kustosz nie przechowuje tego "
    "hasła": "The office's directory (LDAP/Active Directory) checks the password — Kustosz "
    "does not store it",
    "administrator — konta, stanowiska i ustawienia systemu (dział IT)":
        "administrator — accounts, workstations and system settings (IT department)",
    # values from the page modules and the modules under them
    "Baza danych skraca okres przechowywania wbrew dziennikowi":
        "The database shortens a retention period against the audit log",
    "Ten link odblokowujący jest nieważny: został już wykorzystany, wygasł albo administrator "
    "wydał nowszy. Poproś administratora o nowy link albo zaloguj się zwykłym formularzem.":
        "This unlock link is no longer valid: it was used already, it expired, or the "
        "administrator issued a newer one. Ask the administrator for a new link or log in "
        "with the usual form.",
    "Ten link odblokowujący wydano dla innego konta. Zaloguj się przez niego tylko jako osoba, "
    "dla której go wydano.": "This unlock link was issued for another account. Log in "
    "through it only as the person it was issued for.",
    "W tej przeglądarce jest zalogowana inna osoba. Link odblokowujący działa tylko dla osoby, "
    "dla której go wydano — najpierw się wyloguj.": "Someone else is logged in in this "
    "browser. The unlock link works only for the person it was issued for — log out first.",
    "odczyt": "read",
    "listy i rejestry, bez materiału": "lists and registers, no material",
    "dokumentacja (wnioski, kopie)": "paperwork (requests, copies)",
    "zabezpieczenia, decyzje, kopie": "holds, decisions, copies",
    "upoważnienia": "authorisations",
    "wydawanie upoważnień": "issuing authorisations",
    "materiał (nagrania)": "material (recordings)",
    "otwieranie nagrań — nadal tylko z upoważnieniem i ze stanowiska z listy":
        "opening recordings — still only with an authorisation and from a listed workstation",
    "metryki (monitoring)": "metrics (monitoring)",
    "odczyt /metrics przez system monitoringu, bez danych osobowych":
        "reading /metrics by a monitoring system, no personal data",
    "aktywny": "active",
    "unieważniony": "revoked",
    "wygasły": "expired",
    "zmiana hasła": "password change",
    "Gotowe:": "Done:",
    "z {n}.": "of {n}.",
    "zrobione": "done",
    "Stanowiska, z których wolno przeglądać nagrania":
        "Workstations allowed to view recordings",
    "tylko ten serwer (127.0.0.1) — z komputerów urzędu nagrań nie da się przeglądać":
        "only this server (127.0.0.1) — recordings cannot be viewed from the office's "
        "computers",
    "Wpisz adresy lub sieci komputerów, przy których przegląda się nagrania (np. 10.0.5.21 "
    "albo 10.0.5.0/24).": "Enter the addresses or networks of the computers where "
    "recordings are viewed (e.g. 10.0.5.21 or 10.0.5.0/24).",
    "Ustawienia → Stanowiska dopuszczone do nagrań":
        "Settings → Workstations allowed for recordings",
    "Komisja niszcząca (co najmniej dwie osoby)": "Destruction commission (at least two people)",
    "Nadaj rolę komisji co najmniej dwóm osobom (Użytkownicy), a kierownik zapisuje ich "
    "wyznaczenie zarządzeniem (Komisja niszcząca).": "Give the commission role to at least "
    "two people (Users), and the head records their appointment by an order (Destruction "
    "commission).",
    "Nadaj rolę komisji niszczącej co najmniej dwóm osobom.":
        "Give the destruction commission role to at least two people.",
    "nikt": "no one",
    "Świadek dziennika zdarzeń (poza katalogiem danych)":
        "Audit log witness (outside the data folder)",
    "nie ustawiono — dziennik zdarzeń nie ma zapisu poza katalogiem danych":
        "not set — the audit log has no record outside the data folder",
    "W pliku kustosz.toml w katalogu danych dopisz w sekcji [audit] wiersz witness = "
    "\"/mnt/archiwum/kustosz-swiadek.jsonl\" (inny dysk lub udział), uruchom serwer ponownie, "
    "a potem kustosz audit pin-witness.": "In kustosz.toml in the data folder add to the "
    "[audit] section the line witness = \"/mnt/archiwum/kustosz-swiadek.jsonl\" (another disk "
    "or share), restart the server, then run kustosz audit pin-witness.",
    "Kanały powiadomień o alarmach": "Alert notification channels",
    "brak — alarmy widać tylko na pulpicie": "none — alerts show only on the dashboard",
    "Ustaw co najmniej jeden kanał (e-mail do informatyka i inspektora ochrony danych) i wyślij "
    "wiadomość próbną.": "Set at least one channel (e-mail to the IT staff and the data "
    "protection officer) and send a test message.",
    "Harmonogram kopii zapasowych": "Backup schedule",
    "nie ustawiono — kopie zapasowe tylko ręcznie (kustosz backup)":
        "not set — backups by hand only (kustosz backup)",
    "W pliku kustosz.toml dopisz sekcję [backup] z folder = (inny dysk lub udział), at = "
    "\"02:30\" i passphrase_file = …, potem uruchom serwer ponownie.": "Add a [backup] "
    "section to kustosz.toml with folder = (another disk or share), at = \"02:30\" and "
    "passphrase_file = …, then restart the server.",
    "Certyfikat HTTPS": "HTTPS certificate",
    "HTTPS z certyfikatem samopodpisanym — przeglądarki ostrzegają; zastąp go certyfikatem "
    "urzędu, gdy będzie": "HTTPS with a self-signed certificate — browsers warn; replace it "
    "with the office's certificate when there is one",
    "HTTPS z certyfikatem": "HTTPS with a certificate",
    "HTTPS na serwerze pośredniczącym (trusted_proxies)": "HTTPS on a proxy (trusted_proxies)",
    "brak — hasła i nagrania przechodzą przez sieć jawnym tekstem":
        "none — passwords and recordings cross the network in plain text",
    "Na początek: kustosz tls self-signed, potem w kustosz.toml sekcja [web] z tls_cert i "
    "tls_key (albo --tls-cert/--tls-key) i ponowne uruchomienie serwera.": "To begin: "
    "kustosz tls self-signed, then a [web] section in kustosz.toml with tls_cert and tls_key "
    "(or --tls-cert/--tls-key), and a restart of the server.",
    "Nośniki z nagraniami niszczy komisja w obecności co najmniej dwóch osób wyznaczonych przez "
    "{who}: zniszczenie kopii potwierdza tylko osoba, której wyznaczenie obowiązuje w dniu "
    "potwierdzenia.": "Media with recordings are destroyed by a commission of at least two "
    "people appointed by the head of the office ({title}): only a person whose appointment "
    "is in force on the day confirms the destruction of a copy.",
    "Nośniki z nagraniami niszczy komisja w obecności co najmniej dwóch osób wyznaczonych przez "
    "{who}.": "Media with recordings are destroyed by a commission of at least two people "
    "appointed by the head of the office ({title}).",
    "od {day}": "from {day}",
    "Nie ma takiego dokumentu": "No such document",
    "Nie ma takiej kopii ani takiego przekazania.": "No such copy or handover.",
    "Rejestr można pobrać jako PDF albo CSV.": "A register can be downloaded as PDF or CSV.",
    "Nie można przygotować rejestru: podaj daty „od” i „do” w postaci RRRR-MM-DD.":
        "The register cannot be prepared: give the \"from\" and \"to\" dates as YYYY-MM-DD.",
    "Nie można przygotować rejestru: {why}": "The register cannot be prepared: {why}",
    "Nie ma takiego pracownika.": "No such employee.",
    "Nie ma takiego upoważnienia.": "No such authorisation.",
    "Nie ma takiego protokołu.": "No such protocol.",
    "sposób wykonywania obowiązków pracowniczych": "how work duties are performed",
    "podejrzane zdarzenie w sieci teleinformatycznej": "suspicious event in the network",
    "podejrzane zdarzenie na urządzeniu informatycznym": "suspicious event on an IT device",
    "złośliwe oprogramowanie w ruchu sieciowym": "malware in network traffic",
    "zagrożenie ze strony www": "threat from a website",
    "zmiana w inwentaryzacji sprzętu i oprogramowania":
        "change in the hardware and software inventory",
    "urządzenie podłączone do sieci": "device connected to the network",
    "nieuprawniony wyciek danych": "unauthorised data leak",
    "nadawca": "sender (From)",
    "wysyłający": "sender (Sender)",
    "adresat": "recipient",
    "kopia (DW)": "copy (Cc)",
    "ukryta kopia (UDW)": "blind copy (Bcc)",
    "nadawca w kopercie": "envelope sender",
    "adresat w kopercie": "envelope recipient",
    "wszystkie {kinds}": "all {kinds}",
    "wymagana, bo kopia jest niszczona {when}; trafi do protokołu zniszczenia i rejestru "
    "działań": "required, because the copy is destroyed {when}; it goes into the destruction "
    "protocol and the register of actions",
    "Formularz wygasł lub nie pochodzi z tej strony.":
        "The form has expired or did not come from this site.",
    "Podaj nazwę użytkownika.": "Give the user name.",
    "Podaj hasło.": "Give the password.",
    "Obecne hasło jest nieprawidłowe.": "The current password is wrong.",
    "Podaj obecne hasło.": "Give the current password.",
    "Podaj nowe hasło.": "Give the new password.",
    "Powtórz nowe hasło.": "Repeat the new password.",
    "Hasła się różnią.": "The passwords differ.",
    "Hasło zmienione": "Password changed",
    "Przepisz kod pokazany przez aplikację.": "Type the code the app shows.",
    "Kod nie pasuje — sprawdź czas w telefonie i przepisz aktualny kod.":
        "The code does not match — check the time on the phone and type the current code.",
    "Włączono drugi składnik logowania": "The second login factor is on",
    "Podaj swoje obecne hasło — bez niego nie można zmienić drugiego składnika.":
        "Give your current password — without it the second factor cannot be changed.",
    # cameras (cameras.register, cameras.rules)
    "zapewnienie bezpieczeństwa pracowników": "employee safety",
    "ochrona mienia": "protection of property",
    "kontrola produkcji": "production control",
    "zachowanie w tajemnicy informacji, których ujawnienie mogłoby narazić pracodawcę na "
    "szkodę": "keeping secret information whose disclosure could harm the employer",
    "pomieszczenie socjalne": "social room",
    "korytarz": "corridor",
    "klatka schodowa": "staircase",
    "wejście": "entrance",
    "sala obsługi klienta": "customer hall",
    "teren wokół budynku": "grounds around the building",
    "parking": "car park",
    "serwerownia": "server room",
    "archiwum": "archive",
    "inne pomieszczenie": "other room",
    "pomieszczenie sanitarne": "sanitary room",
    "szatnia": "changing room",
    "stołówka": "canteen",
    "palarnia": "smoking room",
    "pomieszczenie udostępnione zakładowej organizacji związkowej":
        "room made available to the trade union",
    "(ukryte — tajemnica pracodawcy)": "(hidden — the employer's secret)",
    "potrzebne są obie daty: poinformowania pracowników i umieszczenia oznaczeń monitoringu":
        "both dates are needed: when the employees were notified and when the monitoring "
        "signs went up",
    "przyczyna nieznana": "cause unknown",
    "łączenie z kamerą": "connecting to the camera",
    "brak miejsca na dysku; nagrywanie wznowi się samo, gdy Kustosz zwolni miejsce (usuwając "
    "najstarsze nagrania nieobjęte zabezpieczeniem)": "no disk space; recording resumes by "
    "itself when Kustosz frees space (deleting the oldest recordings not under a hold)",
    "rejestrator zatrzymany": "recorder stopped",
    "kamera wyłączona przez administratora": "camera disabled by the administrator",
    # what a page says after a form was sent (flash messages, web/*.py)
    "Umowa powierzenia użytkownika {name} zapisana; jego sesje i tokeny API zakończone.":
        "Processing agreement of user {name} saved; their sessions and API tokens ended.",
    "Zdjęto spowolnienie logowania z adresu {address}.":
        "The login slow-down was lifted from address {address}.",
    "Wydano upoważnienie nr {n}.": "Authorisation no. {n} issued.",
    "Upoważnienie nr {n} odwołane.": "Authorisation no. {n} revoked.",
    "Wyznaczono {who} ({order}).": "{who} appointed ({order}).",
    "Wyznaczenie nr {n} zakończone.": "Appointment no. {n} ended.",
    "Zapisano.": "Saved.",
    "Protokół zapisany.": "Protocol saved.",
    "Zapisano; zmiany działają w ciągu kilku sekund.": "Saved; the changes apply within a few "
    "seconds.",
    "Nic się nie zmieniło.": "Nothing changed.",
    "Przywrócono ustawienia z pliku kustosz.toml.": "The settings from kustosz.toml are back.",
    "Wszystkie ustawienia już pochodzą z pliku kustosz.toml.":
        "All settings already come from kustosz.toml.",
    "Dodano pracownika: {name}.": "Employee added: {name}.",
    "Zapisano zakończenie pracy: {name}, {day}.": "Last working day saved: {name}, {day}.",
    "Oświadczenie zapisane.": "Acknowledgment saved.",
    "Zmieniono wersję informacji o monitoringu.": "The monitoring notice version was changed.",
    "Zabezpieczenie nr {n} założone; blokady prawnej w magazynie obiektów nie udało się "
    "ustawić: {why}": "Hold no. {n} placed; the legal hold in the object store could not be "
    "set: {why}",
    "Zabezpieczenie nr {n} założone.": "Hold no. {n} placed.",
    "Zabezpieczenie nr {n} zwolnione.": "Hold no. {n} released.",
    "Kopia nr {n} zniszczona. Protokół zniszczenia jest w kolumnie „Zniszczenie”.":
        "Copy no. {n} destroyed. The destruction protocol is in the \"Destruction\" column.",
    "Pierwsze potwierdzenie zniszczenia kopii nr {n} zapisane; potrzebne drugie, innego "
    "członka komisji.": "First confirmation of destroying copy no. {n} saved; a second one, "
    "by another commission member, is needed.",
    "Dziennik zdarzeń sprawdzony: błąd — {problem}": "Audit log checked: error — {problem}",
    "Wniosek nr {n} zarejestrowany.": "Request no. {n} registered.",
    "Decyzja zapisana.": "Decision saved.",
    "Termin odpowiedzi przedłużono do {day}.": "The answer deadline was extended to {day}.",
    "Przekazanie kopii nr {number} zapisane (nr {n}). Wydrukuj protokół przekazania w dwóch "
    "egzemplarzach i pokwitowanie — odnośniki poniżej, w części „Dokumenty”.": "Handover of "
    "copy no. {number} saved (no. {n}). Print the handover protocol in two copies and the "
    "receipt — the links are below, under \"Documents\".",
    "Obszar zapisany.": "Area saved.",
    "Obszar usunięty.": "Area removed.",
    "Kopię nr {n} zatwierdzono po przeglądzie; można ją wydać.":
        "Copy no. {n} approved after review; it may be handed over.",
    "Kopię nr {n} zwrócono do poprawy i zniszczono; popraw maski i sporządź kopię ponownie.":
        "Copy no. {n} was sent back for correction and destroyed; correct the masks and make "
        "the copy again.",
    "Token unieważniony.": "Token revoked.",
    "Hasło użytkownika {name} sprawdza katalog (LDAP/Active Directory); zmienia się je w "
    "katalogu.": "User {name}'s password is checked by the directory (LDAP/Active "
    "Directory); it is changed in the directory.",
    "Nowe hasło jednorazowe dla {name} (pokazane tylko teraz): {password}":
        "New one-time password for {name} (shown only now): {password}",
    "Nie ma użytkownika {name}.": "There is no user {name}.",
    "{name} loguje się teraz hasłem z katalogu (LDAP/Active Directory).":
        "{name} now logs in with the directory's password (LDAP/Active Directory).",
    "{name} loguje się teraz hasłem lokalnym — hasło jednorazowe (pokazane tylko teraz): "
    "{password}": "{name} now logs in with a local password — one-time password (shown only "
    "now): {password}",
    "Konto {name} wyłączone; jego sesje i tokeny API zakończone.":
        "Account {name} disabled; its sessions and API tokens ended.",
    "Konto {name} włączone.": "Account {name} enabled.",
    "Role użytkownika {name} zmienione; jego sesje i tokeny API zakończone.":
        "The roles of user {name} changed; their sessions and API tokens ended.",
    "Stanowiska „{position}” nie ma w wykazie: {listed}.":
        "The position \"{position}\" is not on the list: {listed}.",
    "Stanowisko użytkownika {name} zmienione.": "The position of user {name} changed.",
    "Link odblokowujący dla {name} (pokazany tylko teraz; jednorazowy, ważny do {when}, tylko "
    "dla tego konta): {url}": "Unlock link for {name} (shown only now; single use, valid "
    "until {when}, for this account only): {url}",
    "Wybierz plik CSV.": "Choose a CSV file.",
    "nie dotyczy — żądanie dostępu do własnych danych (art. 15 RODO)":
        "not applicable — a request for access to one's own data (art. 15 GDPR)",
    "udzielono dostępu": "access granted",
    "odmówiono dostępu": "access refused",
    "odmówiono dostępu (podaj podstawę prawną)": "access refused (give the legal basis)",
    "wygasła": "expired",
    "Nie ma użytkownika (nie podano).": "No user given.",
    "Podaj imię i nazwisko.": "Give the full name.",
    "Podaj datę dopuszczenia do pracy (RRRR-MM-DD).":
        "Give the date the person may start work (YYYY-MM-DD).",
    "Wybierz co najmniej jeden zakres tokenu.": "Choose at least one scope for the token.",
    "Podaj liczbę całkowitą dni (np. 14).": "Give a whole number of days (e.g. 14).",
    "Nie można odczytać okresu: podaj liczbę i jednostkę, np. „2 minuty”, „1 godzina”, „30 s”.":
        "The period cannot be read: give a number and a unit, e.g. \"2 minutes\", \"1 hour\", "
        "\"30 s\".",
    "Nie można odczytać okresu: podaj liczbę i jednostkę większą od zera (np. „1 godzina”) "
    "albo „nigdy”.": "The period cannot be read: give a number above zero and a unit (e.g. "
    "\"1 hour\") or \"never\".",
    # whole sentences with values in them (templates)
    "Po zamaskowaniu detektor twarzy sprawdził każdą z {n} klatek nagrania: w żadnej nie "
    "wykrył twarzy innej osoby niż wnioskująca (próg {threshold}).": "After masking, the face "
    "detector checked each of the {n} frames of the recording: in none did it find the face "
    "of anyone but the requester (threshold {threshold}).",
    "Sprawdzenie wykryło twarz innej osoby niż wnioskująca w {found} z {n} klatek (próg "
    "{threshold}): kopii nie przekazano do przeglądu.": "The check found the face of someone "
    "other than the requester in {found} of {n} frames (threshold {threshold}): the copy was "
    "not passed on for review.",
    "Klatki z najwyższym wynikiem detektora poza osobą wnioskującą (od {floor}; czerwona ramka "
    "— to, co detektor wskazał). Obejrzyj je szczególnie uważnie.": "The frames with the "
    "detector's highest scores outside the requester (from {floor}; red frame — what the "
    "detector pointed at). Watch them especially carefully.",
    "Klatka o {clock}": "Frame at {clock}",
    "{clock} ({offset} s od początku okresu), wynik {score}":
        "{clock} ({offset} s from the start of the period), score {score}",
    "Detektor nie wskazał żadnej klatki, nawet z wynikiem {floor}.":
        "The detector pointed at no frame, not even with a score of {floor}.",
    "Obejrzane do końca ({seen}).": "Watched to the end ({seen}).",
    "Nie obejrzano jeszcze do końca (obejrzano dotąd: {seen}).":
        "Not yet watched to the end (watched so far: {seen}).",
    "Kopię wydano na ten wniosek (przekazanie nr {n}) — dokumenty są poniżej. Innemu organowi "
    "kopię wydaje się na jego własny wniosek.": "The copy was handed over on this request "
    "(handover no. {n}) — the documents are below. Another authority receives the copy on "
    "its own request.",
    "Najwyżej {n} obszarów na wniosek. Położenie i czas odczytasz z nagrania:":
        "At most {n} areas per request. Read the position and time from the recording:",
    "Kopię nr {number} zniszczono {day}:": "Copy no. {number} was destroyed on {day}:",
    "Termin przedłużono; osobę zawiadomiono {day}. Przyczyna: {reason}.":
        "The deadline was extended; the person was told on {day}. Reason: {reason}.",
    "Odpowiedziano {day} (termin: {due}).": "Answered on {day} (deadline: {due}).",
    "Wykaz rozmów (numery, czas i długość połączeń) to dane osobowe rozmówców. Przegląd "
    "wymaga indywidualnego upoważnienia do czynności „{action}” dla danej linii; odsłuch "
    "rozmowy — osobnego upoważnienia do odsłuchu. Przed przeglądem podaj cel, sprawę i okres; "
    "każde wyszukiwanie jest zapisywane w rejestrze dostępu.": "The call list (numbers, times "
    "and lengths of calls) is the callers' personal data. Reviewing it needs a personal "
    "authorisation for the action \"{action}\" for the line; listening to a call needs a "
    "separate listening authorisation. Before the review give the purpose, the case and the "
    "period; every search is written to the access log.",
    "Przegląd danych wymaga indywidualnego upoważnienia do czynności „{action}” dla danego "
    "źródła. Przed przeglądem podaj cel, sprawę i okres; każde wyszukiwanie jest zapisywane w "
    "rejestrze dostępu.": "Reviewing the data needs a personal authorisation for the action "
    "\"{action}\" for the source. Before the review give the purpose, the case and the "
    "period; every search is written to the access log.",
    "Protokół z odsłuchania rozmowy telefonicznej nr {n}": "Call listening protocol no. {n}",
    "Protokół nr {n}": "Protocol no. {n}",
    "; sprawa {case}": "; case {case}",
    "Z nagraniami zapoznają się tylko osoby na stanowiskach: {positions} (regulamin "
    "monitoringu). Upoważnienie wydane na jednym z nich przestaje działać, gdy osoba zmieni "
    "stanowisko.": "Only people in these positions see recordings: {positions} (monitoring "
    "regulation). An authorisation issued for one of them stops working when the person "
    "changes position.",
    "Cel: {purpose}": "Purpose: {purpose}",
    "; sprawa: {case}": "; case: {case}",
    "; wniosek nr {n}": "; request no. {n}",
    ". Dostęp nr {n}: każde wyszukiwanie jest zapisywane w rejestrze dostępu.":
        ". Access no. {n}: every search is written to the access log.",
    ". Dostęp nr {n} jest rejestrowany.": ". Access no. {n} is recorded.",
    "Przepisz numer kopii ({number})": "Type the copy's number ({number})",
    "Kopia dla osoby, której dane dotyczą, nie może pokazywać innych możliwych do "
    "zidentyfikowania osób. Twarze są wykrywane i zamazywane (pikselizacja nieodwracalna) "
    "automatycznie. Tu zaznacz ręcznie to, czego detektor nie obejmie — sylwetki, tablice "
    "rejestracyjne, ekrany, dokumenty — oraz obszar, w którym widać osobę wnioskującą (jej "
    "wizerunek pozostanie widoczny). Położenie podaj w procentach kadru (x, y — lewy górny "
    "róg; szerokość, wysokość), czas — w okresie {start}–{end}.": "A data subject's copy may "
    "not show other identifiable people. Faces are detected and blurred (irreversible "
    "pixelation) automatically. Mark here by hand what the detector does not cover — "
    "figures, number plates, screens, documents — and the area where the requester is seen "
    "(their image stays visible). Give the position in percent of the frame (x, y — top left "
    "corner; width, height), the time within the period {start}–{end}.",
    "Klatka z kamery wniosku w wybranej chwili okresu ({start}–{end}) z zaznaczonymi już "
    "obszarami (czerwone — maski, zielone — obszar osoby wnioskującej; przygaszone — "
    "nieobowiązujące w tej chwili). Przeciągnij myszą po klatce, aby wpisać położenie "
    "prostokąta w pola x, y, szerokość i wysokość. Klatkę pokazuje się tylko osobie, która ma "
    "własne upoważnienie do pobrania kopii nagrań z tej kamery. Wgląd do nagrania, także do "
    "pojedynczej klatki, odbywa się wyłącznie w obecności osoby upoważnionej (002 zał.5 §7 "
    "ust. 6) — każda pokazana klatka zostaje zapisana w rejestrze dostępu wraz z imieniem i "
    "nazwiskiem tej osoby.": "A frame from the request's camera at the chosen moment of the "
    "period ({start}–{end}) with the areas already marked (red — masks, green — the "
    "requester's area; dimmed — not in force at that moment). Drag the mouse over the frame "
    "to fill the rectangle's position into x, y, width and height. The frame is shown only to "
    "a person with their own authorisation to download copies from this camera. Viewing a "
    "recording, a single frame too, takes place only with an authorised person present (002 "
    "annex 5 §7(6)) — every frame shown is written to the access log with that person's "
    "name.",
    # form messages of the page modules (web/*.py)
    "To pole jest wymagane.": "This field is required.",
    "Nieprawidłowa data (RRRR-MM-DD).": "Invalid date (YYYY-MM-DD).",
    "Wybierz rodzaj wniosku.": "Choose the kind of request.",
    "Wybierz rodzaj nagrań.": "Choose the kind of recordings.",
    "Podaj dane wnioskodawcy.": "Give the requester's details.",
    "Podaj cel uzyskania nagrania.": "Give the purpose of obtaining the recording.",
    "Wskaż kamerę albo miejsce.": "Name a camera or a place.",
    "Opisz zdarzenie.": "Describe the event.",
    "Podaj przybliżoną godzinę zdarzenia albo okres od–do.":
        "Give the approximate time of the event or a from–to period.",
    "Data wniosku jest wcześniejsza niż data opisanego zdarzenia.":
        "The request's date is earlier than the date of the event it describes.",
    "Podaj numer dzwoniącego lub numer, na który dzwoniono (004 §7 ust. 5).":
        "Give the caller's number or the number called (004 §7(5)).",
    "Podaj godzinę w postaci GG:MM lub GG:MM:SS, np. 14:00 lub 14:02:30.":
        "Give the time as HH:MM or HH:MM:SS, e.g. 14:00 or 14:02:30.",
    "Podaj też godzinę końca okresu.": "Give the period's end time too.",
    "Podaj też godzinę początku okresu.": "Give the period's start time too.",
    "Podaj albo przybliżoną godzinę, albo okres od–do — nie jedno i drugie.":
        "Give either an approximate time or a from–to period — not both.",
    "Okres zaczyna się w przyszłości.": "The period starts in the future.",
    "To pole dotyczy wniosków o nagrania wizyjne i rozmowy.":
        "This field is for requests for video and call recordings.",
    "Wybierz źródło zdarzeń IT.": "Choose the IT event source.",
    "To pole dotyczy wniosków o dane z monitoringu poczty i zdarzeń IT.":
        "This field is for requests for mail and IT-event monitoring data.",
    "Wybierz decyzję.": "Choose the decision.",
    "Podaj przyczynę przedłużenia.": "Give the reason for the extension.",
    "Kopię sporządza i przekazuje osoba zalogowana na własne konto — zapis w imieniu innej "
    "osoby nie jest możliwy. Niech zrobi to ona sama.": "A copy is made and handed over by the "
    "person logged in to their own account — recording it for someone else is not possible. "
    "Let them do it themselves.",
    "Podaj osobę i organ przyjmujący kopię.": "Give the person and authority receiving the copy.",
    "Do tego wniosku nie sporządzono jeszcze kopii.": "No copy has been made for this request "
    "yet.",
    "kopia sporządzona — czeka na przegląd przez drugą osobę":
        "copy made — waiting for review by a second person",
    "Podaj podstawę zabezpieczenia.": "Give the basis of the hold.",
    "Wybierz co najmniej jedno źródło.": "Choose at least one source.",
    "Podaj powód zwolnienia.": "Give the reason for the release.",
    "Koniec okresu jest przed jego początkiem.": "The period's end is before its start.",
    "Koniec okresu musi być po jego początku.": "The period's end must be after its start.",
    "przechowywana — zatwierdzona po przeglądzie, czeka na wydanie":
        "kept — approved after review, waiting to be handed over",
    "Nie ma takiego rejestru. Rejestry do pobrania są na stronie „Rejestry”.":
        "No such register. The registers to download are on the \"Registers\" page.",
    "Nieprawidłowa data i godzina.": "Invalid date and time.",
    "Podaj liczbę.": "Give a number.",
    "Nieznana czynność.": "Unknown action.",
    "Podaj cel dostępu.": "Give the purpose of access.",
    "Podaj sprawę lub numer wniosku, któremu służy dostęp.":
        "Give the case or the request number the access serves.",
    "Podaj początek okresu.": "Give the start of the period.",
    "Podaj koniec okresu.": "Give the end of the period.",
    "Podaj osobę upoważnioną obecną przy przeglądzie (002 zał.5 §7.6).":
        "Name the authorised person present at the review (002 annex 5 §7.6).",
    "Nieznany rodzaj wpisów — wybierz z listy.": "Unknown kind of entries — choose from the list.",
    "Nieznany powód odmowy — wybierz z listy.": "Unknown refusal reason — choose from the list.",
    "Szczegóły odmowy": "Details of the refusal",
    "Wybierz osobę upoważnioną.": "Choose the authorised person.",
    "Wybierz co najmniej jedną czynność.": "Choose at least one action.",
    "Wskaż źródła albo rodzaje źródeł.": "Name the sources or kinds of sources.",
    "Koniec obowiązywania musi być po jego początku.": "The end of validity must be after its "
    "start.",
    "Podaj co najmniej jeden adres lub sieć — z pustą listą nikt nie otworzy nagrań.":
        "Give at least one address or network — with an empty list no one opens recordings.",
    "Formularz wygasł lub nie pochodzi z tej strony (brak tokenu CSRF). Odśwież stronę "
    "logowania.": "The form has expired or did not come from this site (no CSRF token). "
    "Reload the login page.",
    "Twoje hasło sprawdza katalog (LDAP/Active Directory) — zmień je tak, jak w systemie "
    "Windows lub poczcie urzędu.": "Your password is checked by the directory (LDAP/Active "
    "Directory) — change it as in Windows or the office's mail.",
    "Nieprawidłowy numer telefonu.": "Invalid phone number.",
    "Podaj datę oświadczenia (RRRR-MM-DD).": "Give the date of the acknowledgment (YYYY-MM-DD).",
    "Podaj datę zakończenia pracy (RRRR-MM-DD).": "Give the last working day (YYYY-MM-DD).",
    "Wpisana wartość (np. data) jest poza zakresem.": "A value typed (e.g. a date) is out of "
    "range.",
    "Wpisany tekst jest za długi.": "The text typed is too long.",
    "Podaj nazwę tokenu (do 100 znaków), np. „skrypt kopii”.":
        "Give the token a name (up to 100 characters), e.g. \"copy script\".",
    "Podaj liczbę dni.": "Give a number of days.",
    "nowe hasło jednorazowe": "new one-time password",
    "konto wyłączone": "account disabled",
    "zmiana ról": "change of roles",
    "przez właściciela": "by the owner",
    "Nieprawidłowa nazwa użytkownika lub hasło.": "Wrong user name or password.",
    "Podaj chwilę jako GG:MM:SS (np. 14:05:30).": "Give the moment as HH:MM:SS (e.g. 14:05:30).",
    "Wybierz plik.": "Choose a file.",
    # a data subject answered that no data are processed; the delivery choice (issue 30
    # leftovers 1 and 9: request.html, requests.html)
    "odpowiedziano — nie przetwarzamy danych tej osoby":
        "answered — we process no data of this person",
    "Odpowiedź: nie przetwarzamy danych": "Answer: we process no data",
    "Gdy w systemie nie ma już nagrań z danymi tej osoby (np. usunięto je po upływie okresu "
    "przechowywania), kopii nie da się sporządzić, a odmowa nie jest właściwą odpowiedzią. "
    "Odpowiedzią jest potwierdzenie, że nie przetwarzamy jej danych (art. 15 ust. 1 RODO). "
    "Zapisanie tej odpowiedzi zamyka żądanie i zwalnia zabezpieczenie; system odmówi, jeśli "
    "dane tej osoby nadal są przechowywane.":
        "When the system holds no recordings with this person's data any more (e.g. they were "
        "deleted when their retention period ended), no copy can be made, and a refusal is not "
        "the right answer. The answer is a confirmation that we process no data of theirs "
        "(art. 15(1) GDPR). Recording it closes the request and releases its hold; the system "
        "refuses while any of this person's data is still stored.",
    "Podpisuje:": "Signed by:",
    "Data odpowiedzi": "Date of the answer",
    "Zapisz odpowiedź: nie przetwarzamy danych": "Record the answer: we process no data",
    "Zapisano odpowiedź: nie przetwarzamy danych tej osoby. Zabezpieczenie zwolniono — "
    "wydrukuj odpowiedź (PDF).":
        "Answer recorded: we process no data of this person. The hold is released — print "
        "the answer (PDF).",
    "Sposób otrzymania kopii (osoba, której dane dotyczą)":
        "How the copy is received (data subject)",
    "tylko przy żądaniu osoby, której dane dotyczą (art. 15 ust. 3 RODO); przy wysyłce pocztą "
    "lub elektronicznie podaj adres w polu „Kontakt”":
        "only for a data subject's request (art. 15(3) GDPR); for post or e-mail give the "
        "address in the “Contact” field",
    "odbiór osobisty w siedzibie administratora": "collected in person at the controller's "
                                                  "office",
    "przesyłka pocztowa na adres podany we wniosku": "by post to the address in the request",
    "w postaci elektronicznej": "electronically",
    "Sposób otrzymania kopii": "How the copy is received",
    # the accessibility statement and the session's time limit (issue 33, web/accessibility.py)
    "Deklaracja dostępności": "Accessibility statement",
    "Przedłuż sesję": "Extend session",
    "Zaloguj się ponownie": "Sign in again",
    "Z powodu braku aktywności sesja wygaśnie o {time}. Aby pracować dalej, przedłuż ją.":
        "Because of inactivity the session ends at {time}. To go on working, extend it.",
    "Sesja zakończy się najpóźniej o {time} — tego czasu nie można przedłużyć. Zapisz pracę; "
    "potem zaloguj się ponownie.":
        "The session ends at {time} at the latest — that time cannot be extended. Save your "
        "work; then sign in again.",
    "Sesja wygasła. Aby pracować dalej, zaloguj się ponownie.":
        "The session has ended. To go on working, sign in again.",
    "Sesja przedłużona do {time}.": "Session extended until {time}.",
    # the cameras page's timeline as a table (issue 33, cameras.html)
    "Nagrania i przerwy w tabeli": "Recordings and gaps as a table",
    "Nagrania i przerwy": "Recordings and gaps",
    "Przyczyna przerwy": "Cause of the gap",
    # the players' names for assistive technology (issue 33, view.html)
    "Odtwarzacz nagrania": "Recording player",
    "Podgląd z kamery": "Camera live view",
    "Odtwarzacz rozmowy": "Call player",
}

# Words that go with a number (the ``plural`` filter, plural_in): the Polish singular ->
# the English singular and plural. A phrase is whole, so the English reads as one sentence.
EN_N: dict[str, tuple[str, str]] = {
    "wniosek zatwierdzony bez kopii dłużej niż {after} — nagrania pozostają zabezpieczone do "
    "sporządzenia kopii": (
        "approved request without a copy for more than {after} — its recordings stay held "
        "until the copy is made",
        "approved requests without a copy for more than {after} — their recordings stay held "
        "until the copy is made"),
    "aktywne zabezpieczenie nagrań": ("active hold of recordings", "active holds of recordings"),
    "wniosek czekający na decyzję": ("request waiting for a decision",
                                     "requests waiting for a decision"),
    "wniosek bez decyzji dłużej niż {after} — nagrania pozostają zabezpieczone do decyzji": (
        "request without a decision for more than {after} — its recordings stay held until "
        "the decision",
        "requests without a decision for more than {after} — their recordings stay held "
        "until the decision"),
    "wniosek czekający na kopię": ("request waiting for a copy", "requests waiting for a copy"),
    "kopia do zniszczenia": ("copy due for destruction", "copies due for destruction"),
    "nagranie do usunięcia w ciągu 7 dni": ("recording to be deleted within 7 days",
                                            "recordings to be deleted within 7 days"),
    "upoważnienie wygasające w ciągu 30 dni": ("authorisation expiring within 30 days",
                                               "authorisations expiring within 30 days"),
    "pracownik bez oświadczenia o monitoringu": (
        "employee without a monitoring acknowledgment",
        "employees without a monitoring acknowledgment"),
    "odsłuchanie rozmów bez protokołu z odsłuchania": (
        "call listening without a listening protocol",
        "call listenings without a listening protocol"),
    "dzień": ("day", "days"),
    "Teraz nagrywana jest {n} rozmowa.": ("{n} call is being recorded now.",
                                          "{n} calls are being recorded now."),
    "{n} wpis, łańcuch nienaruszony.": ("{n} entry, the chain is intact.",
                                        "{n} entries, the chain is intact."),
    "Dziennik zdarzeń sprawdzony: {n} wpis, łańcuch nienaruszony.": (
        "Audit log checked: {n} entry, the chain is intact.",
        "Audit log checked: {n} entries, the chain is intact."),
    "Wczytano {n} pracownika.": ("{n} employee loaded.", "{n} employees loaded."),
    "{n} wiadomość czeka na ponowną próbę wysłania.": (
        "{n} message is waiting to be sent again.", "{n} messages are waiting to be sent again."),
    "Przerwa w nagraniu": ("Gap in recording", "Gaps in recording"),
    "wniosek": ("request", "requests"),
    "kopia": ("copy", "copies"),
    "zabezpieczenie": ("hold", "holds"),
    "pracownik": ("employee", "employees"),
    "nagranie": ("recording", "recordings"),
    "plik": ("file", "files"),
    "wpis": ("entry", "entries"),
    "sekundę": ("second", "seconds"),
    "minutę": ("minute", "minutes"),
    "godzinę": ("hour", "hours"),
    "upoważnienie": ("authorisation", "authorisations"),
    "rozmowa": ("call", "calls"),
    "wiadomość": ("message", "messages"),
    "zdarzenie": ("event", "events"),
    "{n} odmowa dostępu wśród pokazanych wpisów.": (
        "{n} access refusal among the entries shown.",
        "{n} access refusals among the entries shown."),
    "segment": ("segment", "segments"),
}

# Values other modules word in Polish with a number in them (periods, forecasts): the
# pattern, and the English with the groups put back in (each group translated itself).
_UNITS = {"dzień": ("day", "days"), "dni": ("day", "days"), "tydzień": ("week", "weeks"),
          "tygodnie": ("week", "weeks"), "tygodni": ("week", "weeks"),
          "miesiąc": ("month", "months"), "miesiące": ("month", "months"),
          "miesięcy": ("month", "months"), "rok": ("year", "years"), "lata": ("year", "years"),
          "lat": ("year", "years"), "godzina": ("hour", "hours"), "godziny": ("hour", "hours"),
          "godzin": ("hour", "hours"), "minuta": ("minute", "minutes"),
          "minuty": ("minute", "minutes"), "minut": ("minute", "minutes"),
          "sekundę": ("second", "seconds"), "sekundy": ("second", "seconds"),
          "sekund": ("second", "seconds")}
_COUNT = re.compile(r"^(\d+) (" + "|".join(_UNITS) + r")$")
EN_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # the listening purposes' hint: the office's own paragraphs (access/listening.hint)
    (re.compile(r"^tylko cele określone w \S+ \(([^()]*)\)$"),
     "only the purposes the office's regulation states ({0})"),
    (re.compile(r"^tylko cele określone w \S+ \(([^()]*)\); (.+)$"),
     "only the purposes the office's regulation states ({0}); {1}"),
    (re.compile(r"^tylko cele określone w zasadach urzędu(.*)$"),
     "only the purposes the office's rules state{0}"),
    (re.compile(r"^wystarczy na ok\. (.+)$"), "lasts about {0}"),
    (re.compile(r"^(.+) \(sesja nr (\d+)\)$"), "{0} (session no. {1})"),
    (re.compile(r"^(.+) \(nieznana sesja\)$"), "{0} (unknown session)"),
    (re.compile(r"^segment nagrania nr (\d+)$"), "recording segment no. {0}"),
    (re.compile(r"^fragment podglądu na żywo nr (\d+)$"), "live view part no. {0}"),
    (re.compile(r"^wiadomość e-mail nr (\d+)$"), "e-mail message no. {0}"),
    (re.compile(r"^zdarzenie IT nr (\d+)$"), "IT event no. {0}"),
    (re.compile(r"^(.+) — źródło (.+)$"), "{0} — source {1}"),
    (re.compile(r"^źródło (.+)$"), "source {0}"),  # what a refusal asked for (access log)
    # a camera's open alert row (ingest.camera.health), the dashboard's first alarm
    (re.compile(r"^Kamera „(.+)” nie nagrywa od (.+) \(przyczyna: (.+)\)\.$"),
     "Camera \"{0}\" has not recorded since {1} (cause: {2})."),
    # a request's state and held period (web.requests_pages.shown_state, asked_and_held)
    (re.compile(r"^kopia nr (\S+) wstrzymana \(sprawdzenie wykryło twarz innej osoby\) — "
                r"popraw maski i sporządź kopię ponownie$"),
     "copy no. {0} withheld (the check found another person's face) — correct the masks "
     "and make the copy again"),
    (re.compile(r"^kopia wydana (\S+)$"), "copy handed over {0}"),
    (re.compile(r"^kopia wydana (\S+), zniszczona$"), "copy handed over {0}, destroyed"),
    (re.compile(r"^kopia wydana (\S+), zniszczona (\S+)$"),
     "copy handed over {0}, destroyed {1}"),
    (re.compile(r"^kopia zniszczona (\S+)$"), "copy destroyed {0}"),
    (re.compile(r"^(.+) \(z zapasem (\d+) min przed i po\)$"),
     "{0} (with a margin of {1} min before and after)"),
    (re.compile(r"^wniosek nr (\d+) \((.+), (.+)\): zabezpieczenie do rozpatrzenia$"),
     "request no. {0} ({1}, {2}): held until it is decided"),
    (re.compile(r"^zarządzenie nr (.+) z dnia (.+)$"), "order no. {0} of {1}"),
    (re.compile(r"^wniosek (\d+)$"), "request {0}"),
    # form messages the page modules build with a value in them
    (re.compile(r"^Data zdarzenia (\S+) jest w przyszłości\.$"),
     "The date of the event {0} is in the future."),
    (re.compile(r"^Data wniosku (\S+) jest w przyszłości\.$"),
     "The date of the request {0} is in the future."),
    (re.compile(r"^Przybliżona godzina „(.*)” nie ma postaci GG:MM \(np\. 14:30\)\.$"),
     "The approximate time \"{0}\" is not HH:MM (e.g. 14:30)."),
    (re.compile(r"^Koniec okresu jest przed jego początkiem — okres przez północ \(do godziny "
                r"następnego dnia\) może trwać najwyżej (\d+) godzin\.$"),
     "The period's end is before its start — a period across midnight (to a time of the next "
     "day) may last {0} hours at most."),
    (re.compile(r"^Nieprawidłowa data „(.*)” w polu „(.*)”: podaj ją jako RRRR-MM-DD "
                r"\(np\. 2026-03-15\)\.$"),
     "Invalid date \"{0}\" in the field \"{1}\": give it as YYYY-MM-DD (e.g. 2026-03-15)."),
    (re.compile(r"^Data „do” \((.*)\) jest wcześniejsza niż data „od” \((.*)\)\.$"),
     "The \"to\" date ({0}) is earlier than the \"from\" date ({1})."),
    (re.compile(r"^Pole „(.*)” może mieć najwyżej (\d+) znaków \(podano (\d+)\)\.$"),
     "The field \"{0}\" may have at most {1} characters ({2} given)."),
    (re.compile(r"^Nieprawidłowy numer strony „(.*)”: podaj liczbę całkowitą od 1\.$"),
     "Invalid page number \"{0}\": give a whole number from 1."),
    (re.compile(r"^Aby potwierdzić, przepisz numer kopii: (.+)\.$"),
     "To confirm, type the copy's number: {0}."),
    (re.compile(r"^Przepisz numer kopii \((.+)\), aby potwierdzić\.$"),
     "Type the copy's number ({0}) to confirm."),
    (re.compile(r"^Kopia jest niszczona (.+): podaj przyczynę zniszczenia przed terminem\.$"),
     "The copy is destroyed {0}: give the reason for destroying it early."),
    (re.compile(r"^Zbyt wiele błędnych haseł\. Spróbuj ponownie za (\d+ \w+)\.$"),
     "Too many wrong passwords. Try again in {0}."),
    (re.compile(r"^Token nr (\d+) jest już unieważniony\.$"), "Token no. {0} is already revoked."),
    (re.compile(r"^Token może być ważny od 1 do (\d+) dni\.$"),
     "A token may be valid for 1 to {0} days."),
    (re.compile(r"^Nic nie zapisano\. Popraw pola oznaczone poniżej \(błędy: (\d+)\)\.$"),
     "Nothing was saved. Correct the fields marked below (errors: {0})."),
    (re.compile(r"^Użytkownik (\S+) loguje się hasłem z katalogu \(LDAP/Active Directory\)\.$"),
     "User {0} logs in with the directory's password (LDAP/Active Directory)."),
    (re.compile(r"^Zdjęto spowolnienie logowania konta (\S+)\.$"),
     "The login slow-down of account {0} was lifted."),
    (re.compile(r"^Twój komputer \(adres (.+)\) nie będzie na liście — po zapisaniu stracisz "
                r"dostęp do nagrań z tego stanowiska\.$"),
     "Your computer (address {0}) will not be on the list — after saving you lose access to "
     "recordings from this workstation."),
    (re.compile(r"^Brak nagrania w tej chwili \((.+), kamera (.+)\) — wybierz inną chwilę "
                r"okresu\.$"), "No recording at this moment ({0}, camera {1}) — choose another "
     "moment of the period."),
    (re.compile(r"^Chwila (.+) jest poza okresem wniosku \((.+)\) — klatki spoza okresu nie "
                r"udostępnia się\.$"), "The moment {0} is outside the request's period ({1}) — "
     "no frame outside the period is shown."),
    (re.compile(r"^unieważnił administrator: (.+)$"), "revoked by the administrator: {0}"),
    # flashes of the background jobs (web/jobs_pages.py) and words of the request page
    (re.compile(r"^Sporządzono kopię nr (\S+)\.$"), "Copy no. {0} made."),
    (re.compile(r"^Nie ma kopii nr (\S+)\.$"), "There is no copy no. {0}."),
    (re.compile(r"^Zabezpieczenie nr (\d+) założone\.$"), "Hold no. {0} placed."),
    (re.compile(r"^Zabezpieczenie nr (\d+) zwolnione\.$"), "Hold no. {0} released."),
    (re.compile(r"^około godz\. (\S+), (\S+)$"), "at about {0}, {1}"),
    (re.compile(r"^cały dzień (\S+)$"), "the whole day {0}"),
    (re.compile(r"^zniszczona (\S+)$"), "destroyed {0}"),
    (re.compile(r"^wydana ([\d., ]+)$"), "handed over {0}"),
    (re.compile(r"^wydana ([\d., ]+); zniszczona (\S+)$"), "handed over {0}; destroyed {1}"),
    (re.compile(r"^przechowywana — (.+)$"), "kept — {0}"),
    (re.compile(r"^zwrócona po przeglądzie, niewydana; (.+)$"),
     "sent back after review, not handed over; {0}"),
    (re.compile(r"^(\S+) \(obejrzano dotąd: (.+)\)$"), "{0} (watched so far: {1})"),
    (re.compile(r"^Nieznane powiększenie osi czasu „(.*)”: wybierz cały dzień, godzinę albo "
                r"10 minut\. Pokazano cały dzień\.$"), "Unknown timeline zoom \"{0}\": choose "
     "the whole day, an hour or 10 minutes. The whole day is shown."),
    (re.compile(r"^Nieprawidłowa godzina „(.*)” \(GG:MM, np\. 14:30\)\. Pokazano cały dzień\.$"),
     "Invalid time \"{0}\" (HH:MM, e.g. 14:30). The whole day is shown."),
    # the facts of a refusal (access.records REASONS' notes), as the access log shows them
    (re.compile(r"^sesja nr (\d+)$"), "session no. {0}"),
    (re.compile(r"^nie obejmuje: (.+)$"), "does not cover: {0}"),
    (re.compile(r"^upoważnienie nr (\d+) obowiązuje od (.+) do (.+)$"),
     "authorisation no. {0} is in force from {1} to {2}"),
    (re.compile(r"^upoważnienie nr (\d+) obowiązywało od (.+) do (.+)$"),
     "authorisation no. {0} was in force from {1} to {2}"),
    (re.compile(r"^upoważnienie nr (\d+) odwołane (.+)$"), "authorisation no. {0} revoked {1}"),
    (re.compile(r"^adres (.+) spoza listy dopuszczonych stanowisk$"),
     "address {0} is not on the list of allowed workstations"),
    (re.compile(r"^upoważnienie nr (\d+) wydane na stanowisku (.+); obecne stanowisko: (.+)$"),
     "authorisation no. {0} issued for the position {1}; present position: {2}"),
    (re.compile(r"^umowa powierzenia nr (.+) do (.+)$"), "processing agreement no. {0} until {1}"),
    (re.compile(r"^kopia nr (\S+), (.+)$"), "copy no. {0}, {1}"),
    (re.compile(r"^dostęp \(sesja nr (\d+)\)$"), "access (session no. {0})"),
    (re.compile(r"^nagrywanie może się rozpocząć (\S+) \(poinformowanie pracowników \+ (\d+) "
                r"dni, oznaczenie \+ (\d+) dzień\)$"),
     "recording may start on {0} (employees notified + {1} days, signs + {2} day)"),
    (re.compile(r"^uruchomiona wcześniej na podstawie wyjątku: (.+)$"),
     "started early under an exception: {0}"),
    (re.compile(r"^kodek (\S+)$"), "codec {0}"),
    (re.compile(r"^kodek (\S+) — tego obrazu nie da się odtworzyć w przeglądarce$"),
     "codec {0} — this picture cannot be played in a browser"),
    (re.compile(r"^rejestrator zatrzymany; ostatni problem: (.+)$"),
     "recorder stopped; last problem: {0}"),
    (re.compile(r"^(.+) z dnia (\d\d\.\d\d\.\d{4})$"), "{0} of {1}"),
    (re.compile(r"^dozwolone adresy: (.+)$"), "allowed addresses: {0}"),
    (re.compile(r"^Dzwoniący muszą usłyszeć komunikat o nagrywaniu rozmowy, zanim zacznie się "
                r"nagrywanie \((.+?)\)\. (.+)$"),
     "Callers must hear that the call is recorded before the recording begins ({0}). {1}"),
    (re.compile(r"^art\. 13 RODO$"), "art. 13 GDPR"),
    (re.compile(r"^(.+); art\. 13 RODO$"), "{0}; art. 13 GDPR"),
    (re.compile(r"^Nikt jeszcze tego nie potwierdził; linie: (.+)\.$"),
     "No one has confirmed it yet; lines: {0}."),
    (re.compile(r"^Potwierdzenie: (.+), (\d\d\.\d\d\.\d{4} \d\d:\d\d); linie: (.+?)\. "
                r"Bez potwierdzenia: (.+)\.$"),
     "Confirmed by {0}, {1}; lines: {2}. Not confirmed: {3}."),
    (re.compile(r"^Potwierdzenie: (.+), (\d\d\.\d\d\.\d{4} \d\d:\d\d); linie: (.+)\.$"),
     "Confirmed by {0}, {1}; lines: {2}."),
    (re.compile(r"^wyznaczeni zarządzeniem: (.+)$"), "appointed by order: {0}"),
    (re.compile(r"^członkowie komisji: (.+)$"), "commission members: {0}"),
    (re.compile(r"^(.+) — jeszcze nie zapisany \(pierwszy punkt kontrolny zapisuje go serwer "
                r"w ciągu kwadransa od uruchomienia\)$"),
     "{0} — not written yet (the server writes it at the first checkpoint, within a quarter "
     "of an hour of starting)"),
    (re.compile(r"^(.+) — zapisywany$"), "{0} — being written"),
    (re.compile(r"^skonfigurowane: (.+)$"), "configured: {0}"),
    (re.compile(r"^(.+); nie działa: (.+)$"), "{0}; not working: {1}"),
    (re.compile(r"^(.+); żadna kopia jeszcze się nie udała$"), "{0}; no backup has succeeded yet"),
    (re.compile(r"^(.+); ostatnia udana: (.+)$"), "{0}; last successful: {1}"),
    (re.compile(r"^codziennie o (\S+) do (.+), (\d+) najnowszych$"),
     "daily at {0} to {1}, the newest {2} kept"),
    (re.compile(r"^certyfikat ustawiony \((.+)\), ta strona otwarta bez HTTPS$"),
     "certificate set ({0}), this page was opened without HTTPS"),
    (re.compile(r"^przed upływem okresu przechowywania \(kopia miała być przechowywana do "
                r"(.+)\)(.*)$"), "before its retention period ends (it was to be kept until "
     "{0}){1}"),
    (re.compile(r"^ i zanim została wydana uprawnionemu organowi$"),
     " and before it was handed over to an authority"),
    (re.compile(r"^ i zanim została wydana osobie, której dane dotyczą$"),
     " and before it was handed over to the data subject"),
    # what a long job is doing (custody/copy_making.py, masking/video.py; job.html)
    (re.compile(r"^Kopiowanie nagrań: źródło (\d+) z (\d+) \((.+)\)$"),
     "Copying the recordings: source {0} of {1} ({2})"),
    (re.compile(r"^Plik odtwarzalny z czasem nagrania: źródło (\d+) z (\d+)$"),
     "The playable file with the recording time: source {0} of {1}"),
    (re.compile(r"^Maskowanie osób: kamera (\d+) z (\d+) \((.+)\)$"),
     "Masking people: camera {0} of {1} ({2})"),
    (re.compile(r"^Sprawdzanie zamaskowanego nagrania klatka po klatce: kamera (\d+) z (\d+) "
                r"\((.+)\)$"), "Checking the masked recording frame by frame: camera {0} of {1} "
     "({2})"),
    (re.compile(r"^Maskowanie zakończone: kamera (\d+) z (\d+) \((.+)\)$"),
     "Masking finished: camera {0} of {1} ({2})"),
    (re.compile(r"^Maskowanie osób na nagraniu i sprawdzanie każdej klatki$"),
     "Masking people in the recording and checking every frame"),
    (re.compile(r"^Sprawdzanie zamaskowanego nagrania klatka po klatce$"),
     "Checking the masked recording frame by frame"),
    (re.compile(r"^Maskowanie zakończone$"), "Masking finished"),
]


def translate(text: str, lang: str, **values: object) -> str:
    """``text`` in ``lang``; ``values`` fill its {placeholders} after the lookup, so a
    sentence with a number or a name is one catalogue entry, never glued fragments."""
    if lang == "en":
        text = english(text)
    return text.format(**values) if values else text


def english(text: str) -> str:
    """The catalogue's English for ``text``; a count ("14 dni") or a known pattern of a
    value other modules build; else ``text`` as it is."""
    if text in EN:
        return EN[text]
    count = _COUNT.match(text)
    if count:
        n = int(count.group(1))
        one, many = _UNITS[count.group(2)]
        return f"{n} {one if n == 1 else many}"
    for pattern, form in EN_PATTERNS:
        m = pattern.match(text)
        if m:
            return form.format(*(english(g) for g in m.groups()))
    return text


def plural_in(lang: str, n: int, one: str, few: str, many: str) -> str:
    """The Polish form for ``n`` (kustosz.words.plural), or in English the
    singular or plural EN_N gives for the Polish singular ``one``."""

    if lang == "en" and one in EN_N:
        en_one, en_many = EN_N[one]
        return en_one if abs(int(n)) == 1 else en_many
    return plural(n, one, few, many)
