"""Information clauses (RODO art. 13) per source kind: the office's own points where its
policy words them ([documents.clause], as the presets word their seeds' clauses: 001 zał. 1;
002 zał. 2; 003 zał. 1; 004 klauzula with §2 and §8; 000 §1, which has no clause of its own),
else the general points below; either with the office's facts (controller, addresses, phones,
the DPO, purposes, legal basis) from the policy's [documents] table. An office edits a clause
by overriding [documents.clause] or the template (templates/clause.typ); a value it has not
set prints as a dotted line to fill in."""

from __future__ import annotations

from typing import Any

from kustosz.documents.office import (
    AIMS_GAP,
    BLANK,
    Gap,
    aims,
    annex,
    controller_named,
    exclusions,
    fact,
    fill,
    refuse_unless,
    text,
)
from kustosz.errors import InputError
from kustosz.kinds import CLAUSED, SourceKind
from kustosz.policy import Policy
from kustosz.policy.texts import placeholder_names
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
        f"Administratorem Pani/Pana danych osobowych jest {controller_named(p)} "
        f"(adres: {fact(p, 'address')}, "
        f"e-mail: {fact(p, 'email')}, telefon: {fact(p, 'phone')}{_ids(p)}).",
        f"Kontakt z Inspektorem Ochrony Danych{_dpo(p)}.",
        # the comma closes a purpose that ends in a clause of its own ("…, których
        # ujawnienie mogłoby narazić Administratora na szkodę") before the basis
        f"Dane z {KIND_PL[kind]} przetwarzane są w celu {aims(p, kind)}, na podstawie "
        f"{fact(p, 'basis')}.",
        *([exclusions(p)] if kind == SourceKind.CAMERA and exclusions(p) else []),
        f"Nagrania przechowywane są nie dłużej niż {period_pl(period)} od dnia nagrania; gdy "
        "stanowią dowód w postępowaniu — do czasu jego prawomocnego zakończenia.",
        f"Odbiorcami danych mogą być {recipients(p)}.",
        "Przysługuje Pani/Panu prawo dostępu do danych, ich sprostowania, usunięcia lub "
        "ograniczenia przetwarzania, prawo sprzeciwu oraz prawo wniesienia skargi do Prezesa "
        "Urzędu Ochrony Danych Osobowych.",
        *([f"Regulamin {PUBLISHED_PL[kind]} dostępny jest {fact(p, 'published')}."]
          if kind in PUBLISHED_PL else []),
    ]


# The clause says where the regulation it rests on is published (issue 66 item 5: seed 004
# §8 ust. 2 and its clause's last point); the camera sign says it for cameras (documents.sign).
PUBLISHED_PL = {SourceKind.PHONE.value: "rejestrowania rozmów telefonicznych"}


def _ids(p: Policy) -> str:
    """The controller's NIP and REGON where the office's file gives them ([documents] nip,
    regon; policy.office_ids checked them), as the regulation's controller block lists them."""
    return "".join(f", {label}: {fact(p, key)}" for key, label in (("nip", "NIP"),
                                                                     ("regon", "REGON"))
                   if p.documents.get(key))


def _dpo(p: Policy) -> str:
    """The DPO as the office names it: the e-mail (dotted until set), and the name, address
    and telephone where the file gives them."""
    d = p.documents
    name = f" ({d['dpo']})" if d.get("dpo") else ""
    where = [fact(p, "dpo_address")] if d.get("dpo_address") else []
    phone = [f"tel. {fact(p, 'dpo_phone')}"] if d.get("dpo_phone") else []
    return f"{name}: " + ", ".join([*where, fact(p, "dpo_email"), *phone])


def recipients(policy: Policy) -> str:
    """The recipients the office's clause names ([documents.clause] recipients), else the
    law's general words; a sentence's end after "mogą być" or "Odbiorcy danych:"."""
    own = text(policy, "clause", "recipients")
    return fill(policy, own) if own else GENERAL_RECIPIENTS


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
    # `{exclusions}` is a whole sentence or nothing: a point that held only it is dropped
    points = [fill(policy, point, period=period_pl(period), period_gen=period_gen(period),
                   aims=aims(policy, kind),
                   exclusions=exclusions(policy) if kind == SourceKind.CAMERA else "")
              for point in own]
    return [p for p in points if p.strip()]


def clause_gaps(policy: Policy, kind: str) -> list[Gap]:
    """What the clause prints dotted for want of the office's text: the purposes, where its
    points name them (the general clause always does)."""
    own = text(policy, "clause", kind)
    named = not own or any("aims" in placeholder_names(p) for p in own)
    return [AIMS_GAP] if named and aims(policy, kind) == BLANK else []


def clause_data(policy: Policy, kind: str) -> dict[str, Any]:
    """Data for clause.typ."""
    points = clause_points(policy, kind)
    return {**policy.doc_names(), "title": f"Klauzula informacyjna — {KIND_PL[kind]}",
            "heading": f"Klauzula informacyjna dotycząca {KIND_PL[kind]}", "intro": INTRO,
            "points": points, "kind": kind, "annex": annex(policy, "clause"),
            "notes": [g.note for g in clause_gaps(policy, kind)]}


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
    return {
        "purposes": f"w celu {aims(policy, kind)}, na podstawie {fact(policy, 'basis')}",
        "categories": CATEGORIES.get(kind, "dane zapisane w systemie monitoringu"),
        "recipients": recipients(policy),
        "period": (f"nie dłużej niż {period_pl(period)} od dnia nagrania, a gdy nagranie stanowi "
                   "dowód w postępowaniu prowadzonym na podstawie przepisów prawa — do czasu "
                   "prawomocnego zakończenia postępowania; następnie dane są trwale usuwane"),
        "transfer": "dane nie są przekazywane do państwa trzeciego ani organizacji "
                    "międzynarodowej",
        "automated": "dane nie służą do zautomatyzowanego podejmowania decyzji, w tym "
                     "profilowania (art. 22 RODO)",
    }
