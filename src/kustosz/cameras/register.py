"""The camera register: sites (budynki), zones (strefy) and cameras, with the checks of
Kodeks pracy art. 22² and of the office's own regulation (policy.video).

Every change is audited in the same transaction. Audit entries name the camera and its URL
without credentials; where a camera is placed (site, zone) is the employer's secret (R1.7) and
is only shown through `camera_rows(..., may_see_locations=True)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kustosz.atrest.sealing import RTSP_PASSWORD, SecretBox, secrets_of
from kustosz.audit import append as audit
from kustosz.cameras.codecs import BROWSER_CODECS
from kustosz.cameras.gap_causes import CAUSES_PL
from kustosz.cameras.rules import (
    DEFAULT_SEGMENT_SECONDS,
    RtspAddress,
    StartGate,
    check_may_record,
    check_place,
    check_purposes,
    check_segment_seconds,
    check_zone_kind,
    check_zone_name,
    parse_rtsp_url,
    start_gate,
)
from kustosz.db.cameras import (
    Camera,
    CameraClockReading,
    CameraDevice,
    ClockOffset,
    Gap,
    RecorderStatus,
    Site,
    Zone,
)
from kustosz.db.models import Source
from kustosz.errors import InputError, KustoszError, NotFound
from kustosz.index.sources import add_source, get_source
from kustosz.kinds import SourceKind
from kustosz.policy import Policy
from kustosz.policy.video import VideoRules
from kustosz.states import RecorderState

# What a demo camera's address starts with: ffmpeg makes the picture itself, not a camera
# (add_simulated_camera; the recorder reads it without RTSP: ingest.camera.command).
SIMULATED_PREFIX = "lavfi:"
# A demo camera's sub-stream: the same picture, lighter (ingest.camera.command), watched live
# as an ONVIF camera's live-view profile is (web.media_live_sub, issue 65 item 5).
SIMULATED_SUB = f"{SIMULATED_PREFIX}sub-stream"
HIDDEN = "(ukryte — tajemnica pracodawcy)"


_WHAT_PL = {"site name": "Nazwa obiektu", "zone name": "Nazwa strefy"}


def _name(text: str, what: str) -> str:
    value = (text or "").strip()
    if not value or len(value) > 200:
        raise InputError(f"{what} must be 1-200 characters",
                         pl=f"{_WHAT_PL.get(what, what)} musi mieć od 1 do 200 znaków.")
    return value


def add_site(session: Session, name: str, actor: str, address: str | None = None) -> Site:
    name = _name(name, "site name")
    if session.execute(select(Site.id).where(Site.name == name)).first():
        raise InputError(f"a site named {name!r} already exists",
                         pl=f"Obiekt o nazwie „{name}” już istnieje.")
    site = Site(name=name, address=(address or "").strip() or None, created_at=datetime.now(UTC))
    session.add(site)
    session.flush()
    audit(session, actor, "camera_site.add", f"site {site.id}", {"name": name})
    return site


def get_site(session: Session, name: str) -> Site:
    site = session.execute(select(Site).where(Site.name == name)).scalar_one_or_none()
    if site is None:
        raise NotFound(f"no site named {name!r} (see: kustosz sites list)",
                       pl=f"Nie ma obiektu o nazwie „{name}”.")
    return site


def add_zone(session: Session, site_name: str, name: str, kind: str, actor: str,
             policy: Policy | None = None) -> Zone:
    """Register a zone of ``kind`` (built-in, or the office's own where ``policy`` declares
    it: policy.video); a name that says it is a place of another kind with rules of its own
    is refused."""
    video = policy.video if policy is not None else VideoRules()
    check_zone_kind(kind, video)
    name = _name(name, "zone name")
    check_zone_name(name, kind, video)
    site = get_site(session, site_name)
    if session.execute(select(Zone.id).where(Zone.site_id == site.id, Zone.name == name)).first():
        raise InputError(f"site {site_name!r} already has a zone named {name!r}",
                         pl=f"Obiekt „{site_name}” ma już strefę o nazwie „{name}”.")
    zone = Zone(site_id=site.id, name=name, kind=kind, created_at=datetime.now(UTC))
    session.add(zone)
    session.flush()
    audit(session, actor, "camera_zone.add", f"zone {zone.id}",
          {"site": site.id, "name": name, "kind": kind})
    return zone


def get_zone(session: Session, site_name: str, name: str) -> Zone:
    site = get_site(session, site_name)
    zone = session.execute(select(Zone).where(Zone.site_id == site.id, Zone.name == name)) \
        .scalar_one_or_none()
    if zone is None:
        raise NotFound(f"site {site_name!r} has no zone named {name!r} (see: kustosz zones list)",
                       pl=f"Obiekt „{site_name}” nie ma strefy o nazwie „{name}”.")
    return zone


@dataclass(frozen=True)
class CameraSpec:
    name: str
    site: str
    zone: str
    url: str
    # One code or several (policy.video purposes in force), in the order the register lists them.
    purposes: str | Sequence[str]
    notice_date: date | None = None
    signage_date: date | None = None
    segment_seconds: float = DEFAULT_SEGMENT_SECONDS
    unrecognisable_reason: str | None = None
    representatives_consent: str | None = None
    start_override_reason: str | None = None
    retention: str | None = None
    # Given apart from the URL (the CLI reads it from a file or an environment variable);
    # a URL may still carry one when it comes from code, never both.
    password: str | None = field(default=None, repr=False)

    @property
    def purpose_codes(self) -> tuple[str, ...]:
        given = [self.purposes] if isinstance(self.purposes, str) else list(self.purposes)
        return tuple(p.strip() for p in given)


def _address(spec: CameraSpec) -> RtspAddress:
    address = parse_rtsp_url(spec.url)
    if spec.password is None:
        return address
    if address.password is not None:
        raise InputError("the camera's password is given twice: in the URL and apart",
                         pl="Hasło kamery podano dwukrotnie: w adresie i osobno.")
    if address.user is None:
        raise InputError("a camera password needs a user name: rtsp://USER@host/…",
                         pl="Hasło kamery wymaga nazwy użytkownika w adresie: "
                            "rtsp://UŻYTKOWNIK@host/…")
    if not spec.password:
        raise InputError("the camera's password is empty", pl="Hasło kamery jest puste.")
    return replace(address, password=spec.password)


def add_camera(session: Session, policy: Policy, spec: CameraSpec, actor: str) -> Camera:
    """Register a camera; every check runs before anything is written."""
    address = _address(spec)
    purposes = check_purposes(spec.purpose_codes, policy.video)
    segment = check_segment_seconds(spec.segment_seconds)
    zone = get_zone(session, spec.site, spec.zone)
    check_place(zone.kind, purposes, spec.unrecognisable_reason, spec.representatives_consent,
                video=policy.video)
    return _insert_camera(session, policy, replace(spec, purposes=purposes), zone, address,
                          segment, actor)


def _insert_camera(session: Session, policy: Policy, spec: CameraSpec, zone: Zone,
                   address: RtspAddress, segment: float, actor: str) -> Camera:
    source = add_source(session, policy, spec.name, SourceKind.CAMERA, actor,
                        retention=spec.retention)
    # Range queries rely on max_duration_s >= the longest segment (index/recordings.py); the
    # intake raises it further when a camera's keyframes make segments run longer.
    source.max_duration_s = max(source.max_duration_s, segment)
    override = (spec.start_override_reason or "").strip() or None
    camera = Camera(
        source_id=source.id, zone_id=zone.id, purposes=list(spec.purpose_codes), url=address.url,
        rtsp_user=address.user, segment_seconds=segment,
        rtsp_password=None if address.password is None else
        secrets_of(session).seal(address.password, RTSP_PASSWORD),
        notice_date=spec.notice_date, signage_date=spec.signage_date,
        unrecognisable_reason=(spec.unrecognisable_reason or "").strip() or None,
        representatives_consent=(spec.representatives_consent or "").strip() or None,
        start_override_reason=override, start_override_by=actor if override else None,
        created_at=datetime.now(UTC))
    session.add(camera)
    session.flush()
    details: dict[str, Any] = {
        "url": address.url, "credentials": address.user is not None,
        "purposes": list(spec.purpose_codes),
        "zone": zone.id, "zone_kind": zone.kind, "segment_seconds": segment,
        "notice_date": spec.notice_date, "signage_date": spec.signage_date}
    audit(session, actor, "camera.add", spec.name, details)
    if camera.unrecognisable_reason:
        audit(session, actor, "camera.forbidden_zone_override", spec.name, {
            "zone_kind": zone.kind, "unrecognisable": camera.unrecognisable_reason,
            "representatives_consent": camera.representatives_consent})
    if override:
        audit(session, actor, "camera.start_override", spec.name, {"reason": override})
    return camera


def get_camera(session: Session, name: str) -> tuple[Camera, Source]:
    source = get_source(session, name)
    camera = session.execute(select(Camera).where(Camera.source_id == source.id)) \
        .scalar_one_or_none()
    if camera is None:
        raise NotFound(f"source {name!r} is not a registered camera (see: kustosz cameras list)",
                       pl=f"Źródło „{name}” nie jest zarejestrowaną kamerą.")
    return camera, source


def set_enabled(session: Session, name: str, enabled: bool, actor: str) -> Source:
    _camera, source = get_camera(session, name)
    if source.enabled != enabled:
        source.enabled = enabled
        audit(session, actor, "camera.enable" if enabled else "camera.disable", name, {})
    return source


def set_password(session: Session, name: str, password: str, actor: str) -> Camera:
    """Replace a camera's password (sealed; audited without it)."""
    camera, _source = get_camera(session, name)
    if camera.rtsp_user is None:
        raise InputError(f"camera {name!r} has no user name in its URL; a password alone "
                         "is never sent",
                         pl=f"Adres kamery „{name}” nie zawiera nazwy użytkownika; samo hasło "
                            "nigdy nie jest wysyłane.")
    if not password:
        raise InputError("the camera's password is empty", pl="Hasło kamery jest puste.")
    camera.rtsp_password = secrets_of(session).seal(password, RTSP_PASSWORD)
    audit(session, actor, "camera.password", name, {"credentials": True})
    return camera


