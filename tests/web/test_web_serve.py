"""`kustosz serve` runs the web app next to the recorders and stops it with them."""

from __future__ import annotations

import socket
import threading
import time
import urllib.request

from kustosz.cli.serve import run_serve
from kustosz.vault import Vault


def test_serve_runs_and_stops_the_web_app(sqlite_vault: Vault) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    stop = threading.Event()
    said: list[str] = []
    t = threading.Thread(target=run_serve, args=(sqlite_vault, stop),
                         kwargs={"web": ("127.0.0.1", port), "announce": said.append})
    t.start()
    try:
        deadline = time.monotonic() + 20
        while not said and time.monotonic() < deadline:
            time.sleep(0.1)
        assert said and f"http://127.0.0.1:{port}/" in said[0]
        assert "hasło jednorazowe" in said[0]  # the first administrator, once
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as r:
            assert r.status == 200 and "Logowanie" in r.read().decode()
    finally:
        stop.set()
        t.join(60)
    assert not t.is_alive()
    with socket.socket() as s:  # nobody listens there any more (a restart can bind it)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
