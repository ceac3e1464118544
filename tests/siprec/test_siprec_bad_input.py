"""Bad input to the recording server (issue 35): each gets a clear answer and changes nothing —
no session, no folder, no recording — and the server goes on answering. A malformed message,
a recording session without metadata, metadata naming a stream the SDP lacks, a codec Kustosz
cannot decode (488), SRTP without keys (488), an SRC not on the line's list (403), a flood of
INVITEs from one address (503, not a crash); and within a session: RTP from another address
(ignored, counted), a session that never sends BYE (closed after the silence, marked so)."""

from __future__ import annotations

import socket
import time

import pytest
from tests.cameras.camera_helpers import wait_for
from tests.siprec.siprec_helpers import (
    calls_of,
    files_under,
    recording_server,
    wait_for_calls,
)
from tests.support.siprec import (
    SipClient,
    answered_ports,
    metadata,
    multipart,
    offer,
    rtp_packet,
    status_of,
    to_tag_of,
)

from kustosz.vault import Vault


def nothing_written(vault: Vault) -> None:
    assert files_under(vault.root / "siprec") == []
    assert calls_of(vault) == []


def refused(client: SipClient, body: tuple[str, str], call_id: str) -> str:
    answer = client.request("INVITE", call_id, body[0], body[1])
    client.ack(call_id, to_tag_of(answer))
    return answer


@pytest.mark.parametrize("case", ["no metadata", "sdp only", "labels the SDP lacks",
                                  "unsupported codec", "srtp without keys", "not multipart",
                                  "metadata with a doctype", "no label"])
def test_a_bad_recording_session_is_refused_with_its_reason_and_writes_nothing(
        office: Vault, case: str) -> None:
    bodies = {
        "no metadata": (multipart(("application/sdp", offer())), 400),
        "sdp only": ((offer(), "application/sdp"), 400),
        "labels the SDP lacks": (multipart(("application/sdp", offer()),
                                           ("application/rs-metadata+xml",
                                            metadata(labels=("1", "7")))), 400),
        "unsupported codec": (multipart(("application/sdp",
                                         offer("18", "a=rtpmap:18 G729/8000")),
                                        ("application/rs-metadata+xml", metadata())), 488),
        "srtp without keys": (multipart(("application/sdp", offer(transport="RTP/SAVP")),
                                        ("application/rs-metadata+xml", metadata())), 488),
        "not multipart": (("hello", "text/plain"), 415),
        "metadata with a doctype": (multipart(
            ("application/sdp", offer()),
            ("application/rs-metadata+xml",
             '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]>'
             '<recording xmlns="urn:ietf:params:xml:ns:recording:1">&a;</recording>')), 400),
        "no label": (multipart(("application/sdp", offer().replace("a=label:1\n", "")),
                               ("application/rs-metadata+xml", metadata())), 400),
    }
    body, code = bodies[case]
    with recording_server(office) as srs:
        client = SipClient(srs.port)
        answer = refused(client, body, f"bad-{case.replace(' ', '-')}")
        assert status_of(answer) == code, answer
        assert "Warning: 399 kustosz" in answer  # the reason, for the SBC's log
        # the server goes on: a good session after it is recorded
        good = client.request("INVITE", "good-after", *multipart(
            ("application/sdp", offer()), ("application/rs-metadata+xml", metadata())))
        assert status_of(good) == 200
        client.ack("good-after", to_tag_of(good))
        assert status_of(client.request("BYE", "good-after", to_tag=to_tag_of(good),
                                         cseq=2)) == 200
        assert srs.counters.refused == 1 and srs.counters.sessions == 1
        client.close()
    assert len(wait_for_calls(office, 1)) == 1


def test_an_address_not_on_the_lines_list_is_forbidden(office: Vault) -> None:
    with recording_server(office) as srs:
        stranger = SipClient(srs.port, source="127.0.0.2")
        answer = refused(stranger, multipart(("application/sdp", offer()),
                                             ("application/rs-metadata+xml", metadata())),
                         "stranger")
        assert status_of(answer) == 403
        stranger.close()
    nothing_written(office)


