"""Alerts that reach a person (issue 14, item 3): the notifier reads the alert rows the
recorder supervisor, the sweep and the phone watch write — written here by the supervisor's
own functions (kustosz.ingest.camera.health), with the clock of each pass given, so grace and
repeat need no sleeping — and sends them to real receivers on loopback: an SMTP relay
(aiosmtpd), a webhook (http.server) and a UDP syslog server. The real recorder against the
test RTSP server is in test_alerts_camera.py."""

from __future__ import annotations

import json
import logging
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kustosz.alerts.channels import syslog_line
from kustosz.alerts.messages import compose
from kustosz.alerts.notifier import Notifier, channel_problems, load_state
from kustosz.config import read_config
from kustosz.db.models import Alert, Source
from kustosz.errors import ConfigError
from kustosz.ingest.camera import health
from kustosz.vault import Vault
from kustosz.words import duration_pl
from tests.alerts_helpers import SmtpSink, SyslogSink, WebhookSink, wait_until, write_alerts

PASSWORD = "Przekaźnik!2026"


def camera(vault: Vault, name: str = "wejście") -> int:
    with vault.transaction() as s:
        src = Source(name=name, kind="camera", created_at=datetime.now(UTC), settings={})
        s.add(src)
        s.flush()
        return src.id


def goes_down(vault: Vault, source_id: int, since: datetime, name: str = "wejście") -> None:
    """What the recorder does when a camera stops: a gap from the last segment, then (after
    --down-alert-after) the camera_down row."""
    health.open_gap(vault, source_id, since, "stream_ended", "the stream ended", name)
    health.raise_down_alert(vault, source_id, name, since, "stream_ended")


def comes_back(vault: Vault, source_id: int, name: str = "wejście") -> datetime:
    back = datetime.now(UTC)
    health.close_gap(vault, source_id, back, name)
    health.clear_down_alert(vault, source_id)
    return back


def configure(vault: Vault, toml: str) -> Notifier:
    write_alerts(vault.root, toml)
    return Notifier(vault, read_config(vault.root).alerts, retry_s=30)


def email_toml(sink: SmtpSink, extra: str = "") -> str:
    return (f'[alerts.email]\nhost = "127.0.0.1"\nport = {sink.port}\n'
            'from = "kustosz@um.example.pl"\nto = ["it@um.example.pl", "iod@um.example.pl"]\n'
            + extra)


KINDS = '[alerts.kinds.camera_down]\ngrace = "2 minutes"\nrepeat = "1 hour"\n'


def test_camera_down_and_back_reach_email_webhook_and_syslog_once_each(vault: Vault) -> None:
    cam = camera(vault)
    with SmtpSink() as smtp, WebhookSink() as hook, SyslogSink() as syslog:
        notifier = configure(vault, email_toml(smtp) + f'[alerts.webhook]\nurl = "{hook.url}"\n'
                             f'[alerts.syslog]\nhost = "127.0.0.1"\nport = {syslog.port}\n'
                             + KINDS)
        since = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=12)
        goes_down(vault, cam, since)
        for _ in range(3):  # passes while it lasts, less than the repeat apart
            notifier.tick()
        back = comes_back(vault, cam)
        notifier.tick()
        notifier.tick(back + timedelta(minutes=1))
        local_since = since.astimezone(vault.policy.timezone).strftime("%d.%m.%Y %H:%M")
        assert smtp.subjects() == [f"[Kustosz] Kamera „wejście” nie nagrywa od {local_since}",
                                   "[Kustosz] Kamera „wejście” znów nagrywa (przerwa 12 min)"]
        first = smtp.mails[0]
        assert first["To"] == "it@um.example.pl, iod@um.example.pl"
        # the row's own words, as the subject: quotes, Polish date format, Europe/Warsaw
        assert f"Kamera „wejście” nie nagrywa od {local_since} (przyczyna" in first.get_content()
        assert "Wiadomość wysłana automatycznie przez Kustosza" in first.get_content()
        assert [p["json"]["event"] for p in hook.posts] == ["start", "clear"]
        assert hook.posts[0]["type"].startswith("application/json")
        assert hook.posts[1]["json"]["source"] == "wejście"
        assert hook.posts[1]["json"]["subject"] == "Kamera „wejście” znów nagrywa (przerwa 12 min)"
        # a datagram is sent when sendto returns, but the sink's thread may not have read it yet
        wait_until(lambda: len(syslog.lines) >= 2, 5, "the all-clear syslog line")
        assert len(syslog.lines) == 2
    start, clear = (line.decode("utf-8") for line in syslog.lines)
    # RFC 5424: <PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD] BOM MSG; daemon.err, daemon.notice
    assert re.match(r'^<27>1 \S+Z \S+ kustosz - alert \[kustosz@32473 kind="camera_down" '
                    r'event="start" source="wejście" alert="\d+"\] \ufeff\[Kustosz\] Kamera', start)
    assert clear.startswith("<29>1 ") and "znów nagrywa" in clear
    with vault.reading() as s:
        state = load_state(s)
    assert state["open"] == {} and all(q == [] for q in state["queues"].values())


