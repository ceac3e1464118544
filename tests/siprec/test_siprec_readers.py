"""The readers of a recording session's INVITE (issue 47), each form real SBCs write: the
multipart body (RFC 2046), the metadata (RFC 7865 and the drafts before it), the numbers in
its addresses of record, an SDP without its t= and c= lines — and what stays refused."""

from __future__ import annotations

import pytest

from kustosz.ingest.phone.siprec.metadata import BadMetadata, number_of, parse_metadata
from kustosz.ingest.phone.siprec.multipart import (
    MAX_PARTS,
    BadBody,
    boundary_of,
    read_multipart,
    recording_parts,
)
from kustosz.ingest.phone.siprec.sdp import BadOffer, completed, parse_offer

SDP = "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\nm=audio 4000 RTP/AVP 0\n" \
      "a=label:1\n"
META = "<recording xmlns='urn:ietf:params:xml:ns:recording:1'/>"


def body(*, preamble: str = "", close: bool = True, epilogue: str = "", eol: str = "\n",
         boundary: str = "b0", padding: str = "") -> str:
    parts = [("application/sdp", SDP.strip()), ("application/rs-metadata+xml", META)]
    out = preamble
    for kind, text in parts:
        out += f"--{boundary}{padding}\nContent-Type: {kind}\n\n{text}\n"
    if close:
        out += f"--{boundary}--{padding}\n{epilogue}"
    return out.replace("\n", eol)


@pytest.mark.parametrize("content_type", [
    "multipart/mixed;boundary=b0", 'multipart/mixed; boundary="b0"',
    "multipart/mixed ; boundary = b0", "Multipart/Mixed;BOUNDARY=b0;charset=utf-8",
    'multipart/mixed;boundary="b0" '])
@pytest.mark.parametrize("form", ["plain", "preamble", "epilogue", "no close", "crlf",
                                  "padding"])
def test_every_form_of_the_multipart_body_gives_the_same_two_parts(
        content_type: str, form: str) -> None:
    text = {"plain": body(), "preamble": body(preamble="\r\n  \nignored text\n"),
            "epilogue": body(epilogue="trailing words\n--b0\nContent-Type: x/y\n\nz\n"),
            "no close": body(close=False), "crlf": body(eol="\r\n"),
            "padding": body(padding=" \t")}[form]
    sdp, meta = recording_parts(content_type, text.encode())
    assert sdp.replace("\r\n", "\n") == SDP.strip()
    assert meta == META


def test_a_part_that_looks_like_a_delimiter_but_is_longer_is_content() -> None:
    text = "--b0\nContent-Type: text/plain\n\n--b0x is not mine\n--b0--\n"
    (part,) = read_multipart("multipart/mixed;boundary=b0", text.encode())
    assert part.text == "--b0x is not mine"


def test_both_metadata_content_types_are_taken() -> None:
    text = body().replace("application/rs-metadata+xml", "application/rs-metadata")
    assert recording_parts("multipart/mixed;boundary=b0", text.encode())[1] == META


@pytest.mark.parametrize(("content_type", "text", "status", "words"), [
    ("text/plain", "hello", 415, "not multipart/mixed"),
    ("", "hello", 415, "untyped"),
    ("multipart/mixed", body(), 400, "names no boundary"),
    ('multipart/mixed;boundary=""', body(), 400, "names no boundary"),
    ("multipart/mixed;boundary=" + "x" * 71, body(), 400, "not a valid boundary"),
    ("multipart/mixed;boundary=b0", SDP, 400, "no part"),
    ("multipart/mixed;boundary=b0", "--b0\nno colon here\n\nx\n--b0--\n", 400, "no ':'"),
    ("multipart/mixed;boundary=b0", "--b0\nContent-Type: application/rs-metadata+xml\n\n"
     + META + "\n--b0--\n", 400, "no SDP offer"),
    ("multipart/mixed;boundary=b0", "--b0\n\nx\n" * (MAX_PARTS + 1), 400, "more than"),
])
def test_a_body_that_cannot_be_read_is_refused_with_its_reason(
        content_type: str, text: str, status: int, words: str) -> None:
    with pytest.raises(BadBody) as caught:
        recording_parts(content_type, text.encode())
    assert caught.value.status == status and words in str(caught.value)


