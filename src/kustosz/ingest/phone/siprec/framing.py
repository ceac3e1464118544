"""A SIP message cut out of its bytes before any of it is read as text (issue 64 item 1).

``Content-Length`` counts the body's bytes (RFC 3261 §20.14). sippy is handed a message that is
text already and compares that length with the body's characters, so a body holding three
bytes more than characters — "Józef Żółć" in an SBC's metadata, ``s=Żółć`` in a phone's SDP,
one emoji — was refused as truncated and the call went unrecorded. So the message is framed
here, on its bytes: the header ends at the first empty line; its lines end at CRLF (LF alone
is taken too, as phones write it); the body is as long as ``Content-Length`` says — longer
over UDP is cut there, shorter is an error (RFC 3261 §18.3), none over UDP means the rest of
the datagram. Only then is the header read as UTF-8 (§7.3.1: header text is UTF-8); the body
stays bytes, decoded by whoever reads a part of it (multipart.py, by its part's charset).

A header line may hold no control character but a tab: a bare CR, a NUL or a form feed in a
header is no SIP (§25.1 allows none there), and sippy, which cuts lines with
``str.splitlines``, would read a header a sender slipped in after a bare CR."""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_MESSAGE = 64 * 1024

_HEAD_END = re.compile(rb"\r?\n\r?\n")
_LINE_END = re.compile(rb"\r?\n")
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_LENGTH_NAMES = (b"content-length", b"l")  # and its compact form (§7.3.3)


class BadMessage(ValueError):
    """Not a SIP message; the text says why. ``lines``: its header as far as it can be read
    (a byte that is no UTF-8 replaced, a control character a space), for the 400 a request
    is answered with (RFC 3261 §18.3: a body cut short; any other fault of its header)."""

    def __init__(self, why: str, lines: tuple[str, ...] = ()) -> None:
        super().__init__(why)
        self.lines = lines


@dataclass(frozen=True)
class Framed:
    lines: tuple[str, ...]  # the start line and the header lines, folded ones unfolded
    body: bytes


def head_end(data: bytes) -> tuple[int, int] | None:
    """Where the header ends and where the body begins; None while the empty line that
    ends a header has not come."""
    m = _HEAD_END.search(data)
    return (m.start(), m.end()) if m else None


def head_lines(head: bytes) -> list[bytes]:
    """A header's lines, each continuation line (one beginning with white space, §7.3.1)
    joined to the line it continues."""
    out: list[bytes] = []
    for line in _LINE_END.split(head):
        if line[:1] in (b" ", b"\t") and out:
            out[-1] += b" " + line.strip(b" \t")
        else:
            out.append(line)
    return out


def is_length(name: bytes | str) -> bool:
    key = name.encode() if isinstance(name, str) else name
    return key.strip(b" \t").lower() in _LENGTH_NAMES


def content_length(lines: list[bytes]) -> int | None:
    """What the header's Content-Length says; None when it has none. BadMessage when it is
    not a number, or when two say different lengths (a message two readers would cut in
    two different places)."""
    said: set[int] = set()
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if sep and is_length(name):
            digits = value.strip(b" \t")
            if not digits.isdigit():  # bytes.isdigit: ASCII digits only
                raise BadMessage(f"its Content-Length {digits[:20]!r} is not a number")
            said.add(int(digits))
    if len(said) > 1:
        raise BadMessage(f"it has Content-Length headers that differ: {sorted(said)}")
    return said.pop() if said else None


def frame(data: bytes) -> Framed:
    """One message (a datagram, or a stream's message cut by its Content-Length): its
    header as text, its body as the bytes its Content-Length counts."""
    if len(data) > MAX_MESSAGE:
        raise BadMessage("message too large")
    data = data.lstrip(b"\r\n")  # CRLFs before the start line are ignored (§7.5)
    ends = head_end(data)
    head, body = (data[:ends[0]], data[ends[1]:]) if ends else (data.rstrip(b"\r\n"), b"")
    raw = head_lines(head)
    try:
        lines = tuple(_header_line(line) for line in raw)
        length = content_length(raw)
    except BadMessage as exc:  # answered from what can be read of it
        raise BadMessage(str(exc), tuple(_CONTROL.sub(b" ", line).decode("utf-8", "replace")
                                         for line in raw)) from None
    if length is not None:
        if len(body) < length:
            raise BadMessage(f"its body is cut short: {len(body)} bytes, its Content-Length "
                             f"says {length}", lines)
        body = body[:length]  # beyond it: discarded (§18.3)
    return Framed(lines, body)


def _header_line(line: bytes) -> str:
    bad = _CONTROL.search(line)
    if bad is not None:
        raise BadMessage(f"a header line holds the control character {bad.group()!r} (a "
                         f"bare CR, a NUL): {line[:60]!r}")
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadMessage(f"its header is not UTF-8 ({exc.reason} at byte {exc.start} of "
                         f"the line {line[:60]!r})") from None
