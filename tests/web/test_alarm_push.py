"""Alarms reach whoever is on duty (issue 65 item 3): the devices of people whose role watches
alarms and who turned notifications on (POST /alarms/devices, as static/alarms_live.js does
with the browser's PushSubscription), told by the notifier through the Web Push channel —
here to a push service the test runs over HTTPS (its certificate the office's CA), which
checks what a real one checks (the VAPID token of the vault's key, the content coding) and
which the test decrypts as the browser would.

Each device is told what its user's dashboard says, in the user's language, nothing of a
camera their authorisations do not cover; a push service that does not answer within the
deadline is the channel's failure (on the dashboard, retried, then only to the devices not
yet told); a device its service forgot is ended; an endpoint the vault does not allow is
refused at the door (the server never POSTs where a person points it); signing out and a
role change end a sign-in's devices; the VAPID private key is sealed in the database."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from sqlalchemy import select
from test_dead_camera import kill_camera, office
from web_helpers import authorise, csrf_of, signed_in, user

from kustosz.access.users import set_roles
from kustosz.alerts import notifier as notifier_mod
from kustosz.alerts.channels import ChannelError
from kustosz.alerts.notifier import Notifier
from kustosz.alerts.state import channel_problems
from kustosz.alerts.vapid import KEY as VAPID_ROW
from kustosz.alerts.webpush import b64url, decrypt, public_raw, unb64url, vapid_claims
from kustosz.db.access import AlarmDevice
from kustosz.db.models import Setting
from kustosz.vault import Vault
from kustosz.web.alarm_push import PushSender
from kustosz.web.tls import make_self_signed

CONTACT = "mailto:dyzur@um.example.pl"


@dataclass
class PushService:
    """A push service: takes POSTs at /p/<name>, answers each name's status (201 unless
    told), and hangs for a name told to."""

    url: str
    got: list[dict[str, Any]] = field(default_factory=list)
    status: dict[str, int] = field(default_factory=dict)
    hang: set[str] = field(default_factory=set)

    def of(self, name: str) -> list[dict[str, Any]]:
        return [g for g in self.got if g["name"] == name]


@pytest.fixture
def push_service(tmp_path: Path) -> Iterator[PushService]:
    import ssl

    cert, key = make_self_signed(tmp_path / "push-tls", ["localhost"])
    service = PushService("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            name = self.path.rsplit("/", 1)[-1]
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if name in service.hang:  # never answers in time, and takes nothing
                time.sleep(5)
                return
            service.got.append({"name": name, "body": body, "headers": dict(self.headers)})
            self.send_response(service.status.get(name, 201))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    service.url = f"https://localhost:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    (tmp_path / "push-ca.pem").write_bytes(cert.read_bytes())
    yield service
    server.shutdown()
    server.server_close()


@dataclass
class Browser:
    name: str
    key: ec.EllipticCurvePrivateKey
    auth: bytes

    def subscription(self, service: PushService) -> dict[str, Any]:
        return {"subscription": {"endpoint": f"{service.url}/p/{self.name}", "keys": {
            "p256dh": b64url(public_raw(self.key.public_key())), "auth": b64url(self.auth)}}}

    def told(self, service: PushService) -> list[dict[str, Any]]:
        return [json.loads(decrypt(g["body"], self.key, self.auth))
                for g in service.of(self.name)]


def _browser(name: str) -> Browser:
    return Browser(name, ec.generate_private_key(ec.SECP256R1()), name.encode().ljust(16, b"_"))


def _vault(v: Vault, tmp_path: Path, timeout: float = 2) -> Vault:
    """The vault opened again with [alerts.push] naming the test's push service."""
    v.close()
    config = v.root / "kustosz.toml"
    config.write_text(config.read_text("utf-8") + f'\n[alerts.push]\ncontact = "{CONTACT}"\n'
                      f'services = ["localhost"]\nca_file = "{tmp_path / "push-ca.pem"}"\n'
                      f"timeout_seconds = {timeout}\n", "utf-8")
    return Vault.open(v.root)


def _on(v: Vault, name: str, browser: Browser, service: PushService,
        lang: str = "pl") -> TestClient:
    c = signed_in(v, name)
    c.cookies.set("kustosz_lang", lang, domain="testserver.local")
    r = c.post("/alarms/devices", json=browser.subscription(service),
               headers={"X-CSRF-Token": csrf_of(v, c)})
    assert r.status_code == 200, (r.status_code, r.text)
    return c


def _devices(v: Vault) -> dict[str, AlarmDevice]:
    with v.reading() as s:
        return {d.endpoint.rsplit("/", 1)[-1]: d for d in s.execute(select(AlarmDevice))
                .scalars()}


