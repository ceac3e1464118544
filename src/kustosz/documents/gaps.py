"""Which of an office's documents will print a dotted line where its own text belongs, and the
key to fill in (issue 66 item 3): what `kustosz policy check` warns of, from the same
definitions the documents print by (documents.announcements.parts, documents.sign.sign_gaps,
documents.clauses.clause_gaps), so a warning and a document never disagree. Facts of the
office (an address, a telephone) print dotted too, as the regulations' own models leave them
to fill in by hand; these are the texts only the regulation can word."""

from __future__ import annotations

from dataclasses import dataclass

from kustosz.documents.announcements import basis_gaps, parts
from kustosz.documents.clauses import KIND_PL, clause_gaps
from kustosz.documents.office import Gap, purposes, records
from kustosz.documents.sign import sign_gaps
from kustosz.kinds import CLAUSED, SourceKind
from kustosz.policy import Policy


@dataclass(frozen=True)
class Blank:
    """One document's dotted text: the document (`kustosz documents render NAME`), its
    Polish name and the gap."""

    document: str
    document_pl: str
    gap: Gap

    @property
    def en(self) -> str:
        return (f"the document {self.document!r} will print a dotted line or a note where the "
                f"office's text belongs — the file lacks {self.gap.what_en}; fill in "
                f"[{self.gap.table}] {self.gap.key}")

    @property
    def pl(self) -> str:
        return (f"Dokument „{self.document_pl}” wydrukuje w miejscu tekstu urzędu wykropkowaną "
                f"linię lub notę do uzupełnienia — brak w pliku: {self.gap.what_pl}; "
                f"{self.gap.note}.")


def blanks(policy: Policy) -> list[Blank]:
    """Each document of the office that will print a dotted text, with its key."""
    out: list[Blank] = []
    if records(policy, SourceKind.PHONE):
        out += [Blank("announcement", "Komunikaty o nagrywaniu rozmów", g)
                for g in [*basis_gaps(policy), *(g for p in parts(policy) for g in p.gaps)]]
    if records(policy, SourceKind.CAMERA):
        out += [Blank("sign", "Obiekt monitorowany (tabliczka)", g) for g in sign_gaps(policy)]
    for kind in CLAUSED:
        if records(policy, kind.name):
            out += [Blank(f"clause --source-kind {kind.name}",
                          f"Klauzula informacyjna dotycząca {KIND_PL[kind.name]}", g)
                    for g in clause_gaps(policy, kind.name)]
    return out


def unused(policy: Policy) -> list[tuple[str, str, str]]:
    """Keys the file gives that no document prints, as (key, English, Polish): the [documents]
    purposes of an office that keeps only cameras whose [video] purposes are stated, since the
    camera documents print the cameras' own (office.camera_purposes)."""
    kept = [k for k, v in policy.retention.items() if v]
    if (kept != [SourceKind.CAMERA] or not policy.video.stated or not policy.video.purposes
            or not purposes(policy)):
        return []
    return [("documents.purposes",
             "[documents] purposes is printed by no document: the office keeps only camera "
             "material, whose sign, clause and register print the [video] purposes; move "
             "the words into [video.own_purposes] or leave the key out",
             "Zasada [documents] purposes nie trafi do żadnego dokumentu: urząd przechowuje "
             "tylko nagrania z kamer, a tabliczka, klauzula i rejestr podają cele z [video] "
             "purposes; przenieś te słowa do [video.own_purposes] albo usuń klucz.")]
