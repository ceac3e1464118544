"""A still frame for the mask form of a data subject's video request (issue 17 item 2).

The person marking manual masks and the requester's box needs to see the picture, not guess
per cent. A frame is personal data, so it is served only:

- to a user with the custody right (the same as marking the masks: the route's gate) on a
  data subject's video request that is open for marking (`subject_review._check_markable`),
  **who also holds an active individual authorisation** (R3.2) to handle that camera's
  material for a copy — action `export`, "pobranie kopii nagrania", the one the second
  person's review of the masked copy opens too; the custody right alone opens nothing;
- of one of the request's own cameras, at a moment inside the request's period (asking for
  another camera or another time is refused and the refusal is on record, as the media
  gate records an item outside a session's scope);
- with the authorised person present named, as for any look at recorded video (002
  zał.5 §7 ust. 6; the rule is `records.witness_for`, the same one playback obeys) —
  sent in the POST body, not the address, so the name stays out of address logs;
- from a workstation on the allow-list (R3.5, as every media answer, checked before anything
  about the request is looked at), from the stored segment (lent by the storage, checked
  against the index's SHA-256 before it is read);
- and every frame served leaves an access record: a viewing session of its own opened by
  `records.try_open` under that authorisation (naming the request, the camera, the moment
  and the person present), with one access entry in the access chain; the DPO sees it, with
  the person present, in the access register.

Anything else answers 4xx with the reason in Polish first and changes nothing.
"""

from __future__ import annotations

import logging
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.access import allowlist, records
from kustosz.audit import append as audit
from kustosz.custody import subject_review as sr
from kustosz.custody.requests import get_request
from kustosz.db.access import ViewingSession
from kustosz.db.models import Recording, Source
from kustosz.digests import token_digest
from kustosz.errors import FieldError, KustoszError
from kustosz.ffmpeg import ffmpeg_exe
from kustosz.fsutil import file_sha256
from kustosz.index.recordings import overlapping
from kustosz.kinds import Action
from kustosz.storage.base import Tampered, check_content
from kustosz.web.common import Ctx
from kustosz.web.media import NO_STORE, refuse

log = logging.getLogger(__name__)
# A frame is a look at recorded video: the person present is required by playback's rule;
# the authorisation it is served under is the copy maker's (export, see above).
WITNESS_RULE = str(Action.PLAYBACK)
FRAME_ACTION = str(Action.EXPORT)
FRAME_PURPOSE = "klatka do zaznaczenia masek przed sporządzeniem kopii dla osoby, której " \
                "dane dotyczą"
MAX_WIDTH = 960  # px: enough to place a box, no more of the picture than needed
FFMPEG_TIMEOUT_S = 30
# The viewing session's window: the frame's moment and the second after it.
FRAME_WINDOW = timedelta(seconds=1)


def seconds_in_period(text: str, start: datetime, tz: Any) -> float | None:
    """A clock time "GG:MM[:SS]" within the period, as seconds from its start (the day of the
    period's start; a time before the start falls on the next day); plain seconds too."""
    text = (text or "").strip()
    if not text:
        return None
    if ":" not in text:
        return float(text.replace(",", "."))
    parts = text.split(":")
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
        raise ValueError(text)
    h, m, s = (int(p) for p in [*parts, "0"][:3])
    if h > 23 or m > 59 or s > 59:
        raise ValueError(text)
    # Real seconds, through UTC: two times of one zone subtract as wall clocks, which is an
    # hour off across a change of time (an hour in March has no 02:30, one in October two).
    # The clock time is the first at or after the start: on the period's day, else the next;
    # of an October night's two 02:30s, the first unless the period starts after it.
    local = start.astimezone(tz)
    begin = local.replace(microsecond=0).astimezone(UTC)
    for day in (0, 1):
        wall = (local + timedelta(days=day)).replace(hour=h, minute=m, second=s, microsecond=0)
        for fold in (0, 1):
            at = wall.replace(fold=fold).astimezone(UTC)
            if at >= begin:
                return (at - start.astimezone(UTC)).total_seconds()
    raise ValueError(text)  # not reached: the next day's time is always after the start


class FrameProblem(KustoszError):
    """Why no frame is served: the HTTP status, English and Polish."""

    def __init__(self, status: int, message: str, *, pl: str) -> None:
        super().__init__(message, pl=pl)
        self.status = status


@dataclass(frozen=True)
class Wanted:
    request_id: int
    source: str
    source_id: int
    at: datetime  # UTC
    clock: str  # the moment as the person gave it (office zone)
    recording_id: int
    storage_key: str
    version_id: str | None
    sha256: str | None
    offset_s: float  # into the segment
    witness: str | None  # the authorised person present (None only where the rule allows)


