"""Real receivers on loopback for the alert tests: an SMTP relay (aiosmtpd, optionally
demanding a login), a webhook (http.server) and a UDP syslog server."""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpSink:
    """Collects the mails it is given. With ``password`` it demands a login (AUTH PLAIN/LOGIN
    without TLS, allowed on loopback) and accepts only that password while ``accept``."""

    def __init__(self, password: str | None = None,
                 tls: tuple[Path, Path] | None = None) -> None:
        self.mails: list[EmailMessage] = []
        self.received: list[datetime] = []  # when each mail arrived (UTC)
        self.password, self.accept, self.logins = password, True, 0
        self.port = free_port()
        kw: dict[str, Any] = {}
        if password is not None:
            kw = {"authenticator": self._auth, "auth_required": True,
                  "auth_require_tls": tls is not None}
        if tls is not None:  # STARTTLS required before anything else (and before AUTH)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*tls)
            kw.update(tls_context=context, require_starttls=True)
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, **kw)

    def _auth(self, server: Any, session: Any, envelope: Any, mechanism: str,
              data: Any) -> AuthResult:
        self.logins += 1
        ok = (isinstance(data, LoginPassword) and self.accept
              and data.password.decode() == self.password)
        return AuthResult(success=ok, handled=False)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails.append(email.message_from_bytes(envelope.content,
                                                   policy=email.policy.default))
        self.received.append(datetime.now(UTC))
        return "250 OK"

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.mails]

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


class WebhookSink:
    def __init__(self, status: int = 200) -> None:
        self.posts: list[dict[str, Any]] = []
        self.status = status
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if sink.status == 200:
                    sink.posts.append({"type": self.headers["Content-Type"],
                                       "path": self.path, "json": json.loads(body),
                                       "auth": self.headers.get("Authorization")})
                self.send_response(sink.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook?token=sekret"

    def __enter__(self) -> WebhookSink:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class SyslogSink:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.lines: list[bytes] = []
        self._stop = threading.Event()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.lines.append(self.sock.recv(65535))
            except TimeoutError:
                continue

    def __enter__(self) -> SyslogSink:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


def wait_until(check: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def write_alerts(root: Path, toml: str) -> None:
    """Append an [alerts] part to the vault's kustosz.toml."""
    path = root / "kustosz.toml"
    path.write_text(path.read_text("utf-8") + "\n" + toml, "utf-8")


@contextlib.contextmanager
def camera_under_serve(root: Path, rtsp_url: str, options: Any) -> Iterator[tuple[Any, Any]]:
    """The vault at ``root`` (its kustosz.toml already holds the test's [alerts]) opened as
    serve opens it, one camera "wejscie" recording ``rtsp_url``, and `run_serve` (without the
    web app) in a thread until the block ends; yields (vault, the camera). The vault is left
    open for the test's last reads: the test closes it."""
    from kustosz.cameras.register import add_site, add_zone
    from kustosz.cli.serve import run_serve
    from kustosz.vault import Vault
    from tests.cameras.camera_helpers import register_camera

    v = Vault.open(root)
    with v.transaction() as s:
        add_site(s, "Ratusz", "test", "Rynek 1")
        add_zone(s, "Ratusz", "hol parter", "corridor", "test")
    cam = register_camera(v, "wejscie", rtsp_url)
    stop, ready = threading.Event(), threading.Event()
    serve = threading.Thread(target=run_serve, args=(v, stop),
                             kwargs={"options": options, "web": None,
                                     "on_ready": lambda _pool: ready.set()})
    serve.start()
    try:
        assert ready.wait(30), "serve did not get ready"
        yield v, cam
    finally:
        stop.set()
        serve.join(60)
