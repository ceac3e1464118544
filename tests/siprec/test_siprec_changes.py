"""A recording session that changes while the call runs (RFC 7866 §8.1.3): the SRC sends a
re-INVITE when the call is put on hold and resumed, and when a stream is added (a transfer,
a third party); each is answered with the streams received so far on their ports. The
recording keeps the call's time: a hold is silence of its length, not a cut. Also SIPREC over
TCP (SIPp `-t t1`)."""

from __future__ import annotations

import io
import socket
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from tests.siprec.siprec_helpers import recording_server, wait_for_calls, wait_received
from tests.support.siprec import (
    SipClient,
    alaw_to_pcm,
    answered_ports,
    best_match,
    metadata,
    multipart,
    offer,
    rtp_packet,
    rtp_pcap,
    run_sipp,
    scenario,
    sipp_available,
    speech,
    status_of,
    to_tag_of,
)

from kustosz.vault import Vault


def _send(ports: list[int], first: int, count: int, byte: int) -> None:
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    start = time.monotonic()
    for n in range(count):
        i = first + n
        for port in ports:
            sender.sendto(rtp_packet(i, i * 160, bytes([byte]) * 160, ssrc=port),
                          ("127.0.0.1", port))
        time.sleep(max(0.0, start + (n + 1) * 0.02 - time.monotonic()))
    sender.close()


def test_a_hold_is_kept_as_silence_of_its_length_and_a_stream_added_is_recorded(
        office: Vault) -> None:
    with recording_server(office) as srs:
        client = SipClient(srs.port)
        answer = client.request("INVITE", "held", *multipart(
            ("application/sdp", offer()), ("application/rs-metadata+xml", metadata())))
        tag = to_tag_of(answer)
        client.ack("held", tag)
        ports = answered_ports(answer)
        _send(ports, 0, 50, 0x2A)  # 1 s of talk on both sides
        hold = client.request("INVITE", "held", *multipart(
            ("application/sdp", offer(extra="").replace("a=sendonly", "a=inactive"))),
            to_tag=tag, cseq=2)
        assert status_of(hold) == 200 and answered_ports(hold) == ports  # the same ports
        assert hold.count("a=inactive") == 2 and "a=recvonly" not in hold
        client.ack("held", tag, cseq=2)
        time.sleep(1.5)  # on hold: nothing sent
        three = offer(labels=("1", "2", "3"))
        resumed = client.request("INVITE", "held", *multipart(("application/sdp", three)),
                                 to_tag=tag, cseq=3)
        assert status_of(resumed) == 200
        now = answered_ports(resumed)
        assert now[:2] == ports and now[2] not in (0, *ports)  # the added stream's own port
        client.ack("held", tag, cseq=3)
        # an offerless re-INVITE (a session refresh): the 200 offers the streams as they are
        refresh = client.request("INVITE", "held", to_tag=tag, cseq=4)
        assert status_of(refresh) == 200 and answered_ports(refresh) == now
        client.ack("held", tag, cseq=4)
        # the RTP clock went on through the hold (the SRC's clock runs): 1.5 s further
        _send(now, 50 + 75, 50, 0x2A)
        wait_received(srs, "held", 50 * 2 + 50 * 3)
        assert status_of(client.request("BYE", "held", to_tag=tag, cseq=5)) == 200
        client.close()
    ((_, rec),) = wait_for_calls(office, 1)
    assert [s["label"] for s in rec.meta["streams"]] == ["1", "2", "3"]
    assert rec.meta["received"] == 50 * 2 + 50 * 3
    with office.storage.open(rec.storage_key) as f, wave.open(io.BytesIO(f.read())) as w:
        left = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)[:, 0]
    seconds = len(left) / 8000
    assert 3.45 <= seconds <= 4.6, seconds  # 1 s, the 1.5 s hold, 1 s: the call's own time
    loud = np.abs(left.astype(int)) > 100
    first, last = np.argmax(loud), len(loud) - np.argmax(loud[::-1])
    quiet = ~loud[first:last]
    assert quiet.sum() >= 1.2 * 8000  # the hold, silent inside the talk


@pytest.mark.skipif(not sipp_available(), reason="sipp, espeak-ng or sox missing")
def test_a_recording_session_over_tcp(office: Vault, tmp_path: Path) -> None:
    audio = speech("Połączenie przez TCP, sprawdzamy nagrywanie.", tmp_path, "tcp").read_bytes()
    pcap = tmp_path / "tcp.pcap"
    rtp_pcap([(audio, 6000), (audio, 6002)], pcap)
    with recording_server(office) as srs:
        run_sipp(scenario(pcap, len(audio) // 8 + 1000), tmp_path / "sipp",
                 f"127.0.0.1:{srs.port}", transport="t1",
                 keys={"caller": "+48581112233", "callee": "+48221234567",
                       "caller_name": "Jan"})
        ((call, rec),) = wait_for_calls(office, 1)
    assert call.direction == "incoming" and rec.meta["ended"] == "bye"
    with office.storage.open(rec.storage_key) as f, wave.open(io.BytesIO(f.read())) as w:
        left = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)[:, 0]
    assert best_match(left, alaw_to_pcm(audio)) > 0.99