def test_a_malformed_message_is_dropped_and_the_server_goes_on(office: Vault) -> None:
    with recording_server(office) as srs:
        client = SipClient(srs.port)
        for junk in (b"\x00\xff" * 300, b"INVITE\r\n\r\n", b"SIP/2.0 200\r\n\r\n",
                     b"INVITE sip:x SIP/2.0\r\nContent-Length: 99999\r\n\r\nshort",
                     "BYE sip:é SIP/2.0\r\nVia: nic\r\n\r\n".encode()):
            client.send_raw(junk)
        assert status_of(client.request("OPTIONS", "still-there")) == 200
        assert srs.counters.malformed >= 3
        client.close()
    nothing_written(office)


def test_a_flood_of_invites_from_one_address_is_answered_503_not_a_crash(
        office: Vault) -> None:
    with recording_server(office, invite_rate=5.0, invite_burst=10) as srs:
        client = SipClient(srs.port)
        body = multipart(("application/sdp", offer()))  # no metadata: each refused, cheaply
        codes = []
        for i in range(60):
            codes.append(status_of(client.request("INVITE", f"flood-{i}", *body)))
        assert codes.count(400) <= 12 and codes.count(503) >= 45, codes
        assert srs.counters.rate_limited >= 45
        assert status_of(client.request("OPTIONS", "after-the-flood")) == 200
        client.close()
    nothing_written(office)


def _session(client: SipClient, call_id: str) -> tuple[str, list[int]]:
    answer = client.request("INVITE", call_id, *multipart(
        ("application/sdp", offer()), ("application/rs-metadata+xml", metadata())))
    assert status_of(answer) == 200, answer
    tag = to_tag_of(answer)
    client.ack(call_id, tag)
    return tag, answered_ports(answer)


def test_rtp_from_another_address_is_ignored_and_counted(office: Vault) -> None:
    with recording_server(office) as srs:
        client = SipClient(srs.port)
        tag, ports = _session(client, "spoofed")
        good = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        good.bind(("127.0.0.1", 0))
        bad = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        bad.bind(("127.0.0.2", 0))
        for i in range(25):
            good.sendto(rtp_packet(i, i * 160, b"\xd5" * 160), ("127.0.0.1", ports[0]))
            bad.sendto(rtp_packet(i, i * 160, b"\x2a" * 160), ("127.0.0.1", ports[0]))
            good.sendto(rtp_packet(i, i * 160, b"\xd5" * 160, pt=0), ("127.0.0.1", ports[1]))
            time.sleep(0.02)
        (rec,) = srs.sessions.values()
        wait_for(lambda: rec.writers["1"].counts.received == 25, 10, "the good packets")
        assert rec.writers["1"].counts.unexpected == 25  # the other address's
        assert rec.writers["2"].counts.unexpected == 25  # the wrong payload type
        assert status_of(client.request("BYE", "spoofed", to_tag=tag, cseq=2)) == 200
        good.close()
        bad.close()
        client.close()
    ((_, stored),) = wait_for_calls(office, 1)
    assert stored.meta["unexpected"] == 50


def test_a_session_that_never_sends_bye_is_closed_after_the_silence_and_marked_so(
        office: Vault) -> None:
    with recording_server(office, silence_s=1.5) as srs:
        client = SipClient(srs.port)
        _, ports = _session(client, "forgotten")
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for i in range(10):
            sender.sendto(rtp_packet(i, i * 160, b"\xd5" * 160), ("127.0.0.1", ports[0]))
        sender.close()
        ((_, rec),) = wait_for_calls(office, 1, timeout=60)
        assert rec.meta["ended"] == "silence"
        assert not srs.sessions
        client.close()
    assert files_under(office.root / "siprec") == []


def test_500_foreign_invites_write_one_warning_line_not_500(
        office: Vault, caplog: pytest.LogCaptureFixture) -> None:
    """Issue 48 item 10: each refusal is counted, but the log says it once a minute per
    address and answer; the next line carries how many were not written."""
    with recording_server(office) as srs:
        stranger = SipClient(srs.port, source="127.0.0.2")
        body = multipart(("application/sdp", offer()),
                         ("application/rs-metadata+xml", metadata()))
        for n in range(500):
            assert status_of(refused(stranger, body, f"stranger-{n}")) == 403
        stranger.close()
        assert srs.counters.refused == 500
    lines = [r for r in caplog.records if r.levelname == "WARNING"
             and "recording session from 127.0.0.2 refused" in r.getMessage()]
    assert len(lines) == 1, len(lines)
