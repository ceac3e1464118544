"""Metadata of a journalled message: who, to whom, when, what subject, how big, which
attachments (name, type, size, SHA-256). Never the text of the message or of an attachment.

Two journal shapes: a plain copy (Postfix ``always_bcc``, ``sender_bcc_maps``, Exchange
"BCC" style) where the original is the message itself; and the Exchange envelope journal
report, whose first part lists the real sender and recipients (including Bcc) and whose
attachment is the original message. Malformed MIME never raises: what can be read is kept
and the defects are listed.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser
from email.policy import Compat32
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from kustosz.ingest.mail.settings import MailSettings

_REPORT_LINE = re.compile(r"^(Sender|Subject|Message-Id|To|Cc|Bcc|Recipient|On-Behalf-Of)"
                          r":\s*(.*)$", re.I | re.M)
MAX_SUBJECT = 998
MAX_ATTACHMENTS = 500
# RFC 5322 §2.3: CR and LF occur only together. Python's email parser also ends a line at a CR
# alone, so "Subject: Wniosek\rBcc: ktos@bank.example" gave the message a Bcc it was never
# sent to (an outside recipient: private, its body not kept), and a CR before a boundary a
# part of its own (issue 64 item 1). The parser is given each such CR as a space (noted as
# the problem bare_cr); the size and the SHA-256 are of the bytes as they came.
_BARE_CR = re.compile(rb"\r(?!\n)")


_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
_BETWEEN_WORDS = re.compile(r"(?<=\?=)\s+(?==\?)")


class _Raw8Bit(Compat32):
    """compat32, but a header holding 8-bit bytes (RFC 6532's UTF-8 headers, which the
    listener takes with SMTPUTF8) is handed back as text with those bytes as surrogate
    escapes, for `_clean` — compat32 wraps it in a Header whose str() makes each byte a
    U+FFFD, so "Józef Żółć" was kept as "J��zef ��������"."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        return value


_POLICY = _Raw8Bit()


def _clean(text: str) -> str:
    """Raw 8-bit header bytes arrive as surrogate escapes: make them text (UTF-8 or U+FFFD)."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _words(value: object) -> str:
    """A header value as text: its 8-bit bytes read as UTF-8, its RFC 2047 encoded-words
    (=?utf-8?b?...?=) decoded, the white space between two of them dropped (§6.2)."""
    if value is None:
        return ""
    text = _clean(str(value))
    if "=?" not in text:
        return text
    return _ENCODED_WORD.sub(_decoded, _BETWEEN_WORDS.sub("", text))


def _decoded(word: re.Match[str]) -> str:
    try:
        return str(make_header(decode_header(word.group())))
    except Exception:  # a broken encoded-word, an unknown charset: kept as it came
        return word.group()


def _header(msg: Message, name: str) -> str:
    return _words(msg.get(name))


def _addresses(msg: Message, name: str) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    try:
        pairs = getaddresses([str(v) for v in msg.get_all(name, failobj=[])])
    except Exception:
        return out
    for display, addr in pairs:
        addr = _clean(addr).strip().lower()
        if addr and "@" in addr:
            out.append({"name": _words(display).strip()[:200], "address": addr[:320]})
    return out


def _date(msg: Message, problems: list[str]) -> str | None:
    raw = msg.get_all("date", failobj=[])
    if not raw:
        problems.append("no_date")
        return None
    try:
        value = parsedate_to_datetime(str(raw[0]))
    except (TypeError, ValueError, IndexError):
        problems.append("bad_date")
        return None
    if value.tzinfo is None:  # "-0000": the zone is unknown; RFC 5322 says read it as UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def _attachments(msg: Message, problems: list[str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for part in _leaves(msg):
        try:
            filename = _words(part.get_filename()) or None
        except Exception:
            filename = None
            problems.append("bad_filename")
        disposition = part.get_content_disposition()
        if disposition != "attachment" and not filename:
            continue  # the body text itself: neither kept nor described (R1.9)
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload()
            first = inner[0] if isinstance(inner, list) and inner else None
            data = first.as_bytes() if isinstance(first, Message) else b""
        else:
            try:
                payload = part.get_payload(decode=True)  # bytes: a leaf is no multipart
                data = payload if isinstance(payload, bytes) else b""
            except Exception:
                data = b""
                problems.append("undecodable_attachment")
        found.append({"name": (filename or "")[:255], "type": part.get_content_type(),
                      "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
        if len(found) >= MAX_ATTACHMENTS:
            problems.append("too_many_attachments")
            break
    return found


def _leaves(msg: Message) -> list[Message]:
    """The parts below the root, not descending into attached messages: an attached mail is
    one attachment (its hash covers what it holds)."""
    out: list[Message] = []
    stack = [msg]
    while stack:
        part = stack.pop()
        if part.get_content_type() == "message/rfc822" or not part.is_multipart():
            if part is not msg:
                out.append(part)
            continue
        payload = part.get_payload()
        if isinstance(payload, list):
            stack.extend(p for p in reversed(payload) if isinstance(p, Message))
    return out


def _defects(msg: Message) -> list[str]:
    names: set[str] = set()
    for part in msg.walk():
        names.update(type(d).__name__ for d in getattr(part, "defects", []))
    return sorted(names)


def _exchange_report(msg: Message) -> tuple[dict[str, list[str]], Message | None]:
    """The envelope journal report's fields and the original message inside it."""
    fields: dict[str, list[str]] = {}
    original: Message | None = None
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/rfc822" and original is None:
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                original = inner[0]
        elif ctype == "text/plain" and not fields:
            try:
                payload = part.get_payload(decode=True)  # bytes: a text part is no multipart
                raw = payload if isinstance(payload, bytes) else b""
                text = raw.decode(part.get_content_charset() or "utf-8", "replace")
            except (LookupError, TypeError):  # an unknown charset
                text = ""
            for key, value in _REPORT_LINE.findall(text):
                # "To: member@x, Expanded: list@x" / "Cc: fwd@x, Forwarded: user@x": the first
                # item is the recipient, the rest say how it was reached (the list it was
                # expanded from, the mailbox forwarded from): addresses the message went to.
                first, *rest = value.split(",")
                fields.setdefault(key.lower(), []).append(first.strip())
                for item in rest:
                    how, _, address = item.partition(":")
                    if how.strip().lower() in ("expanded", "forwarded") and address.strip():
                        fields.setdefault("via", []).append(address.strip())
    return fields, original


