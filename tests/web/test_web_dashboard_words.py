"""The dashboard in Polish (issue 12 item 7): how long the disk lasts, capped ("ok. 1224797
dni" on an almost empty vault), and the recorders' state in Polish words, while the status
row keeps its English message for the IT staff."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from tests.office_day import office_today
from web_helpers import client, login, user

from kustosz.cameras.register import CameraSpec, add_camera, add_site, add_zone, recorder_notes
from kustosz.db.cameras import Camera, Gap
from kustosz.index.forecast import Forecast
from kustosz.ingest.camera import health
from kustosz.vault import Vault

GB = 1 << 30


@pytest.mark.parametrize("net_per_day,expected", [
    (None, "przyrost równoważony usuwaniem"),
    (GB / 1_224_797, "wystarczy na ponad rok"),  # the nearly empty vault of the report
    (GB / 367, "wystarczy na ponad rok"),
    (GB / 366, "wystarczy na ok. 366 dni"),
    (GB / 22, "wystarczy na ok. 22 dni"),
    (GB / 1, "wystarczy na ok. 1 dzień"),
    (GB * 4, "wystarczy na mniej niż dobę"),
])
def test_how_long_the_disk_lasts(net_per_day: float | None, expected: str) -> None:
    f = Forecast(GB, 10 * GB, 0, net_per_day or 0.0, 0.0)
    assert f.lasts_pl == expected


def _camera(vault: Vault, name: str, zone_kind: str = "corridor",
            notice: date | None = None) -> int:
    with vault.transaction() as s:
        add_site(s, f"Ratusz {name}", "test")
        add_zone(s, f"Ratusz {name}", "parter", zone_kind, "test")
        today = office_today()
        spec = CameraSpec(name, f"Ratusz {name}", "parter", f"rtsp://10.0.0.9/{name}",
                          "property", notice_date=notice or today - timedelta(days=30),
                          signage_date=today - timedelta(days=30))
        return add_camera(s, vault.policy, spec, "test").source_id


def test_recorder_states_in_polish_words(sqlite_web_vault: Vault) -> None:
    v = sqlite_web_vault
    rec, down, wait, off = (_camera(v, n) for n in ("wejscie", "hol", "parking", "archiwum"))
    today = office_today()
    with v.transaction() as s:
        cam = s.execute(select(Camera).where(Camera.source_id == wait)).scalar_one()
        cam.notice_date = today - timedelta(days=3)
    health.set_status(v, rec, "recording", "recording hevc (not playable in browser)",
                      codec="hevc")
    health.set_status(v, down, "down", "rtsp://10.0.0.9/hol: the camera refused the user name "
                                       "or password (401 Unauthorized); check the credentials")
    health.open_gap(v, down, datetime.now(UTC) - timedelta(minutes=5), "auth_failed",
                    "401", "hol")
    health.set_status(v, wait, "waiting", "recording may start on …")
    health.set_status(v, off, "disabled", "camera disabled")
    with v.reading() as s:
        notes = recorder_notes(s, v.policy)
        assert s.execute(select(Gap)).scalars().first() is not None
    day = (today - timedelta(days=3) + timedelta(days=14)).strftime("%d.%m.%Y")
    assert notes == {
        rec: "kodek hevc — tego obrazu nie da się odtworzyć w przeglądarce",
        down: "kamera odrzuciła login lub hasło (401)",
        wait: f"nagrywanie może się rozpocząć {day} (poinformowanie pracowników + 14 dni, "
              "oznaczenie + 1 dzień)",
        off: "kamera wyłączona przez administratora"}
    user(v, "iod", ["dpo"])
    c = client(v)
    login(c, "iod")
    page = c.get("/").text
    for note in notes.values():
        assert note in page
    assert "401 Unauthorized" not in page and "camera disabled" not in page
    assert "recording hevc" not in page
    cameras = c.get("/cameras").text  # the start rule of the camera still waiting
    assert notes[wait] in cameras and "recording may start" not in cameras


def test_a_camera_in_a_forbidden_room_says_why_in_polish(sqlite_web_vault: Vault) -> None:
    v = sqlite_web_vault
    with v.transaction() as s:
        add_site(s, "Ratusz", "test")
        add_zone(s, "Ratusz", "szatnia", "changing_room", "test")
        add_zone(s, "Ratusz", "hol", "corridor", "test")
        today = office_today()
        spec = CameraSpec("szatnia-1", "Ratusz", "hol", "rtsp://10.0.0.9/s", "property",
                          notice_date=today - timedelta(days=30),
                          signage_date=today - timedelta(days=30))
        source_id = add_camera(s, v.policy, spec, "test").source_id
        # the zone turned out to be a changing room after the camera was registered
        cam = s.execute(select(Camera).where(Camera.source_id == source_id)).scalar_one()
        from kustosz.cameras.register import get_zone
        cam.zone_id = get_zone(s, "Ratusz", "szatnia").id
    health.set_status(v, source_id, "refused", "a camera in a zone of kind changing_room …")
    with v.reading() as s:
        note = recorder_notes(s, v.policy)[source_id]
    assert note.startswith("Kamera w strefie rodzaju „szatnia” jest niedozwolona")


@pytest.mark.disk_margin
def test_disk_alerts_are_polish_on_the_dashboard(sqlite_web_vault: Vault) -> None:
    """Disk pressure with nothing to delete raises both alerts; the page shows them in
    Polish (the log keeps its English line)."""
    from kustosz.retention.pressure import relieve_pressure

    v = sqlite_web_vault
    relieve_pressure(v, actor="test", free_space=lambda: (1, 100))
    alerts = " ".join(v.alerts_open())
    assert "Mało miejsca na dysku: wolne 1,0%, mniej niż wymagane 5,0%." in alerts
    assert "pozostały tylko nagrania objęte zabezpieczeniem" in alerts
    user(v, "iod", ["dpo"])
    c = client(v)
    login(c, "iod")
    page = c.get("/").text
    assert "Mało miejsca na dysku" in page and "disk pressure" not in page


def test_pages_can_name_people_by_display_name_not_login(sqlite_web_vault: Vault) -> None:
    """page() offers printed(login) to every template (the request page names the decision's
    keyer and the copy's maker with it): display name and title; an actor without an account
    ("demo", "cli:root": the server's command line) as the server's operator, never a login."""
    from starlette.requests import Request

    from kustosz.access.users import add_user
    from kustosz.web.common import SERVER_OPERATOR, TEMPLATES, Ctx, _printed

    with sqlite_web_vault.transaction() as s:
        u = add_user(s, "akowalska", "Anna Kowalska", ["custodian"], "test")
        u.title = "inspektor"
    ctx = Ctx(Request({"type": "http", "headers": []}), sqlite_web_vault, None)
    assert _printed(ctx, "akowalska") == "Anna Kowalska, inspektor"
    assert _printed(ctx, "nieznany") == SERVER_OPERATOR
    assert _printed(ctx, None) == ""
    out = TEMPLATES.env.from_string("{{ printed('akowalska') }}").render(
        printed=lambda n: _printed(ctx, n))
    assert out == "Anna Kowalska, inspektor"


def test_a_broken_audit_chain_is_told_in_polish_with_the_detail_for_it(
        sqlite_web_vault: Vault) -> None:
    import json

    from kustosz.db.models import Setting
    from kustosz.web.pages import AUDIT_KEY

    v = sqlite_web_vault
    with v.transaction() as s:
        s.merge(Setting(key=AUDIT_KEY, value=json.dumps({
            "at": datetime.now(UTC).isoformat(), "entries": 12, "by": "iod",
            "problem": "entry 7: hash does not match its content"})))
    user(v, "iod", ["dpo"], display="Iwona Dobrowolska")
    c = client(v)
    login(c, "iod")
    page = c.get("/").text
    assert "(Iwona Dobrowolska) — " in page  # who checked it, by name, not login
    assert "Dziennik zdarzeń jest naruszony albo niekompletny — powiadom informatyka" in page
    assert "Szczegóły techniczne (dla informatyka): entry 7: hash does not match" in page
