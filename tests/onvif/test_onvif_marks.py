"""Motion and digital inputs a camera reports over ONVIF (issue 34 item 4) become intervals —
a row per interval, not per message — that live under the same retention and holds as the
camera's video: deleted by the sweep once their day's period has passed and no kept recording
of the camera overlaps them, kept while a held recording does; on the playback page each
opens where it began (tests/onvif/test_onvif_marks_browser.py) and a copy names those of its
period (test_onvif_clock.py's manifest test reads the same group)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.custody.custody_helpers import record, setup_camera

from kustosz.cameras import onvif_events
from kustosz.cameras.onvif_clock import Target
from kustosz.cameras.onvif_metadata import marks_between
from kustosz.db.cameras import CameraMark
from kustosz.db.models import Source
from kustosz.onvif.address import parse_address
from kustosz.onvif.events import CameraEvent
from kustosz.retention.traces import prune_marks
from kustosz.vault import Vault

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


@pytest.fixture
def camera(vault: Vault) -> Target:
    setup_camera(vault, "cam-hol")
    with vault.reading() as s:
        sid = s.execute(select(Source.id).where(Source.name == "cam-hol")).scalar_one()
    return Target(sid, "cam-hol", parse_address("10.0.0.5"), "admin")


def ev(kind: str, active: bool, seconds: float) -> CameraEvent:
    return CameraEvent(kind, active, T0 + timedelta(seconds=seconds), "tns1:VideoSource/X")


def marks(vault: Vault) -> list[tuple[str, datetime, datetime | None]]:
    with vault.reading() as s:
        return [(m.kind, m.start_at, m.end_at) for m in s.execute(
            select(CameraMark).order_by(CameraMark.start_at)).scalars()]


def test_a_row_per_interval_not_per_message(vault: Vault, camera: Target) -> None:
    onvif_events.take(vault, camera, [
        ev("motion", True, 0), ev("motion", True, 1), ev("motion", True, 2),  # one interval
        ev("motion", False, 5), ev("motion", False, 6),  # an end without an open one: nothing
        ev("input", True, 3), ev("motion", True, 10)])
    onvif_events.take(vault, camera, [ev("motion", False, 12), ev("input", False, 20)])
    assert marks(vault) == [
        ("motion", T0, T0 + timedelta(seconds=5)),
        ("input", T0 + timedelta(seconds=3), T0 + timedelta(seconds=20)),
        ("motion", T0 + timedelta(seconds=10), T0 + timedelta(seconds=12))]
    with vault.reading() as s:
        found = marks_between(s, camera.source_id, T0 + timedelta(seconds=11),
                              T0 + timedelta(seconds=30))
    assert [(m.kind, m.start_at) for m in found] == [
        ("input", T0 + timedelta(seconds=3)), ("motion", T0 + timedelta(seconds=10))]


def test_an_interval_left_open_is_closed_when_the_subscription_is_made_again(
        vault: Vault, camera: Target) -> None:
    onvif_events.take(vault, camera, [ev("motion", True, 0)])
    onvif_events.close_open_marks(vault, camera.source_id)
    ((_kind, start, end),) = marks(vault)
    assert start == T0 and end is not None and end > start


def test_marks_go_with_their_video_and_stay_with_a_kept_recording(
        vault: Vault, camera: Target, tmp_path: Path) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=400)  # past any camera period
    # still stored 400 days on: as a held recording is (the sweep has not taken it)
    kept_rec = record(vault, "cam-hol", long_ago, 1, tmp_path / "seg")[0]
    old_free = long_ago + timedelta(hours=2)  # no recording overlaps it
    recent = datetime.now(UTC) - timedelta(hours=1)
    onvif_events.take(vault, camera, [
        CameraEvent("motion", True, kept_rec.start_at, "m"),
        CameraEvent("motion", False, kept_rec.start_at + timedelta(seconds=1), "m"),
        CameraEvent("input", True, old_free, "i"),
        CameraEvent("input", False, old_free + timedelta(seconds=5), "i"),
        CameraEvent("motion", True, recent, "m"),
        CameraEvent("motion", False, recent + timedelta(seconds=5), "m")])
    with vault.transaction() as s:
        removed = prune_marks(s, vault.policy, datetime.now(UTC), "test")
    assert removed == 1
    assert [m[1] for m in marks(vault)] == [kept_rec.start_at, recent]


def test_an_interval_never_closed_goes_with_the_period_of_its_start(
        vault: Vault, camera: Target) -> None:
    """A camera gone before its interval was closed (a crash, its register entry removed):
    the open row counts from its start and does not stay for ever."""
    long_ago = datetime.now(UTC) - timedelta(days=400)
    onvif_events.take(vault, camera, [CameraEvent("motion", True, long_ago, "m")])
    with vault.transaction() as s:
        assert prune_marks(s, vault.policy, datetime.now(UTC), "test") == 1
    assert marks(vault) == []