def test_each_device_on_duty_is_told_what_its_dashboard_says(
        web_vault: Vault, tmp_path: Path, push_service: PushService) -> None:
    """SQLite and PostgreSQL (the VAPID key made once, the devices' rows)."""
    office(web_vault)
    v = _vault(web_vault, tmp_path)
    try:
        user(v, "straznik", ["operator"], display="Józef Żółć")
        user(v, "ewa", ["viewer"])
        authorise(v, "straznik", ["live"], ["cam-inne"])
        authorise(v, "ewa", ["live"], ["cam-hol"])
        phone, desk, other, english = (_browser(n) for n in ("phone", "desk", "other",
                                                              "english"))
        _on(v, "straznik", phone, push_service)
        _on(v, "informatyk", desk, push_service)
        _on(v, "ewa", other, push_service)  # not authorised for cam-inne
        _on(v, "informatyk", english, push_service, lang="en")
        since = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
        kill_camera(v, "cam-inne", since)
        Notifier(v).tick()
        local = since.astimezone(v.policy.timezone)
        said = f"Kamera „cam-inne” nie nagrywa od {local:%d.%m.%Y %H:%M}"
        for browser in (phone, desk):
            [told] = browser.told(push_service)
            assert told["title"] == "Kustosz: alarm" and said in told["body"], told
            assert told["tag"].startswith("kustosz-alarm-") and told["lang"] == "pl"
        assert push_service.of("other") == []  # nothing of a camera ewa may not see
        [en] = english.told(push_service)
        assert en["title"] == "Kustosz: alert"
        assert en["body"].startswith('Camera "cam-inne" has not recorded since'), en
        with v.reading() as s:
            key = json.loads(s.get(Setting, VAPID_ROW).value)
        for got in push_service.got:
            h = got["headers"]
            assert (h["Content-Encoding"], h["Urgency"]) == ("aes128gcm", "high")
            assert int(h["TTL"]) > 0 and len(got["body"]) <= 4096
            token, k = h["Authorization"].removeprefix("vapid t=").split(", k=")
            assert k == key["public"]
            claims = vapid_claims(token, unb64url(k))
            assert claims["aud"] == push_service.url and claims["sub"] == CONTACT
            assert time.time() < float(str(claims["exp"])) <= time.time() + 24 * 3600
        # the private key is sealed: the database alone shows nothing of it
        assert "PRIVATE KEY" not in key["private"] and key["private"].startswith(
            "kustosz-sealed:1:")
        with v.reading() as s:
            deliveries = channel_problems(s)
        assert deliveries == []
    finally:
        v.close()


def test_a_push_service_that_does_not_answer_is_a_channel_failure_then_retried(
        sqlite_web_vault: Vault, tmp_path: Path, push_service: PushService) -> None:
    office(sqlite_web_vault)
    v = _vault(sqlite_web_vault, tmp_path, timeout=1)
    try:
        fine, slow, forgotten = _browser("fine"), _browser("slow"), _browser("forgotten")
        for b in (fine, slow, forgotten):
            _on(v, "informatyk", b, push_service)
        push_service.hang.add("slow")
        push_service.status["forgotten"] = 410
        kill_camera(v, "cam-inne", datetime.now(UTC) - timedelta(minutes=5))
        notifier = Notifier(v, retry_s=0)
        started = time.monotonic()
        notifier.tick()
        assert time.monotonic() - started < 4  # the deadline, not the service's 5 s
        with v.reading() as s:
            [problem] = channel_problems(s)
        assert "Web Push" in problem["name"] and "nieosiągalna" in problem["reason"]
        assert problem["waiting"] == 1
        devices = _devices(v)
        assert devices["forgotten"].ended_at is not None  # 410: ended, not a failure
        c = signed_in(v, "informatyk")
        assert "nie docierają od" in c.get("/").text
        push_service.hang.clear()
        notifier.tick()
        assert len(push_service.of("fine")) == 1  # told once: the retry skipped it
        assert len(fine.told(push_service)) == 1 and len(slow.told(push_service)) == 1
        with v.reading() as s:
            assert channel_problems(s) == []
        assert "Web Push" not in c.get("/").text
    finally:
        v.close()


