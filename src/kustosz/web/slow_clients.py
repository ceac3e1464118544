"""uvicorn's HTTP/1.1 protocol (h11) with the time-out it lacks: for reading a request.

uvicorn closes a connection that stays silent after a response (`timeout_keep_alive`), but
any byte cancels that timer, and nothing bounds how long a request's header or body may take
to arrive: a client sending one header byte every few seconds (slowloris) held a connection
for ever, and enough of them hold the server. Here every request must arrive whole within
`REQUEST_READ_S` of the connection opening or of the previous response; otherwise the
connection is closed. A request that has arrived whole is never cut off, however long the
app takes to answer it (a copy being made).
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from kustosz.web import zerocopy

REQUEST_READ_S = 10.0  # the header and the (≤ 1 MB) body of one request
KEEP_ALIVE_S = 5  # silence allowed between requests on one connection
MAX_HEADER_BYTES = 16 * 1024  # h11's buffer for an incomplete request head


class TimedH11Protocol(H11Protocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_timer: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
        self._read_timer = self.loop.call_later(REQUEST_READ_S, self._too_slow)

    def _too_slow(self) -> None:
        self._read_timer = None
        if self.transport.is_closing():
            return
        arriving = self.conn.their_state in (h11.IDLE, h11.SEND_BODY)
        answering = self.cycle is not None and self.cycle.response_started \
            and not self.cycle.response_complete
        if arriving and not answering:
            self.logger.warning("closing a connection whose request took over %.0f s to arrive",
                                REQUEST_READ_S)
            self.transport.close()

    def handle_events(self) -> None:
        before = self.cycle
        super().handle_events()
        if self.cycle is not None and self.cycle is not before:
            # a new request's cycle, whose task has not started yet: it may send stored
            # files by sendfile (web/zerocopy.py)
            zerocopy.offer(self.cycle, self.loop)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_response_complete(self) -> None:
        self._arm()  # before the base class, which may go on to a pipelined request
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None
        super().connection_lost(exc)
