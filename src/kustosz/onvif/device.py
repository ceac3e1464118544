"""What one camera says of itself over ONVIF, read in one short session: its device facts for
the register, its media profiles with the stream address of each (Media2 where offered,
Media1 otherwise: onvif.client, which also corrects onveef where it misreads real cameras),
and its clock against ours. Every call is bounded by a
timeout; a camera that refuses the credentials, does not answer or does not speak ONVIF gets a
clear error in both languages, never a traceback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import onveef

from kustosz.errors import KustoszError
from kustosz.onvif.address import OnvifAddress
from kustosz.onvif.client import Client, OnvifUnusableAnswer
from kustosz.onvif.deadline import session_transport
from kustosz.onvif.texts import said

TIMEOUT_S = 5.0  # per call; a camera on the office's network answers in well under a second
# One session's calls (services, device, profiles, a stream address each, the clock) answered
# in all within this many calls' time.
SESSION_CALLS = 6


class OnvifUnreachable(KustoszError):
    """The camera did not answer, or not as an ONVIF device."""


class OnvifRefused(KustoszError):
    """The camera refused the user name or password."""


class OnvifUnsupported(KustoszError):
    """The camera answers but does not offer (or refuses) the operation asked."""


class OnvifUnusable(OnvifUnreachable):
    """The camera answered with something that is not XML Kustosz can read."""


@dataclass(frozen=True)
class DeviceFacts:
    """GetDeviceInformation: what the camera register keeps (R1.6)."""

    make: str
    model: str
    firmware: str
    serial: str
    hardware_id: str


@dataclass(frozen=True)
class StreamProfile:
    """One media profile: an encoder's settings and the RTSP address of its stream, as the
    camera gives it (GetStreamUri; never typed by a person)."""

    token: str
    name: str
    encoding: str
    width: int | None
    height: int | None
    fps: float | None
    bitrate_kbps: int | None
    uri: str

    @property
    def pixels(self) -> int:
        return (self.width or 0) * (self.height or 0)


@dataclass(frozen=True)
class ClockReading:
    """The camera's clock against this machine's: GetSystemDateAndTime gives whole seconds,
    so the offset is good to about a second plus half the call's round trip."""

    camera_utc: datetime
    offset_s: float  # camera minus this machine; positive: the camera is ahead
    round_trip_s: float
    ntp: bool  # the camera says it sets its clock by NTP


@dataclass(frozen=True)
class CameraFacts:
    address: OnvifAddress
    device: DeviceFacts
    profiles: tuple[StreamProfile, ...]
    clock: ClockReading | None  # None: the camera would not say
    mac: str | None = None  # GetNetworkInterfaces, where the camera offers it

    def main_profile(self) -> StreamProfile | None:
        """The profile to record: the most pixels, then the highest bitrate (the main
        stream; a person may pick another)."""
        return max(self.profiles, key=lambda p: (p.pixels, p.bitrate_kbps or 0), default=None)

    def live_profile(self) -> StreamProfile | None:
        """A lighter profile for live view (a sub-stream) a browser plays (H.264) and the
        camera gives an address for; None: live view plays the main stream."""
        main = self.main_profile()
        lighter = [p for p in self.profiles if main is not None and p.token != main.token
                   and p.pixels < main.pixels and p.uri
                   and p.encoding.upper().replace(".", "") == "H264"]
        return max(lighter, key=lambda p: p.pixels, default=None)


