"""All cameras' recorders: which may record, starting and stopping them, start-up recovery."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from kustosz.cameras.register import SIMULATED_PREFIX, address_of, gate_of
from kustosz.cameras.rules import check_may_record
from kustosz.db.cameras import Camera, RecorderStatus, Zone
from kustosz.db.models import Source
from kustosz.errors import KustoszError
from kustosz.ffmpeg import ffmpeg_exe
from kustosz.ingest.camera import health
from kustosz.ingest.camera.job import CameraJob
from kustosz.ingest.camera.last_register import KeptCamera, LastRegister
from kustosz.ingest.camera.recorder import CameraRecorder, RecorderOptions
from kustosz.ingest.camera.spool import leftover_sessions, settle_leftovers, spool_root
from kustosz.vault import Vault

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decision:
    job: CameraJob
    record: bool
    state: str  # what to show when not recording: disabled | waiting | refused
    reason: str
    # What a start without the database needs to record this camera (last_register): the
    # password sealed, as the row holds it.
    kept: KeptCamera | None = None


def decide(vault: Vault, now: datetime | None = None) -> list[Decision]:
    """For every registered camera: may it record now, and if not, why."""
    out = []
    with vault.reading() as s:
        rows = s.execute(select(Camera, Source, Zone, RecorderStatus.pictures_cut)
                         .join(Source, Source.id == Camera.source_id)
                         .join(Zone, Zone.id == Camera.zone_id)
                         .outerjoin(RecorderStatus, RecorderStatus.source_id == Source.id)
                         .order_by(Source.name)).all()
    for camera, source, zone, pictures_cut in rows:
        try:
            address = address_of(camera, vault.secrets)
        except KustoszError as exc:  # a sealed password that does not open: this camera only
            job = CameraJob(source.id, source.name, camera.url, camera.url, (),
                            camera.segment_seconds)
            out.append(Decision(job, False, "refused", str(exc)))
            continue
        url = camera.url if camera.url.startswith(SIMULATED_PREFIX) else \
            address.with_credentials()
        secrets = tuple(x for x in (address.user, address.password) if x)
        job = CameraJob(source.id, source.name, camera.url, url, secrets,
                        camera.segment_seconds, pictures_cut)
        kept = KeptCamera(source.id, source.name, camera.url, camera.rtsp_user,
                          camera.rtsp_password, camera.segment_seconds)
        if not source.enabled:
            out.append(Decision(job, False, "disabled", "camera disabled"))
            continue
        try:
            check_may_record(zone.kind, camera.purposes, camera.unrecognisable_reason,
                             camera.representatives_consent, video=vault.policy.video)
        except KustoszError as exc:
            out.append(Decision(job, False, "refused", str(exc)))
            continue
        gate = gate_of(camera, vault.policy, now)
        out.append(Decision(job, gate.may_record, "waiting", gate.reason, kept))
    return out


class RecorderPool:
    def __init__(self, vault: Vault, ffmpeg: str | None = None,
                 options: RecorderOptions | None = None, spool: Path | None = None) -> None:
        self.vault = vault
        self.ffmpeg = ffmpeg_exe(ffmpeg)
        self.options = options or RecorderOptions()
        self.spool: Path = spool or spool_root(vault)  # a node's own (kustosz.cluster)
        self.recorders: dict[int, CameraRecorder] = {}
        self.leaving: list[CameraRecorder] = []  # stopped, still taking in their backlog
        self.last_register = LastRegister(self.spool)
        # Cameras recording since a start without the database (start_from_kept): the
        # session folders that were in the spool before, the only ones recovery may settle.
        self._left_before: dict[int, frozenset[str]] = {}

    def start_from_kept(self) -> int:
        """serve started with the database away: start the recorders of the last register
        known to work (last_register) into the spool; their segments wait in each recorder's
        backlog until the database answers. Returns how many started."""
        try:
            secrets = self.vault.secrets
        except RuntimeError:
            secrets = None
        for kept in self.last_register.read():
            if kept.source_id in self.recorders:
                continue
            try:
                job = kept.job(secrets)
            except Exception as exc:  # this camera only: a key that does not open it
                log.error("camera %s: cannot be recorded before the database answers: %s",
                          kept.name, type(exc).__name__)
                continue
            self._left_before[kept.source_id] = frozenset(
                p.name for p in leftover_sessions(self.spool, kept.source_id))
            recorder = self.make_recorder(job)
            self.recorders[kept.source_id] = recorder
            recorder.start()
            log.info("camera %s: recorder started from the last register known (the "
                     "database is away) (%s)", job.name, job.shown_url)
        return len(self.recorders)

    def _live(self, source_id: int) -> Callable[[str], bool] | None:
        """Sessions a recorder already running owns (started before the database answered):
        recovery leaves them to it."""
        before = self._left_before.get(source_id)
        running = self.recorders.get(source_id)
        if before is None or running is None:
            return None
        return lambda name: name not in before

    def recover(self, stop: threading.Event | None = None) -> int:
        """Take in what earlier runs left in the spool (run before any recorder starts, or
        with the recorders `start_from_kept` started: their own sessions are theirs);
        ``stop`` ends it between segments (what is left waits for the next start)."""
        taken = 0
        for decision in decide(self.vault):
            if stop is not None and stop.is_set():
                break
            taken += settle_leftovers(self.vault, self.spool, decision.job.source_id,
                                      stop=stop, skip=self._live(decision.job.source_id))
        return taken

    def reconcile(self, now: datetime | None = None) -> None:
        """Start recorders that may run, stop those that may not (disabled, gated, refused),
        and restart one whose camera changed (address, credentials, segment length)."""
        decisions = self.decisions(now or datetime.now(UTC))
        try:  # the register known to work, for a start without the database
            self.last_register.keep([d.kept for d in decisions if d.record and d.kept])
        except OSError as exc:  # e.g. a full disk: recording matters more
            log.warning("the last camera register was not kept: %s", exc)
        for d in decisions:
            running = self.recorders.get(d.job.source_id)
            if running is not None and not running.alive:
                self.recorders.pop(d.job.source_id)
                running = None
            if running is not None and running.job != d.job:
                running.stop()
                running.join(self.options.stop_timeout_s + 5)
                self.recorders.pop(d.job.source_id, None)
                self.let_go(running)
                running = None
                log.info("camera %s: settings changed; restarting its recorder", d.job.name)
            if d.record and running is None:
                recorder = self.make_recorder(d.job)
                self.recorders[d.job.source_id] = recorder
                recorder.start()
                log.info("camera %s: recorder started (%s)", d.job.name, d.job.shown_url)
            elif not d.record:
                if running is not None:
                    running.stop()
                    running.join(self.options.stop_timeout_s + 5)
                    self.recorders.pop(d.job.source_id, None)
                    self.let_go(running)
                    log.info("camera %s: recorder stopped (%s)", d.job.name, d.reason)
                health.set_status(self.vault, d.job.source_id, d.state, d.reason)

    # A node of several (kustosz.cluster.pool) sees only the cameras it holds, and fences
    # its recorders.
    def decisions(self, now: datetime) -> list[Decision]:
        return decide(self.vault, now)

    def make_recorder(self, job: CameraJob) -> CameraRecorder:
        return CameraRecorder(self.vault, job, self.spool, self.ffmpeg, self.options)

    def stop_all(self) -> None:
        """serve stops: every recorder, and those still taking in what they recorded before
        they were stopped (their rest waits in the spool for the next start)."""
        everyone = [*self.recorders.values(), *self.leaving]
        for recorder in everyone:
            recorder.abandon()
        for recorder in everyone:
            recorder.join(self.options.stop_timeout_s + 5)
        self.recorders.clear()
        self.leaving.clear()

    def let_go(self, recorder: CameraRecorder) -> None:
        """A recorder stopped while serve runs may still be taking in its backlog (the
        database away): kept here until it has, so that a stop of serve reaches it too."""
        self.leaving = [r for r in self.leaving if r.alive]
        if recorder.alive:
            self.leaving.append(recorder)
