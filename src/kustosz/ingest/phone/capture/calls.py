"""What the recorder of calls off a mirrored port (recorder.py) keeps: its settings, the lines
it reads, each call it follows and its counters."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pylibsrtp

from kustosz.ingest.phone.call_clock import CallClock
from kustosz.ingest.phone.capture.dialogs import Dialog
from kustosz.ingest.phone.capture.refusals import why_silent
from kustosz.ingest.phone.siprec.rtp import StreamWriter
from kustosz.ingest.phone.siprec.sdp import Crypto
from kustosz.ingest.phone.siprec.server import LineRule
from kustosz.ingest.phone.siprec.session import CallFacts, SessionFolder
from kustosz.phones.settings import DEFAULT_SIP_TCP_PORTS


@dataclass(frozen=True)
class CaptureSettings:
    root: Path  # the data folder's capture/
    socket: Path  # the data folder's capture.sock
    silence_s: float = 600.0  # an answered call with neither SIP nor RTP this long is closed
    no_sound_s: float = 15.0  # an answered call without RTP this long is alerted
    unanswered_s: float = 300.0  # a dialog never answered (nor failed) is forgotten after
    # a call in progress when the capture process went away and not heard this long after
    # it came back ended meanwhile (away.py)
    resume_s: float = 30.0
    loss_percent: float = 1.0
    max_calls: int = 1000  # offers followed at once; past it one unanswered goes (pending.py)
    max_offers_per_source: int = 100  # INVITEs from one address that nothing answered yet
    retry_s: float = 30.0
    watch_s: float = 1.0
    tls_recent_s: float = 300.0  # SIP over TLS seen this recently keeps its alert open


@dataclass(frozen=True)
class Protection:
    """How a stream's RTP is read: in clear, or SRTP with its sender's SDES key (None: the
    key is not usable, the sound cannot be read); its dynamic payload types by the two
    sides' a=rtpmap (the receiver's first: it chose the numbers the sender uses)."""

    secure: bool = False
    key: Crypto | None = None
    rtpmaps: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class CaptureLine:
    interface: str
    rule: LineRule  # the line's name, numbers and the policy's scope
    sip_tcp_ports: tuple[int, ...] = DEFAULT_SIP_TCP_PORTS  # where its SIP over TCP is


@dataclass
class Counters:
    calls: int = 0  # recorded calls (in scope)
    out_of_scope: int = 0
    skipped: int = 0  # frames that were not a whole UDP datagram or TCP segment
    unmatched: int = 0  # UDP datagrams that were neither SIP nor a followed call's RTP
    not_followed: int = 0  # dialogs past max_calls
    dropped: int = 0  # the kernel's drops, as the capture process reported them
    failed: int = 0  # frames whose handling failed (a fault of Kustosz's, logged)


@dataclass
class Call:
    interface: str
    dialog: Dialog
    line: LineRule
    clock: CallClock  # from its answer: the wall clock's reading then, the steady one's
    folder: SessionFolder | None  # None: out of scope, nothing written
    facts: CallFacts | None
    writers: dict[int, StreamWriter] = field(default_factory=dict)
    media: set[tuple[str, str, int]] = field(default_factory=set)  # its index keys
    last_heard: float = 0.0
    unsupported: set[int] = field(default_factory=set)  # payload types not recorded
    encrypted: int = 0  # SRTP packets without a usable key (not written: noise)
    forged: int = 0  # SRTP packets failing their authentication (not written)
    srtp: dict[int, pylibsrtp.Session] = field(default_factory=dict)  # by side
    no_sound_said: bool = False
    closed: bool = False

    @property
    def started(self) -> float:
        """The answer's time on the steady clock (the frames' times, FrameClock)."""
        return self.clock.steady_start

    def received(self) -> int:
        return sum(w.counts.received for w in self.writers.values())

    def why_silent(self) -> str:
        return why_silent(self.encrypted, self.forged, self.unsupported)
