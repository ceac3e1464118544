"""Camera locations (R1.7, issue 11 item 5): where cameras hang is the employer's secret.
No page, register (CSV/PDF, web and API) or request shows a site or zone to a role without the
locations right; holders see them, and every web answer that shows one leaves one audit entry
(as the command line's --locations does). SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select
from tests.conftest import Cli
from tests.office_day import office_today
from web_helpers import Material, client, session_for, user

from kustosz.custody.requests import RequestSpec, register_request
from kustosz.db.models import AuditEntry
from kustosz.vault import Vault

SECRETS = ("Ratusz", "hol parter", "Rynek 1")  # the material's camera: site, zone, address


def _views(vault: Vault) -> int:
    with vault.reading() as s:
        return s.execute(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "camera_locations.view")).scalar_one()


def _text(response) -> str:  # type: ignore[no-untyped-def]
    if response.headers.get("content-type", "").startswith("application/pdf"):
        return " ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)
    return response.text


def _placed_request(m: Material) -> int:
    tz = m.vault.policy.timezone
    now = datetime.now(UTC)
    with m.vault.transaction() as s:
        return register_request(s, m.vault.policy, RequestSpec(
            kind="interested", material="video", requester="Jan Nowak",
            received_on=now.astimezone(tz).date(), event_date=m.window[0].astimezone(tz).date(),
            purpose="szkoda", description="otarcie", place="Ratusz/hol parter",
            start=m.window[0], end=m.window[1], margin_minutes=0), "test").id


def _urls(rid: int) -> list[str]:
    today = office_today()
    span = f"start={today - timedelta(days=7)}&end={today + timedelta(days=1)}"
    api = f"from={today - timedelta(days=7)}&to={today + timedelta(days=1)}"
    return ["/", "/cameras", "/requests", f"/requests/{rid}", "/copies", "/holds", "/calls",
            "/registers", "/access-log", "/authorisations", "/api/requests", "/api/holds",
            *(f"/registers/{k}.{f}?{span}" for k in ("copies", "disclosures", "actions")
              for f in ("csv", "pdf")),
            *(f"/api/registers/{k}?{api}&format={f}" for k in ("copies", "disclosures")
              for f in ("csv", "pdf"))]


@pytest.mark.parametrize("role", ["custodian", "commission", "auditor", "viewer", "operator"])
def test_no_page_or_register_shows_a_location_without_the_right(
        material: Material, role: str) -> None:
    """The leak: the copies register printed 'kamera cam-hol (Ratusz, hol parter)' to
    custodians, commission members and auditors."""
    m = material
    rid = _placed_request(m)
    user(m.vault, "ktos", [role], password=None)
    c = client(m.vault)
    session_for(m.vault, c, "ktos")
    served = 0
    for url in _urls(rid):
        r = c.get(url)
        text = _text(r)
        assert not [x for x in SECRETS if x in text], (role, url)
        served += r.status_code == 200
    assert served >= 3  # dashboard, cameras, calls at least
    if role in ("custodian", "commission", "auditor"):
        copies = c.get(_urls(rid)[12])  # /registers/copies.csv
        assert "kamera cam-hol" in copies.text
    assert _views(m.vault) == 0


def test_holders_see_locations_and_each_web_view_is_audited(material: Material) -> None:
    m = material
    rid = _placed_request(m)
    c = client(m.vault)
    session_for(m.vault, c, "burmistrz")
    urls = _urls(rid)
    for url, shows in (("/cameras", True), (f"/requests/{rid}", True), (urls[12], True),
                       (urls[13], True), (urls[18], True), (urls[14], False),
                       ("/copies", False)):
        before = _views(m.vault)
        r = c.get(url)
        assert r.status_code == 200, url
        assert ("Ratusz" in _text(r)) is shows, url
        assert _views(m.vault) == before + (1 if shows else 0), url


def test_the_command_line_prints_locations_only_when_asked_and_audits_it(
        material: Material, tmp_path) -> None:  # type: ignore[no-untyped-def]
    m = material
    cli = Cli(m.vault.root)
    today = office_today()
    span = ["--from", str(today - timedelta(days=7)), "--to", str(today + timedelta(days=1))]
    plain, located = tmp_path / "plain.csv", tmp_path / "located.csv"
    cli("registers", "print", "--kind", "copies", *span, "--format", "csv", "--out", str(plain))
    assert "Ratusz" not in plain.read_text("utf-8-sig") and _views(m.vault) == 0
    cli("registers", "print", "--kind", "copies", *span, "--format", "csv", "--out",
        str(located), "--locations")
    assert "Ratusz" in located.read_text("utf-8-sig") and _views(m.vault) == 1