def test_nothing_is_sent_before_the_grace_nor_for_a_blip(sqlite_vault: Vault) -> None:
    cam = camera(sqlite_vault)
    with SmtpSink() as smtp:
        notifier = configure(sqlite_vault, email_toml(smtp) + KINDS)
        since = datetime.now(UTC) - timedelta(seconds=30)
        goes_down(sqlite_vault, cam, since)
        notifier.tick()
        notifier.tick(since + timedelta(minutes=1, seconds=59))
        assert smtp.mails == []
        comes_back(sqlite_vault, cam)  # cleared before the grace: no start, so no all-clear
        notifier.tick(since + timedelta(minutes=5))
        assert smtp.mails == []
        with sqlite_vault.reading() as s:
            assert load_state(s)["open"] == {}


def test_one_reminder_per_repeat_while_it_lasts(sqlite_vault: Vault) -> None:
    cam = camera(sqlite_vault)
    with SmtpSink() as smtp:
        notifier = configure(sqlite_vault, email_toml(smtp) + '[alerts.kinds.camera_down]\n'
                             'grace = "10 seconds"\nrepeat = "30 seconds"\n')
        since = datetime.now(UTC)
        goes_down(sqlite_vault, cam, since)
        notifier.tick(since + timedelta(seconds=11))  # start
        notifier.tick(since + timedelta(seconds=30))  # 19 s later: nothing
        notifier.tick(since + timedelta(seconds=42))  # 31 s after the start: one reminder
        notifier.tick(since + timedelta(seconds=50))  # 8 s after it: nothing
        assert len(smtp.mails) == 2
        assert smtp.subjects()[1].startswith("[Kustosz] Przypomnienie: Kamera „wejście” "
                                             "nie nagrywa od ")
        assert "(trwa 42 s)" in smtp.subjects()[1]


def test_a_restarted_notifier_sends_no_second_start(sqlite_vault: Vault) -> None:
    cam = camera(sqlite_vault)
    with SmtpSink() as smtp:
        toml = email_toml(smtp) + KINDS
        notifier = configure(sqlite_vault, toml)
        goes_down(sqlite_vault, cam, datetime.now(UTC) - timedelta(minutes=5))
        notifier.tick()
        again = Notifier(sqlite_vault, read_config(sqlite_vault.root).alerts)  # serve restarted
        again.tick()
        again.tick()
        assert len(smtp.mails) == 1
        comes_back(sqlite_vault, cam)
        again.tick()
        assert len(smtp.mails) == 2


def test_relay_refusing_the_login_marks_the_channel_failed_and_loses_nothing(
        sqlite_vault: Vault, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="kustosz")
    secret = sqlite_vault.root / "smtp-password"
    secret.write_text(PASSWORD + "\n")
    os.chmod(secret, 0o600)
    cam = camera(sqlite_vault)
    with SmtpSink(password=PASSWORD) as smtp:
        smtp.accept = False  # the relay's account is locked
        notifier = configure(sqlite_vault, email_toml(
            smtp, 'user = "kustosz"\npassword_file = "smtp-password"\n') + KINDS)
        since = datetime.now(UTC) - timedelta(minutes=5)
        goes_down(sqlite_vault, cam, since)
        now = datetime.now(UTC)
        notifier.tick(now)
        assert smtp.mails == [] and smtp.logins == 1
        with sqlite_vault.reading() as s:
            (problem,) = channel_problems(s)
            assert load_state(s)["queues"]["email"][0]["event"] == "start"
        assert problem["name"] == "e-mail" and problem["waiting"] == 1
        assert problem["reason"] == "serwer pocztowy odrzucił logowanie"
        back = comes_back(sqlite_vault, cam)  # meanwhile the camera came back
        notifier.tick(now + timedelta(seconds=10))  # before the retry time: not tried
        assert smtp.logins == 1
        with sqlite_vault.reading() as s:
            assert channel_problems(s)[0]["waiting"] == 2
        smtp.accept = True  # the administrator unlocked it
        notifier.tick(now + timedelta(seconds=31))
        assert [m["Subject"].split(" ", 3)[3] for m in smtp.mails] == [
            "nie nagrywa od " + since.astimezone(sqlite_vault.policy.timezone)
            .strftime("%d.%m.%Y %H:%M"), f"znów nagrywa (przerwa {duration_pl(back - since)})"]
        with sqlite_vault.reading() as s:
            assert channel_problems(s) == []
    logged = caplog.text
    assert "alert channel email failed: the relay 127.0.0.1" in logged
    assert "refused the login of user 'kustosz' (535)" in logged
    assert PASSWORD not in logged


