"""`kustosz serve`: the recorders of all enabled cameras, the mail journal and event listeners
of all enabled mailbox and endpoint sources, the intake of all enabled phone lines, the
retention scheduler and the web app (uvicorn in a thread, on a configurable host and port).
Sources added, changed, enabled or disabled while it runs are picked up without a restart:
cameras every `RECONCILE_S`, listeners every `listeners.RESCAN_S`, phone lines on each intake
pass (`PHONE_PASS_S`). Start-up recovery needs no manual step (invariant 5): interrupted
sweeps are finished, interrupted intakes undone or completed, temp files removed and the
segments earlier runs left in the spool taken in — an unfinished one only for what it
really holds. A signed checkpoint of the audit log goes to the witness at start and every
`[audit] checkpoint_minutes`. SIGHUP (`systemctl reload`) reads kustosz.toml again (serve_reload).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer
from rich.console import Console

from kustosz import config_in_force as in_force
from kustosz import jobs
from kustosz.alerts import unclean_stop
from kustosz.alerts.notifier import run_notifier
from kustosz.alerts.without_database import watch_database
from kustosz.audit.witness import run_checkpoints
from kustosz.backup.schedule import run_backups
from kustosz.cli import serve_reload
from kustosz.cli.common import actor, console, fails_cleanly, open_vault
from kustosz.cli.serve_stop import (
    AFTER_PARTS_S,
    END_S,
    NOTE_S,
    Stop,
    close_clock,
    flush_output,
    run_within,
    serve_signals,
    stop_all,
    stop_deadline,
    stop_jobs,
    stop_quietly,
    stop_recorders,
    time_left,
)

# Set by serve_signals (serve, demo): kustosz.cli.main then ends the process at once
# (`end_process`), not through the interpreter's teardown.
from kustosz.cli.serve_stop import ENDS_PROCESS as ENDS_PROCESS
from kustosz.clock import ClockWatch
from kustosz.cluster.settings import ClusterSettings, read_settings
from kustosz.db.outage import Backoff, is_database_away
from kustosz.diagnostics import tracemalloc_dump
from kustosz.errors import ConfigError
from kustosz.ingest.camera.recorder import RecorderOptions
from kustosz.ingest.camera.supervisor import RecorderPool
from kustosz.ingest.files import recover_pending
from kustosz.ingest.listeners import Listeners, settle_disabled
from kustosz.ingest.phone.watch import watch as watch_phones
from kustosz.ingest.upload_queue import (
    Uploader,
    UploadQueue,
    is_buffered,
    queue_of,
    use_folder,
)
from kustosz.logs import check_format
from kustosz.logs import setup as setup_logs
from kustosz.report.monthly import run_monthly
from kustosz.retention import recover
from kustosz.retention.scheduler import run_scheduler
from kustosz.retention.sweeper import leave_the_sweep
from kustosz.storage.base import Unavailable
from kustosz.vault import Vault
from kustosz.watchdog import Progress, Watchdog, new_progress

if TYPE_CHECKING:  # the web app is imported only when serve runs it
    from kustosz.cluster.coordinator import Coordinator
    from kustosz.cluster.work import NodePool, Singletons
    from kustosz.db.watch import DatabaseWatch
    from kustosz.web.server import WebServer
    from kustosz.web.tls import Network, Tls

log = logging.getLogger(__name__)
T = TypeVar("T")
RECONCILE_S = 15.0  # how soon enable/disable and a reached start date take effect
PHONE_PASS_S = 30.0  # as `kustosz phones watch`: a file is taken once two passes agree
# One turn of the main loop may take RECONCILE_S, a reconcile whose every database wait is
# bounded (connect 10 s, an answer 60 s: db.deadline) and the back-off after it; beyond this
# it is hung and serve's watchdog stops pinging systemd (kustosz.watchdog).
MAIN_ALLOWANCE_S = 180.0
# Start-up recovery does not beat: systemd's TimeoutStartSec is extended this long at most
# while it runs (EXTEND_TIMEOUT_USEC), then a start that never finishes is restarted.
STARTUP_ALLOWANCE_S = 900.0
# How serve stops within STOP_WITHIN_S of the signal: kustosz.cli.serve_stop.


def recover_all(vault: Vault, pool: RecorderPool,
                stop: threading.Event | None = None) -> dict[str, int]:
    """``stop``: a signal during the camera spool's recovery ends it between segments (it is
    idempotent: the next start finishes it, ingest.camera.recovery)."""
    return {"sweep_rows": recover(vault), "pending_intakes": recover_pending(vault),
            "upload_queue_leftovers": queue_of(vault).clean(),
            "tmp_files": _clean_tmp(vault), "spooled_segments": pool.recover(stop),
            "disabled_sources_chunks": settle_disabled(vault)}


def _clean_tmp(vault: Vault) -> int:
    try:
        return vault.storage.clean_tmp()
    except Unavailable as exc:  # the store's leftovers wait; recording must not
        log.warning("unfinished uploads not cleaned: %s", exc)
        return 0


def _uploader(vault: Vault, stop: threading.Event) -> list[threading.Thread]:
    """On an object store: the thread that uploads what waits in the local spool."""
    if not is_buffered(vault):
        return []
    return [threading.Thread(target=Uploader(vault).run, args=(stop,), name="uploads",
                             daemon=True)]


def run_serve(vault: Vault, stop: threading.Event, ffmpeg: str | None = None,
              options: RecorderOptions | None = None,
              on_ready: Callable[[RecorderPool], None] | None = None,
              web: tuple[str, int] | None = None,
              announce: Callable[[str], None] | None = None,
              tls: Tls | None = None, trusted_proxies: tuple[Network, ...] = ()) -> None:
    """``web``: (host, port) to serve the web app on; None runs without it. ``announce``
    gets the web address (and, the first time, the first administrator's one-time
    password) once the recorders are ready to start. ``tls``: HTTPS with a checked
    certificate (check it before calling: nothing should start with a bad one);
    ``trusted_proxies``: whose X-Forwarded-For names the client."""
    leave_the_sweep(vault)
    with vault.exclusive("serve"):
        # a stop this run makes itself removes the mark; one it does not is told at the next
        # start (kustosz.alerts.unclean_stop)
        previous = unclean_stop.begin(vault.root)
        try:
            _run_serve(vault, stop, ffmpeg, options, on_ready, web, announce, tls,
                       trusted_proxies, previous)
        finally:
            unclean_stop.end(vault.root)


def _run_serve(vault: Vault, stop: threading.Event, ffmpeg: str | None,
               options: RecorderOptions | None,
               on_ready: Callable[[RecorderPool], None] | None,
               web: tuple[str, int] | None, announce: Callable[[str], None] | None,
               tls: Tls | None = None, trusted_proxies: tuple[Network, ...] = (),
               unclean: dict[str, Any] | None = None) -> None:
    # Every loop of serve registers here through the vault (kustosz.watchdog.progress_of).
    progress = new_progress(vault)
    # Before recovery: under systemd (Type=notify) it extends the start while recovery runs,
    # pings once serve records, and stops pinging when a loop hangs (kustosz.watchdog).
    watchdog = Watchdog(progress).start()
    progress.register("start-up", STARTUP_ALLOWANCE_S)
    watchdog.status("odzyskiwanie po starcie / start-up recovery")
    pool = RecorderPool(vault, ffmpeg, options)
    # The database asked every few seconds on a path of its own: an outage reaches a person
    # from memory (alerts.without_database) and /metrics (kustosz_database_up).
    watch = watch_database(vault)
    watching = threading.Thread(target=watch.run, args=(stop,), name="database-watch", daemon=True)
    watching.start()
    if not vault.connected and not _wait_for_database(vault, stop, pool, watch, watchdog,
                                                      progress):
        log.info("stopped while waiting for the database; the next start records again")
        return
    clock_watch = _recover(vault, stop, pool, unclean)
    if clock_watch is None:
        return
    server = None
    listeners = Listeners(vault)
    threads: list[threading.Thread] = []
    sealing = threading.Event()
    try:
        # long work the web app starts (kustosz.jobs): before the web app
        jobs.start(vault, progress=progress)
        server = _start_web(vault, stop, web, announce, tls, trusted_proxies, progress)
        _attach_live(server, pool, watch)
        # Each on its own loop and thread; one whose port is taken is logged and retried.
        following = Following("cameras")
        Following("listeners").step(listeners.reconcile)  # listeners.run follows them after
        following.step(pool.reconcile)
        if on_ready:
            on_ready(pool)
        threads = _serve_threads(vault, stop, sealing, listeners, clock_watch, watching, tls)
        for thread in threads:
            if thread.ident is None:  # the database watch runs already (or ended by a stop)
                thread.start()
        beat = progress.register("main", MAIN_ALLOWANCE_S)
        progress.forget("start-up")
        watchdog.ready()  # recording: systemd's start is done, its watchdog begins
        while not serve_reload.wait(stop, following.pause(RECONCILE_S)):
            beat()
            serve_reload.step(vault, progress, MAIN_ALLOWANCE_S)  # SIGHUP: kustosz.toml again
            following.step(pool.reconcile)
    finally:
        _stop_serve(vault, stop, watchdog, sealing, threads, server, listeners, pool, clock_watch)


def _recover(vault: Vault, stop: threading.Event, pool: RecorderPool,
             unclean: dict[str, Any] | None) -> ClockWatch | None:
    """Start-up recovery, with the clock watched from before it; the clock watch, or None
    when a stop came during it (the watch closed)."""
    in_force.tell(vault)  # on the file, its last good copy or defaults (config_in_force)
    seen = unclean_stop.last_alive(vault) if unclean is not None else None  # before the watch
    # Before recovery takes spooled segments in and before the first sweep: a clock moved
    # while serve was stopped is found first (issue 27 item 7 b; kustosz.clock.watch).
    clock_watch = ClockWatch(vault).start()
    try:
        done = recover_all(vault, pool, stop)
        if unclean is not None:
            unclean_stop.tell(vault, unclean, seen)
    except BaseException:
        close_clock(clock_watch)
        raise
    log.info("start-up recovery: %s", done)
    if stop.is_set():
        log.info("stopped during start-up recovery; the next start finishes it")
        close_clock(clock_watch)
        return None
    return clock_watch


def _serve_threads(vault: Vault, stop: threading.Event, sealing: threading.Event,
                   listeners: Listeners, clock_watch: ClockWatch, watching: threading.Thread,
                   tls: Tls | None) -> list[threading.Thread]:
    """serve's loops, each on a thread of its own (``watching``, the database watch, runs
    already)."""
    threads = [threading.Thread(target=run_scheduler, args=(vault, stop), name="retention",
                                daemon=True),
               threading.Thread(target=listeners.run, args=(stop,), name="listeners",
                                daemon=True),
               threading.Thread(target=watch_phones, args=(vault,), name="phones",
                                kwargs={"interval": PHONE_PASS_S, "stop": stop},
                                daemon=True),
               # Its own event: the last checkpoint waits for the recorders and
               # listeners to store what they hold, so that it seals that too.
               threading.Thread(target=run_checkpoints, args=(vault, sealing),
                                name="audit-checkpoints", daemon=True),
               # [alerts] channels: alert rows reach a person (kustosz.alerts.notifier)
               threading.Thread(target=run_notifier, args=(vault, stop),
                                kwargs={"tls": tls}, name="alerts", daemon=True),
               watching]
    # Jumps of the clock: an alert, and retention from the later reading (kustosz.clock)
    threads.append(threading.Thread(target=clock_watch.run, args=(stop,),
                                    name="clock", daemon=True))
    # The cameras' clocks and events over ONVIF (issue 34): the client loads only here
    from kustosz.cameras.onvif_clock import run_camera_clocks
    from kustosz.cameras.onvif_events import run_camera_events
    from kustosz.ingest.refusals import refused  # an answer Kustosz cannot use: an alert
    threads.append(threading.Thread(target=run_camera_clocks, args=(vault, stop, refused),
                                    name="camera-clocks", daemon=True))
    threads.append(threading.Thread(target=run_camera_events, args=(vault, stop, refused),
                                    name="camera-events", daemon=True))
    # Calls recorded through SIPREC (issue 35): listens while such a line is enabled
    threads.append(threading.Thread(target=_run_siprec, args=(vault, stop),
                                    name="siprec", daemon=True))
    # Calls read off a mirrored port (issue 35): the capture process's frames, recorded
    threads.append(threading.Thread(target=_run_capture, args=(vault, stop),
                                    name="capture", daemon=True))
    # [backup] schedule and the deletion journals of recent backups (kustosz.backup)
    threads.append(threading.Thread(target=run_backups, args=(vault, stop),
                                    name="backup", daemon=True))
    # last month's accountability report, made on the 1st (kustosz.report.monthly)
    threads.append(threading.Thread(target=run_monthly, args=(vault, stop),
                                    name="report", daemon=True))
    threads += _uploader(vault, stop)  # the local spool drains into the object store
    return threads


def _stop_serve(vault: Vault, stop: threading.Event, watchdog: Watchdog,
                sealing: threading.Event, threads: list[threading.Thread],
                server: WebServer | None, listeners: Listeners, pool: RecorderPool,
                clock_watch: ClockWatch) -> None:
    """Everything serve started ends with it, within STOP_WITHIN_S of the signal (also when
    it leaves by an error)."""
    watchdog.stopping()  # no more pings: TimeoutStopSec bounds the stop
    # Also when leaving by an error: everything _run_serve started ends with serve.
    stop.set()
    stop_by = stop_deadline(stop)
    stop_jobs(vault, stop_by)
    stop_all(stop, sealing, threads, server, listeners, pool, stop_by - AFTER_PARTS_S)
    # After the recorders and listeners took their last in: the watch covered those too
    # (issue 27 item 7 a).
    close_clock(clock_watch, stop_by)
    if server is not None:
        run_within(lambda: _note_serving(vault, None), "note-serving",
                   min(NOTE_S, time_left(stop_by) - END_S))


# The wait for a database away at start: one turn is a second's look at the database watch
# and, once it answers, the opening's work (each database wait bounded: db.deadline).
WAIT_ALLOWANCE_S = 180.0


def _wait_for_database(vault: Vault, stop: threading.Event, pool: RecorderPool,
                       watch: DatabaseWatch, watchdog: Watchdog, progress: Progress) -> bool:
    """serve started while the database is away (issue 27: an outage of any length costs no
    video). The cameras of the last register known to work record into the spool
    (RecorderPool.start_from_kept); the database watch runs, so the outage is told after its
    grace from memory; the vault is opened (migrations, the key checked, the policy noted)
    once the watch finds the database answering, tried again with a bounded back-off.
    Returns False when ``stop`` came first (the recorders are stopped then).

    systemd hears READY=1 with a STATUS saying serve waits: it is doing its work (recording),
    `systemctl start` and the units ordered after it must not hang for the whole outage, and
    from READY on WatchdogSec watches this loop's beats, so a hung wait is restarted within a
    minute rather than after TimeoutStartSec's extensions run out."""
    progress.forget("start-up")  # an outage has no length limit; this loop beats instead
    loop = progress.loop("database-wait", WAIT_ALLOWANCE_S)
    recording = pool.start_from_kept()
    log.warning("the database is away at start; %d camera(s) record from the last register "
                "known into the spool until it answers", recording)
    watchdog.ready(f"czeka na bazę danych; nagrywa kamer: {recording} / waiting for the "
                   f"database; recording {recording} camera(s)")
    backoff = Backoff(first_s=1.0, limit_s=30.0)
    opened = False
    try:
        while not stop.is_set():
            loop.beat()
            if not watch.is_up:
                loop.wait(stop, 1.0)
                continue
            try:
                in_force.connect(vault, actor())
            except Exception as exc:
                if not is_database_away(exc):
                    raise
                log.warning("the database answered the watch but not the opening (%s); "
                            "trying again", type(exc).__name__)
                backoff.wait(stop)
                continue
            opened = True
            log.info("the database answers: serve starts as usual; the %d recorder(s) "
                     "running go on", len(pool.recorders))
            progress.register("start-up", STARTUP_ALLOWANCE_S)
            watchdog.status("odzyskiwanie po starcie / start-up recovery")
            return True
        return False
    finally:
        loop.forget()
        if not opened:  # a stop, or an error that ends serve: nothing else started yet
            watchdog.stopping()  # no more pings: TimeoutStopSec bounds the stop
            stop.set()
            stop_recorders(pool, stop_deadline(stop) - END_S)


