"""Media: stating the purpose (a viewing session), then HLS playlists and segments, call audio
and copy downloads. Every media route is tagged "media" and passes `guard`: the workstation
allow-list (R3.5), the login, the viewing session's owner and an authorisation active now
(R3.2); every answer with bytes leaves an access entry (DESIGN invariant 2)."""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
import tempfile
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from kustosz import kinds
from kustosz.access import allowlist, listening, records
from kustosz.access.authorisations import ACTIONS
from kustosz.audit import append as audit
from kustosz.cameras.gap_causes import CAUSES_PL
from kustosz.db.access import ViewingSession
from kustosz.db.calls import Call
from kustosz.db.cameras import Gap
from kustosz.db.custody import Copy, User
from kustosz.db.models import Recording, Source
from kustosz.digests import token_digest
from kustosz.errors import FieldError, KustoszError
from kustosz.index.recordings import Span, spans
from kustosz.ingest.files import SOUND_CHECKED, video_only
from kustosz.kinds import Action
from kustosz.states import RecordingState
from kustosz.storage.base import CHUNK, Storage, Tampered, check_content
from kustosz.web.common import TEMPLATES, Ctx, page, redirect, span_pl
from kustosz.web.gate import gate
from kustosz.web.params import DB_INT_MAX, PathId

router = APIRouter()
MEDIA_TAG = "media"
# The actions each media route serves (the authorisation-matrix test reads this).
log = logging.getLogger(__name__)
ROUTE_ACTIONS: dict[str, tuple[str, ...]] = {
    "media_vod": ("playback",), "media_live": ("live",),
    "media_segment": ("playback", "live"), "media_audio": ("listening",),
    "media_copy": ("export",),
    # web/subject_review_pages.py: a copy's video played in the page (a data subject's masked
    # copy watched before it is approved)
    "media_copy_video": ("export",),
    # web/residual_pages.py: a frame of that copy the masking check scored highest (issue 28)
    "media_copy_residual": ("export",),
    # web/monitoring.py: mail metadata and IT events (issue 7)
    "media_mail": ("mail",), "media_mail_eml": ("mail",), "media_events": ("events",),
    "media_event": ("events",),
    # web/calls.py: the call register (who phoned whom, when, how long; issue 11)
    "media_calls": ("calls",),
}
# Reviews of index rows (the rows are the material): bounded by a stated period, and their
# /view page is the search page itself.
ROW_REVIEWS: tuple[str, ...] = tuple(str(a) for a in kinds.ROW_REVIEWS)
# Actions that open one source of one kind (watching video, reviewing rows), and what to say
# when none is chosen.
SOURCE_OF: dict[str, tuple[str, str]] = {
    str(a): (k.name, k.choose_pl) for k in kinds.KINDS.values() for a in sorted(k.actions)
    if a in (Action.LIVE, Action.PLAYBACK, *ROW_REVIEWS)}
NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
GAP_TOLERANCE_S = 0.5
LIVE_SEGMENTS = 4


class Blocked(Exception):
    """403 for a media request; already written to the audit log. ``refused`` names the
    condition that failed."""

    def __init__(self, refused: records.Refused) -> None:
        super().__init__(refused.reason)
        self.refused = refused


def _subject(ctx: Ctx, s: Session, token: str) -> str:
    """The refused address for the audit log, with the session's number for its token."""
    vs = records.viewing_of(s, token) if token else None
    path = ctx.request.url.path
    return path.replace(token, f"<viewing {vs.id}>" if vs else "<unknown>") if token else path


def refuse(ctx: Ctx, s: Session, refused: records.Refused, token: str = "",
           action: str | None = None, subject: str | None = None) -> Blocked:
    """Record a refused attempt (committed with the transaction) and say which condition
    failed; raise what this returns."""
    records.log_refusal(s, ctx.user.name if ctx.user else "anonymous",
                        subject or _subject(ctx, s, token), refused, client=ctx.client,
                        action=action or refused.facts.get("action"))
    return Blocked(refused)


def guard(ctx: Ctx, s: Session, token: str, action: str | None = None
          ) -> tuple[ViewingSession, records.Scope]:
    if not allowlist.allowed(s, ctx.client):
        raise refuse(ctx, s, records.Refused(records.Reason.WORKSTATION,
                                             {"client": ctx.client}), token, action)
    if ctx.must_change:
        raise refuse(ctx, s, records.Refused(records.Reason.PASSWORD), token, action)
    try:
        return records.admit(s, token, ctx.user, action)
    except records.Refused as exc:
        raise refuse(ctx, s, exc, token, action) from None


