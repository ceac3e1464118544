"""Live view from the camera's sub-stream (issue 34 item 2), where the camera was added over
ONVIF with a live-view profile, or is the demo's simulated camera with its lighter picture
(cameras.register.live_view_url, issue 65 item 5): the relay (ingest/camera/live_relay.py) is
started when an authorised live viewing session opens — never by a request that has not
passed the gate — and its rolling HLS parts are served through the same gate, each one
recorded like every byte served. Where there is no live-view stream, or the relay does not
deliver, the live view plays the recorded main stream as before (media_playlists.media_live)."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.access import records
from kustosz.atrest.sealing import secrets_of
from kustosz.cameras.register import address_of, gate_of, live_view_url
from kustosz.cameras.rules import RtspAddress, check_may_record
from kustosz.db.access import ViewingSession
from kustosz.db.cameras import Camera, CameraDevice, Zone
from kustosz.db.models import Source
from kustosz.digests import token_digest
from kustosz.errors import KustoszError, for_people
from kustosz.ingest.camera.live_relay import Relay, Relays, Unreadable
from kustosz.ingest.refusals import refused
from kustosz.kinds import Action
from kustosz.policy import Policy
from kustosz.vault import Vault
from kustosz.web.common import Ctx
from kustosz.web.gate import gate
from kustosz.web.media import MEDIA_TAG, NO_STORE, guarded

router = APIRouter()

FIRST_PART_S = 8.0  # the live playlist waits this long for a just-started relay's first part


def unreadable_alert(vault: Vault) -> Unreadable:
    """What a relay tells when its camera's live stream cannot be read: the camera's
    `input.refused` alert (folded per camera and hour), as any input Kustosz must refuse."""
    def tell(source_id: int, detail: str) -> None:
        with vault.reading() as s:
            name = s.execute(select(Source.name).where(Source.id == source_id)).scalar()
        refused(vault, device=f"kamera {name or source_id}", source=name, detail=detail,
                reason_pl="podgląd na żywo: strumienia z kamery nie da się odczytać; widzowie "
                          "widzą nagranie z kamery (opóźnione o kilka sekund)")
    return tell


def relays_of(request: Request) -> Relays:
    relays: Relays = request.app.state.live_relays
    return relays


def may_watch(s: Session, source_id: int, policy: Policy) -> bool:
    """Whether the camera may be watched at all (`why_not_watched`)."""
    return why_not_watched(s, source_id, policy) is None


def why_not_watched(s: Session, source_id: int, policy: Policy, lang: str = "en"
                    ) -> str | None:
    """Why the camera may not be watched, or None: the recorder's own conditions
    (ingest/camera/supervisor.decide) — enabled, allowed where it hangs (art. 22² §2), past
    its notice and signage days (§7, §9). Recorded material was only ever there when they
    held; a camera's live stream is not, so the relay asks them itself. English (the access
    record's words), or Polish with ``lang`` "pl" (the player's, web/live_state.py)."""
    pl = lang == "pl"
    source = s.get(Source, source_id)
    row = s.execute(select(Camera, Zone).join(Zone, Zone.id == Camera.zone_id)
                    .where(Camera.source_id == source_id)).first()
    if source is None or row is None:
        return "kamery nie ma już w rejestrze" if pl else "the camera is no longer registered"
    if not source.enabled:
        return "kamera została wyłączona" if pl else "the camera was disabled"
    camera, zone = row
    try:
        check_may_record(zone.kind, camera.purposes, camera.unrecognisable_reason,
                         camera.representatives_consent, video=policy.video)
    except KustoszError as exc:
        return (f"kamery nie wolno oglądać tam, gdzie wisi: {for_people(exc)}" if pl else
                f"the camera may not be watched where it hangs: {exc}")
    start = gate_of(camera, policy)
    if start.may_record:
        return None
    return (f"kamera nie może jeszcze nagrywać: {start.reason_pl or start.reason}" if pl else
            f"the camera may not record yet: {start.reason}")


def has_sub_stream(s: Session, source_id: int) -> bool:
    """Whether the camera has a live-view stream of its own (added over ONVIF with one)."""
    device = s.get(CameraDevice, source_id)
    return device is not None and bool(device.live_url)


def _live_url(s: Session, source_id: int) -> tuple[Camera, str] | None:
    camera = s.execute(select(Camera).where(Camera.source_id == source_id)).scalar_one_or_none()
    url = None if camera is None else live_view_url(camera, s.get(CameraDevice, source_id))
    return None if camera is None or url is None else (camera, url)


def _sub_address(s: Session, source_id: int) -> RtspAddress | None:
    """The live-view stream's address with the camera's credentials, if it has one."""
    found = _live_url(s, source_id)
    if found is None:
        return None
    main = address_of(found[0], secrets_of(s))
    return RtspAddress(found[1], main.user, main.password)


def start_sub_stream(ctx: Ctx, token: str) -> None:
    """After a live viewing session opened (authorised): its camera's relay, if it has a
    sub-stream and may be watched. Blocking (the keeper starts ffmpeg): called in a thread."""
    with ctx.vault.reading() as s:
        vs = s.execute(select(ViewingSession).where(
            ViewingSession.token_hash == token_digest(token))).scalar_one_or_none()
        if vs is None or vs.action != Action.LIVE or vs.source_id is None or vs.ended_at:
            return
        source_id = vs.source_id
        if not may_watch(s, source_id, ctx.vault.policy):
            return
        address = _sub_address(s, source_id)
    if address is None:
        return
    relays_of(ctx.request).watch(token_digest(token), source_id,
                                 address.with_credentials)


def wait_for_sub_stream(ctx: Ctx, token: str) -> None:
    """While this session's camera's relay runs but has no part yet (it was just started),
    wait for its first (without a database transaction open), at most FIRST_PART_S. Only
    looks: nothing is kept alive or started before the gate has admitted the request."""
    relays = relays_of(ctx.request)
    deadline = time.monotonic() + FIRST_PART_S
    while time.monotonic() < deadline:
        relay = relays.peek(token_digest(token))
        if relay is None or relay.playlist() is not None:
            return
        time.sleep(0.2)


def keep(ctx: Ctx, token: str, s: Session, source_id: int) -> Relay | None:
    """Inside the admitted request: the camera's relay kept alive — started again if it
    ended or stopped while nobody fetched, so a live view does not stay on the recorded stream
    for the rest of its session — while the camera may still be watched; stopped the moment it
    may not (disabled, its start date not reached, its room forbidden). None: no sub-stream."""
    relays = relays_of(ctx.request)
    if _live_url(s, source_id) is None:
        return None
    if not may_watch(s, source_id, ctx.vault.policy):
        relays.drop(source_id)
        return None

    def url() -> str:  # the sealed password is opened only when ffmpeg is to be started
        address = _sub_address(s, source_id)
        assert address is not None  # its live-view address was read in this transaction
        return address.with_credentials()
    return relays.watch(token_digest(token), source_id, url)


def sub_playlist(s: Session, vs: ViewingSession, relay: Relay, client: str,
                 name: str) -> Response | None:
    text = relay.playlist()
    if text is None:
        return None
    body = "\n".join(f"sub/{line}" if line and not line.startswith("#") else line
                     for line in text.splitlines()) + "\n"
    records.served(s, vs, f"live playlist {name} (sub-stream)", client, len(body))
    return Response(body, media_type="application/vnd.apple.mpegurl", headers=NO_STORE)


@router.get("/media/{token}/sub/{part}", name="media_live_sub", tags=[MEDIA_TAG])
def media_live_sub(token: str, part: str, ctx: Ctx = gate(scope="media")) -> Response:
    """One part of the live view from the camera's sub-stream."""
    def serve(s: Session, vs: ViewingSession, scope: records.Scope) -> Response | None:
        source = scope.sources[0]
        relay = keep(ctx, token, s, source.id)
        if relay is None or relay.source_id != source.id:
            return None
        path = relay.part(part)
        if path is None:
            return None
        try:
            body = path.read_bytes()
        except OSError:  # rolled out of the window meanwhile
            return None
        records.served(s, vs, f"live part {source.name} (sub-stream)", ctx.client, len(body))
        return Response(body, media_type="video/mp2t", headers=NO_STORE)
    return guarded(ctx, token, "live", serve)
