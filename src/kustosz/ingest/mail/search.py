"""The mail metadata index: rows written when a chunk closes, and searches by person,
address, subject and time — over the index and over the open chunks (`pending`), which hold
what was journalled since."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session

from kustosz.db.events import MailAddress, MailMessage
from kustosz.db.functions import contains_folded, fold, folded
from kustosz.db.models import Source
from kustosz.ingest.chunks.pending import OpenChunk, OpenQuery, Row, search_with_open
from kustosz.kinds import SourceKind

ROLES = ("from", "sender", "to", "cc", "bcc")


def _time(value: Any) -> datetime | None:
    try:
        at = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return at.astimezone(UTC) if at.tzinfo is not None else None


def mail_row(r: dict[str, Any]) -> dict[str, Any]:
    """The indexed form of one chunk line (without its ids); the search of open chunks uses
    it too, so that a message reads (and matches) the same before and after its chunk
    closes."""
    sender = (r.get("from") or r.get("sender") or [{}])[0]
    return {
        "received_at": datetime.fromisoformat(r["received"]).astimezone(UTC),
        "date_at": _time(r.get("date")),
        "message_id": str(r.get("message_id") or "")[:400],
        "env_from": str(r.get("env_from") or "")[:320],
        "header_from": str(sender.get("address") or "")[:320],
        "subject": str(r.get("subject") or ""), "size": int(r.get("size") or 0),
        "private": bool(r.get("private")), "journal": str(r.get("journal") or "bcc")[:20],
        "attachments": r.get("attachments") or [], "problems": r.get("problems") or []}


def mail_addresses(r: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(role, address) → display name, as the index keeps them."""
    found: dict[tuple[str, str], str] = {}
    for role in ROLES:
        for a in r.get(role) or []:
            found.setdefault((role, a["address"]), a.get("name", ""))
    if r.get("env_from"):
        found.setdefault(("env_from", r["env_from"]), "")
    for rcpt in r.get("journal_rcpt") or []:
        found.setdefault(("env_rcpt", rcpt), "")
    return {(role, addr[:320]): name[:200] for (role, addr), name in found.items()}


def index_mail(session: Session, source_id: int, recording_id: int,
               records: list[tuple[int, dict[str, Any]]], emls: dict[str, int]) -> None:
    rows = [{"recording_id": recording_id, "source_id": source_id, "line": line,
             "eml_recording_id": emls.get(r.get("eml") or ""), **mail_row(r)}
            for line, r in records]
    if not rows:
        return
    ids = list(session.execute(insert(MailMessage).returning(
        MailMessage.id, sort_by_parameter_order=True), rows).scalars())
    addresses = [{"mail_id": mail_id, "role": role, "address": addr, "name": name}
                 for mail_id, (_, r) in zip(ids, records, strict=True)
                 for (role, addr), name in mail_addresses(r).items()]
    if addresses:
        session.execute(insert(MailAddress), addresses)


def search_mail(session: Session, *, address: str | None = None, person: str | None = None,
                role: str | None = None, subject: str | None = None,
                source: str | None = None, start: datetime | None = None,
                end: datetime | None = None, limit: int = 200,
                include_open: bool = True) -> list[dict[str, Any]]:
    """Messages by received time; ``address`` is exact (any letter case), ``person`` matches
    part of a name or an address; ``role`` narrows either to from/to/cc/bcc/env_*. With
    ``include_open`` the open chunks are searched too: their rows carry ``pending: True`` and
    no ``id`` / ``recording_id`` yet."""
    exact = address.strip().lower() if address else None
    part = fold(person.strip()) if person and person.strip() else None

    def indexed(s: Session, recordings: Sequence[int] | None) -> list[Row]:
        query = (select(MailMessage, Source.name)
                 .join(Source, Source.id == MailMessage.source_id)
                 .order_by(MailMessage.received_at, MailMessage.id).limit(limit))
        if recordings is not None:
            query = query.where(MailMessage.recording_id.in_(recordings))
        if exact or part:
            who = select(MailAddress.mail_id)
            if exact:
                who = who.where(MailAddress.address == exact)
            if part:
                # Addresses are kept in lower case; display names as written.
                who = who.where(or_(MailAddress.address.contains(part, autoescape=True),
                                    folded(MailAddress.name).contains(part, autoescape=True)))
            if role:
                who = who.where(MailAddress.role == role)
            query = query.where(MailMessage.id.in_(who))
        if subject:
            # Any letter case, Polish ones too, on both databases (db/functions.py).
            query = query.where(folded(MailMessage.subject).contains(fold(subject),
                                                                      autoescape=True))
        if source:
            query = query.where(Source.name == source)
        if start is not None:
            query = query.where(MailMessage.received_at >= start)
        if end is not None:
            query = query.where(MailMessage.received_at <= end)
        found = list(s.execute(query))
        people: dict[int, dict[str, list[str]]] = {m.id: {} for m, _ in found}
        if people:
            for a in s.execute(select(MailAddress).where(
                    MailAddress.mail_id.in_(list(people)))).scalars():
                people[a.mail_id].setdefault(a.role, []).append(a.address)
        return [_shown(m.id, name, vars(m), people[m.id], m.eml_recording_id is not None,
                       m.recording_id, m.line) for m, name in found]

    def who_matches(addresses: dict[tuple[str, str], str]) -> bool:
        # One address row must pass every condition, as in the index query's subquery.
        return any((not role or r == role) and (not exact or a == exact) and
                   (not part or part in a or contains_folded(n, part))
                   for (r, a), n in addresses.items())

    def match(raw: bytes, chunk: OpenChunk, line: int) -> Row | None:
        try:
            r = json.loads(raw)
            m = mail_row(r)
            addresses = mail_addresses(r)
        except (ValueError, TypeError, KeyError, AttributeError):
            return None  # not a record: closing the chunk skips it too
        if ((exact or part) and not who_matches(addresses)) or \
                (subject and not contains_folded(m["subject"], subject)):
            return None
        people: dict[str, list[str]] = {}
        for rl, a in addresses:
            people.setdefault(rl, []).append(a)
        eml = r.get("eml")
        kept = bool(eml) and isinstance(eml, str) and (chunk.folder / eml).is_file()
        return _shown(None, chunk.source, m, people, kept, None, line)

    needles = [v for v in (exact, part, subject) if v]
    q = OpenQuery(SourceKind.MAILBOX, "received_at", source, start, end, needles, match)
    return search_with_open(session, q, limit, indexed, include_open)


def _shown(mail_id: int | None, source: str, m: dict[str, Any], people: dict[str, list[str]],
           body_kept: bool, recording_id: int | None, line: int) -> Row:
    return {"id": mail_id, "source": source, "received_at": m["received_at"],
            "date": m["date_at"], "message_id": m["message_id"], "env_from": m["env_from"],
            "from": m["header_from"], "to": sorted(people.get("to", [])),
            "cc": sorted(people.get("cc", [])), "bcc": sorted(people.get("bcc", [])),
            # Everyone an Exchange journal report names (list members, Bcc, forwards,
            # unverified "Recipient:" lines): indexed as env_rcpt, shown as well.
            "journal_rcpt": sorted(people.get("env_rcpt", [])),
            "subject": m["subject"], "size": m["size"], "attachments": m["attachments"],
            "private": m["private"], "journal": m["journal"], "body_kept": body_kept,
            "problems": m["problems"], "recording_id": recording_id, "line": line}
