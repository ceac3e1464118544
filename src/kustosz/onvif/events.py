"""A camera's own events over ONVIF (issue 34 item 4): a PullPoint subscription (the ONVIF
Event Service), renewed before it terminates and created again when the camera forgot it,
pulled in long polls. Each notification becomes a `CameraEvent` of one of the kinds Kustosz
acts on — tampering, video loss, motion, a digital input — with its state (begun or ended)
and the camera's time of it; any other topic is left out.

onveef 0.6.0's PullMessages asks httpx 0.28 for a per-call read time-out it refuses
(`httpx.Timeout(Timeout, read=…)`); the pull here posts the same request through onveef's
subscription call with the client's own time-out, made longer than the long poll."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import onveef
from onveef import envelopes, parsers

from kustosz.onvif.address import OnvifAddress
from kustosz.onvif.client import Client
from kustosz.onvif.device import said_plainly

POLL_S = 5  # the camera holds a pull this long when it has nothing to say
TERMINATION_S = 60  # a subscription ends unless renewed; renewed at half of it
PULL_ACTION = "http://www.onvif.org/ver10/events/wsdl/PullPointSubscription/PullMessagesRequest"

# ONVIF topics (the Profile S/T event sets and what vendors send) by the kind Kustosz acts on
KINDS = (
    ("tamper", ("GlobalSceneChange", "Tamper", "ImageTooBlurry", "ImageTooDark",
                "ImageTooBright", "DefocusDetect", "CameraCovered")),
    ("video_loss", ("SignalLoss", "VideoLoss")),
    ("motion", ("MotionAlarm", "CellMotionDetector", "MotionRegionDetector", "Motion")),
    ("input", ("DigitalInput", "LogicalState")),
)
STATE_ITEMS = ("State", "IsTamper", "IsMotion", "LogicalState", "IsInside", "Value")


@dataclass(frozen=True)
class CameraEvent:
    kind: str  # tamper, video_loss, motion, input
    active: bool  # begun (true) or ended
    at: datetime  # the camera's time of it (UTC); this machine's when the camera gave none
    topic: str


def kind_of(topic: str) -> str | None:
    for kind, words in KINDS:
        if any(w.lower() in topic.lower() for w in words):
            return kind
    return None


def _active(data: dict[str, Any]) -> bool | None:
    for name in STATE_ITEMS:
        if name in data:
            return str(data[name]).strip().lower() in ("true", "1", "on", "active")
    return None


TRUSTED_S = 60.0  # a camera's time of an event is taken when within this of its receipt


def _at(text: object, received: datetime) -> datetime:
    """The camera's time of the event when it is near its receipt (a long poll hands it over
    within seconds); else the receipt's: a camera whose clock is off, or a time out of range,
    does not put a mark where no one looks or keep it past its period."""
    try:
        at = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
        at = (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        return received
    return at if abs((at - received).total_seconds()) <= TRUSTED_S else received


def events_of(messages: list[dict[str, Any]],
              received: datetime | None = None) -> list[CameraEvent]:
    received = received or datetime.now(UTC)
    out = []
    for m in messages:
        topic = str(m.get("topic") or "")
        kind = kind_of(topic)
        active = _active(m.get("data") or {})
        if kind is not None and active is not None:
            out.append(CameraEvent(kind, active, _at(m.get("utc_time"), received), topic))
    return out


class EventStream:
    """`with EventStream(address, user, password) as stream: stream.pull()`."""

    def __init__(self, address: OnvifAddress, user: str, password: str) -> None:
        self.address = address
        self._client = Client(
            address.host, address.port, user, password, use_https=address.https,
            device_path=address.path, timeout_s=POLL_S + 10.0, retries=0,
            http_auth="digest")  # never Basic: device.py's _client says why
        self._url = ""
        self._renew_at = 0.0

    def __enter__(self) -> EventStream:
        with said_plainly(self.address):
            self._client.__enter__()
            self._create()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if self._url:
                self._client.events_unsubscribe(subscription_url=self._url)
        except onveef.OnvifError:
            pass  # a camera that forgot the subscription, or is gone
        finally:
            self._client.__exit__(kind, exc, tb)

    def _create(self) -> None:
        made = self._client.events_create_pull_point(termination_time=f"PT{TERMINATION_S}S")
        self._url = str(made.get("subscription_url") or "")
        if not self._url:
            raise onveef.OnvifFaultError("the camera gave no subscription address")
        self._renew_at = time.monotonic() + TERMINATION_S / 2

    def _pull(self) -> list[dict[str, Any]]:
        # onveef's own call, without the per-call time-out (the module's note)
        xml = self._client._post_subscription(
            subscription_url=self._url, body=envelopes.events_pull_messages(
                timeout=f"PT{POLL_S}S", message_limit=50),
            wsa_action=PULL_ACTION, operation="PullMessages")
        messages = parsers.parse_pull_messages(xml).get("messages")
        return messages if isinstance(messages, list) else []

    def pull(self) -> list[CameraEvent]:
        """What the camera reported since the last pull (waits up to POLL_S for it)."""
        with said_plainly(self.address):
            if time.monotonic() >= self._renew_at:
                try:
                    self._client.events_renew(subscription_url=self._url,
                                              termination_time=f"PT{TERMINATION_S}S")
                    self._renew_at = time.monotonic() + TERMINATION_S / 2
                except (onveef.OnvifFaultError, onveef.OnvifOperationNotSupportedError):
                    self._create()  # it had ended: a new one
            try:
                raw = self._pull()
            except (onveef.OnvifFaultError, onveef.OnvifOperationNotSupportedError):
                self._create()
                raw = self._pull()
        return events_of(raw)
