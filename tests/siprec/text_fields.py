"""The text a peer writes into a SIP message, for the property tests of issue 64 item 1: every
header and body field whose text the sender chooses — display names, Subject, an extension
header, the SDP's user name, session name, information and a tool attribute, the recording
metadata's names — filled with any UTF-8 (Polish letters, emoji, U+2028 and the other
characters Python breaks lines at drawn most often), and in some messages one fault: bytes
that are no UTF-8 in a header or a body part, a bare CR or a NUL in a header, a control
character XML forbids in a name, a body cut short of its Content-Length.

What each grammar allows is what is generated for a well-formed message: a quoted display
name any character but the ASCII controls (RFC 3261 §25.1 qdtext and quoted-pair, its quote
and backslash escaped), header text likewise (TEXT-UTF8char), the SDP's text fields any
character but NUL, CR and LF (RFC 8866 §9 byte-string, no white space in o='s user name),
a metadata name any XML character (escaped), not beginning or ending with the white space
XML itself trims. The AORs, tags and Call-IDs are the test's own (ASCII by their grammar)."""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

from hypothesis import strategies as st

POLISH = list("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ")
ODD = ["😀", "📞", "\u2028", "\u2029", "\u0085", "\u00a0", "\u200b", "\u3000", "\ufeff",
       "Józef Żółć", "Urząd Miejski w Elblągu"]
# Sequences that are no UTF-8: a lone lead byte (a cut "Ż"), bytes never in UTF-8, a
# surrogate written as UTF-8 (CESU-8), past U+10FFFF, an overlong "/"
INVALID = [b"\xc5", b"\xff\xfe", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf"]
# the faults of a message that cannot be read as SIP (an input.refused alert), and of a
# recording session's body (refused 400, a phone_recording alert)
MESSAGE_FAULTS = ["header bytes", "bare CR", "NUL", "short body"]
BODY_FAULTS = ["sdp bytes", "name bytes", "name control"]

_CHAR = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs"),
                      exclude_characters="\ufffe\uffff")
_PIECE = st.one_of(st.sampled_from(POLISH + ODD), _CHAR)


def text(min_size: int = 1, max_size: int = 8) -> st.SearchStrategy[str]:
    return st.lists(_PIECE, min_size=min_size, max_size=max_size).map("".join)


sdp_text = st.lists(st.one_of(_PIECE, st.sampled_from(["\t", "\x0b", "\x0c", "\x1c", "\x7f"])),
                    min_size=1, max_size=8).map("".join)
name = text().filter(lambda n: n[0] not in ' "' and n[-1] not in ' "')


@dataclass(frozen=True)
class Fields:
    from_name: str
    to_name: str
    subject: str
    note: str  # an extension header's value
    sdp_user: str
    sdp_session: str
    sdp_info: str
    tool: str
    caller_name: str
    callee_name: str
    fault: str | None
    bad: bytes  # the bytes a fault puts in


def fields(faults: list[str]) -> st.SearchStrategy[Fields]:
    """The fields of one message; one in three with one of ``faults``."""
    return st.builds(
        Fields, from_name=text(), to_name=text(), subject=text(), note=text(),
        sdp_user=text().map(lambda t: t.replace(" ", "_")), sdp_session=sdp_text,
        sdp_info=sdp_text, tool=sdp_text, caller_name=name, callee_name=name,
        fault=st.one_of(st.none(), st.none(), st.sampled_from(faults)),
        bad=st.sampled_from(INVALID))


def quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _with_fault(f: Fields, which: str, value: bytes) -> bytes:
    """``value`` with the fault ``which`` put in, if it is the example's."""
    if f.fault != which:
        return value
    return {"sdp bytes": value + f.bad, "name bytes": value + f.bad,
            "bare CR": value + b"\r" + value,
            "NUL": value + b"\x00", "name control": value + b"\x01"}[which]


def sdp(f: Fields, address: str, ports: tuple[int, ...], labels: bool) -> bytes:
    """An offer (or an answer) of G.711 streams, each at its port, with the fields' text."""
    head = (b"v=0\r\no=" + f.sdp_user.encode() + b" 1 1 IN IP4 " + address.encode() +
            b"\r\ns=" + _with_fault(f, "sdp bytes", f.sdp_session.encode()) +
            b"\r\ni=" + f.sdp_info.encode() + b"\r\nc=IN IP4 " + address.encode() +
            b"\r\nt=0 0\r\na=tool:" + f.tool.encode() + b"\r\n")
    media = b"".join(b"m=audio %d RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n" % port +
                     (b"a=label:%d\r\na=sendonly\r\n" % (i + 1) if labels else b"")
                     for i, port in enumerate(ports))
    return head + media


def metadata(f: Fields, caller: str, callee: str) -> bytes:
    def named(value: str, which: str) -> bytes:
        return b"<name>" + _with_fault(f, which, escape(value).encode()) + b"</name>"
    return (b"<?xml version='1.0' encoding='UTF-8'?>\r\n"
            b"<recording xmlns='urn:ietf:params:xml:ns:recording:1'>"
            b"<datamode>complete</datamode>"
            b"<participant participant_id='cDE='><nameID aor='sip:" + caller.encode() +
            b"@sbc.example'>" + named(f.caller_name, "name bytes") + b"</nameID></participant>"
            b"<participant participant_id='cDI='><nameID aor='sip:" + callee.encode() +
            b"@urzad.example'>" + named(f.callee_name, "name control") +
            b"</nameID></participant>"
            b"<stream stream_id='czE=' session_id='cw=='><label>1</label></stream>"
            b"<stream stream_id='czI=' session_id='cw=='><label>2</label></stream>"
            b"<participantstreamassoc participant_id='cDE='><send>czE=</send>"
            b"</participantstreamassoc><participantstreamassoc participant_id='cDI='>"
            b"<send>czI=</send></participantstreamassoc></recording>")


def multipart(*parts: tuple[bytes, bytes]) -> bytes:
    return b"".join(b"--kz-b0\r\nContent-Type: " + kind + b"\r\n\r\n" + content + b"\r\n"
                    for kind, content in parts) + b"--kz-b0--\r\n"


def message(start: str, f: Fields, headers: list[bytes], body: bytes = b"",
            content_type: str = "") -> bytes:
    """A request or response: its start line, ``headers`` as given, then the fields' own
    headers, the body and its Content-Length (in bytes; 7 more for a body cut short)."""
    lines = [start.encode(), *headers,
             b"Subject: " + _with_fault(f, "bare CR", f.subject.encode()),
             b"X-Kustosz-Note: " + _with_fault(f, "NUL", f.note.encode())]
    if content_type:
        lines.append(f"Content-Type: {content_type}".encode())
    length = len(body) + (7 if f.fault == "short body" and body else 0)
    lines.append(b"Content-Length: %d" % length)
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def display(f: Fields, which: str) -> bytes:
    """The display name of From (``which`` "from", the header-bytes fault in it) or To, as
    a quoted-string."""
    value = quoted(f.from_name if which == "from" else f.to_name).encode()
    if which != "from" or f.fault != "header bytes":
        return value
    return value[:-1] + f.bad + b'"'