def override_start(session: Session, name: str, reason: str, actor: str) -> Camera:
    """Let a camera record before notice + 14 days / signage + 1 day (audited)."""
    if not (reason or "").strip():
        raise InputError("an early start needs a reason",
                         pl="Wcześniejsze uruchomienie kamery wymaga podania przyczyny.")
    camera, _source = get_camera(session, name)
    camera.start_override_reason, camera.start_override_by = reason.strip(), actor
    audit(session, actor, "camera.start_override", name, {"reason": reason.strip()})
    return camera


def gate_of(camera: Camera, policy: Policy, now: datetime | None = None) -> StartGate:
    return start_gate(camera.notice_date, camera.signage_date, camera.start_override_reason,
                      now or datetime.now(UTC), policy.timezone)


def address_of(camera: Camera, secrets: SecretBox) -> RtspAddress:
    """The camera's address with its password opened: for the recorder only."""
    password = None if camera.rtsp_password is None else \
        secrets.open(camera.rtsp_password, RTSP_PASSWORD)
    return RtspAddress(camera.url, camera.rtsp_user, password)


_Offsets = TypeVar("_Offsets", ClockOffset, CameraClockReading)


def _latest(session: Session, model: type[_Offsets]) -> dict[int, tuple[float, datetime]]:
    """Each camera's newest row of a table of clock offsets: (offset, when measured)."""
    latest = select(model.source_id, func.max(model.id).label("id")) \
        .group_by(model.source_id).subquery()
    rows = session.execute(select(model).join(latest, latest.c.id == model.id)).scalars()
    return {r.source_id: (r.offset_s, r.measured_at) for r in rows}


