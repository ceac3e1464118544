"""The body of a recording session's INVITE (RFC 7866 §9.1): a multipart/mixed body (RFC 2046
§5.1) holding the SDP offer and the recording metadata, read here rather than by sippy, whose
``MultipartMixBody`` fails on what real SBCs send (issue 47): a preamble before the first
boundary (Cisco CUBE, Oracle/Acme Packet, Ribbon/Sonus, OpenSIPS, SEMS, Intrado all begin with
a blank line), no closing delimiter at the end of the datagram (Cisco CUBE, Ribbon/Sonus,
SEMS), white space after a delimiter (Oracle), the boundary quoted or with spaces around its
``=``, lines ended by LF alone.

Strict where it matters: the body is bounded by the SIP message's own limit, a part count is
capped, a boundary must be 1–70 characters (RFC 2046 §5.1.1), and a body in which no part is
found is refused with its reason."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kustosz.errors import InputError
from kustosz.ingest.phone.siprec.metadata import BadMetadata

MAX_PARTS = 16
METADATA_TYPES = ("application/rs-metadata+xml", "application/rs-metadata")
# RFC 2046 §5.1.1's bchars, read generously: any printable character but the quote
_BOUNDARY = re.compile(r"^[\x21\x23-\x7e][\x20\x21\x23-\x7e]{0,69}$")


class BadBody(InputError):
    """The body cannot be read; ``status`` is the SIP answer that says why (400 or 415)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Part:
    kind: str  # the media type, lower case, without its parameters ("text/plain" if none)
    text: str


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def parameters(content_type: str) -> dict[str, str]:
    """A Content-Type's parameters, names in lower case: ``a=b``, ``a = b`` and ``a="b"``
    alike (RFC 2045 §5.1; a quoted value may hold a ``;``)."""
    out: dict[str, str] = {}
    for m in re.finditer(r';\s*([^=;\s]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)', content_type):
        value = m.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        out.setdefault(m.group(1).lower(), value)
    return out


def boundary_of(content_type: str) -> str:
    boundary = parameters(content_type).get("boundary", "")
    if not boundary:
        raise BadBody("the multipart body's Content-Type names no boundary")
    # RFC 2046: a boundary does not end in a space; a stray one is the writer's padding
    boundary = boundary.rstrip(" ")
    if not _BOUNDARY.match(boundary):
        raise BadBody(f"the multipart boundary {boundary[:80]!r} is not a valid boundary "
                      "(1 to 70 printable characters)")
    return boundary


def _headers(block: list[str]) -> dict[str, str]:
    """A part's header lines (RFC 2045/5322, folded lines unfolded), names in lower case."""
    out: dict[str, str] = {}
    name = ""
    for line in block:
        if line[:1] in (" ", "\t") and name:
            out[name] += " " + line.strip()
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise BadBody(f"a part's header line {line[:80]!r} has no ':'")
        name = name.strip().lower()
        out[name] = value.strip()
    return out


def _part(lines: list[str]) -> Part:
    """One body part: its headers up to the first empty line, then its content (the line
    break before the next delimiter belongs to the delimiter, RFC 2046 §5.1.1)."""
    text = "".join(lines)
    bare = re.match(r"\r?\n", text)
    split = re.search(r"\r?\n\r?\n", text)
    if bare is not None:  # no headers: text/plain (RFC 2046 §5.1)
        head, content = "", text[bare.end():]
    elif split is not None:
        head, content = text[:split.start()], text[split.end():]
    else:  # headers only
        head, content = text, ""
    headers = _headers([h for h in re.split(r"\r?\n", head) if h])
    content = re.sub(r"\r?\n\Z", "", content)
    return Part(media_type(headers.get("content-type", "text/plain")), content)


def read_multipart(content_type: str, body: str) -> list[Part]:
    """The parts of a multipart body; its preamble and epilogue ignored, a last part that
    runs to the end of the body without its closing delimiter taken as it is."""
    boundary = boundary_of(content_type)
    dash = "--" + boundary
    # a delimiter line: --boundary, optionally "--" (the last), then transport padding
    delimiter = re.compile(re.escape(dash) + r"(--)?[ \t]*\r?$")
    parts: list[list[str]] = []
    current: list[str] | None = None
    closed = False
    for line in body.splitlines(keepends=True):
        m = delimiter.match(line.rstrip("\n"))
        if m is not None:
            if current is not None:
                parts.append(current)
            if m.group(1):
                closed = True
                break
            if len(parts) >= MAX_PARTS:
                raise BadBody(f"the multipart body has more than {MAX_PARTS} parts")
            current = []
        elif current is not None:
            current.append(line)
    if not closed and current is not None:
        parts.append(current)
    if not parts:
        raise BadBody(f"no part of the multipart body begins with its boundary {dash!r}")
    return [_part(p) for p in parts]


def first_of(parts: list[Part], *kinds: str) -> str | None:
    return next((p.text for p in parts if p.kind in kinds), None)


def recording_parts(content_type: str, body: str,
                    metadata_required: bool = True) -> tuple[str, str]:
    """The SDP offer and the recording metadata (either content type: RFC 7865 wrote
    ``+xml``, RFC 7866 and the SRCs that follow it — Intrado, SEMS — none) of a request's
    body; the metadata "" when there is none and it is not required."""
    kind = media_type(content_type)
    if kind == "application/sdp":
        if metadata_required:
            raise BadMetadata("the recording session has no metadata "
                              "(application/rs-metadata+xml)")
        return body, ""
    if kind != "multipart/mixed":
        raise BadBody(f"the body is {kind or 'untyped'}, not multipart/mixed", 415)
    parts = read_multipart(content_type, body)
    sdp = first_of(parts, "application/sdp")
    meta = first_of(parts, *METADATA_TYPES)
    if sdp is None:
        kinds = ", ".join(p.kind for p in parts)
        raise BadBody(f"the multipart body has no SDP offer (its parts: {kinds})")
    if meta is None and metadata_required:
        kinds = ", ".join(p.kind for p in parts)
        raise BadMetadata("the recording session has no metadata "
                          f"(application/rs-metadata+xml); its parts: {kinds}")
    return sdp, meta or ""