def test_password_file_readable_by_others_is_a_channel_failure(sqlite_vault: Vault,
                                                              caplog: pytest.LogCaptureFixture
                                                              ) -> None:
    secret = sqlite_vault.root / "smtp-password"
    secret.write_text(PASSWORD)
    os.chmod(secret, 0o644)
    cam = camera(sqlite_vault)
    with SmtpSink(password=PASSWORD) as smtp:
        notifier = configure(sqlite_vault, email_toml(
            smtp, 'user = "kustosz"\npassword_file = "smtp-password"\n') + KINDS)
        goes_down(sqlite_vault, cam, datetime.now(UTC) - timedelta(minutes=5))
        notifier.tick()
        assert smtp.logins == 0 and smtp.mails == []
        with sqlite_vault.reading() as s:
            assert channel_problems(s)[0]["reason"].startswith("nie można odczytać pliku z hasłem")
        assert "readable by others (mode 644); chmod 600 it" in caplog.text
        os.chmod(secret, 0o600)
        notifier.tick(datetime.now(UTC) + timedelta(minutes=1))
        assert len(smtp.mails) == 1


def test_webhook_answering_an_error_is_retried(sqlite_vault: Vault,
                                               caplog: pytest.LogCaptureFixture) -> None:
    cam = camera(sqlite_vault)
    with WebhookSink(status=503) as hook:
        notifier = configure(sqlite_vault, f'[alerts.webhook]\nurl = "{hook.url}"\n' + KINDS)
        goes_down(sqlite_vault, cam, datetime.now(UTC) - timedelta(minutes=5))
        notifier.tick()
        assert hook.posts == []
        assert "the webhook at 127.0.0.1" in caplog.text and "answered 503" in caplog.text
        assert "sekret" not in caplog.text  # the address's token is never logged
        hook.status = 200
        notifier.tick(datetime.now(UTC) + timedelta(minutes=1))
        assert [p["json"]["event"] for p in hook.posts] == ["start"]


def test_disk_pressure_raised_by_every_sweep_is_one_message_per_repeat(
        sqlite_vault: Vault) -> None:
    with SmtpSink() as smtp:
        notifier = configure(sqlite_vault, email_toml(smtp) + '[alerts.kinds.disk]\n'
                             'repeat = "1 hour"\n')
        now = datetime.now(UTC)
        for minutes in (0, 15, 30):  # the disk-pressure sweep, every 15 minutes
            with sqlite_vault.transaction() as s:
                s.add(Alert(raised_at=now + timedelta(minutes=minutes), kind="disk_pressure",
                            message="Mało miejsca na dysku: wolne 3,0%, mniej niż wymagane "
                                    "5,0%."))
            notifier.tick(now + timedelta(minutes=minutes, seconds=5))
        assert len(smtp.mails) == 1
        assert smtp.subjects()[0].startswith("[Kustosz] Mało miejsca na dysku (")
        with sqlite_vault.transaction() as s:
            s.add(Alert(raised_at=now + timedelta(minutes=75), kind="disk_pressure",
                        message="Mało miejsca na dysku."))
        notifier.tick(now + timedelta(minutes=75, seconds=5))
        assert len(smtp.mails) == 2


def test_message_words() -> None:
    assert [duration_pl(timedelta(seconds=s)) for s in (45, 720, 3600 + 1200, 2 * 86400 + 3600)
            ] == ["45 s", "12 min", "1 godz. 20 min", "2 dni 1 godz."]
    # seconds count under 10 min; above, the nearest minute (not rounded down)
    assert [duration_pl(timedelta(seconds=s)) for s in (104, 120, 599, 630, 3599, 3629.6)
            ] == ["1 min 44 s", "2 min", "9 min 59 s", "11 min", "1 godz.", "1 godz. 1 min"]
    item = {"alert": 7, "kind": "phone_down", "row_kind": "phone.silent", "source": "sekretariat",
            "since": "2026-11-22T17:02:00+00:00", "at": "2026-11-22T19:32:00+00:00",
            "text": "x", "event": "clear", "n": 1}
    msg = compose(item)
    assert msg.subject == ("[Kustosz] Linia telefoniczna „sekretariat”: nagrania znów docierają "
                           "(przerwa 2 godz. 30 min)")
    assert "od 22.11.2026 18:02 do 22.11.2026 20:32" in msg.body  # Europe/Warsaw, CET
    assert syslog_line(msg, "serwer.um.local").startswith(b"<29>1 ")
    assert json.loads(json.dumps(msg.payload))["event"] == "clear"