def wants_page(ctx: Ctx) -> bool:
    """A person's browser asking for a page (not the API, a player or a script)."""
    path = ctx.request.url.path
    if path.startswith("/api/") or ctx.via_token \
            or ctx.request.query_params.get("format") == "json":
        return False
    # htmx asks with "Accept: */*": its search forms show the refusal's words where the
    # results go (static/htmx_errors.js), not an English JSON body
    return path == "/media/start" or not path.startswith("/media/") \
        or "text/html" in ctx.request.headers.get("accept", "") \
        or ctx.request.headers.get("HX-Request") == "true"


def refusal_answer(ctx: Ctx, refused: records.Refused, **data: Any) -> Response:
    """403 naming the condition that failed: a Polish page for a browser, else JSON with the
    English ``detail`` and the machine-readable ``reason``."""
    if not wants_page(ctx):
        return JSONResponse({"detail": refused.reason, "reason": refused.code.value},
                            status_code=403, headers=NO_STORE)
    template = data.pop("template", "refused.html")
    response = page(ctx, template, 403, refusal=refused,
                    condition=refused.said(ctx.vault.policy.timezone, ctx.lang),
                    todo=refused.todo, **data)
    response.headers.update(NO_STORE)
    return response


def guarded(ctx: Ctx, token: str, action: str | None, serve: Any) -> Response:
    """Check, serve and record in one transaction; a refusal is committed with its audit."""
    refused: records.Refused | None = None
    with ctx.vault.transaction() as s:
        try:
            vs, scope = guard(ctx, s, token, action)
        except Blocked as exc:
            refused = exc.refused
        else:
            result = serve(s, vs, scope)
            if result is None:
                refused = refuse(ctx, s, records.Refused(
                    records.Reason.OUTSIDE_SCOPE, {"viewing": vs.id}), token,
                    vs.action).refused
    return refusal_answer(ctx, refused) if refused is not None else result


def tampered(ctx: Ctx, s: Session, exc: Tampered, rec: Recording) -> Response:
    """A stored content that no longer matches the index is not served: the refusal is in the
    audit log (committed with the viewing's transaction) and the viewer is told why."""
    log.error("recording %s not served: %s", rec.id, exc)
    audit(s, ctx.user.name if ctx.user else "anonymous", "media.tampered",
          f"recording {rec.id}", {"key": exc.key, "version_id": rec.version_id,
                                  "sha256_index": exc.want_sha256,
                                  "sha256_found": exc.got_sha256})
    return JSONResponse({"detail": str(exc), "detail_pl": exc.pl}, status_code=409,
                        headers=NO_STORE)


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


# -- playlists -------------------------------------------------------------------------------
def _pdt(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def vod_playlist(recs: Sequence[Span]) -> str:
    target = max([math.ceil((r.end_at - r.start_at).total_seconds()) for r in recs] or [1])
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{max(target, 1)}",
             "#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-PLAYLIST-TYPE:VOD"]
    lines += _segment_lines(recs)
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def _segment_lines(recs: Sequence[Span]) -> list[str]:
    lines: list[str] = []
    previous: Span | None = None
    for r in recs:
        if previous is not None:
            gap = (r.start_at - previous.end_at).total_seconds()
            # A new timeline starts at a gap and wherever the segment is not the next piece
            # of the same recorder session (each taken-in file has its own timestamps).
            if gap > GAP_TOLERANCE_S or r.session is None or r.session != previous.session:
                lines.append("#EXT-X-DISCONTINUITY")
        lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{_pdt(r.start_at)}")
        lines.append(f"#EXTINF:{(r.end_at - r.start_at).total_seconds():.3f},")
        lines.append(f"segment/{r.id}.ts")
        previous = r
    return lines


def _window_recs(s: Session, vs: ViewingSession, source: Source) -> list[Span]:
    assert vs.window_start is not None and vs.window_end is not None
    return list(s.execute(spans(source, vs.window_start, vs.window_end)))


def _live_recs(s: Session, source: Source, now: datetime) -> list[Recording]:
    rows = s.execute(select(Recording).where(
        Recording.source_id == source.id, Recording.state == RecordingState.STORED,
        Recording.start_at >= now - timedelta(seconds=records.LIVE_SECONDS))
        .order_by(Recording.start_at.desc()).limit(LIVE_SEGMENTS)).scalars()
    return sorted(rows, key=lambda r: r.start_at)


