"""The ASGI "Zero Copy Send" extension (`http.response.zerocopysend`) for uvicorn's h11
protocol, which offers none: a stored file's bytes go from the page cache to the socket by
`sendfile(2)` (asyncio's `loop.sendfile`), never copied through Python (issue 68 item 2).

The response's status line and headers are still h11's, and so is the count of the body
against its Content-Length: h11 is handed a placeholder of the span's length
(`send_with_data_passthrough`, made for this) and the kernel sends the bytes where h11 would
have written them. Over TLS asyncio falls back to reading and writing the file itself
(`fallback=True`): the same bytes, copied.

Only the body's transport changes. What decides whether a byte may leave — the gate, the
access record committed before the answer starts, the check again between chunks
(web/media_recheck.py) — is the app's, as for any other answer (web/file_answer.py).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import h11

log = logging.getLogger(__name__)
EXTENSION = "http.response.zerocopysend"


@dataclass(frozen=True)
class _Span:
    """What h11 counts in place of the bytes: the span's length."""

    count: int

    def __len__(self) -> int:
        return self.count


def offer(cycle: Any, loop: asyncio.AbstractEventLoop) -> None:
    """Offer the extension to the app in ``cycle``'s scope (uvicorn's h11
    RequestResponseCycle, not yet running) and take its messages; every other message goes
    on to uvicorn as before."""
    cycle.scope.setdefault("extensions", {})[EXTENSION] = {}
    plain = cycle.send

    async def send(message: Any) -> None:
        if message["type"] != EXTENSION:
            await plain(message)
            return
        await _zerocopy(cycle, loop, message)

    cycle.send = send


async def _zerocopy(cycle: Any, loop: asyncio.AbstractEventLoop, message: Any) -> None:
    if cycle.flow.write_paused and not cycle.disconnected:
        await cycle.flow.drain()
    if cycle.disconnected:
        return
    if not cycle.response_started or cycle.response_complete:
        raise RuntimeError(f"Unexpected ASGI message {EXTENSION!r} outside a response body")
    file = message["file"]
    offset = message.get("offset")
    if offset is None:
        offset = file.tell()
    count = int(message["count"])
    head = cycle.scope["method"] == "HEAD"
    # h11 passes a Data's object through unjoined here (its documented use: sendfile)
    span: Any = _Span(0 if head else count)
    pieces = cycle.conn.send_with_data_passthrough(h11.Data(data=span))
    try:
        for piece in pieces or ():
            if isinstance(piece, _Span):
                if piece.count:
                    await loop.sendfile(cycle.transport, file, offset, piece.count,
                                        fallback=True)
            else:
                cycle.transport.write(piece)
    except (ConnectionError, OSError, RuntimeError) as exc:
        # The viewer went away (or the transport closed) mid-span: what was sent was
        # recorded before it left; nothing more goes out on this connection.
        log.debug("zero-copy send ended: %s", exc)
        cycle.transport.close()
        cycle.disconnected = True
        cycle.message_event.set()
        return
    if not message.get("more_body", False):
        cycle.response_complete = True
        cycle.message_event.set()
        cycle.transport.write(cycle.conn.send(h11.EndOfMessage()))
        if cycle.conn.our_state is h11.MUST_CLOSE or not cycle.keep_alive:
            cycle.conn.send(h11.ConnectionClosed())
            cycle.transport.close()
        cycle.on_response()
