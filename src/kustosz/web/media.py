"""The media routes' shared core. Every media route — the HLS playlists (media_playlists.py)
and segments (media_streams.py), call audio and copy downloads (media_downloads.py), and the
reviews of mail, IT events and calls, a copy's video and frames elsewhere in web/ — is tagged
"media" and passes `guard`: the workstation allow-list (R3.5), the login, the viewing
session's owner and an authorisation active now (R3.2); every answer with bytes leaves an
access entry (DESIGN invariant 2). A viewing session is opened by stating its purpose
(media_start.py) and shown by media_view.py; the register of accesses is media_register.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from kustosz import kinds
from kustosz.access import allowlist, records
from kustosz.db.access import ViewingSession
from kustosz.db.models import Recording
from kustosz.ingest.files import SOUND_CHECKED
from kustosz.web.common import Ctx, page
from kustosz.web.prefix import route_path

MEDIA_TAG = "media"
# The actions each media route serves (the authorisation-matrix test reads this).
ROUTE_ACTIONS: dict[str, tuple[str, ...]] = {
    "media_vod": ("playback",), "media_live": ("live",),
    "media_segment": ("playback", "live"), "media_audio": ("listening",),
    # web/media_live_sub.py: a part of the live view from the camera's sub-stream (issue 34)
    "media_live_sub": ("live",),
    # web/media_live_stream.py: the same sub-stream as fragmented MP4 (issue 52)
    "media_live_mp4": ("live",),
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
NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}

# What a media route serves once the request is admitted, in the transaction that records
# the access: its answer, or None for material outside the viewing's scope (refused).
Serve = Callable[[Session, ViewingSession, records.Scope], Response | None]


class Blocked(Exception):
    """403 for a media request; already written to the audit log. ``refused`` names the
    condition that failed."""

    def __init__(self, refused: records.Refused) -> None:
        super().__init__(refused.reason)
        self.refused = refused


def _subject(ctx: Ctx, s: Session, token: str) -> str:
    """The refused address for the audit log, with the session's number for its token."""
    vs = records.viewing_of(s, token) if token else None
    path = route_path(ctx.request.scope)
    return path.replace(token, f"<viewing {vs.id}>" if vs else "<unknown>") if token else path


def refuse(ctx: Ctx, s: Session, refused: records.Refused, token: str = "",
           action: str | None = None, subject: str | None = None) -> Blocked:
    """Record a refused attempt (committed with the transaction) and say which condition
    failed; raise what this returns."""
    records.log_refusal(s, ctx.user.name if ctx.user else "anonymous",
                        subject or _subject(ctx, s, token), refused, client=ctx.client,
                        action=action or refused.facts.get("action"))
    return Blocked(refused)


def admission(ctx: Ctx, s: Session, token: str, action: str | None = None
              ) -> tuple[ViewingSession, records.Scope] | records.Refused:
    """The viewing session and its scope if this request may be served now, else the first
    condition that failed, not yet recorded (`guard` records it; a check made ahead of the
    one that counts only looks)."""
    if not allowlist.allowed(s, ctx.client):
        return records.Refused(records.Reason.WORKSTATION, {"client": ctx.client})
    if ctx.must_change:
        return records.Refused(records.Reason.PASSWORD)
    try:
        return records.admit(s, token, ctx.user, action)
    except records.Refused as exc:
        return exc


def guard(ctx: Ctx, s: Session, token: str, action: str | None = None
          ) -> tuple[ViewingSession, records.Scope]:
    """`admission`, with a refusal recorded and raised as `Blocked`."""
    admitted = admission(ctx, s, token, action)
    if isinstance(admitted, records.Refused):
        raise refuse(ctx, s, admitted, token, action)
    return admitted


def wants_page(ctx: Ctx) -> bool:
    """A person's browser asking for a page (not the API, a player or a script)."""
    path = route_path(ctx.request.scope)
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


def guarded(ctx: Ctx, token: str, action: str | None, serve: Serve) -> Response:
    """Check, serve and record in one transaction; a refusal is committed with its audit."""
    with ctx.vault.transaction() as s:
        try:
            vs, scope = guard(ctx, s, token, action)
        except Blocked as exc:
            refused = exc.refused
        else:
            answer = serve(s, vs, scope)
            if answer is not None:
                return answer  # committed as the transaction closes, before it is sent
            refused = refuse(ctx, s, records.Refused(
                records.Reason.OUTSIDE_SCOPE, {"viewing": vs.id}), token, vs.action).refused
    return refusal_answer(ctx, refused)


def sound_checked(rec: Recording) -> bool:
    """Whether the intake checked this row's content and found no sound: its mark names the
    SHA-256 it checked, and only the index's own SHA-256 counts (a row whose content was
    replaced, or a mark written by anything but the intake, is probed as before). The
    content served is hashed against that SHA-256 first (media_streams.open_segment).

    Here, not beside the segment route, because this is the web's one reader of the mark:
    tests/web/test_web_sound_checked.py holds every module that names it to the intake's
    and this one."""
    mark = (rec.meta or {}).get(SOUND_CHECKED)
    return isinstance(mark, str) and rec.sha256 is not None and mark == rec.sha256