def latest_offsets(session: Session) -> dict[int, tuple[float, datetime]]:
    """Each camera's stream clock at its last RTCP measurement (camera_clock_offsets)."""
    return _latest(session, ClockOffset)


def camera_rows(session: Session, policy: Policy, may_see_locations: bool,
                now: datetime | None = None) -> list[dict[str, Any]]:
    """The register for display. Without `may_see_locations` site and zone are hidden (R1.7)."""
    offsets = latest_offsets(session)
    own = latest_onvif_offsets(session)
    rows = session.execute(
        select(Camera, Source, Zone, Site, CameraDevice)
        .join(Source, Source.id == Camera.source_id)
        .join(Zone, Zone.id == Camera.zone_id).join(Site, Site.id == Zone.site_id)
        .outerjoin(CameraDevice, CameraDevice.source_id == Camera.source_id)
        .order_by(Source.name)).all()
    out = []
    for camera, source, zone, site, device in rows:
        gate = gate_of(camera, policy, now)
        offset = offsets.get(source.id)
        out.append({
            "name": source.name, "enabled": source.enabled, "url": camera.url,
            "purposes": list(camera.purposes),
            "purpose_pl": "; ".join(policy.video.purpose(p).text for p in camera.purposes),
            "purposes_cited": [policy.video.purpose(p).cited for p in camera.purposes],
            "purposes_text": [policy.video.purpose(p).text for p in camera.purposes],
            "site": site.name if may_see_locations else HIDDEN,
            "zone": zone.name if may_see_locations else HIDDEN,
            "zone_kind": policy.video.kind(zone.kind).name if may_see_locations else HIDDEN,
            "segment_seconds": camera.segment_seconds,
            "notice_date": camera.notice_date, "signage_date": camera.signage_date,
            "may_record": gate.may_record, "start_rule": gate.reason,
            "start_rule_pl": gate.reason_pl,
            "clock_offset_s": round(offset[0], 3) if offset else None,
            "clock_measured_at": offset[1].isoformat() if offset else None,
            "device": None if device is None else device_facts(device) | {
                "clock_offset_s": round(own[source.id][0], 1) if source.id in own else None,
                "clock_measured_at": own[source.id][1].isoformat() if source.id in own
                else None}})
    return out


