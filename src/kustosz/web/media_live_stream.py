"""The live view as one stream of fragmented MP4 (issue 52 item 1): the camera's sub-stream, a
fragment per frame as the relay's ffmpeg writes it (ingest/camera/live_stream.py), played by the
browser through Media Source Extensions (static/player.js) — within about a second of the
camera's glass, where the HLS parts of media_live_sub.py run six to seven seconds behind. HLS
stays the fallback: a browser without MSE, a camera without a sub-stream (404 here), a relay
with no key frame yet (503).

The gate is the one every media route passes. No byte leaves before an access record holds it
(DESIGN invariant 2): the opening record holds the initialisation and the group of pictures
the viewer starts from; then, every RECHECK_S (web/media_recheck.py) and whenever a fragment
is not yet covered, the gate is asked again with the state of things now — the sign-in, the
account, the role, the token, the allow-list, the viewing session, the authorisation, and
whether the camera may still be watched (disabled, its room forbidden) — and, in the same
transaction, a record releases the bytes the stream is about to send: the fragment in hand
and the stream's recent rate for the next interval. The first check that fails ends the
stream within RECHECK_S; a last record says why it ended and how many of the released bytes
were sent. So the viewing session's counters, which change only with a record, always equal
its chained records (`kustosz audit verify`)."""

from __future__ import annotations

import queue
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field

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
from kustosz.web import media_recheck
from kustosz.web.common import Ctx
from kustosz.web.gate import gate
from kustosz.web.media import MEDIA_TAG, NO_STORE, guarded
from kustosz.web.media_live_sub import (
    FIRST_PART_S,
    has_sub_stream,
    keep,
    may_watch,
    relays_of,
    why_not_watched,
)

router = APIRouter()

WAIT_S = 1.0  # a viewer's queue looked at this often (a dropped viewer, a closed relay)
MIN_RELEASE = 128 * 1024  # the fewest bytes a record releases beyond the fragment in hand
AHEAD = 1.5  # a record releases the stream's rate for this many re-check intervals
# No picture yet (a relay starting, or one that ended waiting out RETRY_S): the player asks
# again in a second, and says so (static/player.js)
NOT_YET = {**NO_STORE, "Retry-After": "1"}


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


@dataclass
class Released:
    """What a stream's access records released and what it sent. Bytes are released ahead,
    so a viewer who leaves received fewer than its records hold (as with a download cut
    short); never more."""

    released: int
    sent: int = 0
    opened: float = field(default_factory=time.monotonic)
    checked: float = field(default_factory=time.monotonic)

    def due(self) -> bool:
        return time.monotonic() - self.checked >= media_recheck.RECHECK_S

    def covers(self, nbytes: int) -> bool:
        return self.sent + nbytes <= self.released

    def wait(self) -> float:
        """How long to wait for a fragment before the next check is due."""
        left = media_recheck.RECHECK_S - (time.monotonic() - self.checked)
        return min(WAIT_S, max(0.05, left))

    def wanted(self, need: int) -> int:
        """What the next record releases: the fragment in hand (``need``) and the stream's
        rate so far for AHEAD intervals, less what the records before still cover."""
        interval = media_recheck.RECHECK_S
        rate = self.sent / max(time.monotonic() - self.opened, interval)
        ahead = max(MIN_RELEASE, int(rate * interval * AHEAD))
        return max(0, max(need, ahead) - (self.released - self.sent))


def _check(ctx: Ctx, token: str, source_id: int, what: str, account: Released,
           need: int) -> str | None:
    """The gate again, mid-stream, and the record of the bytes about to be sent; None to go
    on, else why the stream ends (a refusal is recorded as any other)."""
    wanted = account.wanted(need)

    def still(s: Session, vs: ViewingSession, scope: records.Scope) -> str | None:
        if keep(ctx, token, s, source_id) is None:
            return why_not_watched(s, source_id, ctx.vault.policy) \
                or "the camera has no live-view stream any more"
        if wanted:
            records.served(s, vs, f"{what} continued", ctx.client, wanted)
        return None

    why = media_recheck.ask_again(ctx, token, Action.LIVE, still)
    if why is None:
        account.released += wanted
        account.checked = time.monotonic()
    return why


async def _frames(ctx: Ctx, token: str, relay: Relay, q: queue.Queue[bytes], what: str,
                  account: Released, first: bytes) -> AsyncIterator[bytes]:
    """The viewer's fragments as they come, each sent only once a record holds it. An async
    generator so that the server's cancellation when the viewer goes away runs its end here
    and now — the last access record — not whenever a sync generator would be collected (in
    any thread, possibly inside another transaction). Blocking work (the queue, the
    database) runs in worker threads."""
    why = "the viewer left"
    chunk: bytes | None = first
    try:
        while True:
            if chunk or account.due():
                need = len(chunk) if chunk else 0
                if account.due() or not account.covers(need):
                    ended = await anyio.to_thread.run_sync(_check, ctx, token,
                                                           relay.source_id, what, account,
                                                           need)
                    if ended is not None:
                        why = ended
                        return
            if chunk:
                relay.used = time.monotonic()
                account.sent += len(chunk)
                yield chunk
            chunk = await anyio.to_thread.run_sync(_next, q, account.wait())
            if chunk is None and not relay.stream.watching(q):
                why = "the viewer was dropped: it did not keep up with the stream"
                return
            if chunk == END:
                why = "the camera's live stream ended"
                return
    finally:
        relay.stream.leave(q)
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(media_recheck.record_end, ctx, token, what, why,
                                           account.sent, account.released)


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


def _next(q: queue.Queue[bytes], wait: float) -> bytes | None:
    try:
        return q.get(timeout=wait)
    except queue.Empty:
        return None


@router.get("/media/{token}/live.mp4", name="media_live_mp4", tags=[MEDIA_TAG])
def media_live_mp4(token: str, ctx: Ctx = gate(scope="media")) -> Response:
    """The live view from the camera's sub-stream as fragmented MP4, for Media Source
    Extensions; 404 where the camera has no sub-stream, 503 before its first key frame (and
    while a relay that ended waits to be started again: not 404, which sends the player to
    the HLS fallback for good)."""
    _wait_for_key_frame(ctx, token)

    def serve(s: Session, vs: ViewingSession, scope: records.Scope) -> Response | None:
        source = scope.sources[0]
        relay = keep(ctx, token, s, source.id)
        if relay is None and has_sub_stream(s, source.id) \
                and may_watch(s, source.id, ctx.vault.policy):
            return Response(status_code=503, headers=NOT_YET)  # its relay waits to start again
        if relay is None or relay.source_id != source.id:
            return Response(status_code=404, headers=NO_STORE)
        q = relay.stream.join()
        if q is None:
            return Response(status_code=503, headers=NOT_YET)
        first = q.get_nowait()  # the initialisation and the group of pictures, put by join
        what = f"live stream {source.name} (sub-stream)"
        account = Released(len(first) + MIN_RELEASE)
        records.served(s, vs, what, ctx.client, account.released)
        return LiveResponse(_frames(ctx, token, relay, q, what, account, first),
                            media_type="video/mp4", headers=NO_STORE)
    return guarded(ctx, token, Action.LIVE, serve)
