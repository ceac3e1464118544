"""What the live view's player asks when its picture stops (issue 65 item 1): is the view over,
and why — or is the camera silent, and since when.

`GET /view/{token}/state` answers the page's player in the reader's language: ``ended`` (the
sentence, what to do) when the view may not go on — the gate's conditions as the media routes
ask them (`media.admission`: the allow-list, the viewing session, the authorisation, the role),
the camera no longer watchable (`media_live_sub.why_not_watched`), or the sign-in ended, with
what ended it (`access/lapse.py`: signed out, a password reset, the account disabled…); else
``camera``, the camera's silence as the vault knows it (web/camera_silence.py), or null. A live
stream that access ended ends within its re-check (web/media_recheck.py); the player then asks
here and says why, instead of trying again for ever.

The route answers after the sign-in has ended — that is when the player needs it — so it
passes the gate as a public route (no API tokens). It shows no material and no camera's state
to anyone but the viewing session's owner: a request without a sign-in is told what ended its
sign-in only when its cookie is the owner's own (ended) session, else only "not signed in";
another person's sign-in is told the session is not theirs. Nothing is recorded: no byte of
material leaves, and asking is not an attempt at material (the stream's refusal is recorded)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from kustosz.access import lapse, records
from kustosz.db.access import ViewingSession, WebSession
from kustosz.digests import token_digest
from kustosz.kinds import Action
from kustosz.web.camera_silence import silence_of, silence_said
from kustosz.web.common import SESSION_COOKIE, Ctx
from kustosz.web.gate import public
from kustosz.web.i18n import translate
from kustosz.web.media import NO_STORE, admission
from kustosz.web.media_live_sub import why_not_watched

router = APIRouter()

ENDED_PL = "Podgląd zakończony: {why}"
SIGNED_OUT_PL = "Podgląd zakończony: {why}. Zaloguj się ponownie, aby oglądać dalej."
NOT_WATCHED_PL = "Podgląd zakończony: {why}."
NO_COOKIE = "signed out in this browser"
# What ended a sign-in (access/lapse.py, in English), as the person is told it.
LAPSES_PL: dict[str, str] = {
    "no sign-in": "nie jesteś zalogowany",
    NO_COOKIE: "wylogowano się w tej przeglądarce",
    "sign-in ended: signed out": "wylogowano się",
    "sign-in ended: signed in again": "zalogowano się ponownie w innym oknie",
    "sign-in ended: password reset": "administrator nadał nowe hasło jednorazowe",
    "sign-in ended: password change": "hasło konta zostało zmienione",
    "sign-in ended: account disabled": "konto zostało wyłączone",
    "sign-in ended: roles changed": "role konta zostały zmienione",
    "sign-in ended: directory login changed": "zmieniono logowanie przez katalog (LDAP)",
    "sign-in ended: contractor agreement changed": "zmieniono umowę powierzenia",
    "account removed": "konto zostało usunięte",
    "account disabled": "konto zostało wyłączone",
    "sign-in expired": "logowanie wygasło (minął najdłuższy czas sesji)",
}
LAPSED_PL = "logowanie straciło ważność"
_IDLE = re.compile(r"^sign-in idle for (\d+) minutes$")
_AGREEMENT = re.compile(r"^contractor's processing agreement (.+) over$")


def _lapse_pl(said: str) -> str:
    if said in LAPSES_PL:
        return LAPSES_PL[said]
    if m := _IDLE.match(said):
        return f"sesja wygasła po {m.group(1)} minutach bez aktywności"
    if m := _AGREEMENT.match(said):
        return f"umowa powierzenia nr {m.group(1)} wygasła"
    return LAPSED_PL


def _signed_out(ctx: Ctx, s: Session, vs: ViewingSession | None) -> dict[str, str]:
    """Why a request without a sign-in has none: what ended it, said only to the viewing's
    owner's own cookie. No cookie at all: this browser signed out (the sign-out deletes it,
    in this window or another; the cookie lives as long as the browser otherwise)."""
    cookie = ctx.request.cookies.get(SESSION_COOKIE)
    row = s.get(WebSession, token_digest(cookie)) if cookie else None
    if not cookie:
        said = NO_COOKIE
    elif row is not None and vs is not None and row.user_id == vs.user_id:
        said = lapse.of_session(s, cookie)
    else:
        said = "no sign-in"
    why = said if ctx.lang == "en" else _lapse_pl(said)
    return {"said": translate(SIGNED_OUT_PL, ctx.lang, why=why), "todo": ""}


def _refused(ctx: Ctx, refused: records.Refused) -> dict[str, str]:
    tz = ctx.vault.policy.timezone
    return {"said": translate(ENDED_PL, ctx.lang, why=refused.said(tz, ctx.lang)),
            "todo": "" if ctx.lang == "en" else refused.todo}


def state_of(ctx: Ctx, s: Session, token: str) -> dict[str, Any]:
    """The player's answer: {"ended": {"said", "todo"} | None, "camera": str | None}."""
    vs = records.viewing_of(s, token)
    if ctx.user is None:
        return {"ended": _signed_out(ctx, s, vs), "camera": None}
    admitted = admission(ctx, s, token, Action.LIVE)
    if isinstance(admitted, records.Refused):
        return {"ended": _refused(ctx, admitted), "camera": None}
    source = admitted[1].sources[0]
    why = why_not_watched(s, source.id, ctx.vault.policy, "en" if ctx.lang == "en" else "pl")
    if why is not None:
        return {"ended": {"said": translate(NOT_WATCHED_PL, ctx.lang, why=why), "todo": ""},
                "camera": None}
    silence = silence_of(s, source.id)
    return {"ended": None, "camera": silence_said(silence, ctx) if silence else None}


@router.get("/view/{token}/state", include_in_schema=False)
def live_state(token: str, ctx: Ctx = public()) -> Response:
    """The live view's state for its page's player (JSON)."""
    with ctx.vault.reading() as s:
        answer = state_of(ctx, s, token)
    return JSONResponse(answer, headers=NO_STORE)
