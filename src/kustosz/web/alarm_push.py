"""The Web Push alert channel (issue 65 item 3): alarms reach whoever is on duty — the users
who turned notifications on on their own device (web.alarm_devices) — even with no Kustosz
page open.

The notifier decides when (grace, reminders, the all-clear) as for every channel; this
sender tells each device what its user's dashboard says of those alarms now: the dashboard's
rule of who is told which alarm (web.alarms.told: a source only to one whose active
authorisation covers it, the oversight roles everything), its words in the device's language
(web.alarm_words), never more. A user no longer active, or whose roles no longer watch, is
told nothing. The message is encrypted to the browser (RFC 8291) and signed with the vault's
VAPID key (RFC 8292); the push service sees neither the words nor who reads them.

Each request has its deadline (`[alerts.push] timeout_seconds`) and a send all of them
(`TOTAL_S`); a push service away, slow or refusing is this channel's failure like any
other's (the message waits and is retried, the dashboard says so); a device its push service
no longer knows (404, 410) is ended, not a failure. A retry goes only to the devices that did
not take the message yet. Endpoints are capabilities: never logged, never shown — only the
users told are named in the record of deliveries.
"""

from __future__ import annotations

import http.client
import json
import logging
import ssl
import time
from collections import OrderedDict
from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.access import agreements
from kustosz.alerts.channels import ChannelError
from kustosz.alerts.messages import Message
from kustosz.alerts.vapid import vapid
from kustosz.alerts.webpush import PushCryptoError, encrypt, unb64url, vapid_header
from kustosz.atrest.sealing import SecretBox
from kustosz.config import PushChannel
from kustosz.db.access import AlarmDevice
from kustosz.db.custody import User
from kustosz.vault_handle import VaultHandle
from kustosz.web.alarms import WARSAW, WATCH_ROLES, told, worded
from kustosz.web.common import PERMS
from kustosz.web.i18n import translate

log = logging.getLogger(__name__)
TOTAL_S = 30.0  # one send, every device: within the notifier's step (alerts.notifier)
TTL_S = 4 * 3600  # a device off longer is told by its dashboard, not by a stale push
TOKEN_S = 12 * 3600  # a VAPID token's life (RFC 8292 §2: at most 24 h)
BODY_MAX = 1000  # characters of the notification's text
REMEMBERED = 200  # messages whose devices that took them are remembered (for retries)
GONE = (404, 410)
TITLES = {"start": "Kustosz: alarm", "once": "Kustosz: alarm", "past": "Kustosz: alarm",
          "repeat": "Kustosz: alarm trwa", "clear": "Kustosz: alarm ustał",
          "test": "Kustosz: wiadomość testowa"}
TEST_PL = "Wiadomość testowa: alarmy Kustosza docierają na to urządzenie."


def ended_reason(how: str) -> str:
    return how[:200]


