"""Issue 28 item 6, attacked as an administrator of the page would: the alerts page named any
file as the relay's "password file" and sent its first line in SMTP AUTH to a relay of the
typist's choosing (keys/secrets.key reached a fake relay), and the webhook reached loopback
and followed redirects. Real parts: the web app with its sign-in and CSRF, aiosmtpd relays
that demand AUTH, http.server receivers on loopback (tests/alerts_helpers.py)."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.alerts_helpers import SmtpSink, WebhookSink, write_alerts
from tests.web.test_web_alert_settings import admin_client, audit_text, post, stored
from web_helpers import user

from kustosz.alerts import settings as alert_settings
from kustosz.alerts.channels import ChannelError, Webhook, local_address, read_password
from kustosz.alerts.messages import Message
from kustosz.config import WebhookChannel
from kustosz.db.models import Setting
from kustosz.vault import Vault

SECRET = "Hasło-przekaźnika-ŻÓŁW-28"
MSG = Message("s", "b", "notice", {"text": "t"})




def good_form(**changes: str) -> dict[str, str]:
    from kustosz.alert_kinds import KINDS

    form = {"email_on": "1", "email_host": "127.0.0.1", "email_port": "2525",
            "email_security": "none", "email_from": "kustosz@um.example.pl",
            "email_to": "it@um.example.pl", "email_user": "", "email_password": "",
            "webhook_url": "", "syslog_host": "", "syslog_port": "514",
            "forecast_days": "14", "digest_at": "07:30", "digest_to": ""}
    for key, kind in KINDS.items():
        form[f"grace_{key}"] = f"{int(kind.grace.total_seconds())} s"
        form[f"repeat_{key}"] = "never" if kind.repeat is None else \
            f"{int(kind.repeat.total_seconds())} s"
    form.update(changes)
    return form




def error_at(html: str, field: str) -> str:
    assert f'id="err-{field}"' in html, html[:300]
    return html.split(f'id="err-{field}">', 1)[1].split("</p>", 1)[0]


def reopened(vault: Vault, toml: str) -> Vault:
    write_alerts(vault.root, toml)
    vault.close()
    return Vault.open(vault.root)


# -- the relay's password: never a file the page names ------------------------------------
def secret_files(root: Path) -> list[str]:
    backup = root / "backup-passphrase"
    backup.write_text("passphrase-of-the-backups\n")
    backup.chmod(0o600)
    return [str(root / "keys" / "secrets.key"), "keys/secrets.key", str(backup),
            "/etc/passwd", "/proc/self/environ", "../../../../etc/shadow"]


@pytest.mark.parametrize("which", range(6))
def test_the_page_refuses_to_name_a_password_file_and_nothing_reaches_the_relay(
        sqlite_vault: Vault, which: int) -> None:
    path = secret_files(sqlite_vault.root)[which]
    c = admin_client(sqlite_vault)
    before = audit_text(sqlite_vault)
    with SmtpSink(password=SECRET) as relay:
        answer = post(c, good_form(email_user="kustosz", email_port=str(relay.port),
                                   email_password_file=path))
        assert answer.status_code == 422  # type: ignore[attr-defined]
        html = answer.text  # type: ignore[attr-defined]
        error = error_at(html, "email_password_file")
        assert "tylko kustosz.toml" in error and "only in kustosz.toml" in error
        assert "Nic nie zapisano" in html
        assert stored(sqlite_vault) == {} and audit_text(sqlite_vault) == before
        # nothing saved: the test button has no channel, the relay sees no login
        tried = post(c, {}, "/admin/alerts/test")
        assert "żaden kanał nie jest włączony" in tried.text  # type: ignore[attr-defined]
        assert relay.logins == 0 and relay.mails == []
    assert 'name="email_password_file"' not in c.get("/admin/alerts").text  # not offered


def test_the_page_refuses_to_name_a_password_file_even_with_a_typed_password(
        sqlite_vault: Vault) -> None:
    c = admin_client(sqlite_vault)
    answer = post(c, good_form(email_user="kustosz", email_host="localhost",
                               email_password=SECRET,
                               email_password_file=str(sqlite_vault.root / "keys" /
                                                       "secrets.key")))
    assert answer.status_code == 422  # type: ignore[attr-defined]
    assert stored(sqlite_vault) == {}
    assert SECRET not in answer.text  # type: ignore[attr-defined]


def test_the_page_refuses_to_name_a_ca_file(sqlite_vault: Vault) -> None:
    c = admin_client(sqlite_vault)
    answer = post(c, good_form(email_security="starttls", email_host="smtp.um.example.pl",
                               email_ca_file="/etc/ssl/certs/ca-certificates.crt"))
    assert answer.status_code == 422  # type: ignore[attr-defined]
    error = error_at(answer.text, "email_ca_file")  # type: ignore[attr-defined]
    assert "tylko kustosz.toml" in error and "only in kustosz.toml" in error
    assert stored(sqlite_vault) == {}


def test_a_typed_password_is_sealed_everywhere_and_logs_in_to_a_real_relay(
        sqlite_vault: Vault, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    vault = sqlite_vault
    c = admin_client(vault)
    with SmtpSink(password=SECRET) as relay:
        answer = post(c, good_form(email_user="kustosz", email_password=SECRET,
                                   email_port=str(relay.port)))
        assert answer.status_code == 303  # type: ignore[attr-defined]
        with vault.reading() as s:
            raw = s.get(Setting, alert_settings.KEY).value
        assert SECRET not in raw and SECRET.encode().hex() not in raw
        assert "kustosz-sealed:" in raw
        page = c.get("/admin/alerts").text
        assert SECRET not in page and "kustosz-sealed" not in page
        tried = post(c, {}, "/admin/alerts/test")
        assert "e-mail: wiadomość wysłana" in tried.text  # type: ignore[attr-defined]
        assert SECRET not in tried.text  # type: ignore[attr-defined]
        assert relay.logins == 1 and relay.subjects() == ["[Kustosz] Wiadomość testowa"]
    assert SECRET not in audit_text(vault) and "kustosz-sealed" not in audit_text(vault)
    assert SECRET not in caplog.text


def old_section(vault: Vault, **email: str) -> None:
    """A section as the version before issue 28 stored it from the page."""
    section = {"host": "127.0.0.1", "port": int(email.pop("port", "2525")),
               "security": "none", "from": "kustosz@um.example.pl",
               "to": ["it@um.example.pl"], "user": "kustosz", "password_file": "",
               "ca_file": "", "password_sealed": "", **email}
    with vault.transaction() as s:
        s.merge(Setting(key=alert_settings.KEY, value=json.dumps({"email": section})))


def test_a_password_file_stored_from_the_page_before_is_dropped_and_the_page_says_so(
        sqlite_vault: Vault) -> None:
    vault = sqlite_vault
    key = vault.root / "keys" / "secrets.key"
    with SmtpSink(password=SECRET) as relay:
        old_section(vault, port=str(relay.port), password_file=str(key))
        email = alert_settings.effective(vault).email
        assert email is not None and email.password_file is None
        assert email.dropped == ("password_file",)
        c = admin_client(vault)
        page = c.get("/admin/alerts").text
        assert 'id="password-dropped"' in page and "trzeba wpisać ponownie" in page
        tried = post(c, {}, "/admin/alerts/test").text  # type: ignore[attr-defined]
        assert "hasło do serwera pocztowego trzeba wpisać ponownie" in tried
        assert relay.logins == 0 and relay.mails == []  # the key's bytes never left
        # the notifier's channel fails with that reason (the alert page shows it too)
        from kustosz.alerts.channels import build
        with pytest.raises(ChannelError) as caught:
            build({"email": email}, vault.secrets)["email"].send(MSG)
        assert caught.value.reason == "password_reenter"
        # typed again: the notice goes, the relay gets the login
        answer = post(c, good_form(email_user="kustosz", email_password=SECRET,
                                   email_port=str(relay.port)))
        assert answer.status_code == 303  # type: ignore[attr-defined]
        assert "password-dropped" not in c.get("/admin/alerts").text
        assert "wiadomość wysłana" in post(c, {}, "/admin/alerts/test").text  # type: ignore[attr-defined]
        assert relay.logins == 1
    assert str(key) not in json.dumps(stored(vault))


def test_in_english_the_notice_is_english(sqlite_vault: Vault) -> None:
    old_section(sqlite_vault, password_file="/etc/passwd")
    c = admin_client(sqlite_vault)
    c.cookies.set("lang", "en")
    c.get("/lang/en?next=/admin/alerts")
    page = c.get("/admin/alerts").text
    assert "must be typed again" in page


# -- a password file kustosz.toml names ----------------------------------------------------
def toml_login(path: Path, port: int) -> str:
    return (f'[alerts.email]\nhost = "127.0.0.1"\nport = {port}\nfrom = "k@um.example.pl"\n'
            f'to = ["it@um.example.pl"]\nuser = "kustosz"\npassword_file = "{path}"\n')


def test_a_password_file_from_kustosz_toml_logs_in_and_survives_a_save_on_the_page(
        sqlite_vault: Vault, tmp_path: Path) -> None:
    secret = tmp_path / "smtp-haslo"
    secret.write_text(SECRET + "\n")
    secret.chmod(0o600)
    with SmtpSink(password=SECRET) as relay:
        vault = reopened(sqlite_vault, toml_login(secret, relay.port))
        try:
            c = admin_client(vault)
            page = c.get("/admin/alerts").text
            assert f"Hasło jest czytane z pliku wskazanego w kustosz.toml: {secret}" in page
            # the page changes the recipients; the toml's file stays the password
            answer = post(c, good_form(email_user="kustosz", email_port=str(relay.port),
                                       email_from="k@um.example.pl",
                                       email_to="iod@um.example.pl"))
            assert answer.status_code == 303, answer.text  # type: ignore[attr-defined]
            email = alert_settings.effective(vault).email
            assert email is not None and email.password_file == secret
            assert email.dropped == () and email.to == ("iod@um.example.pl",)
            assert "wiadomość wysłana" in post(c, {}, "/admin/alerts/test").text  # type: ignore[attr-defined]
            assert relay.logins == 1
        finally:
            vault.close()


def test_the_toml_password_file_must_be_private_regular_and_owned_by_root_or_the_service(
        tmp_path: Path) -> None:
    good = tmp_path / "good"
    good.write_text(SECRET + "\nignored\n")
    good.chmod(0o600)
    assert read_password(good) == SECRET
    cases: list[Path] = []
    wide = tmp_path / "wide"
    wide.write_text(SECRET)
    wide.chmod(0o640)
    cases.append(wide)
    empty = tmp_path / "empty"
    empty.write_text("")
    empty.chmod(0o600)
    cases.append(empty)
    folder = tmp_path / "folder"
    folder.mkdir(mode=0o700)
    cases.append(folder)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo, 0o600)  # would block a reader forever
    cases.append(fifo)
    cases.append(tmp_path / "missing")
    if os.geteuid() == 0:  # chown needs root; the tests run as root here
        stranger = tmp_path / "stranger"
        stranger.write_text(SECRET)
        stranger.chmod(0o600)
        os.chown(stranger, 65534, 65534)
        cases.append(stranger)
    for path in cases:
        with pytest.raises(ChannelError) as caught:
            read_password(path)
        assert caught.value.reason == "password_file", path
        assert SECRET not in str(caught.value)


# -- the webhook: no loopback, no link-local, no redirects --------------------------------
def loopback_name() -> str:
    """A name other than "localhost" this machine resolves to loopback (/etc/hosts)."""
    for name in (socket.gethostname(), "vm", "runsc", "ip6-localhost"):
        try:
            infos = socket.getaddrinfo(name, 80, 0, socket.SOCK_STREAM)
        except OSError:
            continue
        if name != "localhost" and infos and all(local_address(i[4][0]) for i in infos):
            return name
    pytest.skip("no name other than localhost resolves to loopback here")


@pytest.fixture
def hook_v6() -> Iterator[tuple[ThreadingHTTPServer, list[str]]]:
    got: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            got.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    class Server6(ThreadingHTTPServer):
        address_family = socket.AF_INET6

    server = Server6(("::1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server, got
    server.shutdown()
    server.server_close()


def local_urls(port: int, port6: int) -> list[str]:
    return [f"http://127.0.0.1:{port}/hook", f"http://127.9.9.9:{port}/hook",
            f"http://[::1]:{port6}/hook", f"http://[::ffff:127.0.0.1]:{port}/hook",
            f"http://localhost:{port}/hook", f"http://{loopback_name()}:{port}/hook",
            f"http://2130706433:{port}/hook", f"http://0.0.0.0:{port}/hook",
            "http://169.254.169.254/latest/meta-data/", "http://[fe80::1]:80/x"]


def test_the_page_refuses_a_webhook_reaching_loopback_or_link_local(
        sqlite_vault: Vault, hook_v6: tuple[ThreadingHTTPServer, list[str]]) -> None:
    c = admin_client(sqlite_vault)
    server6, got6 = hook_v6
    with WebhookSink() as hook:
        port = hook.server.server_address[1]
        for url in local_urls(port, server6.server_address[1]):
            answer = post(c, good_form(webhook_url=url))
            assert answer.status_code == 422, url  # type: ignore[attr-defined]
            error = error_at(answer.text, "webhook_url")  # type: ignore[attr-defined]
            assert "webhook_local = true" in error and "refused" in error, url
            assert stored(sqlite_vault) == {}, url
        assert hook.posts == [] and got6 == []


def test_the_channel_refuses_loopback_at_sending_and_a_real_server_gets_nothing(
        hook_v6: tuple[ThreadingHTTPServer, list[str]]) -> None:
    """The page's check is not the only one: a name may resolve otherwise at sending, and a
    section may come from an older version."""
    server6, got6 = hook_v6
    with WebhookSink() as hook:
        for url in local_urls(hook.server.server_address[1], server6.server_address[1]):
            with pytest.raises(ChannelError) as caught:
                Webhook(WebhookChannel(url)).send(MSG)
            assert caught.value.reason == "webhook_local", url
        assert hook.posts == [] and got6 == []
        # allowed by kustosz.toml: sent
        Webhook(WebhookChannel(hook.url, local_ok=True)).send(MSG)
        Webhook(WebhookChannel(f"http://[::1]:{server6.server_address[1]}/h",
                               local_ok=True)).send(MSG)
        assert len(hook.posts) == 1 and got6 == ["/h"]


def test_kustosz_toml_allows_local_webhooks(sqlite_vault: Vault) -> None:
    with WebhookSink() as hook:
        # the file naming a literal loopback address allows that address
        vault = reopened(sqlite_vault, f'[alerts.webhook]\nurl = "{hook.url}"\n')
        try:
            cfg = alert_settings.effective(vault)
            assert cfg.webhook is not None and cfg.webhook.local_ok
            c = admin_client(vault)
            # ...but not a loopback address typed on the page
            answer = post(c, good_form(email_on="", digest_at="",
                                       webhook_url=f"http://{loopback_name()}:1/x"))
            assert answer.status_code == 422  # type: ignore[attr-defined]
        finally:
            vault.close()


def test_webhook_local_true_in_kustosz_toml_lets_the_page_use_loopback(
        sqlite_vault: Vault) -> None:
    with WebhookSink() as hook:
        vault = reopened(sqlite_vault, "[alerts]\nwebhook_local = true\n")
        try:
            c = admin_client(vault)
            answer = post(c, good_form(email_on="", digest_at="", webhook_url=hook.url))
            assert answer.status_code == 303, answer.text  # type: ignore[attr-defined]
            assert "webhook: wiadomość wysłana" in post(c, {}, "/admin/alerts/test").text  # type: ignore[attr-defined]
            assert [p["path"] for p in hook.posts] == ["/hook?token=sekret"]
        finally:
            vault.close()


def test_webhook_local_must_be_true_or_false(sqlite_vault: Vault) -> None:
    from kustosz.errors import KustoszError

    write_alerts(sqlite_vault.root, '[alerts]\nwebhook_local = "yes"\n')
    with pytest.raises(KustoszError, match=r"`alerts\.webhook_local`: must be true or false"):
        Vault.open(sqlite_vault.root)


@pytest.fixture
def redirector() -> Iterator[tuple[str, list[str]]]:
    """A real server answering every POST with a redirect to where ``target[0]`` says."""
    got: list[str] = []
    target = [""]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            got.append(self.path)
            self.send_response(307)
            self.send_header("Location", target[0])
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/go", got, target  # type: ignore[misc]
    server.shutdown()
    server.server_close()


def test_a_redirect_is_not_followed_even_where_local_addresses_are_allowed(
        redirector: tuple[str, list[str], list[str]]) -> None:
    url, got, target = redirector
    with WebhookSink() as hook:
        target[0] = hook.url
        with pytest.raises(ChannelError) as caught:
            Webhook(WebhookChannel(url, local_ok=True)).send(MSG)
        assert caught.value.reason == "redirect"
        assert got == ["/go"] and hook.posts == []


def test_bad_ca_certificates_pasted_are_refused_each_and_nothing_is_saved(
        sqlite_vault: Vault) -> None:
    import ssl

    pem = ssl.DER_cert_to_PEM_cert(ssl.PEM_cert_to_DER_cert(
        Path(ssl.get_default_verify_paths().cafile or
             "/etc/ssl/certs/ca-certificates.crt").read_text().split(
            "-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"))
    c = admin_client(sqlite_vault)
    tls = {"email_security": "starttls", "email_host": "smtp.um.example.pl"}
    for change, words in (
            ({**tls, "email_ca_pem": "/etc/kustosz/ca.pem"}, "Wklej certyfikat w postaci PEM"),
            ({**tls, "email_ca_pem": "-----BEGIN CERTIFICATE-----\nAAAA\n"
              "-----END CERTIFICATE-----"}, "nie jest poprawny certyfikat"),
            ({**tls, "email_ca_pem": pem + "tekst\n"}, "Wklej certyfikat w postaci PEM"),
            ({**tls, "email_ca_pem": pem * 60}, "za długi"),
            ({"email_ca_pem": pem}, "tylko z STARTTLS albo TLS")):
        answer = post(c, good_form(**change))
        assert answer.status_code == 422, change  # type: ignore[attr-defined]
        assert words in error_at(answer.text, "email_ca_pem")  # type: ignore[attr-defined]
        assert stored(sqlite_vault) == {}
    answer = post(c, good_form(**tls, email_ca_pem=pem))
    assert answer.status_code == 303  # type: ignore[attr-defined]
    email = alert_settings.effective(sqlite_vault).email
    assert email is not None and email.ca_pem == pem.strip() + "\n" and email.ca_file is None
    assert "BEGIN CERTIFICATE" not in audit_text(sqlite_vault)


# -- the rule over addresses ----------------------------------------------------------------
@given(st.ip_addresses(v=4))
def test_local_address_rule_for_every_ipv4_and_its_ipv6_forms(ip: object) -> None:
    import ipaddress

    assert isinstance(ip, ipaddress.IPv4Address)
    local = ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast
    assert local_address(str(ip)) is local
    assert local_address(f"::ffff:{ip}") is local
    if int(ip) > 1:
        assert local_address(f"::{ip}") is local


@given(st.ip_addresses(v=6))
def test_local_address_rule_for_ipv6(ip: object) -> None:
    import ipaddress

    assert isinstance(ip, ipaddress.IPv6Address)
    inner = ip.ipv4_mapped or (ipaddress.IPv4Address(ip.packed[12:])
                               if ip.packed[:12] == bytes(12) and int(ip) > 1 else ip)
    local = inner.is_loopback or inner.is_link_local or inner.is_unspecified \
        or inner.is_multicast
    assert local_address(str(ip)) is local


@pytest.mark.slow
def test_in_a_real_browser_the_reentry_notice_and_the_refused_webhook(
        sqlite_vault: Vault, tmp_path: Path) -> None:
    """Chromium: an office upgrading from a page-named password file sees that the password
    must be typed again; a loopback webhook is refused at its field; typing the password
    clears the notice. Screenshots as alert-settings-reenter*.png in KUSTOSZ_SCREENSHOTS."""
    from playwright.sync_api import sync_playwright
    from tests.alerts_helpers import free_port
    from web_helpers import PASSWORD

    from kustosz.web.server import WebServer

    vault = sqlite_vault
    old_section(vault, password_file=str(vault.root / "keys" / "secrets.key"))
    user(vault, "admin", ["administrator"])
    shots = Path(os.environ.get("KUSTOSZ_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    web = WebServer(vault, "127.0.0.1", free_port())
    web.start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                        args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="pl-PL")
            base = web.url.rstrip("/")
            page.goto(f"{base}/login")
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", PASSWORD)
            page.click("button.primary, form button")
            page.goto(f"{base}/admin/alerts")
            assert "trzeba wpisać ponownie" in page.inner_text("#password-dropped")
            assert page.locator("input[name=email_password_file]").count() == 0
            page.screenshot(path=str(shots / "alert-settings-reenter.png"), full_page=True)
            page.fill("#f-email_password", SECRET)
            page.fill("#f-webhook_url", f"http://{loopback_name()}:8080/hook")
            page.click("#save")
            assert "webhook_local = true" in page.inner_text("#err-webhook_url")
            assert page.input_value("#f-email_password") == ""
            page.screenshot(path=str(shots / "alert-settings-reenter-webhook.png"),
                            full_page=True)
            page.fill("#f-email_password", SECRET)
            page.fill("#f-webhook_url", "")
            page.click("#save")
            assert "Zapisano" in page.inner_text(".flash")
            assert page.locator("#password-dropped").count() == 0
            page.screenshot(path=str(shots / "alert-settings-reenter-done.png"), full_page=True)
            browser.close()
    finally:
        web.stop()
    email = alert_settings.effective(vault).email
    assert email is not None and email.password_sealed and email.dropped == ()


def test_a_pasted_ca_and_a_typed_password_log_in_over_starttls_to_a_real_relay(
        sqlite_vault: Vault, tmp_path: Path) -> None:
    """The CA a page once named as a file is pasted as text now: the relay's self-signed
    certificate is refused without it (nothing sent) and trusted with it."""
    from tests.monitoring.imap_helpers import self_signed

    cert, key = self_signed(tmp_path)
    c = admin_client(sqlite_vault)
    with SmtpSink(password=SECRET, tls=(cert, key)) as relay:
        form = good_form(email_security="starttls", email_user="kustosz",
                         email_password=SECRET, email_port=str(relay.port))
        assert post(c, form).status_code == 303  # type: ignore[attr-defined]
        tried = post(c, {}, "/admin/alerts/test").text  # type: ignore[attr-defined]
        assert "nie udało się nawiązać szyfrowanego połączenia" in tried
        assert relay.logins == 0 and relay.mails == []
        answer = post(c, {**form, "email_password": "", "email_ca_pem": cert.read_text()})
        assert answer.status_code == 303, answer.text  # type: ignore[attr-defined]
        tried = post(c, {}, "/admin/alerts/test").text  # type: ignore[attr-defined]
        assert "e-mail: wiadomość wysłana" in tried
        assert relay.logins == 1 and len(relay.mails) == 1


def test_an_https_webhook_checks_the_certificate_of_the_address_it_checked(
        tmp_path: Path) -> None:
    """The socket goes to the checked address and TLS still checks the name: a self-signed
    receiver is refused as a TLS failure (allowed on loopback here by local_ok)."""
    import ssl

    from tests.monitoring.imap_helpers import self_signed

    cert, key = self_signed(tmp_path)
    got: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            got.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"https://127.0.0.1:{server.server_address[1]}/h"
        with pytest.raises(ChannelError) as caught:
            Webhook(WebhookChannel(url, local_ok=True)).send(MSG)
        assert caught.value.reason == "tls" and got == []
        with pytest.raises(ChannelError) as caught:
            Webhook(WebhookChannel(url)).send(MSG)
        assert caught.value.reason == "webhook_local" and got == []
    finally:
        server.shutdown()
        server.server_close()


def test_a_ca_file_stored_from_the_page_before_is_dropped_and_the_page_says_so(
        sqlite_vault: Vault) -> None:
    old_section(sqlite_vault, security="starttls", user="", ca_file="/etc/passwd")
    email = alert_settings.effective(sqlite_vault).email
    assert email is not None and email.ca_file is None and email.dropped == ("ca_file",)
    page = admin_client(sqlite_vault).get("/admin/alerts").text
    assert 'id="ca-dropped"' in page and "wkleić ponownie" in page
    assert "/etc/passwd" not in page


def test_an_old_section_naming_another_file_follows_the_file_kustosz_toml_names(
        sqlite_vault: Vault, tmp_path: Path) -> None:
    secret = tmp_path / "smtp-haslo"
    secret.write_text(SECRET + "\n")
    secret.chmod(0o600)
    with SmtpSink(password=SECRET) as relay:
        vault = reopened(sqlite_vault, toml_login(secret, relay.port))
        try:
            old_section(vault, port=str(relay.port),
                        password_file=str(vault.root / "keys" / "secrets.key"))
            email = alert_settings.effective(vault).email
            assert email is not None and email.password_file == secret and email.dropped == ()
            from kustosz.alerts.channels import build
            build({"email": email}, vault.secrets)["email"].send(MSG)
            assert relay.logins == 1 and len(relay.mails) == 1  # the toml's password, not the key
        finally:
            vault.close()
