"""A database outage of any length costs no video, loses nothing acknowledged, reaches a
person, and ends with serve recording again by itself (issue 27, "Tests (real parts)").

Each test runs the real `kustosz serve` (under the shipped unit's restart policy, unit.py)
with three RTSP cameras recording 2-second segments and an SMTP and a JSON client sending
throughout, and one outage of its PostgreSQL (private, behind a proxy: tests/support/
pg_outage.py): cut (every connection reset, new ones refused), silenced (connections held
open, nothing answered) or the server stopped with SIGSTOP. After it, each invariant is
checked by name (rig.Verdict), all of them reported together:

- index_equals_files: every row stored with its file and hash, no file without its row;
- no_acknowledged_lost: every SMTP "250" and JSON "202" the clients got is in the vault;
- no_two_segments_of_a_camera_overlap;
- every_segment_stored_at_its_true_time: its end within one segment length of the moment
  ffmpeg closed the file (the file's mtime, kept by the rename into storage), its start before;
- no_recorded_segment_lost, no_hole_in_recording: the outage cost no video;
- database_alert_at_the_sink: a `database_unreachable` alert reached the webhook;
- recording_throughout_the_outage, serve_recording_again_by_itself: serve ran and ffmpeg
  wrote segments during the outage; afterwards every camera stored new segments, both
  listeners acknowledged and the web app answered, with nobody's help;
- serve_never_restarted (a cut database) or serve_never_ended_by_itself (a silent one, where
  a restart by the unit's watchdog is an acceptable answer);
- sigterm_stops_serve_within_10_s after the outage.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.reliability.conftest import needs_the_world
from tests.reliability.rig import Rig

pytestmark = needs_the_world

# Silenced "for good": longer than every bound serve has on waiting for the database (the
# 60 s deadline of an answer, connect_timeout, the unit's WatchdogSec and start timeout).
FOR_GOOD_S = 240.0


def _run(rig: Rig, what: str, begin: Callable[[], None], end: Callable[[], None] | None,
         seconds: float, restarts_allowed: bool) -> None:
    rig.start()
    rig.warm_up()
    rig.outage(what, begin, end, seconds)
    rig.recover()
    rig.finish()
    verdict = rig.verdict(restarts_allowed)
    print(f"\n{what}:\n{verdict.report()}\n{rig.unit.history()}")
    assert not verdict.failed, f"{what}:\n{verdict.report()}\n\n{rig.said()}"


@pytest.mark.parametrize("seconds", [
    10,
    60,
    pytest.param(600, marks=pytest.mark.slow),
], ids=["10s", "60s", "10min"])
def test_database_cut(rig: Rig, seconds: int) -> None:
    _run(rig, f"database cut for {seconds} s", rig.proxy.cut, rig.proxy.restore, seconds,
         restarts_allowed=False)


def test_database_silent_for_60_s(rig: Rig) -> None:
    _run(rig, "database silent for 60 s", rig.proxy.silence, rig.proxy.restore, 60,
         restarts_allowed=True)


@pytest.mark.slow
def test_database_silent_for_good(rig: Rig) -> None:
    """Serve stays alive (or is restarted by its watchdog) and records all along; the
    database answers again only so that the test can read what serve did."""
    _run(rig, f"database silent for good ({FOR_GOOD_S:.0f} s)", rig.proxy.silence,
         rig.proxy.restore, FOR_GOOD_S, restarts_allowed=True)


def test_database_server_stopped_for_60_s(rig: Rig) -> None:
    _run(rig, "PostgreSQL stopped (SIGSTOP) for 60 s", rig.pg.freeze, rig.pg.thaw, 60,
         restarts_allowed=True)
