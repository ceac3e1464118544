"""The administrator's page for the alert channels (issue 14 item 3): kustosz.toml is the
base, the page stores the sections it changes and says where each comes from; the relay's
password is sealed with the vault's secrets key, never shown back nor written to the audit
log; every bad input is named at its field, all at once, and nothing is saved; the test
button sends through the real channels (aiosmtpd) and the notifier takes changes in."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.alerts_helpers import SmtpSink, WebhookSink, write_alerts
from web_helpers import PASSWORD, client, csrf_in, login, user

from kustosz.alerts import settings as alert_settings
from kustosz.alerts.channels import PASSWORD_WHAT
from kustosz.alerts.notifier import Notifier
from kustosz.db.models import AuditEntry, Setting
from kustosz.vault import Vault

SECRET = "Hasło-przekaźnika-ŻÓŁW-77"


def admin_client(vault: Vault) -> TestClient:
    user(vault, "admin", ["administrator"])
    c = client(vault)
    login(c, "admin")
    return c


def good_form(**changes: str) -> dict[str, str]:
    form = {"email_on": "1", "email_host": "127.0.0.1", "email_port": "2525",
            "email_security": "none", "email_from": "kustosz@um.example.pl",
            "email_to": "it@um.example.pl\niod@um.example.pl", "email_user": "",
            "email_password": "", "email_password_file": "", "email_ca_file": "",
            "webhook_url": "", "syslog_host": "", "syslog_port": "514",
            "forecast_days": "14", "digest_at": "07:30", "digest_to": ""}
    from kustosz.alert_kinds import KINDS

    for key, kind in KINDS.items():
        form[f"grace_{key}"] = f"{int(kind.grace.total_seconds())} s"
        form[f"repeat_{key}"] = "never" if kind.repeat is None else \
            f"{int(kind.repeat.total_seconds())} s"
    form.update(changes)
    return form


def post(c: TestClient, form: dict[str, str], url: str = "/admin/alerts") -> object:
    page = c.get("/admin/alerts")
    return c.post(url, data={**form, "csrf": csrf_in(page.text)})


def stored(vault: Vault) -> dict[str, object]:
    with vault.reading() as s:
        return alert_settings.stored(s)


def audit_text(vault: Vault) -> str:
    with vault.reading() as s:
        return "\n".join(f"{e.action} {e.subject} {e.details}" for e in s.execute(
            select(AuditEntry).order_by(AuditEntry.seq)).scalars())


def test_page_shows_the_toml_values_and_where_they_come_from(sqlite_vault: Vault) -> None:
    write_alerts(sqlite_vault.root, '[alerts.webhook]\nurl = "https://hooks.example.pl/a"\n')
    vault = Vault.open(sqlite_vault.root)
    try:
        c = admin_client(vault)
        page = c.get("/admin/alerts")
        assert page.status_code == 200
        # the address may carry a token: only scheme://host is shown (issue 14 review 7)
        assert 'value="https://hooks.example.pl/a"' not in page.text
        assert "Zapisany adres: https://hooks.example.pl/…" in page.text
        assert "Wszystkie ustawienia pochodzą z pliku kustosz.toml." in page.text
        assert "(z pliku kustosz.toml)" in page.text
        assert 'href="/admin/alerts"' in page.text  # in the menu
    finally:
        vault.close()


def test_saving_stores_only_changed_sections_seals_the_password_and_audits_without_it(
        vault: Vault) -> None:
    c = admin_client(vault)
    answer = post(c, good_form(email_user="kustosz", email_password=SECRET,
                               email_host="localhost"))
    assert answer.status_code == 303, answer.text  # type: ignore[attr-defined]
    data = stored(vault)
    assert set(data) == {"email"}  # the rest equals kustosz.toml: not stored
    with vault.reading() as s:
        raw = s.get(Setting, alert_settings.KEY).value
    assert SECRET not in raw and "kustosz-sealed:1:" in raw
    trail = audit_text(vault)
    assert "settings.alerts" in trail and SECRET not in trail and "kustosz-sealed" not in trail
    page = c.get("/admin/alerts")
    assert SECRET not in page.text and "kustosz-sealed" not in page.text
    assert "Hasło jest zapisane" in page.text
    assert "(zmienione na tej stronie)" in page.text
    cfg = alert_settings.effective(vault)
    assert cfg.email is not None and cfg.email.user == "kustosz"
    assert vault.secrets.open(cfg.email.password_sealed, PASSWORD_WHAT) == SECRET
    # Saved again without typing it: the password is kept.
    post(c, good_form(email_user="kustosz", email_host="localhost", email_port="2526"))
    again = alert_settings.effective(vault).email
    assert again is not None and again.port == 2526 and again.password_sealed


BAD = [
    ({"email_port": "70000"}, "email_port", "poza zakresem"),
    ({"email_port": "abc"}, "email_port", "numer portu"),
    ({"email_to": ""}, "email_to", "co najmniej jednego odbiorcę"),
    ({"email_to": "it@um.example.pl, nie-adres"}, "email_to", "„nie-adres”"),
    ({"email_from": "kustosz"}, "email_from", "nie jest adresem e-mail"),
    ({"email_host": ""}, "email_host", "Podaj adres serwera"),
    ({"email_host": "smtp um"}, "email_host", "nie jest nazwą"),
    ({"webhook_url": "ftp://hooks.example.pl/x"}, "webhook_url", "http:// albo https://"),
    ({"webhook_url": "javascript:alert(1)"}, "webhook_url", "http:// albo https://"),
    ({"syslog_host": "logi.um.example.pl", "syslog_port": "0"}, "syslog_port",
     "poza zakresem"),
    ({"grace_camera_down": "dwie minuty"}, "grace_camera_down", "Nie można odczytać"),
    ({"repeat_camera_down": "0 s"}, "repeat_camera_down", "większą od zera"),
    ({"forecast_days": "0"}, "forecast_days", "od 1 do 365"),
    ({"forecast_days": "dużo"}, "forecast_days", "liczbę całkowitą"),
    ({"digest_at": "25:00"}, "digest_at", "GG:MM"),
    ({"digest_to": "iod(at)um"}, "digest_to", "„iod(at)um”"),
    ({"email_user": "kustosz", "email_host": "localhost"}, "email_password", "Podaj hasło"),
    ({"email_user": "kustosz", "email_password": "x", "email_host": "smtp.um.example.pl"},
     "email_security", "otwartym tekstem"),
    ({"email_security": "starttls", "email_host": "smtp.um.example.pl",
      "email_ca_pem": "/etc/kustosz/ca.pem"}, "email_ca_pem", "Wklej certyfikat"),
]


@pytest.mark.parametrize(("change", "field", "words"), BAD)
def test_bad_input_is_named_at_its_field_and_nothing_is_saved(
        sqlite_vault: Vault, change: dict[str, str], field: str, words: str) -> None:
    c = admin_client(sqlite_vault)
    before = audit_text(sqlite_vault)
    answer = post(c, good_form(**change))
    assert answer.status_code == 422  # type: ignore[attr-defined]
    html = answer.text  # type: ignore[attr-defined]
    assert f'id="err-{field}"' in html, html[:200]
    error = html.split(f'id="err-{field}">', 1)[1].split("</p>", 1)[0]
    assert words in error
    assert f'id="f-{field}"' in html and "Nic nie zapisano" in html
    assert stored(sqlite_vault) == {} and audit_text(sqlite_vault) == before
    assert 'name="email_password" type="password" value=""' in html  # never sent back


def test_all_errors_at_once(sqlite_vault: Vault) -> None:
    c = admin_client(sqlite_vault)
    html = post(c, good_form(email_port="0", email_to="", webhook_url="ftp://x",
                             grace_sweep="zaraz")).text  # type: ignore[attr-defined]
    for field in ("email_port", "email_to", "webhook_url", "grace_sweep"):
        assert f'id="err-{field}"' in html
    assert "(błędy: 4)" in html


def test_no_password_file_is_named_on_the_page_even_a_private_one(sqlite_vault: Vault,
                                                                  tmp_path: Path) -> None:
    """Issue 28 item 6: only kustosz.toml names files (tests/web/test_alert_settings_no_files.py
    has the attack in full)."""
    secret = tmp_path / "smtp.pass"
    secret.write_text(SECRET)
    os.chmod(secret, 0o600)
    c = admin_client(sqlite_vault)
    answer = post(c, good_form(email_user="kustosz", email_host="localhost",
                               email_password_file=str(secret)))
    assert answer.status_code == 422  # type: ignore[attr-defined]
    assert "tylko kustosz.toml" in answer.text and stored(sqlite_vault) == {}  # type: ignore[attr-defined]


def test_non_admin_cannot_see_or_change(sqlite_vault: Vault) -> None:
    user(sqlite_vault, "iod", ["dpo"])
    c = client(sqlite_vault)
    login(c, "iod")
    assert c.get("/admin/alerts").status_code == 403
    page = c.get("/")
    answer = c.post("/admin/alerts", data={**good_form(), "csrf": csrf_in(page.text)})
    assert answer.status_code == 403 and stored(sqlite_vault) == {}


def test_test_button_sends_through_the_saved_channel_with_the_sealed_password(
        sqlite_vault: Vault) -> None:
    vault = sqlite_vault
    c = admin_client(vault)
    with SmtpSink(password=SECRET) as sink:
        post(c, good_form(email_port=str(sink.port), email_user="kustosz",
                          email_password=SECRET, email_host="127.0.0.1"))
        answer = post(c, {}, "/admin/alerts/test")
        assert answer.status_code == 200  # type: ignore[attr-defined]
        assert "e-mail: wiadomość wysłana" in answer.text  # type: ignore[attr-defined]
        assert sink.subjects() == ["[Kustosz] Wiadomość testowa"]
        sink.accept = False  # the relay refuses the login now
        answer = post(c, {}, "/admin/alerts/test")
        assert "serwer pocztowy odrzucił logowanie" in answer.text  # type: ignore[attr-defined]
    assert SECRET not in audit_text(vault)
    assert "settings.alerts_test" in audit_text(vault)


def test_the_notifier_takes_a_change_in_and_restore_goes_back_to_the_toml(
        sqlite_vault: Vault) -> None:
    vault = sqlite_vault
    notifier = Notifier(vault)
    assert notifier.channels == {}
    c = admin_client(vault)
    post(c, good_form(email_port="2525"))
    notifier.refresh()
    assert list(notifier.channels) == ["email"]
    answer = post(c, {}, "/admin/alerts/restore")
    assert answer.status_code == 303  # type: ignore[attr-defined]
    assert stored(vault) == {}
    notifier.refresh()
    assert notifier.channels == {}
    with vault.reading() as s:
        last = s.execute(select(AuditEntry).order_by(AuditEntry.seq.desc())).scalars().first()
    assert last is not None and last.action == "settings.alerts"
    assert json.loads(last.details)["restored_from_toml"] == ["email"]


@pytest.mark.slow
def test_in_a_real_browser_with_screenshots(sqlite_vault: Vault, tmp_path: Path) -> None:
    """Chromium under the app's CSP: the page, a form with three mistakes (each at its field,
    the typed password not kept), then a good save. Screenshots go to KUSTOSZ_SCREENSHOTS
    (or a temporary folder) as alert-settings*.png."""
    from playwright.sync_api import sync_playwright
    from tests.alerts_helpers import free_port

    from kustosz.web.server import WebServer

    vault = sqlite_vault
    user(vault, "admin", ["administrator"])
    shots = Path(os.environ.get("KUSTOSZ_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    web = WebServer(vault, "127.0.0.1", free_port())
    web.start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                        args=["--no-sandbox", "--disable-gpu", "--lang=pl-PL"])
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="pl-PL")
            problems: list[str] = []
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("console", lambda m: problems.append(m.text)
                    if "Content Security Policy" in m.text else None)
            base = web.url.rstrip("/")
            page.goto(f"{base}/login")
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", PASSWORD)
            page.click("button.primary, form button")
            page.goto(f"{base}/admin/alerts")
            page.check("input[name=email_on]")
            page.fill("#f-email_host", "smtp.um.example.pl")
            page.fill("#f-email_port", "70000")
            page.select_option("#f-email_security", "starttls")
            page.fill("#f-email_from", "kustosz@um.example.pl")
            page.fill("#f-email_to", "it@um.example.pl, nie-adres")
            page.fill("#f-email_user", "kustosz")
            page.fill("#f-email_password", SECRET)
            page.fill("#f-webhook_url", "ftp://hooks.example.pl")
            page.click("#save")
            assert page.locator(".error").count() >= 4
            assert page.locator("#err-email_port").is_visible()
            assert page.input_value("#f-email_password") == ""
            page.screenshot(path=str(shots / "alert-settings-errors.png"), full_page=True)
            page.fill("#f-email_port", "587")
            page.fill("#f-email_to", "it@um.example.pl\niod@um.example.pl")
            page.fill("#f-email_password", SECRET)
            page.fill("#f-webhook_url", "https://hooks.example.pl/kustosz")
            page.click("#save")
            assert "Zapisano" in page.inner_text(".flash")
            page.screenshot(path=str(shots / "alert-settings.png"), full_page=True)
            assert "https://hooks.example.pl/…" in page.inner_text("main")
            assert "/kustosz" not in page.input_value("#f-webhook_url")
            page.goto(f"{base}/lang/en?next=/admin/alerts")
            assert "Alert notifications" in page.inner_text("h1")
            assert "Camera not recording" in page.inner_text("main")
            page.screenshot(path=str(shots / "alert-settings-en.png"), full_page=True)
            from datetime import UTC, datetime, timedelta

            from kustosz.alerts.checks import Checks
            from kustosz.db.cameras import Gap
            from kustosz.db.models import Source

            Checks(vault).verify_if_due(datetime.now(UTC), in_thread=False)  # serve's daily
            now = datetime.now(UTC)
            with vault.transaction() as s:
                cam = Source(name="wejscie", kind="camera", created_at=now, settings={})
                s.add(cam)
                s.flush()
                for hours in (3, 2, 1):
                    s.add(Gap(source_id=cam.id, start_at=now - timedelta(hours=hours),
                              end_at=now - timedelta(hours=hours, seconds=-104),
                              cause="stream_ended", detail=""))
            page.goto(f"{base}/lang/pl?next=/")
            assert "codzienne sprawdzenie usługi Kustosz" in page.inner_text("#audit-last")
            assert "Przerwy w nagraniu" in page.inner_text("main")
            page.screenshot(path=str(shots / "alert-settings-dashboard.png"), full_page=True)
            browser.close()
        assert problems == []
    finally:
        web.stop()
    cfg = alert_settings.effective(vault)
    assert cfg.email is not None and cfg.email.port == 587 and cfg.webhook is not None


def test_doctor_sees_and_tries_the_channels_set_on_the_page(sqlite_vault: Vault) -> None:
    """`kustosz doctor --send-test` tries what is in force, not only kustosz.toml; a test
    message has no source nor alert id, which the syslog line must bear."""
    from tests.alerts_helpers import SyslogSink, wait_until

    from kustosz.cli.doctor import run_checks

    c = admin_client(sqlite_vault)
    with SyslogSink() as sink:
        answer = post(c, good_form(email_on="", digest_at="", syslog_host="127.0.0.1",
                                   syslog_port=str(sink.port)))
        assert answer.status_code == 303  # type: ignore[attr-defined]
        checks = {ch.check: ch for ch in run_checks(sqlite_vault.root, send_test=True)}
        assert checks["alert channels"].status != "WARN", checks["alert channels"]
        assert checks["test via syslog"].status == "OK", checks["test via syslog"]
        wait_until(lambda: sink.lines, 5, "the test line")
        assert "wiadomość testowa".encode() in sink.lines[0]


def test_doctor_sends_with_the_password_typed_on_the_page(sqlite_vault: Vault) -> None:
    from kustosz.cli.doctor import run_checks

    c = admin_client(sqlite_vault)
    with SmtpSink(password=SECRET) as sink:
        post(c, good_form(email_port=str(sink.port), email_user="kustosz",
                          email_password=SECRET, email_host="127.0.0.1"))
        checks = {ch.check: ch for ch in run_checks(sqlite_vault.root, send_test=True)}
        assert checks["test via email"].status == "OK", checks["test via email"]
        assert sink.logins == 1 and len(sink.mails) == 1


def test_webhook_with_user_and_password_in_its_address_sends_basic_auth() -> None:
    """urllib refuses user:pass@ in an address (http.client.InvalidURL), which ended as
    "nieoczekiwany błąd": the channel sends them as HTTP Basic instead (review of issue 14)."""
    import base64

    from kustosz.alerts.channels import Webhook
    from kustosz.alerts.messages import Message
    from kustosz.config import WebhookChannel

    with WebhookSink() as hook:
        url = hook.url.replace("http://", "http://alarmy:ha%C5%82o%40x@")
        Webhook(WebhookChannel(url, local_ok=True)).send(Message("s", "b", "notice",
                                                                 {"text": "t"}))
        assert len(hook.posts) == 1
        assert hook.posts[0]["auth"] == "Basic " + base64.b64encode(
            "alarmy:hało@x".encode()).decode()
        assert hook.posts[0]["path"] == "/hook?token=sekret"


def test_webhook_failures_each_give_a_reason_never_an_unexpected_error() -> None:
    from kustosz.alerts.channels import REASONS_PL, ChannelError, Webhook
    from kustosz.alerts.messages import Message
    from kustosz.config import WebhookChannel

    msg = Message("s", "b", "notice", {"text": "t"})
    for url in ("http://127.0.0.1:notaport/x", "http://[::1/x", "http://127.0.0.1:1/x"):
        with pytest.raises(ChannelError) as caught:
            Webhook(WebhookChannel(url)).send(msg)
        assert caught.value.reason != "error" and caught.value.reason in REASONS_PL, url


def test_webhook_address_is_sealed_never_shown_nor_audited_and_still_sends(
        sqlite_vault: Vault) -> None:
    # the receiver is on loopback, which only kustosz.toml may allow (issue 28 item 6)
    write_alerts(sqlite_vault.root, "[alerts]\nwebhook_local = true\n")
    sqlite_vault.close()
    vault = Vault.open(sqlite_vault.root)
    c = admin_client(vault)
    with WebhookSink() as hook:
        url = hook.url.replace("http://", "http://alarmy:tajne@")  # ...?token=sekret
        answer = post(c, good_form(webhook_url=url))
        assert answer.status_code == 303  # type: ignore[attr-defined]
        with vault.reading() as s:
            row = s.get(Setting, alert_settings.KEY)
            assert row is not None
            assert "sekret" not in row.value and "tajne" not in row.value
        page = c.get("/admin/alerts").text
        assert "sekret" not in page and "tajne" not in page
        assert f"Zapisany adres: http://127.0.0.1:{hook.server.server_address[1]}/…" in page
        assert "sekret" not in audit_text(vault) and "tajne" not in audit_text(vault)
        # an empty field keeps the address; the test button reaches the whole address
        post(c, good_form())
        answer = post(c, {}, "/admin/alerts/test")
        assert "webhook: wiadomość wysłana" in answer.text  # type: ignore[attr-defined]
        assert [p["path"] for p in hook.posts] == ["/hook?token=sekret"]
        assert hook.posts[0]["auth"] is not None
        assert hook.posts[0]["json"]["text"].startswith("[Kustosz] Wiadomość testowa")
        # "Wyłącz webhook" removes it
        post(c, good_form(webhook_off="1"))
        with vault.reading() as s:
            assert alert_settings.effective(vault, s).webhook is None
    vault.close()


def test_webhook_error_form_does_not_echo_the_typed_address(sqlite_vault: Vault) -> None:
    c = admin_client(sqlite_vault)
    html = post(c, good_form(webhook_url="https://h.example.pl/x?token=sekret",
                             email_port="0")).text  # type: ignore[attr-defined]
    assert "sekret" not in html


def test_every_webhook_payload_carries_a_text_even_one_composed_without() -> None:
    """A message composed elsewhere (doctor's test) without "text" still gets one."""
    from kustosz.alerts.channels import Webhook
    from kustosz.alerts.messages import Message
    from kustosz.config import WebhookChannel

    with WebhookSink() as hook:
        Webhook(WebhookChannel(hook.url, local_ok=True)).send(Message(
            "[Kustosz] Wiadomość testowa", "To jest wiadomość testowa.\n", "notice",
            {"kind": "test", "event": "test"}))
        assert hook.posts[0]["json"]["text"] == ("[Kustosz] Wiadomość testowa\n"
                                                 "To jest wiadomość testowa.")


def test_periods_in_the_page_language_and_kinds_by_their_label(sqlite_vault: Vault) -> None:
    """Polish periods on the Polish page (the parser reads them back), English on the English
    one; "Zmienione na tej stronie" names a kind by its label, not its key."""
    c = admin_client(sqlite_vault)
    page = c.get("/admin/alerts").text
    assert 'name="grace_camera_down" type="text" value="1 minuta"' in page
    assert 'name="repeat_camera_down" type="text" value="1 godzina"' in page
    assert "minutes" not in page and "hour" not in page
    form = good_form(grace_camera_down="5 minut", repeat_camera_down="nigdy")
    assert post(c, form).status_code == 303  # type: ignore[attr-defined]
    page = c.get("/admin/alerts").text
    assert 'value="5 minut"' in page and 'name="repeat_camera_down" type="text" value="nigdy"' \
        in page
    shown = page.split('id="from-web">')[1].split("</p>")[0]
    assert "Kamera nie nagrywa" in shown and "camera_down" not in shown
    c.cookies.set("kustosz_lang", "en", domain="testserver.local")
    page = c.get("/admin/alerts").text
    assert 'name="grace_camera_down" type="text" value="5 minutes"' in page
    assert 'name="repeat_camera_down" type="text" value="never"' in page


def test_english_page_has_no_polish_words(sqlite_vault: Vault) -> None:
    import re

    c = admin_client(sqlite_vault)
    c.cookies.set("kustosz_lang", "en", domain="testserver.local")
    html = c.get("/admin/alerts").text
    main = html.split("<main", 1)[1].split("</main>", 1)[0]
    text = re.sub(r"<[^>]+>", " ", main)
    polish = re.findall(r"\S*[ąćęłńóśźżĄĆĘŁŃÓŚŹŻ]\S*", text)
    assert polish == [], polish
    for word in ("Serwer pocztowy", "Odbiorcy", "Zwłoka", "Rodzaje alarmów", "Kamera nie",
                 "pole wymagane", "Zapisz", "minuty", "nigdy"):
        assert word not in text, word
    assert "Alert notifications" in text and "Camera not recording" in text


def test_relay_without_auth_is_told_apart_from_a_refused_login(sqlite_vault: Vault) -> None:
    """A relay that offers no AUTH at all is not "refused the login" (review of issue 14)."""
    c = admin_client(sqlite_vault)
    with SmtpSink() as sink:  # no password: the relay offers no AUTH
        post(c, good_form(email_port=str(sink.port), email_user="kustosz",
                          email_password=SECRET, email_host="127.0.0.1"))
        answer = post(c, {}, "/admin/alerts/test").text  # type: ignore[attr-defined]
        assert "nie oferuje logowania (AUTH) — usuń użytkownika i hasło albo włącz STARTTLS" \
            in answer
        assert "odrzucił logowanie" not in answer
        assert sink.mails == []
