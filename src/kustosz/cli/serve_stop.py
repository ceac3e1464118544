"""How `kustosz serve` stops (issue 14; issue 27 item 5): SIGTERM to exit within
`STOP_WITHIN_S`, counted from the signal, in every state. Its signals (`serve_signals`) are
installed by every command that runs serve: `serve` and `demo`. The parts get the time up to
`AFTER_PARTS_S` before the end and stop all at once (`stop_all`); a step that may hang (a
database that does not answer) runs in a thread of its own and is waited for a bounded time
(`run_within`); what a part still busy at the deadline leaves is the next start's recovery,
as after a crash.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from kustosz import jobs
from kustosz.cli import serve_reload

if TYPE_CHECKING:
    from kustosz.clock import ClockWatch
    from kustosz.ingest.camera.supervisor import RecorderPool
    from kustosz.ingest.listeners import Listeners
    from kustosz.vault import Vault
    from kustosz.web.server import WebServer

# The lines these steps log are serve's (its logger, as before they moved here).
log = logging.getLogger("kustosz.cli.serve")
STOP_WITHIN_S = 9.0  # SIGTERM to exit (issue 14: within 10 s); see stop_all
# Of STOP_WITHIN_S, what follows the parts' stop (stop_all): the clock watch's last reading
# (close_clock), the note for doctor (NOTE_S), the database closed and the process ended
# (END_S). The parts get the rest, counted from the signal.
AFTER_PARTS_S = 2.0
NOTE_S = 0.5
END_S = 0.5


class Stop(threading.Event):
    """serve's stop, which knows when it was first asked for: the whole stop, from the signal
    to the process's end, counts against STOP_WITHIN_S (`stop_deadline`), also when the main
    loop noticed it late."""

    def __init__(self) -> None:
        super().__init__()
        self.asked_at: float | None = None

    def set(self) -> None:
        if self.asked_at is None:
            self.asked_at = time.monotonic()
        super().set()


LAST_RESORT_S = 0.5
# serve ran in this process: kustosz.cli.main ends the process as soon as the command returns
# (kustosz.cli.serve.end_process), not through the interpreter's teardown.
ENDS_PROCESS = threading.Event()


@contextlib.contextmanager
def serve_signals() -> Iterator[Stop]:
    """serve's signals while it runs, the same wherever serve runs (`kustosz serve`,
    `kustosz demo`): SIGTERM and SIGINT stop it within STOP_WITHIN_S (`last_resort` after
    that), SIGHUP reloads kustosz.toml (serve_reload). The previous handlers come back after.
    Yields the stop to hand to run_serve."""
    ENDS_PROCESS.set()
    stop = Stop()

    def _stop(signum: int, _frame: object) -> None:
        log.info("signal %d: stopping the recorders", signum)
        if not stop.is_set():
            threading.Thread(target=last_resort, args=(STOP_WITHIN_S + LAST_RESORT_S,),
                             name="stop-deadline", daemon=True).start()
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, serve_reload.on_signal)
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def flush_output() -> None:
    for handler in logging.getLogger().handlers:
        with contextlib.suppress(Exception):
            handler.flush()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


def last_resort(after: float) -> None:
    """SIGTERM ends serve within 10 s in every state (issue 27 item 5), also where a part does
    not heed the stop: start-up recovery, a thread waiting for a silent database, the
    interpreter joining a worker pool at exit. What such a part leaves is the next start's
    recovery (invariant 5), as after a crash."""
    time.sleep(after)
    busy = sorted(t.name for t in threading.enumerate()
                  if t is not threading.current_thread() and t.is_alive())
    log.warning("stopping: still busy %.1f s after the signal (%s); exiting now, the next "
                "start recovers what they leave", after, ", ".join(busy))
    flush_output()
    os._exit(0)


def stop_deadline(stop: threading.Event) -> float:
    """When the process is to have ended: STOP_WITHIN_S after the stop was asked for (a plain
    Event, as tests pass, from now)."""
    asked = getattr(stop, "asked_at", None)
    return (asked if asked is not None else time.monotonic()) + STOP_WITHIN_S


CLOCK_CLOSE_S = 2.0


def close_clock(watch: ClockWatch, stop_by: float | None = None) -> None:
    """The clock watch's last reading and its state kept for the next start: a write to the
    database, which may be away; the stop does not wait for it longer than CLOCK_CLOSE_S, nor
    past what the rest of the stop needs (the state saved a minute ago serves then)."""
    within = CLOCK_CLOSE_S if stop_by is None else \
        min(CLOCK_CLOSE_S, time_left(stop_by) - NOTE_S - END_S)
    run_within(watch.close, "clock-close", within)


def time_left(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


def run_within(step: Callable[[], object], name: str, seconds: float) -> bool:
    """``step`` in a thread of its own, waited for ``seconds`` at most: one that does not end
    by then (a database that does not answer) ends with the process. True if it ended."""
    thread = threading.Thread(target=step, name=name, daemon=True)
    thread.start()
    thread.join(max(0.0, seconds))
    if thread.is_alive():
        log.warning("stopping: %s not finished within %.1f s; left to end with the process",
                    name, max(0.0, seconds))
        return False
    return True


def stop_quietly(step: Callable[[], None], what: str) -> None:
    try:
        step()
    except Exception:  # what it held stays in the spool: the next start takes it in
        log.exception("stopping the %s failed; the next start recovers what they left", what)


def stop_all(stop: threading.Event, sealing: threading.Event,
             threads: list[threading.Thread], server: WebServer | None,
             listeners: Listeners, pool: RecorderPool, deadline: float) -> None:
    """SIGTERM to exit within `STOP_WITHIN_S` (systemd's TimeoutStopSec=15 kills after that):
    the parts by ``deadline``, `AFTER_PARTS_S` before it, so that what follows them fits too.

    All at once rather than one after another: the web app begins its graceful stop
    (run_web's watcher), the sweep, the phone passes and the alerts end at their next wait,
    every recorder asks its ffmpeg to close the open segment (killed after `stop_timeout_s`;
    the segment is then taken for what it holds) and takes it in, every listener closes its
    open chunk. Then the last audit checkpoint seals what they stored. A part still busy at
    the deadline (a sweep deleting a big batch, a hung witness share, a long download) is
    left behind and named in the log: its thread ends with the process, and the start-up
    recovery finishes what it left, as after a crash.
    """
    started = time.monotonic()
    stop.set()
    closing = [threading.Thread(target=stop_quietly, args=(pool.stop_all, "recorders"),
                                name="stop-recorders", daemon=True),
               threading.Thread(target=stop_quietly, args=(listeners.stop_all, "listeners"),
                                name="stop-listeners", daemon=True)]
    for thread in closing:
        thread.start()
    for thread in closing:
        thread.join(time_left(deadline))
    sealing.set()
    for thread in threads:
        thread.join(time_left(deadline))
    if server is not None:
        server.server.should_exit = True
        server.thread.join(time_left(deadline))
    busy = [t.name for t in (*closing, *threads, *([server.thread] if server else ()))
            if t.is_alive()]
    if busy:
        log.warning("stopping: %s not finished after %.1f s; left to end with the process "
                    "(the next start recovers what they leave)", ", ".join(busy),
                    time.monotonic() - started)
    log.info("recorders, listeners and the rest stopped in %.1f s",
             time.monotonic() - started)


def stop_jobs(vault: Vault, stop_by: float) -> None:
    """The job worker takes no more jobs and ends beside the rest, by the time the parts
    must have stopped; a job still running then is taken up again at the next start (on
    PostgreSQL by any node's worker)."""
    threading.Thread(target=jobs.stop,
                     args=(vault, max(0.0, time_left(stop_by) - AFTER_PARTS_S)),
                     name="stop-jobs", daemon=True).start()


def stop_recorders(pool: RecorderPool, deadline: float) -> None:
    """A stop before serve started as usual: the recorders close their segments, which wait
    in the spool for the next start; bounded by ``deadline`` like every stop."""
    run_within(functools.partial(stop_quietly, pool.stop_all, "recorders"), "stop-recorders",
               time_left(deadline))
