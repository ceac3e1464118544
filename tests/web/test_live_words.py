"""The live view tells the truth in words (issue 65 item 1), the server's half: a camera the
vault knows is silent has a note beside every way into its live view — the dashboard's alarm,
/cameras, the live view's start form — saying since when, why and what the view will show;
the view page's status region starts with it; and /view/{token}/state tells the page's player
whether its view has ended and why (access withdrawn, the sign-in ended and by what, the camera
no longer watchable) or whether the camera is silent, to the viewing session's owner only.
The real cameras, killed and restarted under a real browser, are
tests/onvif/test_live_player_words_browser.py."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from test_dead_camera import main_of
from tests.custody.custody_helpers import people, setup_camera
from web_helpers import authorise, client, login, signed_in, user

from kustosz.access import accounts, authorisations
from kustosz.cameras.register import set_enabled
from kustosz.db.cameras import Gap, RecorderStatus
from kustosz.db.custody import User
from kustosz.db.models import Alert, Source
from kustosz.vault import Vault

CAMERA = "wejscie-glowne"  # source names are ASCII (index/sources.py)
PURPOSE = "ochrona mienia — zgłosił Józef Żółć 🎥"


def _silence(v: Vault, name: str, cause: str = "unreachable") -> datetime:
    """What serve leaves when a camera stops: status down, an open gap, a camera_down row."""
    since = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=42)
    with v.transaction() as s:
        cam = s.execute(select(Source).where(Source.name == name)).scalar_one()
        s.add(RecorderStatus(source_id=cam.id, state="down", since=since, message="down",
                             updated_at=datetime.now(UTC)))
        s.add(Gap(source_id=cam.id, start_at=since, end_at=None, cause=cause, detail="x"))
        s.add(Alert(raised_at=since + timedelta(minutes=1), kind="camera_down",
                    source_id=cam.id, message=f"Kamera „{name}” nie nagrywa od "
                    f"{since.astimezone(v.policy.timezone):%d.%m.%Y %H:%M} (przyczyna: "
                    "kamera nieosiągalna w sieci)."))
    return since


@pytest.fixture
def office(web_vault: Vault) -> Vault:
    v = web_vault
    people(v)
    setup_camera(v, CAMERA)
    setup_camera(v, "cam-hol")
    user(v, "ola", ["operator"])
    user(v, "ewa", ["viewer"])
    return v


def _said(v: Vault, since: datetime) -> str:
    return (f"Kamera nie przesyła obrazu od {since.astimezone(v.policy.timezone):%d.%m.%Y %H:%M}"
            " (przyczyna: kamera nieosiągalna w sieci).")


def _open(c: TestClient, source: str = CAMERA) -> str:
    """A live view opened through the start form, as a person does it; its token."""
    form = c.get(f"/media/start?action=live&source={source}")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf, form.text
    r = c.post("/media/start", data={"csrf": csrf.group(1), "action": "live", "source": source,
                                     "purpose": PURPOSE})
    assert r.status_code == 303, r.text
    return str(r.headers["location"]).rsplit("/", 1)[1]


def test_every_way_into_a_silent_cameras_live_view_says_what_it_will_show(
        office: Vault) -> None:
    v = office
    since = _silence(v, CAMERA)
    authorise(v, "ola", ["live"], [CAMERA, "cam-hol"])
    c = client(v)
    login(c, "ola")
    said = _said(v, since)
    will = "Podgląd pokaże ten komunikat zamiast obrazu i sam połączy się ponownie"
    # the dashboard: the alarm's button and its note, the button described by it
    alarm = re.search(r'<li class="error"[^>]*>Kamera „wejscie-glowne”.*?</li>',
                      unescape(main_of(c.get("/").text)), re.S)
    assert alarm, c.get("/").text
    button = re.search(r'<a class="button" href="[^"]+" aria-describedby="([^"]+)">Podgląd na '
                       r'żywo</a> <small class="live-note" id="([^"]+)">([^<]+)</small>',
                       alarm.group(0))
    assert button and button.group(1) == button.group(2), alarm.group(0)
    assert said in button.group(3) and will in button.group(3)
    # /cameras: beside "Podgląd bieżący", for the silent camera only
    page = unescape(main_of(c.get("/cameras").text))
    row = page.split(f'<div class="tl-name">{CAMERA}', 1)[1].split('<div class="tl-name">')[0]
    assert said in row and will in row and 'aria-describedby="live-note-' in row
    other = page.split('<div class="tl-name">cam-hol', 1)[1].split('<div class="tl-name">')[0]
    assert "live-note" not in other
    # the start form, above its button, which it describes
    form = unescape(c.get(f"/media/start?action=live&source={CAMERA}").text)
    assert said in form and 'aria-describedby="live-note"' in form
    # the view page: its status region starts with it, before any script runs
    token = _open(c)
    view = unescape(c.get(f"/view/{token}").text)
    status = re.search(r'<p id="live-status"[^>]*>(.*?)</p>', view, re.S)
    assert status and said in status.group(1) and "Łączenie z kamerą…" in status.group(1)
    assert 'role="status" aria-live="polite"' in status.group(0)
    assert c.get(f"/view/{token}/state").json() == {"ended": None, "camera": said}


def test_a_full_disk_or_a_camera_not_watched_live_gets_no_note(office: Vault) -> None:
    v = office
    _silence(v, "cam-hol", cause="disk_full")  # the camera sends; the disk refuses
    _silence(v, CAMERA)
    authorise(v, "ola", ["live"], ["cam-hol"])
    authorise(v, "ewa", ["playback"], [CAMERA])  # may not watch it live
    c = client(v)
    login(c, "ola")
    assert "live-note" not in c.get("/media/start?action=live&source=cam-hol").text
    assert "live-note" not in c.get(f"/media/start?action=live&source={CAMERA}").text
    token = _open(c, "cam-hol")
    assert c.get(f"/view/{token}/state").json() == {"ended": None, "camera": None}
    e = client(v)
    login(e, "ewa")
    assert "live-note" not in e.get(f"/media/start?action=live&source={CAMERA}").text


def test_the_state_says_why_access_ended(office: Vault) -> None:
    v = office
    auth = authorise(v, "ola", ["live"], [CAMERA])
    c = client(v)
    login(c, "ola")
    token = _open(c)
    assert c.get(f"/view/{token}/state").json() == {"ended": None, "camera": None}
    with v.transaction() as s:
        authorisations.revoke(s, auth, "burmistrz", "koniec sprawy Żółć 🎥", "test")
    ended = c.get(f"/view/{token}/state").json()["ended"]
    assert ended["said"].startswith(f"Podgląd zakończony: Twoje upoważnienie nr {auth} zostało "
                                    "odwołane"), ended
    assert "nowe upoważnienie" in ended["todo"]
    c.cookies.set("kustosz_lang", "en", domain="testserver.local")
    ended = c.get(f"/view/{token}/state").json()["ended"]
    assert ended == {"said": f"Live view ended: no active authorisation: authorisation {auth} "
                             f"was revoked at {ended['said'].split(' at ')[1]}", "todo": ""}


def test_the_state_says_what_ended_the_sign_in_to_its_owner_only(office: Vault) -> None:
    v = office
    authorise(v, "ola", ["live"], [CAMERA])
    c = client(v)
    login(c, "ola")
    token = _open(c)
    cookie = c.cookies.get("kustosz_session")
    with v.transaction() as s:
        ola = s.execute(select(User).where(User.name == "ola")).scalar_one()
        accounts.set_password(s, ola, "Jednorazowe-hasło-Żółć-1", "informatyk", one_time=True)
    said = c.get(f"/view/{token}/state").json()["ended"]["said"]
    assert said == ("Podgląd zakończony: administrator nadał nowe hasło jednorazowe. Zaloguj "
                    "się ponownie, aby oglądać dalej.")
    # the owner's ended cookie in another browser: told as well; a stranger's cookie, or none,
    # learns only that it is not signed in
    anyone = client(v)
    anyone.cookies.set("kustosz_session", cookie, domain="testserver.local")
    assert anyone.get(f"/view/{token}/state").json()["ended"]["said"] == said
    stranger = signed_in(v, "ewa")
    with v.transaction() as s:
        ewa = s.execute(select(User).where(User.name == "ewa")).scalar_one()
        accounts.end_credentials(s, ewa, "account disabled")
    for other, why in ((stranger, "nie jesteś zalogowany"),
                       (client(v), "wylogowano się w tej przeglądarce")):
        answer = other.get(f"/view/{token}/state").json()
        assert answer == {"ended": {"said": f"Podgląd zakończony: {why}. Zaloguj się ponownie, "
                                            "aby oglądać dalej.", "todo": ""},
                          "camera": None}, answer


def test_a_stranger_signed_in_learns_nothing_of_the_camera(office: Vault) -> None:
    v = office
    since = _silence(v, CAMERA)
    authorise(v, "ola", ["live"], [CAMERA])
    authorise(v, "ewa", ["live"], [CAMERA])  # may watch it, but this view is ola's
    c = client(v)
    login(c, "ola")
    token = _open(c)
    assert c.get(f"/view/{token}/state").json()["camera"] == _said(v, since)
    answer = signed_in(v, "ewa").get(f"/view/{token}/state").json()
    assert answer["camera"] is None and "nie została otwarta przez Ciebie" in \
        answer["ended"]["said"], answer
    assert client(v).get(f"/view/{token}/state", headers={
        "Authorization": "Bearer x"}).status_code == 403  # no API tokens here


def test_the_state_says_the_camera_was_disabled(office: Vault) -> None:
    v = office
    authorise(v, "ola", ["live"], [CAMERA])
    c = client(v)
    login(c, "ola")
    token = _open(c)
    with v.transaction() as s:
        set_enabled(s, CAMERA, False, "informatyk")
    assert c.get(f"/view/{token}/state").json()["ended"] == {
        "said": "Podgląd zakończony: kamera została wyłączona.", "todo": ""}
    c.cookies.set("kustosz_lang", "en", domain="testserver.local")
    assert c.get(f"/view/{token}/state").json()["ended"]["said"] == \
        "Live view ended: the camera was disabled."


def test_the_english_page_says_it_in_english(office: Vault) -> None:
    v = office
    since = _silence(v, CAMERA)
    authorise(v, "ola", ["live"], [CAMERA])
    c = client(v)
    login(c, "ola")
    c.cookies.set("kustosz_lang", "en", domain="testserver.local")
    token = _open(c)
    page = unescape(c.get(f"/view/{token}").text)
    at = f"{since.astimezone(v.policy.timezone):%d.%m.%Y %H:%M}"
    said = (f"The camera has not sent a picture since {at} (cause: camera unreachable on the "
            "network).")
    assert said in page and "Connecting to the camera…" in page
    words = dict(re.findall(r'data-text-(\w+)="([^"]*)"', page))
    assert words["retry"] == "Connecting again in {seconds}\u00a0s (attempt {attempt})."
    assert not any(re.search(r"[ąćęłńóśźż]", w) for w in words.values()), words
    assert c.get(f"/view/{token}/state").json()["camera"] == said