BAD = [
    ('[alerts.email]\nhost = "smtp"\nfrom = "k@um.pl"\nto = ["it@um.pl"]\npassword = "x"\n',
     "alerts.email.password is not allowed"),
    ('[alerts.email]\nhost = "smtp"\nfrom = "k@um.pl"\nto = ["it@um.pl"]\nstarttls = true\n'
     'tls = true\n', "choose starttls (port 587) or tls (port 465), not both"),
    ('[alerts.email]\nhost = "smtp"\nfrom = "k@um.pl"\nto = ["it@um.pl"]\nstarttls = true\n'
     'user = "k"\n', "give user and password_file together"),
    ('[alerts.email]\nhost = "smtp.um.pl"\nfrom = "k@um.pl"\nto = ["it@um.pl"]\nuser = "k"\n'
     'password_file = "p"\n', "would send the password in clear"),
    ('[alerts.email]\nhost = "smtp"\nfrom = "k@um.pl"\nto = ["nie adres"]\n',
     "`alerts.email.to`: must be a list of e-mail addresses"),
    ('[alerts.email]\nhost = "smtp"\nfrom = "k@um.pl"\nto = []\n',
     "`alerts.email.to`: must be a list of e-mail addresses"),
    ('[alerts.email]\nhost = "smtp"\nto = ["it@um.pl"]\n',
     "`alerts.email.from`: required key is missing"),
    ('[alerts.email]\nhost = "smtp"\nport = 70000\nfrom = "k@um.pl"\nto = ["it@um.pl"]\n',
     "`alerts.email.port`: must be a whole number from 1 to 65535"),
    ('[alerts.email]\nhost = "smtp"\nfrom = "k@um.pl"\nto = ["it@um.pl"]\nca_file = "ca.pem"\n',
     "alerts.email.ca_file is used only with starttls or tls"),
    ('[alerts.webhook]\nurl = "ftp://x"\n', "`alerts.webhook.url`: must be an http://"),
    ('[alerts.syslog]\nhost = "10.0.0.1"\nport = "514"\n',
     "`alerts.syslog.port`: must be a whole number"),
    ('[alerts.pager]\nnumber = "1"\n', "`alerts.pager`: unknown key"),
    ('[alerts.kinds.camera_gone]\ngrace = "1 minute"\n', "`alerts.kinds.camera_gone`: "
     "unknown alert kind"),
    ('[alerts.kinds.camera_down]\ngrace = "dwie minuty"\n', "`alerts.kinds."
     "camera_down.grace`: cannot read grace 'dwie minuty'"),
    ('[alerts.kinds.camera_down]\nrepeat = "0 minutes"\n', "repeat must be longer than zero"),
    ('[alerts.kinds.camera_down]\ngrace = 120\n', "`alerts.kinds.camera_down.grace`: must be text"),
    ('[alerts.kinds.camera_down]\nevery = "1 hour"\n',
     "`alerts.kinds.camera_down.every`: unknown key"),
]


@pytest.mark.parametrize(("toml", "error"), BAD)
def test_bad_alert_settings_are_refused_clearly(tmp_path: Path, toml: str, error: str) -> None:
    (tmp_path / "kustosz.toml").write_text('preset = "pleszew"\n' + toml)
    with pytest.raises(ConfigError) as exc:
        read_config(tmp_path)
    assert error in str(exc.value)


def test_good_settings_are_read(tmp_path: Path) -> None:
    (tmp_path / "kustosz.toml").write_text(
        'preset = "pleszew"\n[alerts.email]\nhost = "smtp.um.example.pl"\nport = 587\n'
        'starttls = true\nuser = "kustosz"\npassword_file = "/etc/kustosz/smtp"\n'
        'from = "kustosz@um.example.pl"\nto = ["it@um.example.pl"]\n'
        '[alerts.kinds.camera_down]\ngrace = "2 minutes"\nrepeat = "1 hour"\n'
        '[alerts.kinds.disk]\nrepeat = "never"\n')
    alerts = read_config(tmp_path).alerts
    assert alerts.email is not None and alerts.email.port == 587 and alerts.email.starttls
    assert alerts.email.password_file == Path("/etc/kustosz/smtp")
    assert alerts.kinds["camera_down"] == (timedelta(minutes=2), timedelta(hours=1))
    assert alerts.kinds["disk"] == (timedelta(0), None)
    assert list(alerts.channels) == ["email"]


