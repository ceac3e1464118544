"""The event listener frames by bytes and decodes after (issue 64 item 1): syslog over TCP by
octet counting (RFC 6587 §3.4.1: the count is of octets) or by LF, RELP by its DATALEN, HTTP
by Content-Length (RFC 9112 §6.3), NDJSON by LF — never by characters, and never at a line
break of Python's own (U+2028, U+0085) that a message or a JSON string may hold. A message
cut at the frame limit is cut between two characters, not inside a "ż"."""

from __future__ import annotations

import json
import socket
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from monitoring_helpers import endpoint, events_listener, post, wait_for

from kustosz.ingest.events.relp import Parser
from kustosz.ingest.events.search import search_events
from kustosz.ingest.events.syslog import MAX_FRAME, Framer, parse, whole_chars
from kustosz.vault import Vault

TEXT = "Józef Żółć zgłasza: pendrive \u2028odłączony 📞\u0085 koniec"
POLISH = "<13>1 2026-11-21T10:00:00+01:00 pc-7 app - - - " + TEXT


def octets(message: bytes) -> bytes:
    return b"%d %s" % (len(message), message)


@settings(max_examples=200)
@given(st.lists(st.binary(min_size=1, max_size=300) | st.text(min_size=1).map(str.encode),
                min_size=1, max_size=6), st.lists(st.integers(1, 40), min_size=1))
def test_octet_counted_frames_come_back_exactly_however_the_stream_is_cut(
        messages: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(octets(m) for m in messages)
    framer, got, at, i = Framer(), [], 0, 0
    while at < len(stream):
        step = cuts[i % len(cuts)]
        got += framer.feed(stream[at:at + step])
        at, i = at + step, i + 1
    assert got == messages


@given(st.binary(max_size=40) | st.text(max_size=20).map(str.encode), st.integers(0, 45))
def test_a_cut_keeps_whole_characters_and_only_cuts_what_is_too_long(data: bytes,
                                                                      limit: int) -> None:
    cut = whole_chars(data, limit)
    if len(data) <= limit:
        assert cut == data  # whole, even where it is no UTF-8
        return
    assert data.startswith(cut) and limit - 3 <= len(cut) <= limit
    try:
        data.decode()
    except UnicodeDecodeError:
        return
    cut.decode()  # UTF-8 cut between two characters


@pytest.mark.parametrize("chunk", [1 << 16, 1000, 7])
def test_an_oversized_frame_is_cut_between_two_characters(chunk: int) -> None:
    """70 000 bytes of "ż" after an odd-length header: the 64 KiB limit falls inside a
    letter. The part kept is valid UTF-8 and as long as the limit allows, however the
    sender's bytes arrive (before, a frame larger than the limit whose first read was short
    was kept as just that read)."""
    message = b"<13>1 - pc-7 app - - - " + "ż".encode() * 35000
    for stream in (octets(message) + octets(b"<13>next"), message + b"\n<13>next\n"):
        framer, frames = Framer(), []
        for at in range(0, len(stream), chunk):
            frames += framer.feed(stream[at:at + chunk])
        first, after = frames
        assert MAX_FRAME - 3 <= len(first) <= MAX_FRAME and message.startswith(first)
        assert framer.oversized == 1 and after == b"<13>next"
        p = parse(first, ZoneInfo("Europe/Warsaw"))
        assert "invalid_utf8" not in p.problems and p.message.endswith("ż")


def test_relp_data_is_counted_in_bytes() -> None:
    data = POLISH.encode()
    stream = b"1 syslog %d %s\n2 syslog 2 ok\n" % (len(data), data)
    parser, frames = Parser(), []
    for i in range(len(stream)):
        frames += parser.feed(stream[i:i + 1])
    assert [f.data for f in frames] == [data, b"ok"] and parser.error is None


def _raw_http(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    return answer


def test_polish_text_and_line_separators_are_stored_intact_from_every_transport(
        elblag_sqlite: Vault) -> None:
    vault = elblag_sqlite
    token = endpoint(vault)
    bg = events_listener(vault)
    try:
        tcp = bg.service.addresses["syslog_tcp"][1]
        http = bg.service.addresses["http"][1]
        with socket.create_connection(("127.0.0.1", tcp), timeout=10) as sock:
            sock.sendall(octets(POLISH.encode()) + POLISH.replace("koniec", "LF").encode()
                         + b"\n")
        ndjson = "\n".join(json.dumps({"time": "2026-11-21T10:00:00+01:00", "host": "pc-9",
                                       "message": TEXT + f" {i}"}, ensure_ascii=False)
                           for i in range(2)).encode()
        status, answer = post(f"http://127.0.0.1:{http}/events", ndjson, token)
        assert (status, answer["accepted"], answer["refused"]) == (202, 2, [])
        wait_for(lambda: bg.service.counters.totals["events"] == 4)
        assert bg.service.counters.totals["invalid_utf8"] == 0
        bg.flush()
    finally:
        bg.stop()
    with vault.reading() as s:
        messages = sorted(e["message"] for e in search_events(s))
    assert messages == sorted([TEXT, TEXT.replace("koniec", "LF"), TEXT + " 0", TEXT + " 1"])


@pytest.mark.parametrize("fields", [
    b"Content-Length: \xb2\r\n",  # "²": a digit to str.isdigit, not to HTTP
    b"Content-Length: 2\r\nContent-Length: 40\r\n",  # two readers, two messages
    b"Transfer-Encoding: chunked\r\n",  # framed otherwise: not taken
])
def test_a_request_whose_length_is_not_plain_bytes_is_answered_411(
        elblag_sqlite: Vault, fields: bytes) -> None:
    token = endpoint(elblag_sqlite)
    bg = events_listener(elblag_sqlite)
    try:
        answer = _raw_http(bg.service.addresses["http"][1],
                           b"POST /events HTTP/1.1\r\nHost: k\r\nAuthorization: Bearer " +
                           (token or "").encode() + b"\r\n" + fields + b"\r\n{}")
        assert answer.startswith(b"HTTP/1.1 411 "), answer
        assert b"Connection: close" in answer
        assert bg.service.counters.totals["events"] == 0
    finally:
        bg.stop()
