"""The frames of a data subject's masked copy where the check of its output found the highest
scores of a face other than the requester's (issue 28 item 1, masking.residual), shown to the
copy's reviewer on the review page as small pictures.

A picture is cut from the masked file itself, so it is media: served only through the media
gate under the reviewer's viewing session of that copy (the export authorisation opened on
the review page), to the same person the video itself plays for (custody.subject_review.
may_play), each one an access record."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy.orm import Session

from kustosz.access import records
from kustosz.custody import subject_review as sr
from kustosz.db.access import ViewingSession
from kustosz.masking import residual
from kustosz.web.common import Ctx
from kustosz.web.gate import gate
from kustosz.web.media import MEDIA_TAG, NO_STORE, guarded, refusal_answer, refuse
from kustosz.web.params import PathId

router = APIRouter(include_in_schema=False)


def _videos(copy: object) -> list[str]:
    return [str(src["path"]) for src in getattr(copy, "sources", None) or []
            if str(src.get("path", "")).endswith(".mp4")]


@router.get("/media/{token}/residual/{number}/{k}.jpg", name="media_copy_residual",
            tags=[MEDIA_TAG])
def media_copy_residual(token: str, number: PathId, k: PathId,
                        ctx: Ctx = gate(scope="media")) -> Response:
    """The ``k``-th frame the check recorded for the copy's ``number``-th video, the face it
    found outlined."""
    def serve(s: Session, vs: ViewingSession, scope: records.Scope) -> Response | None:
        copy = scope.copy
        if copy is None:
            return None
        files = _videos(copy)
        if not 1 <= number <= len(files):
            return None
        source = next(src for src in copy.sources if src.get("path") == files[number - 1])
        frames = (residual.verification(source) or {}).get("worst_frames") or []
        if not 1 <= k <= len(frames):
            return None
        why = sr.may_play(s, copy, ctx.need_user().name)
        if why is not None:
            state = copy.review_state or ""
            refused = refuse(ctx, s, records.Refused(records.Reason.REVIEW_ONLY, {
                "copy": copy.number, "state": state,
                "state_pl": sr.REVIEW_PL.get(state, state), "viewing": vs.id,
                "action": vs.action}), token, vs.action).refused
            return refusal_answer(ctx, refused)
        w = residual.worst_frame(source, k)
        jpeg = residual.thumbnail(ctx.vault.root / copy.bundle / files[number - 1],
                                  int(w["frame"]), list(w["box"]))
        records.served(s, vs, f"{sr.served_what(copy, files[number - 1])} frame "
                              f"{w['frame']}", ctx.client, len(jpeg))
        return Response(jpeg, media_type="image/jpeg", headers=NO_STORE)
    return guarded(ctx, token, "export", serve)
