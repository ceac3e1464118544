"""systemd's notify protocol and the watchdog that means progress (issue 27 item 2), against a
real AF_UNIX datagram socket standing for systemd's $NOTIFY_SOCKET (a transient unit is not
available in a container; the socket is what systemd reads, so this is the real interface):
READY=1, STATUS, WATCHDOG=1 only while every registered loop beats within its allowance,
EXTEND_TIMEOUT_USEC while starting, STOPPING=1; a path and an abstract ('@') name; a hung
loop stops the pings and a loop backing off from a database outage does not."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kustosz.watchdog import Progress, Watchdog, notify, watchdog_interval


class FakeSystemd:
    """The receiving end of $NOTIFY_SOCKET: every datagram, split into KEY=VALUE lines."""

    def __init__(self, address: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + address[1:] if address.startswith("@") else address)
        self.sock.settimeout(0.2)
        self.env = {"NOTIFY_SOCKET": address}
        self.got: list[list[str]] = []
        self._lock = threading.Lock()
        self._end = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._end.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.got.append(data.decode().split("\n"))

    def lines(self) -> list[str]:
        with self._lock:
            return [line for message in self.got for line in message]

    def count(self, line: str) -> int:
        return self.lines().count(line)

    def wait_for(self, predicate: object, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():  # type: ignore[operator]
            assert time.monotonic() < deadline, self.lines()
            time.sleep(0.02)

    def close(self) -> None:
        self._end.set()
        self._thread.join(2)
        self.sock.close()


@pytest.fixture(params=["path", "abstract"])
def systemd(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FakeSystemd]:
    address = (str(tmp_path / "notify") if request.param == "path"
               else f"@kustosz-test-{os.getpid()}-{time.monotonic_ns()}")
    fake = FakeSystemd(address)
    yield fake
    fake.close()


def test_notify_sends_one_datagram_of_lines_to_the_socket(systemd: FakeSystemd) -> None:
    assert notify("READY=1", "STATUS=nagrywa", env=systemd.env)
    systemd.wait_for(lambda: systemd.got)
    assert systemd.got == [["READY=1", "STATUS=nagrywa"]]


def test_notify_without_a_manager_is_a_no_op(tmp_path: Path) -> None:
    assert not notify("READY=1", env={})
    assert not notify("READY=1", env={"NOTIFY_SOCKET": "vsock:2:999"})
    # a socket that is not there: no error, recording must not stop for a lost notify
    assert not notify("READY=1", env={"NOTIFY_SOCKET": str(tmp_path / "gone")})


def test_the_interval_is_half_of_watchdog_usec_for_this_process_only() -> None:
    assert watchdog_interval({"WATCHDOG_USEC": "60000000"}) == 30.0
    assert watchdog_interval({"WATCHDOG_USEC": "60000000",
                              "WATCHDOG_PID": str(os.getpid())}) == 30.0
    assert watchdog_interval({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "1"}) is None
    assert watchdog_interval({}) is None and watchdog_interval({"WATCHDOG_USEC": "x"}) is None


def test_start_ready_pings_and_stop_as_systemd_expects(systemd: FakeSystemd) -> None:
    """Before READY=1: EXTEND_TIMEOUT_USEC while loops progress (a long start-up recovery is
    not killed by TimeoutStartSec); then READY=1 with a status, WATCHDOG=1 pings; after
    STOPPING=1 no more pings (TimeoutStopSec bounds the stop)."""
    progress = Progress()
    beat = progress.register("main", 5.0)
    dog = Watchdog(progress, interval_s=0.05, env=systemd.env).start()
    try:
        systemd.wait_for(lambda: any(x.startswith("EXTEND_TIMEOUT_USEC=") for x in
                                     systemd.lines()))
        assert "WATCHDOG=1" not in systemd.lines()
        [extend] = {x for x in systemd.lines() if x.startswith("EXTEND_TIMEOUT_USEC=")}
        assert int(extend.split("=")[1]) >= 0.05 * 2 * 1e6  # longer than the next turn
        dog.ready()
        beat()
        systemd.wait_for(lambda: systemd.count("WATCHDOG=1") >= 3)
        assert "READY=1" in systemd.lines()
        assert any(x.startswith("STATUS=") for x in systemd.lines())
        dog.stopping()
        systemd.wait_for(lambda: "STOPPING=1" in systemd.lines())
        time.sleep(0.3)  # a bound on something NOT happening: six turns of the thread
        after = systemd.lines()[systemd.lines().index("STOPPING=1"):]
        assert "WATCHDOG=1" not in after, after
    finally:
        dog.close()


def test_a_hung_loop_stops_the_pings_and_they_resume_when_it_moves(
        systemd: FakeSystemd) -> None:
    """The emulation of a hung serve: the recorder loop beats, the 'index' loop hangs (stops
    beating). After its allowance the watchdog stops pinging (systemd would kill and restart
    serve), says which loop in STATUS; it pings again once the loop beats."""
    progress = Progress()
    index = progress.register("segment-index", 0.3)
    recorders = progress.register("recorders", 0.3)
    dog = Watchdog(progress, interval_s=0.05, env=systemd.env).start()
    stop_beating = threading.Event()

    def recorder_loop() -> None:
        while not stop_beating.wait(0.02):
            recorders()

    threading.Thread(target=recorder_loop, daemon=True).start()
    try:
        dog.ready()
        systemd.wait_for(lambda: systemd.count("WATCHDOG=1") >= 2)
        # the index loop hangs from here on
        systemd.wait_for(lambda: any("segment-index" in x for x in systemd.lines()))
        assert progress.stalled().keys() == {"segment-index"}
        hung_at = systemd.count("WATCHDOG=1")
        time.sleep(0.3)  # six turns of the watchdog with the loop still hung: no ping
        assert systemd.count("WATCHDOG=1") == hung_at
        assert "recorders" not in [x for x in systemd.lines() if "no progress" in x][-1]
        index()  # it moves again
        systemd.wait_for(lambda: systemd.count("WATCHDOG=1") > hung_at)
    finally:
        stop_beating.set()
        dog.close()


def test_a_loop_backing_off_from_a_database_outage_keeps_the_pings(
        systemd: FakeSystemd) -> None:
    """An outage is no hang: a loop that waits with back-off beats at each wait, so the
    pings go on however long the database is away."""
    from kustosz.db.outage import Backoff

    progress = Progress()
    beat = progress.register("notifier", 0.5)
    dog = Watchdog(progress, interval_s=0.05, env=systemd.env).start()
    end = threading.Event()

    def loop_with_the_database_away() -> None:
        backoff = Backoff(first_s=0.05, limit_s=0.2)
        while not end.is_set():
            beat()  # one turn: the database did not answer; back off and ask again
            backoff.wait(end)

    threading.Thread(target=loop_with_the_database_away, daemon=True).start()
    try:
        dog.ready()
        systemd.wait_for(lambda: systemd.count("WATCHDOG=1") >= 20)
        assert not any("no progress" in x for x in systemd.lines())
    finally:
        end.set()
        dog.close()


def test_a_forgotten_loop_no_longer_counts() -> None:
    progress = Progress()
    progress.register("camera 3", 0.001)
    deadline = time.monotonic() + 5
    while not progress.stalled():
        assert time.monotonic() < deadline
        time.sleep(0.005)
    progress.forget("camera 3")
    assert progress.stalled() == {} and progress.names() == []


@given(st.lists(st.tuples(st.sampled_from("abc"), st.floats(0.5, 10), st.floats(0, 20)),
                max_size=12), st.floats(0, 40))
def test_stalled_is_exactly_the_loops_past_their_allowance(
        loops: list[tuple[str, float, float]], now: float) -> None:
    """A rule over many cases: with a clock of the test's own, a loop is reported stalled
    if and only if the time since its last beat exceeds its own allowance."""
    clock = [0.0]
    progress = Progress(clock=lambda: clock[0])
    last: dict[str, tuple[float, float]] = {}
    for name, allowance, at in sorted(loops, key=lambda x: x[2]):
        clock[0] = at
        progress.register(name, allowance)
        last[name] = (allowance, at)
    clock[0] = max([now, *[at for _, _, at in loops]])
    expected = {n for n, (allowance, at) in last.items() if clock[0] - at > allowance}
    assert set(progress.stalled()) == expected
