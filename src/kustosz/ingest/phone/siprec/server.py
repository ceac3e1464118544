"""The SIPREC recording server (SRS, RFC 7866): an SRC (the office's SBC or PBX) opens a
recording session per call with an INVITE carrying the call's streams (SDP, one labelled
m-line per stream) and who is speaking on which (RFC 7865 metadata); Kustosz answers with
receive-only media, writes each stream as it comes (rtp.py) and, at BYE, makes the call's
recording and hands it over (``ended``, which stores it like every call).

Before anything is written the session is checked: the SRC's address must be on a SIPREC
line's list (else 403), within the INVITE rate (else 503), and the call within the office's
scope (R1.4) — a call that is not (say an internal one where only external incoming calls may
be recorded) is answered with every stream declined (port 0), so its SRC keeps the call up and
sends nothing, and no byte of it reaches a disk. A session that goes silent (no RTP, no SIP)
for ``silence_s`` is closed and marked so."""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network, ip_address
from pathlib import Path

from kustosz.ingest.log_fold import LogFold
from kustosz.ingest.phone.call_clock import CallClock
from kustosz.ingest.phone.scope import Scope, judge, untold_pl
from kustosz.ingest.phone.sip_stack import MsgBody, SipHeader, SipRequest
from kustosz.ingest.phone.siprec.framing import BadMessage
from kustosz.ingest.phone.siprec.handover import HandOver, NotStored, told
from kustosz.ingest.phone.siprec.metadata import (
    BadMetadata,
    Metadata,
    check_labels,
    parse_metadata,
    sides,
)
from kustosz.ingest.phone.siprec.multipart import BadBody, recording_parts
from kustosz.ingest.phone.siprec.rtp import RtpProtocol, StreamWriter, bind_rtp
from kustosz.ingest.phone.siprec.sdp import (
    BadOffer,
    Section,
    Stream,
    answer,
    parse_offer,
    sections_of,
)
from kustosz.ingest.phone.siprec.session import (
    CallFacts,
    SessionFolder,
    StreamFacts,
)
from kustosz.ingest.phone.siprec.sip import (
    Origin,
    Retransmit,
    TcpConnection,
    UdpEndpoint,
    answer_bad,
    body_of,
    content_type_of,
    encode,
    parse,
    peer_of,
    warning,
)
from kustosz.ingest.phone.siprec.status import Snapshot, publish
from kustosz.phone_numbers import is_internal
from kustosz.states import AlertRow

log = logging.getLogger(__name__)
ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE"
MAX_QUEUED = 10_000
_REASONS = {415: "Unsupported Media Type", 488: "Not Acceptable Here"}


# (device, its line's name or None, the reason in Polish, the detail in English)
Refused = Callable[[str, str | None, str, str], None]


@dataclass(frozen=True)
class SrsSettings:
    root: Path  # the data folder's siprec/
    host: str = "0.0.0.0"
    port: int = 5060
    address: str = ""  # this machine's address as the SRC reaches it (SDP, Contact); "": the
    # address the SRC sent its INVITE to (the Request-URI's host)
    rtp_ports: tuple[int, int] = (40000, 40999)
    silence_s: float = 600.0
    invite_rate: float = 10.0  # new sessions per second per SRC address
    invite_burst: int = 20
    max_sessions: int = 200
    loss_percent: float = 1.0  # a call that lost more of its packets is alerted
    tls: ssl.SSLContext | None = None  # SIP over TLS on tls_port, with the office's certificate
    tls_port: int = 5061
    retry_s: float = 30.0  # an ended session not stored (the database away) is tried again
    tls_host: str = ""  # default: host


@dataclass(frozen=True)
class LineRule:
    """A phone line recorded through SIPREC: the SRCs it takes sessions from, its numbers."""

    name: str
    networks: tuple[IPv4Network | IPv6Network, ...]
    office_numbers: frozenset[str]
    extension_max_digits: int
    scope: Scope  # the policy's call scope

    def internal(self, number: str) -> bool:
        return is_internal(number, self.office_numbers, self.extension_max_digits)


@dataclass
class Counters:
    sessions: int = 0  # recorded sessions opened
    out_of_scope: int = 0
    refused: int = 0
    malformed: int = 0
    rate_limited: int = 0
    last_session_at: float | None = None  # monotonic


@dataclass
class _Bucket:
    tokens: float
    at: float


