"""systemd's notify protocol and a watchdog that means progress (issue 27).

The unit (deploy/systemd/kustosz.service) is `Type=notify` with `WatchdogSec=`: serve says
READY=1 once it records, then must say WATCHDOG=1 at least every WatchdogSec or systemd kills
and restarts it. A ping from a thread that merely lives would keep a hung serve "running" (the
issue's silent database froze every loop while the process stayed alive), so a ping here means
progress: each loop of serve registers in `Progress` with its own allowance — the longest one
turn of it may honestly take, waits for the database included — and beats every turn. The
`Watchdog` thread pings only while every registered loop has beaten within its allowance.

A loop waiting out a database outage with back-off is making progress: it beats while it
backs off (the watchdog is for hangs, not for outages, which serve rides out by itself). While
serve starts (recovery of a long outage's spool may take minutes) the same rule extends
systemd's start timeout (EXTEND_TIMEOUT_USEC) instead of pinging.

Every long-running loop of serve beats (issue 27: a hung recorder, segment committer,
listener, sweep scheduler, notifier, checkpoint, backup, uploader, phone watch or database
watch must not go unnoticed; on a cluster node the lease pass and its deadlines too). The
loops find the registry through their vault (`progress_of`), as they find the disk watch
(retention.pressure.watch_of) and the segment committer (ingest.camera.index_batch.index_of),
rather than being handed it by serve: several
are not built by serve at all — the recorders by the pools (a node's `NodePool` too), the
listeners' services by `Listeners`, the sweep, checkpoints, notifier, backups and listeners of
a node by `cluster.work.Singletons` as its leases come and go, the committer lazily by the
first segment — so threading an argument through would touch every one of those constructors
and their callers for a value that is the same for the whole process. Serve installs a fresh
registry for its run (`new_progress`) before anything starts; whatever a loop registers after
that is watched. A loop registers with `Progress.loop` (a `Loop`: its beat, waits that beat,
a `busy` allowance for a known long step, `forget` that removes only its own registration, so
a recorder restarted under the same name is not forgotten by its predecessor's late exit).

The protocol is a datagram of newline-separated KEY=VALUE lines to the AF_UNIX socket named
by $NOTIFY_SOCKET (a path, or an abstract name written with a leading '@'); done here rather
than with a library (sd_notify(3) is thirty lines of C). Without $NOTIFY_SOCKET (not under
systemd, a test, a terminal) every call is a no-op.
"""

from __future__ import annotations

import faulthandler
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kustosz.vault_services import Services

log = logging.getLogger(__name__)
DEFAULT_INTERVAL_S = 10.0  # how often to ping without WATCHDOG_USEC (harmless to systemd)
STATUS_MAX = 200  # systemctl status shows one line


def _address(env: Mapping[str, str]) -> str | None:
    name = env.get("NOTIFY_SOCKET", "")
    if name.startswith("@"):
        return "\0" + name[1:]  # an abstract socket (systemd's own for user managers)
    if name.startswith("/"):
        return name
    return None  # unset, or a vsock: address systemd uses only for virtual machines


def notify(*lines: str, env: Mapping[str, str] | None = None) -> bool:
    """Send ``lines`` (``"READY=1"``, ``"STATUS=…"``) to the service manager in one datagram.
    False when there is none to tell or the send failed: never an error, a notify lost must
    not stop recording (systemd's watchdog then restarts serve, which is the right outcome
    if the socket is really gone)."""
    address = _address(os.environ if env is None else env)
    if address is None or not lines:
        return False
    payload = "\n".join(line.replace("\n", " ") for line in lines).encode("utf-8")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(payload)
    except OSError as exc:
        log.debug("sd_notify %s: %s", lines[0], exc)
        return False
    return True


def watchdog_interval(env: Mapping[str, str] | None = None) -> float | None:
    """Half of systemd's WatchdogSec= for this process (sd_watchdog_enabled(3)); None when
    no watchdog is set, or it is another process's (WATCHDOG_PID)."""
    env = os.environ if env is None else env
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    pid = env.get("WATCHDOG_PID")
    if usec <= 0 or (pid is not None and pid != str(os.getpid())):
        return None
    return usec / 1e6 / 2


