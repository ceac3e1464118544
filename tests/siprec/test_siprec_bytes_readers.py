"""SIP and its bodies read by their bytes (issue 64: item 1 and S7): the message framed by its
Content-Length in bytes before any of it is text; what Kustosz sends counted the same way;
an SDP whose text cannot make lines of its own. The multipart body of a recording session: a
delimiter is a line of its own after a line break — CRLF as RFC 2046 §5.1.1 writes it, or LF
alone as some SBCs do — so a bare CR (or any other character ``str.splitlines`` breaks at: a
form feed, U+0085, U+2028) before ``--boundary`` is the content of its part; each part is
decoded only once it is cut out, by its own charset, and one that is not text (ISUP) is
never decoded at all."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kustosz.ingest.phone.sip_stack import MsgBody, SipHeader
from kustosz.ingest.phone.siprec.framing import BadMessage
from kustosz.ingest.phone.siprec.multipart import BadBody, read_multipart, recording_parts
from kustosz.ingest.phone.siprec.sdp import parse_offer
from kustosz.ingest.phone.siprec.sip import (
    BadRequest,
    TcpConnection,
    body_of,
    encode,
    parse,
    warning,
)

CT = "multipart/mixed;boundary=b0"
SDP = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=Żółć 😀\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n" \
      "m=audio 4000 RTP/AVP 0\r\na=label:1"
META = ("<recording xmlns='urn:ietf:params:xml:ns:recording:1'><participant "
        "participant_id='p'><nameID aor='sip:1@x'><name>Józef Żółć</name></nameID>"
        "</participant></recording>")


def body(*parts: tuple[str, bytes]) -> bytes:
    out = b""
    for kind, content in parts:
        out += b"--b0\r\nContent-Type: " + kind.encode() + b"\r\n\r\n" + content + b"\r\n"
    return out + b"--b0--\r\n"


@pytest.mark.parametrize("breaker", ["\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85",
                                     "\u2028", "\u2029"])
def test_a_boundary_after_a_bare_cr_or_another_unicode_line_break_is_content(
        breaker: str) -> None:
    """S7: "first\\r--b0" was cut into two parts, the second a forged SDP offer."""
    inner = f"first{breaker}--b0\r\nContent-Type: application/sdp\r\n\r\nforged".encode()
    (part,) = read_multipart(CT, body(("text/plain", inner)))
    assert part.kind == "text/plain" and part.text == inner.decode()


def test_a_boundary_after_crlf_or_lf_is_a_delimiter() -> None:
    for eol in (b"\r\n", b"\n"):
        data = b"--b0" + eol + b"Content-Type: text/plain" + eol * 2 + b"one" + eol + \
            b"--b0" + eol + b"Content-Type: application/sdp" + eol * 2 + b"two" + eol + \
            b"--b0--" + eol
        assert [(p.kind, p.text) for p in read_multipart(CT, data)] == [
            ("text/plain", "one"), ("application/sdp", "two")]


def test_each_part_is_decoded_by_its_own_charset_and_a_binary_part_never() -> None:
    """A SIP-I trunk's INVITE: SDP, and the ISUP message beside it (RFC 3204), binary; the
    metadata written in ISO-8859-2 as its XML declaration says."""
    isup = bytes(range(256))  # no UTF-8
    latin2 = ("<?xml version='1.0' encoding='ISO-8859-2'?>" + META).encode("iso-8859-2")
    data = body(("application/isup;version=itu-t92+", isup),
                ("application/sdp", SDP.encode()),
                ("application/rs-metadata+xml", latin2))
    sdp, meta = recording_parts(CT, data)
    assert sdp == SDP and "Józef Żółć" in meta
    charset = body(("application/sdp;charset=utf-8", SDP.encode()),
                   ("application/rs-metadata+xml;charset=windows-1250", META.encode("cp1250")))
    assert recording_parts(CT, charset) == (SDP, META)
    bom = body(("application/sdp", b"\xef\xbb\xbf" + SDP.encode()),
               ("application/rs-metadata+xml", META.encode()))
    assert recording_parts(CT, bom) == (SDP, META)


@pytest.mark.parametrize(("content", "words"), [
    (SDP.encode()[:-3] + b"\xc5", "the application/sdp part is not utf-8"),  # a cut "Ż"
    (b"v=0\r\ns=\xff\xfe\r\n", "invalid start byte"),
    (b"v=0\r\ns=\xed\xa0\x80\r\n", "not utf-8"),  # a surrogate, CESU-8
])
def test_a_part_that_is_not_the_text_it_says_it_is_refused_with_its_reason(
        content: bytes, words: str) -> None:
    with pytest.raises(BadBody) as caught:
        recording_parts(CT, body(("application/sdp", content),
                                 ("application/rs-metadata+xml", META.encode())))
    assert caught.value.status == 400 and words in str(caught.value)


def test_an_unknown_charset_is_refused() -> None:
    with pytest.raises(BadBody, match="charset 'x-klingon' is unknown"):
        recording_parts(CT, body(("application/sdp;charset=x-klingon", SDP.encode()),
                                 ("application/rs-metadata+xml", META.encode())))


# Text whose lines never begin with the delimiter may be in a part, all of it but a CR at its
# end (a CR before the delimiter's LF makes the CRLF that belongs to the delimiter) and a
# byte order mark at its start (dropped: it says how the text is written, not what)
content = st.text(st.characters(codec="utf-8"), max_size=60).filter(
    lambda t: "\n--b0" not in "\n" + t and not t.endswith("\r")
    and not t.startswith("\ufeff"))


@settings(max_examples=200)
@given(st.lists(st.tuples(st.sampled_from(["text/plain", "application/sdp",
                                           "application/rs-metadata+xml"]), content),
                min_size=1, max_size=5), st.sampled_from(["\r\n", "\n"]))
def test_every_part_comes_back_exactly_as_it_was_written(
        parts: list[tuple[str, str]], eol: str) -> None:
    data = "".join(f"--b0{eol}Content-Type: {kind}{eol}{eol}{text}{eol}"
                   for kind, text in parts) + f"--b0--{eol}"
    assert [(p.kind, p.text) for p in read_multipart(CT, data.encode())] == parts


# -- the SIP message, framed by its bytes ------------------------------------------------------
HEAD = ("INVITE sip:srs@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\n"
        'From: "Józef\u2028Żółć \\"Ż\\"" <sip:1@x>;tag=1\r\nTo: <sip:2@y>\r\nCall-ID: c\r\n'
        "CSeq: 1 INVITE\r\nSubject: Zażółć gęślą\u0085jaźń 😀\r\n"
        "Content-Type: application/sdp\r\n")


def sip_message(body: bytes, length: int | None = None, head: str = HEAD) -> bytes:
    said = len(body) if length is None else length
    return (head + f"Content-Length: {said}\r\n\r\n").encode() + body


def test_a_body_is_as_long_as_its_content_length_says_in_bytes() -> None:
    body = "v=0\r\ns=Józef Żółć 😀\r\n".encode()
    msg = parse(sip_message(body))
    assert body_of(msg) == body and len(body) - len(body.decode()) == 8
    assert body_of(parse(sip_message(body) + b"junk after it")) == body  # §18.3: dropped
    no_length = HEAD.encode() + b"\r\n" + body  # over UDP: the rest of the datagram
    assert body_of(parse(no_length)) == body
    assert body_of(parse(b"\r\n\r\n" + sip_message(body))) == body  # CRLFs first: ignored


def test_a_header_keeps_every_character_utf_8_allows() -> None:
    """sippy cut a header at U+2028 (str.splitlines): the From header's second half became
    a header line of its own, and the message was refused."""
    msg = parse(sip_message(b""))
    assert msg.getHFBody("from").getUri().name == 'Józef\u2028Żółć \\"Ż\\"'
    assert str(msg.getHFBody("subject")) == "Zażółć gęślą\u0085jaźń 😀"
    folded = HEAD.replace("Subject: Zażółć", "Subject: Zażółć\r\n  dalej")
    assert str(parse(sip_message(b"", head=folded)).getHFBody("subject")).startswith(
        "Zażółć dalej")


@pytest.mark.parametrize(("data", "words", "answerable"), [
    (sip_message(b"v=0\r\n", 9), "cut short: 5 bytes, its Content-Length says 9", True),
    (sip_message(b"v=0\r\n", None, HEAD + "Content-Length: 4\r\n"), "differ", True),
    (sip_message(b"", None, HEAD + "l: 0\r\n"), "", None),  # the same length twice: fine
    (HEAD.encode() + b"Content-Length: \xc2\xbd\r\n\r\n", "is not a number", True),  # "½"
    (HEAD.encode() + b"Content-Length: -1\r\n\r\n", "is not a number", True),
    (HEAD.replace("Subject: ", "Subject: a\rBcc: b ").encode() + b"\r\n", "control", True),
    (HEAD.replace("Subject: ", "Subject: \x00").encode() + b"\r\n", "control", True),
    (HEAD.encode().replace(b"\xc5\xbb", b"\xc5") + b"\r\n", "not UTF-8", True),
    (b"SIP/2.0 200 OK\r\nVia: x\r\nContent-Length: 9\r\n\r\nv=0", "cut short", False),
])
def test_a_message_that_is_no_sip_is_refused_with_why(data: bytes, words: str,
                                                      answerable: bool | None) -> None:
    if answerable is None:
        assert parse(data).getMethod() == "INVITE"
        return
    with pytest.raises(BadMessage) as caught:
        parse(data)
    assert words in str(caught.value)
    assert isinstance(caught.value, BadRequest) == answerable  # a request: answered 400


def test_what_kustosz_sends_counts_its_body_in_bytes_and_quotes_its_warning() -> None:
    req = parse(sip_message(b""))
    resp = req.genResponse(200, "OK")
    resp.setBody(MsgBody("v=0\r\ns=Żółć\r\n"))
    name, value = warning('the part "x\\y"\r\nBcc: z')
    resp.appendHeader(SipHeader(name=name, bodys=value))
    data = encode(resp)
    head, body = data.split(b"\r\n\r\n", 1)
    assert body == "v=0\r\ns=Żółć\r\n".encode()
    assert f"Content-Length: {len(body)}".encode() in head.split(b"\r\n")
    assert b'Warning: 399 kustosz "the part \\"x\\\\y\\" Bcc: z"' in head
    assert parse(data).scode == 200  # and it reads back


def test_no_text_of_an_offer_makes_a_line_of_its_own() -> None:
    """An SDP's text may hold U+2028 (RFC 8866 §9); sippy broke lines there, so an
    attribute "a=tool:x\\u2028c=IN IP4 6.6.6.6" made the stream's RTP be taken from
    6.6.6.6, and a user name with a no-break space made the offer unreadable."""
    sdp = ("v=0\r\no=Józef\u00a0Żółć 1 1 IN IP4 127.0.0.1\r\ns=Żółć\u2029😀\r\n"
           "i=\x0c\x1c\u0085\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 8\r\n"
           "a=label:1\r\na=tool:Żółć\u2028c=IN IP4 6.6.6.6\r\n")
    (stream,) = parse_offer(sdp)
    assert (stream.address, stream.port, stream.label) == ("127.0.0.1", 4000, "1")


class FakeTransport(asyncio.Transport):
    closed = False

    def get_extra_info(self, name: str, default: object = None) -> tuple[str, int]:
        return ("10.0.0.9", 5060)

    def is_closing(self) -> bool:
        return self.closed

    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def test_a_stream_is_cut_by_its_content_lengths_and_closed_where_two_differ() -> None:
    said: list[tuple[str, str]] = []
    got: list[bytes] = []
    conn = TcpConnection(lambda data, origin: got.append(data),
                         lambda host, why: said.append((host, why)))
    transport = FakeTransport()
    conn.connection_made(transport)
    good = sip_message("s=Żółć\r\n".encode())
    conn.data_received(good[:30])
    conn.data_received(good[30:] + good)  # two messages, the first cut across two reads
    assert got == [good, good]
    conn.data_received(sip_message(b"s=x\r\n", None, HEAD + "Content-Length: 3\r\n"))
    assert said == [("10.0.0.9", "it has Content-Length headers that differ: [3, 5]")]
    assert transport.closed and got == [good, good]