def _clock(text: str) -> str:
    """Only a clock time here (GG:MM or GG:MM:SS): seconds alone would be ambiguous."""
    text = (text or "").strip()
    if ":" not in text:
        raise ValueError(text)
    return text


def _witness(s: Session, text: str, viewer: Any) -> str | None:
    """The person present, by playback's rule (`records.witness_for`: one of the office's
    people, not the viewer) for the frame's action; its reference (`records.Witness.ref`)."""
    try:
        present = records.witness_for(WITNESS_RULE, text, s, viewer)
    except FieldError as exc:
        en = ("the authorised person present at the viewing (witness) is not named; no frame "
              "is served (002 zał.5 §7 ust. 6)" if not (text or "").strip() else str(exc))
        raise FrameProblem(422, en, pl=exc.pl) from None
    return present.ref if present else None


def _markable(s: Session, req_id: int) -> Any:
    """The request, if masks may be marked on it now (the rule worded once in
    subject_review); FrameProblem 404 if not, NotFound (the app's 404 page) if there is none."""

    req = get_request(s, req_id)
    try:
        sr._check_markable(s, req)
    except KustoszError as exc:
        raise FrameProblem(404, f"no frame: {exc}", pl=f"Brak klatki: {exc.pl}") from None
    return req


def wanted(ctx: Ctx, req_id: int, source: str, at_text: str, witness: str) -> Wanted:
    """Check what is asked against the request; FrameProblem when it may not be served."""
    tz = ctx.vault.policy.timezone
    with ctx.vault.reading() as s:
        req = _markable(s, req_id)
        if source not in (req.sources or []):
            raise FrameProblem(403, f"camera {source!r} is not one of request {req.id}'s "
                               "cameras; no frame is served",
                               pl=f"Kamera „{source}” nie należy do kamer wniosku nr "
                                  f"{req.id} — klatki z niej nie udostępnia się.")
        try:
            offset = seconds_in_period(_clock(at_text), req.start_at, tz)
        except ValueError:
            raise FrameProblem(422, f"the time {at_text[:20]!r} is not a clock time "
                               "(HH:MM:SS)",
                               pl="Podaj chwilę jako GG:MM:SS (np. 14:05:30).") from None
        present = _witness(s, witness, ctx.user)
        start, end = req.start_at, req.end_at
        length = (end - start).total_seconds()
        if offset is None or not 0 <= offset < length:
            said = (start.astimezone(tz).strftime("%H:%M:%S"),
                    end.astimezone(tz).strftime("%H:%M:%S"))
            raise FrameProblem(403, f"{at_text.strip()[:20]} is outside the request's period "
                               f"{said[0]}–{said[1]}; no frame is served",
                               pl=f"Chwila {at_text.strip()[:20]} jest poza okresem wniosku "
                                  f"({said[0]}–{said[1]}) — klatki spoza okresu nie "
                                  "udostępnia się.")
        at = start + timedelta(seconds=offset)
        src = s.execute(select(Source).where(Source.name == source)).scalar_one_or_none()
        recs = [] if src is None else [
            r for r in s.execute(overlapping(src, at, at)).scalars()
            if r.start_at <= at < r.end_at]
        if src is None or not recs:
            raise FrameProblem(404, f"no recording of {source} at {at_text.strip()[:20]}",
                               pl=f"Brak nagrania w tej chwili ({at_text.strip()[:20]}, "
                                  f"kamera {source}) — wybierz inną chwilę okresu.")
        rec: Recording = recs[-1]
        return Wanted(req.id, source, src.id, at.astimezone(UTC),
                      at.astimezone(tz).strftime("%H:%M:%S"), rec.id, rec.storage_key,
                      rec.version_id, rec.sha256, (at - rec.start_at).total_seconds(),
                      present)


class _Slow(Exception):
    """The frame's time budget (`FFMPEG_TIMEOUT_S`) ran out."""


@dataclass(frozen=True)
class _Pick:
    """Where the frame on screen at a moment is in a segment (seconds, the file's own time
    line as ffmpeg reads it with ``-copyts``)."""

    start: float  # the file's start (what ffmpeg's ``-ss`` counts from)
    shown: float  # the presentation time of the frame on screen at the moment
    key: float  # the key frame it is decoded from (the last one at or before it)


