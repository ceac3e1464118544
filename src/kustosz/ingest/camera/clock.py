"""R1.8: how far the camera's clock is from ours, from RTCP sender reports.

ffmpeg's CLI does not expose the sender-report time, PyAV does (`start_time_realtime`: wall
time of pts 0 by the camera's clock). For each live packet, arrival − camera time = network
latency − offset; latency is never negative, so the smallest value over a short window is the
best estimate of −offset. Packets buffered while the stream was probed arrive late and are
excluded by that minimum too.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from kustosz.db.cameras import ClockOffset
from kustosz.vault import Vault

log = logging.getLogger(__name__)
WINDOW_S = 1.5
# Probes of one process at once. N cameras starting together all probe after their first
# segment; a hundred PyAV probes at once on two cores came back with offsets of +13 to +30 s
# (the arrival times of a starved process). The rest wait their turn.
PROBES_AT_ONCE = 4
# Two probes agreeing within this are one reading (the network's jitter is milliseconds; a
# probe spoilt by load is off by seconds). Below the clock watch's threshold (2 s), so a step
# the watch would report is never taken for jitter.
AGREE_S = 1.0
_slots = threading.BoundedSemaphore(PROBES_AT_ONCE)
# A camera with no reading yet whose probe failed or was spoilt (two that disagree) is probed
# again this soon, then twice as long each time up to the retry period (issue 64: one probe
# spoilt by a busy moment left a new camera without its offset for 5 minutes, its segments
# without clock_offset_s). One with a reading waits the period: its segments carry that.
FIRST_RETRY_S = 10.0


class ProbeRetry:
    """When a clock reading that failed is tried again."""

    def __init__(self, retry_s: float) -> None:
        self.retry_s = retry_s
        self.failed = 0  # readings failed in a row

    def after(self, known: bool) -> float:
        """Seconds until the next try, after one more failure; ``known``: the camera has a
        reading already."""
        self.failed += 1
        if known:
            return self.retry_s
        return min(self.retry_s, FIRST_RETRY_S * (1 << min(self.failed - 1, 16)))


@contextmanager
def probe_slot(stop: threading.Event) -> Iterator[bool]:
    """A turn to probe (True), or False if ``stop`` was set while waiting for one."""
    while not stop.is_set():
        if _slots.acquire(timeout=0.5):
            try:
                yield True
            finally:
                _slots.release()
            return
    yield False


@dataclass(frozen=True)
class Measurement:
    offset_s: float  # camera clock minus server clock
    samples: int


def measure_offset(url: str, window_s: float = WINDOW_S, timeout_s: float = 10.0
                   ) -> Measurement | None:
    """Connect once more to the camera and measure; None if it sends no sender reports."""
    import av  # noqa: PLC0415 - a heavy library, loaded by the work that needs it

    lags: list[float] = []
    try:
        # Video only, as the recorder asks (command.py): the sender reports then come from
        # the stream whose packets are timed, not from the sound's.
        with av.open(url, options={"rtsp_transport": "tcp", "allowed_media_types": "video"},
                     timeout=timeout_s) as c:
            if not c.streams.video:
                return None
            deadline = time.monotonic() + timeout_s
            for pkt in c.demux(c.streams.video[0]):
                now = time.time()
                if pkt.pts is not None and pkt.time_base is not None and \
                        c.start_time_realtime:
                    camera_time = c.start_time_realtime / 1e6 + float(pkt.pts * pkt.time_base)
                    lags.append(now - camera_time)
                    if len(lags) == 1:
                        deadline = min(deadline, time.monotonic() + window_s)
                if time.monotonic() > deadline:
                    break
    except (av.error.FFmpegError, OSError) as exc:
        log.info("clock offset not measured: %s", type(exc).__name__)
        return None
    if not lags:
        return None
    return Measurement(-min(lags), len(lags))


def store_offset(vault: Vault, source_id: int, session: str, m: Measurement) -> None:
    with vault.transaction() as s:
        s.add(ClockOffset(source_id=source_id, session=session, measured_at=datetime.now(UTC),
                          offset_s=m.offset_s, samples=m.samples))
