"""A camera added by its ONVIF address (issue 34 item 2): what the camera said of itself
(`onvif.device.read_camera`) becomes its register entry. The stream to record and the one to
watch live are picked from its media profiles, their addresses are the ones GetStreamUri gave
(never typed), and everything Kodeks pracy art. 22² asks of a camera added by URL (zone,
purpose, notice and signage, forbidden rooms: R1.6, R7.1) is checked by the same `add_camera`.
The ONVIF account is the camera's RTSP account: its password is sealed once, as for a camera
added by URL."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.audit import append as audit
from kustosz.cameras.register import CameraSpec, add_camera
from kustosz.cameras.rules import RtspAddress, parse_rtsp_url
from kustosz.db.cameras import Camera, CameraDevice
from kustosz.db.models import Source
from kustosz.errors import InputError
from kustosz.onvif.texts import said
from kustosz.policy import Policy

if TYPE_CHECKING:  # the ONVIF client itself loads only where a camera is asked
    from kustosz.onvif.device import CameraFacts, StreamProfile

# ONVIF's names of the encodings Kustosz records (the recorder copies the stream as it comes)
RECORDABLE = {"H264": "H.264", "H265": "H.265", "HEVC": "H.265"}
# what a browser plays: the live view is watched there
LIVE_ENCODINGS = {"H264"}
MAX_URI = 900  # the register keeps 1000 characters, a user name added
MAX_ADDRESS = 300


@dataclass(frozen=True)
class ProfileChoice:
    """Which profiles to use; None picks: the recorded one has the most pixels among the
    recordable ones, the live one is the lightest-but-largest H.264 profile below it."""

    record: str | None = None
    live: str | None = None
    no_live: bool = False


def _encoding(p: StreamProfile) -> str:
    return p.encoding.upper().replace(".", "").replace("-", "")


def describe(p: StreamProfile) -> str:
    """"H264 1920x1080 25 kl./s" — how a profile is shown in the register and on pages."""
    size = f" {p.width}x{p.height}" if p.width and p.height else ""
    fps = f" {p.fps:g} kl./s" if p.fps else ""
    return f"{p.encoding or '?'}{size}{fps}"[:200]


def _supported_pl() -> str:
    return "Kustosz nagrywa obraz H.264 lub H.265 (H.264 odtwarza też przeglądarka)"


def _by_token(facts: CameraFacts, token: str, what: str, what_pl: str) -> StreamProfile:
    for p in facts.profiles:
        if p.token == token:
            return p
    tokens = ", ".join(p.token for p in facts.profiles) or "—"
    raise InputError(f"the camera has no media profile {token!r} for {what} (it has: {tokens})",
                     pl=f"Kamera nie ma profilu „{token}” ({what_pl}); ma: {tokens}.")


def stream_address(p: StreamProfile) -> str:
    """The profile's stream address without credentials; a clear refusal without one."""
    if not p.uri:
        raise InputError(f"the camera gives no stream address for profile {p.token!r}",
                         pl=f"Kamera nie podaje adresu strumienia dla profilu „{p.token}”.")
    if len(p.uri) > MAX_URI:
        raise InputError(f"the camera's stream address for profile {p.token!r} is longer than "
                         f"{MAX_URI} characters",
                         pl=f"Adres strumienia profilu „{p.token}” jest dłuższy niż {MAX_URI} "
                            "znaków.")
    try:
        return parse_rtsp_url(p.uri).url  # credentials a camera put in its answer are dropped
    except InputError as exc:
        raise InputError(f"profile {p.token!r}: {exc}",
                         pl=f"Profil „{p.token}”: {exc.pl or exc}") from None


