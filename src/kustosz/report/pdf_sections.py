"""The report's sections as the PDF prints them: a few sentences and tables each, read from
report.json and nothing else, so every count in the PDF is the count in the JSON beside it."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from kustosz.audit.polish import problem_pl
from kustosz.kinds import KINDS, kind_of
from kustosz.report.pdf_words import (
    NONE,
    action,
    alert,
    day,
    hours,
    length,
    refusal,
    request_kind,
    retention_period,
    rule,
    source_kind,
    told,
    when,
    where,
    yes_no,
)
from kustosz.words import count_pl

Section = dict[str, Any]


def table(caption: str | None, columns: list[str], widths: list[float],
          rows: list[list[str]], empty: str = "Brak.") -> dict[str, Any]:
    return {"caption": caption, "columns": columns, "widths": widths,
            "rows": [[str(c) for c in r] for r in rows], "empty": empty}


def counts(caption: str, head: str, values: dict[str, int], word: Any = str) -> dict[str, Any]:
    return table(caption, [head, "Liczba"], [5, 1],
                 [[word(k), str(v)] for k, v in values.items()])


def findings(report: dict[str, Any]) -> Section:
    rows = [[str(i), f["pl"], where(f["register"], f["row"])]
            for i, f in enumerate(report["findings"], 1)]
    n = len(rows)
    lines = [f"Stwierdzono {count_pl(n, 'odstępstwo', 'odstępstwa', 'odstępstw')} od zasad "
             "jednostki." if n else "Nie stwierdzono odstępstw od zasad jednostki."]
    return {"heading": "Ustalenia", "lines": lines, "tables": [table(
        None, ["Lp.", "Ustalenie", "Gdzie sprawdzić (rejestr, nr)"], [0.5, 6, 2.5], rows,
        empty="Brak ustaleń.")] if n else []}


def integrity(report: dict[str, Any], tz: ZoneInfo) -> Section:
    i = report["integrity"]
    head, point = i["covered_head"] or {}, i["last_checkpoint"]
    lines = [("Dziennik zdarzeń przeszedł weryfikację od pierwszego do ostatniego wpisu."
              if i["verified"] else "Dziennik zdarzeń NIE przeszedł weryfikacji: "
              f"{count_pl(len(i['problems']), 'naruszenie', 'naruszenia', 'naruszeń')}."),
             f"Sprawozdanie obejmuje dziennik do wpisu nr {head.get('seq', NONE)} "
             f"z {when(head.get('at'), tz)}, skrót (SHA-256): {head.get('hash', NONE)}.",
             (f"Ostatni punkt kontrolny u świadka zewnętrznego: nr {point.get('n') or NONE}, "
              f"wpis nr {point['seq']} z {when(point['at'], tz)}." if point else
              "W tym okresie nie zapisano punktu kontrolnego u świadka zewnętrznego.")]
    tables = [table("Naruszenia dziennika", ["Lp.", "Gdzie i jakie naruszenie"], [0.5, 8.5],
                    [[str(n), _audit_problem(p)] for n, p in enumerate(i["problems"], 1)])
              ] if i["problems"] else []
    changes = report["policy_changes"]
    if changes:
        lines.append(f"W okresie zmieniono zasady przechowywania "
                     f"{count_pl(len(changes), 'raz', 'razy', 'razy')}.")
        tables.append(table("Zmiany zasad", ["Kiedy", "Przed zmianą", "Po zmianie"],
                            [2, 4, 4], [[when(c["at"], tz), _rules(c["before"]),
                                         _rules(c["after"])] for c in changes]))
    return {"heading": "Integralność dziennika zdarzeń", "lines": lines, "tables": tables}


def _audit_problem(p: dict[str, Any]) -> str:
    """One problem the verifier found, in Polish as the audit_verify alert says it ("wpis nr
    2: jego treść została zmieniona"); the JSON keeps the verifier's English."""
    place = p["where"] or (f"entry {p['seq']}" if p["seq"] else "")
    return problem_pl(f"{place}: {p['problem']}" if place else p["problem"])


def _rules(rules: dict[str, Any] | None) -> str:
    if not rules or not rules.get("retention"):
        return NONE
    return "; ".join(f"{source_kind(k)}: {retention_period(str(v))}"
                     for k, v in sorted(rules["retention"].items()) if v)


def entries(kind: str, n: int | None) -> str:
    """What a journal's or a tool's files held: '1 wiadomość', '2 zdarzenia', '5 zdarzeń'."""
    words = kind_of(kind).entry_pl if kind in KINDS else None
    if n is None or words is None:
        return NONE  # a camera's or a line's files are what is counted
    return count_pl(n, *words)


def recorded(report: dict[str, Any]) -> Section:
    rows = []
    for r in report["recorded"]["sources"]:
        off = r["clock_offsets"]
        rows.append([r["source"], source_kind(r["kind"]), str(r["items"]),
                     entries(r["kind"], r["entries"]), hours(r["hours"]),
                     f"{len(r['gaps'])} ({length(r['gaps_seconds'])})" if r["gaps"] else "0",
                     ", ".join(f"{k}: {v}" for k, v in r["gap_causes"].items()) or NONE,
                     f"{off['min_s']:+.1f} … {off['max_s']:+.1f} s".replace(".", ",")
                     if off else NONE])
    kinds = [[source_kind(k), str(v["sources"]), str(v["items"]), entries(k, v["entries"]),
              hours(v["hours"]), length(v["gaps_seconds"])]
             for k, v in report["recorded"]["by_kind"].items()]
    lines = ["Pliki to zapisane pliki nagrań i dzienników; przy poczcie i zdarzeniach IT obok "
             "podano, ile wiadomości lub zdarzeń zawierały."]
    return {"heading": "Nagrywanie", "lines": lines, "tables": [
        table("Według rodzaju monitoringu", ["Rodzaj", "Źródeł", "Plików",
                                             "Wiadomości / zdarzenia", "Godzin",
                                             "Przerwy łącznie"], [3.4, 1, 1, 2, 1, 1.8], kinds),
        table("Według źródła", ["Źródło", "Rodzaj", "Plików", "Wiadomości / zdarzenia",
                                "Godzin", "Przerwy", "Przyczyny przerw", "Przesunięcie zegara"],
              [1.8, 1.8, 0.8, 1.6, 0.9, 1.4, 1.8, 1.6], rows)]}


def kept(report: dict[str, Any], tz: ZoneInfo) -> Section:
    rows, past = [], []
    why = {"hold": "zabezpieczenie", "clock_correction": "korekta zegara czeka na dwie osoby",
           "none": "BEZ PODSTAWY"}
    for s in report["kept"]:
        rows.append([s["source"], str(s["items"]), when(s["oldest"], tz),
                     when(s["oldest_expires"], tz), str(len(s["past_period"]))])
        past += [[s["source"], str(p["recording"]), when(p["start"], tz),
                  when(p["expired"], tz), why.get(p["why"], p["why"])]
                 for p in s["past_period"]]
    draft = report.get("draft")  # a draft's "end" is the moment it was made
    at = f"stan na {when(draft['as_of'], tz)}" if draft else "stan na koniec okresu"
    return {"heading": f"Przechowywanie ({at})", "lines": [], "tables": [
        table(None, ["Źródło", "Pozycji", "Najstarsza pozycja", "Jej okres upływa",
                     "Po terminie"], [2, 1, 2, 2, 1], rows),
        table("Przechowywane po upływie okresu", ["Źródło", "Nagranie nr", "Początek",
                                                   "Okres upłynął", "Dlaczego"],
              [2, 1, 2, 2, 3], past, empty="Brak: nic nie jest przechowywane po terminie.")]}


def deleted(report: dict[str, Any], tz: ZoneInfo) -> Section:
    d = report["deleted"]
    lines = [f"Usunięto {count_pl(d['count'], 'nagranie', 'nagrania', 'nagrań')}; za "
             f"spóźnione uznaje się usunięcie późniejsze niż {length(d['late_allowance_seconds'])}"
             " po upływie okresu (dwa cykle czyszczenia)."]
    late = [[str(x["deletion"]), x["source"], when(x["expired"], tz), when(x["deleted"], tz),
             length(x["late_seconds"])] for x in d["late"]]
    early = [[str(x["deletion"]), x["source"], when(x["expired"], tz), when(x["deleted"], tz),
              length(x["early_seconds"]), rule(x["rule"])] for x in d["early"]]
    return {"heading": "Usuwanie", "lines": lines, "tables": [
        counts("Według reguły", "Reguła", d["by_rule"], rule),
        counts("Według źródła", "Źródło", d["by_source"]),
        table("Usunięte po terminie", ["Usunięcie nr", "Źródło", "Okres upłynął", "Usunięto",
                                       "Spóźnienie"], [1.2, 2, 2, 2, 1.5], late),
        table("Usunięte przed terminem (brak miejsca na dysku)",
              ["Usunięcie nr", "Źródło", "Okres upływał", "Usunięto", "Przed terminem o",
               "Reguła"], [1.2, 1.6, 1.8, 1.8, 1.4, 2.2], early)]}


def holds(report: dict[str, Any], tz: ZoneInfo) -> Section:
    h = report["holds"]
    lines = [f"Założono: {len(h['opened'])}; zakończono: {len(h['ended'])}; "
             f"otwarte na koniec okresu: {len(h['open_at_end'])}."]
    rows = [[str(x["hold"]), x["basis"] or "BRAK PODSTAWY", x["case_ref"] or NONE,
             when(x["placed"], tz), count_pl(x["age_days"], "dzień", "dni", "dni")]
            for x in h["open_at_end"]]
    return {"heading": "Zabezpieczenia nagrań", "lines": lines, "tables": [table(
        "Otwarte na koniec okresu", ["Nr", "Podstawa", "Sygnatura", "Założone", "Wiek"],
        [0.7, 4, 2, 2, 1.2], rows)]}


def requests(report: dict[str, Any]) -> Section:
    r = report["requests"]
    lines = [f"Wpłynęło: {r['received']}; rozpatrzono w terminie: {r['decided_in_time']}; "
             f"po terminie: {r['decided_late']}; odmowy: {len(r['refused'])}.",
             f"Żądania osób, których dane dotyczą: {r['data_subjects']}, z czego w terminie "
             f"z art. 12 ust. 3 RODO odpowiedziano na {r['data_subjects_answered_in_time']}."]
    rows = []
    for x in [*r["requests"], *r["open_from_before"]]:
        dec, subj = x["decision"], x["subject_deadline"]
        result = NONE if dec["agree"] is None else "zgoda" if dec["agree"] else "odmowa"
        rows.append([str(x["request"]), request_kind(x["kind"]), day(x["received_on"]),
                     day(dec["due"]), day(dec["decided_on"]), result,
                     ("PO TERMINIE" if dec["late"] else "w terminie") +
                     (f"; odpowiedź do {day(subj['due'])}: " +
                      ("PO TERMINIE" if subj["late"] else "w terminie") if subj else "")])
    return {"heading": "Wnioski i żądania", "lines": lines, "tables": [
        counts("Według rodzaju", "Rodzaj", r["by_kind"], request_kind),
        table("Wnioski (także wcześniejsze, zaległe na koniec okresu)",
              ["Nr", "Rodzaj", "Wpłynął", "Termin", "Decyzja", "Wynik", "Ocena"],
              [0.6, 2.2, 1.3, 1.3, 1.3, 1, 2.4], rows),
        table("Odmowy", ["Wniosek nr", "Uzasadnienie"], [1, 6],
              [[str(x["request"]), x["reason"] or NONE] for x in r["refused"]])]}


def copies(report: dict[str, Any], tz: ZoneInfo) -> Section:
    c = report["copies"]
    lines = [f"Sporządzono: {len(c['made'])}; przekazano: {len(c['handed_over'])}; "
             f"zwrócono do poprawy: {len(c['returned_at_review'])}; zniszczono: "
             f"{len(c['destroyed'])}; po terminie, niezniszczone: {len(c['due_not_destroyed'])}."]
    # in the order they happened (an event of the same moment: made, handed over, returned,
    # destroyed)
    moves = sorted(((x["at"] or "", i, word, x["copy"])
                    for i, (word, key) in enumerate((
                        ("sporządzona", "made"), ("przekazana", "handed_over"),
                        ("zwrócona do poprawy", "returned_at_review"),
                        ("zniszczona", "destroyed")))
                    for x in c[key]), key=lambda m: (m[0], m[1]))
    due = [[x["copy"], when(x["expired"], tz), count_pl(x["days_past"], "dzień", "dni", "dni")]
           for x in c["due_not_destroyed"]]
    return {"heading": "Kopie nagrań", "lines": lines, "tables": [
        table(None, ["Zdarzenie", "Kopia nr", "Kiedy"], [3, 2, 2],
              [[word, copy, when(at, tz)] for at, _i, word, copy in moves]),
        table("Po terminie, niezniszczone", ["Kopia nr", "Okres upłynął", "Od"], [2, 2, 2],
              due)]}


def access(report: dict[str, Any], tz: ZoneInfo) -> Section:
    a = report["access"]
    lines = [f"Sesji dostępu: {a['sessions']}, w tym w obecności świadka: {a['with_witness']}; "
             f"odmów dostępu: {a['refused']}.",
             f"Upoważnienia — wydane: {len(a['authorisations']['issued'])}, wygasłe: "
             f"{len(a['authorisations']['expired'])}, cofnięte: "
             f"{len(a['authorisations']['revoked'])}. Konta — utworzone: "
             f"{len(a['accounts']['created'])}, wyłączone: {len(a['accounts']['disabled'])}."]
    rows = [[str(v["viewing"]), when(v["at"], tz), v["user"], action(v["action"]),
             v["purpose"] or "BRAK CELU", v["witness"] or NONE] for v in a["viewings"]]
    return {"heading": "Dostęp do nagrań", "lines": lines, "tables": [
        counts("Według czynności", "Czynność", a["by_action"], action),
        counts("Według celu", "Cel", a["by_purpose"]),
        counts("Według osoby", "Osoba", a["by_person"]),
        table("Sesje dostępu", ["Nr", "Kiedy", "Kto", "Czynność", "Cel", "Świadek"],
              [0.6, 1.6, 1.6, 2.2, 2.2, 1.6], rows),
        counts("Odmowy według przyczyny", "Przyczyna", a["refusals_by_reason"], refusal)]}


def people(report: dict[str, Any], tz: ZoneInfo) -> Section:
    ack = report["acknowledgments"]
    lines = [f"Zatrudnionych na koniec okresu: {ack['employees']}; złożyło oświadczenie o "
             f"zapoznaniu się z informacją o monitoringu: {ack['acknowledged']}."]
    return {"heading": "Oświadczenia pracowników i nowe kamery", "lines": lines, "tables": [
        table("Bez oświadczenia", ["Pracownik", "Zatrudniony od"], [4, 2],
              [[m["name"], day(m["since"])] for m in ack["missing"]]),
        table("Kamery dodane w okresie", ["Kamera", "Dodana", "Informacja (data)",
                                          "Oznakowanie (data)"], [2, 2, 2, 2],
              [[c["source"], when(c["added"], tz), day(c["notice_date"]),
                day(c["signage_date"])] for c in report["cameras_added"]])]}


def alerts(report: dict[str, Any], tz: ZoneInfo) -> Section:
    a = report["alerts"]
    rows = [[str(x["alert"]), alert(x["kind"]), when(x["raised"], tz),
             when(x["cleared"], tz) if x["cleared"] else "otwarty",
             length(x["open_seconds"]), yes_no(x["too_long"]), told(x["told"], tz)]
            for x in a["alerts"]]
    return {"heading": "Alerty", "lines": [
        f"Zgłoszono: {a['raised']}. Alerty okresu, o których powiadomiono: {a['told']}; "
        f"o których nie powiadomiono nikogo: {a['not_told']}.",
        "Alert, który ustał przed upływem czasu oczekiwania ustawionego dla jego rodzaju, "
        "nie jest nikomu wysyłany (to nie jest odstępstwo). Kolumna „Kogo powiadomiono” "
        "podaje kanał, adresatów i czas pierwszej wiadomości."], "tables": [
        counts("Według rodzaju", "Rodzaj", a["by_kind"], alert),
        table("Alerty okresu", ["Nr", "Rodzaj", "Zgłoszony", "Zamknięty", "Jak długo otwarty",
                                "Ponad tydzień", "Kogo powiadomiono"],
              [0.5, 2.4, 1.4, 1.4, 1.1, 0.9, 3.1], rows)]}


def all_sections(report: dict[str, Any], tz: ZoneInfo) -> list[Section]:
    """Findings first (issue 53: what the reader must act on), then each section."""
    return [findings(report), integrity(report, tz), recorded(report), kept(report, tz),
            deleted(report, tz), holds(report, tz), requests(report), copies(report, tz),
            access(report, tz), people(report, tz), alerts(report, tz)]
