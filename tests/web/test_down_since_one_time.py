"""One dead camera, one "down since" (issue 65, a smaller finding: the dashboard said 03:45,
the restart, and /cameras 03:43). A recorder retrying a dead camera changes its status at each
try ("connecting", then "down"), and so the status row's `since` says the last try, or
serve's restart. Since when the camera has not recorded is its open gap's start
(kustosz.cameras.down_since): the alarm, the recorders' table and the timeline say that."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from test_dead_camera import kill_camera, main_of, office
from web_helpers import client, login

from kustosz.db.cameras import Gap, RecorderStatus
from kustosz.db.models import Alert, Source
from kustosz.vault import Vault


def _status_moved(v: Vault, name: str, to: datetime) -> None:
    """What the recorder's retries (or serve's restart) leave: the same state since later."""
    with v.transaction() as s:
        cam = s.execute(select(Source).where(Source.name == name)).scalar_one()
        st = s.get(RecorderStatus, cam.id)
        assert st is not None
        st.since = to


def test_the_alarm_the_recorders_table_and_the_timeline_say_one_time(
        sqlite_web_vault: Vault) -> None:
    v = sqlite_web_vault
    office(v)
    tz = v.policy.timezone
    now = datetime.now(UTC).replace(microsecond=0)
    stopped = max(now - timedelta(minutes=30), now.astimezone(tz).replace(hour=0, minute=1))
    stopped = stopped.replace(second=7)
    kill_camera(v, "cam-inne", stopped)
    restarted = stopped + timedelta(minutes=2, seconds=13)
    _status_moved(v, "cam-inne", restarted)
    c = client(v)
    login(c, "informatyk")
    dashboard = main_of(c.get("/").text)
    local = stopped.astimezone(tz)
    alarm = re.search(r'<li class="error" data-alarm="\d+">(.*?)</li>', dashboard, re.S)
    assert alarm is not None, dashboard
    assert f"nie nagrywa od {local:%d.%m.%Y %H:%M}" in alarm.group(1), alarm.group(1)
    row = re.search(r"<tr><td>cam-inne</td>.*?</tr>", dashboard, re.S)
    assert row is not None, dashboard
    assert f"{local:%d.%m.%Y %H:%M:%S}" in row.group(0), row.group(0)
    assert f"{restarted.astimezone(tz):%H:%M:%S}" not in row.group(0), row.group(0)
    cameras = main_of(c.get("/cameras").text)
    mark = cameras.split('<div class="tl-name">cam-inne', 1)[1].split("</div>", 1)[0]
    assert f"nie nagrywa od {local:%H:%M}" in mark, mark
    live = c.get("/alarms/live?page=cameras&day=" + local.date().isoformat()).json()
    assert live["down"] == {"cam-inne": f"nie nagrywa od {local:%H:%M}"}
    assert f"nie nagrywa od {local:%d.%m.%Y %H:%M}" in live["items"]


def test_a_camera_that_records_again_shows_its_state_since(sqlite_web_vault: Vault) -> None:
    v = sqlite_web_vault
    office(v)
    now = datetime.now(UTC).replace(microsecond=0)
    kill_camera(v, "cam-inne", now - timedelta(minutes=20))
    with v.transaction() as s:
        cam = s.execute(select(Source).where(Source.name == "cam-inne")).scalar_one()
        st = s.get(RecorderStatus, cam.id)
        assert st is not None
        st.state, st.since = "recording", now - timedelta(minutes=1)
        for gap in s.execute(select(Gap)).scalars():
            gap.end_at = now - timedelta(minutes=1)
        for alert in s.execute(select(Alert)).scalars():
            alert.cleared_at = now
    c = client(v)
    login(c, "informatyk")
    row = re.search(r"<tr><td>cam-inne</td>.*?</tr>", main_of(c.get("/").text), re.S)
    assert row is not None
    shown = (now - timedelta(minutes=1)).astimezone(v.policy.timezone)
    assert f"{shown:%d.%m.%Y %H:%M:%S}" in row.group(0), row.group(0)
