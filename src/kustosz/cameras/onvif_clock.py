"""The camera's own clock over ONVIF (issue 34 items 3 and 5; R1.8). The time a camera burns
into its picture is its own clock's; Kustosz measures the offset of the stream's timestamps
(RTCP, ingest/camera/clock.py) and, for a camera added over ONVIF, also reads the camera's
clock itself (GetSystemDateAndTime) on serve's start and every [cameras] clock_check_minutes.

Each reading is kept (camera_clock_readings; a copy's manifest names those of its period). A
camera off by more than [cameras] clock_limit_seconds raises `camera_clock_off`; one whose
ONVIF service does not answer raises `camera_onvif_unreachable` (the stream may still record:
the dashboard says which). Kustosz sets a camera's clock only with the administrator's consent
for that camera (SetNTP to the office's server, or SetSystemDateAndTime), each setting audited
with the offset it corrected; without consent it only tells."""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.alert_rows import clear_rows, raise_row
from kustosz.atrest.sealing import secrets_of
from kustosz.audit import append as audit
from kustosz.cameras.register import address_of, get_camera
from kustosz.db.cameras import Camera, CameraClockReading, CameraDevice
from kustosz.db.models import Source
from kustosz.db.outage import is_database_away
from kustosz.errors import InputError, KustoszError
from kustosz.onvif.address import OnvifAddress, parse_address
from kustosz.onvif.device import (
    ClockReading,
    OnvifUnusable,
    read_clock,
    set_clock_by_ntp,
    set_clock_to,
)
from kustosz.states import AlertRow
from kustosz.watchdog import progress_of

if TYPE_CHECKING:
    from kustosz.config import CamerasConfig
    from kustosz.vault import Vault

log = logging.getLogger(__name__)

SETTINGS = {"ntp": "SetNTP (serwer czasu urzędu)", "time": "SetSystemDateAndTime (czas serwera)"}
# A check asks each camera at most three bounded calls (5 s each); the loop's allowance holds
# a round of many cameras with room to spare: it beats between cameras.
ALLOWANCE_S = 120.0
RELOAD_LOOK_S = 30.0  # how soon a reloaded clock_check_minutes is looked at


@dataclass(frozen=True)
class Target:
    source_id: int
    name: str
    address: OnvifAddress
    user: str
    password: str = ""
    setting: str | None = None  # "ntp" or "time" with consent, None without
    ntp_server: str | None = None


@dataclass(frozen=True)
class ClockCheck:
    name: str
    offset_s: float | None  # None: no answer, or no UTC time from the camera
    error: str | None = None
    set_by: str | None = None  # how the clock was set in this check, if it was
    offset_before_s: float | None = None


def targets(session: Session) -> list[Target]:
    """The enabled cameras added over ONVIF, with their credentials opened."""
    secrets = secrets_of(session)
    rows = session.execute(select(Source, Camera, CameraDevice)
                           .join(Camera, Camera.source_id == Source.id)
                           .join(CameraDevice, CameraDevice.source_id == Source.id)
                           .where(Source.enabled.is_(True)).order_by(Source.name)).all()
    out = []
    for source, camera, device in rows:
        try:
            rtsp = address_of(camera, secrets)
            address = parse_address(device.onvif_address)
        except (KustoszError, ValueError) as exc:  # a password the key cannot open
            log.warning("camera %s: its ONVIF address or password cannot be used (%s)",
                        source.name, exc)
            continue
        out.append(Target(source.id, source.name, address, rtsp.user or "",
                          rtsp.password or "", device.clock_setting if
                          device.clock_consent_by else None, device.ntp_server))
    return out


def _off_message(name: str, offset: float, limit: float) -> str:
    return (f"Zegar kamery {name} różni się od czasu serwera o {offset:+.0f} s (dopuszczalne "
            f"{limit:g} s): czas na obrazie i w nagraniu jest przesunięty. Ustaw w kamerze "
            "serwer czasu urzędu (NTP) albo pozwól Kustoszowi ustawiać jej zegar (kustosz "
            f"cameras clock {name} --allow ntp --ntp-server ADRES).")


def _set(target: Target, offset: float) -> str | None:
    """Set the camera's clock as consented; the way it was set (None: no consent)."""
    if target.setting == "ntp" and target.ntp_server:
        set_clock_by_ntp(target.address, target.user, target.password, target.ntp_server)
        return "ntp"
    if target.setting == "time":
        set_clock_to(target.address, target.user, target.password, datetime.now(UTC))
        return "time"
    return None


# kustosz.ingest.refusals.refused, handed down by `kustosz serve` (kustosz.cameras sits below
# kustosz.ingest: it is given the function, never imports it)
Refuse = Callable[..., None]


