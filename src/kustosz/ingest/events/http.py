"""JSON events over HTTP(S) with an API token: a small stdlib endpoint until the web app
(FastAPI) takes this route over.

POST /events  Authorization: Bearer TOKEN
  body: one JSON object, a JSON array of objects, or NDJSON (one object per line)
  202 {"accepted": n, "refused": [{"index": i, "reason": "..."}], "warnings": n}, sent only
      once the accepted events are fsynced (503 with Retry-After: not stored, send them
      again; the database is not needed to accept, so an outage of it is no reason)
GET /health   200, no token
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import ssl
from typing import TYPE_CHECKING, Any

from kustosz.digests import token_digest as token_hash
from kustosz.ingest.events.formats import EventFormat, register
from kustosz.ingest.events.receiver import Receiver
from kustosz.ingest.net import peer_ip

if TYPE_CHECKING:
    from kustosz.ingest.chunks.spool import Chunk

log = logging.getLogger(__name__)
MAX_BODY = 4 << 20
MAX_HEADERS = 64
RETRY_AFTER_S = 30
_REASONS = {200: "OK", 202: "Accepted", 400: "Bad Request", 401: "Unauthorized",
            404: "Not Found", 405: "Method Not Allowed", 411: "Length Required",
            413: "Content Too Large", 431: "Request Header Fields Too Large",
            503: "Service Unavailable"}


async def serve_http(intake: Receiver, host: str, port: int,
                     tls: ssl.SSLContext | None) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = peer_ip(writer.get_extra_info("peername"))
        try:
            if intake.refuse_peer(peer):
                return
            while await _one_request(intake, reader, writer, peer):
                pass
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError,
                ValueError):
            intake.counters.add("http_broken_requests")
        except Exception:
            intake.counters.add("internal_errors")
            log.exception("%s: error while serving %s", intake.source_name, peer)
        finally:
            writer.close()

    return await asyncio.start_server(handle, host, port, ssl=tls, limit=1 << 16)


async def _respond(writer: asyncio.StreamWriter, status: int, payload: dict[str, Any],
                   keep: bool) -> bool:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    # 503 is "not stored, send again": Retry-After tells a sender that honours it when.
    retry = f"Retry-After: {RETRY_AFTER_S}\r\n" if status == 503 else ""
    head = (f"HTTP/1.1 {status} {_REASONS.get(status, '')}\r\n{retry}"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"Connection: {'keep-alive' if keep else 'close'}\r\n\r\n")
    writer.write(head.encode("ascii") + body)
    await writer.drain()
    return keep


async def _one_request(intake: Receiver, reader: asyncio.StreamReader,
                       writer: asyncio.StreamWriter, peer: str) -> bool:
    line = await reader.readline()
    if not line:
        return False
    parts = line.decode("latin-1").split()
    if len(parts) != 3:
        return await _respond(writer, 400, {"error": "malformed request line"}, False)
    method, path, version = parts
    headers = await _headers(reader)
    if headers is None:
        return await _respond(writer, 431, {"error": "too many headers"}, False)
    keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
    length = _length(headers)
    if length is None:
        return await _respond(writer, 411, {"error": "Content-Length is required"}, False)
    if length > MAX_BODY:
        intake.counters.add("http_too_large")
        log.warning("%s: request of %d bytes from %s refused (limit %d)", intake.source_name,
                    length, peer, MAX_BODY)
        return await _respond(writer, 413, {"error": f"body over {MAX_BODY} bytes"}, False)
    body = await reader.readexactly(length) if length else b""
    path = path.split("?", 1)[0]
    if path == "/health":
        return await _respond(writer, 200, {"status": "ok"}, keep)
    if path != "/events":
        return await _respond(writer, 404, {"error": "use POST /events"}, keep)
    if method != "POST":
        return await _respond(writer, 405, {"error": "use POST"}, keep)
    token = headers.get("authorization", "").removeprefix("Bearer ").strip()
    expected = intake.settings.token_sha256
    if not expected or not hmac.compare_digest(token_hash(token), expected):
        intake.counters.add("http_bad_token")
        log.warning("%s: request from %s without a valid API token", intake.source_name, peer)
        return await _respond(writer, 401, {"error": "missing or wrong API token"}, keep)
    items, error = _items(body)
    if error:
        intake.counters.add("http_bad_json")
        log.warning("%s: request from %s is not JSON: %s", intake.source_name, peer, error)
        return await _respond(writer, 400, {"error": error}, keep)
    refused, accepted, warnings = [], 0, 0
    before = intake.counters.totals["no_time"] + intake.counters.totals["clock_skew"]
    touched: set[Chunk] = set()
    # "Accepted" is a promise that the events survive a crash: the sender forgets them when
    # it hears it. So the answer waits for the fsync (shared with concurrent requests), and
    # a write or fsync that fails (a full disk) is answered 503: the sender sends them again.
    try:
        for i, item in enumerate(items):
            reason = intake.take_json(item, peer, touched)
            if reason:
                refused.append({"index": i, "reason": reason})
            else:
                accepted += 1
        for chunk in touched:
            await chunk.sync()
    except OSError:
        intake.counters.add("not_durable")
        log.exception("%s: events from %s could not be made durable; the sender is asked to "
                      "retry", intake.source_name, peer)
        return await _respond(writer, 503, {"error": "events not stored, retry later"}, False)
    warnings = intake.counters.totals["no_time"] + intake.counters.totals["clock_skew"] - before
    return await _respond(writer, 202, {"accepted": accepted, "refused": refused,
                                        "warnings": warnings}, keep)


async def _headers(reader: asyncio.StreamReader) -> dict[str, str] | None:
    """A request's header fields, names in lower case; None when there are too many. Two
    Content-Length fields are kept as one "a, b" (RFC 9110 §5.3), to be refused."""
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADERS + 1):
        raw = await reader.readline()
        if raw in (b"\r\n", b"\n", b""):
            return headers
        name, _, value = raw.decode("latin-1").partition(":")
        key = name.strip().lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    return None


def _length(headers: dict[str, str]) -> int | None:
    """The body's length in bytes (RFC 9112 §6.3), or None when it cannot be known from
    Content-Length alone: a chunked or other Transfer-Encoding (not taken), a length that
    is not ASCII digits ("²" is a digit to str.isdigit), two lengths."""
    text = headers.get("content-length", "0")
    if "transfer-encoding" in headers or not (text.isascii() and text.isdigit()):
        return None
    return int(text)


def _items(body: bytes) -> tuple[list[Any], str | None]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return [], "the body is not UTF-8"
    try:
        data = json.loads(text)
        return (data if isinstance(data, list) else [data]), None
    except ValueError:
        pass
    items = []
    # NDJSON's lines end at LF (CRLF too); not at U+2028 or U+0085, which a JSON string may
    # hold as they are (str.splitlines breaks at both)
    for n, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            items.append(json.loads(line))
        except ValueError:
            return [], f"line {n} is not JSON (send one object, an array, or NDJSON)"
    if not items:
        return [], "empty body"
    return items, None


register(EventFormat("json", "document", "zdarzenia JSON (HTTP)", "JSON events (HTTP)",
                     "operations/mail-events.md#json"))