@router.get("/media/{token}/vod.m3u8", name="media_vod", tags=[MEDIA_TAG])
def media_vod(token: str, ctx: Ctx = gate(scope="media")) -> Response:
    def serve(s: Session, vs: ViewingSession, scope: records.Scope) -> Response | None:
        if vs.window_start is None or not scope.sources:
            return None
        body = vod_playlist(_window_recs(s, vs, scope.sources[0]))
        records.served(s, vs, f"playlist {scope.sources[0].name}", ctx.client, len(body))
        return Response(body, media_type="application/vnd.apple.mpegurl", headers=NO_STORE)
    return guarded(ctx, token, "playback", serve)


@router.get("/media/{token}/live.m3u8", name="media_live", tags=[MEDIA_TAG])
def media_live(token: str, ctx: Ctx = gate(scope="media")) -> Response:
    def serve(s: Session, vs: ViewingSession, scope: records.Scope) -> Response | None:
        source = scope.sources[0]
        recs = _live_recs(s, source, datetime.now(UTC))
        first = recs[0].start_at if recs else datetime.now(UTC)
        seq = s.execute(select(func.count()).select_from(Recording).where(
            Recording.source_id == source.id, Recording.start_at < first)).scalar_one()
        target = max([math.ceil((r.end_at - r.start_at).total_seconds()) for r in recs] or [4])
        lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{target}",
                 f"#EXT-X-MEDIA-SEQUENCE:{seq}", *_segment_lines(recs)]
        body = "\n".join(lines) + "\n"
        records.served(s, vs, f"live playlist {source.name}", ctx.client, len(body))
        return Response(body, media_type="application/vnd.apple.mpegurl", headers=NO_STORE)
    return guarded(ctx, token, "live", serve)


# SHA-256s of segment contents seen to carry no sound, for segments stored before the intake
# marked its check (`sound_checked`). Probing a file for its streams (PyAV) cost as much as
# hashing it, for every segment of every viewer; the verdict is a property of the bytes, and a
# request uses it only after it hashed the file and found the index's SHA-256, so it is the
# same content. Bounded: a day of 100 cameras' 10 s segments.
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


def sound_checked(rec: Recording) -> bool:
    """Whether the intake checked this row's content and found no sound: its mark names the
    SHA-256 it checked, and only the index's own SHA-256 counts (a row whose content was
    replaced, or a mark written by anything but the intake, is probed as before). The
    content served is hashed against that SHA-256 first (`open_segment`)."""
    mark = (rec.meta or {}).get(SOUND_CHECKED)
    return isinstance(mark, str) and rec.sha256 is not None and mark == rec.sha256


def _segment_allowed(rec: Recording | None, vs: ViewingSession, scope: records.Scope
                     ) -> bool:
    """Whether this viewing may be served ``rec`` (stored, of its camera, in its window or,
    live, no older than the live window)."""
    if rec is None or rec.state != RecordingState.STORED or not scope.sources \
            or rec.source_id != scope.sources[0].id \
            or vs.action not in (Action.PLAYBACK, Action.LIVE):
        return False
    if vs.action == Action.PLAYBACK:
        assert vs.window_start is not None and vs.window_end is not None
        return not (rec.end_at < vs.window_start or rec.start_at > vs.window_end)
    # live view: nothing older than the live window (R3.1)
    return rec.start_at >= datetime.now(UTC) - timedelta(seconds=records.LIVE_SECONDS)


def _segment_to_open(ctx: Ctx, token: str, recording_id: int
                     ) -> tuple[str, str | None, str | None, bool] | None:
    """(key, version, sha256, `sound_checked`) of a segment this request may be served,
    checked in a read (no write lock, nothing written); None when any check fails (the caller
    then takes the path that records the refusal)."""
    with ctx.vault.reading() as s:
        if not allowlist.allowed(s, ctx.client) or ctx.must_change:
            return None
        try:
            vs, scope = records.admit(s, token, ctx.user)
        except records.Refused:
            return None
        rec = s.get(Recording, recording_id)
        if rec is None or not _segment_allowed(rec, vs, scope):
            return None
        return rec.storage_key, rec.version_id, rec.sha256, sound_checked(rec)


