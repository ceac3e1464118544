"""Material for the custody tests: real MPEG-TS camera segments and WAV calls in a vault."""

from __future__ import annotations

import functools
import math
import os
import struct
import subprocess
import tempfile
import wave
from datetime import date, datetime, time, timedelta
from pathlib import Path

import imageio_ffmpeg

from kustosz.access.users import add_user
from kustosz.cameras.register import CameraSpec, add_camera, add_site, add_zone
from kustosz.custody.decisions import decide
from kustosz.custody.requests import RequestSpec, register_request
from kustosz.db.calls import Call
from kustosz.db.custody import Request
from kustosz.db.models import Hold, Recording
from kustosz.ingest.files import ingest_file
from kustosz.ingest.phone.lines import add_phone_source, enable_phone_source
from kustosz.policy.holidays import act_last_day
from kustosz.vault import Vault

LONG_AGO = date(2020, 1, 1)
OFFICE_NUMBER = "+48746640800"


@functools.cache
def segment_bytes(seconds: float = 2.0) -> bytes:
    """One real H.264 MPEG-TS segment (testsrc2), made once per test run."""
    # A name of this process's own: under pytest-xdist every worker makes its segment at the
    # same time, and id() of the same function can be equal in two workers.
    fd, name = tempfile.mkstemp(prefix=f"kustosz-custody-seg-{seconds}-", suffix=".ts")
    os.close(fd)
    out = Path(name)
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error",
                    "-y", "-f", "lavfi", "-i", f"testsrc2=size=320x240:rate=10:d={seconds}",
                    "-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-f", "mpegts",
                    str(out)], check=True, capture_output=True)
    data = out.read_bytes()
    out.unlink()
    return data


def late_event(vault: Vault, received_after: int = 15) -> datetime:
    """Noon of the latest event day whose request, received ``received_after`` days later
    (today at the latest), is past the office's deadline. An end that falls on a Saturday
    or a day free from work moves to the next working day (art. 115 k.c.), and a day-15
    request is then in time: a test that took "15 days ago" failed on such days only."""
    period = vault.policy.request_deadline
    assert period is not None, "the office's regulation sets no deadline for requests"
    today = datetime.now(vault.policy.timezone).date()
    for days_ago in range(received_after, received_after + 21):
        day = today - timedelta(days=days_ago)
        if act_last_day(period, day) < day + timedelta(days=received_after):
            return datetime.combine(day, time(12, 0), tzinfo=vault.policy.timezone)
    raise AssertionError(f"no event day in three weeks is late on day {received_after}")


def setup_camera(vault: Vault, name: str = "cam-hol", site: str = "Ratusz",
                 zone: str = "hol parter") -> None:
    with vault.transaction() as s:
        from sqlalchemy import select

        from kustosz.db.cameras import Site, Zone
        if s.execute(select(Site).where(Site.name == site)).first() is None:
            add_site(s, site, "test", "Rynek 1")
        if s.execute(select(Zone).where(Zone.name == zone)).first() is None:
            add_zone(s, site, zone, "corridor", "test")
        add_camera(s, vault.policy, CameraSpec(
            name, site, zone, "rtsp://192.0.2.10/stream", "property", notice_date=LONG_AGO,
            signage_date=LONG_AGO, segment_seconds=2.0), "test")


def record(vault: Vault, camera: str, start: datetime, count: int, tmp: Path,
           seconds: float = 2.0) -> list[Recording]:
    tmp.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(count):
        t = start + timedelta(seconds=seconds * i)
        path = tmp / f"{camera}-{t.timestamp():.0f}.ts"
        path.write_bytes(segment_bytes(seconds))
        out.append(ingest_file(vault, camera, path, t, t + timedelta(seconds=seconds)))
    return out


def write_wav(path: Path, seconds: float = 1.0, rate: int = 8000) -> None:
    frames = b"".join(struct.pack("<h", int(6000 * math.sin(2 * math.pi * 440 * i / rate)))
                      for i in range(int(seconds * rate)))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)


def setup_phone(vault: Vault, tmp: Path, name: str = "centrala") -> None:
    (tmp / "spool").mkdir(parents=True, exist_ok=True)
    with vault.transaction() as s:
        add_phone_source(s, vault.policy, name, "test", spool=tmp / "spool",
                         cdr=tmp / "Master.csv", numbers=[OFFICE_NUMBER])
    with vault.transaction() as s:
        enable_phone_source(s, name, "test", legal_basis="regulamin §3",
                            purpose="bezpieczeństwo osób i mienia")


