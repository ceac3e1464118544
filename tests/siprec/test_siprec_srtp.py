"""SRTP with SDES keys (issue 35 item 1, RFC 4568 / RFC 3711): an SBC that encrypts its
recording session's sound offers its key in the SDP; Kustosz decrypts each packet with it
(libsrtp, through pylibsrtp — the sender here is libsrtp too, the real implementation, as no
SIPp build here speaks SRTP) and keeps the call as it was said. A packet that fails its
authentication (another key, tampered) is not written, only counted; an offer of SRTP without
a key Kustosz can use is refused (488) and changes nothing."""

from __future__ import annotations

import base64
import io
import secrets
import socket
import time
import wave
from pathlib import Path

import numpy as np
import pylibsrtp
import pytest
from tests.siprec.siprec_helpers import (
    calls_of,
    files_under,
    recording_server,
    wait_for_calls,
    wait_received,
)
from tests.support.siprec import (
    SipClient,
    alaw_to_pcm,
    answered_ports,
    best_match,
    metadata,
    multipart,
    offer,
    rtp_packet,
    sipp_available,
    speech,
    status_of,
    to_tag_of,
)

from kustosz.vault import Vault

pytestmark = pytest.mark.skipif(not sipp_available(), reason="espeak-ng or sox missing")
SUITE = "AES_CM_128_HMAC_SHA1_80"


def srtp_offer(keys: list[bytes], suite: str = SUITE) -> str:
    text = offer(transport="RTP/SAVP")
    out, n = [], 0
    for line in text.splitlines():
        out.append(line)
        if line.startswith("a=rtpmap"):
            out.append(f"a=crypto:1 {suite} inline:{base64.b64encode(keys[n]).decode()}")
            n += 1
    return "\n".join(out) + "\n"


def sender_for(key: bytes) -> pylibsrtp.Session:
    return pylibsrtp.Session(policy=pylibsrtp.Policy(
        key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND,
        srtp_profile=pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80))


def test_an_srtp_session_is_decrypted_with_its_offered_key_and_forgeries_are_counted(
        office: Vault, tmp_path: Path) -> None:
    audio = speech("Rozmowa szyfrowana, nagrywamy ją mimo to.", tmp_path, "srtp").read_bytes()
    keys = [secrets.token_bytes(30), secrets.token_bytes(30)]
    with recording_server(office) as srs:
        client = SipClient(srs.port)
        answer = client.request("INVITE", "srtp", *multipart(
            ("application/sdp", srtp_offer(keys)),
            ("application/rs-metadata+xml", metadata())))
        assert status_of(answer) == 200, answer
        assert answer.count("RTP/SAVP") == 2 and answer.count(f"a=crypto:1 {SUITE}") == 2
        for key in keys:  # Kustosz's own key in the answer is not the SRC's
            assert base64.b64encode(key).decode() not in answer
        tag = to_tag_of(answer)
        client.ack("srtp", tag)
        ports = answered_ports(answer)
        senders = [sender_for(k) for k in keys]
        forger = sender_for(secrets.token_bytes(30))
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        packets, start = 0, time.monotonic()
        for i in range(0, len(audio) - 159, 160):
            seq = i // 160
            for n in (0, 1):
                plain = rtp_packet(seq, i, audio[i:i + 160], ssrc=0x5000 + n)
                sock.sendto(senders[n].protect(plain), ("127.0.0.1", ports[n]))
            sock.sendto(forger.protect(rtp_packet(seq, i, b"\x2a" * 160, ssrc=0x5000)),
                        ("127.0.0.1", ports[0]))
            packets += 1  # paced as a phone sends: 20 ms a packet
            time.sleep(max(0.0, start + packets * 0.02 - time.monotonic()))
        sock.close()
        wait_received(srs, "srtp", 3 * packets)  # the forgeries counted too
        assert status_of(client.request("BYE", "srtp", to_tag=tag, cseq=2)) == 200
        client.close()
    ((_, rec),) = wait_for_calls(office, 1)
    assert rec.meta["received"] == 2 * packets and rec.meta["unexpected"] == packets
    with office.storage.open(rec.storage_key) as f, wave.open(io.BytesIO(f.read())) as w:
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    for channel in (0, 1):
        assert best_match(frames[:, channel], alaw_to_pcm(audio)) > 0.99


@pytest.mark.parametrize("case", ["no key", "a suite not taken", "a key too short",
                                  "an MKI"])
def test_srtp_without_a_usable_key_is_refused_and_writes_nothing(office: Vault,
                                                                 case: str) -> None:
    key = secrets.token_bytes(30)
    body = {
        "no key": offer(transport="RTP/SAVP"),
        "a suite not taken": srtp_offer([key, key], suite="F8_128_HMAC_SHA1_80"),
        "a key too short": srtp_offer([key[:20], key[:20]]),
        "an MKI": srtp_offer([key, key]).replace("\na=label", "|2^20|1:4\na=label"),
    }[case]
    with recording_server(office) as srs:
        client = SipClient(srs.port)
        answer = client.request("INVITE", "bad-srtp", *multipart(
            ("application/sdp", body), ("application/rs-metadata+xml", metadata())))
        assert status_of(answer) == 488, answer
        client.ack("bad-srtp", to_tag_of(answer))
        client.close()
    assert files_under(office.root / "siprec") == [] and calls_of(office) == []
