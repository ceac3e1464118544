"""The accountability reports' page (issue 53 item 4): the IOD, the head and whoever may read
the registers see the reports, the latest one's findings, and download each report's PDF and
signed ZIP — every download on record in the audit log; other roles get 403 and nothing is
recorded as given. A month is made on request as a job; one not over yet is refused."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.report.report_helpers import month_of_activity, this_month
from web_helpers import client, session_for, user

from kustosz.db.models import AuditEntry
from kustosz.report import store
from kustosz.vault import Vault
from kustosz.web.reports_pages import DOWNLOADED

ALLOWED = ("dpo", "approver", "auditor", "supervisor", "administrator")
REFUSED = ("viewer", "operator")


def _given(vault: Vault) -> list[tuple[str, str, str]]:
    with vault.reading() as s:
        rows = s.execute(select(AuditEntry).where(AuditEntry.action == DOWNLOADED)
                         .order_by(AuditEntry.seq)).scalars()
        return [(e.actor, e.subject, e.details) for e in rows]


@pytest.fixture
def made(sqlite_web_vault: Vault, tmp_path: Path) -> str:
    vault = sqlite_web_vault
    month = month_of_activity(vault, tmp_path / "m")
    store.make(vault, month.period.label, "test", month.now)
    for role in (*ALLOWED, *REFUSED):
        user(vault, f"u-{role}", [role])
    return month.period.label


@pytest.mark.parametrize("role", ALLOWED)
def test_the_allowed_roles_see_and_download_on_record(sqlite_web_vault: Vault, made: str,
                                                      role: str) -> None:
    vault = sqlite_web_vault
    c = client(vault)
    session_for(vault, c, f"u-{role}")
    page = c.get("/reports")
    assert page.status_code == 200, page.text
    assert made in page.text and "Ustalenia ostatniego sprawozdania" in page.text
    assert "bez decyzji po terminie" in page.text  # the planted late request, first
    assert "zweryfikowane" in page.text
    pdf = c.get(f"/reports/{made}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    bundle = c.get(f"/reports/{made}.zip")
    assert bundle.status_code == 200
    names = set(zipfile.ZipFile(io.BytesIO(bundle.content)).namelist())
    assert {"report.json", "sprawozdanie.pdf", "manifest.json", "manifest.sig"} <= names
    given = _given(vault)
    assert [(a, s) for a, s, _ in given] == [(f"u-{role}", made)] * 2
    assert '"file":"sprawozdanie.pdf"' in given[0][2] and ".zip" in given[1][2]
    c.cookies.set("kustosz_lang", "en", domain="testserver.local")
    english = c.get("/reports")
    assert "Accountability reports" in english.text and "Findings of the latest" in english.text


@pytest.mark.parametrize("role", REFUSED)
def test_other_roles_get_403_and_nothing_is_given(sqlite_web_vault: Vault, made: str,
                                                  role: str) -> None:
    vault = sqlite_web_vault
    c = client(vault)
    csrf = session_for(vault, c, f"u-{role}")
    for path in ("/reports", f"/reports/{made}.pdf", f"/reports/{made}.zip"):
        assert c.get(path).status_code == 403, path
    assert c.post("/reports", data={"month": made, "csrf": csrf}).status_code == 403
    assert _given(vault) == []


def test_an_auditor_reads_but_does_not_make(sqlite_web_vault: Vault, made: str) -> None:
    vault = sqlite_web_vault
    c = client(vault)
    csrf = session_for(vault, c, "u-auditor")
    assert "Sporządź sprawozdanie" not in c.get("/reports").text
    assert c.post("/reports", data={"month": made, "csrf": csrf}).status_code == 403


def test_a_month_not_over_is_refused_with_nothing_made(sqlite_web_vault: Vault,
                                                       made: str) -> None:
    vault = sqlite_web_vault
    c = client(vault)
    csrf = session_for(vault, c, "u-dpo")
    later = (this_month(vault).hi + timedelta(days=40)).astimezone(vault.policy.timezone)
    for month in (made, f"{later:%Y-%m}"):  # this month (made above with a later clock)
        refused = c.post("/reports", data={"month": month, "csrf": csrf})
        assert refused.status_code == 422 and "nie skończył" in refused.text
    assert len(store.made(vault)) == 1
