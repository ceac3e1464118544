"""RELP, rsyslog's Reliable Event Logging Protocol: syslog with an acknowledgment per message.

Plain syslog over TCP has no acknowledgment: what sits in the sockets when the listener dies
is lost (0.5–1 % of lines in the kill experiment of issue 14). Over RELP the sender (rsyslog's
`omrelp`) keeps every message until it hears "200 OK" for it and sends again what it did not
hear after a reconnect. Kustosz answers only once the message is fsynced into the open chunk,
so an acknowledged message survives a crash (at-least-once: one the crash caught between the
fsync and the answer is stored again when it comes again).

A frame is ``TXNR SP COMMAND SP DATALEN [SP DATA] LF`` (TXNR and DATALEN at most nine
digits). Commands: ``open`` (the client's offers; answered with ours), ``syslog`` (one
message), ``close``. The server answers ``TXNR rsp LEN 200 OK`` and hints ``0 serverclose 0``
before it ends a session itself. A frame that does not parse, or is larger than the limit,
ends the session (nothing of it stored); an unknown command or a message before ``open`` is
answered "500" and stored nowhere.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kustosz import __version__
from kustosz.ingest.events.formats import EventFormat, register
from kustosz.ingest.events.receiver import Receiver
from kustosz.ingest.events.syslog import MAX_FRAME
from kustosz.ingest.net import peer_ip

if TYPE_CHECKING:
    from kustosz.ingest.chunks.spool import Chunk

log = logging.getLogger(__name__)
MAX_DIGITS = 9
MAX_COMMAND = 32
MAX_DATA = MAX_FRAME  # what a syslog listener keeps of one message anyway
RELP_VERSION = 0
SERVERCLOSE = b"0 serverclose 0\n"
OK = b"200 OK"
DIGITS = b"0123456789"
LETTERS = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class Frame:
    txnr: int
    command: str
    data: bytes


class Parser:
    """Cuts a byte stream into RELP frames. After an error it yields nothing more: a stream
    whose framing is lost cannot be resynchronised safely."""

    def __init__(self, max_data: int = MAX_DATA) -> None:
        self.buf = bytearray()
        self.max_data = max_data
        self.error: str | None = None

    def feed(self, data: bytes) -> list[Frame]:
        """The complete frames in what arrived so far; on a bad frame, those before it and
        `error` set."""
        if self.error:
            return []
        self.buf += data
        frames: list[Frame] = []
        pos = 0
        while True:
            frame, used = self._one(pos)
            if frame is None:
                break
            frames.append(frame)
            pos = used
        del self.buf[:pos]
        return frames

    def _fail(self, why: str) -> tuple[None, int]:
        self.error = why
        return None, 0

    def _field(self, pos: int, limit: int, what: str, ends: bytes,
               allowed: bytes) -> tuple[bytes | None, int, bool]:
        """The field starting at ``pos`` up to one of ``ends``: (field, end position,
        complete). A field longer than ``limit``, empty, or with a byte not in ``allowed``
        is an error (field None) as soon as that byte arrives."""
        buf = self.buf
        end = pos
        while end < len(buf) and buf[end] not in ends:
            if buf[end] not in allowed:
                self._fail(f"the {what} has a byte that does not belong there")
                return None, 0, True
            end += 1
            if end - pos > limit:
                self._fail(f"the {what} is longer than {limit} characters")
                return None, 0, True
        if end >= len(buf):
            return b"", 0, False
        if end == pos:
            self._fail(f"the {what} is empty")
            return None, 0, True
        return bytes(buf[pos:end]), end, True

    def _one(self, pos: int) -> tuple[Frame | None, int]:
        txnr_raw, end, complete = self._field(pos, MAX_DIGITS, "transaction number", b" ",
                                              DIGITS)
        if txnr_raw is None or not complete:
            return None, 0
        command_raw, end, complete = self._field(end + 1, MAX_COMMAND, "command", b" \n",
                                                 LETTERS)
        if command_raw is None or not complete:
            return None, 0
        if self.buf[end] != ord(" "):
            return self._fail("no data length after the command")
        size_raw, end, complete = self._field(end + 1, MAX_DIGITS, "data length", b" \n",
                                              DIGITS)
        if size_raw is None or not complete:
            return None, 0
        size = int(size_raw)
        if size > self.max_data:
            return self._fail(f"a frame of {size} bytes (limit {self.max_data})")
        if self.buf[end] == ord("\n"):
            if size:
                return self._fail("the frame ends before its data")
            return Frame(int(txnr_raw), command_raw.decode("ascii"), b""), end + 1
        start = end + 1  # after the space
        if len(self.buf) < start + size + 1:
            return None, 0  # wait for the rest
        if self.buf[start + size] != ord("\n"):
            return self._fail("the data is longer than its length says (no trailer)")
        return (Frame(int(txnr_raw), command_raw.decode("ascii"),
                      bytes(self.buf[start:start + size])), start + size + 1)


def offers(data: bytes) -> dict[str, list[str]]:
    """``name=value[,value]`` lines of an open command."""
    found: dict[str, list[str]] = {}
    for line in data.decode("utf-8", "replace").splitlines():
        name, _, value = line.partition("=")
        if name.strip():
            found[name.strip()] = [v.strip() for v in value.split(",") if v.strip()]
    return found


def response(txnr: int, text: bytes) -> bytes:
    return b"%d rsp %d %s\n" % (txnr, len(text), text)


async def serve_relp(intake: Receiver, host: str, port: int) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = peer_ip(writer.get_extra_info("peername"))
        if intake.refuse_peer(peer):
            writer.close()
            return
        task = asyncio.current_task()
        assert task is not None
        intake.connections[writer] = task
        intake.relp_sessions.add(task)  # stop() lets these end first
        try:
            await _session(intake, reader, writer, peer)
        except (ConnectionError, OSError) as exc:
            intake.counters.add("connection_errors")
            log.info("%s: RELP session from %s ended: %s", intake.source_name, peer, exc)
        except Exception:
            intake.counters.add("internal_errors")
            log.exception("%s: error in the RELP session from %s", intake.source_name, peer)
        finally:
            intake.connections.pop(writer, None)
            intake.relp_sessions.discard(task)
            writer.close()

    return await asyncio.start_server(handle, host, port, limit=1 << 20)


async def _session(intake: Receiver, reader: asyncio.StreamReader,
                   writer: asyncio.StreamWriter, peer: str) -> None:
    parser = Parser()
    opened = False
    stopping = asyncio.ensure_future(intake.relp_stopping.wait())
    reading: asyncio.Future[bytes] | None = None
    try:
        while True:
            reading = asyncio.ensure_future(reader.read(1 << 16))
            await asyncio.wait({reading, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not reading.done():
                # Stopping: what was read is answered; tell the sender to go now, so that it
                # does not wait for answers that will not come (it reconnects later).
                reading.cancel()
                writer.write(SERVERCLOSE)
                await writer.drain()
                return
            data = reading.result()
            if not data:
                return
            still_open = await _frames(intake, parser, opened, data, writer, peer)
            if still_open is None:
                return
            opened = still_open
    finally:
        stopping.cancel()
        if reading is not None and not reading.done():
            reading.cancel()  # the session was cancelled while it waited for the sender


async def _frames(intake: Receiver, parser: Parser, opened: bool, data: bytes,
                  writer: asyncio.StreamWriter, peer: str) -> bool | None:
    """Store and answer what ``data`` completes; returns whether the session is open, or
    None when it has ended."""
    answers: list[bytes] = []
    touched: set[Chunk] = set()
    end = False
    for frame in parser.feed(data):
        if frame.command == "open":
            if opened:
                answers.append(response(frame.txnr, b"200 connection already open"))
                continue
            commands = offers(frame.data).get("commands", [])
            if "syslog" not in commands:
                intake.counters.add("relp_refused")
                log.warning("%s: a RELP client at %s does not offer the syslog command; "
                            "session refused", intake.source_name, peer)
                answers.append(response(frame.txnr,
                                        b"500 required command not supported by client"))
                end = True
                break
            opened = True
            answers.append(response(frame.txnr, OK + b"\n" + (
                f"relp_version={RELP_VERSION}\nrelp_software=kustosz,{__version__}\n"
                "commands=syslog").encode("ascii")))
        elif frame.command == "syslog":
            if not opened:
                intake.counters.add("relp_refused")
                log.warning("%s: a RELP client at %s sent a message before opening the "
                            "session; refused", intake.source_name, peer)
                answers.append(response(frame.txnr, b"500 session not open"))
                end = True
                break
            if frame.data.strip(b"\r\n\x00 "):
                try:
                    touched.add(intake.take_syslog(frame.data, peer, "relp"))
                except OSError:
                    _not_stored(intake, writer, peer)
                    return None
            answers.append(response(frame.txnr, OK))
        elif frame.command == "close":
            answers.append(response(frame.txnr, OK))
            end = True
            break
        else:
            intake.counters.add("relp_bad_frames")
            log.warning("%s: a RELP client at %s sent the unknown command %r",
                        intake.source_name, peer, frame.command[:MAX_COMMAND])
            answers.append(response(frame.txnr, b"500 unknown command"))
    if parser.error and not end:
        intake.counters.add("relp_bad_frames")
        log.warning("%s: a malformed RELP frame from %s (%s); session ended",
                    intake.source_name, peer, parser.error)
        end = True
    # The acknowledgments are a promise: the sender deletes what it hears "200" for.
    # So they wait for the fsync (one for everything this read brought, shared with the
    # other sessions); if it fails the session ends unanswered and the sender resends.
    try:
        for chunk in touched:
            await chunk.sync()
    except OSError:
        _not_stored(intake, writer, peer)
        return None
    if answers:
        writer.write(b"".join(answers))
    if end:
        if parser.error or not opened:
            writer.write(SERVERCLOSE)
        await writer.drain()
        return None
    await writer.drain()
    return opened


def _not_stored(intake: Receiver, writer: asyncio.StreamWriter, peer: str) -> None:
    """A write or fsync failed (a full disk): nothing of this read is answered — the sender
    keeps those messages and sends them again after it reconnects."""
    intake.counters.add("not_durable")
    log.exception("%s: messages from %s over RELP could not be made durable; the session "
                  "ends unanswered and the sender sends them again", intake.source_name, peer)
    writer.write(SERVERCLOSE)
    return None


register(EventFormat("relp", "transport", "RELP (syslog z potwierdzeniem)",
                     "RELP (syslog with acknowledgment)", "operations/mail-events.md#relp",
                     carries="frame"))
