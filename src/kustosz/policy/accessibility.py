"""The policy's [accessibility] table: what the accessibility statement (web/accessibility.py)
says of the office itself.

Ustawa z dnia 4 kwietnia 2019 r. o dostępności cyfrowej stron internetowych i aplikacji
mobilnych podmiotów publicznych (art. 10) makes the statement the public body's own: its
contact, the dates of its application and of the statement, how the statement was prepared
(the body's self-assessment or a named external examiner) and its building's accessibility.
The product cannot know any of these, so each is the office's setting, each optional: the
statement shows a missing one as not given, never a value of the product's (issue 49 item 9).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

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
    prepared, reviewed = day(section, "prepared"), day(section, "reviewed")
    if prepared and reviewed and reviewed < prepared:
        raise ConfigError(f"policy accessibility.reviewed {reviewed} is before the statement "
                          f"was prepared (accessibility.prepared {prepared})",
                          pl=f"Zasada accessibility.reviewed ({reviewed}) jest wcześniejsza "
                             f"niż sporządzenie deklaracji (accessibility.prepared, "
                             f"{prepared}).")
