"""The health of a camera added over ONVIF (issue 34 item 5) on the dashboard and in /metrics:
whether its ONVIF service answers (kustosz_camera_onvif_up), its own clock
(kustosz_camera_clock_offset_seconds), and — where ONVIF answers but the picture does not
arrive — which of the two fails. The virtual camera is ipycam (tests/support/onvif_camera.py);
the recorder's "down" is written as the recorder writes it (its own tests show when it does),
so that the page's words for the two failures can be told apart here."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.onvif.onvif_helpers import add_virtual, with_zone
from tests.support.onvif_camera import OnvifCamera, ipycam_available
from tests.web.web_helpers import both_vault, client, signed_in, user

from kustosz.cameras import onvif_clock
from kustosz.db.cameras import RecorderStatus
from kustosz.db.models import Source
from kustosz.states import RecorderState
from kustosz.vault import Vault

pytestmark = pytest.mark.skipif(not ipycam_available(), reason="ipycam is not installed")
PASSWORD = "kamera-haslo-9"


@pytest.fixture
def office(tmp_path: Path) -> Iterator[tuple[Vault, OnvifCamera]]:
    vault = with_zone(both_vault(tmp_path / "vault"))
    user(vault, "adm", ["administrator"])
    with OnvifCamera(8554, password=PASSWORD, clock_offset_s=45.0) as cam:
        add_virtual(vault, cam)
        yield vault, cam
    vault.close()


def _down(vault: Vault) -> None:
    now = datetime.now(UTC)
    with vault.transaction() as s:
        sid = s.execute(select(Source.id).where(Source.name == "hol-onvif")).scalar_one()
        s.merge(RecorderStatus(source_id=sid, state=RecorderState.DOWN, since=now,
                               message="connection refused", codec=None, updated_at=now))


def _metric(text: str, name: str) -> float:
    found = re.search(rf'^{name}{{kind="camera",source="camera-\d+"}} (\S+)$', text, re.M)
    assert found, f"{name} not in /metrics:\n{text}"
    return float(found.group(1))


def test_the_dashboard_and_metrics_tell_onvif_from_the_stream(
        office: tuple[Vault, OnvifCamera]) -> None:
    vault, cam = office
    onvif_clock.check_all(vault, vault.config.cameras)  # answers; its clock 45 s off
    _down(vault)
    page = signed_in(vault, "adm").get("/").text
    assert "kamera odpowiada przez ONVIF, ale jej obraz nie dociera" in page
    assert "zegar kamery rozmija się z czasem serwera" in page
    scraped = client(vault).get("/metrics").text
    assert _metric(scraped, "kustosz_camera_onvif_up") == 1.0
    assert 43 <= _metric(scraped, "kustosz_camera_clock_offset_seconds") <= 47
    assert "hol-onvif" not in scraped  # a camera's name is where it hangs (R1.7)
    cam.stop()  # now ONVIF is away too
    onvif_clock.check_all(vault, vault.config.cameras)
    page = signed_in(vault, "adm").get("/").text
    assert "kamera nie odpowiada przez ONVIF" in page
    assert "ale jej obraz nie dociera" not in page
    assert _metric(client(vault).get("/metrics").text, "kustosz_camera_onvif_up") == 0.0
    english = signed_in(vault, "adm")
    english.cookies.set("kustosz_lang", "en", domain="testserver.local")
    assert "the camera does not answer over ONVIF" in english.get("/").text


def test_the_camera_register_pdf_names_the_device_and_is_for_the_locations_right(
        office: tuple[Vault, OnvifCamera], tmp_path: Path) -> None:
    """The register PDF (R1.6; issue 34 item 2): each camera's place, purpose and device —
    make, model, serial, firmware and ONVIF address. Where cameras hang is the employer's
    secret (R1.7): only the locations right prints it, and each print is on record."""
    import io

    from pypdf import PdfReader

    from kustosz.db.models import AuditEntry
    vault, cam = office
    answer = signed_in(vault, "adm").get("/cameras/register.pdf")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(answer.content)).pages)
    for said in ("Rejestr kamer", "hol-onvif", "Ratusz", "hol parter", "PythonCam",
                 "VirtualCam-1", "PY-000001", "1.3.0", f"127.0.0.1:{cam.port}"):
        assert said in text, said
    (tmp_path / "rejestr-kamer.pdf").write_bytes(answer.content)
    with vault.reading() as s:
        views = [e.subject for e in s.execute(select(AuditEntry).where(
            AuditEntry.action == "camera_locations.view")).scalars()]
    assert "camera register (pdf)" in views
    user(vault, "ola", ["viewer"])
    assert signed_in(vault, "ola").get("/cameras/register.pdf").status_code == 403
