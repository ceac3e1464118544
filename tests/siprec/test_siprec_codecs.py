"""Each codec the recording server answers with is decoded into the call's WAV as it was sent
(issue 35 item 1: G.711 A-law and µ-law, G.722): a real RTP session per codec, speech encoded
by ffmpeg, compared by cross-correlation. G.722 makes the call's WAV 16 kHz, and a G.711
side beside it is resampled, not played at the wrong speed."""

from __future__ import annotations

import io
import socket
import subprocess
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from tests.siprec.siprec_helpers import recording_server, wait_for_calls
from tests.support.siprec import (
    SipClient,
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

from kustosz.ffmpeg import ffmpeg_exe
from kustosz.vault import Vault

pytestmark = pytest.mark.skipif(not sipp_available(), reason="espeak-ng or sox missing")
FORMATS = {"PCMA": ("alaw", 8, 8000), "PCMU": ("mulaw", 0, 8000), "G722": ("g722", 9, 16000)}


def _encode(wav: Path, codec: str, rate: int) -> bytes:
    fmt = FORMATS[codec][0]
    return subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", str(wav), "-ar", str(rate),
                           "-ac", "1", "-f", fmt, "-"], capture_output=True, check=True,
                          timeout=60).stdout


def _pcm(wav: Path, rate: int) -> np.ndarray:
    raw = subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", str(wav), "-ar", str(rate),
                          "-ac", "1", "-f", "s16le", "-"], capture_output=True, check=True,
                         timeout=60).stdout
    return np.frombuffer(raw, dtype="<i2")


@pytest.mark.parametrize("codecs", [("PCMU", "PCMU"), ("G722", "G722"), ("G722", "PCMA")])
def test_each_codec_is_kept_as_it_was_sent(office: Vault, tmp_path: Path,
                                           codecs: tuple[str, str]) -> None:
    speech("Dzień dobry, sprawdzamy zapis rozmowy.", tmp_path, "mowa")
    wav = tmp_path / "mowa.wav"
    sides = [_encode(wav, c, FORMATS[c][2]) for c in codecs]
    body = "v=0\no=SRC 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\n" + "".join(
        offer(str(FORMATS[c][1]), f"a=rtpmap:{FORMATS[c][1]} {c}/8000",
              labels=(str(n + 1),)).split("t=0 0\n", 1)[1] for n, c in enumerate(codecs))
    with recording_server(office) as srs:
        client = SipClient(srs.port)
        answer = client.request("INVITE", "codec", *multipart(
            ("application/sdp", body), ("application/rs-metadata+xml", metadata())))
        assert status_of(answer) == 200, answer
        for c in codecs:
            assert f"{c}/8000" in answer  # answered in the codec offered
        tag = to_tag_of(answer)
        client.ack("codec", tag)
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        ports = answered_ports(answer)
        # one byte per RTP tick for each of them (G.722's RTP clock runs at 8 kHz)
        for i in range(0, min(len(s) for s in sides) - 159, 160):
            for n, c in enumerate(codecs):
                sender.sendto(rtp_packet(i // 160, i, sides[n][i:i + 160], pt=FORMATS[c][1]),
                              ("127.0.0.1", ports[n]))
            time.sleep(0.004)
        sender.close()
        assert status_of(client.request("BYE", "codec", to_tag=tag, cseq=2)) == 200
        client.close()
    ((_, rec),) = wait_for_calls(office, 1)
    with office.storage.open(rec.storage_key) as f, wave.open(io.BytesIO(f.read())) as w:
        rate = w.getframerate()
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    assert rate == max(FORMATS[c][2] for c in codecs)
    for channel in (0, 1):
        assert best_match(frames[:, channel], _pcm(wav, rate)) > 0.9, (codecs, channel)


def test_opus_is_kept_as_it_was_sent_beside_g711_and_a_lost_packet_is_silence(
        office: Vault, tmp_path: Path) -> None:
    """Opus (RFC 7587, dynamic payload type, "opus/48000/2"): its packets vary in size, so its
    stream is a log of packets with their RTP time, decoded by libopus at the end; a G.711
    side beside it is resampled to the call's 48 kHz. A packet lost is silence in its place,
    the rest where it was said."""
    from tests.support.siprec import opus_packets, speech_pcm

    words = speech_pcm("Dzień dobry, urząd gminy, w czym mogę pomóc?", tmp_path, "opus")
    packets = opus_packets(words)
    assert len({len(p) for _, p in packets}) > 3  # of varying size indeed
    speech("Dzień dobry, urząd gminy, w czym mogę pomóc?", tmp_path, "mowa")
    alaw = _encode(tmp_path / "mowa.wav", "PCMA", 8000)
    body = ("v=0\no=SRC 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\n"
            "m=audio 6000 RTP/AVP 111 0\na=rtpmap:111 opus/48000/2\na=fmtp:111 useinbandfec=1"
            "\na=label:1\na=sendonly\n"
            "m=audio 6002 RTP/AVP 8\na=rtpmap:8 PCMA/8000\na=label:2\na=sendonly\n")
    with recording_server(office) as srs:
        client = SipClient(srs.port)
        answer = client.request("INVITE", "opus", *multipart(
            ("application/sdp", body), ("application/rs-metadata+xml", metadata())))
        assert status_of(answer) == 200 and "a=rtpmap:111 OPUS/48000" in answer, answer
        tag = to_tag_of(answer)
        client.ack("opus", tag)
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        ports = answered_ports(answer)
        lost = len(packets) // 2
        start = time.monotonic()
        for n, (tick, payload) in enumerate(packets):
            if n != lost:
                sender.sendto(rtp_packet(n, tick, payload, pt=111), ("127.0.0.1", ports[0]))
            i = n * 160
            if i + 160 <= len(alaw):
                sender.sendto(rtp_packet(n, i, alaw[i:i + 160]), ("127.0.0.1", ports[1]))
            # at the pace a phone sends: RTP time running ahead of arrival by more than
            # rtp.MAX_LEAP_S is placed again by arrival (a leap), as it should be
            time.sleep(max(0.0, start + (n + 1) * 0.02 - time.monotonic()))
        sender.close()
        assert status_of(client.request("BYE", "opus", to_tag=tag, cseq=2)) == 200
        client.close()
    ((_, rec),) = wait_for_calls(office, 1)
    assert [s["codec"] for s in rec.meta["streams"]] == ["OPUS", "PCMA"]
    assert rec.meta["lost"] == 1
    with office.storage.open(rec.storage_key) as f, wave.open(io.BytesIO(f.read())) as w:
        assert w.getframerate() == 48000
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    said = words.astype(np.int16)
    before, after = said[:lost * 960 - 2000], said[lost * 960 + 3000:]
    assert best_match(frames[:, 0], before) > 0.9 and best_match(frames[:, 0], after) > 0.9
    assert best_match(frames[:, 0], said) > 0.9  # whole: each part where it was said
    assert best_match(frames[:, 1], _pcm(tmp_path / "mowa.wav", 48000)) > 0.9