def _connect_if_there(vault: Vault) -> None:
    """Open the vault with its database as every verb does; a database away leaves it
    unconnected, and run_serve waits for it recording (`_wait_for_database`)."""
    try:
        in_force.connect(vault, actor())
    except Exception as exc:
        if not is_database_away(exc):
            raise
        log.error("the database is not reachable at start (%s); serve records from the last "
                  "camera register known and waits for it", type(exc).__name__)


class Following:
    """serve's main loop following the register (which cameras may record) survives the
    database away (issue 27 item 1): the recorders keep what they were doing, the step is
    tried again with a bounded back-off, and the log says once when it began and once when it
    ended. Any other error is logged and tried again at the next turn too: an exception here
    must never end recording."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.backoff = Backoff(first_s=1.0, limit_s=RECONCILE_S)
        self.away_since: float | None = None
        self.failing = False

    def step(self, action: Callable[[], None]) -> bool:
        try:
            action()
        except Exception as exc:
            self.failing = True
            if is_database_away(exc):
                if self.away_since is None:
                    self.away_since = time.monotonic()
                    log.warning("following the %s: the database is away (%s); recording "
                                "goes on as it was, trying again", self.what,
                                type(exc).__name__)
            else:
                log.exception("following the %s failed; trying again", self.what)
            return False
        if self.away_since is not None:
            log.info("following the %s again: the database answers after %.0f s", self.what,
                     time.monotonic() - self.away_since)
        self.away_since, self.failing = None, False
        self.backoff.reset()
        return True

    def pause(self, normal: float) -> float:
        return self.backoff.delay() if self.failing else normal


def node_backlog(spool: Path, uploads: UploadQueue) -> tuple[int, int]:
    """A node's spool backlog (`kustosz nodes`, the dashboard): camera segments not yet taken
    in and files waiting for the object store; how many, how many bytes."""
    from kustosz.cluster.work import backlog

    (a, b), (c, d) = backlog(spool), uploads.backlog()
    return a + c, b + d


def run_node(vault: Vault, stop: threading.Event, settings: ClusterSettings,
             ffmpeg: str | None = None, options: RecorderOptions | None = None,
             web: tuple[str, int] | None = None,
             announce: Callable[[str], None] | None = None, tls: Tls | None = None,
             trusted_proxies: tuple[Network, ...] = (),
             clock: Callable[[], datetime] | None = None) -> None:
    """One node of several on one PostgreSQL (kustosz.cluster): the web app and the clock
    watch as on one machine; cameras, phone lines, the sweep, the scheduled work and the
    listeners only while the node holds their leases. The data folder may be shared by the
    nodes (each has its own spool and lock); a plain `serve` on it is refused meanwhile."""
    from kustosz.cluster.work import NodePool, Singletons

    assert settings.node
    leave_the_sweep(vault)
    with node_lock(vault, settings.node):
        coordinator, uploads = _join_nodes(vault, settings, clock)
        progress = new_progress(vault)  # every loop registers here (watchdog.progress_of)
        watchdog = Watchdog(progress).start()
        progress.register("start-up", STARTUP_ALLOWANCE_S)
        watchdog.status("odzyskiwanie po starcie / start-up recovery")
        clock_watch = ClockWatch(vault).start()  # before recovery and any sweep (item 7 b)
        pool = NodePool(vault, coordinator, ffmpeg, options)
        if not _recover_node(vault, stop, settings.node, pool, uploads):
            coordinator.close()
            close_clock(clock_watch)
            return
        # last month's accountability report with the scheduled work: one node makes it
        singletons = Singletons(vault, coordinator, tls, scheduled=(("report", run_monthly),))
        watch = watch_database(vault)  # each node tells its own outage
        server = None
        threads: list[threading.Thread] = []
        try:
            # this node's worker on the shared queue
            jobs.start(vault, node=settings.node, progress=progress)
            server = _start_web(vault, stop, web, announce, tls, trusted_proxies, progress)
            # Not this node's recorders: another node may record a camera this one does not
            # hold, and /metrics answers for the whole vault.
            _attach_live(server, None, watch)
            threads = _node_threads(vault, stop, coordinator, watch, clock_watch)
            for thread in threads:
                thread.start()
            if announce:
                announce(f"node {settings.node}: sharing the work through leases")
            beat = progress.register("main", MAIN_ALLOWANCE_S)
            progress.forget("start-up")
            watchdog.ready()
            _follow_leases(vault, stop, settings.node, coordinator, pool, singletons, progress,
                           beat)
        finally:
            _stop_node(vault, stop, watchdog, pool, singletons, threads, server, clock_watch,
                       coordinator)
        if coordinator.taken_over:  # exits non-zero: a supervisor's restart is refused by name
            raise _taken_over(settings.node)


def _join_nodes(vault: Vault, settings: ClusterSettings,
                clock: Callable[[], datetime] | None) -> tuple[Coordinator, UploadQueue]:
    """This node registered under its name (a name in use by a live node is refused), with
    its own spool and upload queue; the coordinator and the upload queue."""
    from kustosz.cluster.coordinator import Coordinator
    from kustosz.cluster.folder import check_shared_folder, claim_folder
    from kustosz.cluster.work import node_spool
    from kustosz.cluster.work import wanted as wanted_of

    assert settings.node
    # On local-folder storage the nodes must share the data folder (kustosz.cluster.folder).
    check_shared_folder(vault, settings.node)
    spool = node_spool(vault, settings.node)
    uploads = use_folder(vault, spool.parent / "uploads")  # this node's, like its spool
    coordinator = Coordinator(vault, settings, _cached(lambda: wanted_of(vault), 5.0),
                              backlog=_cached(lambda: node_backlog(spool, uploads), 10.0),
                              **({"clock": clock} if clock else {}))
    coordinator.register()  # a name in use by a live node stops here
    try:
        claim_folder(vault, settings.node)  # two new folders started at once
    except ConfigError:
        coordinator.close()
        raise
    return coordinator, uploads


def _recover_node(vault: Vault, stop: threading.Event, node: str, pool: NodePool,
                  uploads: UploadQueue) -> bool:
    """This node's start-up recovery; False when a stop came during it."""
    in_force.tell(vault)  # on the file, its last good copy or defaults (config_in_force)
    # Only what this node left: other nodes' intakes may be under way right now.
    done = {"spooled_segments": pool.recover(stop),
            "pending_intakes": recover_pending(vault, older_than=datetime.now(UTC)
                                               - PENDING_STALE),
            "upload_queue_leftovers": uploads.clean()}
    log.info("node %s: start-up recovery: %s", node, done)
    if stop.is_set():
        log.info("node %s: stopped during start-up recovery; the next start finishes it", node)
        return False
    return True