def answer_refused(vault: Vault, target: Target, exc: KustoszError,
                   refuse: Refuse | None) -> None:
    """An answer of the camera Kustosz cannot use (not XML, an XML bomb): an `input.refused`
    alert naming the camera, beside its ONVIF status row (call outside a transaction)."""
    if refuse is not None and isinstance(exc, OnvifUnusable):
        refuse(vault, device=f"kamera {target.name} ({target.address.host}:"
                              f"{target.address.port})",
                reason_pl="odpowiedź ONVIF kamery nie jest czytelnym dokumentem XML",
                detail=str(exc), source=target.name)


def check_camera(vault: Vault, target: Target, config: CamerasConfig,
                 actor: str = "kustosz serve", refuse: Refuse | None = None) -> ClockCheck:
    """Read one camera's clock, set it where consented and needed, keep the readings and
    raise or clear its alerts. The calls to the camera run outside any transaction."""
    limit = config.clock_limit_s
    readings: list[tuple[datetime, ClockReading]] = []
    set_by = error = None
    error_pl = ""
    before = None
    set_failed = None
    try:
        reading = read_clock(target.address, target.user, target.password)
        if reading is not None:
            readings.append((datetime.now(UTC), reading))
            if abs(reading.offset_s) > limit and target.setting:
                before = reading.offset_s
                try:
                    set_by = _set(target, reading.offset_s)
                except KustoszError as exc:
                    # it may have changed part of it (SetNTP done, the second call refused):
                    # the attempt is on record too
                    set_failed = str(exc)
                    raise
                again = read_clock(target.address, target.user, target.password)
                if again is not None:
                    readings.append((datetime.now(UTC), again))
    except KustoszError as exc:
        error = str(exc)
        error_pl = exc.pl or str(exc)
        answer_refused(vault, target, exc, refuse)
    now = datetime.now(UTC)
    last = readings[-1][1].offset_s if readings else None
    with vault.transaction() as s:
        device = s.get(CameraDevice, target.source_id)
        if device is None:  # removed meanwhile
            return ClockCheck(target.name, last, error)
        for at, r in readings:
            s.add(CameraClockReading(source_id=target.source_id, measured_at=at,
                                     offset_s=r.offset_s, round_trip_s=r.round_trip_s,
                                     ntp=r.ntp))
        if set_failed is not None:
            audit(s, actor, "camera.clock_set_failed", target.name, {
                "how": target.setting, "offset_before_s": round(before or 0.0, 1),
                "error": set_failed[:500], "consent_by": device.clock_consent_by})
        if set_by is not None:
            audit(s, actor, "camera.clock_set", target.name, {
                "how": set_by, "ntp_server": target.ntp_server if set_by == "ntp" else None,
                "offset_before_s": round(before or 0.0, 1),
                "offset_after_s": None if last is None else round(last, 1),
                "consent_by": device.clock_consent_by})
        if error is not None and not readings:
            device.onvif_error = error[:2000]
            raise_row(s, AlertRow.CAMERA_ONVIF_UNREACHABLE,
                      f"Kamera {target.name} nie odpowiada przez ONVIF: {error_pl}", now,
                      target.source_id)
        else:
            device.onvif_ok_at, device.onvif_error = now, None
            clear_rows(s, AlertRow.CAMERA_ONVIF_UNREACHABLE, now, target.source_id)
        if last is not None and abs(last) > limit:
            raise_row(s, AlertRow.CAMERA_CLOCK_OFF, _off_message(target.name, last, limit),
                      now, target.source_id)
        elif last is not None:
            clear_rows(s, AlertRow.CAMERA_CLOCK_OFF, now, target.source_id)
    return ClockCheck(target.name, last, error, set_by, before)


def check_all(vault: Vault, config: CamerasConfig, stop: threading.Event | None = None,
              beat: object = None, refuse: Refuse | None = None) -> list[ClockCheck]:
    with vault.reading() as s:
        found = targets(s)
    done = []
    for target in found:
        if stop is not None and stop.is_set():
            break
        if callable(beat):
            beat()
        done.append(check_camera(vault, target, config, refuse=refuse))
    return done


