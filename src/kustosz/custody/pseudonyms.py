"""A data subject's rows of mail and IT-event monitoring with everyone else pseudonymised
(R6.2; issue 17 item 3): the person receives the rows that concern them, and every other
person's address, name, host or user name in them is replaced by a stable pseudonym — the same
person is the same pseudonym throughout one copy ("osoba-3", "osoba-3@pseudonim.invalid"),
so the person can follow a conversation without learning who the others are. The pseudonyms
are made anew for each copy: two copies cannot be joined through them.

Free text (a message's subject, an event's message) keeps its words, except that any address,
name, host or user name replaced elsewhere in the copy is replaced in it too; what the person
wrote or received in a subject line is their data, and the manifest says the text was kept.
"""

from __future__ import annotations

import re
from typing import Any

from kustosz.kinds import SourceKind

# RFC 2606: .invalid never resolves, so a pseudonymous address can never reach anyone.
DOMAIN = "pseudonim.invalid"
_ROLES = ("from", "sender", "to", "cc", "bcc")
_ADDRESS_LISTS = ("env_rcpt", "journal_rcpt")
_MAIL_TEXT = ("subject",)
_EVENT_TEXT = ("message", "raw")


class Pseudonyms:
    """One copy's table: an identifier (lower case) -> its pseudonym number."""

    def __init__(self, who: str) -> None:
        self.who = who.strip().lower()
        self._numbers: dict[str, int] = {}
        self._hosts: dict[str, int] = {}

    def is_subject(self, text: str) -> bool:
        # The same rule that picked the rows (chunk_copies._concerns): part of a name or an
        # address, case-insensitive.
        return bool(self.who) and self.who in text.lower()

    def _person(self, *keys: str) -> int:
        known = [self._numbers[k] for k in keys if k and k in self._numbers]
        number = known[0] if known else len(set(self._numbers.values())) + 1
        for k in keys:
            if k:
                self._numbers.setdefault(k, number)
        return number

    def address(self, address: str, name: str = "") -> str:
        if not address or self.is_subject(address) or self.is_subject(name):
            return address
        n = self._person(address.lower(), name.strip().lower())
        return f"osoba-{n}@{DOMAIN}"

    def name(self, name: str, address: str = "") -> str:
        if not name or self.is_subject(name) or self.is_subject(address):
            return name
        return f"Osoba {self._person(address.lower(), name.strip().lower())}"

    def host(self, host: str) -> str:
        if not host or self.is_subject(host):
            return host
        n = self._hosts.setdefault(host.lower(), len(self._hosts) + 1)
        return f"komputer-{n}"

    def user(self, user: str) -> str:
        if not user or self.is_subject(user):
            return user
        return f"osoba-{self._person(user.lower())}"

    def text(self, text: str) -> str:
        """Every identifier this copy replaced, replaced in free text too (longest first, so
        an address is replaced before the name inside it)."""
        if not text:
            return text
        table = [(k, f"osoba-{n}") for k, n in self._numbers.items()]
        table += [(k, f"komputer-{n}") for k, n in self._hosts.items()]
        for key, pseudonym in sorted(table, key=lambda kv: -len(kv[0])):
            if len(key) >= 3:  # a two-letter name would eat ordinary words
                text = re.sub(re.escape(key), pseudonym, text, flags=re.IGNORECASE)
        return text

    @property
    def count(self) -> int:
        return len(set(self._numbers.values())) + len(self._hosts)


def subject_row(record: dict[str, Any], kind: str, table: Pseudonyms) -> dict[str, Any]:
    """The row as the data subject receives it: their own identifiers kept, everyone else's
    pseudonymised. Two passes: identifiers first (so that the free text knows them all)."""
    out = dict(record)
    if kind == SourceKind.ENDPOINT:
        out["host"] = table.host(str(record.get("host") or ""))
        out["user"] = table.user(str(record.get("user") or ""))
        for key in _EVENT_TEXT:
            if isinstance(record.get(key), str):
                out[key] = table.text(record[key])
        return out
    for role in _ROLES:
        people = []
        for p in record.get(role) or []:
            if not isinstance(p, dict):
                continue
            address, name = str(p.get("address") or ""), str(p.get("name") or "")
            people.append({**p, "address": table.address(address, name),
                           "name": table.name(name, address)})
        out[role] = people
    out["env_from"] = table.address(str(record.get("env_from") or ""))
    for key in _ADDRESS_LISTS:
        out[key] = [table.address(str(a)) for a in record.get(key) or []]
    for key in _MAIL_TEXT:
        if isinstance(record.get(key), str):
            out[key] = table.text(record[key])
    return out
