"""Downloads of a viewing session: a call's audio (listening) and a copy's ZIP (export)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path, PurePosixPath

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from kustosz.access import records
from kustosz.audit import append as audit
from kustosz.custody.bundles import write_zip
from kustosz.custody.subject_review import handover_refusal
from kustosz.db.access import ViewingSession
from kustosz.db.custody import Request as CustodyRequest
from kustosz.web.byte_ranges import BadRange, bad_range, byte_span, parse_range
from kustosz.web.common import Ctx
from kustosz.web.gate import gate
from kustosz.web.media import MEDIA_TAG, NO_STORE, guarded
from kustosz.web.media_recheck import Watch
from kustosz.web.media_streams import streamed

router = APIRouter()
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
        what = f"call {rec.id}"
        records.served(s, vs, what, ctx.client, size, rec.id)
        suffix = PurePosixPath(rec.storage_key).suffix.lower()
        return streamed(stream, size, AUDIO_TYPES.get(suffix, "application/octet-stream"),
                        Watch(ctx, token, "listening", what))
    return guarded(ctx, token, "listening", serve)


@router.get("/media/{token}/copy.zip", name="media_copy", tags=[MEDIA_TAG])
def media_copy(token: str, request: Request, ctx: Ctx = gate(scope="media")) -> Response:
    """A copy's bundle as one ZIP. A download cut short is resumed with one byte range (the
    ZIP of a bundle is the same each time: stored, its files' own dates); its access record
    holds the bytes of the range."""
    try:
        spec = parse_range(request.headers.get("range"))
    except BadRange as exc:
        return bad_range(exc)

    def serve(s: Session, vs: ViewingSession, scope: records.Scope) -> Response | None:
        copy = scope.copy
        if copy is None:
            return None
        # A data subject's masked copy leaves the vault only once a second person watched and
        # approved it (R6.2): the download is refused like the handover, and recorded.
        request = s.get(CustodyRequest, copy.request_id)
        unreviewed = handover_refusal(copy, request.kind if request else "")
        if unreviewed is not None:
            audit(s, ctx.user.name if ctx.user else "anonymous", "copy.download.refused",
                  f"copy {copy.number}", {"viewing": vs.id, "review_state": copy.review_state})
            return JSONResponse({"detail": str(unreviewed), "detail_pl": unreviewed.pl},
                                status_code=409, headers=NO_STORE)
        tmp = Path(tempfile.mkdtemp(prefix="kustosz-dl-"))
        try:
            out = tmp / f"kopia-{copy.number.replace('/', '-')}.zip"
            write_zip(ctx.vault.root / copy.bundle, out, None)
            size = out.stat().st_size
            try:
                start, end = byte_span(spec, size)
            except BadRange as exc:
                shutil.rmtree(tmp, True)
                return bad_range(exc, size)
            what = f"copy {copy.number}"
            records.served(s, vs, what, ctx.client, end - start)
            stream = out.open("rb")
        except BaseException:
            shutil.rmtree(tmp, True)
            raise
        stream.seek(start)
        headers = {"Accept-Ranges": "bytes",
                   "Content-Disposition": f'attachment; filename="{out.name}"'}
        if spec is not None:
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        response = streamed(stream, end - start, "application/zip",
                            Watch(ctx, token, "export", what),
                            status_code=206 if spec is not None else 200, headers=headers)
        response.background = BackgroundTask(shutil.rmtree, tmp, True)
        return response
    return guarded(ctx, token, "export", serve)
