"""The media set of a copy: which stored recordings a copy of a request holds (the period asked
for, never the hold's margin: issue 29 item 2), grouped by source or call, and from when the
whole period is in the index so that a copy may be made (issue 29 item 1)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kustosz import playable
from kustosz.cameras.onvif_metadata import marks_between, readings_between
from kustosz.cameras.register import latest_offsets
from kustosz.custody.chunk_copies import CHUNK_KINDS
from kustosz.custody.copy_terms import fmt
from kustosz.custody.requests import copy_period, subject_number
from kustosz.db.calls import Call
from kustosz.db.cameras import Camera, RecorderStatus, Site, Zone
from kustosz.db.cameras import Gap as CameraGap
from kustosz.db.custody import Request
from kustosz.db.models import Recording, Source
from kustosz.errors import InputError
from kustosz.index.calls import search_calls
from kustosz.index.recordings import overlapping
from kustosz.index.sources import get_source
from kustosz.kinds import Material, SourceKind
from kustosz.phone_numbers import search_keys
from kustosz.policy import Policy
from kustosz.policy.periods import WARSAW, chunk_window
from kustosz.states import RecorderState, RecordingState, RequestKind
from kustosz.vault import Vault

# A copy covers only the past (issue 29 item 1). Once the period asked for is over, its last
# piece reaches the index when the recorder closes the segment holding the period's end (the
# camera's segment_seconds) and the committer has stored it (batches of up to 1 s, each file
# hashed and flushed): SETTLE_S on top of that is the allowance for a busy disk.
SETTLE_S = 30.0

@dataclass
class Group:
    """The material of one source in a copy (video) or one call (calls)."""

    source: Source
    recordings: list[Recording]
    info: dict[str, Any]


def _subject_calls(session: Session, req: Request) -> tuple[list[int], str]:
    """A data subject's calls (R6.2): searched again by the request's numbers (the intake may
    have caught up since registration, when nothing found meant every line held), never the
    whole lines the hold covers; and only those in which the person's own number took part."""
    theirs = subject_number(session, req.caller, req.callee)
    number, other = (req.caller, req.callee) if req.caller else (req.callee, None)
    start, end = copy_period(req)
    hits = search_calls(session, number=number, callee=other, begin=start, end=end)
    return [h.recording_id for h in hits], theirs


def _within(rec: Recording, start: datetime, end: datetime) -> bool:
    """Whether a stored item holds part of [start, end): one that only touches an end (a
    segment ending as the period begins) holds none of it; a call of no length at a moment
    of the period is in it."""
    if rec.start_at == rec.end_at:
        return start <= rec.start_at <= end
    return rec.start_at < end and rec.end_at > start


def gather(session: Session, req: Request, policy: Policy) -> list[Group]:
    """What a copy of ``req`` holds: the stored material of the period asked for
    (`copy_period`), never the hold's margin around it (issue 29 item 2)."""
    groups: list[Group] = []
    start, end = copy_period(req)
    items, theirs = req.items, None
    if req.material == Material.CALLS and req.kind == RequestKind.DATA_SUBJECT:
        items, theirs = _subject_calls(session, req)
        if not items:
            return groups
    if items:
        rows = session.execute(
            select(Recording, Source, Call).join(Source, Source.id == Recording.source_id)
            .outerjoin(Call, Call.recording_id == Recording.id)
            .where(Recording.id.in_(items), Recording.state == RecordingState.STORED)
            .order_by(Recording.start_at)).all()
        for rec, source, call in rows:
            if theirs is not None and (call is None or not set(search_keys(theirs)) & {
                    call.caller, call.callee}):
                continue
            if not _within(rec, start, end):  # found in the held window, outside the period
                continue
            caller = call.caller_shown if call and call.caller else "nieznany"
            callee = call.callee_shown if call else "nieznany"
            groups.append(Group(source, [rec], {
                "kind": source.kind, "name": source.name, "caller": caller, "callee": callee,
                "label": f"rozmowa z nr {caller} na nr {callee} "
                         f"({fmt(rec.start_at, policy)})"}))
        return groups
    offsets = latest_offsets(session)
    for name in req.sources:
        source = get_source(session, name)
        if source.kind in CHUNK_KINDS:
            # A chunk spans its lines' receipt, a line is picked by its own time (sent late,
            # a sender's clock): the chunks of the window held, their lines of the period.
            recs = _overlapping(session, source, req.start_at, req.end_at)
        else:
            recs = [r for r in _overlapping(session, source, start, end)
                    if _within(r, start, end)]
        if not recs:
            continue
        info: dict[str, Any] = {"kind": source.kind, "name": source.name,
                                "label": f"źródło {source.name}"}
        place = session.execute(
            select(Site.name, Zone.name).join(Zone, Zone.site_id == Site.id)
            .join(Camera, Camera.zone_id == Zone.id).where(Camera.source_id == source.id)
        ).first()
        if place is not None and req.kind == RequestKind.DATA_SUBJECT:
            # Issue 17 item 2: a data subject's label and documents (the manifest too, it
            # goes with the copy) never show where the camera is.
            info["label"] = f"kamera {source.name}"
        elif place is not None:
            info.update(site=place[0], zone=place[1],
                        label=f"kamera {source.name} ({place[0]}, {place[1]})")
        offset = offsets.get(source.id)
        info["clock_offset_s"] = round(offset[0], 3) if offset else None
        info["clock_measured_at"] = offset[1].isoformat() if offset else None
        if source.kind == SourceKind.CAMERA:
            # the camera's own clock read over ONVIF (issue 34): at the time of the recording
            own = readings_between(session, source.id, start, end)
            if own:
                info["camera_clock_readings"] = own
            marks = marks_between(session, source.id, start, end)
            if marks:  # what the camera reported over the period: motion, inputs
                info["camera_marks"] = [
                    {"kind": m.kind, "start_at": m.start_at.isoformat(),
                     "end_at": m.end_at.isoformat() if m.end_at else None} for m in marks]
        groups.append(Group(source, recs, info))
    return groups


