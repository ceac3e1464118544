"""The web server inside `kustosz serve`: uvicorn in a thread, stopped with the same event
as the recorders; and what `kustosz demo` prints (address, first administrator)."""

from __future__ import annotations

import logging
import threading
import time

import uvicorn

from kustosz.access.bootstrap import FIRST_ADMIN, first_admin
from kustosz.vault import Vault
from kustosz.web.app import create_app
from kustosz.web.slow_clients import KEEP_ALIVE_S, MAX_HEADER_BYTES, TimedH11Protocol
from kustosz.web.tls import Network, Tls

log = logging.getLogger(__name__)
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8470
GRACEFUL_S = 10  # on stop, requests still running get this long (stop() waits 15 s)


class WebServer:
    """``tls``: a checked certificate and key (kustosz.web.tls.check_tls) — the port then
    speaks HTTPS only, cookies are Secure and HSTS is sent. ``trusted_proxies``: peers whose
    X-Forwarded-For names the client (kustosz.web.tls.client_address)."""

    def __init__(self, vault: Vault, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                 secure_cookies: bool = False, tls: Tls | None = None,
                 trusted_proxies: tuple[Network, ...] = ()) -> None:
        app = create_app(vault, secure_cookies=secure_cookies or tls is not None)
        app.state.trusted_proxies = trusted_proxies
        app.state.tls_self_signed = bool(tls and tls.self_signed)
        ssl = {"ssl_certfile": str(tls.cert), "ssl_keyfile": str(tls.key)} if tls else {}
        config = uvicorn.Config(app, host=host,
                                port=port, log_level="warning", access_log=False,
                                proxy_headers=False, server_header=False,
                                # h11 with a time-out for reading each request (slowloris)
                                http=TimedH11Protocol, timeout_keep_alive=KEEP_ALIVE_S,
                                h11_max_incomplete_event_size=MAX_HEADER_BYTES,
                                timeout_graceful_shutdown=GRACEFUL_S, **ssl)
        self.server = uvicorn.Server(config)
        self.host, self.port = host, port
        self.scheme = "https" if tls else "http"
        self.thread = threading.Thread(target=self.server.run, name="web", daemon=True)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}/"

    def start(self, timeout: float = 20.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started and self.thread.is_alive() \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        if not self.server.started:
            raise RuntimeError(f"the web server did not start on {self.host}:{self.port}")
        log.info("web app at %s", self.url)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def run_web(vault: Vault, stop: threading.Event, host: str = DEFAULT_HOST,
            port: int = DEFAULT_PORT, tls: Tls | None = None,
            trusted_proxies: tuple[Network, ...] = ()) -> WebServer:
    """Start the web server; it stops when ``stop`` is set."""
    web = WebServer(vault, host, port, tls=tls, trusted_proxies=trusted_proxies)
    web.start()

    def _watch() -> None:
        stop.wait()
        web.stop()

    threading.Thread(target=_watch, name="web-stop", daemon=True).start()
    return web


def demo_banner(vault: Vault, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                tls: Tls | None = None) -> str:
    """Lines for `kustosz demo` / `kustosz serve` to print: where the app is, and — the first
    time only — the first administrator's one-time password."""
    shown = f"[{host}]" if ":" in host else host
    lines = [f"Aplikacja WWW: {'https' if tls else 'http'}://{shown}:{port}/"]
    if tls and tls.self_signed:
        lines.append("Certyfikat samopodpisany (tymczasowy): przeglądarki będą ostrzegać; "
                     "zastąp go certyfikatem urzędu")
    password = first_admin(vault)
    if password:
        lines.append(f"Pierwszy administrator: {FIRST_ADMIN} / hasło jednorazowe: {password} "
                     "(pokazane tylko raz; przy logowaniu trzeba ustawić własne)")
    return "\n".join(lines)
