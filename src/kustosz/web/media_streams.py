"""Stored content sent to a viewer: any open stream in chunks (a file by sendfile), after the
access record is committed; and HLS segments, each proven to hold the indexed content (on
its stamp, else hashed: `storage.proof`) and without sound (R1.3) before a byte is served,
and refused as tampered when its content is not the indexed one."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response, StreamingResponse
from sqlalchemy import update
from sqlalchemy.orm import Session

from kustosz.access import records
from kustosz.audit import append as audit
from kustosz.db.access import ViewingSession
from kustosz.db.models import Recording
from kustosz.ingest.sound_strip import video_only
from kustosz.kinds import Action
from kustosz.states import RecordingState
from kustosz.storage.base import Storage, Tampered, check_content
from kustosz.storage.proof import keeps_files, stamp_of
from kustosz.web.common import Ctx
from kustosz.web.file_answer import FileAnswer, sendable
from kustosz.web.gate import gate
from kustosz.web.media import MEDIA_TAG, NO_STORE, admission, guarded, sound_checked
from kustosz.web.media_recheck import Watch
from kustosz.web.params import PathId

router = APIRouter()
log = logging.getLogger(__name__)


def streamed(stream: BinaryIO, size: int, media_type: str, watch: Watch,
             status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Send ``size`` bytes of an open stored stream in chunks, asking the gate again while it
    runs (`Watch`: access ends when access ends). `guarded` has committed the access record
    (and released SQLite's write lock) before Starlette starts iterating; the stream was
    opened before that commit, which found the recording still stored, so a sweep that
    deletes the key meanwhile cannot cut it short. A regular file goes out by sendfile where
    the server offers it (`FileAnswer`), anything else (an object store's body) is read."""
    if sendable(stream):
        return FileAnswer(stream, size, watch, media_type, status_code,
                          {**NO_STORE, **(headers or {})})
    return StreamingResponse(watch.chunks(stream, size), status_code=status_code,
                             media_type=media_type,
                             headers={**NO_STORE, **(headers or {}),
                                      "Content-Length": str(size)})


# SHA-256s of segment contents seen to carry no sound, for segments stored before the intake
# marked its check (`sound_checked`). Probing a file for its streams (PyAV) cost as much as
# hashing it, for every segment of every viewer; the verdict is a property of the bytes, and a
# request uses it only after it hashed the file and found the index's SHA-256, so it is the
# same content. Bounded: a day of 100 cameras' 10 s segments. The oldest verdict goes first
# (a dict keeps insertion order; a verdict looked up is not refreshed).
SOUNDLESS_KEPT = 864_000
_soundless: dict[str, None] = {}
_soundless_lock = threading.Lock()


def open_segment(storage: Storage, key: str, version: str | None, sha256: str | None,
                 checked: bool = False, stamp: str | None = None
                 ) -> tuple[BinaryIO, int, str | None]:
    """A stored camera segment as playback serves it: an open stream, its size, and the stamp
    to record for it when it was hashed now (else None). Read at the index's version and
    proven before a byte is served: on its ``stamp`` (the file exactly as it was when it was
    last hashed and found to be the index's content, `storage.proof`), else hashed
    (`Tampered` if it differs). R1.3: a segment stored with sound before the intake dropped
    it is served as its picture only, from a scratch copy already unlinked (it lives while
    the stream is open). ``checked`` (`sound_checked`): the intake found this very content
    without sound, so it is not probed; nor is content already seen here to carry none.

    The file is opened once: the stream served is the one that was proven (a file put in the
    key's place after the check is not what is sent; on an object store, no second
    download)."""
    proven = None
    with storage.local_path(key, version=version) as path:
        f = path.open("rb", buffering=0)
        try:
            proven = _prove(storage, key, f, sha256, stamp)
            copy = None if checked or (sha256 is not None and sha256 in _soundless) \
                else video_only(path, storage.scratch, "mpegts")
        except BaseException:
            f.close()
            raise
    if copy is None:
        if sha256 is not None and not checked:
            with _soundless_lock:
                if len(_soundless) >= SOUNDLESS_KEPT:
                    del _soundless[next(iter(_soundless))]  # the oldest verdict
                _soundless[sha256] = None
        return f, os.fstat(f.fileno()).st_size, proven
    f.close()
    try:
        g = copy.open("rb")
        return g, os.fstat(g.fileno()).st_size, proven
    finally:
        copy.unlink(missing_ok=True)


def _prove(storage: Storage, key: str, f: BinaryIO, sha256: str | None, stamp: str | None
           ) -> str | None:
    """Nothing if the open file ``f`` shows ``stamp``; else hash it against the index
    (`Tampered`) and return the stamp it showed while it was hashed, to be recorded (None
    when it changed meanwhile, or the store keeps no files of its own)."""
    kept = keeps_files(storage)
    before = stamp_of(os.fstat(f.fileno())) if kept else None
    if before is not None and stamp is not None and before == stamp and sha256 is not None:
        return None
    check_content(key, hashlib.file_digest(f, "sha256").hexdigest(),  # type: ignore[arg-type]
                  sha256)
    f.seek(0)
    if before is None or sha256 is None or stamp_of(os.fstat(f.fileno())) != before:
        return None
    return before


