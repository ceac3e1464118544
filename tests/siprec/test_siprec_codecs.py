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