def ready_at(session: Session, req: Request, tz: ZoneInfo = WARSAW) -> datetime:
    """The moment from which the whole period asked for is in the index (`SETTLE_S`): a copy
    made before it would hold a part of the period only, and name the rest a gap the cameras
    never had (issue 29 item 1). Mail and events are stored a chunk at a time: their copy
    waits for the chunk that holds the period's end to close (its hour, or its day)."""
    end = copy_period(req)[1]
    longest = None
    if req.material == Material.VIDEO:
        longest = session.execute(
            select(func.max(Camera.segment_seconds)).join(Source, Source.id == Camera.source_id)
            .where(Source.name.in_(list(req.sources or [])))).scalar()
    ready = end + timedelta(seconds=(longest or 0.0))
    last = end - timedelta(microseconds=1)  # a period ending on the hour ends in that hour
    for source in session.execute(select(Source).where(
            Source.name.in_(list(req.sources or [])), Source.kind.in_(CHUNK_KINDS))).scalars():
        granularity = str((source.settings or {}).get("chunk") or "hour")
        ready = max(ready, chunk_window(last, granularity, tz)[1])
    return ready + timedelta(seconds=SETTLE_S)


def check_ready(session: Session, req: Request, vault: Vault, now: datetime) -> None:
    """Refuse a copy of a period not yet over (and in the index), naming the time from which
    it can be made (issue 29 item 1): a copy covers only the past, and a part of the period
    copied now would be the request's only copy."""
    policy = vault.policy
    start, end = copy_period(req)
    ready = ready_at(session, req, policy.timezone)
    if now < ready:
        until = fmt(end, policy)
        when = fmt(ready, policy)
        raise InputError(
            f"request {req.id}: the period asked for ends at {until} (Europe/Warsaw); a copy "
            f"covers only the past and can be made from {when}, once the recordings of the "
            "period's end are stored (nothing was made)",
            pl=f"Wniosek nr {req.id}: okres objęty wnioskiem kończy się {until}. Kopia obejmuje "
               f"tylko to, co już nagrano: można ją sporządzić od {when}, gdy nagrania z końca "
               "okresu zostaną zapisane (niczego nie sporządzono).")
    if req.material != Material.VIDEO:
        return
    tol = timedelta(seconds=playable.GAP_TOLERANCE_S)
    for name in req.sources or []:
        source = get_source(session, name)
        if source.kind != SourceKind.CAMERA:
            continue
        # The camera's material ends before the period does, nothing of it was stored after,
        # no gap is recorded there, and its recorder says it records: the end of the period
        # is not a gap the index holds but recordings not yet taken in (a backlog after the
        # database was away). Named a gap, it would be one that never was.
        last = session.execute(select(func.max(Recording.end_at)).where(
            Recording.source_id == source.id,
            Recording.state == RecordingState.STORED)).scalar()
        if last is None or last >= end - tol:
            continue
        hole = max(last, start)
        gap = session.execute(select(CameraGap.id).where(
            CameraGap.source_id == source.id, CameraGap.start_at <= end,
            (CameraGap.end_at.is_(None)) | (CameraGap.end_at >= hole))).first()
        status = session.get(RecorderStatus, source.id)
        if gap is None and status is not None and status.state == RecorderState.RECORDING:
            since = fmt(last, policy)
            raise InputError(
                f"request {req.id}: camera {name} is recording, but the index holds none of "
                f"its recordings after {since} (Europe/Warsaw) and no gap there: the end of the "
                "period may still be waiting to be stored; try again later (nothing was made)",
                pl=f"Wniosek nr {req.id}: kamera {name} nagrywa, lecz w indeksie nie ma jej "
                   f"nagrań od {since} ani zapisanej przerwy w nagrywaniu: nagrania z końca "
                   "okresu mogą jeszcze czekać na zapisanie. Spróbuj ponownie później "
                   "(niczego nie sporządzono).")




def _overlapping(session: Session, source: Source, start: datetime, end: datetime
                 ) -> list[Recording]:
    return list(session.execute(overlapping(source, start, end)).scalars())