def _recorded(facts: CameraFacts, token: str | None) -> StreamProfile:
    if not facts.profiles:
        raise InputError("the camera offers no media profile (no stream to record)",
                         pl="Kamera nie udostępnia żadnego profilu obrazu (nie ma czego "
                            "nagrywać).")
    if token is not None:
        chosen = _by_token(facts, token, "recording", "do nagrywania")
        if _encoding(chosen) not in RECORDABLE:
            raise InputError(
                f"profile {token!r} is {chosen.encoding or 'of an unknown encoding'}; "
                "Kustosz records H.264 or H.265",
                pl=f"Profil „{token}” ma kodowanie {chosen.encoding or 'nieznane'}; "
                   f"{_supported_pl()}.")
        return chosen
    recordable = [p for p in facts.profiles if _encoding(p) in RECORDABLE]
    usable = [p for p in recordable if p.uri]
    if recordable and not usable:
        tokens = ", ".join(p.token for p in recordable)
        raise InputError(f"the camera gives no stream address for its H.264/H.265 profiles "
                         f"({tokens}): GetStreamUri answered none",
                         pl=f"Kamera nie podaje adresu strumienia dla żadnego profilu H.264 "
                            f"ani H.265 ({tokens}); sprawdź w ustawieniach kamery, czy "
                            "strumienie RTSP są włączone.")
    if not usable and not any(p.encoding for p in facts.profiles):
        _encodings_untold(facts)
    if not usable:
        offered = ", ".join(sorted({p.encoding or "?" for p in facts.profiles}))
        raise InputError(f"the camera offers only {offered}; Kustosz records H.264 or H.265 "
                         "(set an H.264 stream in the camera's own settings)",
                         pl=f"Kamera udostępnia tylko {offered}; {_supported_pl()} — ustaw "
                            "strumień H.264 w ustawieniach kamery.")
    return max(usable, key=lambda p: (p.pixels, p.bitrate_kbps or 0))


def _encodings_untold(facts: CameraFacts) -> None:
    """A camera that named its profiles but gave no encoder settings for any (a Media2
    GetProfiles answered without Configurations, Media1 not answering): it is not told to
    "set H.264", which it may well be sending — it is told what it did not say."""
    tokens = ", ".join(p.token for p in facts.profiles)
    no_uri = not any(p.uri for p in facts.profiles)
    raise InputError(
        f"the camera does not say the encoding of its profiles ({tokens})"
        + (" nor give a stream address for them" if no_uri else "")
        + "; check that ONVIF and RTSP are fully enabled, or add the camera by --url",
        pl=f"Kamera nie podaje kodowania swoich profili obrazu ({tokens})"
           + (" ani adresu strumienia dla nich" if no_uri else "")
           + "; sprawdź w ustawieniach kamery, czy ONVIF i strumienie RTSP są w pełni "
             "włączone, albo dodaj kamerę po adresie RTSP (--url).")


def _live(facts: CameraFacts, record: StreamProfile,
          choice: ProfileChoice) -> StreamProfile | None:
    if choice.no_live:
        return None
    if choice.live is not None:
        chosen = _by_token(facts, choice.live, "live view", "do podglądu")
        if chosen.token == record.token:
            return None  # the recorded stream is watched, as for a camera added by URL
        if _encoding(chosen) not in LIVE_ENCODINGS:
            raise InputError(f"profile {chosen.token!r} is {chosen.encoding or 'unknown'}; "
                             "live view plays H.264 only (in the browser)",
                             pl=f"Profil „{chosen.token}” ma kodowanie "
                                f"{chosen.encoding or 'nieznane'}; podgląd w przeglądarce "
                                "odtwarza tylko H.264.")
        return chosen
    lighter = [p for p in facts.profiles if p.token != record.token and p.uri
               and _encoding(p) in LIVE_ENCODINGS and p.pixels < record.pixels]
    return max(lighter, key=lambda p: p.pixels, default=None)


def live_plays(record: StreamProfile, live: StreamProfile | None) -> bool:
    """A browser can play the live view chosen (an H.264 profile, or the recorded one)."""
    return live is not None or _encoding(record) in LIVE_ENCODINGS


