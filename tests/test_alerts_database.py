"""Nobody is told (issue 27 item 4), with the real parts: a PostgreSQL of the test's own
behind a TCP proxy the test cuts or silences (tests/support/pg_outage.py), real receivers on
loopback (a webhook, a syslog server, an SMTP relay: tests/alerts_helpers.py).

- the database watch answers within its bound whether the database is gone or silent, and
  its words never carry the password;
- `database_unreachable` reaches every channel from memory within grace + bound, once per
  outage, its end is told when the database returns and its row (start and end) is then in
  the history; the notifier never tells that row again;
- the notifier's loop lives through an outage and tells what was raised after it;
- a camera's hole is counted from its last stored segment across a restart of serve, and a
  hole longer than the grace is told even when it ended before anyone looked.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from kustosz.alerts import notifier as notifier_mod
from kustosz.alerts.messages import Message
from kustosz.alerts.notifier import Channel, Notifier, load_state, run_notifier
from kustosz.alerts.without_database import DatabaseAlerts, watch_database
from kustosz.config import read_config
from kustosz.db.models import Alert, AlertDelivery, Recording, Source
from kustosz.db.outage import is_database_away
from kustosz.db.watch import DatabaseWatch
from kustosz.ingest.camera import health
from kustosz.states import AlertRow
from kustosz.vault import Vault
from kustosz.words import duration_pl
from tests.alerts_helpers import SmtpSink, SyslogSink, WebhookSink, wait_until, write_alerts
from tests.support.pg_outage import PrivatePostgres, Proxy, available

needs_pg = pytest.mark.skipif(not available(), reason="PostgreSQL server binaries missing")
GRACE_S = 5
EVERY_S, ANSWER_S = 0.5, 2.0
BOUND_S = EVERY_S + ANSWER_S + 10  # a probe's worst, and room for a loaded machine


@pytest.fixture
def private_pg(tmp_path: Path) -> Iterator[tuple[PrivatePostgres, Proxy]]:
    pg = PrivatePostgres(tmp_path)
    proxy = Proxy(pg.port)
    try:
        yield pg, proxy
    finally:
        proxy.close()
        pg.stop()


def pg_vault(root: Path, url: str, toml: str = "") -> Vault:
    v = Vault.init(root, "pleszew", url, actor="test")
    v.close()
    if toml:
        write_alerts(root, toml)
    return Vault.open(root)


def channels_toml(hook: WebhookSink, syslog: SyslogSink, smtp: SmtpSink) -> str:
    return (f'[alerts]\ndigest_at = ""\n[alerts.webhook]\nurl = "{hook.url}"\n'
            f'[alerts.syslog]\nhost = "127.0.0.1"\nport = {syslog.port}\n'
            f'[alerts.email]\nhost = "127.0.0.1"\nport = {smtp.port}\n'
            'from = "kustosz@um.example.pl"\nto = ["it@um.example.pl"]\n'
            f'[alerts.kinds.database_unreachable]\ngrace = "{GRACE_S} seconds"\n')


def _deliveries(v: Vault) -> list[AlertDelivery]:
    with v.reading() as s:
        rows = list(s.execute(select(AlertDelivery)).scalars())
        s.expunge_all()
        return rows


def events(hook: WebhookSink, kind: str = "database_unreachable") -> list[str]:
    return [p["json"]["event"] for p in list(hook.posts) if p["json"].get("kind") == kind]


# -- the watch ------------------------------------------------------------------------------
@needs_pg
@pytest.mark.parametrize("outage", ["cut", "silence"])
def test_watch_says_away_within_its_bound_and_never_the_password(
        private_pg: tuple[PrivatePostgres, Proxy], outage: str) -> None:
    pg, proxy = private_pg
    secret = "Tajne!Hasło-7"  # trust authentication: sent, ignored, never to be shown
    url = pg.url_via(proxy.port).replace("postgres@", f"postgres:{secret}@")
    watch = DatabaseWatch(url, every_s=EVERY_S, answer_s=ANSWER_S)
    assert watch.check().up is True and watch.is_up
    getattr(proxy, outage)()
    started = time.monotonic()
    reading = watch.check()
    took = time.monotonic() - started
    assert reading.up is False and not watch.is_up
    assert took < ANSWER_S + 1.5, f"the probe took {took:.1f} s"
    assert reading.error and secret not in reading.error and "Tajne" not in reading.error
    since = reading.since
    assert watch.check().since == since  # the outage's start stays where it was
    proxy.restore()
    wait_until(lambda: watch.check().up, 20, "the database to answer again")
    assert watch.reading.since > since and watch.reading.error is None


def test_watch_of_sqlite(sqlite_vault: Vault, tmp_path: Path) -> None:
    assert DatabaseWatch.of(sqlite_vault).check().up is True
    gone = DatabaseWatch(f"sqlite:///{tmp_path / 'nowhere' / 'vault.db'}")
    reading = gone.check()
    assert reading.up is False and "OperationalError" in (reading.error or "")
    assert not (tmp_path / "nowhere").exists()  # asking created nothing


# -- database_unreachable from memory ---------------------------------------------------------
@needs_pg
@pytest.mark.parametrize("outage", ["cut", "silence"])
def test_database_away_reaches_every_channel_within_grace_and_is_recorded_after(
        private_pg: tuple[PrivatePostgres, Proxy], tmp_path: Path, outage: str) -> None:
    pg, proxy = private_pg
    with WebhookSink() as hook, SyslogSink() as syslog, SmtpSink() as smtp:
        v = pg_vault(tmp_path / "vault", pg.url_via(proxy.port),
                     channels_toml(hook, syslog, smtp))
        watch = watch_database(v, every_s=EVERY_S, answer_s=ANSWER_S)
        stop = threading.Event()
        thread = threading.Thread(target=watch.run, args=(stop,), daemon=True)
        thread.start()
        try:
            wait_until(lambda: watch.is_up, 20, "the first probe")
            cut_at, cut_wall = time.monotonic(), datetime.now(UTC)
            getattr(proxy, outage)()
            wait_until(lambda: events(hook) == ["start"], GRACE_S + BOUND_S,
                       "the start at the webhook")
            took = time.monotonic() - cut_at
            assert took >= GRACE_S, f"told after {took:.1f} s, before the grace"
            wait_until(lambda: len(syslog.lines) >= 1 and len(smtp.mails) >= 1, 15,
                       "the start by syslog and e-mail")
            start = hook.posts[0]["json"]
            assert start["subject"].startswith("Baza danych jest niedostępna od ")
            assert start["alert_id"] is None and start["event"] == "start"
            assert "journalctl -u kustosz" in smtp.mails[0].get_content()
            assert str(smtp.mails[0]["Subject"]).startswith("[Kustosz] Baza danych jest "
                                                            "niedostępna od ")
            assert b'kind="database_unreachable" event="start"' in syslog.lines[0]
            # once per outage: more probes fail, nothing more is sent
            probes = watch.reading.probes
            wait_until(lambda: watch.reading.probes >= probes + 3, 30, "more probes")
            assert events(hook) == ["start"] and len(smtp.mails) == 1
            proxy.restore()
            wait_until(lambda: events(hook) == ["start", "clear"], BOUND_S + 10,
                       "the end at the webhook")
            back_wall = datetime.now(UTC)
            clear = hook.posts[1]["json"]["subject"]
            assert clear.startswith("Baza danych znów dostępna (była niedostępna przez "), clear
            wait_until(lambda: len(smtp.mails) >= 2 and len(syslog.lines) >= 2, 15,
                       "the end by e-mail and syslog")
            assert b'event="clear"' in syslog.lines[1]
        finally:
            stop.set()
            thread.join(ANSWER_S + 5)
        # the history: one row, start and end, cleared
        with v.reading() as s:
            rows = list(s.execute(select(Alert).where(
                Alert.kind == AlertRow.DATABASE_UNREACHABLE)).scalars())
        assert len(rows) == 1, rows
        row = rows[0]
        assert row.cleared_at is not None and row.source_id is None
        assert cut_wall <= row.raised_at <= cut_wall + timedelta(seconds=BOUND_S)
        assert row.raised_at < row.cleared_at <= back_wall
        assert row.message.startswith("Baza danych była niedostępna od ")
        # who was told, from memory, is recorded against the row once it is written
        wait_until(lambda: len(_deliveries(v)) == 6, 15, "the six deliveries recorded")
        told = _deliveries(v)
        assert sorted((d.channel, d.event) for d in told) == sorted(
            (c, e) for c in ("email", "syslog", "webhook") for e in ("start", "clear"))
        assert all(d.alert_ids == [row.id] and d.from_memory and d.outcome == "sent"
                   for d in told)
        assert {d.channel: d.recipients for d in told} == {
            "email": "it@um.example.pl", "syslog": f"127.0.0.1:{syslog.port}",
            "webhook": "127.0.0.1"}  # the host: never the token in the address
        # the notifier sees the row and never tells it again
        sent = len(hook.posts)
        notifier = Notifier(v, read_config(v.root).alerts)
        notifier.tick()
        notifier.tick(datetime.now(UTC) + timedelta(minutes=5))
        assert len(hook.posts) == sent
        v.close()


@needs_pg
def test_a_database_silent_while_the_alert_settings_are_read_is_told_within_its_bound(
        private_pg: tuple[PrivatePostgres, Proxy], tmp_path: Path) -> None:
    """Issue 64 (the suite's [silence] failure): the watch's listener read the alert settings
    on the watch's own thread after a probe answered; a database that went silent just then
    held that read (its connection's deadline) and with it the next probes, so the outage was
    told seconds past grace + bound. The silence here begins exactly there: after the probe
    answered, before the listener reads."""
    pg, proxy = private_pg
    with WebhookSink() as hook, SyslogSink() as syslog, SmtpSink() as smtp:
        v = pg_vault(tmp_path / "vault", pg.url_via(proxy.port),
                     channels_toml(hook, syslog, smtp))
        watch = watch_database(v, every_s=EVERY_S, answer_s=ANSWER_S)
        cut: list[float] = []

        def silence_before_the_read(reading: object) -> None:
            if not cut and watch.is_up:
                proxy.silence()
                cut.append(time.monotonic())

        watch.listeners.insert(0, silence_before_the_read)
        stop = threading.Event()
        thread = threading.Thread(target=watch.run, args=(stop,), daemon=True)
        thread.start()
        try:
            wait_until(lambda: cut, 20, "the first probe answered")
            wait_until(lambda: events(hook) == ["start"], GRACE_S + BOUND_S,
                       "the start at the webhook")
            assert time.monotonic() - cut[0] >= GRACE_S
        finally:
            stop.set()
            proxy.restore()
            thread.join(ANSWER_S + 10)
        v.close()


def test_an_outage_shorter_than_the_grace_is_neither_told_nor_written(
        sqlite_vault: Vault) -> None:
    """The listener's rule by itself, its readings given (the watch's are in the test above)."""
    from kustosz.db.watch import Reading

    with WebhookSink() as hook:
        sqlite_vault.close()
        v = pg_vault_free(sqlite_vault.root, f'[alerts.webhook]\nurl = "{hook.url}"\n')
        alerts = DatabaseAlerts(v, grace=timedelta(seconds=60))
        t0 = datetime.now(UTC)
        alerts.tick(Reading(False, t0, t0), t0 + timedelta(seconds=59))
        alerts.tick(Reading(True, t0 + timedelta(seconds=59)), t0 + timedelta(seconds=59))
        assert alerts.deliver() == 0 and hook.posts == []
        with v.reading() as s:
            assert s.execute(select(Alert)).first() is None
        # a long one: told once, however many readings say so; then its end and its row
        t1 = t0 + timedelta(minutes=5)
        for n in range(3):
            alerts.tick(Reading(False, t1, t1), t1 + timedelta(seconds=60 + n))
            alerts.deliver()
        alerts.tick(Reading(True, t1 + timedelta(minutes=2)), t1 + timedelta(minutes=2))
        alerts.deliver()
        # back, but not for long enough to be sure (a flapping database): not yet its end
        assert [p["json"]["event"] for p in hook.posts] == ["start"]
        alerts.tick(Reading(True, t1 + timedelta(minutes=2)), t1 + timedelta(minutes=3))
        alerts.deliver()
        assert [p["json"]["event"] for p in hook.posts] == ["start", "clear"]
        assert hook.posts[1]["json"]["subject"] == ("Baza danych znów dostępna (była "
                                                    "niedostępna przez 2 min)")
        assert alerts.settled(30)  # the row is written off the watch's thread
        with v.reading() as s:
            row = s.execute(select(Alert)).scalar_one()
        assert (row.raised_at, row.cleared_at) == (t1, t1 + timedelta(minutes=2))
        v.close()


def pg_vault_free(root: Path, toml: str) -> Vault:
    """The (closed) vault at ``root`` with ``toml`` appended, opened again."""
    write_alerts(root, toml)
    return Vault.open(root)


# -- the notifier through an outage -----------------------------------------------------------
@needs_pg
def test_notifier_lives_through_an_outage_and_tells_what_came_after(
        private_pg: tuple[PrivatePostgres, Proxy], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from kustosz.db import deadline

    monkeypatch.setattr(notifier_mod, "POLL_S", 0.2)
    monkeypatch.setattr(notifier_mod, "AWAY_LIMIT_S", 1.0)
    monkeypatch.setattr(deadline, "DEFAULT_S", 3.0)  # a silence noticed in 3 s, not 60
    caplog.set_level("INFO", logger="kustosz.alerts.notifier")
    pg, proxy = private_pg
    with WebhookSink() as hook:
        v = pg_vault(tmp_path / "vault", pg.url_via(proxy.port),
                     f'[alerts]\ndigest_at = ""\n[alerts.webhook]\nurl = "{hook.url}"\n'
                     '[alerts.kinds.camera_down]\ngrace = "0 s"\n')
        with v.transaction() as s:
            src = Source(name="wejscie", kind="camera", created_at=datetime.now(UTC),
                         settings={})
            s.add(src)
            s.flush()
            cam = src.id
        proxy.cut()  # the notifier starts while the database is away
        stop = threading.Event()
        thread = threading.Thread(target=run_notifier, args=(v, stop), daemon=True)
        thread.start()
        try:
            wait_until(lambda: "database is away" in caplog.text, 30, "a failed start")
            proxy.restore()
            health.raise_down_alert(v, cam, "wejscie", datetime.now(UTC), "unreachable")
            wait_until(lambda: events(hook, "camera_down") == ["start"], 30, "the start")
            caplog.clear()
            proxy.silence()  # a database that stops answering mid-run
            wait_until(lambda: "the database is away" in caplog.text, 60,
                       "the notifier to find the silent database away")
            wait_until(lambda: caplog.text.count("alert notifier") >= 1, 5, "its back-off")
            assert thread.is_alive()
            proxy.restore()
            health.clear_down_alert(v, cam)
            try:
                wait_until(lambda: events(hook, "camera_down") == ["start", "clear"], 120,
                           "the all-clear after the outage")
            except AssertionError as exc:
                raise AssertionError(f"{exc}; the webhook got "
                                     f"{events(hook, 'camera_down')}") from None
            assert thread.is_alive()
        finally:
            stop.set()
            thread.join(70)
        assert not thread.is_alive()
        v.close()


class SilenceOnceTaken:
    """The real webhook channel; the database stops answering the moment it took its first
    message (before the notifier can write that down), as it did in the loaded suite runs."""

    def __init__(self, channel: Channel, proxy: Proxy) -> None:
        self.channel, self.proxy, self.name = channel, proxy, channel.name
        self.armed = True

    def send(self, msg: Message) -> None:
        self.channel.send(msg)
        if self.armed:
            self.armed = False
            self.proxy.silence()


@needs_pg
def test_a_message_taken_as_the_database_went_silent_is_not_sent_again(
        private_pg: tuple[PrivatePostgres, Proxy], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The cause of the notifier test's failures under load (issue 27): the webhook took the
    start, the database stopped answering before its queue entry was written off, and after
    the outage the start went out again before the all-clear."""
    from kustosz.db import deadline

    monkeypatch.setattr(deadline, "DEFAULT_S", 3.0)
    pg, proxy = private_pg
    with WebhookSink() as hook:
        v = pg_vault(tmp_path / "vault", pg.url_via(proxy.port) + "?connect_timeout=3",
                     f'[alerts]\ndigest_at = ""\n[alerts.webhook]\nurl = "{hook.url}"\n'
                     '[alerts.kinds.camera_down]\ngrace = "0 s"\n')
        cam = camera(v)
        notifier = Notifier(v, read_config(v.root).alerts)
        notifier.channels["webhook"] = SilenceOnceTaken(notifier.channels["webhook"], proxy)
        health.raise_down_alert(v, cam, "wejście", datetime.now(UTC), "unreachable")
        with pytest.raises(Exception) as away:  # whatever the driver raises
            notifier.tick()
        assert is_database_away(away.value), away.value
        assert events(hook, "camera_down") == ["start"]
        proxy.restore()
        health.clear_down_alert(v, cam)
        notifier.tick()
        assert events(hook, "camera_down") == ["start", "clear"]
        with v.reading() as s:
            assert load_state(s)["queues"]["webhook"] == []
        v.close()


# -- camera holes across restarts -------------------------------------------------------------
def camera(vault: Vault, name: str = "wejście") -> int:
    with vault.transaction() as s:
        src = Source(name=name, kind="camera", created_at=datetime.now(UTC), settings={})
        s.add(src)
        s.flush()
        return src.id


def stored_until(vault: Vault, source_id: int, end: datetime) -> None:
    """A segment in the index ending at ``end`` (only its times matter here)."""
    with vault.transaction() as s:
        s.add(Recording(source_id=source_id, kind="camera",
                        start_at=end - timedelta(seconds=10), end_at=end, size=1,
                        sha256="0" * 64, storage_key=f"x/{source_id}/{end.timestamp()}.mp4",
                        state="stored", meta={}, ingested_at=end))


@pytest.mark.parametrize("order", ["after_close_gap", "before_close_gap", "explicit"])
def test_a_hole_no_row_was_raised_for_is_written_and_told_when_it_ends(
        sqlite_vault: Vault, order: str) -> None:
    """serve restarted (or the database was away) while the camera was down: the recorder
    could not raise camera_down; when it records again the hole — from the end of its last
    stored segment — is written and told: 'nie nagrywała przez 1 min 10 s'."""
    v = sqlite_vault
    cam = camera(v)
    with WebhookSink() as hook:
        v.close()
        v = pg_vault_free(v.root, f'[alerts.webhook]\nurl = "{hook.url}"\n')
        notifier = Notifier(v, read_config(v.root).alerts)
        notifier.tick()  # a notifier that ran before: rows from now on are its to tell
        now = datetime.now(UTC).replace(microsecond=0)
        stored_until(v, cam, now - timedelta(seconds=80))
        since = health.last_delivered(v, cam)
        assert since == now - timedelta(seconds=80)
        # what a recorder starting after the restart does: the hole from the last segment
        health.open_gap(v, cam, since, "recorder_not_running", "not running", "wejście")
        back = since + timedelta(seconds=70)
        if order == "after_close_gap":
            health.close_gap(v, cam, back, "wejście")
            health.clear_down_alert(v, cam, after_s=60)
        elif order == "before_close_gap":  # the gap still open: the hole ends now
            back = datetime.now(UTC)
            health.clear_down_alert(v, cam, after_s=60)
            health.close_gap(v, cam, back, "wejście")
        else:  # the recorder names the hole
            health.clear_down_alert(v, cam, after_s=60, since=since, until=back)
            health.close_gap(v, cam, back, "wejście")
        health.clear_down_alert(v, cam, after_s=60)  # a second call writes nothing more
        with v.reading() as s:
            [row] = s.execute(select(Alert).where(Alert.source_id == cam)).scalars().all()
        assert row.cleared_at is not None and row.raised_at == since + timedelta(seconds=60)
        notifier.tick()
        notifier.tick()
        posts = [p["json"] for p in hook.posts]
        assert [p["event"] for p in posts] == ["past"], posts
        local = since.astimezone(v.policy.timezone).strftime("%d.%m.%Y %H:%M")
        span = "1 min 10 s" if order != "before_close_gap" else duration_pl(back - since)
        assert posts[0]["subject"] == (f"Kamera „wejście” nie nagrywała przez {span} "
                                       f"(od {local})")
        assert posts[0]["since"] == since.isoformat() and posts[0]["at"] == back.isoformat()
        v.close()


@pytest.mark.parametrize(("hole_s", "told"), [(70, True), (59, False)])
def test_a_row_raised_and_cleared_between_two_looks_is_told_if_longer_than_the_grace(
        sqlite_vault: Vault, hole_s: int, told: bool) -> None:
    """The 2-minute grace used to swallow every hole of a restart: the row raised after a
    minute and cleared seconds later was never told. Now the hole itself is judged."""
    v = sqlite_vault
    cam = camera(v)
    with WebhookSink() as hook:
        v.close()
        v = pg_vault_free(v.root, f'[alerts.webhook]\nurl = "{hook.url}"\n')
        notifier = Notifier(v, read_config(v.root).alerts)
        notifier.tick()
        since = datetime.now(UTC) - timedelta(seconds=hole_s + 5)
        health.open_gap(v, cam, since, "recorder_not_running", "not running", "wejście")
        health.raise_down_alert(v, cam, "wejście", since, "recorder_not_running")
        health.close_gap(v, cam, since + timedelta(seconds=hole_s), "wejście")
        health.clear_down_alert(v, cam)
        for _ in range(3):
            notifier.tick()
        assert [p["json"]["event"] for p in hook.posts] == (["past"] if told else [])
        v.close()


def test_rows_that_cleared_before_the_notifier_first_looked_are_not_told(
        sqlite_vault: Vault) -> None:
    """An upgrade brings the rule to a vault with a history: nothing old is told."""
    v = sqlite_vault
    cam = camera(v)
    since = datetime.now(UTC) - timedelta(minutes=10)
    health.open_gap(v, cam, since, "unreachable", "x", "wejście")
    health.raise_down_alert(v, cam, "wejście", since, "unreachable")
    health.close_gap(v, cam, since + timedelta(minutes=5), "wejście")
    health.clear_down_alert(v, cam)
    with WebhookSink() as hook:
        v.close()
        v = pg_vault_free(v.root, f'[alerts.webhook]\nurl = "{hook.url}"\n')
        notifier = Notifier(v, read_config(v.root).alerts)
        notifier.tick(datetime.now(UTC) + timedelta(seconds=1))
        notifier.tick(datetime.now(UTC) + timedelta(seconds=2))
        assert hook.posts == []
        v.close()


def test_a_gathered_message_names_a_sourceless_alert_by_its_kind() -> None:
    """Several alerts of no source told together (the disk's, found in the full-disk run) are
    named by their kind's words, never left as dashes."""
    from kustosz.alert_kinds import KINDS
    from kustosz.alerts.messages import compose_many

    at = datetime(2026, 11, 24, 2, tzinfo=UTC)
    items = [{"alert": n, "kind": "disk_full", "row_kind": "disk_full", "source": None,
              "since": at.isoformat(), "text": None, "event": "past",
              "at": (at + timedelta(minutes=3)).isoformat(), "n": 0} for n in (1, 2)]
    subject = compose_many(items, "Urząd").subject
    assert "—" not in subject and KINDS["disk_full"].label_pl in subject, subject
