"""Information clauses (RODO art. 13) per source kind: the office's own points where its
policy words them ([documents.clause], as the presets word their seeds' clauses: 001 zał. 1;
002 zał. 2; 003 zał. 1; 004 klauzula with §2 and §8; 000 §1, which has no clause of its own),
else the general points below; either with the office's facts (controller, addresses, phones,
the DPO, purposes, legal basis) from the policy's [documents] table. An office edits a clause
by overriding [documents.clause] or the template (templates/clause.typ); a value it has not
set prints as a dotted line to fill in."""

from __future__ import annotations

from typing import Any

from kustosz.documents.office import aims, controller, fact, fill, refuse_unless, text
from kustosz.errors import InputError
from kustosz.kinds import CLAUSED, SourceKind
from kustosz.policy import Policy
from kustosz.words import period_gen, period_pl

INTRO = ("Zgodnie z art. 13 Rozporządzenia Parlamentu Europejskiego i Rady (UE) 2016/679 z dnia "
          "27 kwietnia 2016 r. w sprawie ochrony osób fizycznych w związku z przetwarzaniem "
          "danych osobowych i w sprawie swobodnego przepływu takich danych oraz uchylenia "
          "dyrektywy 95/46/WE (ogólne rozporządzenie o ochronie danych, dalej: RODO) "
          "informujemy, że:")

# The kinds a clause is printed for, and their names in the genitive ("Dane z …").
KIND_PL = {k.name.value: k.clause_pl for k in CLAUSED if k.clause_pl}


def _general(p: Policy, kind: str) -> list[str]:
    """An office whose regulation has no clause of its own: the points art. 13 RODO asks
    for, its facts from [documents], the rest dotted to fill in."""
    period = p.retention_for(kind)
    return [
        f"Administratorem Pani/Pana danych osobowych jest {controller(p)} "
        f"(adres: {fact(p, 'address')}, "
        f"e-mail: {fact(p, 'email')}, telefon: {fact(p, 'phone')}).",
        f"Kontakt z Inspektorem Ochrony Danych: {fact(p, 'dpo_email')}.",
        # the comma closes a purpose that ends in a clause of its own ("…, których
        # ujawnienie mogłoby narazić Administratora na szkodę") before the basis
        f"Dane z {KIND_PL[kind]} przetwarzane są w celu {aims(p)}, na podstawie "
        f"{fact(p, 'basis')}.",
        f"Nagrania przechowywane są nie dłużej niż {period_pl(period)} od dnia nagrania; gdy "
        "stanowią dowód w postępowaniu — do czasu jego prawomocnego zakończenia.",
        "Odbiorcami danych mogą być wyłącznie podmioty uprawnione na podstawie przepisów "
        "prawa.",
        "Przysługuje Pani/Panu prawo dostępu do danych, ich sprostowania, usunięcia lub "
        "ograniczenia przetwarzania, prawo sprzeciwu oraz prawo wniesienia skargi do Prezesa "
        "Urzędu Ochrony Danych Osobowych.",
    ]


def clause_points(policy: Policy, kind: str) -> list[str]:
    """The clause's points for one source kind; refused for a kind the office does not keep."""
    if kind not in KIND_PL:
        raise InputError(f"no clause for source kind {kind!r}; use "
                         + " or ".join(k.name for k in CLAUSED),
                         pl=f"Nie ma klauzuli dla rodzaju źródła „{kind}”; dostępne: "
                            + ", ".join(f"{k.name} ({k.label_pl})" for k in CLAUSED) + ".")
    refuse_unless(policy, kind, f"information clause for {kind} material",
                  f"klauzuli informacyjnej dotyczącej {KIND_PL[kind]} się nie drukuje")
    own = text(policy, "clause", kind)
    if not own:
        return _general(policy, kind)
    period = policy.retention_for(kind)
    return [fill(policy, point, period=period_pl(period), period_gen=period_gen(period))
            for point in own]


def clause_data(policy: Policy, kind: str) -> dict[str, Any]:
    """Data for clause.typ."""
    points = clause_points(policy, kind)
    return {**policy.doc_names(), "title": f"Klauzula informacyjna — {KIND_PL[kind]}",
            "heading": f"Klauzula informacyjna dotycząca {KIND_PL[kind]}", "intro": INTRO,
            "points": points, "kind": kind}


# What a data subject is told under art. 15 ust. 1 RODO, from the same facts the office's clause
# prints: the purposes and basis (lit. a), the categories (b), the recipients (c), the period
# (d), the source (g, per source: papers.answer_letter_doc) and automated decisions (h).
CATEGORIES = {
    SourceKind.CAMERA.value: "wizerunek (obraz bez dźwięku) utrwalony przez kamerę monitoringu "
                             "wizyjnego, z datą, godziną i miejscem nagrania",
    SourceKind.PHONE.value: "głos i treść rozmowy telefonicznej, numer telefonu oraz data, "
                            "godzina i czas trwania połączenia",
    SourceKind.MAILBOX.value: "adres poczty elektronicznej oraz dane wiadomości zapisane w "
                              "monitoringu poczty (nadawca, odbiorcy, data i godzina)",
    SourceKind.ENDPOINT.value: "nazwa konta i komputera, adres sieciowy oraz data i godzina "
                               "zdarzeń zapisanych w monitoringu aktywności IT",
}
# The recipients where the office's clause names none of its own ([documents.clause]
# recipients).
GENERAL_RECIPIENTS = "wyłącznie podmioty uprawnione na podstawie przepisów prawa"


def access_facts(policy: Policy, kind: str) -> dict[str, str]:
    """The art. 15 ust. 1 RODO facts about material of ``kind``, each a sentence's end."""
    period = policy.retention_for(kind)
    recipients = text(policy, "clause", "recipients")
    return {
        "purposes": f"w celu {aims(policy)}, na podstawie {fact(policy, 'basis')}",
        "categories": CATEGORIES.get(kind, "dane zapisane w systemie monitoringu"),
        "recipients": fill(policy, recipients) if recipients else GENERAL_RECIPIENTS,
        "period": (f"nie dłużej niż {period_pl(period)} od dnia nagrania, a gdy nagranie stanowi "
                   "dowód w postępowaniu prowadzonym na podstawie przepisów prawa — do czasu "
                   "prawomocnego zakończenia postępowania; następnie dane są trwale usuwane"),
        "transfer": "dane nie są przekazywane do państwa trzeciego ani organizacji "
                    "międzynarodowej",
        "automated": "dane nie służą do zautomatyzowanego podejmowania decyzji, w tym "
                     "profilowania (art. 22 RODO)",
    }
