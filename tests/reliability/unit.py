"""The shipped systemd unit's restart policy, emulated for a `kustosz serve` the test runs.

`ServiceUnit` reads deploy/systemd/kustosz.service (whatever it says when the test runs:
Type=, Restart=, RestartSec=, RestartSteps=/RestartMaxDelaySec=, StartLimitIntervalSec=/
StartLimitBurst=, WatchdogSec=, TimeoutStartSec=, TimeoutStopSec=, TimeoutAbortSec=) and
does with the process what systemd would:

- starts it in a process group of its own (the unit's cgroup); with Type=notify or a
  WatchdogSec= it passes $NOTIFY_SOCKET (and $WATCHDOG_USEC, $WATCHDOG_PID) and listens for
  READY=1, WATCHDOG=1, WATCHDOG=trigger, EXTEND_TIMEOUT_USEC=, STOPPING=1, STATUS=;
- a watchdog that runs out: WatchdogSignal (SIGABRT) to the main process, SIGKILL to the
  group after TimeoutAbortSec; a start that does not say READY=1 within TimeoutStartSec
  (extended by EXTEND_TIMEOUT_USEC): SIGTERM, then SIGKILL after TimeoutStopSec;
- when the main process ends, whatever is left in its group is killed (as the cgroup is);
- restarts per Restart= after RestartSec (growing to RestartMaxDelaySec in RestartSteps),
  unless StartLimitBurst starts fell within StartLimitIntervalSec: then the unit is
  `failed` and nothing restarts it (a person would have to);
- `stop()` is `systemctl stop` with KillMode=mixed: SIGTERM to the main process, SIGKILL to
  the group after TimeoutStopSec.

Everything it did is in `events` (monotonic time, what) and `restarts` counts the automatic
restarts. What systemd does and this does not: cgroups (a process that leaves the group
survives here), ExecStartPre/Post, resource limits and the sandbox of the unit.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

UNIT_FILE = Path(__file__).resolve().parents[2] / "deploy" / "systemd" / "kustosz.service"
CLEAN_SIGNALS = {signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGPIPE}
_SPAN = re.compile(r"(\d+(?:\.\d+)?)\s*(seconds|second|sec|minutes|minute|min|hours|hour|hr|"
                   r"days|day|us|ms|s|m|h|d)?(?![a-z])")
_UNITS = {None: 1.0, "us": 1e-6, "ms": 1e-3, "s": 1.0, "sec": 1.0, "second": 1.0,
          "seconds": 1.0, "m": 60.0, "min": 60.0, "minute": 60.0, "minutes": 60.0,
          "h": 3600.0, "hr": 3600.0, "hour": 3600.0, "hours": 3600.0, "d": 86400.0,
          "day": 86400.0, "days": 86400.0}


def parse_span(text: str) -> float:
    """A systemd time span ("5", "5s", "1min 30s", "100ms", "infinity") in seconds."""
    text = text.strip()
    if text in ("infinity", ""):
        return float("inf") if text else 0.0
    total, pos = 0.0, 0
    for m in _SPAN.finditer(text):
        if text[pos:m.start()].strip():
            raise ValueError(f"not a time span: {text!r}")
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if text[pos:].strip():
        raise ValueError(f"not a time span: {text!r}")
    return total


def read_unit(path: Path = UNIT_FILE) -> dict[str, str]:
    """The [Unit] and [Service] settings (the last assignment of a key wins)."""
    settings: dict[str, str] = {}
    section = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        if section in ("Unit", "Service") and "=" in line:
            key, value = line.split("=", 1)
            settings[key.strip()] = value.strip()
    return settings


@dataclass
class Policy:
    type: str = "simple"
    restart: str = "no"
    restart_s: float = 0.1
    restart_steps: int = 0
    restart_max_delay_s: float = 0.0
    start_limit_interval_s: float = 10.0
    start_limit_burst: int = 5
    watchdog_s: float = 0.0
    start_timeout_s: float = 90.0
    stop_timeout_s: float = 90.0
    abort_timeout_s: float = 90.0
    watchdog_signal: int = signal.SIGABRT

    @classmethod
    def from_unit(cls, settings: dict[str, str]) -> Policy:
        p = cls()
        p.type = settings.get("Type", p.type)
        p.restart = settings.get("Restart", p.restart)
        p.restart_s = parse_span(settings.get("RestartSec", "100ms"))
        p.restart_steps = int(settings.get("RestartSteps", "0") or 0)
        p.restart_max_delay_s = parse_span(settings.get("RestartMaxDelaySec", "0"))
        p.start_limit_interval_s = parse_span(settings.get("StartLimitIntervalSec", "10s"))
        p.start_limit_burst = int(settings.get("StartLimitBurst", "5"))
        p.watchdog_s = parse_span(settings.get("WatchdogSec", "0"))
        timeout = settings.get("TimeoutSec")
        p.start_timeout_s = parse_span(settings.get("TimeoutStartSec", timeout or "90s"))
        p.stop_timeout_s = parse_span(settings.get("TimeoutStopSec", timeout or "90s"))
        p.abort_timeout_s = parse_span(settings.get("TimeoutAbortSec",
                                                    settings.get("TimeoutStopSec",
                                                                 timeout or "90s")))
        sig = settings.get("WatchdogSignal")
        if sig:
            p.watchdog_signal = int(getattr(signal, sig if sig.startswith("SIG") else
                                            "SIG" + sig))
        return p

    def restart_delay(self, n: int) -> float:
        """Before the (n+1)-th automatic restart (systemd 254's RestartSteps)."""
        if self.restart_steps <= 0 or self.restart_max_delay_s <= self.restart_s:
            return self.restart_s
        if self.restart_s <= 0:
            return self.restart_max_delay_s if n >= self.restart_steps else 0.0
        step = min(n, self.restart_steps) / self.restart_steps
        return float(self.restart_s * (self.restart_max_delay_s / self.restart_s) ** step)

    def restarts_after(self, result: str) -> bool:
        """Restart=: does a run that ended with ``result`` get restarted?"""
        r = self.restart
        if r == "always":
            return True
        if r == "on-success":
            return result == "success"
        if r == "on-failure":
            return result != "success"
        if r == "on-abnormal":
            return result in ("signal", "core-dump", "watchdog", "timeout")
        if r == "on-watchdog":
            return result == "watchdog"
        if r == "on-abort":
            return result in ("signal", "core-dump")
        return False


@dataclass
class Run:
    """One start of the process."""

    started: float
    proc: subprocess.Popen[bytes]
    log: Path
    ready_at: float | None = None
    last_ping: float | None = None
    start_deadline: float = float("inf")
    ended: float | None = None
    result: str = ""  # success, exit-code, signal, core-dump, watchdog, timeout
    code: int | None = None
    statuses: list[str] = field(default_factory=list)


class ServiceUnit:
    """``argv`` run as the unit's ExecStart; ``log_dir`` gets one log per start."""

    def __init__(self, argv: list[str], log_dir: Path, env: dict[str, str] | None = None,
                 policy: Policy | None = None, unit_file: Path = UNIT_FILE) -> None:
        self.argv = argv
        self.log_dir = log_dir
        self.env = {**os.environ, **(env or {})}
        self.settings = read_unit(unit_file)
        self.policy = policy or Policy.from_unit(self.settings)
        self.runs: list[Run] = []
        self.events: list[tuple[float, str]] = []
        self.restarts = 0
        self.state = "inactive"  # activating, active, deactivating, auto-restart, failed
        self._starts: list[float] = []  # for the start limit
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._changed = threading.Condition(self._lock)
        self._notify_dir: Path | None = None
        self._notify: socket.socket | None = None
        self._thread: threading.Thread | None = None
        if self.policy.type == "notify" or self.policy.watchdog_s > 0:
            self._notify_dir = Path(tempfile.mkdtemp(prefix="kunit-"))  # short: sun_path
            self._notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._notify.bind(str(self._notify_dir / "notify"))
            self._notify.settimeout(0.2)
            threading.Thread(target=self._listen, name="unit-notify", daemon=True).start()

    # -- what the test asks --------------------------------------------------------------
    @property
    def current(self) -> Run | None:
        return self.runs[-1] if self.runs else None

    @property
    def pid(self) -> int | None:
        run = self.current
        return run.proc.pid if run is not None and run.proc.poll() is None else None

    def alive(self) -> bool:
        return self.state in ("activating", "active") and self.pid is not None

    def note(self, what: str) -> None:
        with self._lock:
            self.events.append((time.monotonic(), what))
            self._changed.notify_all()

    def history(self) -> str:
        t0 = self.events[0][0] if self.events else 0.0
        return "\n".join(f"  +{t - t0:7.1f} s {what}" for t, what in self.events)

    def logs(self, tail: int = 4000) -> str:
        """The end of each run's output."""
        parts = []
        for i, run in enumerate(self.runs):
            text = run.log.read_text(errors="replace") if run.log.exists() else ""
            parts.append(f"--- run {i} ({run.result or 'running'}) ---\n{text[-tail:]}")
        return "\n".join(parts)

    def all_output(self) -> str:
        return "\n".join(r.log.read_text(errors="replace") for r in self.runs if r.log.exists())

    # -- systemctl start / stop -----------------------------------------------------------
    def start(self) -> None:
        with self._lock:
            self._stopping.clear()
            self._starts.clear()  # a person's start resets the start limit
            self._launch()
        self._thread = threading.Thread(target=self._supervise, name="unit", daemon=True)
        self._thread.start()

    def stop(self) -> tuple[float, int | None]:
        """SIGTERM to the main process, SIGKILL to the group after TimeoutStopSec; returns
        (seconds to the main process's end, its exit status; None if it had to be killed)."""
        self._stopping.set()
        run = self.current
        began = time.monotonic()
        code: int | None = None
        with self._lock:
            if self.state in ("auto-restart", "failed", "inactive") or run is None:
                self.state = "inactive" if self.state != "failed" else "failed"
                return 0.0, None
            self.state = "deactivating"
            self.note("stop: SIGTERM to the main process")
        with contextlib.suppress(ProcessLookupError):
            run.proc.send_signal(signal.SIGTERM)
        try:
            code = run.proc.wait(self.policy.stop_timeout_s)
        except subprocess.TimeoutExpired:
            self.note(f"stop: still running after {self.policy.stop_timeout_s:.0f} s: SIGKILL")
            self._kill_group(run)
            run.proc.wait(10)
        took = time.monotonic() - began
        self._kill_group(run)
        if self._thread is not None:
            self._thread.join(30)
        with self._lock:
            self.state = "inactive"
        return took, code

    def close(self) -> None:
        """Stop and forget (a failed test leaves no process behind)."""
        self._stopping.set()
        for run in self.runs:
            if run.proc.poll() is None:
                self._kill_group(run)
                with contextlib.suppress(Exception):
                    run.proc.wait(10)
        if self._notify is not None:
            self._notify.close()
            self._notify = None

    def wait_state(self, check: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._lock:
            while not check():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 0.5))
        return True

    # -- the manager's side ---------------------------------------------------------------
    def _launch(self) -> None:
        now = time.monotonic()
        window = self.policy.start_limit_interval_s
        if window > 0:
            self._starts = [t for t in self._starts if now - t < window]
            if len(self._starts) >= self.policy.start_limit_burst:
                self.state = "failed"
                self.note(f"start request repeated too quickly ({len(self._starts)} starts "
                          f"in {window:.0f} s): unit failed")
                return
        self._starts.append(now)
        env = dict(self.env)
        if self._notify_dir is not None:
            env["NOTIFY_SOCKET"] = str(self._notify_dir / "notify")
        if self.policy.watchdog_s > 0:
            # systemd sets WATCHDOG_PID too, to the pid it is about to exec; the pid is known
            # here only after the fork, so it is left out (sd_watchdog_enabled then accepts
            # any process; serve is the one that reads it).
            env["WATCHDOG_USEC"] = str(int(self.policy.watchdog_s * 1e6))
        log = self.log_dir / f"serve-{len(self.runs)}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, env=env,
                                    start_new_session=True)
        run = Run(now, proc, log)
        if self.policy.type == "notify":
            run.start_deadline = now + self.policy.start_timeout_s
            self.state = "activating"
        else:
            run.ready_at = now
            self.state = "active"
        run.last_ping = now
        self.runs.append(run)
        self.note(f"started pid {proc.pid} (run {len(self.runs) - 1})")

    def _listen(self) -> None:
        while self._notify is not None:
            try:
                data = self._notify.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            now = time.monotonic()
            with self._lock:
                run = self.current
                if run is None or run.ended is not None:
                    continue
                for line in data.decode(errors="replace").splitlines():
                    key, _, value = line.partition("=")
                    if key == "READY" and value == "1" and run.ready_at is None:
                        run.ready_at = run.last_ping = now
                        if self.state == "activating":
                            self.state = "active"
                        self.note("READY=1")
                    elif key == "WATCHDOG" and value == "1":
                        run.last_ping = now
                    elif key == "WATCHDOG" and value == "trigger":
                        run.last_ping = float("-inf")
                        self.note("WATCHDOG=trigger")
                    elif key == "EXTEND_TIMEOUT_USEC":
                        with contextlib.suppress(ValueError):
                            run.start_deadline = max(run.start_deadline,
                                                     now + int(value) / 1e6)
                    elif key == "STOPPING" and value == "1":
                        self.note("STOPPING=1")
                    elif key == "STATUS" and (not run.statuses
                                              or run.statuses[-1] != value):
                        run.statuses.append(value)
                        self.note(f"STATUS={value}")
                self._changed.notify_all()

    def _supervise(self) -> None:
        while True:
            run = self.current
            if run is None:
                return
            code = self._watch(run)
            with self._lock:
                run.ended, run.code = time.monotonic(), code
                if not run.result:
                    run.result = _result_of(code)
                self.note(f"run {len(self.runs) - 1} ended: {run.result} (status {code})")
                if self._stopping.is_set():
                    return
                self._kill_group(run)
                if not self.policy.restarts_after(run.result):
                    self.state = "failed" if run.result != "success" else "inactive"
                    self.note(f"not restarted (Restart={self.policy.restart}): {self.state}")
                    return
                self.state = "auto-restart"
                delay = self.policy.restart_delay(self.restarts)
            if self._stopping.wait(delay):
                return
            with self._lock:
                if self._stopping.is_set():
                    return
                self._launch()
                if self.state == "failed":  # refused by the start limit: not a restart
                    return
                self.restarts += 1

    def _watch(self, run: Run) -> int:
        """Until the main process ends, enforcing the watchdog and the start timeout."""
        p = self.policy
        while True:
            try:
                return run.proc.wait(0.2)
            except subprocess.TimeoutExpired:
                pass
            if self._stopping.is_set():
                continue  # stop() ends it
            now = time.monotonic()
            with self._lock:
                starting = run.ready_at is None
                late_start = starting and now > run.start_deadline
                dog = (not starting and p.watchdog_s > 0 and run.last_ping is not None
                       and now - run.last_ping > p.watchdog_s)
            if late_start:
                run.result = "timeout"
                self.note(f"start timed out after {now - run.started:.0f} s: SIGTERM")
                self._end(run, signal.SIGTERM, p.stop_timeout_s)
            elif dog:
                run.result = "watchdog"
                self.note(f"watchdog timeout ({p.watchdog_s:.0f} s without WATCHDOG=1): "
                          f"{signal.Signals(p.watchdog_signal).name}")
                self._end(run, p.watchdog_signal, p.abort_timeout_s)

    def _end(self, run: Run, sig: int, grace: float) -> None:
        with contextlib.suppress(ProcessLookupError):
            run.proc.send_signal(sig)
        try:
            run.proc.wait(grace)
        except subprocess.TimeoutExpired:
            self.note(f"still running {grace:.0f} s after the signal: SIGKILL")
            self._kill_group(run)

    @staticmethod
    def _kill_group(run: Run) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(run.proc.pid, signal.SIGKILL)


def _result_of(code: int) -> str:
    if code == 0:
        return "success"
    if code < 0:
        if -code in CLEAN_SIGNALS:
            return "success"
        if -code in (signal.SIGABRT, signal.SIGSEGV, signal.SIGQUIT, signal.SIGBUS,
                     signal.SIGFPE, signal.SIGILL):
            return "core-dump"
        return "signal"
    return "exit-code"
