"""A recorder's health as others see it: status rows, gaps (przerwy) and alerts.

Log lines and status messages are in English for the IT staff; alert messages are read by
office staff (later in the web UI) and are in Polish. None of them ever carries credentials.

A camera's hole counts from the end of its last stored segment (`last_delivered`, read from the
index, so across restarts of serve), not from when this process started. A hole that lasted
`--down-alert-after` but ended before its camera_down row could be written (the database away,
serve restarting) still gets its row when it ends (`clear_down_alert`), raised and cleared at
once: the notifier tells it if it was longer than the kind's grace ("Kamera „wejscie” nie
nagrywała przez 1 min 10 s").
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kustosz.audit import append as audit
from kustosz.cameras.codecs import change_pl
from kustosz.cameras.gap_causes import CAUSES_PL
from kustosz.db.cameras import Gap, RecorderStatus
from kustosz.db.models import Alert, Recording, Source
from kustosz.states import AlertRow, RecorderState, RecordingState
from kustosz.vault import Vault

log = logging.getLogger(__name__)
CAMERA_DOWN = AlertRow.CAMERA_DOWN
DOWN_AFTER_S = 60.0  # serve --down-alert-after's default (RecorderOptions.down_alert_after_s)
LATE_WITHIN = timedelta(hours=1)  # a hole that ended longer ago gets no row written late
# gaps `record_gap` writes whole inside a session (no recorder was down): not a hole to alert
RECORDED_AT_ONCE = ("clock_jump", "stream_stall")


@dataclass(frozen=True)
class Failure:
    cause: str
    message: str


_AUTH = re.compile(r"\b401\b")
_NOT_FOUND = re.compile(r"\b404\b")
_PLAY_NOTHING = re.compile(r"method PLAY failed: 45[459]\b")
_UNREACHABLE = re.compile(r"Connection refused|timed out|No route to host|Network is unreachable|"
                          r"Name or service not known|Temporary failure in name resolution|"
                          r"Connection reset", re.I)


def classify(stderr_tail: list[str], returncode: int | None, produced: bool,
             shown_url: str) -> Failure:
    """Why an ffmpeg session ended, from its exit status and its last (redacted) lines."""
    text = "\n".join(stderr_tail)
    if returncode is not None and returncode < 0:
        return Failure("recorder_crashed", f"ffmpeg was killed by signal {-returncode}")
    if "No space left on device" in text or "Disk quota exceeded" in text:
        return Failure("disk_full", "disk full (dysk pełny): ffmpeg could not write the "
                                    "segment (No space left on device)")
    # As words: ffmpeg prefixes lines with pointers ("[in#0 @ 0x5594ac401100]") whose hex
    # digits hold "401" or "404" by chance often enough to misreport a refused connection.
    if _AUTH.search(text):
        return Failure("auth_failed", f"{shown_url}: the camera refused the user name or "
                                      "password (401 Unauthorized); check the credentials")
    if _NOT_FOUND.search(text):
        return Failure("not_found", f"{shown_url}: the camera has no stream at this path (404)")
    # The recorder asks for the video only (command.py): a camera without any answers the
    # PLAY of no stream with 454/455/459 instead of ffmpeg's "matches no streams".
    if "matches no streams" in text or _PLAY_NOTHING.search(text):
        return Failure("no_video", f"{shown_url}: the stream carries no video; nothing to record")
    if (m := _UNREACHABLE.search(text)) and not produced:
        return Failure("unreachable", f"{shown_url}: camera unreachable ({m.group(0)})")
    if produced:
        return Failure("stream_ended", f"{shown_url}: the stream ended (ffmpeg exit "
                                       f"{returncode})")
    last = next((ln for ln in reversed(stderr_tail) if ln.strip()), "no output")
    return Failure("ffmpeg_failed", f"{shown_url}: ffmpeg exited {returncode}: {last[:300]}")


def set_status(vault: Vault, source_id: int, state: str, message: str | None = None,
               codec: str | None = None) -> None:
    """The recorder's state; ``codec``: its session's, read off the first segment — one that
    differs from the codec the camera sent before (this run or an earlier one) is a
    `camera_codec_changed` alert (issue 64)."""
    now = datetime.now(UTC)
    with vault.transaction() as s:
        row = s.get(RecorderStatus, source_id)
        if row is None:
            s.add(RecorderStatus(source_id=source_id, state=state, since=now, message=message,
                                 codec=codec, updated_at=now))
            return
        if row.state != state:
            row.since = now
        row.state, row.message, row.updated_at = state, message, now
        if codec and row.codec and codec != row.codec:
            _codec_changed(s, source_id, row.codec, codec, now)
            row.pictures_cut = None  # another stream: its pictures are asked about again
        if codec:
            row.codec = codec


def remember_pictures(vault: Vault, source_id: int, cut: bool) -> None:
    """What the camera's probe found (recorder_pair.PictureCheck), for the next node or
    restart to record it without asking again (a probe costs a second RTSP set-up)."""
    now = datetime.now(UTC)
    with vault.transaction() as s:
        row = s.get(RecorderStatus, source_id)
        if row is None:
            s.add(RecorderStatus(source_id=source_id, state=RecorderState.CONNECTING, since=now,
                                 pictures_cut=cut, updated_at=now))
        else:
            row.pictures_cut = cut


def _codec_changed(s: Session, source_id: int, before: str, codec: str, now: datetime) -> None:
    source = s.get(Source, source_id)
    name = source.name if source is not None else str(source_id)
    s.add(Alert(raised_at=now, kind=AlertRow.CAMERA_CODEC_CHANGED, source_id=source_id,
                message=f"{change_pl(name, before, codec)} (stream codec {before} -> {codec})"))
    audit(s, "recorder", f"alert.{AlertRow.CAMERA_CODEC_CHANGED}", name,
          {"from": before, "to": codec})
    log.warning("camera %s: its stream's codec changed from %s to %s", name, before, codec)


def open_gap(vault: Vault, source_id: int, start: datetime, cause: str, detail: str,
             name: str) -> None:
    """Open a gap unless one is open already (then only its detail is brought up to date)."""
    with vault.transaction() as s:
        gap = s.execute(select(Gap).where(Gap.source_id == source_id, Gap.end_at.is_(None))
                        ).scalars().first()
        if gap is not None:
            gap.detail = detail
            return
        s.add(Gap(source_id=source_id, start_at=start, end_at=None, cause=cause, detail=detail))
        audit(s, "recorder", "camera.gap_open", name, {"from": start.isoformat(),
                                                      "cause": cause})


def close_gap(vault: Vault, source_id: int, end: datetime, name: str) -> None:
    with vault.transaction() as s:
        for gap in s.execute(select(Gap).where(Gap.source_id == source_id,
                                               Gap.end_at.is_(None))).scalars():
            gap.end_at = max(end, gap.start_at)
            audit(s, "recorder", "camera.gap_closed", name, {
                "from": gap.start_at.isoformat(), "to": gap.end_at.isoformat(),
                "cause": gap.cause})


def start_gap_after(vault: Vault, source_id: int, end: datetime) -> None:
    """A segment recorded before the open gap began, taken in after it opened: the gap
    starts where it ends."""
    with vault.transaction() as s:
        for gap in s.execute(select(Gap).where(Gap.source_id == source_id,
                                               Gap.end_at.is_(None))).scalars():
            gap.start_at = max(gap.start_at, end)


def record_gap(vault: Vault, source_id: int, start: datetime, end: datetime, cause: str,
               detail: str) -> None:
    with vault.transaction() as s:
        s.add(Gap(source_id=source_id, start_at=start, end_at=end, cause=cause, detail=detail))


def last_delivered(vault: Vault, source_id: int) -> datetime | None:
    """The end of the camera's last stored segment (the index): where its hole begins when
    its recorder starts, whatever happened to the processes before."""
    with vault.reading() as s:
        return s.execute(select(func.max(Recording.end_at)).where(
            Recording.source_id == source_id,
            Recording.state == RecordingState.STORED)).scalar_one_or_none()


def _local(vault: Vault, at: datetime) -> str:
    # the words and time format of the alert's e-mail subject (kustosz.alerts.messages)
    return at.astimezone(vault.policy.timezone).strftime("%d.%m.%Y %H:%M")


def raise_down_alert(vault: Vault, source_id: int, name: str, since: datetime,
                     cause: str) -> None:
    message = (f"Kamera „{name}” nie nagrywa od {_local(vault, since)} (przyczyna: "
               f"{CAUSES_PL.get(cause, cause)}).")
    with vault.transaction() as s:
        open_one = s.execute(select(Alert.id).where(
            Alert.source_id == source_id, Alert.kind == CAMERA_DOWN,
            Alert.cleared_at.is_(None))).first()
        if open_one:
            return
        s.add(Alert(raised_at=datetime.now(UTC), kind=CAMERA_DOWN, source_id=source_id,
                    message=message))
        audit(s, "recorder", "alert.camera_down", name, {"since": since.isoformat(),
                                                         "cause": cause})
    log.error("camera %s has not recorded since %s (%s): alert raised", name,
              since.isoformat(), cause)


def clear_down_alert(vault: Vault, source_id: int, after_s: float = DOWN_AFTER_S,
                     since: datetime | None = None, until: datetime | None = None) -> None:
    """The camera records again: its open camera_down row is cleared. With none open, the
    hole is looked at — ``since``/``until`` when the recorder knows them (its down_since and
    the first segment's start), else the camera's newest gap (still open: it ends now): at
    least ``after_s`` long, ended within `LATE_WITHIN` and with no row raised since it began
    (the database was away when the recorder would have raised it, or serve restarted in
    it), it gets its row now, raised when the recorder would have raised it and cleared, so
    that the notifier tells it and the history shows it. Before or after `close_gap`."""
    now = datetime.now(UTC)
    with vault.transaction() as s:
        cleared = s.execute(update(Alert).where(
            Alert.source_id == source_id, Alert.kind == CAMERA_DOWN,
            Alert.cleared_at.is_(None)).values(cleared_at=now)).rowcount
        if cleared:
            return
        if since is None:
            gap = s.execute(select(Gap).where(
                Gap.source_id == source_id, Gap.cause.not_in(RECORDED_AT_ONCE))
                .order_by(Gap.start_at.desc(), Gap.id.desc()).limit(1)).scalars().first()
            if gap is None:
                return
            since, until, cause = gap.start_at, gap.end_at or until, gap.cause
        else:
            cause = s.execute(select(Gap.cause).where(
                Gap.source_id == source_id, Gap.start_at <= since,
                Gap.cause.not_in(RECORDED_AT_ONCE))
                .order_by(Gap.start_at.desc()).limit(1)).scalar_one_or_none() \
                or "recorder_not_running"
        until = until or now
        if until < now - LATE_WITHIN or (until - since).total_seconds() < after_s:
            return
        raised = s.execute(select(Alert.id).where(
            Alert.source_id == source_id, Alert.kind == CAMERA_DOWN,
            Alert.raised_at >= since).limit(1)).first()
        if raised:
            return
        source = s.get(Source, source_id)
        name = source.name if source is not None else str(source_id)
        message = (f"Kamera „{name}” nie nagrywała od {_local(vault, since)} do "
                   f"{_local(vault, until)} (przyczyna: {CAUSES_PL.get(cause, cause)}).")
        s.add(Alert(raised_at=min(since + timedelta(seconds=after_s), now), kind=CAMERA_DOWN,
                    source_id=source_id, message=message, cleared_at=now))
        audit(s, "recorder", "alert.camera_down", name, {
            "since": since.isoformat(), "until": until.isoformat(), "cause": cause,
            "late": True})
    log.error("camera %s did not record from %s to %s (%s): alert written after the hole",
              name, since.isoformat(), until.isoformat(), cause)