def _pick(path: str, offset: float, deadline: float) -> _Pick | None:
    """Read (not decode) the segment's video packets: the frame on screen ``offset`` s into
    the file — the last one presented at or before that moment, the last frame of the file
    past its end, the first before its first — and the key frame before it. None when the
    file holds no video frame."""
    import av  # noqa: PLC0415 - a heavy library, loaded by the work that needs it

    with av.open(path) as container:
        if not container.streams.video:
            return None
        stream = container.streams.video[0]
        start = (container.start_time or 0) / 1_000_000
        target = start + offset
        frames: list[tuple[float, bool]] = []
        for packet in container.demux(stream):
            if time.monotonic() > deadline:
                raise _Slow
            if packet.pts is None or packet.is_corrupt:
                continue
            frames.append((float(packet.pts * packet.time_base), bool(packet.is_keyframe)))
    if not frames:
        return None
    frames.sort()
    # A microsecond's slack: the moment and the frame's time are the same number read two ways.
    before = [f for f in frames if f[0] <= target + 1e-6]
    shown = before[-1][0] if before else frames[0][0]
    keys = [t for t, key in frames if key and t <= shown]
    return _Pick(start, shown, keys[-1] if keys else frames[0][0])


def _ffmpeg(path: str, pick: _Pick, deadline: float, *, seek: bool) -> bytes:
    """The JPEG of the frame ``pick.shown``, decoded from its key frame when ``seek``.

    MPEG-TS has no index: ffmpeg's input ``-ss`` lands on whatever packet is at or before the
    time asked, usually not a key frame, and the decoder then shows nothing until the next
    key frame — a later picture, or none at all past a segment's last key frame (issue 29
    item 3). So the seek goes to the key frame itself (landing there or earlier is harmless:
    decoding starts at a key frame at or before it), the timestamps are kept (``-copyts``)
    and ``select`` keeps exactly the frame wanted; anything else decodes to no output.
    """

    left = deadline - time.monotonic()
    if left <= 0:
        raise _Slow
    where = ["-ss", f"{max(0.0, pick.key - pick.start):.6f}"] if seek else []
    exact = f"select='lt(abs(t-{pick.shown:.6f})\\,0.0005)'"
    try:
        done = subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", *where,
             "-copyts", "-i", path, "-map", "0:v:0", "-an", "-frames:v", "1",
             "-vf", f"{exact},scale='min({MAX_WIDTH},iw)':-2,format=yuvj420p",
             "-c:v", "mjpeg", "-q:v", "3", "-f", "image2pipe", "pipe:1"],
            capture_output=True, timeout=left, check=False)
    except subprocess.TimeoutExpired:
        raise _Slow from None
    if done.returncode != 0:
        log.warning("ffmpeg could not take the frame at %.3f s of %s: %s", pick.shown, path,
                    done.stderr.decode("utf-8", "replace")[-300:])
        return b""
    return done.stdout


def still(path: str, offset: float, *, timeout: float = FFMPEG_TIMEOUT_S) -> bytes:
    """The JPEG of the frame on screen ``offset`` s into a stored segment, or b"" when the file
    holds no decodable picture; `_Slow` when that took longer than ``timeout`` seconds."""
    import av  # noqa: PLC0415 - a heavy library, loaded by the work that needs it

    deadline = time.monotonic() + timeout
    try:
        pick = _pick(path, offset, deadline)
    except av.FFmpegError as exc:
        log.warning("cannot read the video packets of %s: %s", path, exc)
        return b""
    if pick is None:
        return b""
    jpeg = _ffmpeg(path, pick, deadline, seek=True)
    if not jpeg.startswith(b"\xff\xd8"):
        # Not expected (the seek lands at or before the key frame); decoding the file from
        # its start finds the frame all the same, within what is left of the time allowed.
        log.warning("the seek to %.3f s in %s gave no frame; decoding from the start",
                    pick.key, path)
        jpeg = _ffmpeg(path, pick, deadline, seek=False)
    return jpeg


def extract(ctx: Ctx, w: Wanted) -> bytes:
    """The JPEG of the frame at ``w.offset_s`` into the stored segment (lent by the storage at
    the index's version, its SHA-256 checked first)."""
    with ctx.vault.storage.local_path(w.storage_key, version=w.version_id) as path:
        check_content(w.storage_key, file_sha256(path), w.sha256)
        try:
            jpeg = still(str(path), w.offset_s, timeout=FFMPEG_TIMEOUT_S)
        except _Slow:
            log.warning("taking the frame of recording %s at %.3f s took over %d s",
                        w.recording_id, w.offset_s, FFMPEG_TIMEOUT_S)
            raise FrameProblem(
                503, f"reading the frame of recording {w.recording_id} at {w.clock} took "
                f"over {FFMPEG_TIMEOUT_S} s and was stopped",
                pl=f"Odczyt klatki z chwili {w.clock} (kamera {w.source}) trwał dłużej niż "
                   f"{FFMPEG_TIMEOUT_S} s i został przerwany — spróbuj ponownie za chwilę "
                   "albo wybierz inną chwilę.") from None
    if not jpeg.startswith(b"\xff\xd8"):
        # The index holds a segment here, so this is not a gap: its picture cannot be read.
        raise FrameProblem(404, f"no decodable picture in recording {w.recording_id} at "
                           f"{w.clock}",
                           pl=f"Nie udało się odczytać obrazu z nagrania z chwili {w.clock} "
                              f"(kamera {w.source}): zapisany segment nie zawiera czytelnej "
                              "klatki — wybierz inną chwilę.")
    return jpeg


