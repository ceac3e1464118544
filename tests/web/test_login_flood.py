"""Login attempts must not stall the web app (issue 28 item 7), against the real server:
`kustosz serve` in a process of its own (uvicorn as it runs in an office), an attacker of six
threads in another (tests/web/login_flood.py).

argon2 ran inside the async login handler, on the server's one event loop: six attacker
threads slowed a signed-in page 123–188×. The page is measured here with and without the
flood, alternately (the machine's other load changes over a minute; alternating spreads it
over both), and the flood's median must stay within twice the idle one. One address's flood
is refused past its queue with 429 and Retry-After while another address still signs in.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import select
from web_helpers import PASSWORD, user

from kustosz.db.custody import User
from kustosz.vault import Vault

# The users' hashes are made here, in the test's process: at the product's cost, so that each
# of the attackers' checks in the server costs what an office's does (tests/conftest.py).
pytestmark = pytest.mark.real_password_cost
FLOOD = Path(__file__).with_name("login_flood.py")
# Short phases, many of them: the machine's other load (a shared 2-core CI box) changes from
# second to second and falls on both phases alike.
ROUNDS = 10
SAMPLES = 10  # per round and phase, at least
PHASE_S = 1.5  # and for at least this long: the attackers' checks take a while each
CSRF = "test-csrf-test-csrf"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    port: int
    data: Path

    def post_login(self, name: str, password: str, source: str = "127.0.0.1"
                   ) -> http.client.HTTPResponse:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120,
                                          source_address=(source, 0))
        conn.request("POST", "/login",
                     body=urlencode({"username": name, "password": password, "csrf": CSRF,
                                     "next": "/"}).encode(),
                     headers={"Content-Type": "application/x-www-form-urlencoded",
                              "Cookie": f"kustosz_pre={CSRF}"})
        r = conn.getresponse()
        r.read()
        conn.close()
        return r


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    data = tmp_path / "vault"
    subprocess.run([sys.executable, "-m", "kustosz", "--data", str(data), "init", "--preset",
                    "pleszew"], check=True, capture_output=True, timeout=120,
                   env={**os.environ, "KUSTOSZ_ACTOR": "tester"})
    vault = Vault.open(data)
    try:
        user(vault, "admin", ["administrator"])
        with vault.reading() as s:  # each check in the server costs what an office's does
            stored = s.execute(select(User.password_hash).where(User.name == "admin")).scalar_one()
        assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$"), stored
    finally:
        vault.close()
    port = _free_port()
    err_file = tmp_path / "serve.err"
    with err_file.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "kustosz", "--data", str(data), "serve",
                                 "--port", str(port)], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + 120
        while "Aplikacja WWW:" not in err_file.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, err_file.read_text()
            time.sleep(0.2)
        yield Server(port, data)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Flood:
    def __init__(self, port: int, threads: int, mode: str) -> None:
        self.proc = subprocess.Popen([sys.executable, str(FLOOD), str(port), str(threads),
                                      mode], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)

    def _say(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def go(self) -> None:
        self._say("go")

    def seen(self) -> int:
        self._say("seen")
        assert self.proc.stdout is not None
        return int(json.loads(self.proc.stdout.readline()))

    def stop(self) -> dict[str, object]:
        self._say("stop")
        assert self.proc.stdout is not None
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=120)


def signed_in(server: Server) -> str:
    r = server.post_login("admin", PASSWORD)
    assert r.status == 303, r.status
    cookie = r.getheader("Set-Cookie") or ""
    m = re.search(r"kustosz_session=([^;]+)", cookie)
    assert m, cookie
    return m.group(1)


def page_times(port: int, session: str, n: int, at_least_s: float = 0.0) -> list[float]:
    """Seconds each GET of the dashboard took, on one kept-alive connection: ``n`` of them,
    and more until ``at_least_s`` passed."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    took: list[float] = []
    until = time.monotonic() + at_least_s
    try:
        while len(took) < n or time.monotonic() < until:
            started = time.perf_counter()
            conn.request("GET", "/", headers={"Cookie": f"kustosz_session={session}"})
            r = conn.getresponse()
            body = r.read()
            took.append(time.perf_counter() - started)
            assert r.status == 200 and b"Wyloguj" in body, r.status
    finally:
        conn.close()
    return took


def test_a_login_flood_leaves_a_signed_in_page_as_fast_as_idle(server: Server) -> None:
    session = signed_in(server)
    page_times(server.port, session, 5)  # warm: templates compiled, connections open
    flood = Flood(server.port, 6, "many")
    idle: list[float] = []
    flooded: list[float] = []
    rounds: list[str] = []
    answers: dict[str, int] = {}
    try:
        for _ in range(ROUNDS):
            quiet_round = page_times(server.port, session, SAMPLES, PHASE_S)
            flood.go()
            busy_round = page_times(server.port, session, SAMPLES, PHASE_S)
            # a phase ends once the flood has had a check answered: on a busy machine one
            # argon2 check outlasts PHASE_S (fresh clone: 8 answers in 10 phases)
            deadline = time.monotonic() + 120
            while flood.seen() == 0:
                assert time.monotonic() < deadline, "the flood got no answer in 120 s"
                busy_round += page_times(server.port, session, 1)
            said = flood.stop()
            idle += quiet_round
            flooded += busy_round
            rounds.append(f"{statistics.median(quiet_round) * 1000:.0f}/"
                          f"{statistics.median(busy_round) * 1000:.0f}")
            for status, n in dict(said["answers"]).items():  # type: ignore[call-overload]
                answers[status] = answers.get(status, 0) + n
    finally:
        flood.close()
    # the flood was real: wrong passwords checked (401), not merely refused
    assert answers.get("401", 0) >= ROUNDS, answers
    quiet, busy = statistics.median(idle), statistics.median(flooded)
    said = (f"idle median {quiet * 1000:.1f} ms ({len(idle)}), under the flood "
            f"{busy * 1000:.1f} ms ({len(flooded)}); answers {answers}; by round (ms, "
            f"idle/flood) {' '.join(rounds)}")
    print(said)
    assert busy <= 2 * quiet, said


def test_one_address_flood_is_refused_past_its_queue_while_another_signs_in(
        server: Server) -> None:
    results: list[http.client.HTTPResponse] = []
    lock = threading.Lock()
    start = threading.Barrier(6)

    def attacker(n: int) -> None:
        start.wait()
        for i in range(4):
            r = server.post_login("admin", f"zgadywane-haslo-{n}-{i}", source="127.0.0.9")
            with lock:
                results.append(r)

    threads = [threading.Thread(target=attacker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    try:
        # another address, while the flood holds its queue: the right password gets in
        deadline = time.monotonic() + 60
        while not any(r.status == 429 for r in list(results)):
            assert time.monotonic() < deadline, [r.status for r in results]
            time.sleep(0.01)
        started = time.monotonic()
        other = server.post_login("admin", PASSWORD, source="127.0.0.2")
        took = time.monotonic() - started
    finally:
        for t in threads:
            t.join(120)
    assert other.status == 303, other.status
    refused = [r for r in results if r.status == 429]
    assert refused and all(int(r.getheader("Retry-After") or "0") >= 1 for r in refused)
    assert {r.status for r in results} <= {401, 429}
    assert took < 30  # behind at most one check per address ahead, not the whole flood