@dataclass(frozen=True)
class Segment:
    """A segment a viewing may be served, as the index names its content. What a check in a
    read found is served only if the check in the write that records the access finds the
    very same."""

    recording_id: int
    key: str
    version: str | None
    sha256: str | None
    checked: bool  # `sound_checked`: the intake found this content without sound
    # What the file was when last proven (`storage.proof`); another request may record it
    # meanwhile, which changes nothing of what is served
    stamp: str | None = field(default=None, compare=False)

    def open(self, storage: Storage) -> tuple[BinaryIO, int, str | None]:
        return open_segment(storage, self.key, self.version, self.sha256, self.checked,
                            self.stamp)


def _segment_allowed(rec: Recording, vs: ViewingSession, scope: records.Scope) -> bool:
    """Whether this viewing may be served ``rec`` (stored, of its camera, in its window or,
    live, no older than the live window)."""
    if rec.state != RecordingState.STORED or not scope.sources \
            or rec.source_id != scope.sources[0].id \
            or vs.action not in (Action.PLAYBACK, Action.LIVE):
        return False
    if vs.action == Action.PLAYBACK:
        assert vs.window_start is not None and vs.window_end is not None
        return not (rec.end_at < vs.window_start or rec.start_at > vs.window_end)
    # live view: nothing older than the live window (R3.1)
    return rec.start_at >= datetime.now(UTC) - timedelta(seconds=records.LIVE_SECONDS)


def segment_admitted(s: Session, vs: ViewingSession, scope: records.Scope,
                     recording_id: int) -> Segment | None:
    """The segment ``recording_id`` if this admitted viewing may be served it now, else None
    (the caller refuses it as outside the viewing's scope)."""
    rec = s.get(Recording, recording_id)
    if rec is None or not _segment_allowed(rec, vs, scope):
        return None
    return Segment(rec.id, rec.storage_key, rec.version_id, rec.sha256, sound_checked(rec),
                   rec.file_stamp)


def _stamped(s: Session, recording_id: int, proven: str | None) -> None:
    """Record the stamp of a file just hashed and found to be the index's content."""
    if proven is not None:
        s.execute(update(Recording).where(Recording.id == recording_id)
                  .values(file_stamp=proven))


def _segment_to_open(ctx: Ctx, token: str, recording_id: int) -> Segment | None:
    """The segment this request may be served, checked in a read (no write lock, nothing
    written); None when any check fails (the caller then takes the path that records the
    refusal)."""
    with ctx.vault.reading() as s:
        admitted = admission(ctx, s, token)
        if isinstance(admitted, records.Refused):
            return None
        vs, scope = admitted
        return segment_admitted(s, vs, scope, recording_id)


def tampered(ctx: Ctx, s: Session, exc: Tampered, segment: Segment) -> Response:
    """A stored content that no longer matches the index is not served: the refusal is in the
    audit log (committed with the viewing's transaction) and the viewer is told why."""
    log.error("recording %s not served: %s", segment.recording_id, exc)
    audit(s, ctx.user.name if ctx.user else "anonymous", "media.tampered",
          f"recording {segment.recording_id}", {"key": exc.key, "version_id": segment.version,
                                                "sha256_index": exc.want_sha256,
                                                "sha256_found": exc.got_sha256})
    return JSONResponse({"detail": str(exc), "detail_pl": exc.pl}, status_code=409,
                        headers=NO_STORE)


@router.get("/media/{token}/segment/{recording_id}.ts", name="media_segment", tags=[MEDIA_TAG])
def media_segment(token: str, recording_id: PathId, ctx: Ctx = gate(scope="media")) -> Response:
    def serve(s: Session, vs: ViewingSession, scope: records.Scope) -> Response | None:
        segment = segment_admitted(s, vs, scope, recording_id)
        if segment is None:
            return None
        try:  # R1.3: never sound; the index's version, proven before it is served
            stream, size, proven = segment.open(ctx.vault.storage)
        except Tampered as exc:
            return tampered(ctx, s, exc, segment)
        _stamped(s, segment.recording_id, proven)
        what = f"segment {segment.recording_id}"
        records.served(s, vs, what, ctx.client, size, segment.recording_id)
        return streamed(stream, size, "video/mp2t", Watch(ctx, token, None, what))

    # The segment is hashed and checked for sound (tens of ms for 10 s of 4 Mbit/s) outside
    # the write transaction: on SQLite that holds the one write lock, and 50 viewers' segments
    # queued behind each other's hashing (bench/playback.py). The checks are made in a read
    # first, so nothing is read for a request that will be refused, and again in the write
    # that records the access, so a right revoked or a segment swept meanwhile is refused.
    wanted = _segment_to_open(ctx, token, recording_id)
    if wanted is None:  # refused or not servable: said and recorded as always
        return guarded(ctx, token, None, serve)
    try:
        stream, size, proven = wanted.open(ctx.vault.storage)
    except (Tampered, OSError):  # the tamper audit (or the store's error) as always
        return guarded(ctx, token, None, serve)

    def record(s: Session, vs: ViewingSession, scope: records.Scope) -> Response | None:
        if segment_admitted(s, vs, scope, recording_id) != wanted:
            return None
        _stamped(s, wanted.recording_id, proven)
        what = f"segment {wanted.recording_id}"
        records.served(s, vs, what, ctx.client, size, wanted.recording_id)
        return streamed(stream, size, "video/mp2t", Watch(ctx, token, None, what))

    try:
        answer = guarded(ctx, token, None, record)
    except BaseException:
        stream.close()
        raise
    if not isinstance(answer, StreamingResponse | FileAnswer):  # refused now: nothing sent
        stream.close()
    return answer
