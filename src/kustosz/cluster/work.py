"""What one node of several runs, following its leases (kustosz.cluster.coordinator):

- `NodePool`: the recorders of the cameras it holds, each segment fenced (the node still
  holds the camera under the same epoch) before it is indexed; a camera handed over stops at
  the end of its segment (ffmpeg closes the open one) and only then is its lease released, so
  the next node starts after it, never beside it;
- `Singletons`: the sweep (its recovery first) with the scheduled work (audit checkpoints,
  the alert notifier, backups, the cluster's own alert checks, and the loops of the layers
  above this one that serve hands it: the monthly accountability report), and the mail and
  event listeners, each started when the node takes its lease and stopped when it loses it;
- `run_phones`: the intake passes of the phone lines it holds.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from kustosz.alerts.notifier import Notifier
from kustosz.audit.witness import run_checkpoints
from kustosz.backup.schedule import run_backups
from kustosz.cluster.alerts import check_cluster
from kustosz.cluster.balance import CAMERA, PHONE
from kustosz.cluster.coordinator import Coordinator
from kustosz.db.models import Recording
from kustosz.ingest.camera.job import CameraJob
from kustosz.ingest.camera.recorder import CameraRecorder, RecorderOptions
from kustosz.ingest.camera.spool import settle_leftovers
from kustosz.ingest.camera.supervisor import Decision, RecorderPool, decide
from kustosz.ingest.listeners import Listeners, settle_disabled
from kustosz.ingest.phone.alerts import check_alerts
from kustosz.ingest.phone.intake import Observer, scan
from kustosz.ingest.phone.watch import ALLOWANCE_S as PHONES_ALLOWANCE_S
from kustosz.ingest.phone.watch import enabled_phone_sources
from kustosz.retention import recover
from kustosz.retention.scheduler import run_scheduler
from kustosz.states import RecordingState
from kustosz.vault import Vault
from kustosz.watchdog import progress_of

log = logging.getLogger(__name__)
# The sweep goes with the scheduled work (checkpoints, notifier, backups, the cluster's
# checks): they share state (the vault_settings row `alerts.checks`: the last good sweep)
# that two nodes writing at once would overwrite with each other's stale copy.
SCHEDULER, LISTENERS = "singleton:scheduler", "singleton:listeners"
SINGLETONS = (SCHEDULER, LISTENERS)
CHECK_CLUSTER_S = 10.0


def camera(name: str) -> str:
    return f"{CAMERA}:{name}"


def phone(name: str) -> str:
    return f"{PHONE}:{name}"


def node_spool(vault: Vault, node: str) -> Path:
    """A node's own spool: another node's start-up never settles its open sessions."""
    return vault.root / "spool" / "nodes" / node / "cameras"


def backlog(folder: Path) -> tuple[int, int]:
    """Segments in a node's spool not yet taken in: how many, how many bytes."""
    files = size = 0
    for dirpath, _dirs, names in os.walk(folder):
        for name in names:
            if name.endswith(".ts"):
                files += 1
                with contextlib.suppress(OSError):
                    size += os.stat(os.path.join(dirpath, name)).st_size
    return files, size


def no_overlap(vault: Vault, source_id: int) -> Callable[[datetime, datetime], bool]:
    """For what a node's earlier run left in its spool: kept unless another node has stored
    material of the camera over the same time (it was recorded after the lease ran out)."""

    def admit(start: datetime, end: datetime) -> bool:
        with vault.reading() as s:
            clash = s.execute(select(Recording.id).where(
                Recording.source_id == source_id,
                Recording.state != RecordingState.DELETING,
                Recording.start_at < end, Recording.end_at > start).limit(1)).first()
        return clash is None

    return admit


def wanted(vault: Vault) -> list[str]:
    """Every resource some node should work on: the cameras that may record now, the
    enabled phone lines, the singletons."""

    cams = [camera(d.job.name) for d in decide(vault) if d.record]
    return cams + [phone(n) for n in enabled_phone_sources(vault)] + list(SINGLETONS)


class NodePool(RecorderPool):
    def __init__(self, vault: Vault, coordinator: Coordinator, ffmpeg: str | None = None,
                 options: RecorderOptions | None = None) -> None:
        super().__init__(vault, ffmpeg, options, spool=node_spool(vault, coordinator.node))
        self.coordinator = coordinator
        coordinator.on_expire.append(self.halt)

    def halt(self, resources: list[str]) -> None:
        """The leases of these cameras are dropped (local deadline passed, or lost): their
        ffmpeg ends now, by signal, before the lease runs out. The loop that stops them
        (reconcile) may be stuck in a database call; this touches no database. The segment
        being written is then judged by the fence and, the lease gone, discarded."""
        gone = set(resources)
        for recorder in list(self.recorders.values()):
            if camera(recorder.job.name) in gone:
                recorder.halt(min(self.options.stop_timeout_s,
                                  self.coordinator.settings.margin_seconds / 2))

    def recover(self, stop: threading.Event | None = None) -> int:
        taken = 0
        for d in decide(self.vault):
            if stop is not None and stop.is_set():
                break
            taken += settle_leftovers(self.vault, self.spool, d.job.source_id,
                                      admit=no_overlap(self.vault, d.job.source_id),
                                      stop=stop)
        return taken

    def decisions(self, now: datetime) -> list[Decision]:
        held = self.coordinator.holding()
        # Cameras that may not record are every node's to show as such; the others only
        # their holder's.
        return [d for d in decide(self.vault, now) if not d.record or camera(d.job.name) in held]

    def make_recorder(self, job: CameraJob) -> CameraRecorder:
        held = self.coordinator.holding()[camera(job.name)]
        recorder = super().make_recorder(job)
        coordinator = self.coordinator

        def fence(start: datetime, end: datetime) -> bool:
            if coordinator.fence(held.resource, held.epoch, start, end):
                return True
            recorder.stop()  # recorded outside the lease: this recorder's term is over
            return False

        recorder.admit = fence
        log.info("camera %s: recording under lease epoch %d", job.name, held.epoch)
        return recorder

    def reconcile(self, now: datetime | None = None) -> None:
        """Stop the recorders of cameras no longer held (lost, or handed over: ffmpeg closes
        the open segment and it is taken in), release the handed-over leases after that,
        then start what is held."""
        held = self.coordinator.holding()
        leaving = {sid: r for sid, r in self.recorders.items() if camera(r.job.name) not in held}
        for recorder in leaving.values():
            recorder.stop()
        for sid, recorder in leaving.items():
            recorder.join(self.options.stop_timeout_s + 5)
            self.recorders.pop(sid, None)
            self.let_go(recorder)
            log.info("camera %s: recorder stopped (this node no longer holds it)",
                     recorder.job.name)
        running = {camera(r.job.name) for r in self.recorders.values()}
        for resource in self.coordinator.releasing():
            if resource.startswith(camera("")) and resource not in running:
                self.coordinator.done_with(resource)
        super().reconcile(now)