@contextmanager
def said_plainly(address: OnvifAddress) -> Iterator[None]:
    """onveef's errors as Kustosz's: what failed and where, in both languages."""
    where = f"{address.host}:{address.port}"
    try:
        yield
    except onveef.OnvifAuthError:
        # the camera's clock was read and allowed for before (onvif.client): a refusal now
        # means the credentials themselves
        raise OnvifRefused(f"the camera at {where} refused the user name or password (wrong, "
                           "or the account has no ONVIF rights on the camera)",
                           pl=f"Kamera {where} odrzuciła nazwę użytkownika lub hasło: są "
                              "nieprawidłowe albo konto nie ma w kamerze uprawnień ONVIF."
                           ) from None
    except onveef.OnvifOperationNotSupportedError as exc:
        raise OnvifUnsupported(f"the camera at {where} does not offer this: {exc}",
                               pl=f"Kamera {where} nie obsługuje tej operacji ONVIF.") from None
    except onveef.OnvifFaultError as exc:
        raise OnvifUnsupported(f"the camera at {where} refused the operation: {exc}",
                               pl=f"Kamera {where} odmówiła wykonania operacji ONVIF.") from None
    except onveef.OnvifCapabilityMissingError as exc:
        raise OnvifUnsupported(f"the camera at {where} offers no media service: {exc}",
                               pl=f"Kamera {where} nie udostępnia przez ONVIF usługi obrazu "
                                  "(Media) — nie ma profili ani adresów strumieni.") from None
    except OnvifUnusableAnswer as exc:
        raise OnvifUnusable(
            f"{where} does not answer as an ONVIF camera: {exc}",
            pl=f"Urządzenie {where} nie odpowiada jak kamera ONVIF: jego odpowiedź nie jest "
               "czytelnym dokumentem XML.") from None
    except (onveef.OnvifTimeoutError, onveef.OnvifTransportError) as exc:
        raise OnvifUnreachable(
            f"the camera at {where} does not answer ({type(exc).__name__}: {exc})",
            pl=f"Kamera {where} nie odpowiada (sprawdź adres, port i sieć).") from None
    except onveef.OnvifError as exc:
        raise OnvifUnreachable(
            f"{where} does not answer as an ONVIF camera ({type(exc).__name__}: {exc})",
            pl=f"Urządzenie {where} nie odpowiada jak kamera ONVIF.") from None


def _client(address: OnvifAddress, user: str, password: str,
            timeout_s: float) -> Client:
    # http_auth="digest": a device answering 401 with a Basic challenge is not given the
    # password in clear (onveef's "auto" would retry with Basic) — anything on the office's
    # network can answer a discovery probe
    # and the whole session bounded, not each read (onvif.deadline): a device that dribbles
    # its answers is that camera's "does not answer", never a hang
    return Client(address.host, address.port, user, password,
                  use_https=address.https, device_path=address.path,
                  timeout_s=timeout_s, retries=0, http_auth="digest",
                  transport=session_transport(SESSION_CALLS * timeout_s))


def _device(info: dict[str, str]) -> DeviceFacts:
    return DeviceFacts(make=said(info.get("Manufacturer")), model=said(info.get("Model")),
                       firmware=said(info.get("FirmwareVersion")),
                       serial=said(info.get("SerialNumber")),
                       hardware_id=said(info.get("HardwareId")))


