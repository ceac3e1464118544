"""Calls recorded off a mirrored switch port, in `kustosz serve` (issue 35 item 2): the capture
process (helper.py) hands over the UDP frames, and the SIP ports' TCP, of the lines' interfaces
through `capture.sock`; here they are read (frames.py; SIP over TCP put together again by
sip_tcp.py), the SIP dialogs followed (dialogs.py) and each answered call recorded like a
SIPREC session: a folder of the data folder's `capture/` with the call's facts and one stream
file per side (siprec.rtp.StreamWriter), stored at its end as a stereo WAV (caller left)
through the same step (siprec.store).

The office's scope is decided when the call is answered, from its numbers, before any byte of
it is written: a call out of scope never gets a folder, its RTP is dropped as read (R1.4).
A call whose RTP never appears (encrypted, another path) is alerted after `no_sound_s` and
stored at its end as a call without sound; a call whose BYE is never seen is closed after
`silence_s` without SIP or RTP, and marked so. Times are the frames' capture times, on the
steady clock (call_clock.FrameClock): a call's length is never the wall clock's step."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable

from kustosz.ingest.phone.call_clock import CallClock, FrameClock, steady, wall
from kustosz.ingest.phone.capture import wire
from kustosz.ingest.phone.capture.away import Absences, tell_cut
from kustosz.ingest.phone.capture.calls import (
    Call,
    CaptureLine,
    CaptureSettings,
    Counters,
    Protection,
)
from kustosz.ingest.phone.capture.dialogs import Dialog, Dialogs, sending_key
from kustosz.ingest.phone.capture.fragments import Fragments
from kustosz.ingest.phone.capture.frames import Datagram, Segment, Skipped, packet
from kustosz.ingest.phone.capture.pending import to_forget
from kustosz.ingest.phone.capture.refusals import Refusals, Refuse
from kustosz.ingest.phone.capture.sip_tcp import SipOverTcp
from kustosz.ingest.phone.capture.srtp import decrypt
from kustosz.ingest.phone.capture.tunnels import Tunnels, tunnel
from kustosz.ingest.phone.scope import judge
from kustosz.ingest.phone.siprec.handover import HandOver, NotStored, told
from kustosz.ingest.phone.siprec.rtp import StreamWriter
from kustosz.ingest.phone.siprec.sdp import STATIC, Stream, codec_of
from kustosz.ingest.phone.siprec.server import LineRule
from kustosz.ingest.phone.siprec.session import CallFacts, SessionFolder, StreamFacts
from kustosz.ingest.phone.siprec.status import Snapshot, publish
from kustosz.phones.settings import DEFAULT_SIP_TCP_PORTS
from kustosz.states import AlertRow

log = logging.getLogger(__name__)
VIA = "capture"
SIDES = ("caller", "callee")


class Recorder:
    def __init__(self, settings: CaptureSettings, lines: Callable[[], list[CaptureLine]],
                 ended: Callable[[SessionFolder], None],
                 out_of_scope: Callable[[str], None] = lambda line: None,
                 problem: Callable[[AlertRow, str, str], None] = lambda row, line, text: None,
                 seen: Callable[[str], None] = lambda line: None,
                 not_stored: NotStored | None = None,
                 refuse: Refuse = lambda *_a, **_k: None) -> None:
        """``ended``: a call's folder to store (in a thread); ``out_of_scope``: a line's
        call that was not recorded; ``problem``: an alert row for a line's call; ``seen``: a
        call was offered on the line's port (its SIP reaches Kustosz); ``not_stored``: a
        call that could not be stored, said once (in the hand-over's thread); ``refuse``: SIP
        unreadable (capture.refusals.Refuse), once a second per line and sender."""
        self.settings, self.lines = settings, lines
        self.out_of_scope_cb, self.problem, self.seen = out_of_scope, problem, seen
        self.handover = HandOver(ended, settings.retry_s, "capture", told(not_stored))
        self.counters = Counters()
        self.refusals = Refusals(refuse)
        self.fragments = Fragments()
        self.frame_clock = FrameClock()
        self.tunnels = Tunnels()
        self.calls: dict[tuple[str, str], Call] = {}  # (interface, Call-ID)
        # where RTP goes: its call, the side speaking, and how it is read
        self.media: dict[tuple[str, str, int], tuple[Call, int, Protection]] = {}
        self.dialogs: dict[str, Dialogs] = {}  # by interface
        self.tcp: dict[str, SipOverTcp] = {}  # SIP over TCP, by interface
        self._tcp_lost_said: dict[str, int] = {}
        self.connected = False
        self.interfaces: dict[str, str] = {}  # as the capture process said: "" read, or why
        self.read_at: dict[str, float] = {}  # the capture time of the last frame read, each
        self.absences = Absences()  # when the capture process was away (away.py)
        self._names: list[str] = []  # the capture process's list, for the frames' index
        self._listener: socket.socket | None = None
        self._conn: socket.socket | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False

    # -- life -------------------------------------------------------------------------------
    async def start(self) -> None:
        path = self.settings.socket
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # a socket left by a killed serve
        with contextlib.suppress(FileNotFoundError):  # where 0.x before run/ kept it
            (self.settings.root.parent / path.name).unlink()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        old = os.umask(0o177)  # the socket is the service's alone (0600) from its birth
        try:
            sock.bind(str(path))
        finally:
            os.umask(old)
        sock.listen(2)
        sock.setblocking(False)
        self._listener = sock
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._accepting()), loop.create_task(self._watch())]
        self.publish()
        log.info("capture: waiting for the capture process at %s", path)

    async def close(self, why: str = "stopped") -> None:
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for call in list(self.calls.values()):
            # its end is the last packet heard (issue 48 item 7: a call whose capture process
            # died mid-call was stored ending at serve's stop, the unheard rest as no loss)
            self._end(call, why, call.last_heard)
        self.refusals.flush()  # what the last second refused is told too (issue 64)
        await self.handover.wait()
        for sock in (self._conn, self._listener):
            if sock is not None:
                sock.close()
        with contextlib.suppress(FileNotFoundError):
            self.settings.socket.unlink()
        publish(Snapshot(), VIA)

    def publish(self) -> None:
        active: dict[str, int] = {}
        for call in self.calls.values():
            if call.folder is not None:
                active[call.line.name] = active.get(call.line.name, 0) + 1
        c = self.counters
        publish(Snapshot(True, active, c.calls, c.out_of_scope, c.not_followed, c.skipped, 0,
                         connected=self.connected, interfaces=dict(self.interfaces),
                         dropped=c.dropped), VIA)

    # -- the capture process ------------------------------------------------------------------
    async def _accepting(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._listener is not None
        while True:
            conn, _ = await loop.sock_accept(self._listener)
            conn.setblocking(False)
            if self._conn is not None:  # a new capture process replaces the old
                log.warning("capture: another capture process connected; the earlier one is "
                            "let go")
                self._conn.close()
            self._conn = conn
            self._tasks = [t for t in self._tasks if not t.done()]
            self._tasks.append(loop.create_task(self._reading(conn)))

    def ask(self) -> None:
        """Tell the capture process which interfaces to read (at connection, and again every
        few seconds: a line added, changed or disabled; an interface that failed)."""
        conn = self._conn
        if conn is None:
            return
        lines = self.lines()
        wanted = sorted({line.interface for line in lines})
        ports = sorted({p for line in lines for p in line.sip_tcp_ports}
                       or set(DEFAULT_SIP_TCP_PORTS))
        with contextlib.suppress(OSError):  # it went away: _reading sees it
            conn.send(wire.control({"interfaces": wanted, "sip_tcp_ports": ports}))

    async def _reading(self, conn: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        self.connected = True
        self.absences.came_back(steady())
        self.publish()
        log.info("capture: the capture process connected")
        self.ask()
        try:
            while True:
                message = await loop.sock_recv(conn, 2 * wire.MAX_MESSAGE)
                if not message:
                    break
                try:
                    if message[:1] == b"F":
                        self._frames(message)
                    elif message[:1] == b"J":
                        self._control(wire.read_control(message))
                    else:
                        raise wire.BadMessage(f"a message of kind {message[:1]!r}")
                except wire.BadMessage as exc:
                    log.error("capture: the capture process sent what it never sends (%s); "
                              "its connection is closed", exc)
                    break
        except OSError as exc:
            log.warning("capture: the connection of the capture process failed: %s", exc)
        finally:
            conn.close()
            if self._conn is conn:
                self._conn = None
                self.connected = False
                self.interfaces = {}
                if not self._closing:
                    log.warning("capture: the capture process went away; calls on the "
                                "mirrored ports are not seen until it is back")
                    self.absences.went(steady())
                    tell_cut(self.calls.values(), self.problem, wall())
                    self.publish()

    def _control(self, message: dict[str, object]) -> None:
        opened = message.get("opened")
        if isinstance(opened, dict):
            self._names = [str(n) for n in opened]
            for name, why in opened.items():
                if why and self.interfaces.get(str(name)) != why:
                    log.error("capture: %s", why)
            self.interfaces = {str(k): str(v) for k, v in opened.items()}
            self.publish()
        stats = message.get("stats")
        if isinstance(stats, dict):
            for counts in stats.values():
                if isinstance(counts, dict):
                    self.counters.dropped += int(counts.get("drops", 0) or 0)

    # -- frames -------------------------------------------------------------------------------
    def _frames(self, message: bytes) -> None:
        lines = {line.interface: line for line in self.lines()}
        by_interface = {name: line.rule for name, line in lines.items()}
        self.frame_clock.update()
        for index, stamp, frame in wire.frames(message):
            if index >= len(self._names):
                continue
            when = self.frame_clock.steady_of(stamp)
            interface = self._names[index]
            self.read_at[interface] = stamp  # the capture process's own time, as sent
            rule = by_interface.get(interface)
            if rule is None:
                continue  # its line disabled a moment ago
            try:
                d = packet(frame)
            except Skipped as skipped:  # a fragment, perhaps the last its datagram waited for
                if (whole := self.fragments.add(skipped, when)) is None:
                    self.counters.skipped += 1
                    self._tunnelled(lines[interface], when, frame)
                    continue
                d = whole
            try:
                if isinstance(d, Segment):
                    self._tcp(lines[interface], when, d)
                elif Dialogs.is_sip(d.payload):
                    self._sip(interface, rule, when, d)
                else:
                    self._rtp(interface, when, d)
            except Exception:  # one frame must not end the reading of every call; said once
                self.counters.failed += 1
                if self.counters.failed == 1:
                    log.exception("capture: a frame on %s could not be handled (said once; "
                                  "counted from now on)", interface)

    def _tunnelled(self, line: CaptureLine, when: float, frame: bytes) -> None:
        """A frame in a tunnel (tunnels.py): never read, told to the line (issue 64)."""
        if (t := tunnel(frame)) is not None and (told := self.tunnels.seen(
                line.interface, t, when)) is not None:
            self.refusals.tunnelled(line.rule.name, line.interface, t, *told)

    def _tcp(self, line: CaptureLine, when: float, seg: Segment) -> None:
        streams = self.tcp.get(line.interface)
        if streams is None:
            streams = self.tcp[line.interface] = SipOverTcp(line.sip_tcp_ports)
        streams.ports = frozenset(line.sip_tcp_ports)  # the line's ports changed meanwhile
        for at, message in streams.segment(when, seg):
            self._sip(line.interface, line.rule, at, message)

    def sip_over_tls(self, interface: str, now: float | None = None) -> bool:
        """Whether SIP over TLS was seen on ``interface`` lately: calls signalled over it
        cannot be followed from the port (only its two ends hold the keys)."""
        streams = self.tcp.get(interface)
        at = streams.tls_at if streams is not None else None
        return at is not None and (now or steady()) - at < self.settings.tls_recent_s

    def _sip(self, interface: str, rule: LineRule, when: float, d: Datagram) -> None:
        dialogs = self.dialogs.setdefault(interface, Dialogs())
        known, malformed = len(dialogs.calls), dialogs.malformed
        dialog = dialogs.sip(when, d)
        if dialogs.malformed > malformed:
            self.refusals.unreadable_sip(rule.name, interface, d.src, d.sport, d.dst, d.dport,
                                         d.payload, dialogs.last_error)
        if dialog is None:
            return
        forget = to_forget(dialogs.calls, dialog, self.settings.max_calls,
                           self.settings.max_offers_per_source) \
            if len(dialogs.calls) > known else None
        if forget is not None:  # a table full of offers: junk goes first (pending.py), told
            dialogs.calls.pop(forget[0])
            self.counters.not_followed += 1
            self.refusals.not_followed(rule.name, interface, self.settings.max_calls,
                                       forget[0], dialog.source if forget[1] else "")
            if forget[0] == dialog.call_id:
                return
        call = self.calls.get((interface, dialog.call_id))
        if call is None:
            if dialog.ended is not None:  # failed, cancelled, or ended before its answer
                dialogs.calls.pop(dialog.call_id, None)
            elif dialog.answered is not None:
                self.seen(rule.name)  # a call answered: junk offers never count as calls
                self._answered(interface, rule, dialog)
            return
        call.last_heard = when
        self._index(call)  # a re-INVITE may have moved a side's media
        if dialog.ended is not None:
            self._end(call, "bye", dialog.ended)

    def _answered(self, interface: str, rule: LineRule, dialog: Dialog) -> None:
        """The call answered: in the office's scope or not, decided now, before any of its
        sound is written (R1.4)."""
        assert dialog.answered is not None
        verdict = judge("unknown", dialog.caller, dialog.callee, rule.scope, rule.internal,
                        extension_max_digits=rule.extension_max_digits)
        direction, started = verdict.direction, dialog.answered
        clock = CallClock(self.frame_clock.wall_of(started), started)
        if not verdict.keep:
            if verdict.untold:  # not silently (scope.py)
                self.refusals.direction_untold(rule.name, interface, rule.scope)
            call = Call(interface, dialog, rule, clock, None, None, last_heard=started)
            self.counters.out_of_scope += 1
            self.out_of_scope_cb(rule.name)
        else:
            facts = CallFacts(rule.name, dialog.call_id, [dialog.call_id],
                              clock.start.isoformat(), dialog.caller, dialog.callee,
                              dialog.caller_name, "", direction, "", intake=VIA)
            call = Call(interface, dialog, rule, clock,
                        SessionFolder.create(self.settings.root, facts), facts,
                        last_heard=started)
            self.counters.calls += 1
            assert call.folder is not None
            log.info("capture: call %s on line %s recorded (%s)", call.folder.path.name,
                     rule.name, direction)
        self.calls[(interface, dialog.call_id)] = call
        self._index(call)
        self.publish()

    def _index(self, call: Call) -> None:
        """Where each side's RTP is sent: the callee's media address carries the caller's
        voice (side 0), the caller's the callee's (side 1)."""
        offer, answer = call.dialog.offer, call.dialog.answer
        keys: dict[tuple[str, str, int], tuple[int, Protection]] = {}
        for side, to, by in ((1, offer, answer), (0, answer, offer)):
            for i, m in enumerate(to):
                sender = by[i] if i < len(by) else None  # its i-th stream sends to it
                secure = m.secure or (sender is not None and sender.secure)
                keys[(call.interface, m.address, m.port)] = (side, Protection(
                    secure, sending_key(sender, m) if sender is not None else None,
                    m.rtpmaps + (sender.rtpmaps if sender is not None else ())))
        for key in call.media - set(keys):
            if self.media.get(key, (None,))[0] is call:
                del self.media[key]
        for key, (side, protection) in keys.items():
            self.media[key] = (call, side, protection)
        call.media = set(keys)

    def _rtp(self, interface: str, when: float, d: Datagram) -> None:
        hit = self.media.get((interface, d.dst, d.dport))
        if hit is None:
            self.counters.unmatched += 1
            return
        call, side, protection = hit
        if call.folder is None or call.facts is None:
            return  # out of scope: dropped as read, never written
        call.last_heard = when
        packet = d.payload
        if protection.secure:  # SRTP: decrypted with its sender's key, or not written
            clear = decrypt(call, side, protection, packet)
            if clear is None:
                return
            packet = clear
            d = Datagram(d.src, d.sport, d.dst, d.dport, packet)
        writer = call.writers.get(side)
        if writer is None:
            writer = self._writer(call, side, d, protection)
            if writer is None:
                return
        try:
            taken = writer.take(packet, when)
        except OSError:  # the disk refused: counted as lost, the call goes on
            taken = False
        if not taken:
            writer.counts.unexpected += 1

    def _writer(self, call: Call, side: int, d: Datagram,
                protection: Protection) -> StreamWriter | None:
        """A side's stream file, opened at its first RTP packet (its codec is the packet's
        payload type: a static one, or a dynamic one the SDP named)."""
        assert call.folder is not None and call.facts is not None
        packet = d.payload
        if len(packet) < 12 or packet[0] >> 6 != 2:
            self.counters.unmatched += 1
            return None
        payload = packet[1] & 0x7F
        named = dict(reversed(protection.rtpmaps))  # the receiver's name wins
        codec = codec_of(payload, named) if payload in named else STATIC.get(payload)
        if codec is None:
            if payload not in call.unsupported and named.get(payload, "").lower()[:15] \
                    != "telephone-event":
                log.warning("capture: call %s sends payload type %d (%s), which Kustosz does "
                            "not record (G.711, G.722, Opus)", call.folder.path.name, payload,
                            named.get(payload, "unnamed"))
            call.unsupported.add(payload)
            return None
        label = SIDES[side]
        stream = Stream(side, label, d.src, d.dport, payload, codec, "sendonly")
        writer = StreamWriter(stream, call.folder.stream_path(label), call.started,
                              port=d.dport)
        writer.open()
        call.writers[side] = writer
        number = call.dialog.caller if side == 0 else call.dialog.callee
        call.facts.streams.append(StreamFacts(label, codec.name, side, number))
        call.folder.save(call.facts)
        return writer

    # -- the end ------------------------------------------------------------------------------
    def _end(self, call: Call, why: str, when: float) -> None:
        if call.closed:
            return
        call.closed = True
        self.calls.pop((call.interface, call.dialog.call_id), None)
        self.dialogs.get(call.interface, Dialogs()).calls.pop(call.dialog.call_id, None)
        for key in call.media:
            if self.media.get(key, (None,))[0] is call:
                del self.media[key]
        for w in call.writers.values():
            w.close()
        self.publish()
        if call.folder is None or call.facts is None:
            return
        facts = call.facts
        facts.end = call.clock.at(when).isoformat()
        facts.ended, facts.clock_step = why, call.clock.step()
        facts.lost = sum(w.lost() for w in call.writers.values())
        facts.unheard = self.absences.during(call.started, steady(), call.clock.at)
        facts.unexpected = sum(w.counts.unexpected for w in call.writers.values()) + \
            call.encrypted + call.forged
        received = facts.received = call.received()
        call.folder.save(facts)
        name = call.folder.path.name
        if not received and not call.no_sound_said:
            self.problem(AlertRow.PHONE_NO_SOUND, call.line.name,
                         f"call {name} read off {call.interface}: {call.why_silent()}")
        elif received and facts.lost > received * self.settings.loss_percent / 100:
            self.problem(AlertRow.PHONE_LOSS, call.line.name,
                         f"call {name} read off {call.interface}: {facts.lost} of "
                         f"{received + facts.lost} packets lost")
        self.handover.later(self.handover.store, call.folder)

    def later(self, step: Callable[..., object], *args: object) -> None:
        self.handover.later(step, *args)

    async def _watch(self) -> None:
        retried = time.monotonic()
        asked = time.monotonic()
        s = self.settings
        while True:
            await asyncio.sleep(s.watch_s)
            try:
                self._look(s, steady())
            except Exception:  # the watch goes on: the next look may succeed
                log.exception("capture: the calls' watch failed once")
            if time.monotonic() - asked >= 5.0:
                asked = time.monotonic()
                self.ask()
            if time.monotonic() - retried >= s.retry_s:
                retried = time.monotonic()
                self.handover.retry(s.root, {c.folder.path.name for c in self.calls.values()
                                             if c.folder is not None})

    def _look(self, s: CaptureSettings, now: float) -> None:
        """Calls without sound, calls gone silent, dialogs never answered; SIP over TCP
        waiting behind a gap too long."""
        by_interface = {line.interface: line.rule for line in self.lines()}
        self.refusals.flush()
        for interface, streams in self.tcp.items():
            waited = streams.expire(now)
            rule = by_interface.get(interface)
            if streams.lost > self._tcp_lost_said.get(interface, 0):
                if rule is not None:  # a call whose INVITE or answer was in one is not seen
                    self.refusals.tcp_lost(rule.name, interface, streams.lost -
                                           self._tcp_lost_said.get(interface, 0))
                self._tcp_lost_said[interface] = streams.lost
            for at, message in waited:
                if rule is not None:  # its line disabled a moment ago: not followed
                    self._sip(interface, rule, at, message)
        for call in list(self.calls.values()):
            if call.folder is not None and not call.no_sound_said and \
                    not call.received() and now - call.started > s.no_sound_s:
                call.no_sound_said = True
                self.problem(AlertRow.PHONE_NO_SOUND, call.line.name,
                             f"call {call.folder.path.name} read off {call.interface}: "
                             f"{call.why_silent()} {s.no_sound_s:.0f} s after its answer")
            if now - call.last_heard > s.silence_s:
                log.warning("capture: call %s silent for %.0f s; closed",
                            call.dialog.call_id, s.silence_s)
                self._end(call, "silence", call.last_heard)
            elif self.absences.ended_while_away(call, now, s.resume_s):
                log.warning("capture: call %s not heard since the capture process came "
                            "back; it ended while it was away", call.dialog.call_id)
                self._end(call, "capture_away", call.last_heard)
        for dialogs in self.dialogs.values():
            for call_id, dialog in list(dialogs.calls.items()):
                if dialog.answered is None and now - dialog.started > s.unanswered_s:
                    del dialogs.calls[call_id]