def test_a_body_without_metadata_is_refused_as_unreadable_metadata() -> None:
    text = "--b0\nContent-Type: application/sdp\n\n" + SDP + "--b0--\n"
    with pytest.raises(BadMetadata, match="no metadata"):
        recording_parts("multipart/mixed;boundary=b0", text.encode())
    assert recording_parts("multipart/mixed;boundary=b0", text.encode(),
                           metadata_required=False)[1] \
        == ""


def test_a_boundary_is_read_with_its_escapes() -> None:
    assert boundary_of(r'multipart/mixed; boundary="a\b c;d"') == "ab c;d"


@pytest.mark.parametrize(("aor", "number"), [
    ("sip:+48221234567@example.org", "+48221234567"),
    ("sips:7301@35.162.237.204", "7301"),
    ("SIP:0771121212@52.57.92.239;user=phone", "0771121212"),
    ("tel:+48-22-123-45-67;phone-context=example.org", "+48-22-123-45-67"),
    ("tel:+48221234567", "+48221234567"),
    ("<sip:9000@192.168.50.102>", "9000"),
    ("2249888500@172.16.198.55", "2249888500"),  # Ribbon/Sonus: no scheme
    ("4058327108@10.105.190.136:5060", "4058327108"),  # Intrado: no scheme, a port
    ("Extension-016190619@speechpath.ie", "016190619"),  # SEMS
    ("sip:ASBCE@asbce.com", "ASBCE"),  # no number at all: left as it is (not a number)
    ("sip:agent1-22-33@x", "agent1-22-33"),  # more than one run of digits: not guessed
])
def test_the_number_of_an_address_of_record_in_every_writing(aor: str, number: str) -> None:
    assert number_of(aor) == number


DRAFT = """<recording xmlns='urn:ietf:params:xml:ns:recording'>
 <participant id="B"><nameID aor="sip:1002@x"/><send>s2</send>
  <extensiondata xmlns:apkt="http://acmepacket.com/siprec/extensiondata">
   <apkt:callingParty>false</apkt:callingParty></extensiondata></participant>
 <participant id="A"><nameID aor="sip:9000@x"><name>Dziewięć</name></nameID><send>s1</send>
  <extensiondata xmlns:apkt="http://acmepacket.com/siprec/extensiondata">
   <apkt:callingParty>true</apkt:callingParty></extensiondata></participant>
 <stream id="s1"><label>11</label></stream><stream id="s2"><label>12</label></stream>
</recording>"""


def test_the_draft_form_of_the_metadata_is_read_with_its_caller_first() -> None:
    meta = parse_metadata(DRAFT)
    assert [(p.number, p.name, meta.label_of(p)) for p in meta.participants] == [
        ("9000", "Dziewięć", ["11"]), ("1002", "", ["12"])]


def test_a_role_names_the_caller_and_a_prefixed_root_is_read() -> None:
    text = ("<x:recording xmlns:x='urn:ietf:params:xml:ns:recording:1'>"
            "<x:participant participant_id='b'><x:nameID aor='sip:200@x'/></x:participant>"
            "<x:participant participant_id='a'><x:nameID aor='tel:+48221234567'/>"
            "<x:role>calling</x:role></x:participant></x:recording>")
    assert [p.number for p in parse_metadata(text).participants] == ["+48221234567", "200"]


def test_a_bare_ampersand_is_read_as_itself_and_an_undefined_entity_stays_refused() -> None:
    text = ("<recording><participant participant_id='a'><nameID aor='sip:+17209132000@x'>"
            "<name>DENVER CITY&CNT &amp; &#38; &#x26;</name></nameID></participant></recording>")
    (who,) = parse_metadata(text).participants
    assert who.name == "DENVER CITY&CNT & & &"
    with pytest.raises(BadMetadata, match="not well-formed"):
        parse_metadata("<recording>&undefined;</recording>")