@router.get("/media/{token}/segment/{recording_id}.ts", name="media_segment", tags=[MEDIA_TAG])
def media_segment(token: str, recording_id: PathId, ctx: Ctx = gate(scope="media")) -> Response:
    def serve(s: Session, vs: ViewingSession, scope: records.Scope) -> Response | None:
        rec = s.get(Recording, recording_id)
        if rec is None or not _segment_allowed(rec, vs, scope):
            return None
        try:  # R1.3: never sound; the index's version, hashed before it is served
            stream, size = open_segment(ctx.vault.storage, rec.storage_key, rec.version_id,
                                        rec.sha256, sound_checked(rec))
        except Tampered as exc:
            return tampered(ctx, s, exc, rec)
        records.served(s, vs, f"segment {rec.id}", ctx.client, size, rec.id)
        return streamed(stream, size, "video/mp2t")

    # The segment is hashed and checked for sound (tens of ms for 10 s of 4 Mbit/s) outside
    # the write transaction: on SQLite that holds the one write lock, and 50 viewers' segments
    # queued behind each other's hashing (bench/playback.py). The checks are made in a read
    # first, so nothing is read for a request that will be refused, and again in the write
    # that records the access, so a right revoked or a segment swept meanwhile is refused.
    wanted = _segment_to_open(ctx, token, recording_id)
    if wanted is None:  # refused or not servable: said and recorded as always
        return guarded(ctx, token, None, serve)
    key, version, sha256, checked = wanted
    try:
        stream, size = open_segment(ctx.vault.storage, key, version, sha256, checked)
    except (Tampered, OSError):  # the tamper audit (or the store's error) as always
        return guarded(ctx, token, None, serve)

    def record(s: Session, vs: ViewingSession, scope: records.Scope) -> Response | None:
        rec = s.get(Recording, recording_id)
        if rec is None or not _segment_allowed(rec, vs, scope) \
                or (rec.storage_key, rec.version_id, rec.sha256, sound_checked(rec)) != wanted:
            return None
        records.served(s, vs, f"segment {rec.id}", ctx.client, size, rec.id)
        return streamed(stream, size, "video/mp2t")

    try:
        answer = guarded(ctx, token, None, record)
    except BaseException:
        stream.close()
        raise
    if not isinstance(answer, StreamingResponse):  # refused now: nothing is sent
        stream.close()
    return answer


AUDIO_TYPES = {".wav": "audio/wav", ".mp3": "audio/mpeg", ".ogg": "audio/ogg",
               ".gsm": "audio/x-gsm"}


@router.get("/media/{token}/audio", name="media_audio", tags=[MEDIA_TAG])
def media_audio(token: str, ctx: Ctx = gate(scope="media")) -> Response:
    def serve(s: Session, vs: ViewingSession, scope: records.Scope) -> Response | None:
        rec = scope.recording
        if rec is None:
            return None
        # A call may last an hour: not hashed before it is served (the first bytes would
        # wait for the last), but read at the version the index hashed at intake, which a
        # write with the app's credentials cannot replace.
        storage, version = ctx.vault.storage, rec.version_id
        stream = storage.open(rec.storage_key, version=version)
        size = storage.stat(rec.storage_key, version=version).size
        records.served(s, vs, f"call {rec.id}", ctx.client, size, rec.id)
        suffix = PurePosixPath(rec.storage_key).suffix.lower()
        return streamed(stream, size, AUDIO_TYPES.get(suffix, "application/octet-stream"))
    return guarded(ctx, token, "listening", serve)


@router.get("/media/{token}/copy.zip", name="media_copy", tags=[MEDIA_TAG])
def media_copy(token: str, ctx: Ctx = gate(scope="media")) -> Response:
    from kustosz.custody.bundles import write_zip

    def serve(s: Session, vs: ViewingSession, scope: records.Scope) -> Response | None:
        copy = scope.copy
        if copy is None:
            return None
        # A data subject's masked copy leaves the vault only once a second person watched and
        # approved it (R6.2): the download is refused like the handover, and recorded.
        from kustosz.custody.subject_review import handover_refusal
        from kustosz.db.custody import Request as CustodyRequest

        request = s.get(CustodyRequest, copy.request_id)
        unreviewed = handover_refusal(copy, request.kind if request else "")
        if unreviewed is not None:
            audit(s, ctx.user.name if ctx.user else "anonymous", "copy.download.refused",
                  f"copy {copy.number}", {"viewing": vs.id, "review_state": copy.review_state})
            return JSONResponse({"detail": str(unreviewed), "detail_pl": unreviewed.pl},
                                status_code=409, headers=NO_STORE)
        tmp = Path(tempfile.mkdtemp(prefix="kustosz-dl-"))
        out = tmp / f"kopia-{copy.number.replace('/', '-')}.zip"
        write_zip(ctx.vault.root / copy.bundle, out, None)
        records.served(s, vs, f"copy {copy.number}", ctx.client, out.stat().st_size)
        import shutil

        return FileResponse(out, media_type="application/zip", filename=out.name,
                            headers=NO_STORE,
                            background=BackgroundTask(shutil.rmtree, tmp, True))
    return guarded(ctx, token, "export", serve)


# -- stating the purpose ------------------------------------------------------------------
def _parse_local(text: str | None, ctx: Ctx, field: str) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise FieldError(field, "Nieprawidłowa data i godzina.") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ctx.vault.policy.timezone)
    return value


