"""The page of an open viewing session (/view/{token}): the player and the period's gaps for
playback, the call and its protocol's persons for listening; and its end."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from kustosz.access import listening, records
from kustosz.access.authorisations import ACTIONS
from kustosz.access.users import printed
from kustosz.audit import append as audit
from kustosz.cameras.onvif_metadata import MARK_WORDS, marks_between
from kustosz.db.access import ViewingSession
from kustosz.db.calls import Call
from kustosz.digests import token_digest
from kustosz.kinds import Action
from kustosz.web.camera_silence import silence_of
from kustosz.web.codec_notes import camera_codec, period_codec
from kustosz.web.common import Ctx, page, redirect
from kustosz.web.gate import gate
from kustosz.web.media import ROW_REVIEWS, Blocked, guard, refusal_answer
from kustosz.web.media_playlists import gaps_in, window_recs

router = APIRouter()


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
                recs = window_recs(s, vs, scope.sources[0])
                data["recs"] = recs
                data["gaps"] = gaps_in(s, scope.sources[0], vs.window_start, vs.window_end,
                                       recs)
                # what the camera reported itself over the period (ONVIF events, issue 34)
                data["marks"] = marks_between(s, scope.sources[0].id, vs.window_start,
                                              vs.window_end)
                data["mark_words"] = MARK_WORDS
                data["codec"] = period_codec(s, recs)  # the player shows nothing of it
            if vs.action == Action.LIVE and scope.sources:
                data["codec"] = camera_codec(s, scope.sources[0].id)
                data["silent"] = silence_of(s, scope.sources[0].id)  # said before it plays
            if vs.action == Action.LISTENING and scope.recording is not None:
                data["call"] = s.get(Call, scope.recording.id)
                # the protocol's persons: the one listening and the person present (R3.4)
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
            relays = ctx.request.app.state.live_relays
            if relays is not None:
                relays.forget(vs.token_hash)  # its token keeps no camera's relay alive
            audit(s, ctx.user.name, "access.close", f"viewing {vs.id}",
                  {"served": vs.served, "bytes": vs.bytes_served})
    return redirect("/")