def test_starttls_relay_with_the_offices_own_ca(sqlite_vault: Vault, tmp_path: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    """The relay's certificate is checked: unknown at first (refused, nothing sent, nothing
    lost); once ca_file names it, the waiting message goes — after STARTTLS, then the login
    with a password in Polish letters (AUTH PLAIN in UTF-8)."""
    from tests.monitoring.imap_helpers import self_signed

    cert, key = self_signed(tmp_path)
    secret = sqlite_vault.root / "smtp-password"
    secret.write_text(PASSWORD + "\n")
    os.chmod(secret, 0o600)
    cam = camera(sqlite_vault)
    with SmtpSink(password=PASSWORD, tls=(cert, key)) as smtp:
        login = 'starttls = true\nuser = "kustosz"\npassword_file = "smtp-password"\n'
        notifier = configure(sqlite_vault, email_toml(smtp, login) + KINDS)
        goes_down(sqlite_vault, cam, datetime.now(UTC) - timedelta(minutes=5))
        notifier.tick()
        assert smtp.mails == [] and smtp.logins == 0
        with sqlite_vault.reading() as s:
            assert channel_problems(s)[0]["reason"] == ("nie udało się nawiązać szyfrowanego "
                                                        "połączenia")
        assert "TLS with 127.0.0.1" in caplog.text and "CERTIFICATE_VERIFY_FAILED" in caplog.text
        (sqlite_vault.root / "kustosz.toml").write_text(
            (sqlite_vault.root / "kustosz.toml").read_text().replace(
                'starttls = true\n', f'starttls = true\nca_file = "{cert}"\n'))
        restarted = Notifier(sqlite_vault, read_config(sqlite_vault.root).alerts)
        restarted.tick(datetime.now(UTC) + timedelta(minutes=2))
        assert smtp.logins == 1 and len(smtp.mails) == 1
        assert smtp.subjects()[0].startswith("[Kustosz] Kamera „wejście” nie nagrywa od ")


def test_many_cameras_down_at_once_make_one_message_not_a_flood(sqlite_vault: Vault) -> None:
    names = ["brama", "hol", "parking", "wejście"]
    cams = {name: camera(sqlite_vault, name) for name in names}
    with SmtpSink() as smtp, WebhookSink() as hook:
        notifier = configure(sqlite_vault, email_toml(smtp) + f'[alerts.webhook]\nurl = '
                             f'"{hook.url}"\n' + KINDS)
        since = datetime.now(UTC) - timedelta(minutes=5)
        for name, cam in cams.items():  # the switch they hang on died
            goes_down(sqlite_vault, cam, since, name)
        notifier.tick()
        for name, cam in cams.items():
            comes_back(sqlite_vault, cam, name)
        notifier.tick()
        assert smtp.subjects() == [
            "[Kustosz] Kamery nie nagrywają (4): brama, hol, parking, wejście",
            "[Kustosz] Kamery znów nagrywają (4): brama, hol, parking, wejście"]
        assert smtp.mails[0].get_content().count("nie nagrywa od") == 4
        assert [(p["json"]["event"], p["json"]["count"]) for p in hook.posts] == [
            ("start", 4), ("clear", 4)]
        assert {a["source"] for a in hook.posts[0]["json"]["alerts"]} == set(names)
        # a chat's incoming webhook posts "text": never null (review of issue 14)
        text = hook.posts[0]["json"]["text"]
        assert text.startswith("[Kustosz] Kamery nie nagrywają (4): brama")
        assert "Kamera „hol” nie nagrywa od" in text
        assert all(a["text"] for a in hook.posts[0]["json"]["alerts"])
        # two at once stay two messages
        for name in names[:2]:
            goes_down(sqlite_vault, cams[name], since, name)
        notifier.tick()
        assert len(smtp.mails) == 4


def test_camera_down_row_says_it_as_the_subject_does(sqlite_vault: Vault) -> None:
    """Quotes around the name and the Polish date format of the subject, Europe/Warsaw."""
    cam = camera(sqlite_vault, "wejscie")
    since = datetime(2026, 11, 22, 19, 48, 43, tzinfo=UTC)
    goes_down(sqlite_vault, cam, since, "wejscie")
    with sqlite_vault.reading() as s:
        message = s.query(Alert.message).filter(Alert.source_id == cam).scalar()
    assert message.startswith("Kamera „wejscie” nie nagrywa od 22.11.2026 20:48 (przyczyna")
