"""SIP over UDP and TCP for the recording server: messages read and written by sippy (its
parser and its SDP and multipart bodies), framed and sent here over asyncio, with the one
part of RFC 3261's transaction layer a server that only answers needs — a request sent again
gets the answer it got (§17.2), and a 2xx to an INVITE is sent again over UDP until its ACK
(§13.3.1.4). sippy's own transaction manager is UDP-only and runs its own reactor; Kustosz's
server runs in serve's event loop and takes TCP as well."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import SupportsIndex, cast

from kustosz.ingest.phone.sip_stack import SipHeader, SipRequest, SipResponse
from kustosz.ingest.phone.siprec.framing import (
    MAX_MESSAGE,
    BadMessage,
    content_length,
    frame,
    head_end,
    head_lines,
    is_length,
)

log = logging.getLogger(__name__)

T1, T2, T_END = 0.5, 4.0, 32.0  # RFC 3261's timers (s)
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


class _Head(str):
    """The text sippy's SipMsg reads a message from. sippy cuts its header into lines with
    ``str.splitlines``, which also cuts at characters a header may hold (U+2028, U+2029 and
    U+0085 in a quoted display name are RFC 3261's UTF8-NONASCII); here its lines are cut
    only where the framing cut them."""

    def __getitem__(self, key: SupportsIndex | slice) -> _Head:
        return _Head(str.__getitem__(self, key))

    def splitlines(self, keepends: bool = False) -> list[str]:
        lines = str.split(self, "\r\n")
        if not keepends:
            return lines
        return [line + "\r\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])


class BadRequest(BadMessage):
    """A request that is no SIP message and can still be answered: 400, its body cut short
    or its header not SIP's text (RFC 3261 §18.3); ``request``: what sippy read of it."""

    def __init__(self, why: str, request: SipRequest) -> None:
        super().__init__(why)
        self.request = request


def parse(data: bytes) -> SipRequest | SipResponse:
    """One SIP message, framed by its bytes (framing.frame) and read by sippy; BadMessage
    when it is not one, its text saying why (BadRequest: one to answer)."""
    try:
        framed = frame(data)
    except BadMessage as exc:
        request = None
        if exc.lines and not exc.lines[0].startswith("SIP/2.0 "):
            with contextlib.suppress(BadMessage):
                request = _read(exc.lines, b"")
        if isinstance(request, SipRequest):
            raise BadRequest(str(exc), request) from None
        raise
    return _read(framed.lines, framed.body)


def _read(lines: tuple[str, ...], body: bytes) -> SipRequest | SipResponse:
    # The body goes to sippy decoded with surrogateescape: every byte kept, as many
    # characters as sippy will count, with a Content-Length of that count (body_of takes
    # the bytes back). What a body holds is read later, a part at a time, by its charset.
    text = body.decode("utf-8", "surrogateescape")
    head = [line for line in lines if not is_length(line.partition(":")[0])]
    buf = _Head("\r\n".join([*head, f"Content-Length: {len(text)}"]) + "\r\n\r\n" + text)
    try:
        if lines[0].startswith("SIP/2.0 "):
            return SipResponse(buf=buf)
        return SipRequest(buf=buf)
    except Exception as exc:  # sippy raises many kinds for a malformed message
        raise BadMessage(f"{type(exc).__name__}: {exc}") from None


def body_of(msg: SipRequest | SipResponse) -> bytes | None:
    """A parsed message's body, the bytes that came (None: it has none)."""
    body = msg.getBody()
    return None if body is None else str(body.content).encode("utf-8", "surrogateescape")


def content_type_of(msg: SipRequest | SipResponse) -> str:
    body = msg.getBody()
    return "" if body is None else str(body.mtype)


def encode(msg: SipRequest | SipResponse) -> bytes:
    """A message Kustosz sends, as bytes: sippy writes a Content-Length that counts the
    body's characters, here it counts its bytes."""
    head, _, text = str(msg).partition("\r\n\r\n")
    body = text.encode("utf-8")
    lines = [line for line in head.split("\r\n") if not is_length(line.partition(":")[0])]
    return ("\r\n".join([*lines, f"Content-Length: {len(body)}"]) + "\r\n\r\n").encode() + body


def answer_bad(exc: BadMessage, origin: Origin) -> None:
    """A request that is no SIP answered 400 with why (RFC 3261 §18.3: the SBC learns it at
    once, rather than resending for 32 s); an ACK, a response and a message that could not
    be read at all are not answered. Said once, not kept for the request's retransmissions,
    which meet the same fault again."""
    if not isinstance(exc, BadRequest) or exc.request.getMethod() == "ACK":
        return
    resp = exc.request.genResponse(400, "Bad Request")
    if resp.getHFBody("to").getTag() is None:
        resp.getHFBody("to").setTag(secrets.token_hex(6))  # §8.2.6.2
    name, value = warning(str(exc))
    resp.appendHeader(SipHeader(name=name, bodys=value))
    origin.send(encode(resp))


def warning(why: str) -> tuple[str, str]:
    """A Warning header (RFC 3261 §20.43) saying why, for the SBC's log: one line, its
    quotes and backslashes escaped (the reason may quote what the SBC sent)."""
    text = re.sub(r"[\x00-\x1f\x7f\u2028\u2029\x85]+", " ", why)[:200]
    return "warning", '399 kustosz "' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


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
            ends = head_end(self.buffer)
            if ends is None:
                if len(self.buffer) > MAX_MESSAGE:
                    self._drop("a header without its end")
                return
            try:  # RFC 3261 §20.14: required over TCP, in bytes
                length = content_length(head_lines(self.buffer[:ends[0]]))
            except BadMessage as exc:
                self._drop(str(exc))
                return
            if length is None or length > MAX_MESSAGE:
                self._drop("no usable Content-Length")
                return
            end = ends[1] + length
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