def device_facts(device: CameraDevice) -> dict[str, Any]:
    """What an ONVIF camera said of itself, for the register (R1.6)."""
    return {"make": device.make, "model": device.model, "serial": device.serial,
            "firmware": device.firmware, "mac": device.mac,
            "onvif_address": device.onvif_address, "record_profile": device.record_profile,
            "record_profile_desc": device.record_profile_desc,
            "live_profile": device.live_profile, "live_url": device.live_url,
            "read_at": device.read_at.isoformat(),
            "onvif_ok_at": device.onvif_ok_at.isoformat() if device.onvif_ok_at else None,
            "onvif_error": device.onvif_error, "clock_setting": device.clock_setting,
            "clock_consent_by": device.clock_consent_by, "ntp_server": device.ntp_server}


def zone_rows(session: Session, may_see_locations: bool, policy: Policy | None = None
              ) -> list[dict[str, Any]]:
    video = policy.video if policy is not None else VideoRules()
    if not may_see_locations:
        return []
    rows = session.execute(select(Zone, Site).join(Site, Site.id == Zone.site_id)
                           .order_by(Site.name, Zone.name)).all()
    counts = dict(session.execute(select(Camera.zone_id, func.count()).group_by(Camera.zone_id))
                  .all())
    return [{"site": site.name, "zone": zone.name, "kind": zone.kind,
             "kind_pl": video.kind(zone.kind).name, "cameras": counts.get(zone.id, 0)}
            for zone, site in rows]


def site_rows(session: Session, may_see_locations: bool) -> list[dict[str, Any]]:
    if not may_see_locations:
        return []
    return [{"name": s.name, "address": s.address}
            for s in session.execute(select(Site).order_by(Site.name)).scalars()]


def live_view_url(camera: Camera, device: CameraDevice | None) -> str | None:
    """Where the camera's live view comes from, without credentials: the sub-stream of the
    live-view profile it was added over ONVIF with, a demo camera's lighter picture, or None
    (the live view then plays the recorded main stream)."""
    if device is not None and device.live_url:
        return device.live_url
    return SIMULATED_SUB if camera.url.startswith(SIMULATED_PREFIX) else None


def add_simulated_camera(session: Session, policy: Policy, name: str, site: str, zone: str,
                         segment_seconds: float, actor: str) -> Camera:
    """A demo camera: the demo's picture (with a tone) instead of an RTSP URL. Not
    reachable from the CLI's `cameras add`, which accepts rtsp:// only."""
    zone_row = get_zone(session, site, zone)
    purposes = check_purposes(policy.video.purposes[:1], policy.video)  # its first purpose
    check_place(zone_row.kind, purposes, None, None, video=policy.video)
    today = datetime.now(UTC).astimezone(policy.timezone).date()  # the office's day
    spec = CameraSpec(name, site, zone, f"{SIMULATED_PREFIX}testsrc2", purposes,
                      notice_date=today, signage_date=today, segment_seconds=segment_seconds,
                      start_override_reason="kamera demonstracyjna (obraz testowy)")
    return _insert_camera(session, policy, spec, zone_row,
                          RtspAddress(spec.url, None, None),
                          check_segment_seconds(segment_seconds), actor)


