"""The DPO's daily digest (issue 14 item 3, R6.3): once a day at `[alerts] digest_at` on the
office's clock (Europe/Warsaw), a plain-text Polish e-mail to `digest_to` through a real SMTP
relay (aiosmtpd) — never twice for one day, also across a restart, retried when the relay is
down — covering exactly the time since the previous digest, 23 or 25 hours across a change
of the clocks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kustosz.alerts.digest import due_day, window
from kustosz.alerts.notifier import Notifier, load_state
from kustosz.audit import append as audit
from kustosz.config import read_config
from kustosz.db.models import Alert
from kustosz.vault import Vault
from tests.alerts_helpers import SmtpSink, write_alerts
from tests.test_alerts import camera

WAW = ZoneInfo("Europe/Warsaw")


def waw(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=WAW).astimezone(UTC)


def configure(vault: Vault, port: int, at: str = "07:30") -> Notifier:
    write_alerts(vault.root, f'[alerts]\ndigest_at = "{at}"\ndigest_to = ["iod@um.example.pl"]\n'
                 f'[alerts.email]\nhost = "127.0.0.1"\nport = {port}\n'
                 'from = "kustosz@um.example.pl"\nto = ["it@um.example.pl"]\n')
    return Notifier(vault, read_config(vault.root).alerts, retry_s=60)


@pytest.mark.parametrize(("day", "hours"), [(date(2026, 3, 29), 23), (date(2026, 10, 25), 25),
                                            (date(2026, 11, 22), 24)])
def test_the_day_covered_follows_the_office_clock_across_dst(day: date, hours: int) -> None:
    start, end = window(day, "07:30", WAW)
    assert (end - start) == timedelta(hours=hours)
    assert end.astimezone(WAW).hour == start.astimezone(WAW).hour == 7
    assert end.astimezone(WAW).minute == 30
    # Consecutive digests meet: every moment is in exactly one of them.
    assert window(day + timedelta(days=1), "07:30", WAW)[0] == end


def test_due_once_per_day_and_not_before_the_time() -> None:
    assert due_day(waw(2026, 11, 22, 7, 29), "07:30", None, WAW) is None
    assert due_day(waw(2026, 11, 22, 7, 30), "07:30", None, WAW) == date(2026, 11, 22)
    assert due_day(waw(2026, 11, 22, 23, 59), "07:30", "2026-11-22", WAW) is None
    assert due_day(waw(2026, 11, 22, 8, 0), "", None, WAW) is None  # no digest set


def test_digest_sent_once_a_day_with_the_days_facts(vault: Vault) -> None:
    src = camera(vault, "wejście")
    with vault.transaction() as s:  # in the window of 23.11 (22.11 07:30 – 23.11 07:30)
        s.add(Alert(raised_at=waw(2026, 11, 22, 22, 0), kind="camera_down", source_id=src,
                    message="Kamera wejście nie nagrywa.",
                    cleared_at=waw(2026, 11, 23, 1, 0)))
        s.add(Alert(raised_at=waw(2026, 11, 23, 3, 0), kind="sweep_failed",
                    message="Usuwanie nie powiodło się."))
        s.add(Alert(raised_at=waw(2026, 11, 22, 7, 0), kind="cert_expiring",  # the day before
                    message="Certyfikat…", cleared_at=waw(2026, 11, 22, 7, 10)))
        for at in (waw(2026, 11, 22, 12, 0), waw(2026, 11, 22, 13, 0)):
            audit(s, "jan.kowalski", "access.refused", "recording 1", {"why": "test"}, at=at)
        audit(s, "anna.nowak", "access.blocked_address", "recording 2", {}, at=waw(
            2026, 11, 23, 6, 0))
    with SmtpSink() as sink:
        notifier = configure(vault, sink.port)
        assert not notifier.digest(waw(2026, 11, 22, 6, 0))  # the first pass ever
        assert not notifier.digest(waw(2026, 11, 23, 7, 29))
        assert notifier.digest(waw(2026, 11, 23, 7, 30))
        assert not notifier.digest(waw(2026, 11, 23, 7, 31))
        # A restart the same day: a new notifier, the state is in the vault.
        again = Notifier(vault, read_config(vault.root).alerts)
        assert not again.digest(waw(2026, 11, 23, 18, 0))
        assert len(sink.mails) == 1
        mail = sink.mails[0]
        assert mail["To"] == "iod@um.example.pl"
        assert str(mail["Subject"]).startswith("[Kustosz] Zestawienie dzienne 23.11.2026: "
                                               "alarmy 2, odmowy 3")
        assert mail.get_content_type() == "text/plain"
        body = mail.get_content()
        assert "Okres: od 22.11.2026 07:30 do 23.11.2026 07:30." in body
        assert "1. Alarmy w tym okresie: zgłoszone: 2, zakończone: 1." in body
        assert "kamera „wejście” nie nagrywa" in body
        assert "przez Kustosza;" in body
        assert "Certyfikat" not in body  # the day before's
        assert "2. Odmowy dostępu do nagrań: 3." in body
        assert "jan.kowalski: 2 razy (odmowa)" in body
        assert "anna.nowak: 1 raz (stanowisko spoza listy)" in body
        assert "3. Wnioski czekające na decyzję: 0" in body
        assert "4. Kopie do zniszczenia" in body
        assert "5. Usuwanie nagrań po terminie: 0 nagrań (0 B) w 0 przebiegach." in body
        assert notifier.digest(waw(2026, 11, 24, 7, 30))  # the next day: the next one
        assert len(sink.mails) == 2
        assert "Okres: od 23.11.2026 07:30 do 24.11.2026 07:30." in sink.mails[1].get_content()


def test_digest_across_the_autumn_clock_change_covers_25_hours(sqlite_vault: Vault) -> None:
    vault = sqlite_vault
    with vault.transaction() as s:  # 02:30 happens twice on 25.10.2026: both are in
        s.add(Alert(raised_at=datetime(2026, 10, 25, 0, 30, tzinfo=UTC), kind="disk_forecast",
                    message="a"))  # 02:30 CEST
        s.add(Alert(raised_at=datetime(2026, 10, 25, 1, 30, tzinfo=UTC), kind="disk_forecast",
                    message="b"))  # 02:30 CET
        s.add(Alert(raised_at=waw(2026, 10, 25, 7, 30), kind="disk_forecast",
                    message="c"))  # the next day's
    with SmtpSink() as sink:
        notifier = configure(vault, sink.port)
        notifier.digest(waw(2026, 10, 24, 6, 0))
        assert notifier.digest(waw(2026, 10, 24, 7, 30))
        assert notifier.digest(waw(2026, 10, 25, 7, 30))
        assert not notifier.digest(waw(2026, 10, 25, 8, 30))
        assert notifier.digest(waw(2026, 10, 26, 7, 30))
        bodies = [m.get_content() for m in sink.mails]
        assert "Okres: od 24.10.2026 07:30 do 25.10.2026 07:30." in bodies[1]
        assert "zgłoszone: 2," in bodies[1]
        assert "zgłoszone: 1," in bodies[2]  # the one at 07:30 on the 25th: next day's
        assert "zgłoszone: 0," in bodies[0]


def test_relay_down_the_digest_waits_and_is_sent_once_when_it_answers(sqlite_vault: Vault
                                                                       ) -> None:
    vault = sqlite_vault
    sink = SmtpSink()
    notifier = configure(vault, sink.port)
    notifier.digest(waw(2026, 11, 22, 6, 0))
    assert not notifier.digest(waw(2026, 11, 22, 7, 30))  # nobody listens
    with vault.reading() as s:
        assert "day" not in load_state(s)["digest"]
    with sink:
        assert not notifier.digest(waw(2026, 11, 22, 7, 30, ))  # before the retry time
        assert notifier.digest(waw(2026, 11, 22, 7, 32))
        assert not notifier.digest(waw(2026, 11, 22, 7, 40))
        assert len(sink.mails) == 1


def test_a_vault_first_started_after_the_digest_time_sends_the_next_days(
        sqlite_vault: Vault) -> None:
    with SmtpSink() as sink:
        notifier = configure(sqlite_vault, sink.port)
        assert not notifier.digest(waw(2026, 11, 22, 12, 0))
        assert not notifier.digest(waw(2026, 11, 22, 23, 0))
        assert notifier.digest(waw(2026, 11, 23, 7, 30))
        assert len(sink.mails) == 1


def test_digest_names_requests_with_their_deadlines_and_copies_due(tmp_path: Path) -> None:
    """Real custody material (the web tests' helper): a copy made, a request registered and
    waiting; the digest a year on names the copy as due and the request as overdue."""
    from kustosz.alerts.digest import compose_digest
    from kustosz.custody.requests import RequestSpec, register_request
    from tests.web.web_helpers import both_vault, make_material

    sqlite_vault = both_vault(tmp_path / "vault")
    m = make_material(sqlite_vault, tmp_path)
    tz = sqlite_vault.policy.timezone
    now = datetime.now(UTC)
    with sqlite_vault.transaction() as s:
        req = register_request(s, sqlite_vault.policy, RequestSpec(
            kind="interested", material="video", requester="Marek Zieliński",
            received_on=now.astimezone(tz).date(), event_date=now.astimezone(tz).date(),
            purpose="uszkodzenie samochodu", description="otarcie drzwi", cameras=["cam-hol"],
            start=m.window[0], end=m.window[1]), "test")
        number = req.id
    today = compose_digest(sqlite_vault, now - timedelta(days=1), now).body
    assert f"wniosek nr {number} z" not in today  # its deadline is not near yet
    assert "3. Wnioski czekające na decyzję: " in today
    later = now + timedelta(days=400)
    body = compose_digest(sqlite_vault, later - timedelta(days=1), later).body
    assert f"wniosek nr {number} z" in body and "termin decyzji minął" in body
    assert f"kopia nr {m.copy_number}, termin minął" in body
    assert "4. Kopie do zniszczenia (upłynął okres ich przechowywania): 1." in body