def open_frame(ctx: Ctx, w: Wanted) -> str | records.Refused:
    """A viewing session for one frame under the user's own `export` authorisation covering
    the camera (`records.try_open`: its `access.open` entry, or the refusal's audit entry,
    committed here); the token, or the refusal."""
    user = ctx.need("custody")
    with ctx.vault.transaction() as s:
        # Asked again where the session is opened: the request may have been decided otherwise
        # or its copy made since `wanted` read it (review N3).
        _markable(s, w.request_id)
        return records.try_open(
            s, user=user, action=FRAME_ACTION, client=ctx.client, purpose=FRAME_PURPOSE,
            request_id=w.request_id, witness=w.witness, source=s.get(Source, w.source_id),
            window=(w.at, w.at + FRAME_WINDOW))


def record_served(ctx: Ctx, token: str, w: Wanted, nbytes: int) -> int:
    """The access entry of the frame served on the session `open_frame` opened, which then
    ends (one frame a session). Returns the session's id."""
    now = datetime.now(UTC)
    with ctx.vault.transaction() as s:
        vs = s.execute(select(ViewingSession).where(
            ViewingSession.token_hash == token_digest(token))).scalar_one()
        records.served(s, vs, f"frame {w.source} {w.at.isoformat()} request {w.request_id}",
                       ctx.client, nbytes, w.recording_id, now=now)
        records.end_viewing(s, vs, now)
        return vs.id


def _end(ctx: Ctx, token: str) -> None:
    """A session that served nothing (no picture, a forged segment) ends at once."""
    with ctx.vault.transaction() as s:
        vs = s.execute(select(ViewingSession).where(
            ViewingSession.token_hash == token_digest(token))).scalar_one()
        records.end_viewing(s, vs)


def refused_answer(ctx: Ctx, refused: records.Refused) -> Response:
    """403 naming the condition that failed, as JSON the mask form's script shows (Polish
    first, what to do about it; the English reason and its code as the media gate gives)."""
    said = refused.said(ctx.vault.policy.timezone, "pl")
    return JSONResponse({"detail_pl": f"{said} {refused.todo}".strip(), "detail": refused.reason,
                         "reason": refused.code.value}, status_code=403, headers=NO_STORE)


def problem(exc: FrameProblem) -> Response:
    return JSONResponse({"detail_pl": exc.pl, "detail": str(exc)}, status_code=exc.status,
                        headers=NO_STORE)


def frame(ctx: Ctx, req_id: int, source: str, at_text: str, witness: str) -> Response:
    """POST /requests/{id}/frame.jpg with source, at=GG:MM:SS and witness (the route in
    subject_review_pages)."""
    ctx.need("custody")
    blocked: records.Refused | None = None
    subject = f"frame of {source[:100]} for request {req_id}"
    with ctx.vault.transaction() as s:  # R3.5 first: off the list, nothing else is answered
        if not allowlist.allowed(s, ctx.client):
            blocked = refuse(ctx, s, records.Refused(records.Reason.WORKSTATION,
                                                     {"client": ctx.client}),
                             action=FRAME_ACTION, subject=subject).refused
    if blocked is not None:
        return refused_answer(ctx, blocked)
    try:
        w = wanted(ctx, req_id, source, at_text, witness)
    except FrameProblem as exc:
        if exc.status == 403:  # another camera or another time: a refused look, on record
            with ctx.vault.transaction() as s:
                refuse(ctx, s, records.Refused(records.Reason.OUTSIDE_SCOPE),
                       action=FRAME_ACTION, subject=f"{subject} at {at_text.strip()[:20]}")
        return problem(exc)
    try:
        opened = open_frame(ctx, w)
    except FrameProblem as exc:
        return problem(exc)
    if isinstance(opened, records.Refused):  # its audit entry is committed
        return refused_answer(ctx, opened)
    try:
        jpeg = extract(ctx, w)
    except FrameProblem as exc:
        _end(ctx, opened)
        return problem(exc)
    except Tampered as exc:
        _end(ctx, opened)
        with ctx.vault.transaction() as s:
            audit(s, ctx.user.name if ctx.user else "anonymous", "media.tampered",
                  f"recording {w.recording_id}", {"key": exc.key, "version_id": w.version_id,
                                                  "sha256_index": exc.want_sha256,
                                                  "sha256_found": exc.got_sha256})
        return JSONResponse({"detail_pl": exc.pl, "detail": str(exc)}, status_code=409,
                            headers=NO_STORE)
    record_served(ctx, opened, w, len(jpeg))
    return Response(jpeg, media_type="image/jpeg", headers=NO_STORE)
