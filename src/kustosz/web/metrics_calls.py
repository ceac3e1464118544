"""What /metrics says of phone lines without telling when someone is on the phone (issue 64,
N6; issue 48 item 11 began it with the calls recorded now).

A line's newest call's age, its bytes stored and its counts of calls stored or out of scope
move, scrape by scrape, when someone on that line hangs up: per line, second by second, they
tell when who was on the phone. They are given for all lines together, one number each; a
line keeps, as every source, whether it delivers, its gaps and its refusals."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from kustosz.db.models import Source
from kustosz.ingest.phone.siprec import status as siprec_status
from kustosz.kinds import SourceKind

# a line's intake counters that count its calls (PhoneIntakeState): all lines together only
PER_CALL_COUNTERS = ("stored", "out_of_scope")


def per_item(source: Source) -> bool:
    """Whether the source's own newest item, bytes and item counts may be shown: not a
    phone line's (its items are calls)."""
    return source.kind != SourceKind.PHONE


def all_lines(sources: list[Source], newest: Mapping[int, datetime],
              size: Mapping[int, int | None], counts: Mapping[int, Mapping[str, int]],
              now: datetime) -> Iterator[Metric]:
    """The phone lines' newest call, bytes and calls by outcome, all lines together."""
    lines = [s.id for s in sources if not per_item(s)]
    if not lines:
        return
    last = max((newest[i] for i in lines if i in newest), default=None)
    if last is not None:
        yield GaugeMetricFamily("kustosz_phone_last_call_age_seconds",
                                "Seconds since the end of the newest stored call, all lines",
                                value=max(0.0, (now - last).total_seconds()))
    yield GaugeMetricFamily("kustosz_phone_bytes", "Bytes stored for calls, all lines",
                            value=float(sum(size.get(i) or 0 for i in lines)))
    calls = CounterMetricFamily("kustosz_phone_calls", "Calls the lines' intake stored or "
                                "left out of scope, all lines", labels=["outcome"])
    for outcome in PER_CALL_COUNTERS:
        calls.add_metric([outcome], float(sum(counts.get(i, {}).get(outcome, 0)
                                              for i in lines)))
    yield calls


def recording_now() -> Iterator[Metric]:
    """The recording server of this serve (issue 35): sessions recorded now per line (a
    count, never who), and what it took, declined and refused since it started; then
    the calls read off mirrored ports."""
    yield from _capture()
    now = siprec_status.current()
    if not now.listening:
        return
    # all lines together: per line, second by second, it would tell when who is on the
    # phone (issue 48 item 11)
    yield GaugeMetricFamily("kustosz_siprec_sessions_active",
                            "Calls being recorded through SIPREC now, all lines",
                            value=float(sum(now.active.values())))
    total = CounterMetricFamily("kustosz_siprec_sessions",
                                "Recording sessions since serve started, by outcome",
                                labels=["outcome"])
    for outcome, n in (("recorded", now.sessions), ("out_of_scope", now.out_of_scope),
                       ("refused", now.refused), ("malformed", now.malformed),
                       ("rate_limited", now.rate_limited)):
        total.add_metric([outcome], float(n))
    yield total


def _capture() -> Iterator[Metric]:
    """The calls this serve reads off mirrored ports (issue 35 item 2): recorded now per
    line (a count, never who), the capture process connected, and since serve started
    the calls by outcome and the frames the kernel dropped."""
    now = siprec_status.current("capture")
    if not now.listening:
        return
    yield GaugeMetricFamily("kustosz_capture_calls_active",
                            "Calls being recorded off a mirrored port now, all lines",
                            value=float(sum(now.active.values())))
    yield GaugeMetricFamily("kustosz_capture_process_connected",
                            "1 while the capture process (kustosz capture) is connected",
                            value=1.0 if now.connected else 0.0)
    total = CounterMetricFamily("kustosz_capture_calls",
                                "Calls read off mirrored ports since serve started, by "
                                "outcome", labels=["outcome"])
    for outcome, n in (("recorded", now.sessions), ("out_of_scope", now.out_of_scope),
                       ("not_followed", now.refused)):  # offers past max_calls
        total.add_metric([outcome], float(n))
    yield total
    yield CounterMetricFamily("kustosz_capture_frames_dropped",
                              "Frames the kernel dropped before the capture process read "
                              "them (serve too slow)", value=float(now.dropped))