class Progress:
    """The loops whose turns prove serve is alive. ``register(name, allowance_s)`` gives the
    loop its `beat`; a loop that has not beaten for longer than its allowance is stalled.
    `forget` when the loop ends on purpose (a stopped recorder is no hang). `loop` gives a
    `Loop` handle instead (what the loops of serve use)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        # name: (allowance, last beat, the registration's token)
        self._loops: dict[str, tuple[float, float, object]] = {}

    def register(self, name: str, allowance_s: float) -> Callable[[], None]:
        self._enter(name, allowance_s, object())
        return lambda: self.beat(name)

    def loop(self, name: str, allowance_s: float) -> Loop:
        """Register ``name`` (replacing an earlier registration of it) and return its handle."""
        token = object()
        self._enter(name, allowance_s, token)
        return Loop(self, name, allowance_s, token)

    def _enter(self, name: str, allowance_s: float, token: object) -> None:
        if allowance_s <= 0:
            raise ValueError("a loop's allowance must be positive")
        with self._lock:
            self._loops[name] = (allowance_s, self._clock(), token)

    def beat(self, name: str, token: object = None) -> None:
        with self._lock:
            found = self._loops.get(name)
            if found is not None and (token is None or found[2] is token):
                self._loops[name] = (found[0], self._clock(), found[2])

    def allow(self, name: str, allowance_s: float, token: object = None) -> None:
        """A new allowance for ``name`` (counted from now, as a beat)."""
        with self._lock:
            found = self._loops.get(name)
            if found is not None and (token is None or found[2] is token):
                self._loops[name] = (allowance_s, self._clock(), found[2])

    def forget(self, name: str, token: object = None) -> None:
        with self._lock:
            found = self._loops.get(name)
            if found is not None and (token is None or found[2] is token):
                del self._loops[name]

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._loops)

    def stalled(self) -> dict[str, float]:
        """Each loop over its allowance, with the seconds since its last beat."""
        now = self._clock()
        with self._lock:
            return {name: now - last for name, (allowance, last, _token) in self._loops.items()
                    if now - last > allowance}


class Loop:
    """One loop's registration in `Progress`. Call it (or `beat`) every turn; wait with `wait`
    (it beats meanwhile: a loop backing off from an outage is making progress); wrap a step
    known to take long honestly (a sweep of a big index, a backup) in `busy`; `forget` when the
    loop ends on purpose. Only this registration is touched: once the name is registered again
    (a recorder restarted), this handle's beats and forget are no-ops."""

    def __init__(self, progress: Progress, name: str, allowance_s: float,
                 token: object) -> None:
        self.progress, self.name, self.allowance_s = progress, name, allowance_s
        self._token = token

    def __call__(self) -> None:
        self.beat()

    def beat(self) -> None:
        self.progress.beat(self.name, self._token)

    def wait(self, event: threading.Event, seconds: float) -> bool:
        """``event.wait(seconds)``, beating at least every quarter of the allowance (and
        every `WAIT_BEAT_S`); True if the event was set."""
        end = time.monotonic() + seconds
        step = max(0.05, min(WAIT_BEAT_S, self.allowance_s / 4))
        while True:
            self.beat()
            left = end - time.monotonic()
            if left <= 0:
                return event.is_set()
            if event.wait(min(left, step)):
                self.beat()
                return True

    @contextmanager
    def busy(self, allowance_s: float) -> Iterator[None]:
        """A step that honestly takes up to ``allowance_s`` (more than the loop's own)."""
        self.progress.allow(self.name, max(allowance_s, self.allowance_s), self._token)
        try:
            yield
        finally:
            self.progress.allow(self.name, self.allowance_s, self._token)

    def forget(self) -> None:
        self.progress.forget(self.name, self._token)


WAIT_BEAT_S = 5.0  # a waiting loop beats at least this often

