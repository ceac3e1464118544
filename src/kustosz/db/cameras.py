"""Tables of the camera register and recorder (issue: camera recording)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from kustosz.db.models import Base
from kustosz.db.types import BigId, UTCDateTime
from kustosz.kinds import check_in
from kustosz.states import RecorderState


class Site(Base):
    """Budynek: a building (or plot) holding monitored zones."""

    __tablename__ = "camera_sites"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    address: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Zone(Base):
    """Strefa: a place covered by monitoring; its kind decides whether a camera may be there."""

    __tablename__ = "camera_zones"
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("camera_sites.id"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    __table_args__ = (UniqueConstraint("site_id", "name", name="uq_camera_zones_site_name"),)


class Camera(Base):
    """A camera source's register entry (Kodeks pracy art. 22²)."""

    __tablename__ = "cameras"
    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), unique=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("camera_zones.id"))
    # The codes of its purposes (policy.video: a statute's or the office's own), in the order
    # given; one at least (migration 0056: it had one, `purpose`).
    purposes: Mapped[list[str]] = mapped_column(JSON)
    # The URL without user:password; credentials live apart so that showing the URL never
    # shows them. The password is sealed with the vault's key (atrest/sealing.py): the
    # recorder must present it to the camera, so it cannot be a hash.
    url: Mapped[str] = mapped_column(String(1000))
    rtsp_user: Mapped[str | None] = mapped_column(String(200))
    rtsp_password: Mapped[str | None] = mapped_column(Text)
    segment_seconds: Mapped[float] = mapped_column(default=10.0)
    notice_date: Mapped[date | None] = mapped_column(Date)
    signage_date: Mapped[date | None] = mapped_column(Date)
    # art. 22² §2: a forbidden room only if people cannot be recognised in the image.
    unrecognisable_reason: Mapped[str | None] = mapped_column(Text)
    # art. 22² §2: sanitary rooms also need the employee representatives' consent.
    representatives_consent: Mapped[str | None] = mapped_column(Text)
    start_override_reason: Mapped[str | None] = mapped_column(Text)
    start_override_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CameraDevice(Base):
    """What a camera added over ONVIF says of itself (issue 34): make, model, serial number,
    firmware and MAC for the register (R1.6), where its ONVIF service answers, and which of its
    media profiles is recorded and which is watched live. The ONVIF account is the camera's
    RTSP account (cameras.rtsp_user, the sealed cameras.rtsp_password): one user, one
    password, one place to change it. A camera added by URL has no row here."""

    __tablename__ = "camera_devices"
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), primary_key=True)
    onvif_address: Mapped[str] = mapped_column(String(300))
    make: Mapped[str] = mapped_column(String(200))
    model: Mapped[str] = mapped_column(String(200))
    # NULL where the camera gives none; two cameras never share one (the same device twice)
    serial: Mapped[str | None] = mapped_column(String(200))
    firmware: Mapped[str | None] = mapped_column(String(200))
    hardware_id: Mapped[str | None] = mapped_column(String(200))
    mac: Mapped[str | None] = mapped_column(String(40))
    record_profile: Mapped[str] = mapped_column(String(100))
    record_profile_desc: Mapped[str | None] = mapped_column(String(200))
    # The sub-stream for live view; its address as GetStreamUri gave it, without credentials
    live_profile: Mapped[str | None] = mapped_column(String(100))
    live_url: Mapped[str | None] = mapped_column(String(1000))
    read_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The last check over ONVIF (kustosz.cameras.onvif_clock): when it answered, or why not
    onvif_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    onvif_error: Mapped[str | None] = mapped_column(Text)
    # The administrator's consent to let Kustosz set this camera's clock, and how: "ntp"
    # (SetNTP to ntp_server) or "time" (SetSystemDateAndTime to the server's UTC)
    clock_consent_by: Mapped[str | None] = mapped_column(String(200))
    clock_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    clock_setting: Mapped[str | None] = mapped_column(String(10))
    ntp_server: Mapped[str | None] = mapped_column(String(300))
    __table_args__ = (Index("uq_camera_devices_serial", "serial", unique=True),)


class CameraClockReading(Base):
    """R1.8 for a camera added over ONVIF: its own clock (GetSystemDateAndTime) minus the
    server's, read on serve's start and every [cameras] clock_check_minutes."""

    __tablename__ = "camera_clock_readings"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    measured_at: Mapped[datetime] = mapped_column(UTCDateTime())
    offset_s: Mapped[float] = mapped_column()
    round_trip_s: Mapped[float] = mapped_column()
    ntp: Mapped[bool] = mapped_column()
    __table_args__ = (Index("ix_camera_clock_readings_source", "source_id", "measured_at"),)


class Gap(Base):
    """Przerwa w nagraniu: a time a camera was expected to record and did not."""

    __tablename__ = "camera_gaps"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # open while still down
    cause: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (Index("ix_camera_gaps_source_start", "source_id", "start_at"),)


class ClockOffset(Base):
    """R1.8: camera clock minus server clock, measured from RTCP sender reports."""

    __tablename__ = "camera_clock_offsets"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    session: Mapped[str] = mapped_column(String(60))
    measured_at: Mapped[datetime] = mapped_column(UTCDateTime())
    offset_s: Mapped[float] = mapped_column()
    samples: Mapped[int] = mapped_column()
    __table_args__ = (Index("ix_camera_clock_offsets_source", "source_id", "measured_at"),)


class RecorderStatus(Base):
    """Health of each camera's recorder, written by `kustosz serve`, read by `recorders status`."""

    __tablename__ = "camera_recorder_status"
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), primary_key=True)
    state: Mapped[str] = mapped_column(String(20))  # RecorderState (kustosz.states)
    since: Mapped[datetime] = mapped_column(UTCDateTime())
    message: Mapped[str | None] = mapped_column(Text)
    codec: Mapped[str | None] = mapped_column(String(30))
    # Whether ffmpeg's parser cuts its key frames (recorder_pair.PictureCheck): the answer of
    # the camera's first probe, for every node and restart after; NULL not known (0061).
    pictures_cut: Mapped[bool | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    __table_args__ = (CheckConstraint(check_in("state", RecorderState),
                                      name="ck_camera_recorder_status_state"),)


class CameraMark(Base):
    """What a camera added over ONVIF reported over an interval (issue 34 item 4): motion, a
    digital input. Metadata of the recording: a mark goes when no stored recording of its
    camera overlaps it and its camera's period has passed since its end (retention/traces.py),
    so it lives under the same retention and holds as the video."""

    __tablename__ = "camera_marks"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    kind: Mapped[str] = mapped_column(String(20))  # motion, input
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # open while it lasts
    __table_args__ = (Index("ix_camera_marks_source_start", "source_id", "start_at"),)