def live_said(record: StreamProfile, live: StreamProfile | None) -> tuple[str, str]:
    """What live view plays, in words (English, Polish): the lighter H.264 profile, else the
    recorded stream — which a browser plays only when it is H.264."""
    if live is not None:
        return (f"live view: profile {live.token} ({describe(live)})",
                f"podgląd na żywo: profil {live.token} ({describe(live)})")
    if _encoding(record) in LIVE_ENCODINGS:
        return ("live view: the recorded stream (the camera has no lighter H.264 profile "
                "with a stream address)",
                "podgląd na żywo: strumień nagrywany (kamera nie ma lżejszego profilu H.264 "
                "z adresem strumienia)")
    return (f"live view: the recorded stream, {record.encoding}, which a browser may not "
            "play (set an H.264 sub-stream in the camera's own settings)",
            f"podgląd na żywo: strumień nagrywany w {record.encoding}, którego przeglądarka "
            "może nie odtworzyć — ustaw w kamerze strumień pomocniczy H.264")


def pick_profiles(facts: CameraFacts,
                  choice: ProfileChoice) -> tuple[StreamProfile, StreamProfile | None]:
    """The recorded profile and the live one (None: live view plays the recorded stream)."""
    record = _recorded(facts, choice.record)
    stream_address(record)
    live = _live(facts, record, choice)
    if live is not None:
        stream_address(live)
    return record, live


def _no_twin(session: Session, serial: str | None) -> None:
    if not serial:
        return
    twin = session.execute(select(Source.name).join(
        CameraDevice, CameraDevice.source_id == Source.id)
        .where(CameraDevice.serial == serial)).scalar_one_or_none()
    if twin is not None:
        raise InputError(f"a camera with serial number {serial} is already registered as "
                         f"{twin!r}",
                         pl=f"Kamera o numerze seryjnym {serial} jest już zarejestrowana "
                            f"jako „{twin}”.")


def _text(value: str, limit: int = 200) -> str | None:
    return said(value)[:limit] or None


def add_onvif_camera(session: Session, policy: Policy, spec: CameraSpec, facts: CameraFacts,
                     user: str, password: str, choice: ProfileChoice,
                     actor: str) -> tuple[Camera, CameraDevice]:
    """Register a camera from what it said over ONVIF; every check runs before a write.
    `spec.url` is ignored: the address is the recorded profile's."""
    record, live = pick_profiles(facts, choice)
    if len(str(facts.address)) > MAX_ADDRESS:
        raise InputError(f"the camera's ONVIF address is longer than {MAX_ADDRESS} characters",
                         pl=f"Adres ONVIF kamery jest dłuższy niż {MAX_ADDRESS} znaków.")
    serial = _text(facts.device.serial)
    _no_twin(session, serial)
    url = RtspAddress(stream_address(record), user or None, None).with_credentials()
    camera = add_camera(session, policy, replace(spec, url=url, password=password or None),
                        actor)
    device = CameraDevice(
        source_id=camera.source_id, onvif_address=str(facts.address),
        make=_text(facts.device.make) or "?", model=_text(facts.device.model) or "?",
        serial=serial, firmware=_text(facts.device.firmware),
        hardware_id=_text(facts.device.hardware_id), mac=_text(facts.mac or "", 40),
        record_profile=record.token[:100], record_profile_desc=describe(record),
        live_profile=live.token[:100] if live else None,
        live_url=stream_address(live) if live else None, read_at=datetime.now(UTC))
    session.add(device)
    session.flush()
    audit(session, actor, "camera.onvif", spec.name, {
        "onvif_address": device.onvif_address, "make": device.make, "model": device.model,
        "serial": device.serial, "firmware": device.firmware, "mac": device.mac,
        "record_profile": device.record_profile, "live_profile": device.live_profile})
    return camera, device


def device_of(session: Session, source_id: int) -> CameraDevice | None:
    return session.get(CameraDevice, source_id)


def registered_hosts(session: Session) -> dict[str, str]:
    """host -> the registered camera recording from it (by its RTSP address's host): what
    a found camera is already registered as."""
    rows = session.execute(select(Source.name, Camera.url).join(
        Camera, Camera.source_id == Source.id)).all()
    return {(urlsplit(url).hostname or ""): name for name, url in rows}
