"""The dashboard (R6.3) shows the oversight figures, including how long the disk lasts."""

from __future__ import annotations

from web_helpers import client, login, user

from kustosz.vault import Vault


def test_dashboard_shows_storage_forecast(sqlite_web_vault: Vault) -> None:
    user(sqlite_web_vault, "iod", ["dpo"])
    c = client(sqlite_web_vault)
    login(c, "iod")
    page = c.get("/")
    assert page.status_code == 200
    assert "wolne miejsce na dysku" in page.text
    assert "przyrost równoważony usuwaniem" in page.text  # nothing recorded yet
    assert "<b>0</b><span>aktywnych zabezpieczeń nagrań</span>" in page.text  # 0 takes "many"


def test_viewer_sees_no_oversight_figures(sqlite_web_vault: Vault) -> None:
    user(sqlite_web_vault, "ola", ["viewer"])
    c = client(sqlite_web_vault)
    login(c, "ola")
    assert "wolne miejsce na dysku" not in c.get("/").text
