"""The problems `audit verify` finds, in Polish, for the alert an office worker reads.

The verifier's words are English (logs, the CLI, the dashboard's technical details); the
`audit_verify_failed` alert is Polish (issue 29 item 4: "wykazało naruszenie: witness … does
not exist" was English inside a Polish sentence). Every problem the audit modules word
(kustosz.audit.log, access_chain, verifier, identity) has its Polish here; one worded since
and not added reads as a plain Polish sentence naming where the check failed, never English
(the English stays in the server's log and the dashboard's technical details).
"""

from __future__ import annotations

import re

# Where a problem was found ("entry 7: …"), as `AuditProblem.__str__` and the access chain
# word it; the longest first ("witness identity" before "witness").
_WHERE: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"entry (\d+)"), r"wpis nr \1"),
    (re.compile(r"access record (\d+)"), r"rekord dostępu nr \1"),
    (re.compile(r"viewing session (\d+)"), r"sesja przeglądania nr \1"),
    (re.compile(r"witness line (\d+)"), r"wiersz \1 pliku-świadka"),
    (re.compile(r"witness identity"), "tożsamość świadka"),
    (re.compile(r"witness"), "plik-świadek"),
]

_PROBLEMS: list[tuple[re.Pattern[str], str]] = [(re.compile(p, re.S), w) for p, w in [
    # kustosz.audit.log (the main chain) and access_chain (the access records)
    (r"missing \(the log jumps from (\d+) to (\d+)\)",
     r"brak wpisu (dziennik przeskakuje z wpisu \1 do \2)"),
    (r"missing \(the access records jump from (\d+) to (\d+)\)",
     r"brak rekordu (rekordy dostępu przeskakują z \1 do \2)"),
    (r"out of order", "nie na swoim miejscu (kolejność zmieniona)"),
    (r"does not follow the entry before it \(removed or reordered entries\)",
     "nie następuje po poprzednim wpisie (wpisy usunięte lub przestawione)"),
    (r"does not follow the record before it \(removed or reordered records\)",
     "nie następuje po poprzednim rekordzie (rekordy usunięte lub przestawione)"),
    (r"its content was changed", "jego treść została zmieniona"),
    (r"(.+) is unreadable", r"plik \1 jest nieczytelny"),
    (r"missing: the log ends at (\d+) but (\d+) entries were written",
     r"brak wpisów: dziennik kończy się na wpisie \1, a zapisano ich \2 (koniec odcięto)"),
    (r"differs from the recorded head",
     "różni się od zapisanego ostatniego wpisu (audit.head)"),
    (r"not in the audit log \(inserted, or its entry removed\)",
     "nie ma jej w dzienniku zdarzeń (dopisana albo usunięto jej wpis)"),
    (r"differs from its entry in the audit log .*",
     "różni się od swojego wpisu w dzienniku zdarzeń (zmieniono, kto, co, cel, sprawę, "
     "osobę obecną albo stanowisko)"),
    (r"its counters \((\d+) requests, (\d+) bytes\) differ from its access records "
     r"\((\d+), (\d+)\)",
     r"jej liczniki (\1 żądań, \2 bajtów) nie zgadzają się z rekordami dostępu (\3, \4)"),
    (r"removed \(the audit log records its opening\)",
     "usunięta (dziennik zdarzeń odnotował jej otwarcie)"),
    # kustosz.audit.verifier
    (r"missing: the log is empty .*",
     "brak: dziennik zdarzeń jest pusty (jego pierwszy wpis, vault.init, potwierdza tożsamość "
     "skarbca)"),
    (r"is not vault\.init: .*",
     "to nie jest vault.init: dziennik nie zaczyna się tam, gdzie zaczął się skarbiec"),
    (r"checkpoint (\d+) sealed access record (\d+), which is gone",
     r"punkt kontrolny nr \1 zapieczętował rekord dostępu nr \2, którego już nie ma"),
    (r"checkpoint (\d+) sealed access record (\d+), which is no longer the same",
     r"punkt kontrolny nr \1 zapieczętował rekord dostępu nr \2, który został zmieniony"),
    (r"differs from witnessed checkpoint (\d+) \(access records were removed or rewritten\)",
     r"różni się od punktu kontrolnego nr \1 zapisanego w pliku-świadku (rekordy dostępu "
     r"usunięto lub przepisano)"),
    (r"differs from witnessed checkpoint (\d+) \(the log was rewritten .*",
     r"różni się od punktu kontrolnego nr \1 zapisanego w pliku-świadku (dziennik przepisano "
     r"i przeliczono jego łańcuch)"),
    (r"this vault's checkpoints were written to the witness (.+); verify against it .*",
     r"punkty kontrolne tego skarbca zapisywano w pliku-świadku \1, a sprawdzenie go nie "
     r"objęło (usunięto ustawienie [audit] witness z kustosz.toml?) — bez niego nie da się "
     r"wykryć obciętego ani przeliczonego dziennika"),
    (r"checkpoint (\d+) is not in the witness .*",
     r"punktu kontrolnego nr \1 nie ma w pliku-świadku (jego wiersz usunięto lub podmieniono; "
     r"jeśli plik był niedostępny, dopisze go polecenie kustosz audit checkpoint)"),
    (r"the office's key is missing from keys/.*",
     "w keys/ brak klucza urzędu, więc nie można sprawdzić żadnego punktu kontrolnego"),
    (r"names the office key (\S+), but keys/ holds (\S+) \(the key was replaced\)",
     r"wskazuje klucz urzędu \1, a w keys/ jest \2 (klucz podmieniono)"),
    (r"(?:not a Kustosz checkpoint line.*|a checkpoint line with fields missing|"
     r"a checkpoint line whose numbers are not numbers)",
     "to nie jest wiersz punktu kontrolnego Kustosza"),
    (r"its signature is not the office's .*",
     "jego podpis nie jest podpisem urzędu (wiersz podrobiono lub zmieniono)"),
    (r"belongs to another vault, or this log's first entry was rewritten",
     "należy do innego skarbca albo przepisano pierwszy wpis dziennika"),
    (r"is checkpoint (\d+) where (\d+) was due .*",
     r"to punkt kontrolny nr \1, a powinien być nr \2 (wiersze usunięte, powtórzone lub "
     r"przestawione)"),
    (r"missing: checkpoint (\d+) sealed it, but the log ends at (\d+) .*",
     r"brak: zapieczętował go punkt kontrolny nr \1, a dziennik kończy się na wpisie \2 "
     r"(wpisy odcięto)"),
    (r"missing: checkpoint (\d+) sealed it \(entries were removed\)",
     r"brak: zapieczętował go punkt kontrolny nr \1 (wpisy usunięto)"),
    (r"witness (.+) does not exist",
     r"plik-świadek \1 nie istnieje, choć punkty kontrolne już do niego zapisano (usunięto "
     r"go?)"),
    (r"witness (.+) is not a file", r"plik-świadek \1 nie jest plikiem"),
    (r"witness (.+) cannot be read.*", r"nie można odczytać pliku-świadka \1"),
    (r"witness (.+) is not a Kustosz audit witness .*",
     r"\1 nie jest plikiem-świadkiem dziennika zdarzeń Kustosza"),
    (r"witness (.+) is empty: it holds no checkpoint",
     r"plik-świadek \1 jest pusty, choć punkty kontrolne już do niego zapisano (wyczyszczono "
     r"go?)"),
    # kustosz.audit.intake_lists (an intake batch's entry against the index)
    (r"counts (\d+) files but lists (\d+)",
     r"podaje liczbę plików \1, a wymienia ich \2"),
    (r"its list of files does not match the list's digest it records \(the list was changed\)",
     "jego lista plików nie zgadza się z zapisanym w nim skrótem tej listy (listę zmieniono)"),
    (r"lists recording (\d+) with SHA-256 (\S+), but the index holds (\S+) \(.*",
     r"podaje dla nagrania nr \1 skrót SHA-256 \2, a indeks ma \3 (plik albo jego wiersz w "
     r"indeksie zmieniono po przyjęciu)"),
    # kustosz.audit.identity (the witness pinned by root)
    (r"the folder (.+) cannot be examined .*", r"nie można sprawdzić folderu \1"),
    (r"the folder (.+) is owned by uid (\d+), not root.*",
     r"folder \1 należy do konta o uid \2, a nie do roota: to konto może podmienić plik"),
    (r"the folder (.+) is writable by its group or by others.*",
     r"folder \1 mogą zapisywać grupa lub inni: mogą podmienić plik (chmod 755)"),
    (r"the witness identity (.+) cannot be read .*",
     r"nie można odczytać tożsamości świadka \1"),
    (r"the witness identity (.+) is damaged .*", r"tożsamość świadka \1 jest uszkodzona"),
    (r"witness identity (.+) pins the witness of the data folder (.+), not (.+?) \(.*",
     r"tożsamość świadka \1 dotyczy katalogu danych \2, a nie \3"),
    (r"kustosz\.toml's \[audit\] witness (.+) is not the pinned witness (.+?) \(.*",
     r"plik-świadek \1 z kustosz.toml nie jest przypiętym świadkiem \2 (ustawienie zmieniono; "
     r"sprawdzono przypiętego)"),
    (r"kustosz\.toml names no \[audit\] witness, but (.+) is pinned .*",
     r"kustosz.toml nie wskazuje pliku-świadka, a przypięty jest \1 (ustawienie usunięto; "
     r"sprawdzono przypiętego)"),
    (r"the office key in keys/ \((\S+)\) is not the pinned key (\S+) .*",
     r"klucz urzędu w keys/ (\1) nie jest przypiętym kluczem \2 (klucz podmieniono)"),
    (r"the audit log's first entry is not the pinned vault's .*",
     "pierwszy wpis dziennika nie jest wpisem przypiętego skarbca (dziennik przepisano od "
     "początku albo to inny skarbiec)"),
    (r"(.+) cannot be examined .*", r"nie można sprawdzić pliku \1"),
    (r"(.+) is a symbolic link .*",
     r"\1 jest dowiązaniem symbolicznym (kto ma jego cel, może go zmienić)"),
    (r"(.+) is not a file", r"\1 nie jest plikiem"),
    (r"(.+) is owned by uid (\d+), not root.*",
     r"\1 należy do konta o uid \2, a nie do roota: to konto może go przepisać"),
    (r"(.+) is writable by its group or by others.*",
     r"\1 mogą zapisywać grupa lub inni (chmod 644)"),
]]

UNWORDED = "sprawdzenie wykryło niezgodność (szczegóły techniczne w dzienniku serwera)"


def problem_pl(text: str) -> str:
    """``text`` — one problem as `audit verify` words it ("entry 7: its content was changed")
    — in Polish ("wpis nr 7: jego treść została zmieniona")."""
    places: list[str] = []
    rest = text.strip()
    while True:  # "witness identity: witness identity: /etc/…" names its place twice
        for pattern, words in _WHERE:
            found = re.match(pattern.pattern + ": ", rest)
            if found:
                place = found.expand(words)
                if place not in places:
                    places.append(place)
                rest = rest[found.end():]
                break
        else:
            break
    said = UNWORDED
    for pattern, words in _PROBLEMS:
        found = pattern.fullmatch(rest)
        if found:
            said = found.expand(words)
            break
    # "plik-świadek: plik-świadek /x nie istnieje": the problem names its place itself
    places = [p for p in places if not said.startswith(p)]
    return f"{', '.join(places)}: {said}" if places else said