def _int(text: Any, field: str) -> int | None:
    if text in (None, ""):
        return None
    try:
        value = int(str(text).strip())
    except ValueError:
        raise FieldError(field, "Podaj liczbę.") from None
    if not 1 <= value <= DB_INT_MAX:  # the database could not even look it up
        raise FieldError(field, "Nie ma takiego numeru.")
    return value


def _text(data: dict[str, Any], name: str) -> str | None:
    """A free-text field of a form or a JSON body (JSON may carry a number or a list)."""
    value = data.get(name)
    return None if value is None else value if isinstance(value, str) else str(value)


def _asked(data: dict[str, Any]) -> str:
    """What a refused start asked for, as typed (the register's "what"); not looked up, so
    an address off the allow-list learns nothing of what exists."""
    for key, prefix in (("source", "source"), ("recording", "recording"), ("copy", "copy")):
        value = _text(data, key)
        if value:
            return f"{prefix} {value[:100]}"
    return "/media/start"


def start_viewing(ctx: Ctx, data: dict[str, Any]) -> str:
    """Open a viewing session from form or JSON fields; returns the token. FieldError on bad
    input, records.Refused when no authorisation opens the material."""
    user = ctx.need_user()
    action = str(data.get("action") or "")
    if action not in ACTIONS:
        raise FieldError("action", "Nieznana czynność.")
    listening.check_purpose(ctx.vault.policy, action, _text(data, "purpose"))  # 001 §3.1
    blocked = None
    with ctx.vault.transaction() as s:
        if not allowlist.allowed(s, ctx.client):
            blocked = refuse(ctx, s, records.Refused(records.Reason.WORKSTATION,
                                                     {"client": ctx.client}), action=action,
                             subject=_asked(data))
    if blocked is not None:  # committed above: the refused attempt is on record
        raise blocked.refused
    source = recording = copy = None
    window = None
    with ctx.vault.transaction() as s:
        if action in SOURCE_OF:
            kind, missing = SOURCE_OF[action]
            source = s.execute(select(Source).where(Source.name == str(data.get("source") or ""),
                                                    Source.kind == kind)).scalar_one_or_none()
            if source is None:
                raise FieldError("source", missing)
        if action in ("playback", *ROW_REVIEWS):
            start = _parse_local(data.get("from"), ctx, "from")
            end = _parse_local(data.get("to"), ctx, "to")
            if start is None:
                raise FieldError("from", "Podaj początek okresu.")
            if end is None:
                raise FieldError("to", "Podaj koniec okresu.")
            window = (start, end)
        if action == "listening":
            rid = _int(data.get("recording"), "recording")
            recording = s.get(Recording, rid) if rid else None
            if recording is None:
                raise FieldError("recording", "Nie ma takiego nagrania rozmowy.")
        if action == "export":
            copy = s.execute(select(Copy).where(Copy.number == str(data.get("copy") or ""))) \
                .scalar_one_or_none()
            if copy is None:
                raise FieldError("copy", "Nie ma takiej kopii.")
        opened = records.try_open(
            s, user=user, action=action, client=ctx.client, purpose=_text(data, "purpose"),
            case_ref=_text(data, "case_ref"),
            request_id=_int(data.get("request_id"), "request_id"),
            witness=_text(data, "witness"), source=source, recording=recording, copy=copy,
            window=window)
    if isinstance(opened, records.Refused):  # its audit entry is committed above
        raise opened
    return opened


def start_problems(ctx: Ctx, form: dict[str, str]) -> dict[str, str]:
    """Everything wrong with the start form's own fields, by field (the domain, records.
    try_open, stops at the first; a person fixes the form once). The same rules, same words."""
    from kustosz.limits import check_text

    action = form.get("action", "")
    errors: dict[str, str] = {}
    if action not in ACTIONS:
        return errors
    for name in ("purpose", "case_ref"):
        try:
            check_text(name, form.get(name) or None)
        except FieldError as exc:
            errors[name] = ctx.said(exc)
    try:  # who is named: one of the office's people, not the viewer (R3.4)
        with ctx.vault.reading() as s:
            records.witness_for(action, form.get("witness"), s, ctx.user)
    except FieldError as exc:
        errors["witness"] = ctx.said(exc)
    if action != "live" and not form.get("purpose", "").strip():
        errors.setdefault("purpose", "Podaj cel dostępu.")
    try:
        request_id = _int(form.get("request_id"), "request_id")
    except FieldError as exc:
        errors["request_id"] = ctx.said(exc)
        request_id = 0
    if action in records.REVIEWS and not form.get("case_ref", "").strip() and not request_id:
        errors.setdefault("case_ref", "Podaj sprawę lub numer wniosku, któremu służy dostęp.")
    if action in ("playback", *ROW_REVIEWS):
        ends: dict[str, datetime | None] = {}
        for name, missing in (("from", "Podaj początek okresu."),
                              ("to", "Podaj koniec okresu.")):
            try:
                ends[name] = _parse_local(form.get(name), ctx, name)
            except FieldError as exc:
                errors[name] = ctx.said(exc)
                continue
            if ends[name] is None:
                errors[name] = missing
        start, end = ends.get("from"), ends.get("to")
        if start is not None and end is not None and end <= start:
            errors["to"] = "Koniec okresu musi być po jego początku."
    return errors


