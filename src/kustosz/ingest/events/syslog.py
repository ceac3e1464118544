"""Syslog as the office's devices send it: RFC 5424 and RFC 3164 (BSD) messages, framed on TCP
by octet counting or by newlines (RFC 6587). Parsing never fails: what does not parse is
kept as a raw line with a problem noted, because a broken sender is itself worth seeing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from kustosz.ingest.events.formats import EventFormat, Parsed, of_layer, register

MAX_FRAME = 64 * 1024  # longer messages are cut here (RFC 5424 requires only 2 KiB)

_PRI = re.compile(rb"^<(\d{1,3})>")
_5424 = re.compile(r"^(\d{1,2}) (\S+) (\S+) (\S+) (\S+) (\S+) ?(.*)$", re.S)
_3164_TIME = re.compile(r"^([A-Z][a-z]{2}) +(\d{1,2}) (\d\d):(\d\d):(\d\d) (.*)$", re.S)
_TAG = re.compile(r"^([^\s:\[\]]{1,64})(?:\[([^\]]{0,32})\])?: ?(.*)$", re.S)
_MONTHS = {m: i for i, m in enumerate(
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], start=1)}
# Whom a line names, most specific first (issue 51 item 3: a loose "login <word>" put
# "failed" and "login" in as users). A name is read only after a key with "=" or ":", or
# in the fixed phrases of sshd and PAM ("for [invalid user] X from", "for user X",
# "succeeded for X"); CEF's acting user (suser) before its target (duser).
_NAME = r"\"?([\w.@\\$-]{1,64})"
_USER = [re.compile(p) for p in (
    r"\bsuser=" + _NAME,
    r"\bfor (?:invalid user |illegal user )?([\w.@\\$-]{1,64}) from\b",
    r"(?<![\w-])(?i:user|username|account|login|usr|duser)\s*[=:]\s*" + _NAME,
    r"\bfor user " + _NAME,
    r"\b(?:succeeded|failed|accepted|denied|rejected|successful) for " + _NAME,
)]
_NOT_NAMES = frozenset({"failed", "succeeded", "success", "successful", "login", "logged",
                        "user", "from", "by", "for", "invalid", "session", "account"})
SD_USER_KEYS = ("user", "username", "usr", "account", "login")


__all__ = ["MAX_FRAME", "Framer", "Parsed", "parse", "user_of", "whole_chars"]


def decode(data: bytes, problems: list[str]) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        problems.append("invalid_utf8")
        return data.decode("utf-8", errors="replace")


def parse(data: bytes, tz: ZoneInfo, now: datetime | None = None) -> Parsed:
    problems: list[str] = []
    data = data.rstrip(b"\r\n\x00")
    pri = _PRI.match(data)
    if pri is None or int(pri.group(1)) > 191:
        problems.append("not_syslog")
        return Parsed("raw", decode(data, problems), problems=problems)
    value = int(pri.group(1))
    text = decode(data[pri.end():], problems)
    now = now or datetime.now(UTC)
    # the registered syslog forms in order (kustosz.ingest.events.formats); RFC 3164, last of
    # the built-ins, takes whatever follows a <PRI>
    parsed = next(p for f in of_layer("frame") if f.parse is not None
                  and (p := f.parse(text, tz, now, problems)) is not None)
    parsed.facility, parsed.severity = value >> 3, value & 7
    return parsed


def _nil(value: str) -> str:
    return "" if value == "-" else value


def _parse_5424(text: str, _tz: ZoneInfo, _now: datetime, problems: list[str]
                ) -> Parsed | None:
    m = _5424.match(text)
    if m is None or m.group(1) != "1":
        return None
    _version, stamp, host, app, _procid, _msgid, rest = m.groups()
    at = None
    if stamp != "-":
        try:
            at = datetime.fromisoformat(stamp)
            if at.tzinfo is None:
                raise ValueError
        except ValueError:
            problems.append("bad_time")
            at = None
    sd: dict[str, dict[str, str]] = {}
    if rest.startswith("["):
        sd, rest = _parse_sd(rest, problems)
    elif rest.startswith("- ") or rest == "-":
        rest = rest[2:]
    message = rest.removeprefix("\ufeff")
    return Parsed("rfc5424", message, at, _nil(host), _nil(app), sd=sd, problems=problems)


def _parse_sd(text: str, problems: list[str]) -> tuple[dict[str, dict[str, str]], str]:
    """Structured data: [id name="value" ...][id2 ...] followed by the message."""
    sd: dict[str, dict[str, str]] = {}
    i, n = 0, len(text)
    while i < n and text[i] == "[":
        end_id = i + 1
        while end_id < n and text[end_id] not in " ]":
            end_id += 1
        params: dict[str, str] = {}
        sd[text[i + 1:end_id]] = params
        i = end_id
        while i < n and text[i] == " ":
            eq = text.find("=", i)
            if eq < 0 or eq + 1 >= n or text[eq + 1] != '"':
                problems.append("bad_structured_data")
                return sd, text[i:].lstrip()
            name, j, value = text[i + 1:eq], eq + 2, []
            while j < n and text[j] != '"':
                if text[j] == "\\" and j + 1 < n and text[j + 1] in '"\\]':
                    j += 1
                value.append(text[j])
                j += 1
            params[name] = "".join(value)
            i = j + 1
        if i >= n or text[i] != "]":
            problems.append("bad_structured_data")
            return sd, text[i:].lstrip()
        i += 1
    return sd, text[i:].removeprefix(" ")


def _parse_3164(text: str, tz: ZoneInfo, now: datetime, problems: list[str]) -> Parsed:
    at = None
    m = _3164_TIME.match(text)
    if m and m.group(1) in _MONTHS:
        month, day = _MONTHS[m.group(1)], int(m.group(2))
        hh, mm, ss = int(m.group(3)), int(m.group(4)), int(m.group(5))
        text = m.group(6)
        # BSD syslog has no year and no zone: the office's zone, and the year that does not
        # put the event more than a day in the future (around New Year).
        local_now = now.astimezone(tz)
        for year in (local_now.year, local_now.year - 1):
            try:
                candidate = datetime(year, month, day, hh, mm, ss, tzinfo=tz)
            except ValueError:
                continue
            if candidate <= local_now + timedelta(days=1):
                at = candidate
                break
        if at is None:
            problems.append("bad_time")
        host, _, rest = text.partition(" ")
        if host.endswith(":") or "[" in host:
            rest, host = text, ""  # no HOSTNAME field: the tag comes right after the time
    else:
        problems.append("no_time")
        host, rest = "", text
    app = ""
    tag = _TAG.match(rest)
    if tag:
        app, rest = tag.group(1), tag.group(3)
    return Parsed("rfc3164", rest, at, host, app, problems=problems)


def user_of(parsed: Parsed) -> str:
    for params in parsed.sd.values():
        for key in SD_USER_KEYS:
            if params.get(key):
                return params[key][:255]
    for fmt in of_layer("payload"):  # a form with user fields of its own (CEF) reads them
        if fmt.detect is not None and fmt.user is not None and fmt.detect(parsed.message):
            user = fmt.user(parsed.message)
            if user:
                return user
    for pattern in _USER:
        for m in pattern.finditer(parsed.message):
            if m.group(1).lower() not in _NOT_NAMES:
                return m.group(1)
    return ""


class Framer:
    """Splits a TCP byte stream into syslog messages: octet counting ("LEN SP MSG") when a
    frame starts with digits and a space, otherwise one message per line (LF or NUL)."""

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self.buf = bytearray()
        self.max_frame = max_frame
        self._skip = 0  # bytes of an oversized octet-counted frame still to drop
        self._skip_line = False  # dropping the rest of an oversized line
        self.oversized = 0

    def feed(self, data: bytes) -> list[bytes]:
        self.buf += data
        buf, out, pos, end = self.buf, [], 0, len(self.buf)
        # Walk with an offset and cut the buffer once at the end: deleting after every
        # frame would move the rest of a 64 KiB read hundreds of times.
        while pos < end:
            if self._skip:
                n = min(self._skip, end - pos)
                pos += n
                self._skip -= n
                continue
            if self._skip_line:
                nl = _find_end(buf, pos)
                if nl < 0:
                    pos = end
                    break
                pos, self._skip_line = nl + 1, False
                continue
            if 48 <= buf[pos] <= 57:  # a digit: maybe an octet count
                sp = buf.find(b" ", pos, pos + 8)
                digits = buf[pos:sp] if sp > 0 else buf[pos:pos + 8]
                if sp < 0 and end - pos < 8 and digits.isdigit():
                    break  # wait for more bytes to decide
                if sp > 0 and digits.isdigit():
                    size, body = int(digits), sp + 1
                    if size > self.max_frame:
                        if end - body < self.max_frame:
                            break  # the part that is kept has not all come yet
                        self.oversized += 1
                        out.append(whole_chars(bytes(buf[body:body + self.max_frame + 1]),
                                               self.max_frame))
                        have = end - body
                        self._skip = max(0, size - have)
                        pos = body + min(size, have)
                        continue
                    if end - body < size:
                        break
                    out.append(bytes(buf[body:body + size]))
                    pos = body + size
                    continue
            nl = _find_end(buf, pos)
            if nl < 0:
                if end - pos > self.max_frame:
                    self.oversized += 1
                    out.append(whole_chars(bytes(buf[pos:pos + self.max_frame + 1]),
                                           self.max_frame))
                    pos, self._skip_line = end, True
                break
            if nl - pos > self.max_frame:
                self.oversized += 1
            frame = whole_chars(bytes(buf[pos:min(nl, pos + self.max_frame + 1)]),
                                self.max_frame)
            pos = nl + 1
            if frame.strip():
                out.append(frame)
        del buf[:pos]
        return out

    def rest(self) -> bytes:
        """What is left when the client closes: a last message without its newline."""
        data, self.buf = bytes(self.buf), bytearray()
        return data if data.strip() and not self._skip else b""


def whole_chars(data: bytes, limit: int) -> bytes:
    """``data`` if it is within ``limit`` bytes; else cut there, between two UTF-8
    characters: a message cut at the frame limit keeps its text, not half a "ż" that would
    make it invalid UTF-8 (and flagged so). What is no UTF-8 anyway is cut at the limit."""
    if len(data) <= limit:
        return data
    cut = data[:limit]
    for back in range(1, min(4, len(cut) + 1)):
        byte = cut[-back]
        if byte & 0xC0 == 0x80:  # a continuation byte: its character began further back
            continue
        if byte >= 0xC0 and back < (2 if byte < 0xE0 else 3 if byte < 0xF0 else 4):
            cut = cut[:-back]  # the lead byte of a character the limit cut in two
        break
    return cut


def _find_end(buf: bytearray, start: int) -> int:
    nl = buf.find(b"\n", start)
    if nl < 0:
        return buf.find(b"\x00", start)
    nul = buf.find(b"\x00", start, nl)
    return nul if nul >= 0 else nl


register(EventFormat("rfc5424", "frame", "syslog RFC 5424", "syslog RFC 5424",
                     "operations/mail-events.md#syslog-rfc-5424", parse=_parse_5424))
register(EventFormat("rfc3164", "frame", "syslog RFC 3164 (BSD)", "syslog RFC 3164 (BSD)",
                     "operations/mail-events.md#syslog-rfc-3164", parse=_parse_3164))