def _number(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _profile(raw: dict[str, Any], uri: str) -> StreamProfile:
    enc = raw.get("video_encoder") or {}
    width, height = _number(enc.get("width")), _number(enc.get("height"))
    bitrate = _number(enc.get("bitrate_kbps"))
    return StreamProfile(token=str(raw.get("token", "")), name=str(raw.get("name", "")),
                         encoding=str(enc.get("encoding", "")),
                         width=int(width) if width else None,
                         height=int(height) if height else None,
                         fps=_number(enc.get("fps_limit")),
                         bitrate_kbps=int(bitrate) if bitrate else None, uri=uri)


def _clock(client: Client) -> ClockReading | None:
    before = time.time()
    try:
        said = client.get_system_date_time()
    except onveef.OnvifOperationNotSupportedError:
        return None
    after = time.time()
    utc = said.get("UTCDateTime") or {}
    try:
        camera = datetime(int(utc["year"]), int(utc["month"]), int(utc["day"]),
                          int(utc["hour"]), int(utc["minute"]), int(utc["second"]), tzinfo=UTC)
    except (KeyError, TypeError, ValueError):
        return None  # a camera that gives only its local time cannot be compared here
    # the camera read its clock somewhere in the call: the middle of it, to within half of it
    middle = (before + after) / 2
    return ClockReading(camera_utc=camera, offset_s=camera.timestamp() - middle,
                        round_trip_s=after - before,
                        ntp=str(said.get("date_time_type", "")).upper() == "NTP")


def _uri(client: Client, token: str, address: OnvifAddress) -> str:
    """A profile's stream address; "" for a profile the camera gives none for (a fault for
    that profile alone, e.g. a metadata-only or disabled one): it is listed, never recorded.
    A refused password or a silent camera still ends the whole reading."""
    try:
        return at_camera(client.get_stream_uri(profile_token=token), address)
    except (onveef.OnvifAuthError, onveef.OnvifTimeoutError, onveef.OnvifTransportError):
        raise
    except onveef.OnvifError:
        return ""


def at_camera(uri: str, address: OnvifAddress) -> str:
    """The stream address on the camera's own host, whatever host its answer named (cameras
    name their own LAN address; a hostile answer names another machine, where the recorder
    would send the camera's password). Held here, not left to onveef's `rewrite_host`
    default (issue 48): only the host that was checked against `[cameras] networks` is ever
    asked. "" for an answer that is not an rtsp(s) address (listed, never recorded)."""
    try:
        parts = urlsplit(uri.strip())
        port = parts.port
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("rtsp", "rtsps") or not parts.hostname:
        return ""
    host = f"[{address.host}]" if ":" in address.host else address.host
    user = parts.netloc.rpartition("@")[0]
    netloc = (f"{user}@" if user else "") + host + (f":{port}" if port is not None else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _mac(client: Client) -> str | None:
    """The first enabled interface's hardware address (a camera has one)."""
    try:
        interfaces = client.get_network_interfaces()
    except onveef.OnvifOperationNotSupportedError:
        return None
    for iface in interfaces:
        mac = str(iface.get("hardware_address") or "").strip().lower()
        if mac and iface.get("enabled", True):
            return mac[:40]
    return None


def _profiles(client: Client) -> list[dict[str, Any]]:
    """The media profiles (Media2 where offered, Media1 where Media2 is listed but answered
    "not implemented"); a Media2 profile given without its encoder settings (as cameras
    answer GetProfiles without Type=All) takes Media1's of its token."""
    try:
        profiles = client.get_profiles()
    except onveef.OnvifOperationNotSupportedError:
        if not client.media1_only():
            raise
        profiles = client.get_profiles()  # Media1's, with their encoder settings
    if all(p.get("video_encoder") for p in profiles):
        return profiles
    try:
        media1 = {str(p.get("token")): p for p in client.media1_profiles()}
    except (onveef.OnvifFaultError, onveef.OnvifOperationNotSupportedError):
        return profiles
    return [p if p.get("video_encoder") or str(p.get("token")) not in media1
            else {**p, "video_encoder": media1[str(p.get("token"))].get("video_encoder")}
            for p in profiles]


def read_camera(address: OnvifAddress, user: str, password: str,
                timeout_s: float = TIMEOUT_S) -> CameraFacts:
    """Device facts, every media profile with its stream address, and the clock."""
    with said_plainly(address), _client(address, user, password, timeout_s) as client:
        device = _device(client.get_device_information())
        profiles = tuple(_profile(p, _uri(client, str(p["token"]), address))
                         for p in _profiles(client) if p.get("token"))
        clock = _clock(client)
        mac = _mac(client)
    return CameraFacts(address=address, device=device, profiles=profiles, clock=clock, mac=mac)


def read_device(address: OnvifAddress, user: str, password: str,
                timeout_s: float = TIMEOUT_S) -> DeviceFacts:
    """The device facts alone (a found camera's line)."""
    with said_plainly(address), _client(address, user, password, timeout_s) as client:
        return _device(client.get_device_information())


def read_clock(address: OnvifAddress, user: str, password: str,
               timeout_s: float = TIMEOUT_S) -> ClockReading | None:
    """The camera's clock against this machine's (None: it does not give UTC)."""
    with said_plainly(address), _client(address, user, password, timeout_s) as client:
        return _clock(client)


def set_clock_by_ntp(address: OnvifAddress, user: str, password: str, server: str,
                     timeout_s: float = TIMEOUT_S) -> None:
    """SetNTP to the office's server (an IPv4 address), then the camera's clock to follow
    it (SetSystemDateAndTime, DateTimeType NTP)."""
    with said_plainly(address), _client(address, user, password, timeout_s) as client:
        client.set_ntp(from_dhcp=False, ipv4_servers=[server])
        client.set_system_date_time(date_time_type="NTP")


def set_clock_to(address: OnvifAddress, user: str, password: str, utc: datetime,
                 timeout_s: float = TIMEOUT_S) -> None:
    """SetSystemDateAndTime: the camera's clock set by hand to ``utc`` (whole seconds)."""
    with said_plainly(address), _client(address, user, password, timeout_s) as client:
        client.set_system_date_time(date_time_type="Manual", utc_datetime=utc, timezone="UTC0")
