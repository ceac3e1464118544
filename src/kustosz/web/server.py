"""The web server inside `kustosz serve`: uvicorn in a thread, stopped with the same event
as the recorders; and what `kustosz demo` prints (address, first administrator)."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import uvicorn

from kustosz.access.bootstrap import FIRST_ADMIN, first_admin
from kustosz.vault import Vault
from kustosz.web.installation_app import office_app
from kustosz.web.slow_clients import KEEP_ALIVE_S, MAX_HEADER_BYTES, TimedH11Protocol
from kustosz.web.tls import Network, Tls

if TYPE_CHECKING:
    from kustosz.watchdog import Progress

log = logging.getLogger(__name__)
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8470
# On stop, requests still running get this long: inside `serve`'s own stop budget
# (kustosz.cli.serve_stop.STOP_WITHIN_S, 9 s), so a download in progress ends cleanly before the
# process exits rather than being cut by it.
GRACEFUL_S = 6
TICK_S = 0.5  # uvicorn's housekeeping (its Date header, whether to stop): see _Server
PROGRESS_NAME = "web"
# A tick is due every TICK_S; this long without one is an event loop blocked (a request
# handler doing blocking work on the loop), not a busy machine.
WEB_ALLOWANCE_S = 60.0


class _Server(uvicorn.Server):
    """uvicorn's main loop wakes ten times a second to look whether it should stop; in `serve`,
    beside the recorders, those wake-ups were a fifth of the process's CPU at 8 cameras
    (bench/recorders.py, issue 18). Twice a second: the Date header is still set every second
    (on_tick counts tenths) and a stop is noticed within TICK_S."""

    beat: Callable[[], None] = staticmethod(lambda: None)  # serve's watchdog (WebServer)

    async def main_loop(self) -> None:
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + round(TICK_S * 10)) % 864000
            await asyncio.sleep(TICK_S)
            self.beat()  # the event loop turns: requests are being taken
            should_exit = await self.on_tick(counter)


class WebServer:
    """``tls``: a checked certificate and key (kustosz.web.tls.check_tls) — the port then
    speaks HTTPS only, cookies are Secure and HSTS is sent. ``trusted_proxies``: peers whose
    X-Forwarded-For names the client (kustosz.web.tls.client_address). ``progress``: serve's
    watchdog registry (kustosz.watchdog); the server's event loop beats in it every tick, so a
    blocked loop (no request taken any more) stops serve's pings."""

    def __init__(self, vault: Vault | None, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                 secure_cookies: bool = False, tls: Tls | None = None,
                 trusted_proxies: tuple[Network, ...] = (),
                 progress: Progress | None = None, app: Any = None) -> None:
        """``app``: an installation's (web.installation_app), its offices' apps made and
        configured already; else one office's app for ``vault``."""
        if app is None:
            assert vault is not None
            app = office_app(vault, tls, trusted_proxies, secure_cookies)
        ssl = {"ssl_certfile": str(tls.cert), "ssl_keyfile": str(tls.key)} if tls else {}
        config = uvicorn.Config(app, host=host,
                                port=port, log_level="warning", access_log=False,
                                # uvicorn's lines go through kustosz.logs like every other
                                log_config=None,
                                proxy_headers=False, server_header=False,
                                # h11 with a time-out for reading each request (slowloris)
                                http=TimedH11Protocol, timeout_keep_alive=KEEP_ALIVE_S,
                                h11_max_incomplete_event_size=MAX_HEADER_BYTES,
                                timeout_graceful_shutdown=GRACEFUL_S, **ssl)
        self.server = _Server(config)
        self.progress = progress
        if progress is not None:
            self.server.beat = progress.register(PROGRESS_NAME, WEB_ALLOWANCE_S)
        self.host, self.port = host, port
        # each office's live sub-streams, closed at stop (``relays``: an office's served alone)
        offices = getattr(app.state, "office_apps", None)
        self.relays = None if offices is not None else app.state.live_relays
        self.all_relays = [r for r in (a.state.live_relays for a in
                                       (offices.values() if offices is not None else [app]))
                           if r is not None]
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
        if self.progress is not None:
            self.progress.forget(PROGRESS_NAME)  # stopping on purpose is no hang
        self.server.should_exit = True
        self.thread.join(timeout=15)
        for relays in self.all_relays:  # no camera's sub-stream pulled with nobody to watch it
            relays.close()