def witness_choices(ctx: Ctx) -> list[tuple[str, list[tuple[str, str]]]]:
    """The people a form offers as the person present (records.witness_choices), in groups;
    a template global (the start form, the mask form's still frame)."""
    with ctx.vault.reading() as s:
        return records.witness_choices(s, ctx.user)


TEMPLATES.env.globals["witness_choices"] = witness_choices


@router.get("/media/start", include_in_schema=False)
def start_form(request: Request, ctx: Ctx = gate()) -> Response:
    ctx.need_user()
    form = dict(request.query_params)
    return page(ctx, "start.html", form=form, actions=ACTIONS)


@router.post("/media/start", include_in_schema=False)
async def start_post(request: Request, ctx: Ctx = gate()) -> Response:
    ctx.need_user()
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    try:
        token = start_viewing(ctx, form)
    except FieldError as exc:  # every problem of the form at once, each at its field
        errors = {exc.field: ctx.said(exc), **start_problems(ctx, form)}
        errors[exc.field] = ctx.said(exc)
        return page(ctx, "start.html", 422, form=form, errors=errors, actions=ACTIONS)
    except records.Refused as exc:
        return refusal_answer(ctx, exc, template="start.html", form=form, actions=ACTIONS)
    except KustoszError as exc:
        return page(ctx, "start.html", 422, form=form, actions=ACTIONS, error=ctx.said(exc))
    return redirect(f"/view/{token}")


@router.post("/api/media/sessions", tags=["api"])
async def api_start(request: Request, ctx: Ctx = gate(scope="media")) -> Response:
    if ctx.user is None:
        return JSONResponse({"detail": "not authenticated"}, status_code=401)
    try:
        data = await request.json()
    except ValueError:
        return JSONResponse({"detail": "body must be JSON"}, status_code=400)
    try:
        token = start_viewing(ctx, data if isinstance(data, dict) else {})
    except FieldError as exc:
        return JSONResponse({"detail": [{"loc": ["body", exc.field], "field": exc.field,
                                         "msg": str(exc), "type": "value_error"}]},
                            status_code=422)
    except records.Refused as exc:
        return refusal_answer(ctx, exc)
    except KustoszError as exc:  # e.g. a text over its limit
        return JSONResponse({"detail": str(exc)}, status_code=422)
    base = f"/media/{token}"
    return JSONResponse({"token": token, "view": f"/view/{token}",
                         "urls": {"playback": f"{base}/vod.m3u8", "live": f"{base}/live.m3u8",
                                  "listening": f"{base}/audio",
                                  "export": f"{base}/copy.zip", "mail": f"{base}/mail",
                                  "events": f"{base}/events", "calls": f"{base}/calls"
                                  }[str(data.get("action"))]},
                        status_code=201)


def gaps_in(s: Session, source: Source, start: datetime, end: datetime,
            recs: Sequence[Span], edges: bool = True) -> list[tuple[datetime, datetime, str]]:
    """Gaps to show: recorded by the recorder (camera_gaps) and holes between segments (with
    ``edges``, also before the first and after the last segment of the period)."""
    out = [(max(g.start_at, start), min(g.end_at or end, end), CAUSES_PL.get(g.cause, g.cause))
           for g in s.execute(select(Gap).where(
               Gap.source_id == source.id, Gap.start_at <= end,
               (Gap.end_at.is_(None)) | (Gap.end_at >= start))).scalars()]
    edge = start if edges or not recs else recs[0].start_at
    for r in recs:
        if (r.start_at - edge).total_seconds() > GAP_TOLERANCE_S:
            out.append((edge, r.start_at, "brak nagrań"))
        edge = max(edge, r.end_at)
    if edges and (end - edge).total_seconds() > GAP_TOLERANCE_S:
        out.append((edge, end, "brak nagrań"))
    return sorted(out)


