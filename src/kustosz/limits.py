"""How long free text may be — one table for the CLI, the web forms and the JSON API alike.

Purposes, bases, reasons and descriptions go into the records and into the hash-chained audit
log, which is kept for ever: a 20 MB "purpose" would be stored for ever too. The domain
functions check every free-text field here before they write anything; too long is refused
with the field named (never cut short, which would change what the person wrote). The limits
are generous for what people really write, and no larger than the database columns
(`String(200)` etc. in kustosz.db), which PostgreSQL enforces and SQLite does not.
"""

from __future__ import annotations

from kustosz.errors import FieldError

# field → (the longest text allowed, in characters; its name as a form shows it, in Polish)
TEXT_LIMITS: dict[str, tuple[int, str]] = {
    "purpose": (1000, "cel"),
    # a request's automatic hold quotes its requester in the basis: room for both
    "basis": (2000, "podstawa prawna"),
    "description": (4000, "opis"),
    "reason": (2000, "uzasadnienie"),
    "case_ref": (200, "sprawa (sygnatura)"),
    "witness": (200, "osoba upoważniona obecna przy przeglądzie"),
    "requester": (1000, "dane wnioskodawcy"),
    "contact": (400, "dane kontaktowe"),
    "place": (400, "miejsce"),
    "who": (400, "osoba, adres lub stanowisko"),
    "receiver": (1000, "osoba i organ przyjmujący"),
    "medium": (400, "nośnik"),
    "approx_time": (20, "przybliżona godzina"),
    "paper_ref": (200, "znak dokumentu z decyzją"),
    # employees imported from HR (the R6.1 acknowledgments)
    "full_name": (200, "imię i nazwisko"),
    "position": (200, "stanowisko"),
    "unit": (200, "komórka organizacyjna"),
    "external_id": (100, "identyfikator"),
}
# Names of things (sources, cameras, sites, copies, people) typed into lookups.
NAME_LIMIT = 200


def check_text(field: str, value: str | None) -> None:
    """FieldError naming the field and the limit when ``value`` is longer than allowed."""
    limit, label = TEXT_LIMITS[field]
    if value is not None and len(value) > limit:
        raise FieldError(field, f"Pole „{label}” może mieć najwyżej {limit} znaków "
                                f"(podano {len(value)}).")


def check_texts(**values: str | None) -> None:
    """`check_text` for each keyword (the keyword is the field)."""
    for field, value in values.items():
        check_text(field, value)