def run_web(vault: Vault, stop: threading.Event, host: str = DEFAULT_HOST,
            port: int = DEFAULT_PORT, tls: Tls | None = None,
            trusted_proxies: tuple[Network, ...] = (),
            progress: Progress | None = None) -> WebServer:
    """Start the web server; it stops when ``stop`` is set."""
    web = WebServer(vault, host, port, tls=tls, trusted_proxies=trusted_proxies,
                    progress=progress)
    web.start()

    def _watch() -> None:
        stop.wait()
        web.stop()

    threading.Thread(target=_watch, name="web-stop", daemon=True).start()
    return web


WILDCARDS = ("0.0.0.0", "::", "")


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may well resolve to the office network


def reachable_hosts(host: str) -> list[str]:
    """What to type in a browser to reach ``host``: a wildcard (0.0.0.0, ::) is no address
    anyone can open, so this machine's name and the address it reaches the network from."""
    if host not in WILDCARDS:
        return [host]
    found = [socket.gethostname()]
    family, probe = ((socket.AF_INET6, "2001:db8::1") if host == "::"
                     else (socket.AF_INET, "192.0.2.1"))  # documentation ranges: nothing sent
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.connect((probe, 9))  # UDP connect only picks the route and source address
            found.append(s.getsockname()[0])
    except OSError:
        pass  # no route: the name alone
    return list(dict.fromkeys(h for h in found if h))


def plain_http_warning(host: str, tls: Tls | None,
                       trusted_proxies: tuple[Network, ...] = ()) -> tuple[str, str] | None:
    """(Polish, English) when the web app would take passwords in clear from the network:
    listening beyond this machine without HTTPS and with no reverse proxy doing it."""
    if tls is not None or trusted_proxies or is_loopback(host):
        return None
    return ("UWAGA: aplikacja WWW nasłuchuje w sieci ({host}) bez HTTPS — hasła i nagrania "
            "przechodzą przez sieć urzędu jawnym tekstem. Podaj --tls-cert i --tls-key "
            "(albo [web] tls_cert/tls_key; na początek kustosz tls self-signed) lub "
            "--trusted-proxy dla serwera pośredniczącego z HTTPS.".format(host=host or "*"),
            "WARNING: the web app listens on the network ({host}) without HTTPS: passwords "
            "and recordings cross the office network in clear. Give --tls-cert and --tls-key "
            "(or [web] tls_cert/tls_key; kustosz tls self-signed for a start) or "
            "--trusted-proxy for a reverse proxy doing HTTPS.".format(host=host or "*"))


def demo_banner(vault: Vault, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                tls: Tls | None = None) -> str:
    """Lines for `kustosz demo` / `kustosz serve` to print: where the app is, and — the first
    time only — the first administrator's one-time password."""
    scheme = "https" if tls else "http"
    urls = [f"{scheme}://{f'[{h}]' if ':' in h else h}:{port}/" for h in reachable_hosts(host)]
    lines = [f"Aplikacja WWW: {urls[0]}"]
    if len(urls) > 1 or host in WILDCARDS:
        also = f" także {', '.join(urls[1:])};" if len(urls) > 1 else ""
        lines[0] += f" ({also.strip()} nasłuchuje na wszystkich adresach tego komputera)"
    if tls and tls.self_signed:
        lines.append("Certyfikat samopodpisany (tymczasowy): przeglądarki będą ostrzegać; "
                     "zastąp go certyfikatem urzędu")
    password = first_admin(vault)
    if password:
        lines.append(f"Pierwszy administrator: {FIRST_ADMIN} / hasło jednorazowe: {password} "
                     "(pokazane tylko raz; przy logowaniu trzeba ustawić własne)")
    return "\n".join(lines)
