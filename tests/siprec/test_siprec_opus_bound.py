"""Issue 48 item 6: an Opus stream (a log of packets, not a file placed by time) is bounded by
its codec's rate and by time. Before, 20 000 oversized Opus packets from the SBC's own address
wrote 19.6 MB into one stream in 0.8 s (G.711: 0.022 MB, bounded by its clock) — enough of
them fills the disk, and disk pressure then deletes older evidence.

A real recording session (the SIPREC server, its socket, the stream's file): 20 000 packets of
1400 bytes as fast as the socket takes them, and 1 000 of 5 000 bytes; the log holds at most
what 510 kbit/s fills since the session began (plus a 5-s burst), the rest is counted as not
the call's, and the call is still stored."""

from __future__ import annotations

import socket
import time

from tests.siprec.siprec_helpers import recording_server, wait_for_calls
from tests.support.siprec import (
    SipClient,
    answered_ports,
    metadata,
    multipart,
    rtp_packet,
    status_of,
    to_tag_of,
)

from kustosz.ingest.phone.siprec.rtp import LOG_BURST_S, MAX_LOG_BYTES_S
from kustosz.vault import Vault

BODY = ("v=0\no=SRC 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\n"
        "m=audio 6000 RTP/AVP 111\na=rtpmap:111 opus/48000/2\na=label:1\na=sendonly\n"
        "m=audio 6002 RTP/AVP 111\na=rtpmap:111 opus/48000/2\na=label:2\na=sendonly\n")


def test_a_flood_of_opus_packets_is_bounded_by_rate_and_time(office: Vault) -> None:
    with recording_server(office) as srs:
        client = SipClient(srs.port)
        answer = client.request("INVITE", "flood", *multipart(
            ("application/sdp", BODY), ("application/rs-metadata+xml", metadata())))
        assert status_of(answer) == 200, answer
        tag = to_tag_of(answer)
        client.ack("flood", tag)
        port = answered_ports(answer)[0]
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        began = time.monotonic()
        for n in range(20_000):
            sender.sendto(rtp_packet(n, n * 960, b"\x78" * 1400, pt=111), ("127.0.0.1", port))
        for n in range(20_000, 21_000):
            sender.sendto(rtp_packet(n, n * 960, b"\x78" * 5000, pt=111), ("127.0.0.1", port))
        sender.close()
        rec = next(iter(srs.sessions.values()))
        [writer] = [w for w in rec.writers.values() if w.port == port]
        seen, deadline = -1, time.monotonic() + 30
        while time.monotonic() < deadline:  # until the socket is drained (no change for 1 s)
            now_seen = writer.counts.received + writer.counts.unexpected
            if now_seen == seen:
                break
            seen = now_seen
            time.sleep(1.0)
        elapsed = time.monotonic() - began
        size = writer.path.stat().st_size
        assert size <= (elapsed + LOG_BURST_S) * MAX_LOG_BYTES_S, (size, elapsed)
        assert size < 19_600_000 // 4
        assert writer.counts.unexpected > 1_000  # what did not fit: counted, not written
        assert status_of(client.request("BYE", "flood", to_tag=tag, cseq=2)) == 200
        client.close()
    ((_call, stored),) = wait_for_calls(office, 1)
    assert stored.meta["received"] == writer.counts.received
