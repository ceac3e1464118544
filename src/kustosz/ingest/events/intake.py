"""The event listener of one endpoint source: syslog over UDP, TCP, TLS and RELP, JSON over
HTTP.

Every message becomes one JSON line in the source's open chunk. Bad input never stops the
listener: what can be kept is kept with its problem noted (a line that is not syslog, invalid
UTF-8, a JSON event without a time), what cannot is refused; either way a counter says so.
Logs name the problem and the peer, never the event's text.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from kustosz.db.models import Source
from kustosz.ingest.chunks.service import Service
from kustosz.ingest.chunks.spool import Chunk
from kustosz.ingest.events.http import serve_http
from kustosz.ingest.events.relp import serve_relp
from kustosz.ingest.events.rules import CATEGORIES, Rules
from kustosz.ingest.events.search import index_events
from kustosz.ingest.events.settings import EndpointSettings, endpoint_source
from kustosz.ingest.events.syslog import Framer, parse, user_of
from kustosz.ingest.net import (
    LOOPBACK,
    LOOPBACK_NOTICE,
    allowed,
    parse_listen,
    parse_networks,
    peer_ip,
    server_tls,
)
from kustosz.ingest.refusals import refused
from kustosz.kinds import KINDS, SourceKind
from kustosz.vault import Vault

log = logging.getLogger(__name__)
NOT_LISTED = ("adres nie jest na liście komputerów, od których źródło przyjmuje zdarzenia "
              "(allow_hosts); zdarzenia odrzucono")
DELIVERIES = KINDS[SourceKind.ENDPOINT].delivery_counter or ""  # counts each event taken
MAX_MESSAGE = 8192  # characters of an event's text kept in the chunk
MAX_EXTRA = 4096  # characters of a JSON event's other fields
SKEW = timedelta(days=1)
_SEVERITIES = {"emerg": 0, "emergency": 0, "alert": 1, "crit": 2, "critical": 2, "err": 3,
               "error": 3, "high": 3, "warn": 4, "warning": 4, "medium": 4, "notice": 5,
               "low": 5, "info": 6, "informational": 6, "debug": 7}
_TIME_KEYS = ("time", "timestamp", "@timestamp", "at", "date")


class EventIntake(Service):
    def __init__(self, vault: Vault, source_name: str) -> None:
        super().__init__(vault, source_name, "events", index_events)
        self.rules = Rules(self.settings.rules, self.settings.fallback)
        self.networks = parse_networks(self.settings.allow_hosts or list(LOOPBACK),
                                       "allow_hosts")
        # Said at start (log and `events listen`), so an office wondering why its firewall's
        # events do not arrive reads why.
        self.notice = None if self.settings.allow_hosts \
            else LOOPBACK_NOTICE.format(name=source_name)
        self.tz = vault.policy.timezone
        # Set at stop: RELP sessions answer what they have read, say "serverclose" and end
        # (so the sender resends nothing that was stored and acknowledged).
        self.relp_stopping = asyncio.Event()
        self.relp_sessions: set[asyncio.Task[Any]] = set()

    def source_of(self, session: Session, name: str) -> Source:
        return endpoint_source(session, name)

    def settings_of(self, source: Source) -> EndpointSettings:
        self.settings = EndpointSettings.of(source.settings)
        return self.settings

    # -- taking events ---------------------------------------------------------------------
    def _store(self, record: dict[str, Any], now: datetime) -> Chunk:
        chunk = self.spool.append(record, now)
        self.counters.add(DELIVERIES)
        for problem in record["problems"]:
            self.counters.add(problem)
        return chunk

    def take_syslog(self, data: bytes, peer: str, via: str) -> Chunk:
        now = datetime.now(UTC)
        p = parse(data, self.tz, now)
        if p.format == "raw":
            log.warning("%s: a line from %s via %s is not syslog; kept as raw text",
                        self.source_name, peer, via)
        host = p.host or peer
        user = user_of(p)
        if p.at is not None and abs(p.at - now) > SKEW:
            p.problems.append("clock_skew")
        category, rule = self.rules.categorise(p.message, p.app, host, user)
        return self._store({"received": now.isoformat(), "peer": peer, "via": via,
                     "format": p.format, "at": (p.at or now).isoformat(), "host": host,
                     "app": p.app, "user": user, "facility": p.facility,
                     "severity": p.severity, "category": category, "rule": rule,
                     "message": p.message[:MAX_MESSAGE], "sd": p.sd,
                     "problems": p.problems}, now)

    def take_json(self, item: object, peer: str, touched: set[Chunk] | None = None) -> str | None:
        """Keep one JSON event; returns why it was refused, or None. The chunk it went to is
        added to ``touched``: the caller syncs those before it acknowledges."""
        if not isinstance(item, dict):
            self.counters.add("refused_not_object")
            return "an event must be a JSON object"
        now = datetime.now(UTC)
        problems: list[str] = []
        at = _json_time(next((item[k] for k in _TIME_KEYS if k in item), None))
        if at is None:
            # Kept with the time it arrived, flagged, so that no reported event is lost.
            problems.append("no_time")
            log.warning("%s: a JSON event from %s has no valid time; the time of receipt "
                        "is used", self.source_name, peer)
        elif abs(at - now) > SKEW:
            problems.append("clock_skew")
        text = _text(item.get("message", item.get("msg", item.get("event", ""))))
        host = _text(item.get("host", item.get("hostname", item.get("device", "")))) or peer
        user = _text(item.get("user", item.get("username", "")))
        app = _text(item.get("app", item.get("program", item.get("tool", ""))))
        category, rule = self.rules.categorise(text, app, host, user)
        given = item.get("category")
        if isinstance(given, str) and given in CATEGORIES:
            category, rule = given, "sender"
        elif given is not None:
            problems.append("unknown_category")
        extra = {k: v for k, v in item.items() if k not in {
            *_TIME_KEYS, "message", "msg", "event", "host", "hostname", "device", "user",
            "username", "app", "program", "tool", "category", "severity"}}
        extra_text = json.dumps(extra, ensure_ascii=False, default=str)
        if len(extra_text) > MAX_EXTRA:
            problems.append("fields_truncated")
            extra = {"truncated": extra_text[:MAX_EXTRA]}
        chunk = self._store({"received": now.isoformat(), "peer": peer, "via": "http",
                     "format": "json", "at": (at or now).isoformat(), "host": host[:255],
                     "app": app[:100], "user": user[:255], "facility": None,
                     "severity": _severity(item.get("severity")), "category": category,
                     "rule": rule, "message": text[:MAX_MESSAGE], "data": extra,
                     "problems": problems}, now)
        if touched is not None:
            touched.add(chunk)
        return None

    # -- servers ---------------------------------------------------------------------------
    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        st = self.settings
        tls = server_tls(st.tls_cert, st.tls_key)
        if st.syslog_udp:
            host, port = parse_listen(st.syslog_udp, "syslog_udp")
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Udp(self), local_addr=(host, port))
            self.transports.append(transport)
            self.addresses["syslog_udp"] = transport.get_extra_info("sockname")[:2]
        for name, ctx in (("syslog_tcp", None), ("syslog_tls", tls)):
            if getattr(st, name):
                host, port = parse_listen(getattr(st, name), name)
                server = await asyncio.start_server(
                    partial(self._tcp, via=name), host, port, ssl=ctx, limit=1 << 20)
                self.servers.append(server)
                self.addresses[name] = server.sockets[0].getsockname()[:2]
        if st.relp:
            host, port = parse_listen(st.relp, "relp")
            server = await serve_relp(self, host, port)
            self.servers.append(server)
            self.addresses["relp"] = server.sockets[0].getsockname()[:2]
        if st.http:
            host, port = parse_listen(st.http, "http")
            server = await serve_http(self, host, port, tls)
            self.servers.append(server)
            self.addresses["http"] = server.sockets[0].getsockname()[:2]
        log.info("%s: listening on %s", self.source_name, self.addresses)
        if self.notice:
            log.warning("%s: %s", self.source_name, self.notice)

    async def stop(self) -> None:
        self.relp_stopping.set()
        if self.relp_sessions:
            await asyncio.wait(list(self.relp_sessions), timeout=5)
        await super().stop()

    def refuse_peer(self, peer: str) -> bool:
        if allowed(peer, self.networks):
            return False
        self.counters.add("refused_host")
        # an alert folded by source and reason, the address only counted (issue 64 item 4):
        # in memory here, on the loop; refusals' own thread writes it and logs once a minute
        refused(self.vault, device=f"nadawca zdarzeń spoza listy źródła {self.source_name}",
                address=peer, source=self.source_name, reason_pl=NOT_LISTED,
                detail="syslog, RELP or HTTP from a host not in allow_hosts")
        return True

    async def _tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                   via: str) -> None:
        peer = peer_ip(writer.get_extra_info("peername"))
        if self.refuse_peer(peer):
            writer.close()
            return
        framer = Framer()
        self.connections[writer] = asyncio.current_task()  # type: ignore[assignment]
        try:
            while data := await reader.read(1 << 16):
                for frame in framer.feed(data):
                    self.take_syslog(frame, peer, via.removeprefix("syslog_"))
                if framer.oversized:
                    self.counters.add("truncated", framer.oversized)
                    framer.oversized = 0
            last = framer.rest()
            if last:
                self.take_syslog(last, peer, via.removeprefix("syslog_"))
        except (ConnectionError, OSError) as exc:
            self.counters.add("connection_errors")
            log.info("%s: connection from %s ended: %s", self.source_name, peer, exc)
        except Exception:
            self.counters.add("internal_errors")
            log.exception("%s: error while reading from %s", self.source_name, peer)
        finally:
            self.connections.pop(writer, None)
            writer.close()


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, intake: EventIntake) -> None:
        self.intake = intake

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        peer = peer_ip(addr)
        if self.intake.refuse_peer(peer):
            return
        try:
            self.intake.take_syslog(data, peer, "udp")
        except Exception:
            self.intake.counters.add("internal_errors")
            log.exception("%s: error on a datagram from %s", self.intake.source_name, peer)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _json_time(value: object) -> datetime | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:  # epoch seconds, or milliseconds from tools that count them
            return datetime.fromtimestamp(value / 1000 if value > 1e11 else value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        try:
            at = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
        return at if at.tzinfo is not None else None
    return None


def _severity(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 7:
        return value
    if isinstance(value, str):
        return _SEVERITIES.get(value.strip().lower())
    return None