def test_an_endpoint_the_vault_does_not_allow_is_refused_at_the_door(
        sqlite_web_vault: Vault, tmp_path: Path, push_service: PushService) -> None:
    office(sqlite_web_vault)
    v = _vault(sqlite_web_vault, tmp_path)
    try:
        user(v, "kadry", ["custodian"])  # a role that does not watch alarms
        c = signed_in(v, "informatyk")
        b = _browser("x")
        good = b.subscription(push_service)
        for endpoint in ("http://127.0.0.1:5432/", "https://169.254.169.254/latest",
                         "https://localhost.evil.example/p/x", "ftp://localhost/p/x",
                         "https://fcm.googleapis.com.evil.example/x", "https://[::1]/x"):
            bad = json.loads(json.dumps(good))
            bad["subscription"]["endpoint"] = endpoint
            r = c.post("/alarms/devices", json=bad, headers={"X-CSRF-Token": csrf_of(v, c)})
            assert r.status_code == 422, (endpoint, r.status_code)
        for broken in ({"subscription": {"endpoint": good["subscription"]["endpoint"],
                                         "keys": {"p256dh": "AAAA", "auth": "AAAA"}}},
                       {"subscription": "x"}, [], {"subscription": {"endpoint": "a" * 3000,
                                                                    "keys": {}}}):
            r = c.post("/alarms/devices", json=broken,
                       headers={"X-CSRF-Token": csrf_of(v, c)})
            assert r.status_code == 422, broken
        assert c.post("/alarms/devices", json=good).status_code == 403  # no CSRF token
        k = signed_in(v, "kadry")
        assert k.post("/alarms/devices", json=good,
                      headers={"X-CSRF-Token": csrf_of(v, k)}).status_code == 403
        assert _devices(v) == {}
    finally:
        v.close()


def test_signing_out_and_a_role_change_end_the_devices(
        sqlite_web_vault: Vault, tmp_path: Path, push_service: PushService) -> None:
    office(sqlite_web_vault)
    v = _vault(sqlite_web_vault, tmp_path)
    try:
        user(v, "straznik", ["operator"])
        shared, own = _browser("shared"), _browser("own")
        c = _on(v, "informatyk", shared, push_service)
        _on(v, "straznik", own, push_service)
        assert c.post("/logout", data={"csrf": csrf_of(v, c)}).status_code in (303, 302)
        devices = _devices(v)
        assert devices["shared"].ended_at is not None and devices["own"].ended_at is None
        with v.transaction() as s:
            set_roles(s, "straznik", ["custodian"], "test")
        assert _devices(v)["own"].ended_at is not None
        # turned off by its user: ended, the push service never told again
        again = _on(v, "informatyk", shared, push_service)
        assert _devices(v)["shared"].ended_at is None
        r = again.post("/alarms/devices/off", json={"endpoint": f"{push_service.url}/p/shared"},
                       headers={"X-CSRF-Token": csrf_of(v, again)})
        assert r.status_code == 200 and _devices(v)["shared"].ended_at is not None
        kill_camera(v, "cam-inne", datetime.now(UTC) - timedelta(minutes=5))
        Notifier(v).tick()
        assert push_service.got == []
    finally:
        v.close()


def test_the_test_message_names_no_device_as_a_failure(sqlite_web_vault: Vault,
                                                       tmp_path: Path,
                                                       push_service: PushService) -> None:
    v = _vault(sqlite_web_vault, tmp_path)
    try:
        from kustosz.alerts.settings import effective

        sender = PushSender(effective(v).channels["push"])  # type: ignore[arg-type]
        sender.attach(v)
        msg = notifier_mod.Message("[Kustosz] Wiadomość testowa", "", "notice",
                                   {"kind": "test", "event": "test", "alert_id": None})
        with pytest.raises(ChannelError) as failed:
            sender.send(msg)
        assert failed.value.reason == "push_no_devices"
    finally:
        v.close()


@pytest.mark.parametrize("contact", ["mailto:Józef Żółć 🔥", "http://um.example.pl", "dyżur",
                                     "mailto:", ""])
def test_a_contact_that_is_none_is_refused_in_polish(tmp_path: Path, contact: str) -> None:
    """kustosz.toml's [alerts.push] contact and the page's field: an address or a mailto:."""
    from pydantic import ValidationError

    from kustosz.alerts.channel_forms import PUSH
    from kustosz.config_schema.alerts import Push

    with pytest.raises(ValidationError) as refused:
        Push(contact=contact)
    assert "mailto" in str(refused.value)
    errors: dict[str, str] = {}
    parsed = PUSH.parse({"push_contact": contact, "push_services": "push.um.example.pl, "
                         "Żółć 🔥.example", "push_timeout": "90"}, lambda t, w="": t, None,
                        None, errors)
    if contact.strip():
        assert errors["push_contact"].startswith("Podaj „mailto:”"), errors
        assert "„Żółć" in errors["push_services"] and "🔥" in errors["push_services"]
        assert errors["push_timeout"] == "Podaj liczbę sekund od 1 do 60."
    else:
        assert parsed is None and errors == {}  # empty: the channel off