class PushSender:
    name = "push"

    def __init__(self, cfg: PushChannel, secrets: SecretBox | None = None) -> None:
        self.cfg = cfg
        self.vault: VaultHandle | None = None
        self._took: OrderedDict[str, set[int]] = OrderedDict()
        self._told: list[str] = []

    def attach(self, vault: VaultHandle) -> None:
        self.vault = vault

    def addressed(self) -> str:
        """Whom the last send reached: users by name, never a device's endpoint."""
        names = sorted(set(self._told))
        return f"{len(self._told)} urządz.: {', '.join(names)}" if names else ""

    def send(self, msg: Message) -> None:
        if self.vault is None:
            raise ChannelError("push_no_database", "Web Push needs the vault's database")
        key = _identity(msg)
        took = self._took.setdefault(key, set())
        self._took.move_to_end(key)
        while len(self._took) > REMEMBERED:
            self._took.popitem(last=False)
        try:
            with self.vault.transaction() as s:
                signer = vapid(s)
                due = [(d, body) for d, body in self._bodies(s, msg) if d.id not in took]
        except ChannelError:
            raise
        except Exception as exc:  # the database away: this channel's failure, retried
            raise ChannelError("push_no_database", f"Web Push: {type(exc).__name__}") from None
        if not due and msg.payload.get("event") == "test" and not took:
            raise ChannelError("push_no_devices", "no device has turned alarm notifications on")
        self._told = []
        failure: ChannelError | None = None
        deadline = time.monotonic() + TOTAL_S
        for device, body in due:
            try:
                self._post(device, body, signer.private, deadline)
            except ChannelError as exc:
                failure = failure or exc
                continue
            except _Gone:
                self._end(device.id, "the push service no longer knows this device")
                continue
            took.add(device.id)
            self._told.append(device.user_name)
        if failure is not None:
            raise failure

    # -- what each device is told ---------------------------------------------------------
    def _bodies(self, s: Session, msg: Message) -> list[tuple[_Device, bytes]]:
        now = datetime.now(UTC)
        event = str(msg.payload.get("event") or "start")
        ids = _alert_ids(msg)
        out = []
        rows = s.execute(select(AlarmDevice, User).join(User, User.id == AlarmDevice.user_id)
                         .where(AlarmDevice.ended_at.is_(None))).all()
        # the office's time zone (the vault's policy; a bare handle: Warsaw's)
        tz = getattr(getattr(self.vault, "policy", None), "timezone", WARSAW)
        for device, user in rows:
            if not user.active or agreements.ended(user, now) or not (
                    set(user.roles) & WATCH_ROLES):
                continue
            text = self._text(s, user, device.lang, event, ids, now, tz)
            if text is None:
                continue
            data = notification(event, text, ids, device.lang)
            try:
                body = encrypt(data, unb64url(device.p256dh), unb64url(device.auth))
            except PushCryptoError:  # keys checked when it subscribed: never, but not a crash
                log.warning("alarm device %d has keys that cannot be used; ended", device.id)
                device.ended_at, device.end_reason = now, "its keys cannot be used"
                continue
            out.append((_Device(device.id, device.endpoint, user.name), body))
        return out

    @staticmethod
    def _text(s: Session, user: User, lang: str, event: str, ids: list[int],
              now: datetime, tz: tzinfo) -> str | None:
        if event == "test":
            return translate(TEST_PL, lang)
        if not ids:
            return None
        oversight = bool(set(user.roles) & PERMS["oversight"])
        shown = told(s, user, oversight, now, ids)
        if not shown:
            return None  # nothing of this message is this user's to know
        return " ".join(w.plain for w in worded(s, user, shown, now, lang, tz))

    # -- the request ------------------------------------------------------------------------
    def _post(self, device: _Device, body: bytes, signer: Any, deadline: float) -> None:
        parts = urlsplit(device.endpoint)
        host = parts.hostname or ""
        left = deadline - time.monotonic()
        if left <= 0:
            raise ChannelError("push_unreachable", "Web Push: out of time for this send")
        if not allowed(device.endpoint, self.cfg):
            raise _Gone()  # a service kustosz.toml no longer allows: the device ends
        headers = {"TTL": str(TTL_S), "Urgency": "high", "Content-Encoding": "aes128gcm",
                   "Content-Type": "application/octet-stream",
                   "Authorization": vapid_header(signer, device.endpoint, self.cfg.contact,
                                                 int(time.time()) + TOKEN_S)}
        context = ssl.create_default_context(
            cafile=str(self.cfg.ca_file) if self.cfg.ca_file else None)
        conn = http.client.HTTPSConnection(host, parts.port, timeout=min(
            self.cfg.timeout_s, left), context=context)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            conn.request("POST", target, body=body, headers=headers)
            answer = conn.getresponse()
            answer.read(1024)
            status = answer.status
        except ssl.SSLError as exc:
            raise ChannelError("push_unreachable", f"Web Push at {host}: TLS: "
                               f"{exc.reason}") from None
        except (OSError, http.client.HTTPException) as exc:
            raise ChannelError("push_unreachable", f"Web Push at {host}: "
                               f"{type(exc).__name__}") from None
        finally:
            conn.close()
        if status in GONE:
            raise _Gone()
        if status >= 500 or status == 429:
            raise ChannelError("push_unreachable", f"Web Push at {host} answered {status}")
        if not 200 <= status < 300:
            raise ChannelError("push_refused", f"Web Push at {host} answered {status}")

    def _end(self, device_id: int, why: str) -> None:
        assert self.vault is not None
        with self.vault.transaction() as s:
            row = s.get(AlarmDevice, device_id)
            if row is not None and row.ended_at is None:
                row.ended_at, row.end_reason = datetime.now(UTC), ended_reason(why)
        log.info("alarm device %d ended: %s", device_id, why)


class _Gone(Exception):
    """The push service no longer knows the device."""


class _Device:
    __slots__ = ("endpoint", "id", "user_name")

    def __init__(self, device_id: int, endpoint: str, user_name: str) -> None:
        self.id, self.endpoint, self.user_name = device_id, endpoint, user_name


def notification(event: str, text: str, ids: list[int], lang: str) -> bytes:
    """What static/alarms_sw.js shows: the title, the text, one tag per alarm (the page's
    own notification of it and the all-clear replace it, never add another)."""
    return json.dumps({"title": translate(TITLES.get(event, TITLES["start"]), lang),
                       "body": text[:BODY_MAX],
                       "tag": f"kustosz-alarm-{ids[0]}" if len(ids) == 1 else "kustosz-alarm",
                       "lang": lang, "url": "/"}, ensure_ascii=False).encode("utf-8")


def allowed(endpoint: str, cfg: PushChannel) -> bool:
    """An endpoint Kustosz may POST to: https, on a push service of the browsers' own or
    one kustosz.toml names — never an address a signed-in person picked (the server would
    POST wherever they want)."""
    try:
        parts = urlsplit(endpoint)
        parts.port  # noqa: B018 — raises on a port that is not a number
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    return parts.scheme == "https" and bool(host) and any(
        host == s or host.endswith("." + s) for s in cfg.services)


def _alert_ids(msg: Message) -> list[int]:
    p = msg.payload
    if p.get("alert_id") is not None:
        return [int(p["alert_id"])]
    return [int(a["alert_id"]) for a in p.get("alerts") or [] if a.get("alert_id") is not None]


def _identity(msg: Message) -> str:
    p = msg.payload
    return json.dumps([_alert_ids(msg), p.get("event"), p.get("at")])


def sender(cfg: PushChannel, secrets: SecretBox | None = None) -> PushSender:
    return PushSender(cfg, secrets)
