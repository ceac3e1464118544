"""A stream's loss counts only its own payload's packets that never came (RFC 3550 A.3):
the same source's comfort noise (payload 13) or DTMF (telephone-event) between its speech
packets is no loss. Found replaying real captures off a mirrored port (issue 47: a heplify
SIP-over-TCP call counted 5 lost where tshark counts 0, Wireshark's fax call 1879 against
1712); the writer is SIPREC's and the capture's alike."""

from __future__ import annotations

import time
from pathlib import Path

from tests.support.siprec import rtp_packet

from kustosz.ingest.phone.siprec.rtp import StreamWriter
from kustosz.ingest.phone.siprec.sdp import PCMA, Stream


def test_comfort_noise_and_dtmf_of_the_same_source_are_no_loss(tmp_path: Path) -> None:
    stream = Stream(index=0, label="1", address="127.0.0.1", port=0, payload=8, codec=PCMA,
                    direction="sendonly")
    writer = StreamWriter(stream, tmp_path / "stream-1.raw", started=time.monotonic())
    writer.open()
    try:
        now = time.monotonic()
        for seq in range(1, 21):
            pt = {5: 13, 6: 13, 11: 101, 12: 101}.get(seq, 8)
            writer.take(rtp_packet(seq, seq * 160, b"\xd5" * 160, pt=pt), now + seq * 0.02)
        assert writer.lost() == 0
        writer.take(rtp_packet(25, 25 * 160, b"\xd5" * 160), now + 0.5)  # 21-24 never came
        assert writer.lost() == 4
    finally:
        writer.close()
