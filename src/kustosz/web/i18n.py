"""The interface's English: Polish is the source language (each message id is the Polish
text the code and templates write) and the English is a gettext catalogue,
``locale/en/LC_MESSAGES/kustosz.po``, read with Babel when this module is first imported —
the form translators' tools (Poedit, Lokalize, Weblate) read and write. What stays here is
code: counts ("14 dni") and patterns of values other modules word in Polish."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from kustosz.words import plural

LANGS = ("pl", "en")
CATALOGUE = Path(__file__).parent / "locale" / "en" / "LC_MESSAGES" / "kustosz.po"
# the context of words that go with a number: msgid the Polish singular, msgid_plural the
# Polish form for many, msgstr[0] and [1] the English singular and plural
COUNTED = "liczba"


def _load(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale="en", domain="kustosz", abort_invalid=True)


def _tables(catalog: Catalog) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    words: dict[str, str] = {}
    counted: dict[str, tuple[str, str]] = {}
    for m in catalog:
        if not m.id or m.fuzzy:
            continue
        if m.context == COUNTED and isinstance(m.id, tuple) and isinstance(m.string, tuple):
            counted[m.id[0]] = (m.string[0], m.string[1])
        elif isinstance(m.id, str) and isinstance(m.string, str) and m.string:
            words[m.id] = m.string
    return words, counted


EN, EN_N = _tables(_load(CATALOGUE))

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
    # the accountability reports' job (report/monthly.py, issue 53)
    (re.compile(r"^Sporządzono sprawozdanie z rozliczalności za (\d{4}-\d{2})\.$"),
     "The accountability report of {0} is made."),
    (re.compile(r"^Sporządzono sprawozdanie wstępne za (\d{4}-\d{2})\.$"),
     "The draft report of {0} is made."),
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
