"""What the cameras report themselves over ONVIF (issue 34 item 4): serve keeps a PullPoint
subscription (onvif/events.py) to every enabled camera added over ONVIF, one thread each,
taken up within RESCAN_S of a camera added, enabled or disabled. Tampering (the lens covered,
turned away or blinded) and video loss raise an alert through the office's alert channels at
once and clear when the camera reports their end. A camera that stops answering is tried
again with a growing pause (its reachability is the clock check's alert,
`camera_onvif_unreachable`). Motion and digital inputs become intervals (camera_marks, one row
per interval, not per message): shown on the playback page's timeline, named in a copy's
manifest, and kept under the camera's retention and holds (retention/traces.py). An interval
still open when its subscription ends is closed then (or, after a crash, when the next one
begins): its true end was not heard."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.alert_rows import clear_rows, raise_row
from kustosz.cameras.onvif_clock import Refuse, Target, answer_refused, targets
from kustosz.db.cameras import CameraMark
from kustosz.db.outage import is_database_away
from kustosz.errors import KustoszError
from kustosz.onvif.events import CameraEvent, EventStream
from kustosz.states import AlertRow
from kustosz.vault import Vault
from kustosz.watchdog import progress_of

log = logging.getLogger(__name__)

RESCAN_S = 30.0
RETRY_S = (5.0, 60.0)  # the first pause after a failure, and the longest
ALLOWANCE_S = 120.0
ALERTS = {"tamper": AlertRow.CAMERA_TAMPER, "video_loss": AlertRow.CAMERA_VIDEO_LOSS}


def message(name: str, event: CameraEvent) -> str:
    if event.kind == "tamper":
        return (f"Kamera {name} zgłasza sabotaż: obiektyw zasłonięty, przestawiony lub "
                "oślepiony. Sprawdź kamerę i jej obraz.")
    return f"Kamera {name} zgłasza utratę obrazu. Sprawdź kamerę i jej połączenie."


MARKS = ("motion", "input")


def _open_mark(s: Session, source_id: int, kind: str) -> CameraMark | None:
    return s.execute(select(CameraMark).where(
        CameraMark.source_id == source_id, CameraMark.kind == kind,
        CameraMark.end_at.is_(None)).order_by(CameraMark.id.desc())).scalars().first()


def take(vault: Vault, target: Target, events: list[CameraEvent]) -> None:
    """Act on what one camera reported, in order: alerts raised or cleared, intervals opened
    or closed (a repeated "begun" extends the open one; an "ended" without one is ignored)."""
    if not events:
        return
    with vault.transaction() as s:
        for e in events:
            at = e.at.astimezone(UTC)
            if e.kind in ALERTS:
                if e.active:
                    raise_row(s, ALERTS[e.kind], message(target.name, e), at,
                              target.source_id)
                else:
                    clear_rows(s, ALERTS[e.kind], datetime.now(UTC), target.source_id)
            elif e.kind in MARKS:
                mark = _open_mark(s, target.source_id, e.kind)
                if e.active and mark is None:
                    s.add(CameraMark(source_id=target.source_id, kind=e.kind, start_at=at))
                elif not e.active and mark is not None:
                    mark.end_at = max(at, mark.start_at)


def close_open_marks(vault: Vault, source_id: int) -> None:
    """Intervals left open when a subscription ended: closed now (their end went unheard)."""
    now = datetime.now(UTC)
    with vault.transaction() as s:
        for mark in s.execute(select(CameraMark).where(
                CameraMark.source_id == source_id, CameraMark.end_at.is_(None))).scalars():
            mark.end_at = max(now, mark.start_at)


class Subscriber:
    """One camera's subscription, in its own thread, until stopped."""

    def __init__(self, vault: Vault, target: Target, stop: threading.Event,
                 refuse: Refuse | None = None) -> None:
        self.vault, self.target, self._stop, self.refuse = vault, target, stop, refuse
        self.ended = threading.Event()
        self.thread = threading.Thread(target=self.run, name=f"events-{target.source_id}",
                                       daemon=True)

    def stopping(self) -> bool:
        return self._stop.is_set() or self.ended.is_set()

    def _close_marks(self) -> None:
        """The subscription ended (the camera away, disabled, serve stopping): intervals it
        left open end now, their true end unheard."""
        try:
            close_open_marks(self.vault, self.target.source_id)
        except Exception as exc:  # the database away: the next subscription closes them
            if not is_database_away(exc):
                log.exception("camera %s: its open marks could not be closed",
                              self.target.name)

    def run(self) -> None:
        pause = RETRY_S[0]
        while not self.stopping():
            t = self.target
            try:
                with EventStream(t.address, t.user, t.password) as stream:
                    log.info("camera %s: subscribed to its events", t.name)
                    close_open_marks(self.vault, t.source_id)  # heard before: ended unheard
                    pause = RETRY_S[0]
                    while not self.stopping():
                        take(self.vault, t, stream.pull())
            except KustoszError as exc:
                log.warning("camera %s: its events cannot be received (%s); trying again in "
                            "%.0f s", t.name, exc, pause)
                answer_refused(self.vault, t, exc, self.refuse)
            except Exception as exc:  # the database away, or a bug: the thread lives on
                if not is_database_away(exc):
                    log.exception("camera %s: taking its events failed", t.name)
            self._close_marks()
            if self._stop.wait(pause) or self.ended.is_set():
                break
            pause = min(pause * 2, RETRY_S[1])


def run_camera_events(vault: Vault, stop: threading.Event,
                      refuse: Refuse | None = None) -> None:
    """`kustosz serve`'s loop: a subscriber per enabled ONVIF camera."""
    progress = progress_of(vault).loop("camera-events", ALLOWANCE_S)
    running: dict[int, Subscriber] = {}
    while not stop.is_set():
        progress.beat()
        try:
            with vault.reading() as s:
                wanted = {t.source_id: t for t in targets(s)}
        except Exception as exc:
            if not is_database_away(exc):
                log.exception("the cameras' event subscriptions: the register cannot be read")
            wanted = {sid: sub.target for sid, sub in running.items()}
        for sid, sub in list(running.items()):
            if sid not in wanted or wanted[sid] != sub.target or not sub.thread.is_alive():
                sub.ended.set()
                del running[sid]
        for sid, target in wanted.items():
            if sid not in running:
                running[sid] = Subscriber(vault, target, stop, refuse)
                running[sid].thread.start()
        progress.wait(stop, RESCAN_S)
    for sub in running.values():
        sub.ended.set()
    for sub in running.values():
        sub.thread.join(15)
    progress.forget()
