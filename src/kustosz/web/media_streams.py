"""Stored content sent to a viewer: any open stream in chunks, after the access record is
committed; and HLS segments, each hashed against the index and without sound (R1.3) before
a byte is served, and refused as tampered when its content is not the indexed one."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response, StreamingResponse
from sqlalchemy.orm import Session

from kustosz.access import records
from kustosz.audit import append as audit
from kustosz.db.access import ViewingSession
from kustosz.db.models import Recording
from kustosz.ingest.files import video_only
from kustosz.kinds import Action
from kustosz.states import RecordingState
from kustosz.storage.base import CHUNK, Storage, Tampered, check_content
from kustosz.web.common import Ctx
from kustosz.web.gate import gate
from kustosz.web.media import MEDIA_TAG, NO_STORE, admission, guarded, sound_checked
from kustosz.web.params import PathId

router = APIRouter()
log = logging.getLogger(__name__)


def streamed(stream: BinaryIO, size: int, media_type: str) -> Response:
    """Send an open stored stream in chunks. `guarded` has committed the access record (and
    released SQLite's write lock) before Starlette starts iterating; the stream was opened
    before that commit, which found the recording still stored, so a sweep that deletes the
    key meanwhile cannot cut it short."""
    def chunks() -> Iterator[bytes]:
        with stream:
            while chunk := stream.read(CHUNK):
                yield chunk

    return StreamingResponse(chunks(), media_type=media_type,
                             headers={**NO_STORE, "Content-Length": str(size)})


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
                 checked: bool = False) -> tuple[BinaryIO, int]:
    """A stored camera segment as playback serves it, an open stream and its size: read at the
    index's version and hashed before a byte is served (`Tampered` if it differs); R1.3: a
    segment stored with sound before the intake dropped it is served as its picture only,
    from a scratch copy already unlinked (it lives while the stream is open). ``checked``
    (`sound_checked`): the intake found this very content without sound, so it is not probed;
    nor is content already seen here to carry none.

    The file is opened once: the stream served is the one that was hashed (a file put in the
    key's place after the check is not what is sent; on an object store, no second download)."""
    with storage.local_path(key, version=version) as path:
        f = path.open("rb", buffering=0)
        try:
            check_content(key, hashlib.file_digest(f, "sha256").hexdigest(), sha256)
            f.seek(0)
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
        return f, os.fstat(f.fileno()).st_size
    f.close()
    try:
        g = copy.open("rb")
        return g, os.fstat(g.fileno()).st_size
    finally:
        copy.unlink(missing_ok=True)


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

    def open(self, storage: Storage) -> tuple[BinaryIO, int]:
        return open_segment(storage, self.key, self.version, self.sha256, self.checked)


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
    return Segment(rec.id, rec.storage_key, rec.version_id, rec.sha256, sound_checked(rec))


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
        try:  # R1.3: never sound; the index's version, hashed before it is served
            stream, size = segment.open(ctx.vault.storage)
        except Tampered as exc:
            return tampered(ctx, s, exc, segment)
        records.served(s, vs, f"segment {segment.recording_id}", ctx.client, size,
                       segment.recording_id)
        return streamed(stream, size, "video/mp2t")

    # The segment is hashed and checked for sound (tens of ms for 10 s of 4 Mbit/s) outside
    # the write transaction: on SQLite that holds the one write lock, and 50 viewers' segments
    # queued behind each other's hashing (bench/playback.py). The checks are made in a read
    # first, so nothing is read for a request that will be refused, and again in the write
    # that records the access, so a right revoked or a segment swept meanwhile is refused.
    wanted = _segment_to_open(ctx, token, recording_id)
    if wanted is None:  # refused or not servable: said and recorded as always
        return guarded(ctx, token, None, serve)
    try:
        stream, size = wanted.open(ctx.vault.storage)
    except (Tampered, OSError):  # the tamper audit (or the store's error) as always
        return guarded(ctx, token, None, serve)

    def record(s: Session, vs: ViewingSession, scope: records.Scope) -> Response | None:
        if segment_admitted(s, vs, scope, recording_id) != wanted:
            return None
        records.served(s, vs, f"segment {wanted.recording_id}", ctx.client, size,
                       wanted.recording_id)
        return streamed(stream, size, "video/mp2t")

    try:
        answer = guarded(ctx, token, None, record)
    except BaseException:
        stream.close()
        raise
    if not isinstance(answer, StreamingResponse):  # refused now: nothing is sent
        stream.close()
    return answer