def progress_of(vault: Any) -> Progress:
    """The registry of the loops working on ``vault`` (one per open vault, among its services:
    kustosz.vault_services): where a loop registers. Outside serve nobody reads it (a
    `kustosz phones watch`, a test): harmless."""
    services: Services = vault.services
    return services.of(Progress, Progress)


def new_progress(vault: Any) -> Progress:
    """A fresh registry for ``vault``: serve's, installed before anything of it starts (what
    an earlier run in this process left registered is not watched)."""
    services: Services = vault.services
    return services.put(Progress, Progress())


class Watchdog:
    """Tells systemd how serve stands. `start` the thread at the very beginning of serve;
    `ready` once it records; `stopping` when SIGTERM came. Meanwhile, every ``interval_s``
    (half of WatchdogSec, else `DEFAULT_INTERVAL_S`): all registered loops within their
    allowance — WATCHDOG=1 (after `ready`) or EXTEND_TIMEOUT_USEC (before); one stalled —
    nothing but a STATUS naming it and one warning with every thread's stack (what hung),
    so that systemd's WatchdogSec (or TimeoutStartSec) ends and restarts serve."""

    def __init__(self, progress: Progress, interval_s: float | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        self.progress = progress
        self._env = dict(os.environ if env is None else env)
        self.interval_s = interval_s or watchdog_interval(self._env) or DEFAULT_INTERVAL_S
        self._ready = False
        self._stopping = False
        self._reported: frozenset[str] = frozenset()
        self._thread: threading.Thread | None = None
        self._end = threading.Event()
        self._turn = threading.Lock()  # no ping can follow STOPPING=1

    def _say(self, *lines: str) -> bool:
        return notify(*lines, env=self._env)

    def status(self, text: str) -> None:
        self._say(f"STATUS={text[:STATUS_MAX]}")

    def ready(self, status: str = "nagrywa / recording") -> None:
        """Serve records: systemd's start is done, its watchdog begins."""
        self._ready = True
        self._say("READY=1", f"STATUS={status[:STATUS_MAX]}")
        self.check()  # the first ping at once: WatchdogSec counts from READY=1

    def stopping(self, status: str = "zatrzymuje się / stopping") -> None:
        """No more pings: the stop is bounded by TimeoutStopSec, not by the watchdog."""
        with self._turn:
            self._stopping = True
            self._say("STOPPING=1", f"STATUS={status[:STATUS_MAX]}")
        self._end.set()

    def check(self) -> bool:
        """One turn: ping (or extend the start) when every loop progresses. True if it did."""
        with self._turn:
            return self._check()

    def _check(self) -> bool:
        if self._stopping:
            return False
        stalled = self.progress.stalled()
        if stalled:
            names = frozenset(stalled)
            if names != self._reported:
                self._reported = names
                said = ", ".join(f"{n} ({age:.0f} s)" for n, age in sorted(stalled.items()))
                log.warning("no progress in %s; not telling systemd serve is alive (it "
                            "restarts serve when its watchdog runs out); their stacks follow "
                            "on stderr", said)
                self._say(f"STATUS=bez postępu / no progress: {said}"[:STATUS_MAX])
                faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
            return False
        if self._reported:
            log.info("every loop progresses again")
            self._reported = frozenset()
            self._say("STATUS=nagrywa / recording" if self._ready else "STATUS=uruchamia się")
        if self._ready:
            return self._say("WATCHDOG=1")
        # Starting: the time to the next word from us, plus slack for a busy machine.
        return self._say(f"EXTEND_TIMEOUT_USEC={int(self.interval_s * 3 * 1e6)}")

    def run(self) -> None:
        while not self._end.wait(self.interval_s):
            try:
                self.check()
            except Exception:  # the watchdog must not die of a log line
                log.exception("watchdog turn failed")

    def start(self) -> Watchdog:
        if _address(self._env) is None:
            return self  # not under systemd: nobody to tell, no thread needed
        self._thread = threading.Thread(target=self.run, name="watchdog", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._end.set()
        if self._thread is not None:
            self._thread.join(self.interval_s + 1)
