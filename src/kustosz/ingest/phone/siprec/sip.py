"""SIP over UDP and TCP for the recording server: messages read and written by sippy (its
parser and its SDP and multipart bodies), framed and sent here over asyncio, with the one
part of RFC 3261's transaction layer a server that only answers needs — a request sent again
gets the answer it got (§17.2), and a 2xx to an INVITE is sent again over UDP until its ACK
(§13.3.1.4). sippy's own transaction manager is UDP-only and runs its own reactor; Kustosz's
server runs in serve's event loop and takes TCP as well."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from kustosz.ingest.phone.sip_stack import SipRequest, SipResponse

log = logging.getLogger(__name__)

T1, T2, T_END = 0.5, 4.0, 32.0  # RFC 3261's timers (s)
MAX_MESSAGE = 64 * 1024
MAX_TCP_BUFFER = 256 * 1024

Send = Callable[[bytes], None]


@dataclass
class Origin:
    """Where a request came from and how to answer it."""

    host: str
    port: int
    transport: str  # "udp" | "tcp" | "tls"
    send: Send


def peer_of(origin: Origin) -> tuple[str, str]:
    """Who a message came from, as far as a dialog is bound to it: the host and the kind of
    transport (a TCP or TLS SBC may open a new connection for its BYE; TLS only ever as TLS,
    whose handshake checked the SBC's certificate)."""
    return (origin.host, "udp" if origin.transport == "udp" else origin.transport)


class BadMessage(ValueError):
    pass


def parse(data: bytes) -> SipRequest | SipResponse:
    """One SIP message; BadMessage when it is not one (its text says why)."""
    if len(data) > MAX_MESSAGE:
        raise BadMessage("message too large")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadMessage("not UTF-8") from None
    try:
        if text.startswith("SIP/2.0 "):
            return SipResponse(buf=text)
        return SipRequest(buf=text)
    except Exception as exc:  # sippy raises many kinds for a malformed message
        raise BadMessage(f"{type(exc).__name__}: {exc}") from None


class UdpEndpoint(asyncio.DatagramProtocol):
    def __init__(self, received: Callable[[bytes, Origin], None]) -> None:
        self.received = received
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # asyncio's own UDP transport does not subclass DatagramTransport
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        host, port = str(addr[0]), int(str(addr[1]))
        transport = self.transport

        def send(payload: bytes) -> None:
            if transport is not None and not transport.is_closing():
                transport.sendto(payload, (host, port))
        if data.strip():  # a keep-alive (CRLF) is nothing
            self.received(data, Origin(host, port, "udp", send))


class TcpConnection(asyncio.Protocol):
    """One TCP (or TLS) connection: messages framed by their Content-Length (RFC 3261
    §18.3)."""

    def __init__(self, received: Callable[[bytes, Origin], None],
                 bad: Callable[[str, str], None], transport: str = "tcp") -> None:
        self.received, self.bad, self.kind = received, bad, transport
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.origin: Origin | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        host, port = transport.get_extra_info("peername")[:2]

        def send(payload: bytes) -> None:
            if not transport.is_closing():
                transport.write(payload)
        self.origin = Origin(str(host), int(port), self.kind, send)

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None and self.origin is not None
        self.buffer += data
        while True:
            self.buffer = self.buffer.lstrip(b"\r\n")
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                if len(self.buffer) > MAX_MESSAGE:
                    self._drop("a header without its end")
                return
            length = _content_length(self.buffer[:head_end])
            if length is None or length > MAX_MESSAGE:
                self._drop("no usable Content-Length")
                return
            end = head_end + 4 + length
            if len(self.buffer) < end:
                if len(self.buffer) > MAX_TCP_BUFFER:
                    self._drop("too much data")
                return
            message, self.buffer = self.buffer[:end], self.buffer[end:]
            self.received(message, self.origin)

    def _drop(self, why: str) -> None:
        assert self.transport is not None and self.origin is not None
        self.bad(self.origin.host, why)
        self.transport.close()


def _content_length(head: bytes) -> int | None:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() in (b"content-length", b"l"):
            try:
                return int(value.strip())
            except ValueError:
                return None
    return None  # RFC 3261 §20.14: required over TCP


class Retransmit:
    """A 2xx to an INVITE sent again over UDP until its ACK (§13.3.1.4), and the answers to
    requests kept for a request sent again (§17.2.1, §17.2.2)."""

    def __init__(self) -> None:
        # (branch, method) -> (when, who asked, the answer): an answer is sent again only to
        # the peer it answered — it carries the dialog's To tag and media ports, which anyone
        # repeating the Via branch would otherwise be handed (issue 48 item 4).
        self.answers: dict[tuple[str, str], tuple[float, tuple[str, str], bytes]] = {}
        self.pending: dict[str, asyncio.Task[None]] = {}  # dialog key -> retransmit task

    def answered(self, branch: str, method: str, payload: bytes,
                 peer: tuple[str, str] = ("", "")) -> None:
        now = time.monotonic()
        self.answers[(branch, method)] = (now, peer, payload)
        if len(self.answers) > 4096:
            for key in [k for k, (at, _, _) in self.answers.items() if now - at > T_END]:
                del self.answers[key]

    def again(self, branch: str, method: str, peer: tuple[str, str] = ("", "")) -> bytes | None:
        got = self.answers.get((branch, method))
        if got is None or time.monotonic() - got[0] >= T_END or got[1] != peer:
            return None
        return got[2]

    def until_ack(self, key: str, payload: bytes, origin: Origin,
                  on_timeout: Callable[[], None]) -> None:
        if origin.transport != "udp":
            return  # a reliable transport: sent once
        self.acked(key)

        async def resend() -> None:
            wait, spent = T1, 0.0
            while spent < T_END:
                await asyncio.sleep(wait)
                spent += wait
                origin.send(payload)
                wait = min(wait * 2, T2)
            log.warning("SIPREC: no ACK for the answer of session %s", key)
            on_timeout()
        self.pending[key] = asyncio.get_running_loop().create_task(resend())

    def acked(self, key: str) -> None:
        task = self.pending.pop(key, None)
        if task is not None:
            task.cancel()

    def close(self) -> None:
        for task in self.pending.values():
            task.cancel()
        self.pending.clear()