@dataclass
class _Running:
    stop: threading.Event
    threads: list[threading.Thread]
    after: Callable[[], None] = field(default=lambda: None)


# A loop of a layer above this one (kustosz.report's monthly report: serve wires it), run with
# the scheduled work: its thread's name, and the loop, which returns once the event is set.
Scheduled = tuple[str, Callable[[Vault, threading.Event], None]]


class Singletons:
    def __init__(self, vault: Vault, coordinator: Coordinator, tls: object = None,
                 scheduled: Sequence[Scheduled] = ()) -> None:
        """``scheduled``: more loops to run under the scheduler's lease, on its one node."""
        self.vault, self.coordinator, self.tls = vault, coordinator, tls
        self.scheduled = tuple(scheduled)
        self.running: dict[str, _Running] = {}

    def apply(self) -> None:
        held = self.coordinator.holding()
        for resource in SINGLETONS:
            if resource in held and resource not in self.running:
                try:
                    self.running[resource] = self._start(resource)
                    log.info("node %s: runs %s", self.coordinator.node, resource)
                except Exception:
                    log.exception("node %s: could not start %s", self.coordinator.node,
                                  resource)
            elif resource not in held and resource in self.running:
                self._stop(resource, 5.0)
        for resource in self.coordinator.releasing():
            if resource in SINGLETONS and resource not in self.running:
                self.coordinator.done_with(resource)

    def stop_all(self, within: float, only: tuple[str, ...] = SINGLETONS) -> None:
        chosen = [r for r in self.running if r in only]
        for resource in chosen:
            self.running[resource].stop.set()
        for resource in chosen:
            self._stop(resource, within)

    def _stop(self, resource: str, within: float) -> None:
        run = self.running.pop(resource)
        run.stop.set()
        try:
            run.after()
        except Exception:
            log.exception("stopping %s failed", resource)
        deadline = time.monotonic() + within
        for thread in run.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        log.info("node %s: stopped %s", self.coordinator.node, resource)

    def _thread(self, target: Callable[..., None], name: str, *args: object) -> threading.Thread:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        return thread

    def _start(self, resource: str) -> _Running:
        stop = threading.Event()
        vault = self.vault
        if resource == SCHEDULER:
            log.info("sweeps a crash interrupted: %d row(s) finished", recover(vault))
            return _Running(stop, [
                self._thread(run_scheduler, "retention", vault, stop),
                self._thread(run_checkpoints, "audit-checkpoints", vault, stop),
                self._thread(Notifier(vault, tls=self.tls).run, "alerts", stop),
                self._thread(run_backups, "backup", vault, stop),
                self._thread(self._check_cluster, "cluster-alerts", stop),
                *(self._thread(loop, name, vault, stop) for name, loop in self.scheduled)])

        settle_disabled(vault)
        listeners = Listeners(vault)
        listeners.reconcile()
        return _Running(stop, [self._thread(listeners.run, "listeners", stop)],
                        after=listeners.stop_all)

    def _check_cluster(self, stop: threading.Event) -> None:
        while not stop.wait(CHECK_CLUSTER_S):
            try:
                check_cluster(self.vault, self.coordinator.settings.lease_seconds)
            except Exception:
                log.exception("cluster alert check failed")


def run_phones(vault: Vault, coordinator: Coordinator, stop: threading.Event,
               interval: float = 30.0) -> None:
    """`ingest.phone.watch` for the lines this node holds (a line changes node between
    passes: the intake is restart-safe, a file counts as taken only once its row commits)."""

    observers: dict[str, Observer] = {}
    # serve's watchdog (kustosz.watchdog), as the one machine's phone watch
    loop = progress_of(vault).loop("phones", PHONES_ALLOWANCE_S)
    try:
        while not loop.wait(stop, interval):
            loop.beat()
            for resource in sorted(r for r in coordinator.holding()
                                   if r.startswith(phone(""))):
                name = resource.partition(":")[2]
                loop.beat()
                try:
                    scan(vault, name, observer=observers.setdefault(name, Observer()))
                    check_alerts(vault, name)
                except Exception:
                    log.exception("phone source %s: intake pass failed", name)
            for resource in coordinator.releasing():
                if resource.startswith(phone("")):
                    coordinator.done_with(resource)
    finally:
        loop.forget()
