"""The dashboard says, in Polish, when an alert channel fails (kustosz.alerts), so that a
relay refusing the login is not found only when a camera has been down for a weekend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.alerts_helpers import free_port
from web_helpers import client, login, user

from kustosz.alerts.notifier import Notifier
from kustosz.config import AlertsConfig, EmailChannel
from kustosz.db.models import Alert
from kustosz.vault import Vault


def test_dashboard_names_the_failing_channel_and_what_waits(sqlite_web_vault: Vault) -> None:
    v = sqlite_web_vault
    user(v, "iod", ["dpo"])
    user(v, "ola", ["viewer"])
    c = client(v)
    login(c, "iod")
    assert "Powiadomienia o alarmach" not in c.get("/").text
    nobody = EmailChannel("127.0.0.1", free_port(), "k@um.example.pl", ("it@um.example.pl",))
    notifier = Notifier(v, AlertsConfig(email=nobody))  # nothing listens on that port
    with v.transaction() as s:
        for minutes in (0, 90):
            s.add(Alert(raised_at=datetime.now(UTC) - timedelta(minutes=minutes),
                        kind="audit.witness", message="Nie udało się zapisać punktu."))
    notifier.tick()
    page = c.get("/").text
    assert ("Powiadomienia o alarmach (e-mail) nie docierają od ") in page
    assert ": serwer jest nieosiągalny. 2 wiadomości czekają na ponowną próbę wysłania." in page
    other = client(v)
    login(other, "ola")
    assert "Powiadomienia o alarmach" not in other.get("/").text