@router.get("/view/{token}", include_in_schema=False)
def view(token: str, ctx: Ctx = gate()) -> Response:
    ctx.need_user()
    refused = None
    with ctx.vault.transaction() as s:
        try:
            vs, scope = guard(ctx, s, token)
        except Blocked as exc:
            vs, refused = None, exc.refused
        if vs is not None:
            data: dict[str, Any] = {"vs": vs, "scope": scope, "token": token,
                                    "actions": ACTIONS}
            if vs.action == Action.PLAYBACK and vs.window_start and vs.window_end:
                recs = _window_recs(s, vs, scope.sources[0])
                data["recs"] = recs
                data["gaps"] = gaps_in(s, scope.sources[0], vs.window_start, vs.window_end,
                                       recs)
            if vs.action == Action.LISTENING and scope.recording is not None:
                data["call"] = s.get(Call, scope.recording.id)
                # the protocol's persons: the one listening and the person present (R3.4)
                from kustosz.access.users import printed

                data["listeners"] = records.with_witness(printed(s, vs.user_name), vs)
                if ctx.request.query_params.get("protocol") == "missing":  # 001 §3 ust. 3
                    data["error"] = listening.close_refused(s, ctx.vault.policy, vs)
    if vs is not None and vs.action in ROW_REVIEWS:
        return redirect(f"/media/{token}/{vs.action}")  # the search page, itself recorded
    if refused is not None:
        return refusal_answer(ctx, refused)
    return page(ctx, "view.html", **data)


@router.post("/view/{token}/end", include_in_schema=False)
async def view_end(token: str, request: Request, ctx: Ctx = gate()) -> Response:
    ctx.need_user()
    with ctx.vault.transaction() as s:
        vs = s.execute(select(ViewingSession).where(
            ViewingSession.token_hash == token_digest(token))).scalar_one_or_none()
        if vs is not None and ctx.user is not None and vs.user_id == ctx.user.id:
            # 001 §3.3: where the office requires it, no listening closes without its protocol
            not_yet = listening.close_refused(s, ctx.vault.policy, vs)
            if not_yet is not None and vs.ended_at is None:
                return redirect(f"/view/{token}?protocol=missing")  # said there, as an error
            records.end_viewing(s, vs)
            audit(s, ctx.user.name, "access.close", f"viewing {vs.id}",
                  {"served": vs.served, "bytes": vs.bytes_served})
    return redirect("/")


# -- the access register (R6.3 supervision): accesses and refused attempts --------------------
SHOW_PL = {"all": "wszystkie wpisy", "access": "tylko dostępy", "refused": "tylko odmowy"}
PAGE_ROWS = 200  # the newest lines the page shows
CSV_ROWS = 20000  # and the download


def access_register(ctx: Ctx) -> Response:
    """/access-log (its route is in pages.py): viewing sessions and refused attempts, newest
    first, filtered by ``show`` (all | access | refused) and ``reason`` (a refusal code). An
    unknown filter value is said on the page (422), and everything is shown."""
    ctx.need("oversight")
    show = ctx.request.query_params.get("show") or "all"
    code = ctx.request.query_params.get("reason") or ""
    errors: dict[str, str] = {}
    if show not in SHOW_PL:
        errors["show"] = "Nieznany rodzaj wpisów — wybierz z listy."
        show = "all"
    reason = None
    if code:
        try:
            reason = records.Reason(code)
        except ValueError:
            errors["reason"] = "Nieznany powód odmowy — wybierz z listy."
    if reason is not None:
        show = "refused"
    as_csv = ctx.request.query_params.get("format") == "csv"
    from kustosz.custody.registers import CSV_FORMS_PL, csv_form

    form_csv, csv_error = "excel", None
    if as_csv:
        try:
            form_csv = csv_form(ctx.request.query_params.get("csv"))
        except FieldError as exc:
            csv_error = ctx.said(exc)
    with ctx.vault.reading() as s:
        rows = records.register(s, ctx.vault.policy.timezone, show, reason,
                                limit=CSV_ROWS if as_csv else PAGE_ROWS)
        names = {x.id: x.name for x in s.execute(select(Source)).scalars()}
        people = {u.name: u.display_name for u in s.execute(select(User)).scalars()}
        copies = {i: n for i, n in s.execute(select(Copy.id, Copy.number))}
    for r in rows:
        if r.refused:
            r.what = asked_pl(r.what)
    form = {"show": show, "reason": reason.value if reason else ""}
    if as_csv and not errors and csv_error is None:
        return Response(_register_csv(ctx, rows, names, people, copies, form_csv),
                        media_type="text/csv; charset=utf-8",
                        headers={**NO_STORE, "Content-Disposition":
                                 'attachment; filename="rejestr-dostepu.csv"'})
    return page(ctx, "access_log.html", 422 if errors or csv_error else 200, rows=rows,
                names=names, copies=copies, error=csv_error,
                actions=ACTIONS, shows=SHOW_PL, reasons=records.REASONS, form=form,
                reason_options=[(r.value, w.label) for r, w in records.REASONS.items()],
                errors=errors, refused_count=sum(1 for r in rows if r.refused), people=people,
                csv_query=urlencode({k: v for k, v in {**form, "format": "csv"}.items() if v}),
                csv_forms=CSV_FORMS_PL)