def call(vault: Vault, tmp: Path, start: datetime, caller: str, callee: str = OFFICE_NUMBER,
         source: str = "centrala", seconds: float = 1.0) -> Recording:
    path = tmp / f"call-{start.timestamp():.0f}-{caller}.wav"
    write_wav(path, seconds)

    def on_stored(s, rec):  # type: ignore[no-untyped-def]
        s.add(Call(recording_id=rec.id, source_id=rec.source_id, start_at=start,
                   caller=caller, callee=callee, direction="incoming", uniqueid=path.name,
                   disposition="ANSWERED", no_cdr=False))

    return ingest_file(vault, source, path, start, start + timedelta(seconds=seconds),
                       on_stored=on_stored)


def people(vault: Vault) -> None:
    with vault.transaction() as s:
        add_user(s, "burmistrz", "Jan Kowalski", ["approver"], "test",
                 title=vault.policy.approver_title)
        add_user(s, "zastepca", "Anna Nowak", ["approver"], "test",
                 title=vault.policy.deputy_title)
        add_user(s, "informatyk", "Piotr Wiśniewski", ["custodian", "administrator"], "test",
                 title="informatyk")
        add_user(s, "komisja1", "Zofia Żółtowska", ["commission"], "test")
        add_user(s, "komisja2", "Łukasz Gęślak", ["commission"], "test")
    appoint_commission(vault, "komisja1", "komisja2")


def appoint_commission(vault: Vault, *members: str, by: str = "burmistrz") -> None:
    """The head's order appointing the destruction commission [002 zał.5 §8.2], for offices
    whose policy lets only appointed members confirm (commission.appointed)."""
    from datetime import date

    from kustosz.custody import commission

    if not vault.policy.access.commission_appointed:
        return
    with vault.transaction() as s:
        for member in members:
            commission.appoint(s, member=member, order_ref="1/2020",
                               appointed_on=date(2020, 1, 2), approver=by, actor="test")


def reviewed(vault: Vault, number: str, reviewer: str = "kustosz-przeglad",
             head: str = "burmistrz") -> None:
    """A data subject's masked copy served to a second custodian through the media gate,
    watched to the end (second by second of server time) and approved (issue 17 item 2:
    nothing is handed over unreviewed)."""
    from datetime import UTC

    from sqlalchemy import select

    from kustosz.access import records
    from kustosz.access.authorisations import issue
    from kustosz.custody import subject_review as sr
    from kustosz.custody.copies import get_copy
    from kustosz.db.custody import User

    t = datetime.now(UTC)
    with vault.transaction() as s:
        if s.execute(select(User).where(User.name == reviewer)).first() is None:
            add_user(s, reviewer, "Maria Wrona", ["custodian"], "test")
            issue(s, holder=reviewer, actions=["export"], sources=[], source_kinds=["camera"],
                  valid_from=t - timedelta(days=1), valid_to=t + timedelta(days=30),
                  by=head, actor="test")
    with vault.transaction() as s:
        copy = get_copy(s, number)
        u = s.execute(select(User).where(User.name == reviewer)).scalar_one()
        token = records.try_open(s, user=u, action="export", client="127.0.0.1",
                                 purpose="przegląd kopii", request_id=copy.request_id,
                                 copy=copy)
        assert isinstance(token, str), token
        vs = records.viewing_of(s, token)
        assert vs is not None
        for f in sr.masked_files(copy):
            # the whole file served at t (issue 28: watching is counted from bytes served)
            file = vault.root / copy.bundle / f.path
            records.served(s, vs, sr.served_what(copy, f.path), "127.0.0.1",
                           file.stat().st_size)
            sr.count_served(s, copy.id, reviewer, f.path, file, 0, file.stat().st_size, now=t)
    with vault.transaction() as s:
        for f in sr.masked_files(get_copy(s, number)):
            steps = int(f.duration_s) + 1
            for i in range(1, steps + 1):
                sr.record_play(s, number, reviewer, f.path, min(float(i), f.duration_s),
                               i == steps, now=t + timedelta(seconds=i))
        sr.approve(s, number, reviewer, "test")


def registered(vault: Vault, spec: RequestSpec, now: datetime, agree: bool | None = True
               ) -> Request:
    """A request registered at ``now`` and, unless ``agree`` is None, decided by the head."""
    with vault.transaction() as s:
        req = register_request(s, vault.policy, spec, "test", now=now)
        if agree is not None:
            decide(s, vault.policy, req.id, by="burmistrz", agree=agree,
                   on=now.astimezone(vault.policy.timezone).date(), actor="test",
                   keyed_by="burmistrz", now=now)
        s.flush()
        s.expunge(req)
    return req


def hold_row(vault: Vault, hold_id: int | None) -> Hold:
    assert hold_id is not None
    with vault.reading() as s:
        hold = s.get(Hold, hold_id)
        assert hold is not None
        s.expunge(hold)
        return hold


def is_stored(vault: Vault, rec_id: int) -> bool:
    with vault.reading() as s:
        rec = s.get(Recording, rec_id)  # a deleted recording's row moves to `deletions`
        return rec is not None and rec.state == "stored"