def _trace(msg: Message) -> tuple[str, list[str]]:
    """The envelope as the delivering server wrote it into the message: the topmost
    Return-Path (the final delivery adds it, replacing any the sender sent) and the
    Delivered-To / X-Original-To recipients."""
    sender = next((a["address"] for a in _addresses(msg, "return-path")), "")
    rcpts = [a["address"] for name in ("delivered-to", "x-original-to")
             for a in _addresses(msg, name)]
    return sender, list(dict.fromkeys(rcpts))


def extract(raw: bytes, env_from: str | None, env_rcpts: list[str] | None, peer: str,
            received: datetime) -> dict[str, Any]:
    """The metadata record of one journalled message (a line of the chunk). Without an SMTP
    envelope (``None``: a message pulled from an IMAP mailbox) the trace headers stand in."""
    problems: list[str] = []
    record: dict[str, Any] = {
        "received": received.isoformat(), "peer": peer, "journal": "bcc",
        "env_from": (env_from or "").lower()[:320],
        "env_rcpt": [r.lower()[:320] for r in env_rcpts or []],
        "size": len(raw), "sha256": hashlib.sha256(raw).hexdigest(),
        "message_id": "", "date": None, "subject": "", "from": [], "sender": [], "to": [],
        "cc": [], "bcc": [], "attachments": [], "problems": problems}
    try:
        # compat32, not policy.default: the modern header parser costs ~8 times more per
        # message, and the journal of a busy office brings thousands an hour.
        text, bare = _BARE_CR.subn(b" ", raw)
        if bare:
            problems.append("bare_cr")
        msg = BytesParser(policy=_POLICY).parsebytes(text)
        if env_from is None or env_rcpts is None:
            sender, rcpts = _trace(msg)
            if env_from is None:
                record["env_from"] = sender[:320]
            if env_rcpts is None:
                record["env_rcpt"] = [r[:320] for r in rcpts]
        if msg.get("x-ms-journal-report") is not None or \
                "exjournalreport" in _header(msg, "content-identifier").lower():
            fields, original = _exchange_report(msg)
            record["journal"] = "exchange"
            if fields.get("sender"):
                record["env_from"] = fields["sender"][0].lower()[:320]
            record["bcc"] = [{"name": "", "address": a.lower()} for a in fields.get("bcc", [])]
            record["journal_rcpt"] = sorted({a.lower()[:320] for key in (
                "to", "cc", "bcc", "recipient", "via") for a in fields.get(key, []) if "@" in a})
            if original is None:
                problems.append("journal_report_without_message")
                original = msg
            msg = original
        record["message_id"] = _header(msg, "message-id").strip()[:400]
        record["subject"] = " ".join(_header(msg, "subject").split())[:MAX_SUBJECT]
        record["date"] = _date(msg, problems)
        for role in ("from", "sender", "to", "cc", "bcc"):
            if role != "bcc" or not record["bcc"]:
                record[role] = _addresses(msg, role)
        record["attachments"] = _attachments(msg, problems)
        record["private_labels"] = " ".join(
            _header(msg, h) for h in ("sensitivity", "keywords", "x-label", "x-keywords"))
        problems.extend(_defects(msg))
    except Exception as exc:  # whatever the parser could not take, the envelope still counts
        problems.append(f"unparseable:{type(exc).__name__}")
    if not record["message_id"]:
        problems.append("no_message_id")
    return record


def private_reason(record: dict[str, Any], settings: MailSettings) -> str:
    """Why the policy treats this message as private ('' if it does not)."""
    words = [w.lower() for w in settings.private_keywords if w.strip()]
    labels = f"{record.get('subject', '')} {record.get('private_labels', '')}".lower()
    for word in words:
        if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", labels):
            return f"label:{word}"
    if settings.private_external and settings.office_domains:
        recipients = [a["address"] for role in ("to", "cc", "bcc") for a in record[role]]
        recipients += record.get("journal_rcpt", [])
        for address in recipients:
            domain = address.rpartition("@")[2]
            if not any(domain == d or domain.endswith("." + d)
                       for d in settings.office_domains):
                return "external_recipient"
    return ""


def sender_allowed(address: str, allow: list[str]) -> bool:
    if not allow:
        return True
    address = address.lower()
    for item in allow:
        item = item.lower()
        if item.startswith("@") and (address.endswith(item) or
                                     address.rpartition("@")[2].endswith("." + item[1:])):
            return True
        if address == item:
            return True
    return False
