"""A stored file sent as an answer's body: by `sendfile(2)` where the server offers the ASGI
zero-copy extension (`kustosz serve`: web/zerocopy.py), else read in chunks (the tests'
client, another server). Either way in spans of CHUNK bytes, asking the gate again between
them (`Watch`: access ends when access ends); the access record that releases the bytes was
committed before the answer starts (web/media.guarded), so none leaves before it."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import anyio
from starlette.concurrency import iterate_in_threadpool
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from kustosz.storage import base as _storage_base
from kustosz.web import media_recheck
from kustosz.web.media_recheck import Watch
from kustosz.web.zerocopy import EXTENSION


@dataclass(frozen=True)
class Span:
    """``count`` bytes of the file from ``offset``; its length is what it releases."""

    offset: int
    count: int

    def __len__(self) -> int:
        return self.count


def spans(offset: int, size: int, chunk: int) -> Iterator[Span]:
    end = offset + size
    while offset < end:
        n = min(chunk, end - offset)
        yield Span(offset, n)
        offset += n


def sendable(stream: Any) -> bool:
    """Whether ``stream`` is an open regular file the kernel can send from (not a ranged
    window, a network body or a test's wrapper)."""
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (AttributeError, OSError, ValueError):
        return False


class FileAnswer(Response):
    """``size`` bytes of the open file ``stream`` from where it stands, released span by
    span by ``watch`` (cut short when access ends). The file is closed when the answer
    ends, however it ends."""

    def __init__(self, stream: BinaryIO, size: int, watch: Watch, media_type: str,
                 status_code: int = 200, headers: dict[str, str] | None = None) -> None:
        self.stream, self.size, self.watch = stream, size, watch
        self.status_code = status_code
        self.media_type = media_type
        self.background = None
        self.init_headers({**(headers or {}), "Content-Length": str(size)})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with anyio.create_task_group() as group:
                async def send_then_stop() -> None:
                    await self._send(scope, send)
                    group.cancel_scope.cancel()

                group.start_soon(send_then_stop)
                await _until_gone(receive)
                group.cancel_scope.cancel()  # the viewer went away: nothing more is sent
        finally:
            self.stream.close()
        if self.background is not None:
            await self.background()

    async def _send(self, scope: Scope, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code,
                    "headers": self.raw_headers})
        zero = EXTENSION in scope.get("extensions", {})
        released = self.watch.over(
            spans(self.stream.tell(), self.size, _chunk()), self.size)
        async for span in iterate_in_threadpool(released):
            if zero:
                await send({"type": EXTENSION, "file": self.stream, "offset": span.offset,
                            "count": span.count, "more_body": True})
            else:
                body = await anyio.to_thread.run_sync(_read, self.stream, span)
                await send({"type": "http.response.body", "body": body, "more_body": True})
        # Complete, or cut short (then short of its Content-Length: the server ends the
        # connection, and the client knows it is incomplete).
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def _chunk() -> int:
    """media_recheck's CHUNK (a test may make it small), else the store's."""
    return int(getattr(media_recheck, "CHUNK", _storage_base.CHUNK))


def _read(stream: BinaryIO, span: Span) -> bytes:
    return os.pread(stream.fileno(), span.count, span.offset)


async def _until_gone(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
