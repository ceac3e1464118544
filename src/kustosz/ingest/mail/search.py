"""The mail metadata index: rows written when a chunk closes, and searches by person,
address, subject and time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session

from kustosz.db.events import MailAddress, MailMessage
from kustosz.db.models import Source

ROLES = ("from", "sender", "to", "cc", "bcc")


def _time(value: Any) -> datetime | None:
    try:
        at = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return at if at.tzinfo is not None else None


def index_mail(session: Session, source_id: int, recording_id: int,
               records: list[tuple[int, dict[str, Any]]], emls: dict[str, int]) -> None:
    rows = []
    for line, r in records:
        sender = (r.get("from") or r.get("sender") or [{}])[0]
        rows.append({
            "recording_id": recording_id, "source_id": source_id, "line": line,
            "eml_recording_id": emls.get(r.get("eml") or ""),
            "received_at": datetime.fromisoformat(r["received"]), "date_at": _time(r.get("date")),
            "message_id": str(r.get("message_id") or "")[:400],
            "env_from": str(r.get("env_from") or "")[:320],
            "header_from": str(sender.get("address") or "")[:320],
            "subject": str(r.get("subject") or ""), "size": int(r.get("size") or 0),
            "private": bool(r.get("private")), "journal": str(r.get("journal") or "bcc")[:20],
            "attachments": r.get("attachments") or [], "problems": r.get("problems") or []})
    if not rows:
        return
    ids = list(session.execute(insert(MailMessage).returning(
        MailMessage.id, sort_by_parameter_order=True), rows).scalars())
    addresses: dict[tuple[int, str, str], str] = {}
    for mail_id, (_, r) in zip(ids, records, strict=True):
        for role in ROLES:
            for a in r.get(role) or []:
                addresses.setdefault((mail_id, role, a["address"]), a.get("name", ""))
        if r.get("env_from"):
            addresses.setdefault((mail_id, "env_from", r["env_from"]), "")
        for rcpt in r.get("journal_rcpt") or []:
            addresses.setdefault((mail_id, "env_rcpt", rcpt), "")
    if addresses:
        session.execute(insert(MailAddress), [
            {"mail_id": m, "role": role, "address": addr[:320], "name": name[:200]}
            for (m, role, addr), name in addresses.items()])


def search_mail(session: Session, *, address: str | None = None, person: str | None = None,
                role: str | None = None, subject: str | None = None,
                source: str | None = None, start: datetime | None = None,
                end: datetime | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Messages by received time; ``address`` is exact (any letter case), ``person`` matches
    part of a name or an address; ``role`` narrows either to from/to/cc/bcc/env_*."""
    query = (select(MailMessage, Source.name).join(Source, Source.id == MailMessage.source_id)
             .order_by(MailMessage.received_at, MailMessage.id).limit(limit))
    if address or person:
        who = select(MailAddress.mail_id)
        if address:
            who = who.where(MailAddress.address == address.strip().lower())
        if person:
            like = f"%{person.strip().lower()}%"
            who = who.where(or_(MailAddress.address.like(like),
                                MailAddress.name.ilike(f"%{person.strip()}%")))
        if role:
            who = who.where(MailAddress.role == role)
        query = query.where(MailMessage.id.in_(who))
    if subject:
        query = query.where(MailMessage.subject.contains(subject, autoescape=True))
    if source:
        query = query.where(Source.name == source)
    if start is not None:
        query = query.where(MailMessage.received_at >= start)
    if end is not None:
        query = query.where(MailMessage.received_at <= end)
    found = list(session.execute(query))
    people: dict[int, dict[str, list[str]]] = {m.id: {} for m, _ in found}
    if people:
        for a in session.execute(select(MailAddress).where(
                MailAddress.mail_id.in_(list(people)))).scalars():
            people[a.mail_id].setdefault(a.role, []).append(a.address)
    return [{"id": m.id, "source": name, "received_at": m.received_at, "date": m.date_at,
             "message_id": m.message_id, "env_from": m.env_from, "from": m.header_from,
             "to": sorted(people[m.id].get("to", [])), "cc": sorted(people[m.id].get("cc", [])),
             "bcc": sorted(people[m.id].get("bcc", [])), "subject": m.subject, "size": m.size,
             "attachments": m.attachments, "private": m.private, "journal": m.journal,
             "body_kept": m.eml_recording_id is not None, "problems": m.problems,
             "recording_id": m.recording_id, "line": m.line}
            for m, name in found]