@dataclass
class Recording:
    key: str  # the SRC's Call-ID
    line: str
    origin: Origin
    to_tag: str
    folder: SessionFolder | None  # None: out of scope, nothing written
    facts: CallFacts | None
    sections: list[Section] = field(default_factory=list)  # the offer's m-lines
    version: int = 1
    sdp_session: int = field(default_factory=lambda: secrets.randbelow(1 << 31))
    writers: dict[str, StreamWriter] = field(default_factory=dict)
    sockets: dict[str, asyncio.DatagramTransport] = field(default_factory=dict)
    streams: list[Stream] = field(default_factory=list)
    clock: CallClock = field(default_factory=CallClock.now)  # its length by the steady clock
    last_sip: float = field(default_factory=time.monotonic)
    closed: bool = False

    def last_heard(self) -> float:
        return max([self.last_sip, *(w.counts.last_at or 0.0 for w in self.writers.values())])


class Srs:
    def __init__(self, settings: SrsSettings, lines: Callable[[], list[LineRule]],
                 ended: Callable[[SessionFolder], None],
                 out_of_scope: Callable[[str], None] = lambda line: None,
                 problem: Callable[[AlertRow, str, str], None] = lambda row, line, text: None,
                 opened: Callable[[str], None] = lambda line: None,
                 not_stored: NotStored | None = None,
                 refused: Refused = lambda device, line, reason_pl, detail: None) -> None:
        """``ended``: a session's folder to store (in a thread); ``out_of_scope``: a line's
        session that was declined; ``problem``: an alert row for a line's call; ``opened``:
        a line's SBC opened a session (it is alive); ``not_stored``: a call that could not
        be stored, said once (in the hand-over's thread); ``refused``: input refused that
        belongs to no session of a line (a stranger, a message that is no SIP)."""
        self.settings, self.lines = settings, lines
        self.ended, self.out_of_scope_cb, self.problem = ended, out_of_scope, problem
        self.opened, self.refused = opened, refused
        self.sessions: dict[str, Recording] = {}
        self.counters = Counters()
        self.retransmit = Retransmit()
        self._told = LogFold(log)  # refusals' log lines
        self._buckets: dict[str, _Bucket] = {}
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._tls: asyncio.Server | None = None
        self._watch: asyncio.Task[None] | None = None
        self._used_ports: set[int] = set()
        self.handover = HandOver(ended, settings.retry_s, "SIPREC", told(not_stored))
        self._queue: asyncio.Queue[tuple[bytes, Origin]] = asyncio.Queue()
        self._handler: asyncio.Task[None] | None = None

    # -- life -------------------------------------------------------------------------------
    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        s = self.settings
        for _ in range(20 if s.port == 0 else 1):
            # TCP first: with port 0 (the tests) a free TCP port is then tried for UDP too
            self._tcp = await loop.create_server(
                lambda: TcpConnection(self.received, self._bad), s.host, s.port)
            port = int(self._tcp.sockets[0].getsockname()[1])
            try:
                self._udp, _ = await loop.create_datagram_endpoint(
                    lambda: UdpEndpoint(self.received), local_addr=(s.host, port))
                break
            except OSError:
                self._tcp.close()
                await self._tcp.wait_closed()
                self._tcp = None
                if s.port != 0:
                    raise
        if self._udp is None:
            raise OSError("no port free for both UDP and TCP")
        if s.tls is not None:
            self._tls = await loop.create_server(
                lambda: TcpConnection(self.received, self._bad, "tls"), s.tls_host or s.host,
                s.tls_port,
                ssl=s.tls, ssl_handshake_timeout=10)
        self._watch = loop.create_task(self._silence_watch())
        self._handler = loop.create_task(self._handling())
        publish(self.snapshot())
        log.info("SIPREC recording server listening on %s:%d (UDP, TCP)", s.host, self.port)

    @property
    def tls_port(self) -> int | None:
        return int(self._tls.sockets[0].getsockname()[1]) if self._tls is not None else None

    @property
    def port(self) -> int:
        if self._udp is not None:
            return int(self._udp.get_extra_info("sockname")[1])
        return self.settings.port

    async def close(self, why: str = "stopped") -> None:
        for task in (self._watch, self._handler):
            if task is not None:
                task.cancel()
        for rec in list(self.sessions.values()):
            self._end(rec, why)
        publish(Snapshot())
        await self.handover.wait()
        self.retransmit.close()
        if self._udp is not None:
            self._udp.close()
        for server in (self._tcp, self._tls):
            if server is not None:
                server.close()
                await server.wait_closed()

    def active(self) -> int:
        return sum(1 for r in self.sessions.values() if r.folder is not None)

    def snapshot(self, listening: bool = True) -> Snapshot:
        """Called on the server's loop only (the sessions change there)."""
        active: dict[str, int] = {}
        for rec in self.sessions.values():
            if rec.folder is not None:
                active[rec.line] = active.get(rec.line, 0) + 1
        c = self.counters
        return Snapshot(listening, active, c.sessions, c.out_of_scope, c.refused,
                        c.malformed, c.rate_limited)

    # -- messages ---------------------------------------------------------------------------
    def _bad(self, host: str, why: str, theirs: bool = True) -> None:
        """A message dropped; ``theirs``: for what the sender sent (an alert), not for the
        server being behind."""
        self.counters.malformed += 1
        self._told.say(logging.INFO, ("malformed", theirs),
                       "SIPREC: a malformed message from %s dropped (%s)", host, why)
        if theirs:
            line = self._line_of(host)
            self.refused(host, line.name if line else None, "nieczytelna wiadomość SIP", why)

    def received(self, data: bytes, origin: Origin) -> None:
        """A message off the wire: handled in arrival order by one task (`_handling`), so an
        ACK is never looked at before the INVITE it answers."""
        if self._queue.qsize() > MAX_QUEUED:
            self._bad(origin.host, "the server is behind; dropped", theirs=False)
            return
        self._queue.put_nowait((data, origin))

    async def _handling(self) -> None:
        while True:
            data, origin = await self._queue.get()
            try:
                msg = parse(data)
            except BadMessage as exc:
                self._bad(origin.host, str(exc))
                answer_bad(exc, origin)
                continue
            if not isinstance(msg, SipRequest):
                continue  # Kustosz sends no requests: a response is no one's
            try:
                await self._request(msg, origin)
                publish(self.snapshot())
            except Exception:  # one message must not end the server; said with its cause
                log.exception("SIPREC: a %s from %s could not be handled", msg.getMethod(),
                              origin.host)
                try:
                    self._reply(msg, origin, 500, "Server Internal Error")
                except Exception:
                    log.exception("SIPREC: no answer could be made")

    def media_address(self, req: SipRequest) -> str:
        if self.settings.address:
            return self.settings.address
        host = str(req.getRURI().host).strip("[]")
        try:
            return str(ip_address(host))
        except ValueError:
            return "127.0.0.1" if self.settings.host in ("0.0.0.0", "::") else self.settings.host

    def _reply(self, req: SipRequest, origin: Origin, code: int, reason: str, *,
               to_tag: str | None = None, sdp: str | None = None,
               extra: tuple[tuple[str, str], ...] = ()) -> bytes:
        resp = req.genResponse(code, reason)
        if to_tag is not None and resp.getHFBody("to").getTag() is None:
            resp.getHFBody("to").setTag(to_tag)
        if code < 300 and req.getMethod() in ("INVITE", "UPDATE"):
            resp.appendHeader(SipHeader(name="contact", bodys=(
                f"<sip:kustosz@{self.media_address(req)}:{self.port}"
                f";transport={origin.transport}>")))
        for name, value in extra:
            resp.appendHeader(SipHeader(name=name, bodys=value))
        if sdp is not None:
            resp.setBody(MsgBody(sdp))
        payload = encode(resp)
        origin.send(payload)
        branch = req.getHFBody("via").getBranch() or ""
        self.retransmit.answered(branch, req.getMethod(), payload, peer_of(origin))
        return payload

    async def _request(self, req: SipRequest, origin: Origin) -> None:
        method = req.getMethod()
        branch = req.getHFBody("via").getBranch() or ""
        if method != "ACK":
            again = self.retransmit.again(branch, method, peer_of(origin))
            if again is not None:
                origin.send(again)
                return
        key = str(req.getHFBody("call-id"))
        rec = self.sessions.get(key)
        if rec is not None and peer_of(origin) != peer_of(rec.origin):
            # In-dialog requests only from the SBC that opened the session (issue 48 item 4):
            # a BYE, re-INVITE or UPDATE naming a running session's Call-ID from anyone else
            # is answered as for a session that does not exist, and alerted.
            self.refused(origin.host, rec.line, "żądanie w trakcie rozmowy od obcego adresu",
                         f"{method} for a session opened by {rec.origin.host} over "
                         f"{rec.origin.transport}, sent from {origin.host} over "
                         f"{origin.transport}")
            if method != "ACK":
                self._reply(req, origin, 481, "Call/Transaction Does Not Exist")
            return
        if rec is not None:
            rec.last_sip = time.monotonic()
        if method == "OPTIONS":
            self._reply(req, origin, 200, "OK", extra=(("allow", ALLOW),
                                                       ("supported", "siprec")))
        elif method == "ACK":
            self.retransmit.acked(key)
        elif method == "INVITE" and rec is None:
            await self._new_session(req, origin, key)
        elif method in ("INVITE", "UPDATE") and rec is not None:
            await self._change(req, origin, rec)
        elif method == "BYE" and rec is not None:
            self._reply(req, origin, 200, "OK")
            self._end(rec, "bye")
        elif method == "CANCEL" and rec is not None:
            self._reply(req, origin, 200, "OK")  # answered at once: nothing left to cancel
        elif method in ("BYE", "CANCEL", "UPDATE"):
            self._reply(req, origin, 481, "Call/Transaction Does Not Exist")
        else:
            self._reply(req, origin, 405, "Method Not Allowed", extra=(("allow", ALLOW),))

    # -- a new recording session --------------------------------------------------------------
    def _line_of(self, host: str) -> LineRule | None:
        try:
            addr = ip_address(host)
        except ValueError:
            return None
        for line in self.lines():
            if any(addr in net for net in line.networks):
                return line
        return None

    def _rate_ok(self, host: str) -> bool:
        s, now = self.settings, time.monotonic()
        bucket = self._buckets.setdefault(host, _Bucket(float(s.invite_burst), now))
        bucket.tokens = min(float(s.invite_burst),
                            bucket.tokens + (now - bucket.at) * s.invite_rate)
        bucket.at = now
        if bucket.tokens < 1:
            return False
        bucket.tokens -= 1
        return True

    def _refuse(self, req: SipRequest, origin: Origin, code: int, reason: str,
                why: str) -> None:
        self.counters.refused += 1
        # One line a minute per answer and line, every stranger's one (issue 48 item 10, issue
        # 64 N5: 500 foreign INVITEs wrote 500 lines); the next says how many were held.
        line = self._line_of(origin.host)
        self._told.say(logging.WARNING, (line.name if line else "", code),
                       "SIPREC: a recording session from %s refused (%d): %s", origin.host,
                       code, why)
        self._reply(req, origin, code, reason, to_tag=secrets.token_hex(6),
                    extra=(warning(why),))

    async def _new_session(self, req: SipRequest, origin: Origin, key: str) -> None:
        line = self._line_of(origin.host)
        if line is None:
            self._refuse(req, origin, 403, "Forbidden",
                         "this address may not send recording sessions")
            self.refused(origin.host, None, "adres nie należy do żadnej linii SIPREC, sesja "
                         "nagrywania odrzucona", "403: not on any SIPREC line's list")
            return
        if not self._rate_ok(origin.host):
            self.counters.rate_limited += 1
            self._reply(req, origin, 503, "Service Unavailable", to_tag=secrets.token_hex(6),
                        extra=(("retry-after", "5"),))
            return
        if len(self.sessions) >= self.settings.max_sessions:
            self._refuse(req, origin, 503, "Service Unavailable", "too many sessions at once")
            return
        try:
            sdp_text, meta_text = recording_parts(content_type_of(req), body_of(req))
            streams, sections = parse_offer(sdp_text), sections_of(sdp_text)
            meta = parse_metadata(meta_text)
            check_labels(meta, sections)
        except (BadOffer, BadBody, BadMetadata) as exc:
            status = getattr(exc, "status", 400)
            self._refuse(req, origin, status, _REASONS.get(status, "Bad Request"), str(exc))
            self.problem(AlertRow.PHONE_SESSION_REFUSED, line.name,
                         f"{origin.host}: {status} {exc}")
            return
        caller, callee = sides(meta)
        verdict = judge("unknown", caller.number, callee.number, line.scope, line.internal,
                        extension_max_digits=line.extension_max_digits)
        direction, to_tag = verdict.direction, secrets.token_hex(8)
        if not verdict.keep:  # R1.4: nothing written; the SRC's call goes on, no media is sent
            if verdict.untold:  # not silently (scope.py)
                self.refused(origin.host, line.name, untold_pl(line.scope), "direction unknown")
            rec = Recording(key, line.name, origin, to_tag, None, None, sections)
            self.sessions[key] = rec
            self.counters.out_of_scope += 1
            self.out_of_scope_cb(line.name)
            self.opened(line.name)
            payload = self._reply(req, origin, 200, "OK", to_tag=to_tag, sdp=answer(
                streams, sections, self.media_address(req), None, rec.sdp_session, 1))
            self.retransmit.until_ack(key, payload, origin, lambda: None)
            return
        clock = CallClock.now()
        facts = CallFacts(line.name, key, meta.session_ids, clock.start.isoformat(),
                          caller.number, callee.number, caller.name, callee.name, direction,
                          origin.host)
        rec = Recording(key, line.name, origin, to_tag, None, facts, sections, clock=clock)
        try:
            ports = await self._open_streams(rec, streams, meta)
        except OSError as exc:
            self._close_sockets(rec)
            self._refuse(req, origin, 503, "Service Unavailable", f"no RTP port: {exc}")
            self.problem(AlertRow.PHONE_SESSION_REFUSED, line.name, f"no RTP port: {exc}")
            return
        self.sessions[key] = rec
        self.counters.sessions += 1
        self.counters.last_session_at = time.monotonic()
        self.opened(line.name)
        payload = self._reply(req, origin, 200, "OK", to_tag=to_tag, sdp=answer(
            streams, sections, self.media_address(req), ports, rec.sdp_session, rec.version))
        self.retransmit.until_ack(key, payload, origin, lambda: None)
        assert rec.folder is not None
        log.info("SIPREC: recording session %s on line %s (%d streams, %s)",
                 rec.folder.path.name, line.name, len(streams), direction)

    async def _change(self, req: SipRequest, origin: Origin, rec: Recording) -> None:
        """A re-INVITE or UPDATE: a stream added (a transfer, a conference), the metadata
        changed, a hold; the streams already received keep their ports."""
        if req.getHFBody("to").getTag() != rec.to_tag:
            self._reply(req, origin, 481, "Call/Transaction Does Not Exist")
            return
        has_body = req.getBody() is not None
        ports: dict[str, int] | None = None
        sdp = None
        if has_body:
            try:
                sdp_text, meta_text = recording_parts(content_type_of(req), body_of(req),
                                                      metadata_required=False)
                streams, sections = parse_offer(sdp_text), sections_of(sdp_text)
                meta = parse_metadata(meta_text) if meta_text else None
                if meta is not None:
                    check_labels(meta, sections)
            except (BadOffer, BadBody, BadMetadata) as exc:
                status = getattr(exc, "status", 400)
                log.warning("SIPREC: a change of session %s from %s refused (%d): %s",
                            rec.key, origin.host, status, exc)
                self._reply(req, origin, status, _REASONS.get(status, "Bad Request"),
                            extra=(warning(str(exc)),))
                return
            rec.sections = sections
            rec.version += 1
            if rec.folder is not None:
                try:
                    ports = await self._open_streams(rec, streams, meta)
                except OSError as exc:
                    self._reply(req, origin, 503, "Service Unavailable",
                                extra=(warning(f"no RTP port: {exc}"),))
                    return
                assert rec.facts is not None
                rec.folder.save(rec.facts)
            sdp = answer(streams, rec.sections, self.media_address(req), ports,
                         rec.sdp_session, rec.version)
        elif req.getMethod() == "INVITE":
            # an offerless re-INVITE (RFC 3261 §14.2): the 200 carries the offer, the streams
            # as they are received now; the SRC's answer comes in its ACK
            current = {label: w.port for label, w in rec.writers.items()} or None
            sdp = answer(rec.streams, rec.sections, self.media_address(req), current,
                         rec.sdp_session, rec.version)
        payload = self._reply(req, origin, 200, "OK", to_tag=rec.to_tag, sdp=sdp)
        if req.getMethod() == "INVITE":
            self.retransmit.until_ack(rec.key, payload, origin, lambda: None)

    # -- the media ----------------------------------------------------------------------------
    def _ports(self, count: int) -> int:
        """The first even port of ``count`` free pairs in a row (stream i at base + 2i, its
        RTCP at +1: the layout SIPp's pcap replay and most SRCs expect)."""
        low, high = self.settings.rtp_ports
        base = low + (low % 2)
        while base + 2 * count - 1 <= high:
            if all(p not in self._used_ports for p in range(base, base + 2 * count)):
                return base
            base += 2
        raise OSError("every RTP port of the range is in use")

    async def _open_streams(self, rec: Recording, streams: list[Stream],
                            meta: Metadata | None) -> dict[str, int]:
        """Sockets and files for the streams not yet received; every stream's port."""
        new = [s for s in streams if s.label not in rec.writers]
        if new:
            assert rec.facts is not None
            base, socks = self._bind_block(len(new))
            loop = asyncio.get_running_loop()
            if rec.folder is None:
                rec.folder = SessionFolder.create(self.settings.root, rec.facts)
            caller = sides(meta)[0] if meta is not None else None
            first_index = min(s.index for s in streams)
            for i, (stream, sock) in enumerate(zip(new, socks, strict=True)):
                sender = meta.sender_of(stream.label) if meta is not None else None
                if sender is not None and caller is not None:
                    side = 0 if sender.id == caller.id else 1
                else:
                    side = 0 if stream.index == first_index else 1
                writer = StreamWriter(stream, rec.folder.stream_path(stream.label),
                                      rec.clock.steady_start, port=base + 2 * i)
                writer.open()
                rec.writers[stream.label] = writer
                rec.streams.append(stream)
                rec.facts.streams.append(StreamFacts(stream.label, stream.codec.name, side,
                                                     sender.aor if sender else ""))
                transport, _ = await loop.create_datagram_endpoint(
                    functools.partial(RtpProtocol, writer, stream.address or rec.origin.host),
                    sock=sock)
                rec.sockets[stream.label] = transport
            rec.folder.save(rec.facts)
        return {label: w.port for label, w in rec.writers.items()}

    def _bind_block(self, count: int) -> tuple[int, list[socket.socket]]:
        for _ in range(50):
            base = self._ports(count)
            self._used_ports.update(range(base, base + 2 * count))
            socks: list[socket.socket] = []
            try:
                for i in range(count):
                    socks.append(bind_rtp(self.settings.host, base + 2 * i))
                return base, socks
            except OSError:  # another program holds one of them: that block is left out
                for sock in socks:
                    sock.close()
        raise OSError("no free block of RTP ports")

    def _close_sockets(self, rec: Recording) -> None:
        for transport in rec.sockets.values():
            transport.close()
        rec.sockets.clear()
        for w in rec.writers.values():
            w.close()
            if w.port:
                self._used_ports.difference_update((w.port, w.port + 1))

    # -- the end ------------------------------------------------------------------------------
    def _end(self, rec: Recording, why: str) -> None:
        if rec.closed:
            return
        rec.closed = True
        self.sessions.pop(rec.key, None)
        self.retransmit.acked(rec.key)
        self._close_sockets(rec)
        if rec.folder is None or rec.facts is None:
            return
        rec.facts.end = rec.clock.at(time.monotonic()).isoformat()
        rec.facts.ended, rec.facts.clock_step = why, rec.clock.step()
        rec.facts.lost = sum(w.lost() for w in rec.writers.values())
        rec.facts.unexpected = sum(w.counts.unexpected for w in rec.writers.values())
        rec.folder.save(rec.facts)
        received = rec.facts.received = sum(w.counts.received for w in rec.writers.values())
        rec.folder.save(rec.facts)
        if not received:
            self.problem(AlertRow.PHONE_NO_SOUND, rec.line,
                         f"recording session {rec.folder.path.name}: no RTP arrived")
        elif rec.facts.lost > received * self.settings.loss_percent / 100:
            self.problem(AlertRow.PHONE_LOSS, rec.line,
                         f"recording session {rec.folder.path.name}: {rec.facts.lost} of "
                         f"{received + rec.facts.lost} packets lost")
        self.later(self.handover.store, rec.folder)

    def later(self, step: Callable[..., object], *args: object) -> None:
        """Blocking work (the database) in a thread, off the loop the packets are read on;
        awaited by `close`."""
        self.handover.later(step, *args)

    async def _silence_watch(self) -> None:
        retried = time.monotonic()
        while True:
            await asyncio.sleep(min(5.0, self.settings.silence_s / 4, self.settings.retry_s))
            now = time.monotonic()
            if now - retried >= self.settings.retry_s:
                retried = now
                self.handover.retry(self.settings.root, {
                    r.folder.path.name for r in self.sessions.values() if r.folder is not None})
            for rec in list(self.sessions.values()):
                if now - rec.last_heard() > self.settings.silence_s:
                    log.warning("SIPREC: session %s silent for %.0f s; closed", rec.key,
                                self.settings.silence_s)
                    self._end(rec, "silence")
                    publish(self.snapshot())
