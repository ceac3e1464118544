"""The camera register and Kodeks pracy art. 22²: purposes, forbidden rooms, notice and
signage dates, secret locations, credentials never shown; bad input changes nothing."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from camera_helpers import register_camera
from sqlalchemy import select, update
from tests.conftest import Cli, snapshot
from tests.office_day import office_today

from kustosz.cameras.register import address_of, camera_rows, get_camera, zone_rows
from kustosz.cameras.rules import parse_rtsp_url, redact, start_gate
from kustosz.db.cameras import RecorderStatus, Zone
from kustosz.db.models import AuditEntry
from kustosz.errors import InputError
from kustosz.ingest.camera.supervisor import RecorderPool, decide
from kustosz.vault import Vault

WARSAW = ZoneInfo("Europe/Warsaw")
SECRET = "Tajne!haslo"


def audit_text(vault: Vault) -> str:
    with vault.reading() as s:
        return "\n".join(f"{e.action} {e.subject} {e.details}"
                         for e in s.execute(select(AuditEntry)).scalars())


def test_credentials_are_kept_apart_and_never_shown(site_vault: Vault) -> None:
    url = "rtsp://admin:Tajne%21haslo@10.0.0.7:554/Streaming/101"
    register_camera(site_vault, "hol", url)
    with site_vault.reading() as s:
        camera, _ = get_camera(s, "hol")
        rows = camera_rows(s, site_vault.policy, may_see_locations=True)
    assert camera.url == "rtsp://10.0.0.7:554/Streaming/101"
    # kept sealed (tests/test_data_at_rest.py attacks the database file itself)
    assert camera.rtsp_user == "admin" and SECRET not in (camera.rtsp_password or "")
    assert address_of(camera, site_vault.secrets).password == SECRET
    assert rows[0]["url"] == camera.url
    assert SECRET not in str(rows) and "Tajne" not in audit_text(site_vault)


def test_credentials_survive_quoting() -> None:
    address = parse_rtsp_url("rtsp://kamera:p%40ss%3Aw@127.0.0.1:8554/cam1")
    assert (address.user, address.password) == ("kamera", "p@ss:w")
    assert address.with_credentials() == "rtsp://kamera:p%40ss%3Aw@127.0.0.1:8554/cam1"


def test_redact_removes_userinfo_and_secrets() -> None:
    text = "Error opening input file rtsp://u:p%40ss@127.0.0.1:554/cam1. (p@ss)"
    out = redact(text, "p@ss")
    assert "p@ss" not in out and "p%40ss" not in out and "rtsp://***@127.0.0.1" in out


@pytest.mark.parametrize("kind", ["canteen", "changing_room", "sanitary", "smoking_room",
                                  "union_room", "resident_room", "classroom"])
def test_camera_in_forbidden_zone_is_refused(site_vault: Vault, kind: str) -> None:
    with site_vault.transaction() as s:
        from kustosz.cameras.register import add_zone

        add_zone(s, "Ratusz", f"pokój {kind}", kind, "test")
    before = snapshot(site_vault)
    with pytest.raises(InputError, match=r"refused|unrecognisable"):
        register_camera(site_vault, "zakazana", "rtsp://10.0.0.9/s", zone=f"pokój {kind}")
    assert snapshot(site_vault) == before


def test_forbidden_zone_with_unrecognisable_image_is_allowed_and_audited(
        site_vault: Vault) -> None:
    register_camera(site_vault, "szatnia-cam", "rtsp://10.0.0.9/s", zone="szatnia",
                    unrecognisable_reason="maskowanie sylwetek w kamerze (strefy prywatności)")
    text = audit_text(site_vault)
    assert "camera.forbidden_zone_override szatnia-cam" in text
    assert "maskowanie" in text


def test_sanitary_room_also_needs_representatives_consent(site_vault: Vault) -> None:
    before = snapshot(site_vault)
    with pytest.raises(InputError, match=r"consent .*art\. 22² §2\)"):
        register_camera(site_vault, "wc", "rtsp://10.0.0.9/s", zone="łazienka",
                        unrecognisable_reason="obraz rozmyty")
    assert snapshot(site_vault) == before
    register_camera(site_vault, "wc", "rtsp://10.0.0.9/s", zone="łazienka",
                    unrecognisable_reason="obraz rozmyty",
                    representatives_consent="porozumienie ze związkiem z 2026-03-01")
    assert "porozumienie" in audit_text(site_vault)


def test_start_gate_counts_local_days() -> None:
    notice, signage = date(2026, 11, 1), date(2026, 11, 10)
    eve = datetime(2026, 11, 14, 23, 59, tzinfo=WARSAW)
    day = datetime(2026, 11, 15, 0, 0, tzinfo=WARSAW)
    assert not start_gate(notice, signage, None, eve, WARSAW).may_record
    assert start_gate(notice, signage, None, day, WARSAW).may_record
    # signs put up on the 14th: not before the 15th; on the 15th: not before the 16th
    assert start_gate(notice, date(2026, 11, 15), None, day, WARSAW).earliest == \
        datetime(2026, 11, 16, tzinfo=WARSAW)
    assert not start_gate(None, signage, None, day, WARSAW).may_record
    assert start_gate(None, None, "awaria, decyzja Burmistrza", day, WARSAW).may_record


def test_camera_before_its_notice_date_does_not_record(site_vault: Vault) -> None:
    today = office_today()
    register_camera(site_vault, "nowa", "rtsp://127.0.0.1:9/cam1", notice_date=today,
                    signage_date=today)
    pool = RecorderPool(site_vault)
    pool.reconcile()
    assert pool.recorders == {}
    with site_vault.reading() as s:
        status = s.execute(select(RecorderStatus)).scalar_one()
    assert status.state == "waiting"
    assert (today + timedelta(days=14)).isoformat() in status.message


def test_early_start_override_is_audited(site_vault: Vault, tmp_path) -> None:
    today = office_today()
    register_camera(site_vault, "nowa", "rtsp://127.0.0.1:9/cam1", notice_date=today,
                    signage_date=today)
    cli = Cli(site_vault.root)
    result = cli("cameras", "override-start", "nowa", "--reason", " ", ok=False)
    assert result.exit_code == 2 and "needs a reason" in result.output
    cli("cameras", "override-start", "nowa", "--reason", "kradzieże w holu, decyzja Burmistrza")
    assert [d.record for d in decide(site_vault)] == [True]
    assert "camera.start_override nowa" in audit_text(site_vault)


def test_pool_refuses_a_camera_whose_zone_became_forbidden(site_vault: Vault) -> None:
    register_camera(site_vault, "hol", "rtsp://127.0.0.1:9/cam1")
    with site_vault.transaction() as s:  # e.g. the room was turned into a canteen
        s.execute(update(Zone).where(Zone.name == "hol parter").values(kind="canteen"))
    pool = RecorderPool(site_vault)
    pool.reconcile()
    assert pool.recorders == {}
    assert [(d.record, d.state) for d in decide(site_vault)] == [(False, "refused")]


def test_locations_only_for_those_granted_them(site_vault: Vault) -> None:
    register_camera(site_vault, "hol", "rtsp://10.0.0.7/s")
    with site_vault.reading() as s:
        hidden = camera_rows(s, site_vault.policy, may_see_locations=False)
        shown = camera_rows(s, site_vault.policy, may_see_locations=True)
        assert zone_rows(s, may_see_locations=False) == []
        assert {z["zone"] for z in zone_rows(s, may_see_locations=True)} >= {"hol parter"}
    assert "Ratusz" not in str(hidden) and "hol parter" not in str(hidden)
    assert shown[0]["site"] == "Ratusz" and shown[0]["zone"] == "hol parter"
