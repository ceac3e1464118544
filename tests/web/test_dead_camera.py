"""A camera that stopped recording is unmistakable (issue #50 items 1 and 2): its open gap is
drawn and listed on /cameras with its start and cause even when the camera stored nothing
in the period shown, and its alarm is on the dashboard of every role that watches it — first,
in words — but never on the dashboard of someone not authorised for that camera; from the
alarm, the live view's purpose form with the camera chosen."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from tests.custody.custody_helpers import people, setup_camera, setup_phone
from web_helpers import PASSWORD, authorise, client, login, user

from kustosz.access import accounts
from kustosz.db.cameras import Gap, RecorderStatus
from kustosz.db.custody import User
from kustosz.db.models import Alert, Source
from kustosz.vault import Vault

DOWN_MESSAGE = "Kamera „cam-inne” nie nagrywa od {at} (przyczyna: kamera nieosiągalna w sieci)."


def kill_camera(v: Vault, name: str, since: datetime) -> None:
    """What serve leaves when a camera stops: status down, an open gap, a camera_down row."""
    tz = v.policy.timezone
    with v.transaction() as s:
        cam = s.execute(select(Source).where(Source.name == name)).scalar_one()
        s.add(RecorderStatus(source_id=cam.id, state="down", since=since,
                             message="rtsp://192.0.2.10/stream: camera unreachable",
                             updated_at=datetime.now(UTC)))
        s.add(Gap(source_id=cam.id, start_at=since, end_at=None, cause="unreachable",
                  detail="Connection refused"))
        s.add(Alert(raised_at=since + timedelta(minutes=1), kind="camera_down",
                    source_id=cam.id, message=DOWN_MESSAGE.format(
                        at=since.astimezone(tz).strftime("%d.%m.%Y %H:%M"))))


def office(v: Vault) -> None:
    people(v)  # burmistrz (approver), informatyk (custodian, administrator), komisja1/2
    setup_camera(v, "cam-hol")
    setup_camera(v, "cam-inne")
    with v.transaction() as s:
        for u in s.execute(select(User)).scalars():
            accounts.set_password(s, u, PASSWORD, "test")


def main_of(html: str) -> str:
    return html.split("<main>", 1)[1]


def test_the_open_gap_is_listed_on_the_timeline_without_any_recording(
        sqlite_web_vault: Vault) -> None:
    v = sqlite_web_vault
    office(v)
    tz = v.policy.timezone
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    today = now.astimezone(tz)
    since = max(now - timedelta(hours=2), today.replace(hour=0, minute=0))
    kill_camera(v, "cam-inne", since)
    user(v, "ola", ["viewer"])
    c = client(v)
    login(c, "ola")
    page = main_of(c.get("/cameras").text)
    cause = "(przyczyna: kamera nieosiągalna w sieci)"
    said = f"Przerwa w nagraniu od {since.astimezone(tz):%H:%M} {cause} — trwa"
    assert said in page, page
    row = page.split('<div class="tl-name">cam-inne', 1)[1].split('<div class="tl-name">', 1)[0]
    assert 'class="gap"' in row  # drawn on its bar
    assert "nie nagrywa" in row.split("</div>", 1)[0]  # the bar's name says it in words
    assert f"{since.astimezone(tz):%d.%m %H:%M}" in row and "trwa" in row  # the bar's table
    other = page.split('<div class="tl-name">cam-hol', 1)[1].split('<div class="tl-name">')[0]
    assert "Przerwa w nagraniu" not in other and 'class="gap"' not in other


def test_a_past_day_inside_the_open_gap_names_when_it_began(sqlite_web_vault: Vault) -> None:
    v = sqlite_web_vault
    office(v)
    tz = v.policy.timezone
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    since = (now - timedelta(days=3)).astimezone(tz).replace(hour=12, minute=42)
    kill_camera(v, "cam-inne", since)
    user(v, "ola", ["viewer"])
    c = client(v)
    login(c, "ola")
    day = (now - timedelta(days=1)).astimezone(tz).date()
    page = main_of(c.get(f"/cameras?day={day.isoformat()}").text)
    assert (f"Przerwa w nagraniu od {since:%d.%m} 12:42 (przyczyna: kamera nieosiągalna "
            "w sieci) — trwa") in page, page
    row = page.split('<div class="tl-name">cam-inne', 1)[1].split('<div class="tl-name">', 1)[0]
    assert re.search(r'class="gap" data-left="0(\.0)?" data-width="100(\.0)?"', row), row
    # a day before the gap began: nothing of it
    before = (since - timedelta(days=1)).date()
    page = main_of(c.get(f"/cameras?day={before.isoformat()}").text)
    assert "Przerwa w nagraniu od" not in page
    # tomorrow has not happened: no gap drawn into the future
    tomorrow = (now + timedelta(days=1)).astimezone(tz).date()
    page = main_of(c.get(f"/cameras?day={tomorrow.isoformat()}").text)
    assert "Przerwa w nagraniu od" not in page and 'class="gap"' not in page


def _alarms(c: object) -> str:
    html = main_of(c.get("/").text)  # type: ignore[attr-defined]
    found = re.search(r'<section class="card alarms" id="alarms".*?</section>', html, re.S)
    return found.group(0) if found else ""


def test_every_watching_role_sees_the_dead_camera_first_and_only_if_authorised(
        sqlite_web_vault: Vault) -> None:
    v = sqlite_web_vault
    office(v)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    kill_camera(v, "cam-inne", now - timedelta(minutes=30))
    for name, roles in (("iod", ["dpo"]), ("kontrola", ["auditor"]),
                        ("sekretarz", ["supervisor"]), ("straznik", ["operator"]),
                        ("ola", ["viewer"]), ("ewa", ["viewer"]), ("kopie", ["custodian"])):
        user(v, name, roles)
    authorise(v, "straznik", ["live"], ["cam-inne"])
    authorise(v, "ola", ["playback"], kinds=["camera"])
    authorise(v, "ewa", ["live", "playback"], ["cam-hol"])  # not the dead camera
    for name in ("iod", "kontrola", "sekretarz", "informatyk", "burmistrz", "straznik", "ola"):
        c = client(v)
        login(c, name)
        html = main_of(c.get("/").text)
        alarms = _alarms(c)
        assert "Kamera „cam-inne” nie nagrywa od" in alarms, (name, html)
        assert 'class="error"' in alarms  # colour, besides the words
        at = html.find('<section class="card alarms"')
        first_tile = html.find('class="tiles"')
        assert first_tile == -1 or at < first_tile, name
        # nothing but the page's heading comes before the alarms
        before = html[:at]
        assert "<section" not in before and "<p" not in before.split("</h1>", 1)[1], name
    c = client(v)
    login(c, "ewa")  # a viewer not authorised for cam-inne: not a word of it
    assert "cam-inne" not in c.get("/").text
    c = client(v)
    login(c, "kopie")  # copies, no authorisation to watch: the recorders' table, no alarm
    assert "cam-inne" not in _alarms(c)


def test_the_alarm_opens_the_live_view_form_with_the_camera_chosen(
        sqlite_web_vault: Vault) -> None:
    v = sqlite_web_vault
    office(v)
    kill_camera(v, "cam-inne", datetime.now(UTC) - timedelta(minutes=30))
    user(v, "straznik", ["operator"])
    user(v, "ola", ["viewer"])
    authorise(v, "straznik", ["live"], ["cam-inne"])
    authorise(v, "ola", ["playback"], ["cam-inne"])  # may review, not watch live
    c = client(v)
    login(c, "straznik")
    alarms = _alarms(c)
    link = re.search(r'<a [^>]*href="([^"]+)"[^>]*>Podgląd na żywo</a>', alarms)
    assert link, alarms
    url = link.group(1).replace("&amp;", "&")
    assert url == "/media/start?action=live&source=cam-inne"
    form = main_of(c.get(url).text)
    assert "Kamera: <b>cam-inne</b>" in form
    assert '<input type="hidden" name="action" value="live">' in form
    assert 'name="purpose"' in form  # the purpose form stays in between
    for name in ("ola", "informatyk"):  # no live view for them: no link
        other = client(v)
        login(other, name)
        alarms = _alarms(other)
        assert "cam-inne" in alarms and "Podgląd na żywo" not in alarms, name


def test_a_silent_line_only_to_those_concerned_and_the_database_to_all(
        sqlite_web_vault: Vault, tmp_path: Path) -> None:
    v = sqlite_web_vault
    office(v)
    setup_phone(v, tmp_path / "pbx")
    now = datetime.now(UTC)
    with v.transaction() as s:
        line = s.execute(select(Source).where(Source.name == "centrala")).scalar_one()
        s.add(Alert(raised_at=now, kind="phone.silent", source_id=line.id,
                    message="Linia „centrala” nie dostarcza nagrań od 2 godzin."))
        s.add(Alert(raised_at=now, kind="database_unreachable",
                    message="Baza danych jest niedostępna od 10:00."))
        s.add(Alert(raised_at=now, kind="disk_pressure", message="Mało miejsca na dysku."))
    user(v, "straznik", ["operator"])
    user(v, "ola", ["viewer"])
    authorise(v, "straznik", ["live"], ["cam-hol"])
    authorise(v, "ola", ["listening"], ["centrala"])
    seen = {}
    for name in ("straznik", "ola", "komisja1", "burmistrz"):
        c = client(v)
        login(c, name)
        seen[name] = _alarms(c)
    assert "Baza danych jest niedostępna" in seen["komisja1"]
    assert all("Baza danych jest niedostępna" in a for a in seen.values())
    assert "centrala" in seen["ola"] and "centrala" not in seen["straznik"]
    assert "centrala" not in seen["komisja1"]
    assert "Mało miejsca" in seen["burmistrz"] and "Mało miejsca" not in seen["ola"]