def _node_threads(vault: Vault, stop: threading.Event, coordinator: Coordinator,
                  watch: DatabaseWatch, clock_watch: ClockWatch) -> list[threading.Thread]:
    from kustosz.cluster.work import run_phones

    threads = [threading.Thread(target=coordinator.run, args=(stop,), name="leases",
                                daemon=True),
               threading.Thread(target=watch.run, args=(stop,), name="database-watch",
                                daemon=True),
               threading.Thread(target=coordinator.watch_deadlines, args=(stop,),
                                name="lease-deadlines", daemon=True),
               threading.Thread(target=run_phones, args=(vault, coordinator, stop),
                                kwargs={"interval": PHONE_PASS_S}, name="phones",
                                daemon=True),
               threading.Thread(target=clock_watch.run, args=(stop,),
                                name="clock", daemon=True)]
    threads += _uploader(vault, stop)
    return threads


def _follow_leases(vault: Vault, stop: threading.Event, node: str, coordinator: Coordinator,
                   pool: NodePool, singletons: Singletons, progress: Progress,
                   beat: Callable[[], None]) -> None:
    """The node's main loop: what it records and runs follows the leases it holds."""
    last = 0.0
    while not stop.is_set():
        beat()
        serve_reload.step(vault, progress, MAIN_ALLOWANCE_S)  # SIGHUP (as in _run_serve)
        # A change of leases is acted on at once; the rest every RECONCILE_S.
        changed = coordinator.changed.wait(0.5)
        if stop.is_set():
            break
        if changed or time.monotonic() - last >= RECONCILE_S:
            coordinator.changed.clear()
            last = time.monotonic()
            # The database gone away must not end the node: what it no longer
            # holds is stopped first (NodePool.reconcile), the rest waits for it.
            for step, what in ((pool.reconcile, "cameras"),
                               (singletons.apply, "shared work")):
                try:
                    step()
                except Exception:
                    log.exception("node %s: following the leases (%s) failed; "
                                  "trying again", node, what)


