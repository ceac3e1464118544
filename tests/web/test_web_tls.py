"""HTTPS (issue 14 item 1): the web port speaks TLS with a certificate made here, cookies are
Secure and HSTS is sent (httpx and Chromium over loopback); plain HTTP gets nothing there;
`kustosz tls self-signed` and the dashboard's warning; the certificate and key checked before
anything starts; X-Forwarded-For believed only from a trusted proxy."""

from __future__ import annotations

import os
import re
import socket
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from sqlalchemy import select
from web_helpers import (
    PASSWORD,
    STRANGER,
    Material,
    authorise,
    csrf_in,
    csrf_of,
    session_for,
    user,
)

from kustosz.config import read_config
from kustosz.db.access import ViewingSession
from kustosz.errors import ConfigError
from kustosz.vault import Vault
from kustosz.web import create_app
from kustosz.web.server import WebServer
from kustosz.web.tls import check_tls, client_address, make_self_signed, parse_proxies

CHROMIUM = "/usr/bin/chromium"
PROXY = ("10.0.0.7", 40000)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    return make_self_signed(tmp_path / "tls", ["kustosz.um.local"])


@pytest.fixture
def https(sqlite_vault: Vault, pair: tuple[Path, Path]):  # type: ignore[no-untyped-def]
    user(sqlite_vault, "ola", ["viewer"])
    web = WebServer(sqlite_vault, "127.0.0.1", _free_port(), tls=check_tls(*pair))
    web.start()
    try:
        yield web
    finally:
        web.stop()


def test_login_over_https_gets_a_secure_cookie_and_hsts(https: WebServer,
                                                        pair: tuple[Path, Path]) -> None:
    cert, _key = pair
    assert https.url.startswith("https://127.0.0.1:")
    with httpx.Client(base_url=https.url,
                      verify=ssl.create_default_context(cafile=str(cert))) as c:  # as CA
        page = c.get("/login")
        assert page.status_code == 200
        assert page.headers["strict-transport-security"] == "max-age=31536000"
        r = c.post("/login", data={"username": "ola", "password": PASSWORD,
                                   "csrf": csrf_in(page.text), "next": "/"})
        assert r.status_code == 303
        session = [h for h in r.headers.get_list("set-cookie")
                   if h.startswith("kustosz_session=")]
        assert session and "secure" in session[0].lower()
        dashboard = c.get("/")
        assert dashboard.status_code == 200 and "Pulpit" in dashboard.text
        # made by `tls self-signed`: issuer == subject, and the dashboard says so
        assert "Certyfikat samopodpisany" in dashboard.text
        assert "zastąp go certyfikatem urzędu" in dashboard.text
    # the same port does not speak plain HTTP
    with pytest.raises(httpx.HTTPError):
        httpx.get(https.url.replace("https://", "http://") + "login", timeout=5)
    # and a client that does not trust the certificate is not talked into it
    with pytest.raises(httpx.ConnectError):
        httpx.get(https.url + "login", timeout=5)


def test_plain_http_has_no_hsts_nor_secure_cookie(sqlite_vault: Vault) -> None:
    from fastapi.testclient import TestClient

    user(sqlite_vault, "ola", ["viewer"])
    c = TestClient(create_app(sqlite_vault), follow_redirects=False,
                   client=("127.0.0.1", 5000))
    page = c.get("/login")
    assert "strict-transport-security" not in page.headers
    r = c.post("/login", data={"username": "ola", "password": PASSWORD,
                               "csrf": csrf_in(page.text), "next": "/"})
    assert r.status_code == 303
    assert "secure" not in r.headers["set-cookie"].lower()
    assert "Certyfikat samopodpisany" not in c.get("/").text


