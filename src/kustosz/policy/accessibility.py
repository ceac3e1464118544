"""The policy's [accessibility] table: what the accessibility statement (web/accessibility.py)
says of the office itself.

Ustawa z dnia 4 kwietnia 2019 r. o dostępności cyfrowej stron internetowych i aplikacji
mobilnych podmiotów publicznych (art. 10) makes the statement the public body's own: its
contact, the dates of its application and of the statement, how the statement was prepared
(the body's self-assessment or a named external examiner) and its building's accessibility.
The product cannot know any of these, so each is the office's setting, each optional: the
statement shows a missing one as not given, never a value of the product's (issue 49 item 9).

What a complete statement states (`gaps`): the Minister's "Warunki techniczne publikacji oraz
struktura dokumentu elektronicznego deklaracji dostępności" (version 2.0 of 31 July 2024) and
gov.pl's guide "Jak przygotować deklarację dostępności?" lay the statement out with the
application's publication date and the date of its last significant update, the date the
statement was prepared and on what (self-assessment or an external study), and the contact of
the person designated for digital accessibility (name, e-mail, telephone). A statement short of
one of them is still served (the law's reader must find what there is), but the first-day
checklist and `kustosz doctor` name what is missing (issue 65 item 6).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from kustosz.addresses import mail_address
from kustosz.errors import ConfigError

# The keys and their TOML types (policy.model's schema checks them).
SCHEMA: dict[str, type] = {
    "contact": str,  # the person or unit who answers for the app's accessibility
    "email": str, "phone": str,
    "published": str,  # the day the office put the app into service
    "updated": str,  # the day of the app's last significant update
    "prepared": str,  # the day the statement was prepared …
    "reviewed": str,  # … and last reviewed and updated (the law asks for it each year)
    "self_assessment": bool,  # prepared on the office's own self-assessment …
    "examiner": str,  # … or on a study by this external body
    "architecture": str,  # the building's accessibility, paragraphs parted by a blank line
    "address": str,  # the app's address as staff reach it (behind a proxy)
}
DATES = ("published", "updated", "prepared", "reviewed")
# A number a caller from outside can dial: nine digits with the area code, or more (+48 …).
PHONE_DIGITS = 9


@dataclass(frozen=True)
class Gap:
    """One thing a complete statement states and this office's settings do not."""

    key: str  # the [policy.accessibility] line that fills it
    pl: str
    en: str


# key -> what the statement then lacks, in the words of the Minister's template
_REQUIRED = (
    ("published", "data publikacji aplikacji", "the application's publication date"),
    ("updated", "data ostatniej istotnej aktualizacji",
     "the date of the last significant update"),
    ("prepared", "data sporządzenia deklaracji", "the date the statement was prepared"),
    ("self_assessment", "podstawa sporządzenia deklaracji (samoocena albo badanie podmiotu "
     "zewnętrznego: examiner)", "what the statement was prepared on (self-assessment, or "
     "an external study: examiner)"),
    ("contact", "imię i nazwisko osoby odpowiedzialnej za dostępność",
     "the name of the person responsible for accessibility"),
    ("email", "adres e-mail do spraw dostępności", "an e-mail address for accessibility"),
    ("phone", "numer telefonu do spraw dostępności", "a telephone number for accessibility"),
)


def gaps(section: dict[str, Any], documents: dict[str, Any]) -> list[Gap]:
    """What the statement lacks: each required fact the office has not set. The e-mail and
    the telephone may be the office's own ([documents] email, phone), as the statement
    prints them then; the person's name has no stand-in."""
    have = {k for k, v in section.items() if v not in (None, "", False)}
    if section.get("examiner"):
        have.add("self_assessment")
    have |= {k for k in ("email", "phone") if documents.get(k)}
    return [Gap(key, pl, en) for key, pl, en in _REQUIRED if key not in have]


def day(section: dict[str, Any], key: str) -> date | None:
    """A date of the table (checked on load), or None when the office has not given it."""
    text = section.get(key)
    return date.fromisoformat(text.strip()) if isinstance(text, str) else None


def check(section: dict[str, Any]) -> None:
    """No empty text (leave a key out instead: the statement then says it was not given), the
    dates as the statement prints them (YYYY-MM-DD), one way of preparation."""
    for key, value in section.items():
        if isinstance(value, str) and not value.strip():
            raise ConfigError(f"policy accessibility.{key} is empty; leave it out instead",
                              pl=f"Zasada accessibility.{key} jest pusta; pomiń ją zamiast "
                                 "tego.")
    address = section.get("address")
    if address is not None and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", address.strip()):
        raise ConfigError(f"policy accessibility.address must be the app's address, "
                          f"http(s)://host/…, got {address!r}",
                          pl="Zasada accessibility.address musi być adresem aplikacji w "
                             f"postaci http(s)://serwer/…; podano „{address}”.")
    for key in DATES:
        try:
            day(section, key)
        except ValueError:
            raise ConfigError(f"policy accessibility.{key} must be a date YYYY-MM-DD, "
                              f"got {section[key]!r}",
                              pl=f"Zasada accessibility.{key} musi być datą w postaci "
                                 f"RRRR-MM-DD; podano „{section[key]}”.") from None
    if section.get("self_assessment") and section.get("examiner"):
        raise ConfigError("policy accessibility: the statement was prepared on either a "
                          "self-assessment or a study by an external body; set "
                          "self_assessment or examiner, not both",
                          pl="Zasady accessibility: deklarację sporządza się na podstawie "
                             "samooceny albo badania podmiotu zewnętrznego; podaj "
                             "self_assessment albo examiner, nie oba.")
    _contact_lines(section)
    _order(section, "published", "updated", "aktualizacja aplikacji nie może poprzedzać jej "
           "publikacji")
    _order(section, "prepared", "reviewed", "przegląd deklaracji nie może poprzedzać jej "
           "sporządzenia")


def _contact_lines(section: dict[str, Any]) -> None:
    """The e-mail is one mailbox and the telephone a number one can dial from outside: the
    statement prints them as the way to ask for accessibility."""
    email = section.get("email")
    if email is not None and not mail_address(email.strip()):
        raise ConfigError(f"policy accessibility.email must be one e-mail address, "
                          f"got {email!r}",
                          pl=f"Zasada accessibility.email musi być jednym adresem e-mail "
                             f"(nazwa@domena); podano „{email}”.")
    phone = section.get("phone")
    if phone is not None and sum(c.isdigit() for c in phone) < PHONE_DIGITS:
        raise ConfigError(f"policy accessibility.phone must be a number with its area code "
                          f"(at least {PHONE_DIGITS} digits), got {phone!r}",
                          pl=f"Zasada accessibility.phone musi być numerem z numerem "
                             f"kierunkowym (co najmniej {PHONE_DIGITS} cyfr); podano "
                             f"„{phone}”.")


def _order(section: dict[str, Any], first: str, then: str, why_pl: str) -> None:
    earlier, later = day(section, first), day(section, then)
    if earlier and later and later < earlier:
        raise ConfigError(f"policy accessibility.{then} {later} is before accessibility."
                          f"{first} {earlier}",
                          pl=f"Zasada accessibility.{then} ({later}) jest wcześniejsza niż "
                             f"accessibility.{first} ({earlier}): {why_pl}.")