def recorder_notes(session: Session, policy: Policy,
                   now: datetime | None = None) -> dict[int, str]:
    """What the dashboard says about each camera's recorder, in Polish. The status row's own
    message is English for the IT staff (logs, `kustosz cameras status`); the page builds its
    words from the state, the codec, the open gap's cause and the camera's own rules."""

    causes = {g.source_id: g.cause for g in session.execute(
        select(Gap).where(Gap.end_at.is_(None)).order_by(Gap.start_at)).scalars()}
    cameras = {c.source_id: (c, z) for c, z in session.execute(
        select(Camera, Zone).join(Zone, Zone.id == Camera.zone_id)).all()}
    out: dict[int, str] = {}
    for st in session.execute(select(RecorderStatus)).scalars():
        cause = causes.get(st.source_id)
        cause_pl = CAUSES_PL.get(cause, "przyczyna nieznana") if cause else None
        # The state itself has its own column ("nagrywa", "nie nagrywa"); the note says why.
        if st.state == RecorderState.RECORDING:
            note = f"kodek {st.codec}" if st.codec else ""
            if st.codec and st.codec not in BROWSER_CODECS:
                note += " — tego obrazu nie da się odtworzyć w przeglądarce"
        elif st.state == RecorderState.CONNECTING:
            note = "łączenie z kamerą"
        elif st.state == RecorderState.DOWN:
            note = cause_pl or "przyczyna nieznana"
        elif st.state == RecorderState.DISK_FULL:
            note = ("brak miejsca na dysku; nagrywanie wznowi się samo, gdy Kustosz zwolni "
                    "miejsce (usuwając najstarsze nagrania nieobjęte zabezpieczeniem)")
        elif st.state == RecorderState.STOPPED:
            note = "rejestrator zatrzymany" + (f"; ostatni problem: {cause_pl}" if cause_pl
                                               else "")
        elif st.state == RecorderState.DISABLED:
            note = "kamera wyłączona przez administratora"
        elif st.state in (RecorderState.WAITING, RecorderState.REFUSED) and st.source_id in cameras:
            camera, zone = cameras[st.source_id]
            if st.state == RecorderState.WAITING:
                note = gate_of(camera, policy, now).reason_pl
            else:
                try:
                    check_may_record(zone.kind, camera.purposes, camera.unrecognisable_reason,
                                     camera.representatives_consent, video=policy.video)
                    note = ("zapisanego hasła kamery nie da się odczytać — wprowadź je "
                            "ponownie")
                except KustoszError as exc:
                    note = exc.pl or "nagrywanie w tej strefie jest niedozwolone"
        else:
            note = ""
        out[st.source_id] = note
    return out


ONVIF_AWAY_PL = "kamera nie odpowiada przez ONVIF"
STREAM_AWAY_PL = "kamera odpowiada przez ONVIF, ale jej obraz nie dociera"
CLOCK_OFF_PL = "zegar kamery rozmija się z czasem serwera"


def onvif_notes(session: Session, limit_s: float) -> dict[int, list[str]]:
    """What the dashboard adds for a camera added over ONVIF (issue 34 item 5): its ONVIF
    service away, or answering while the stream does not arrive (which of the two fails), and
    its own clock off. Fixed phrases: the page translates each."""
    recorders = {r.source_id: r.state for r in session.execute(select(RecorderStatus))
                 .scalars()}
    offsets = latest_onvif_offsets(session)
    out: dict[int, list[str]] = {}
    for device in session.execute(select(CameraDevice)).scalars():
        notes = []
        if device.onvif_error is not None:
            notes.append(ONVIF_AWAY_PL)
        elif device.onvif_ok_at is not None and recorders.get(device.source_id) == \
                RecorderState.DOWN:
            notes.append(STREAM_AWAY_PL)
        offset = offsets.get(device.source_id)
        if offset is not None and abs(offset[0]) > limit_s:
            notes.append(CLOCK_OFF_PL)
        if notes:
            out[device.source_id] = notes
    return out


def latest_onvif_offsets(session: Session) -> dict[int, tuple[float, datetime]]:
    """Each ONVIF camera's own clock at its last reading (camera_clock_readings)."""
    return _latest(session, CameraClockReading)


REGISTER_COLUMNS = ["Kamera", "Budynek", "Strefa", "Cele (podstawa prawna)",
                    "Urządzenie (producent, model)", "Nr seryjny", "Oprogramowanie, MAC",
                    "Adres ONVIF", "Powiadomienie, oznakowanie", "Nagrywa"]
REGISTER_WIDTHS = [0.9, 0.8, 1.1, 1.3, 1.2, 1.0, 1.45, 1.6, 1.45, 1.0]


def register_rows(rows: list[dict[str, Any]]) -> list[list[str]]:
    """The camera register as the printed register's table (R1.6; issue 34 item 2): each
    camera with its place, purpose, the device's own facts and its dates. ``rows`` are
    camera_rows(..., may_see_locations=True): the document shows where cameras hang."""
    def day(value: date | None) -> str:
        return value.strftime("%d.%m.%Y") if value else "—"
    out = []
    for r in rows:
        d = r["device"] or {}
        out.append([
            r["name"] + ("" if r["enabled"] else " (wyłączona)"), r["site"],
            f"{r['zone']} ({r['zone_kind']})", "; ".join(r["purposes_cited"]),
            f"{d['make']} {d['model']}" if d else "dodana adresem RTSP",
            d.get("serial") or "—",
            ", ".join(x for x in (d.get("firmware"), d.get("mac")) if x) or "—",
            d.get("onvif_address") or "—",
            f"{day(r['notice_date'])}, {day(r['signage_date'])}",
            "tak" if r["may_record"] else r["start_rule_pl"]])
    return out