def _broadworks(kind: str, calling: str, called: str) -> str:
    return ("<recording_metadata xmlns='urn:ietf:params:xml:ns:siprec'>"
            "<participant id='u'><aor>sip:user1007@example.test</aor>"
            "<send>\n <id>s1</id>\n</send></participant>"
            "<participant id='o'><aor>sip:+48221234567@192.0.2.10;user=phone</aor>"
            "<send><id>s2</id></send></participant>"
            "<stream id='s1'><label>1</label></stream><stream id='s2'><label>2</label></stream>"
            "<extensiondata><broadWorksRecordingMetadata "
            "xmlns='http://schema.broadsoft.com/broadworksCallRecording'>"
            f"<userID>user1007@example.test</userID><callType><{kind}>"
            f"<callingPartyNumber>{calling}</callingPartyNumber>"
            f"<calledPartyNumber>{called}</calledPartyNumber></{kind}></callType>"
            "</broadWorksRecordingMetadata></extensiondata></recording_metadata>")


@pytest.mark.parametrize(("kind", "calling", "called", "first"), [
    # the user's own call: the user (no number in the AOR, known by userID) calls
    ("origCall", "sip:+48220000007@192.0.2.10", "sip:+48221234567@192.0.2.10",
     "+48220000007"),
    # a call the user took: the other party, known by its number, calls
    ("termCall", "sip:+48221234567@192.0.2.10;user=phone", "sip:+48220000007@x", "+48221234567"),
])
def test_broadworks_own_form_is_read_with_the_caller_its_extension_names(
        kind: str, calling: str, called: str, first: str) -> None:
    """Cisco BroadWorks writes <recording_metadata> (urn:ietf:params:xml:ns:siprec), an
    <aor> element, <send><id>…</id></send>, and says who called only in its extension
    (tests/corpus/siprec/broadworks)."""
    meta = parse_metadata(_broadworks(kind, calling, called))
    assert next(p.number for p in meta.participants) == first
    # the user's number: the one the extension gives, not the digits in the user's name
    assert {p.number: meta.label_of(p) for p in meta.participants} == {
        "+48220000007": ["1"], "+48221234567": ["2"]}


@pytest.mark.parametrize(("written", "name"), [
    ("&quot;ECG Tester&quot;", "ECG Tester"),  # Oracle/Acme: SIP's quotes copied in
    ('"Kowalski \\"Jan\\""', 'Kowalski "Jan"'),
    ("O'Brien \"Jr\"", "O'Brien \"Jr\""),  # quotes inside a name are its own
    ('"', '"'),
])
def test_a_display_name_loses_the_quotes_sip_wrote_around_it(written: str, name: str) -> None:
    text = (f"<recording><participant participant_id='a'><nameID aor='sip:1@x'>"
            f"<name>{written}</name></nameID></participant></recording>")
    assert parse_metadata(text).participants[0].name == name


@pytest.mark.parametrize(("text", "words"), [
    ("not xml at all", "not well-formed XML"),
    ("<recording><participant></recording", "not well-formed XML"),
    ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><recording>&a;</recording>',
     "document type"),
    ("<html><body>recording</body></html>", "not <recording>"),
    ("<recording>" + "<x/>" * 20000 + "</recording>", "larger than"),
])
def test_metadata_that_cannot_be_used_stays_refused(text: str, words: str) -> None:
    with pytest.raises(BadMetadata, match=words):
        parse_metadata(text)


def test_an_sdp_without_t_and_c_is_read_and_its_rtp_taken_from_the_sessions_address(
) -> None:
    opensips = ("v=0\r\no=- 1516628962 0 IN IP4 0.0.0.0\r\ns=-\r\nm=audio 35011 RTP/AVP 0\r\n"
                "a=label:1\r\na=sendonly\r\n")
    assert completed(opensips) == ("v=0\r\no=- 1516628962 0 IN IP4 0.0.0.0\r\ns=-\r\n"
                                   "c=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 35011 RTP/AVP 0\r\n"
                                   "a=label:1\r\na=sendonly\r\n")
    (stream,) = parse_offer(opensips)
    assert (stream.label, stream.port, stream.address) == ("1", 35011, "")
    assert completed(SDP) == SDP  # a whole SDP is not touched


def test_an_sdp_that_is_no_sdp_stays_refused() -> None:
    with pytest.raises(BadOffer):
        parse_offer("hello\nworld\n")
