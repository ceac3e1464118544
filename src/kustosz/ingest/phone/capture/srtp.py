"""The SRTP of a call read off a mirrored port (RFC 3711, RFC 4568): each side's packets
decrypted with the SDES key its own SDP offered, which SIP over plain UDP shows on the wire."""

from __future__ import annotations

import pylibsrtp

from kustosz.ingest.phone.capture.calls import Call, Protection
from kustosz.ingest.phone.siprec.rtp import PROFILES


def decrypt(call: Call, side: int, protection: Protection, packet: bytes) -> bytes | None:
    """An SRTP packet's RTP (RFC 3711), with the SDES key its sender offered; None when
    it cannot be read — no usable key (noise is not a recording), or a packet failing its
    authentication (not the sender's) — counted either way."""
    if protection.key is None:
        call.encrypted += 1
        return None
    srtp = call.srtp.get(side)
    if srtp is None:
        srtp = call.srtp[side] = pylibsrtp.Session(policy=pylibsrtp.Policy(
            key=protection.key.key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_INBOUND,
            srtp_profile=PROFILES[protection.key.suite]))
    try:
        return bytes(srtp.unprotect(packet))
    except pylibsrtp.Error:
        call.forged += 1
        return None