def _stop_node(vault: Vault, stop: threading.Event, watchdog: Watchdog, pool: NodePool,
               singletons: Singletons, threads: list[threading.Thread],
               server: WebServer | None, clock_watch: ClockWatch,
               coordinator: Coordinator) -> None:
    """As on one machine (`_stop_serve`), within STOP_WITHIN_S of the signal; the leases
    given up last."""
    from kustosz.cluster.work import LISTENERS

    watchdog.stopping()
    stop.set()
    stop_by = stop_deadline(stop)
    stop_jobs(vault, stop_by)
    deadline = stop_by - AFTER_PARTS_S  # as on one machine (stop_all)
    # As on one machine: recorders and listeners first, at once; then the sweep and
    # the scheduled work, whose last audit checkpoint seals what they stored.
    closing = [threading.Thread(target=stop_quietly, args=(pool.stop_all, "recorders"),
                                daemon=True),
               threading.Thread(target=singletons.stop_all,
                                args=(max(0.5, time_left(deadline) - 2), (LISTENERS,)),
                                daemon=True)]
    for thread in closing:
        thread.start()
    for thread in closing:
        thread.join(time_left(deadline))
    last_ones = threading.Thread(target=singletons.stop_all,
                                 args=(max(0.5, time_left(deadline) - 0.5),), daemon=True)
    last_ones.start()
    for thread in (last_ones, *threads):
        thread.join(time_left(deadline))
    if server is not None:
        server.server.should_exit = True
        server.thread.join(time_left(deadline))
        run_within(lambda: _note_serving(vault, None), "note-serving",
                   min(NOTE_S, time_left(stop_by) - END_S))
    # after the recorders took their last in (item 7 a)
    close_clock(clock_watch, stop_by)
    # After the work stopped: the leases are free at once (or run out by themselves).
    run_within(coordinator.close, "leases-close", time_left(stop_by) - END_S)