def run_camera_clocks(vault: Vault, stop: threading.Event,
                      refuse: Refuse | None = None) -> None:
    """`kustosz serve`'s loop: every ONVIF camera's clock on start and every
    [cameras] clock_check_minutes; a database away waits, a camera away is its own alert."""
    progress = progress_of(vault).loop("camera-clocks", ALLOWANCE_S)
    away = False
    while not stop.is_set():
        progress.beat()
        try:
            check_all(vault, vault.config.cameras, stop, progress.beat, refuse)
            away = False
        except Exception as exc:
            if not is_database_away(exc):
                log.exception("the cameras' clock check failed; trying again")
            elif not away:
                away = True
                log.warning("the cameras' clock check waits: the database is away")
        checked = time.monotonic()
        # [cameras] as in force now: a reload (serve_reload) that changes the interval
        # counts from the last check, not after the old interval ran out
        while not stop.is_set():
            every = 30.0 if away else vault.config.cameras.clock_check_minutes * 60
            left = checked + every - time.monotonic()
            if left <= 0 or progress.wait(stop, min(left, RELOAD_LOOK_S)):
                break
    progress.forget()


# -- the administrator's consent ---------------------------------------------------------------
def allow_setting(session: Session, name: str, how: str, ntp_server: str | None,
                  actor: str) -> CameraDevice:
    """Let Kustosz set this camera's clock: "ntp" (SetNTP to ``ntp_server``, an IPv4
    address: what ONVIF's SetNTP names) or "time" (SetSystemDateAndTime); audited."""
    _camera, source = get_camera(session, name)
    device = session.get(CameraDevice, source.id)
    if device is None:
        raise InputError(f"camera {name!r} was not added over ONVIF: Kustosz cannot set its "
                         "clock",
                         pl=f"Kamera „{name}” nie została dodana przez ONVIF: Kustosz nie może "
                            "ustawiać jej zegara.")
    if how not in SETTINGS:
        raise InputError(f"how the clock is set: {' or '.join(SETTINGS)}",
                         pl="Sposób ustawiania zegara: ntp albo time.")
    server = None
    if how == "ntp":
        try:
            server = str(ipaddress.IPv4Address((ntp_server or "").strip()))
        except ValueError:
            raise InputError("SetNTP names the office's time server by its IPv4 address "
                             "(--ntp-server 10.0.0.1)",
                             pl="SetNTP wskazuje serwer czasu urzędu adresem IPv4 "
                                "(--ntp-server 10.0.0.1).") from None
    elif ntp_server:
        raise InputError("--ntp-server goes with --allow ntp",
                         pl="--ntp-server podaje się tylko z --allow ntp.")
    device.clock_setting, device.ntp_server = how, server
    device.clock_consent_by, device.clock_consent_at = actor, datetime.now(UTC)
    audit(session, actor, "camera.clock_consent", name, {"how": how, "ntp_server": server})
    return device


def forbid_setting(session: Session, name: str, actor: str) -> None:
    _camera, source = get_camera(session, name)
    device = session.get(CameraDevice, source.id)
    if device is None or device.clock_consent_by is None:
        return
    device.clock_setting = device.ntp_server = device.clock_consent_by = None
    device.clock_consent_at = None
    audit(session, actor, "camera.clock_consent_withdrawn", name, {})


def target_of(session: Session, name: str) -> Target:
    _camera, source = get_camera(session, name)
    for target in targets(session):
        if target.source_id == source.id:
            return target
    raise InputError(f"camera {name!r} was not added over ONVIF, or is disabled",
                     pl=f"Kamera „{name}” nie została dodana przez ONVIF albo jest wyłączona.")


def set_now(vault: Vault, name: str, actor: str) -> ClockCheck:
    """Set a camera's clock now, as consented (refused without consent); audited."""
    with vault.reading() as s:
        target = target_of(s, name)
    if target.setting is None:
        raise InputError(f"the administrator has not let Kustosz set the clock of camera "
                         f"{name!r} (kustosz cameras clock {name} --allow ntp|time)",
                         pl=f"Administrator nie zezwolił Kustoszowi ustawiać zegara kamery "
                            f"„{name}” (kustosz cameras clock {name} --allow ntp|time).")
    reading = read_clock(target.address, target.user, target.password)
    before = reading.offset_s if reading is not None else 0.0
    how = _set(target, before)
    try:  # set: on record even when the camera does not answer the reading after it
        again = read_clock(target.address, target.user, target.password)
    except KustoszError:
        again = None
    with vault.transaction() as s:
        now = datetime.now(UTC)
        for r in (reading, again):
            if r is not None:
                s.add(CameraClockReading(source_id=target.source_id, measured_at=now,
                                         offset_s=r.offset_s, round_trip_s=r.round_trip_s,
                                         ntp=r.ntp))
        audit(s, actor, "camera.clock_set", name, {
            "how": how, "ntp_server": target.ntp_server if how == "ntp" else None,
            "offset_before_s": round(before, 1),
            "offset_after_s": None if again is None else round(again.offset_s, 1)})
    return ClockCheck(name, again.offset_s if again else None, None, how, before)
