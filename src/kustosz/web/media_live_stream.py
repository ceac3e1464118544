"""The live view as one stream of fragmented MP4 (issue 52 item 1): the camera's sub-stream, a
fragment per frame as the relay's ffmpeg writes it (ingest/camera/live_stream.py), played by the
browser through Media Source Extensions (static/player.js) — within about a second of the
camera's glass, where the HLS parts of media_live_sub.py run six to seven seconds behind. HLS
stays the fallback: a browser without MSE, a camera without a sub-stream (404 here), a relay
with no key frame yet (503).

The gate is the one every media route passes; the stream's opening is its access record, and its
end adds the bytes it carried and its last moment to the viewing session's counters. While it
runs, every RECHECK_S it asks the gate again — a session ended or expired, an authorisation
revoked, a camera that may no longer be watched (disabled, its room forbidden) ends the stream
within that time."""

from __future__ import annotations

import queue
import time
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import UTC, datetime

import anyio
from fastapi import APIRouter
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session
from starlette.types import Receive, Scope, Send

from kustosz.access import records
from kustosz.db.access import ViewingSession
from kustosz.digests import token_digest
from kustosz.ingest.camera.live_relay import Relay
from kustosz.ingest.camera.live_stream import END
from kustosz.kinds import Action
from kustosz.web.common import Ctx
from kustosz.web.gate import gate
from kustosz.web.media import MEDIA_TAG, NO_STORE, admission, guarded, refuse
from kustosz.web.media_live_sub import FIRST_PART_S, keep, relays_of

router = APIRouter()

RECHECK_S = 5.0  # the gate asked again this often while a stream runs
WAIT_S = 1.0  # a viewer's queue looked at this often (a dropped viewer, a closed relay)


def _wait_for_key_frame(ctx: Ctx, token: str) -> None:
    """A relay just started has no key frame yet: wait for one (no transaction open, only
    looking), at most FIRST_PART_S."""
    relays = relays_of(ctx.request)
    deadline = time.monotonic() + FIRST_PART_S
    while time.monotonic() < deadline:
        relay = relays.peek(token_digest(token))
        if relay is None or relay.stream.join_ready():
            return
        time.sleep(0.1)


def _still_allowed(ctx: Ctx, token: str, source_id: int) -> bool:
    """The gate again, mid-stream; a refusal is recorded as any other."""
    with ctx.vault.transaction() as s:
        admitted = admission(ctx, s, token, Action.LIVE)
        if isinstance(admitted, records.Refused):
            refuse(ctx, s, admitted, token, Action.LIVE)
            return False
        return keep(ctx, token, s, source_id) is not None


def _record_end(ctx: Ctx, token: str, sent: int) -> None:
    """The stream's bytes and last moment on its viewing session's counters (the opening is
    the one access record of this answer: the chained record is never rewritten)."""
    with ctx.vault.transaction() as s:
        vs = records.viewing_of(s, token)
        if vs is not None:
            vs.bytes_served += sent
            vs.last_at = max(vs.last_at, datetime.now(UTC))


async def _frames(ctx: Ctx, token: str, relay: Relay,
                  q: queue.Queue[bytes]) -> AsyncIterator[bytes]:
    """The viewer's fragments as they come. An async generator so that the server's
    cancellation when the viewer goes away runs its end here and now — the end's access
    record — not whenever a sync generator would be collected (in any thread, possibly inside
    another transaction). Blocking work (the queue, the database) runs in worker threads."""
    sent, checked = 0, time.monotonic()
    try:
        while True:
            chunk = await anyio.to_thread.run_sync(_next, q)
            if chunk is None and not relay.stream.watching(q):
                return
            if chunk == END:
                return
            if chunk:
                relay.used = time.monotonic()
                sent += len(chunk)
                yield chunk
            if time.monotonic() - checked >= RECHECK_S:
                checked = time.monotonic()
                if not await anyio.to_thread.run_sync(_still_allowed, ctx, token,
                                                      relay.source_id):
                    return
    finally:
        relay.stream.leave(q)
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(_record_end, ctx, token, sent)


class LiveResponse(StreamingResponse):
    """A stream that ends when its viewer goes: the server's http.disconnect is listened for
    beside the sending (Starlette no longer does so under ASGI 2.4, and uvicorn then drops a
    gone viewer's writes in silence, or holds them behind its flow control, for ever), and
    the generator is closed at once, so its end — the access record — is written now."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = self.body_iterator
        try:
            async with anyio.create_task_group() as tg:
                async def watch() -> None:
                    while (await receive())["type"] != "http.disconnect":
                        pass
                    tg.cancel_scope.cancel()
                tg.start_soon(watch)
                await self.stream_response(send)
                tg.cancel_scope.cancel()
        finally:
            if isinstance(body, AsyncGenerator):
                with anyio.CancelScope(shield=True):
                    await body.aclose()


def _next(q: queue.Queue[bytes]) -> bytes | None:
    try:
        return q.get(timeout=WAIT_S)
    except queue.Empty:
        return None


@router.get("/media/{token}/live.mp4", name="media_live_mp4", tags=[MEDIA_TAG])
def media_live_mp4(token: str, ctx: Ctx = gate(scope="media")) -> Response:
    """The live view from the camera's sub-stream as fragmented MP4, for Media Source
    Extensions; 404 where the camera has no sub-stream, 503 before its first key frame."""
    _wait_for_key_frame(ctx, token)

    def serve(s: Session, vs: ViewingSession, scope: records.Scope) -> Response | None:
        source = scope.sources[0]
        relay = keep(ctx, token, s, source.id)
        if relay is None or relay.source_id != source.id:
            return Response(status_code=404, headers=NO_STORE)
        q = relay.stream.join()
        if q is None:
            return Response(status_code=503, headers={**NO_STORE, "Retry-After": "1"})
        records.served(s, vs, f"live stream {source.name} (sub-stream)", ctx.client, 0)
        return LiveResponse(_frames(ctx, token, relay, q),
                            media_type="video/mp4", headers=NO_STORE)
    return guarded(ctx, token, Action.LIVE, serve)