def _taken_over(node: str) -> ConfigError:
    return ConfigError(
        f"node {node}: another kustosz serve took over this node's name while "
        "this process did not answer (paused or cut off); this one stopped its "
        "recorders and exits. Run one process per --node name",
        pl=f"Węzeł {node}: inny kustosz serve przejął nazwę tego węzła, gdy ten "
           "proces nie odpowiadał (wstrzymany albo odcięty); ten proces zatrzymał "
           "nagrywanie i kończy pracę. Pod jedną nazwą (--node) może działać tylko "
           "jeden proces.")


PENDING_STALE = timedelta(minutes=10)  # an intake pending this long was interrupted


def _run_siprec(vault: Vault, stop: threading.Event) -> None:
    """The SIPREC recording server's loop, imported in its own thread: sippy, numpy and
    libsrtp load there, not on serve's way to recording."""
    from kustosz.ingest.phone.siprec.run import run_siprec
    run_siprec(vault, stop)


def _run_capture(vault: Vault, stop: threading.Event) -> None:
    """The capture recorder's loop, imported in its own thread (as the SIPREC server's)."""
    from kustosz.ingest.phone.capture.run import run_capture
    run_capture(vault, stop)


def _cached(read: Callable[[], T], seconds: float) -> Callable[[], T]:
    """``read`` at most every ``seconds`` (the lease loop asks every second)."""
    kept: list[tuple[float, T]] = []

    def get() -> T:
        if not kept or time.monotonic() - kept[0][0] >= seconds:
            kept[:] = [(time.monotonic(), read())]
        return kept[0][1]

    return get


