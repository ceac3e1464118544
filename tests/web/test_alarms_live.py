"""The live alarm list's answers (issue 65 item 3; web/alarms_live.py): what /alarms/live
tells is what the page itself shows this person — the dashboard's rule of who is told which
alarm, the page's words and language, /cameras' marks of the cameras that page lists — at most
SHOWN alarms, and nothing (204) when nothing changed. Each ask passes the gate with the state
of things now: a role taken away or an authorisation revoked ends what it tells at the next
ask. Being the page's own background ask, it never keeps a sign-in alive."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from test_dead_camera import kill_camera, office
from web_helpers import authorise, client, signed_in, user

from kustosz.access import authorisations
from kustosz.access.accounts import IDLE_MINUTES, digest
from kustosz.access.users import set_roles
from kustosz.db.access import WebSession
from kustosz.db.models import Alert
from kustosz.states import AlertRow
from kustosz.vault import Vault
from kustosz.web.alarms import SHOWN

NOW = datetime.now(UTC).replace(microsecond=0)
LIVE = "/alarms/live?page=dashboard"


def _dead(v: Vault) -> datetime:
    since = NOW - timedelta(minutes=20)
    kill_camera(v, "cam-inne", since)
    return since


def test_the_live_list_is_the_dashboards_and_is_empty_when_nothing_changed(
        sqlite_web_vault: Vault) -> None:
    v = sqlite_web_vault
    office(v)
    c = signed_in(v, "informatyk")
    first = c.get(LIVE)
    assert first.status_code == 200 and first.json()["count"] == 0
    version = first.json()["version"]
    assert c.get(f"{LIVE}&seen={version}").status_code == 204
    assert f'data-version="{version}"' in c.get("/").text  # the page starts where it is
    _dead(v)
    changed = c.get(f"{LIVE}&seen={version}")
    assert changed.status_code == 200, changed.status_code
    answer = changed.json()
    assert answer["count"] == 1 and "Kamera „cam-inne” nie nagrywa od" in answer["items"]
    assert answer["items"] in c.get("/").text  # one markup: the page's own items
    assert c.get(f"{LIVE}&seen={answer['version']}").status_code == 204


def test_no_one_is_told_the_alarm_of_a_camera_they_may_not_see(sqlite_web_vault: Vault
                                                                ) -> None:
    v = sqlite_web_vault
    office(v)
    _dead(v)
    user(v, "ewa", ["viewer"])
    user(v, "ola", ["viewer"])
    authorise(v, "ewa", ["live", "playback"], ["cam-hol"])
    auth = authorise(v, "ola", ["live"], ["cam-inne"])
    ewa, ola = signed_in(v, "ewa"), signed_in(v, "ola")
    assert "cam-inne" not in ewa.get(LIVE).json()["items"]
    assert "cam-inne" in ola.get(LIVE).json()["items"]
    # /cameras lists every camera, without its location: its marks say no more than it does
    cameras = ewa.get("/cameras").text
    marks = ewa.get("/alarms/live?page=cameras").json()
    assert "cam-inne" not in marks["items"]
    for name, said in marks["down"].items():
        assert f'data-camera="{name}"' in cameras and said in cameras
    text = json.dumps(marks, ensure_ascii=False)
    assert "Ratusz" not in text and "hol" not in text.replace("cam-hol", "")
    # access as it is now: the authorisation revoked, the next ask tells nothing of it
    with v.transaction() as s:
        authorisations.revoke(s, auth, by="burmistrz", reason="koniec dyżuru", actor="test")
    assert "cam-inne" not in ola.get(LIVE).json()["items"]


def test_a_role_taken_away_or_a_sign_in_ended_ends_the_answers(sqlite_web_vault: Vault
                                                                ) -> None:
    v = sqlite_web_vault
    office(v)
    with v.transaction() as s:
        s.add(Alert(raised_at=NOW, kind=AlertRow.DISK_FULL, message="Dysk pełny."))
    user(v, "iod", ["dpo"])
    c = signed_in(v, "iod")
    assert "Dysk pełny." in c.get(LIVE).json()["items"]
    with v.transaction() as s:
        set_roles(s, "iod", ["viewer"], "test")  # ends the user's sign-ins
    refused = c.get(LIVE)
    assert refused.status_code == 303 and refused.headers["location"].startswith("/login")
    assert client(v).get(LIVE).status_code == 303  # never without a sign-in


def test_the_background_ask_never_keeps_a_sign_in_alive(sqlite_web_vault: Vault) -> None:
    v = sqlite_web_vault
    office(v)
    c = signed_in(v, "informatyk")
    token = c.cookies.get("kustosz_session")
    assert token is not None

    def seen(at: datetime | None = None) -> datetime:
        with v.transaction() as s:
            row = s.get(WebSession, digest(token))
            assert row is not None
            if at is not None:
                row.last_seen_at = at
            return row.last_seen_at

    # from the clock now, not the module's import: a worker may reach this test 20 minutes
    # after it collected it, and a sign-in idle since then has timed out already
    now = datetime.now(UTC).replace(microsecond=0)
    idle_soon = now - timedelta(minutes=IDLE_MINUTES - 2)
    seen(idle_soon)
    for _ in range(3):
        assert c.get(LIVE).status_code == 200
    assert seen() == idle_soon  # asked by the page, not by the person
    assert c.get("/").status_code == 200
    assert seen() > idle_soon  # the person's own request moves it
    seen(now - timedelta(minutes=IDLE_MINUTES + 1))
    assert c.get(LIVE).status_code == 303  # the page left open times out all the same


def test_the_answer_is_bounded_in_the_readers_language_and_escaped(sqlite_web_vault: Vault
                                                                    ) -> None:
    v = sqlite_web_vault
    office(v)
    since = _dead(v)
    with v.transaction() as s:
        for n in range(1000):
            s.add(Alert(raised_at=NOW - timedelta(minutes=n), kind=AlertRow.INPUT_REFUSED,
                        message=f"Odrzucono dane od urządzenia „Józef Żółć 🔥 {n}”: "
                                "<script>alert(1)</script>."))
    c = signed_in(v, "informatyk")
    answer = c.get(LIVE)
    assert len(answer.content) < 40_000
    items = answer.json()["items"]
    assert items.count('<li class="error" data-alarm=') == SHOWN == answer.json()["count"]
    assert "…i jeszcze 951 alarmów (starszych lub mniej pilnych)." in items
    assert "<script>" not in items and "&lt;script&gt;" in items
    assert "Józef Żółć 🔥 0" in items
    c.cookies.set("kustosz_lang", "en", domain="testserver.local")
    english = c.get(LIVE).json()["items"]
    local = since.astimezone(v.policy.timezone)
    assert (f"Camera \"cam-inne\" has not recorded since {local:%d.%m.%Y %H:%M} (cause: "
            "camera unreachable on the network).").replace('"', "&#34;") in english
    assert "…and 951 more alerts (older or less urgent)." in english
    # no English of its own: said in English what it is, its Polish marked as such
    assert 'Alert (a device sent data that cannot be taken): <span lang="pl">' in english