# What a refused request asked for, said as a person would (records keeps the address's
# last part: "materiał (sesja nr 7): vod.m3u8").
_ASKED = re.compile(r"^(materiał|strona przeglądu) \((sesja nr \d+|nieznana sesja)\)"
                    r"(?:: (.*))?$")
_ASKED_PARTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^vod\.m3u8$"), "lista odtwarzania nagrania"),
    (re.compile(r"^live\.m3u8$"), "lista odtwarzania podglądu na żywo"),
    (re.compile(r"^segment/(\d+)\.ts$"), "segment nagrania nr {0}"),
    (re.compile(r"^audio$"), "nagranie rozmowy (dźwięk)"),
    (re.compile(r"^copy\.zip$"), "kopia (ZIP)"),
    (re.compile(r"^mail/(\d+)\.eml$"), "wiadomość e-mail nr {0}"),
    (re.compile(r"^mail$"), "wyszukiwanie w poczcie"),
    (re.compile(r"^events/(\d+)$"), "zdarzenie IT nr {0}"),
    (re.compile(r"^events$"), "wyszukiwanie w zdarzeniach IT"),
    (re.compile(r"^calls$"), "wyszukiwanie rozmów"),
    (re.compile(r"^end$"), "zakończenie przeglądu"),
    (re.compile(r"^protocol$"), "protokół odsłuchania"),
)


def asked_pl(what: str) -> str:
    """"materiał (nieznana sesja): vod.m3u8" -> "lista odtwarzania nagrania (nieznana
    sesja)"; anything else as it is."""
    found = _ASKED.match(what)
    if not found:
        return what
    kind, session, rest = found.groups()
    thing = "strona przeglądu" if kind == "strona przeglądu" and not rest else "materiał"
    for pattern, words in _ASKED_PARTS:
        part = pattern.match(rest or "")
        if part:
            thing = words.format(*part.groups())
            break
    else:
        if rest:
            thing = f"{thing}: {rest}"
    return f"{thing} ({session})"


def _register_csv(ctx: Ctx, rows: list[records.RegisterRow], names: dict[int, str],
                  people: dict[str, str], copies: dict[int, str], form: str) -> bytes:
    """The register as shown, for a spreadsheet in ``form`` (registers.CSV_FORMS; cells
    that would start a formula are neutralised: purposes and cases are typed by people)."""
    from kustosz.custody.registers import csv_bytes

    tz = ctx.vault.policy.timezone

    def when(value: datetime | None) -> str:
        return value.astimezone(tz).strftime("%d.%m.%Y %H:%M:%S") if value else ""

    def who(name: str) -> str:
        return f"{people[name]} ({name})" if name in people else name

    lines: list[list[object]] = []
    for r in rows:
        v = r.viewing
        if v is None:
            cells = [when(r.at), "", who(r.user_name), ACTIONS.get(r.action or "", r.action or ""),
                     r.what, "odmowa", records.REASONS[r.reason].label if r.reason else "",
                     r.reason_pl, "", "", "", "", r.client, ""]
        else:
            what = ", ".join(x for x in (
                names.get(v.source_id or 0, ""),
                f"nagranie rozmowy nr {v.recording_id}" if v.recording_id else "",
                f"kopia nr {copies.get(v.copy_id, v.copy_id)}" if v.copy_id else "") if x)
            if v.window_start and v.window_end:
                what += f" ({span_pl(v.window_start, v.window_end, tz, seconds=True)})"
            cells = [when(v.started_at), when(v.last_at), who(v.user_name),
                     ACTIONS.get(v.action, v.action), what, f"dostęp (sesja nr {v.id})", "", "",
                     v.purpose, v.case_ref or "", v.request_id or "", records.witness_shown(v),
                     v.client, v.served]
        lines.append(cells)
    return csv_bytes(["Od", "Do", "Kto", "Czynność", "Co", "Wynik", "Powód odmowy",
                      "Szczegóły odmowy", "Cel", "Sprawa", "Wniosek", "Obecny", "Stanowisko",
                      "Pobrań"], lines, form)