@contextlib.contextmanager
def node_lock(vault: Vault, node: str) -> Iterator[None]:
    """Nodes share `serve.lock` (a plain serve on the folder is refused, and refuses them)
    and each holds its own name's file."""
    import fcntl

    shared = (vault.root / "serve.lock").open("a+")
    own = (vault.root / f"serve-{node}.lock").open("a+")
    try:
        try:
            fcntl.flock(shared, fcntl.LOCK_SH | fcntl.LOCK_NB)
            fcntl.flock(own, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(
                f"cannot run node {node}: a kustosz serve without --node, or a node of the "
                f"same name, already runs on {vault.root}",
                pl=f"Nie można uruchomić węzła {node}: na skarbcu {vault.root} już działa "
                   "kustosz serve bez --node albo węzeł o tej samej nazwie.") from None
        yield
    finally:
        own.close()
        shared.close()


def _start_web(vault: Vault, stop: threading.Event, web: tuple[str, int] | None,
               announce: Callable[[str], None] | None, tls: Tls | None,
               trusted_proxies: tuple[Network, ...],
               progress: Progress | None = None) -> WebServer | None:
    if web is None:
        return None
    from kustosz.web.server import demo_banner, run_web

    try:
        server = run_web(vault, stop, *web, tls=tls, trusted_proxies=trusted_proxies,
                         progress=progress)
    except RuntimeError as exc:  # e.g. the port is taken: recording goes on regardless
        log.error("%s; recording continues without the web app", exc)
        return None
    # what doctor checks when kustosz.toml names no certificate (--tls-cert)
    _note_serving(vault, web, tls, trusted_proxies)
    if announce:
        announce(demo_banner(vault, *web, tls=tls))
    return server


def _attach_live(server: WebServer | None, pool: RecorderPool | None,
                 watch: DatabaseWatch) -> None:
    """/metrics from what serve sees live: the recorders, the database watch."""
    if server is None:
        return
    from kustosz.web.metrics import attach_live

    attach_live(server.server.config.app, pool, watch)


def _note_serving(vault: Vault, web: tuple[str, int] | None, tls: Tls | None = None,
                  trusted_proxies: tuple[Network, ...] = ()) -> None:
    """What the web app serves (or that it stopped), for `kustosz doctor` (kustosz.serving)."""
    from kustosz import serving

    try:
        if web is None:
            serving.stopped(vault)
        else:
            serving.record(vault, *web, tls, trusted_proxies)
    except Exception:  # a fact for doctor: never a reason to stop recording
        log.exception("could not record what the web app serves")


def end_process(code: object) -> NoReturn:
    """End the process now, with the status ``SystemExit(code)`` would give. serve has stopped
    what it ran (or left it to end with the process); the interpreter's own teardown after it
    is skipped. That teardown joins every pool thread a part left behind (concurrent.futures
    at exit) and collects the heap module by module — a CPU-bound second or two for serve's
    modules, and over 10 s after "stopped" on a machine loaded beside it (2 cores, load 12:
    issue 27's fresh-clone run), where `last_resort` cannot cut it short: no daemon thread
    runs once the teardown began. What the teardown would flush is flushed here."""
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # as the interpreter does with SystemExit("text")
        with contextlib.suppress(Exception):
            print(code, file=sys.stderr)
        status = 1
    flush_output()
    os._exit(status)


def web_settings(vault: Vault, tls_cert: Path | None, tls_key: Path | None,
                 trusted_proxy: list[str] | None) -> tuple[Tls | None, tuple[Network, ...]]:
    """HTTPS and trusted proxies: the command line wins over [web] in kustosz.toml; the
    certificate and key are checked (ConfigError) before anything starts."""
    from kustosz.web.tls import parse_proxies, tls_pair

    web = vault.config.web
    if tls_cert is None and tls_key is None:
        tls_cert, tls_key = web.tls_cert, web.tls_key
    proxies = parse_proxies(trusted_proxy if trusted_proxy else list(web.trusted_proxies))
    return tls_pair(tls_cert, tls_key), proxies


@fails_cleanly
def serve(ffmpeg: str = typer.Option("wheel", "--ffmpeg", envvar="KUSTOSZ_FFMPEG",
                                     help="wheel (imageio-ffmpeg), system (PATH) or a path."),
          down_alert_after: float = typer.Option(60.0, "--down-alert-after",
                                                 help="Seconds a camera may be down before "
                                                      "an alert is raised."),
          host: str = typer.Option("127.0.0.1", "--host", envvar="KUSTOSZ_WEB_HOST",
                                   help="Address the web app listens on."),
          port: int = typer.Option(8470, "--port", envvar="KUSTOSZ_WEB_PORT",
                                   help="Port of the web app (0: no web app)."),
          tls_cert: Path = typer.Option(None, "--tls-cert",
                                        help="HTTPS: the certificate (PEM, chain included); "
                                             "overrides [web] tls_cert."),
          tls_key: Path = typer.Option(None, "--tls-key",
                                       help="HTTPS: its private key (PEM, chmod 600); "
                                            "overrides [web] tls_key."),
          trusted_proxy: list[str] = typer.Option(None, "--trusted-proxy",
                                                  help="A reverse proxy (address or network) "
                                                       "whose X-Forwarded-For is believed; "
                                                       "repeatable; overrides [web] "
                                                       "trusted_proxies."),
          log_format: str = typer.Option(None, "--log-format",
                                         help="json (default: one JSON object a line, for "
                                              "journald) or text; overrides [logging] "
                                              "format."),
          node: str = typer.Option(None, "--node", envvar="KUSTOSZ_NODE",
                                   help="Run as this node of several sharing one PostgreSQL "
                                        "database (cameras, phone lines and the sweep are "
                                        "shared through leases); overrides [cluster] node.")
          ) -> None:
    """Record all enabled cameras, run the mail and event listeners, take in the phone lines'
    recordings and run the retention sweep; stop with Ctrl-C or SIGTERM."""
    if not logging.getLogger().isEnabledFor(logging.INFO):
        logging.getLogger("kustosz").setLevel(logging.INFO)
    say: Callable[..., None] = console.print
    undo_logs: Callable[[], None] = lambda: None  # noqa: E731
    stop: Stop | None = None
    try:
        # Without the database (issue 27): a start during an outage records from the last
        # register known and opens the vault when the database answers (run_serve).
        with serve_signals() as stop, open_vault(offline=True, fallback=True) as vault:
            fmt = check_format(log_format) if log_format else vault.config.log_format or "json"
            undo_logs = setup_logs(fmt)
            # Only with KUSTOSZ_TRACEMALLOC_DIR set (a soak, bench/soak_memory.py): else nothing.
            tracemalloc_dump.start_from_env(vault.root)
            # stdout holds only log lines in JSON; what serve says to a person goes to stderr
            # soft_wrap: at 80 columns (the journal) a password or a command is not cut in two
            say = functools.partial(console.print if fmt == "text"
                                    else Console(stderr=True).print, soft_wrap=True)
            cluster = read_settings(vault.root, node, vault.config.doc)
            # The database first, as every verb opens it: a schema newer than this program is
            # refused before serve says anything. Away: serve records and waits (run_serve);
            # a node records only what its leases give it, which are in the database.
            if cluster.node:
                in_force.connect(vault, actor())
            else:
                _connect_if_there(vault)
            # Checked before anything starts: a bad certificate or key stops serve here.
            tls, proxies = web_settings(vault, tls_cert, tls_key, trusted_proxy)
            if cluster.node and vault.engine.dialect.name != "postgresql":
                raise ConfigError(
                    "--node (or [cluster] node) needs a PostgreSQL database_url: on SQLite "
                    "there is one machine and one serve",
                    pl="--node (albo [cluster] node) wymaga bazy PostgreSQL (database_url): "
                       "przy SQLite jest jeden komputer i jeden proces serve.")
            say(f"kustosz serve: {vault.root} ({vault.policy.office_name}); Ctrl-C stops")
            if port:
                from kustosz.web.server import plain_http_warning

                warning = plain_http_warning(host, tls, proxies)
                if warning:
                    say(f"{warning[0]}\n{warning[1]}")
                    log.warning("%s", warning[1], extra={"host": host, "port": port})
            options = RecorderOptions(down_alert_after_s=down_alert_after)
            if cluster.node:
                run_node(vault, stop, cluster, ffmpeg, options,
                         web=(host, port) if port else None, announce=say, tls=tls,
                         trusted_proxies=proxies)
            else:
                run_serve(vault, stop, ffmpeg, options, web=(host, port) if port else None,
                          announce=say, tls=tls, trusted_proxies=proxies)
    finally:
        # the process ends right after (kustosz.cli.main)
        if stop is not None and stop.asked_at is not None:
            log.info("stopped in %.1f s; the process ends", time.monotonic() - stop.asked_at)
        undo_logs()
    say("stopped")


def register(app: typer.Typer) -> None:
    from kustosz.cli import nodes, serve_installation

    app.command("serve")(serve_installation.or_installation(serve))
    nodes.register(app)  # the nodes several serve --node make