def test_a_certificate_of_the_office_shows_no_warning(sqlite_vault: Vault,
                                                      tmp_path: Path) -> None:
    """issuer != subject: signed by a (test) authority, not by itself."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now(UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(
        ec.SECP256R1())
    ca = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Urząd CA")])
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=30))
            .sign(ca_key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "c.pem", tmp_path / "k.pem"
    cert_path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    tls = check_tls(cert_path, key_path)
    assert not tls.self_signed
    web = WebServer(sqlite_vault, "127.0.0.1", 0, tls=tls)
    from fastapi.testclient import TestClient

    user(sqlite_vault, "ola", ["viewer"])
    c = TestClient(web.server.config.app, base_url="https://testserver",
                   follow_redirects=False, client=("127.0.0.1", 5000))
    page = c.get("/login")
    c.post("/login", data={"username": "ola", "password": PASSWORD,
                           "csrf": csrf_in(page.text), "next": "/"})
    dashboard = c.get("/")
    assert dashboard.status_code == 200 and "Pulpit" in dashboard.text
    assert "Certyfikat samopodpisany" not in dashboard.text


def test_chromium_loads_the_login_page_over_https(https: WebServer) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it when root)")
    pytest.importorskip("playwright.sync_api")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        try:
            context = browser.new_context(ignore_https_errors=True)
            page = context.new_page()
            response = page.goto(https.url + "login")
            assert response is not None and response.status == 200
            assert response.headers["strict-transport-security"] == "max-age=31536000"
            assert page.url.startswith("https://")
            page.fill("input[name=username]", "ola")
            page.fill("input[name=password]", PASSWORD)
            page.locator("form button[type=submit], form button").first.click()
            page.wait_for_url(re.compile(r"https://127\.0\.0\.1:\d+/(\?.*)?$"))
            assert page.locator("#tls-self-signed").is_visible()
            cookie = [c for c in context.cookies() if c["name"] == "kustosz_session"]
            assert cookie and cookie[0]["secure"]
            shots = os.environ.get("KUSTOSZ_TLS_SHOT")
            if shots:  # to look at the warning: KUSTOSZ_TLS_SHOT=/tmp/tls.png
                page.screenshot(path=shots, full_page=True)
        finally:
            browser.close()


# -- `kustosz tls self-signed` ----------------------------------------------------------------
def test_self_signed_makes_a_private_key_and_a_certificate_for_the_names(cli, tmp_path: Path
                                                                          ) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "tls"
    r = cli("tls", "self-signed", "--out", str(out), "--host", "kustosz.um.local",
            "--host", "10.1.2.3")
    assert "kustosz serve --tls-cert" in r.output
    key, cert = out / "kustosz.key", out / "kustosz.crt"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    c = x509.load_pem_x509_certificate(cert.read_bytes())
    assert c.issuer == c.subject
    names = c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "kustosz.um.local" in names.get_values_for_type(x509.DNSName)
    ips = {str(a) for a in names.get_values_for_type(x509.IPAddress)}
    assert {"10.1.2.3", "127.0.0.1"} <= ips
    life = c.not_valid_after_utc - c.not_valid_before_utc
    assert timedelta(days=364) < life < timedelta(days=366)
    assert check_tls(cert, key).self_signed
    # never overwrites a pair
    before = key.read_bytes()
    again = cli("tls", "self-signed", "--out", str(out), ok=False)
    assert again.exit_code != 0 and "exists already" in again.output
    assert key.read_bytes() == before
    bad = cli("tls", "self-signed", "--out", str(tmp_path / "x"), "--host", "zła nazwa!",
              ok=False)
    assert bad.exit_code != 0 and "not a host name" in bad.output


# -- bad certificates and keys: refused before anything starts --------------------------------
def _serve_refuses(cli, *args: str) -> str:  # type: ignore[no-untyped-def]
    port = _free_port()
    r = cli("serve", "--port", str(port), *args, ok=False)
    assert r.exit_code != 0, r.output
    assert "kustosz serve:" not in r.output  # refused before the start line
    with socket.socket() as s:  # nothing listens on the web port
        assert s.connect_ex(("127.0.0.1", port)) != 0
    return " ".join(r.output.split())


@pytest.fixture
def cli_vault(cli, tmp_path: Path):  # type: ignore[no-untyped-def]
    cli("init", "--preset", "pleszew")
    return cli


def test_serve_refuses_a_certificate_that_is_not_its_keys(cli_vault, tmp_path: Path
                                                          ) -> None:  # type: ignore[no-untyped-def]
    cert, _ = make_self_signed(tmp_path / "a", ["a"])
    _, other_key = make_self_signed(tmp_path / "b", ["b"])
    out = _serve_refuses(cli_vault, "--tls-cert", str(cert), "--tls-key", str(other_key))
    assert "does not match the key" in out
    with pytest.raises(ConfigError) as exc:
        check_tls(cert, other_key)
    assert "nie pasuje do klucza" in (exc.value.pl or "")


def test_serve_refuses_an_expired_certificate(cli_vault, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cert, key = make_self_signed(tmp_path / "old", ["old"],
                                 now=datetime.now(UTC) - timedelta(days=400))
    out = _serve_refuses(cli_vault, "--tls-cert", str(cert), "--tls-key", str(key))
    assert "expired on" in out
    with pytest.raises(ConfigError) as exc:
        check_tls(cert, key)
    assert "wygasł" in (exc.value.pl or "")


def test_serve_refuses_a_key_others_can_read(cli_vault, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cert, key = make_self_signed(tmp_path / "t", ["t"])
    for mode in (0o640, 0o604):
        key.chmod(mode)
        out = _serve_refuses(cli_vault, "--tls-cert", str(cert), "--tls-key", str(key))
        assert "readable by other accounts" in out and "chmod 600" in out
    with pytest.raises(ConfigError) as exc:
        check_tls(cert, key)
    assert "mogą czytać inne konta" in (exc.value.pl or "")


def test_serve_refuses_missing_files_and_half_a_pair(cli_vault, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cert, key = make_self_signed(tmp_path / "t", ["t"])
    out = _serve_refuses(cli_vault, "--tls-cert", str(tmp_path / "nope.crt"),
                         "--tls-key", str(key))
    assert "nope.crt does not exist" in out
    out = _serve_refuses(cli_vault, "--tls-cert", str(cert),
                         "--tls-key", str(tmp_path / "nope.key"))
    assert "nope.key does not exist" in out
    out = _serve_refuses(cli_vault, "--tls-cert", str(cert))
    assert "--tls-cert needs --tls-key" in out
    with pytest.raises(ConfigError) as exc:
        check_tls(tmp_path / "nope.crt", key)
    assert "Nie ma pliku certyfikatu" in (exc.value.pl or "")


def test_kustosz_toml_names_the_pair_and_the_command_line_wins(cli_vault, tmp_path: Path
                                                               ) -> None:  # type: ignore[no-untyped-def]
    from kustosz.cli.serve import web_settings

    data = cli_vault.data
    good_cert, good_key = make_self_signed(tmp_path / "good", ["good"])
    old_cert, old_key = make_self_signed(tmp_path / "old", ["old"],
                                         now=datetime.now(UTC) - timedelta(days=400))
    toml = data / "kustosz.toml"
    toml.write_text(toml.read_text().replace(
        "[web]", f'[web]\ntls_cert = "{old_cert}"\ntls_key = "{old_key}"\n'
        'trusted_proxies = ["10.0.0.7", "192.0.2.0/24"]'))
    assert read_config(data).web.trusted_proxies == ("10.0.0.7", "192.0.2.0/24")
    out = _serve_refuses(cli_vault)  # the configured, expired one
    assert "expired on" in out
    vault = Vault.open(data, actor="test")
    try:
        tls, proxies = web_settings(vault, good_cert, good_key, ["127.0.0.1"])
        assert tls is not None and tls.cert == good_cert
        assert [str(p) for p in proxies] == ["127.0.0.1/32"]
        _tls, proxies = web_settings(vault, good_cert, good_key, None)
        assert [str(p) for p in proxies] == ["10.0.0.7/32", "192.0.2.0/24"]
    finally:
        vault.close()
    toml.write_text(toml.read_text().replace('"192.0.2.0/24"', '"not-an-address"'))
    with pytest.raises(ConfigError, match="not an IP address"):
        read_config(data)


# -- behind a reverse proxy --------------------------------------------------------------------
def _start(m: Material, c, **form):  # type: ignore[no-untyped-def]
    return c.post("/media/start", data={"csrf": csrf_of(m.vault, c), **form})


def test_x_forwarded_for_counts_only_from_a_trusted_proxy(sqlite_material: Material) -> None:
    from fastapi.testclient import TestClient

    m = sqlite_material
    user(m.vault, "ola", ["viewer"], password=None)
    authorise(m.vault, "ola", ["playback"], sources=["cam-hol"])
    app = create_app(m.vault)
    app.state.trusted_proxies = parse_proxies(["10.0.0.7"])
    tz = m.vault.policy.timezone
    form = {"action": "playback", "source": "cam-hol",
            "from": m.window[0].astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S"),
            "to": m.window[1].astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S"),
            "purpose": "p", "case_ref": "c", "witness": "zastepca"}
    office = {"X-Forwarded-For": "127.0.0.1"}  # the allow-listed workstation

    def as_(peer: tuple[str, int]) -> TestClient:
        c = TestClient(app, client=peer, follow_redirects=False)
        session_for(m.vault, c, "ola")
        return c

    # a stranger writes the header itself: ignored, the stranger's own address is refused
    spoof = as_(STRANGER)
    r = spoof.post("/media/start", data={"csrf": csrf_of(m.vault, spoof), **form},
                   headers=office)
    assert r.status_code == 403
    # the trusted proxy without the header is itself no workstation
    proxy = as_(PROXY)
    assert _start(m, proxy, **form).status_code == 403
    # a stranger behind the proxy who prepends the office's address: the proxy appends the
    # real one, and the right-most address not a proxy counts
    r = proxy.post("/media/start", data={"csrf": csrf_of(m.vault, proxy), **form},
                   headers={"X-Forwarded-For": "127.0.0.1, 10.9.9.9"})
    assert r.status_code == 403
    with m.vault.reading() as s:
        assert s.execute(select(ViewingSession)).first() is None
    # the office's workstation through the proxy: honoured, and recorded as itself
    r = proxy.post("/media/start", data={"csrf": csrf_of(m.vault, proxy), **form},
                   headers=office)
    assert r.status_code == 303, r.text
    with m.vault.reading() as s:
        assert s.execute(select(ViewingSession.client)).scalar_one() == "127.0.0.1"


def test_client_address_rules() -> None:
    proxies = parse_proxies(["10.0.0.7", "192.0.2.0/24"])
    assert client_address("10.9.9.9", ["127.0.0.1"], proxies) == "10.9.9.9"
    assert client_address("10.0.0.7", ["127.0.0.1"], proxies) == "127.0.0.1"
    assert client_address("10.0.0.7", [], proxies) == "10.0.0.7"
    # chained proxies: skip every trusted hop from the right
    assert client_address("10.0.0.7", ["1.2.3.4, 192.0.2.9"], proxies) == "1.2.3.4"
    assert client_address("10.0.0.7", ["127.0.0.1", "8.8.8.8"], proxies) == "8.8.8.8"
    assert client_address("10.0.0.7", ["garbage"], proxies) == ""
    assert client_address("10.0.0.7", ["127.0.0.1"], ()) == "10.0.0.7"
    assert client_address("::ffff:10.0.0.7", ["127.0.0.1"], proxies) == "127.0.0.1"
    assert client_address("::ffff:10.9.9.9", ["127.0.0.1"], proxies) == "::ffff:10.9.9.9"
