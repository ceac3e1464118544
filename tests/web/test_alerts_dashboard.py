"""The dashboard says, in Polish, when an alert channel fails (kustosz.alerts), so that a
relay refusing the login is not found only when a camera has been down for a weekend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.alerts_helpers import free_port
from web_helpers import client, login, user

from kustosz.alerts.notifier import Notifier
from kustosz.config import AlertsConfig, EmailChannel
from kustosz.db.cameras import Gap
from kustosz.db.models import Alert, Source
from kustosz.vault import Vault


def test_dashboard_names_the_failing_channel_and_what_waits(sqlite_web_vault: Vault) -> None:
    v = sqlite_web_vault
    user(v, "iod", ["dpo"])
    user(v, "ola", ["viewer"])
    c = client(v)
    login(c, "iod")
    assert "Powiadomienia o alarmach" not in c.get("/").text
    nobody = EmailChannel("127.0.0.1", free_port(), "k@um.example.pl", ("it@um.example.pl",))
    notifier = Notifier(v, AlertsConfig({"email": nobody}))  # nothing listens on that port
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


def test_gap_heading_agrees_with_the_number_of_gaps(sqlite_web_vault: Vault) -> None:
    v = sqlite_web_vault
    user(v, "iod", ["dpo"])
    c = client(v)
    login(c, "iod")
    now = datetime.now(UTC)
    with v.transaction() as s:
        cam = Source(name="wejście", kind="camera", created_at=now, settings={})
        s.add(cam)
        s.flush()
        s.add(Gap(source_id=cam.id, start_at=now - timedelta(hours=3),
                  end_at=now - timedelta(hours=2), cause="stream_ended", detail=""))
    assert "Przerwa w nagraniu (ostatnia doba)" in c.get("/").text
    with v.transaction() as s:
        for hours in (1, 0):
            s.add(Gap(source_id=cam.id, start_at=now - timedelta(hours=hours, minutes=30),
                      end_at=now - timedelta(hours=hours, minutes=20), cause="stream_ended",
                      detail=""))
    page = c.get("/").text
    assert "Przerwy w nagraniu (ostatnia doba)" in page and "Przerwa w nagraniu" not in page


def test_dashboard_shows_the_last_verification_whoever_made_it(sqlite_web_vault: Vault) -> None:
    """serve's daily check, `kustosz audit verify` and the button write one "last verified"
    (review of issue 14: the dashboard kept saying the log was never verified)."""
    from kustosz.alerts.checks import Checks, note_verify

    v = sqlite_web_vault
    user(v, "iod", ["dpo"])
    c = client(v)
    login(c, "iod")
    assert "Dziennika jeszcze nie sprawdzano." in c.get("/").text
    Checks(v).verify_if_due(datetime.now(UTC), in_thread=False)  # what serve runs daily
    page = c.get("/").text
    assert "Dziennika jeszcze nie sprawdzano." not in page
    assert "(codzienne sprawdzenie usługi Kustosz)" in page and "łańcuch nienaruszony" in page
    note_verify(v, [], by="root")  # `kustosz audit verify` run by root
    assert "polecenie <code>kustosz audit verify</code>, root)" in c.get("/").text
    from web_helpers import csrf_in

    answer = c.post("/audit/verify", data={"csrf": csrf_in(c.get("/").text)})
    assert answer.status_code in (200, 303)
    page = c.get("/").text
    assert "codzienne sprawdzenie" not in page and "kustosz audit verify</code>, root" not in page
    assert 'id="audit-last">Ostatnie sprawdzenie:' in page
