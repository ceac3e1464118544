"""The body of a recording session's INVITE (RFC 7866 §9.1): a multipart/mixed body (RFC 2046
§5.1) holding the SDP offer and the recording metadata, read here rather than by sippy, whose
``MultipartMixBody`` fails on what real SBCs send (issue 47): a preamble before the first
boundary (Cisco CUBE, Oracle/Acme Packet, Ribbon/Sonus, OpenSIPS, SEMS, Intrado all begin with
a blank line), no closing delimiter at the end of the datagram (Cisco CUBE, Ribbon/Sonus,
SEMS), white space after a delimiter (Oracle), the boundary quoted or with spaces around its
``=``, lines ended by LF alone.

It reads bytes, as the SIP message's Content-Length cut them (framing.py): parts are cut by
their delimiters, and only then is a part read as text, by its own charset (issue 64 item 1)
— so a part that is not text (the ISUP message a SIP-I trunk sends beside its SDP) is never
decoded, and a bare CR is never a line break.

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
_BOUNDARY = re.compile(r"^[\x21\x23-\x7e][\x20\x21\x23-\x7e]{0,69}\Z")


class BadBody(InputError):
    """The body cannot be read; ``status`` is the SIP answer that says why (400 or 415)."""

    def __init__(self, message: str, status: int = 400, *, pl: str | None = None) -> None:
        super().__init__(message, pl=pl)
        self.status = status


@dataclass(frozen=True)
class Part:
    kind: str  # the media type, lower case, without its parameters ("text/plain" if none)
    content: bytes
    charset: str = ""  # its Content-Type's charset parameter, "" when none

    @property
    def text(self) -> str:
        """The part read as text, as it says it is written (text_of); BadBody if it is not."""
        return text_of(self.kind, self.charset, self.content)


def text_of(kind: str, charset: str, content: bytes) -> str:
    """A body or a part as text, decoded only now that it is cut out of its message: by its
    charset parameter; an XML part without one by its XML declaration (RFC 7303 §4.3); else
    UTF-8 (SDP's and SIP's own, RFC 8866 §5.3). A byte order mark is dropped."""
    name = charset or (_xml_encoding(content) if kind.endswith("xml") else "") or "utf-8"
    if name.replace("_", "-").lower() in ("utf-8", "utf8"):
        name = "utf-8-sig"
    try:
        return content.decode(name)
    except LookupError:
        raise BadBody(f"the {kind} part's charset {name[:40]!r} is unknown",
                      pl=f"Nieznane kodowanie „{name[:40]}” części {kind}.") from None
    except UnicodeDecodeError as exc:
        raise BadBody(f"the {kind} part is not {name.removesuffix('-sig')} ({exc.reason} at "
                      f"byte {exc.start})",
                      pl=f"Część {kind} nie jest w kodowaniu {name.removesuffix('-sig')} "
                         f"({exc.reason} w bajcie {exc.start}).") from None


_XML_ENCODING = re.compile(rb"^(?:\xef\xbb\xbf)?<\?xml[^>]*?\sencoding\s*=\s*"
                           rb"[\"']([A-Za-z][\w.-]{0,39})[\"']")


def _xml_encoding(content: bytes) -> str:
    m = _XML_ENCODING.match(content)
    return m.group(1).decode("ascii") if m else ""


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
        raise BadBody("the multipart body's Content-Type names no boundary",
                      pl="Content-Type treści wieloczęściowej nie podaje granicy (boundary).")
    # RFC 2046: a boundary does not end in a space; a stray one is the writer's padding
    boundary = boundary.rstrip(" ")
    if not _BOUNDARY.match(boundary):
        raise BadBody(f"the multipart boundary {boundary[:80]!r} is not a valid boundary "
                      "(1 to 70 printable characters)",
                      pl=f"Granica treści wieloczęściowej „{boundary[:80]}” jest niepoprawna "
                         "(dozwolone od 1 do 70 znaków drukowalnych).")
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
            raise BadBody(f"a part's header line {line[:80]!r} has no ':'",
                          pl=f"Wiersz nagłówka części „{line[:80]}” nie zawiera „:”.")
        name = name.strip().lower()
        out[name] = value.strip()
    return out


def _part(lines: list[bytes]) -> Part:
    """One body part: its headers up to the first empty line, then its content (the line
    break before the next delimiter belongs to the delimiter, RFC 2046 §5.1.1)."""
    data = b"".join(lines)
    bare = re.match(rb"\r?\n", data)
    split = re.search(rb"\r?\n\r?\n", data)
    if bare is not None:  # no headers: text/plain (RFC 2046 §5.1)
        head, content = b"", data[bare.end():]
    elif split is not None:
        head, content = data[:split.start()], data[split.end():]
    else:  # headers only
        head, content = data, b""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        raise BadBody(f"a part's header is not UTF-8: {head[:80]!r}",
                      pl="Nagłówek części nie jest w kodowaniu UTF-8: "
                         f"„{head[:80].decode('ascii', 'backslashreplace')}”.") from None
    headers = _headers([h for h in re.split(r"\r?\n", text) if h])
    content_type = headers.get("content-type", "text/plain")
    return Part(media_type(content_type), re.sub(rb"\r?\n\Z", b"", content),
                parameters(content_type).get("charset", ""))


def read_multipart(content_type: str, body: bytes) -> list[Part]:
    """The parts of a multipart body; its preamble and epilogue ignored, a last part that
    runs to the end of the body without its closing delimiter taken as it is.

    Cut by its bytes (S7, issue 64): a delimiter is a line of its own, after a line break —
    CRLF as RFC 2046 §5.1.1 writes it, or LF alone as some SBCs do — never after a bare CR
    or any other character ``str.splitlines`` would break a line at (U+2028, a form feed):
    such a character is the content of its part."""
    dash = b"--" + boundary_of(content_type).encode("ascii")
    # a delimiter line: --boundary, optionally "--" (the last), then transport padding
    delimiter = re.compile(re.escape(dash) + rb"(--)?[ \t]*\r?\n?\Z")
    parts: list[list[bytes]] = []
    current: list[bytes] | None = None
    closed = False
    for line in re.split(rb"(?<=\n)", body):
        m = delimiter.match(line)
        if m is not None:
            if current is not None:
                parts.append(current)
            if m.group(1):
                closed = True
                break
            if len(parts) >= MAX_PARTS:
                raise BadBody(f"the multipart body has more than {MAX_PARTS} parts",
                              pl=f"Treść wieloczęściowa ma więcej niż {MAX_PARTS} części.")
            current = []
        elif current is not None:
            current.append(line)
    if not closed and current is not None:
        parts.append(current)
    if not parts:
        raise BadBody(f"no part of the multipart body begins with its boundary "
                      f"{dash.decode('ascii')!r}",
                      pl="Żadna część treści wieloczęściowej nie zaczyna się od jej granicy "
                         f"„{dash.decode('ascii')}”.")
    return [_part(p) for p in parts]


def first_of(parts: list[Part], *kinds: str) -> str | None:
    return next((p.text for p in parts if p.kind in kinds), None)


def recording_parts(content_type: str, body: bytes | None,
                    metadata_required: bool = True) -> tuple[str, str]:
    """The SDP offer and the recording metadata (either content type: RFC 7865 wrote
    ``+xml``, RFC 7866 and the SRCs that follow it — Intrado, SEMS — none) of a request's
    body; the metadata "" when there is none and it is not required."""
    if body is None:
        raise BadBody("the request has no body (an SDP offer and recording metadata)",
                      pl="Żądanie nie ma treści (oferty SDP i metadanych nagrania).")
    kind = media_type(content_type)
    if kind == "application/sdp":
        if metadata_required:
            raise BadMetadata("the recording session has no metadata "
                              "(application/rs-metadata+xml)",
                              pl="Sesja nagrania nie ma metadanych "
                                 "(application/rs-metadata+xml).")
        return text_of(kind, parameters(content_type).get("charset", ""), body), ""
    if kind != "multipart/mixed":
        raise BadBody(f"the body is {kind or 'untyped'}, not multipart/mixed", 415,
                      pl=f"Treść jest typu {kind or 'nieokreślonego'}, a nie multipart/mixed.")
    parts = read_multipart(content_type, body)
    sdp = first_of(parts, "application/sdp")
    meta = first_of(parts, *METADATA_TYPES)
    if sdp is None:
        kinds = ", ".join(p.kind for p in parts)
        raise BadBody(f"the multipart body has no SDP offer (its parts: {kinds})",
                      pl=f"Treść wieloczęściowa nie zawiera oferty SDP (jej części: {kinds}).")
    if meta is None and metadata_required:
        kinds = ", ".join(p.kind for p in parts)
        raise BadMetadata("the recording session has no metadata "
                          f"(application/rs-metadata+xml); its parts: {kinds}",
                          pl="Sesja nagrania nie ma metadanych (application/rs-metadata+xml); "
                             f"jej części: {kinds}.")
    return sdp, meta or ""


def sdp_of(content_type: str, body: bytes | None) -> str:
    """The SDP a message carries: its body, or a multipart body's SDP part (a SIP-I or
    SIP-T trunk sends its SDP beside the ISUP message, RFC 3204, which is binary and never
    decoded); "" when it carries none."""
    kind = media_type(content_type)
    if body is None or not body:
        return ""
    if kind == "application/sdp":
        return text_of(kind, parameters(content_type).get("charset", ""), body)
    if kind.startswith("multipart/"):
        return first_of(read_multipart(content_type, body), "application/sdp") or ""
    return ""
