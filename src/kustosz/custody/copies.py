"""Copies (kopie nagrań, R4.3, R2.5): numbered per year ("7/2026"), made as evidence bundles.

Video is remuxed to a fragmented MP4 with ffmpeg's concat demuxer (`-c copy`, no re-encoding:
the bytes of the picture are the recorder's), hashed while ffmpeg writes it (`remux`); calls
are copied byte for byte; mail and IT events as their chunks byte for byte plus the request's
rows (`chunk_copies`). The slow part (remux, hashing) runs before the transaction, so the
database is locked only while the number is taken, the label printed and the manifest signed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kustosz import playable
from kustosz.access.users import get_user, printed
from kustosz.audit import append as audit
from kustosz.audit.witness import latest_line
from kustosz.cameras.register import latest_offsets
from kustosz.custody import bundles, copy_progress
from kustosz.custody.actions import record_action
from kustosz.custody.chunk_copies import CHUNK_KINDS, build_chunk_media
from kustosz.custody.copy_dates import held_period, kept_until
from kustosz.custody.requests import (
    KINDS,
    STATUS_PL,
    copy_period,
    end_request_holds,
    get_request,
    refuse_if_answered,
    subject_number,
)
from kustosz.db.calls import Call
from kustosz.db.cameras import Camera, RecorderStatus, Site, Zone
from kustosz.db.cameras import Gap as CameraGap
from kustosz.db.custody import Copy, Request
from kustosz.db.models import Recording, Source
from kustosz.errors import InputError, KustoszError, NotFound
from kustosz.fsutil import replace, sync_tree
from kustosz.index.calls import search_calls
from kustosz.index.recordings import overlapping
from kustosz.index.sources import get_source
from kustosz.kinds import Material, SourceKind
from kustosz.masking import residual
from kustosz.policy import Policy
from kustosz.policy.periods import WARSAW, chunk_window, local_day
from kustosz.states import (
    CopyState,
    RecorderState,
    RecordingState,
    RequestKind,
    RequestStatus,
)
from kustosz.storage import copy_out
from kustosz.storage.base import Tampered, check_content
from kustosz.vault import Vault
from kustosz.words import period_pl

COPY_ROLES = ("custodian", "administrator")
# What a media entry says of other people's data taken out of it (a data subject's copy, R6.2):
# kept with the copy's row too, for the answer letter and the register.
PROTECTED = ("pseudonymised", "masking")
Progress = Callable[[float, str], None]
# A copy covers only the past (issue 29 item 1). Once the period asked for is over, its last
# piece reaches the index when the recorder closes the segment holding the period's end (the
# camera's segment_seconds) and the committer has stored it (batches of up to 1 s, each file
# hashed and flushed): SETTLE_S on top of that is the allowance for a busy disk.
SETTLE_S = 30.0


def fmt(value: datetime, policy: Policy, seconds: bool = True) -> str:
    return value.astimezone(policy.timezone).strftime(
        "%d.%m.%Y %H:%M:%S" if seconds else "%d.%m.%Y %H:%M")


def expiry(policy: Policy, first_recording: datetime, made_at: datetime) -> datetime:
    """R2.5: lifetime counted from the day of recording or the day the copy was made; a maximum
    ("nie dłuższy niż"), so art. 111/112 k.c. only, never moved by art. 115 (policy.holidays)."""
    start = first_recording if policy.copy_counted_from == "recording_date" else made_at
    return policy.copy_lifetime.end(local_day(start, policy.timezone), policy.timezone)


def ceiling(policy: Policy, copy: Copy) -> datetime | None:
    """The latest instant a copy may be kept where the office's lifetime is a ceiling that no
    request extends (policy.custody.copy_ceiling: Pleszew, "nie dłuższy niż 3 miesiące od dnia
    nagrania" [002 zał.5 §7.4]); None where a new request extends it [004 §7.9]. The one
    definition `copies extend` (CLI and any other path through extend_copy) is held to."""
    if policy.custody.copy_ceiling is None:
        return None
    return expiry(policy, held_period(copy)[0], copy.made_at)


def is_due(copy: Copy, now: datetime) -> bool:
    """Due for destruction: kept, and its lifetime is over (R2.5). A copy handed over is due
    all the same: the authority received its own medium, and the office's copy has no other
    end than its lifetime (issue 13 item 3). The one definition behind `copies list --due`,
    its `"due"` in --json, the copies page and the dashboard. A copy that another hold covers
    is still due; its destruction is refused, naming the hold, until that is released."""
    return copy.state == CopyState.KEPT and copy.expires_at <= now


@dataclass
class Group:
    """The material of one source in a copy (video) or one call (calls)."""

    source: Source
    recordings: list[Recording]
    info: dict[str, Any]


def _check_request(session: Session, req: Request) -> None:
    refuse_if_answered(req)
    if req.status == RequestStatus.REFUSED:
        raise InputError(f"request {req.id} was refused"
                         + (f" ({req.status_reason})" if req.status_reason else "")
                         + "; no copy can be made of it",
                         pl=f"Wniosek nr {req.id} został odrzucony"
                            + (f" ({req.status_reason})" if req.status_reason else "")
                            + "; nie można sporządzić z niego kopii.")
    if req.status == RequestStatus.REGISTERED:
        raise InputError(f"request {req.id} has not been decided yet; the "
                         "approver's consent comes first (kustosz requests decide)",
                         pl=f"Wniosek nr {req.id} nie został jeszcze rozpatrzony; najpierw "
                            "potrzebna jest zgoda zatwierdzającego.")
    # A copy sent back at review (custody.subject_review) was destroyed unhanded: the request
    # is copied again once its masks are corrected.
    made = session.execute(select(Copy.number).where(
        Copy.request_id == req.id, Copy.review_state.is_distinct_from("sent_back"))).scalar()
    if made is not None:
        raise InputError(f"request {req.id} already has copy {made}",
                         pl=f"Do wniosku nr {req.id} sporządzono już kopię nr {made}.")


def _custodian(session: Session, name: str) -> str:
    user = get_user(session, name)
    if not user.active or not set(user.roles) & set(COPY_ROLES):
        raise InputError(f"user {name!r} may not make copies (needs the custodian or "
                         "administrator role and an active account)",
                         pl=f"Użytkownik „{name}” nie może sporządzać kopii (wymaga roli "
                            "kustosza lub administratora i aktywnego konta).")
    return name


def _subject_calls(session: Session, req: Request) -> tuple[list[int], str]:
    """A data subject's calls (R6.2): searched again by the request's numbers (the intake may
    have caught up since registration, when nothing found meant every line held), never the
    whole lines the hold covers; and only those in which the person's own number took part."""
    theirs = subject_number(session, req.caller, req.callee)
    number, other = (req.caller, req.callee) if req.caller else (req.callee, None)
    start, end = copy_period(req)
    hits = search_calls(session, number=number, callee=other, begin=start, end=end)
    return [h.recording_id for h in hits], theirs


def _within(rec: Recording, start: datetime, end: datetime) -> bool:
    """Whether a stored item holds part of [start, end): one that only touches an end (a
    segment ending as the period begins) holds none of it; a call of no length at a moment
    of the period is in it."""
    if rec.start_at == rec.end_at:
        return start <= rec.start_at <= end
    return rec.start_at < end and rec.end_at > start


def _gather(session: Session, req: Request, policy: Policy) -> list[Group]:
    """What a copy of ``req`` holds: the stored material of the period asked for
    (`copy_period`), never the hold's margin around it (issue 29 item 2)."""
    groups: list[Group] = []
    start, end = copy_period(req)
    items, theirs = req.items, None
    if req.material == Material.CALLS and req.kind == RequestKind.DATA_SUBJECT:
        items, theirs = _subject_calls(session, req)
        if not items:
            return groups
    if items:
        rows = session.execute(
            select(Recording, Source, Call).join(Source, Source.id == Recording.source_id)
            .outerjoin(Call, Call.recording_id == Recording.id)
            .where(Recording.id.in_(items), Recording.state == RecordingState.STORED)
            .order_by(Recording.start_at)).all()
        for rec, source, call in rows:
            if theirs is not None and (call is None or theirs not in (call.caller,
                                                                       call.callee)):
                continue
            if not _within(rec, start, end):  # found in the held window, outside the period
                continue
            caller = call.caller if call and call.caller else "nieznany"
            callee = call.callee if call else "nieznany"
            groups.append(Group(source, [rec], {
                "kind": source.kind, "name": source.name, "caller": caller, "callee": callee,
                "label": f"rozmowa z nr {caller} na nr {callee} "
                         f"({fmt(rec.start_at, policy)})"}))
        return groups
    offsets = latest_offsets(session)
    for name in req.sources:
        source = get_source(session, name)
        if source.kind in CHUNK_KINDS:
            # A chunk spans its lines' receipt, a line is picked by its own time (sent late,
            # a sender's clock): the chunks of the window held, their lines of the period.
            recs = list(session.execute(overlapping(source, req.start_at, req.end_at))
                        .scalars())
        else:
            recs = [r for r in session.execute(overlapping(source, start, end)).scalars()
                    if _within(r, start, end)]
        if not recs:
            continue
        info: dict[str, Any] = {"kind": source.kind, "name": source.name,
                                "label": f"źródło {source.name}"}
        place = session.execute(
            select(Site.name, Zone.name).join(Zone, Zone.site_id == Site.id)
            .join(Camera, Camera.zone_id == Zone.id).where(Camera.source_id == source.id)
        ).first()
        if place is not None and req.kind == RequestKind.DATA_SUBJECT:
            # Issue 17 item 2: a data subject's label and documents (the manifest too, it
            # goes with the copy) never show where the camera is.
            info["label"] = f"kamera {source.name}"
        elif place is not None:
            info.update(site=place[0], zone=place[1],
                        label=f"kamera {source.name} ({place[0]}, {place[1]})")
        offset = offsets.get(source.id)
        info["clock_offset_s"] = round(offset[0], 3) if offset else None
        info["clock_measured_at"] = offset[1].isoformat() if offset else None
        groups.append(Group(source, recs, info))
    return groups


def ready_at(session: Session, req: Request, tz: ZoneInfo = WARSAW) -> datetime:
    """The moment from which the whole period asked for is in the index (`SETTLE_S`): a copy
    made before it would hold a part of the period only, and name the rest a gap the cameras
    never had (issue 29 item 1). Mail and events are stored a chunk at a time: their copy
    waits for the chunk that holds the period's end to close (its hour, or its day)."""
    end = copy_period(req)[1]
    longest = None
    if req.material == Material.VIDEO:
        longest = session.execute(
            select(func.max(Camera.segment_seconds)).join(Source, Source.id == Camera.source_id)
            .where(Source.name.in_(list(req.sources or [])))).scalar()
    ready = end + timedelta(seconds=(longest or 0.0))
    last = end - timedelta(microseconds=1)  # a period ending on the hour ends in that hour
    for source in session.execute(select(Source).where(
            Source.name.in_(list(req.sources or [])), Source.kind.in_(CHUNK_KINDS))).scalars():
        granularity = str((source.settings or {}).get("chunk") or "hour")
        ready = max(ready, chunk_window(last, granularity, tz)[1])
    return ready + timedelta(seconds=SETTLE_S)


def _check_ready(session: Session, req: Request, vault: Vault, now: datetime) -> None:
    """Refuse a copy of a period not yet over (and in the index), naming the time from which
    it can be made (issue 29 item 1): a copy covers only the past, and a part of the period
    copied now would be the request's only copy."""
    policy = vault.policy
    start, end = copy_period(req)
    ready = ready_at(session, req, policy.timezone)
    if now < ready:
        until = fmt(end, policy)
        when = fmt(ready, policy)
        raise InputError(
            f"request {req.id}: the period asked for ends at {until} (Europe/Warsaw); a copy "
            f"covers only the past and can be made from {when}, once the recordings of the "
            "period's end are stored (nothing was made)",
            pl=f"Wniosek nr {req.id}: okres objęty wnioskiem kończy się {until}. Kopia obejmuje "
               f"tylko to, co już nagrano: można ją sporządzić od {when}, gdy nagrania z końca "
               "okresu zostaną zapisane (niczego nie sporządzono).")
    if req.material != Material.VIDEO:
        return
    tol = timedelta(seconds=playable.GAP_TOLERANCE_S)
    for name in req.sources or []:
        source = get_source(session, name)
        if source.kind != SourceKind.CAMERA:
            continue
        # The camera's material ends before the period does, nothing of it was stored after,
        # no gap is recorded there, and its recorder says it records: the end of the period
        # is not a gap the index holds but recordings not yet taken in (a backlog after the
        # database was away). Named a gap, it would be one that never was.
        last = session.execute(select(func.max(Recording.end_at)).where(
            Recording.source_id == source.id,
            Recording.state == RecordingState.STORED)).scalar()
        if last is None or last >= end - tol:
            continue
        hole = max(last, start)
        gap = session.execute(select(CameraGap.id).where(
            CameraGap.source_id == source.id, CameraGap.start_at <= end,
            (CameraGap.end_at.is_(None)) | (CameraGap.end_at >= hole))).first()
        status = session.get(RecorderStatus, source.id)
        if gap is None and status is not None and status.state == RecorderState.RECORDING:
            since = fmt(last, policy)
            raise InputError(
                f"request {req.id}: camera {name} is recording, but the index holds none of "
                f"its recordings after {since} (Europe/Warsaw) and no gap there: the end of the "
                "period may still be waiting to be stored; try again later (nothing was made)",
                pl=f"Wniosek nr {req.id}: kamera {name} nagrywa, lecz w indeksie nie ma jej "
                   f"nagrań od {since} ani zapisanej przerwy w nagrywaniu: nagrania z końca "
                   "okresu mogą jeszcze czekać na zapisanie. Spróbuj ponownie później "
                   "(niczego nie sporządzono).")


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


# The copy's MP4 is hashed while ffmpeg writes it, not read again afterwards (~1.8 GB an
# hour). ffmpeg gets the file as `pipe:3`: its own write() calls straight into the file, but
# the pipe protocol is not seekable, so the muxer never goes back to change a byte it wrote,
# and a thread here hashes the file behind it as it grows (from the page cache). An MP4 with
# its index at the end needs a seekable output to write the index's size back, so the MP4
# is fragmented: an empty moov first, a fragment per key frame, the random-access index
# (mfra) last, which players (Chromium, VLC, ffprobe) use for the duration and seeking. A
# faststart MP4 (moov first) cannot be hashed in one pass: its moov describes bytes after
# it, and SHA-256 reads in order. (A real pipe that Python reads and writes to the file
# costs a copy more and stalls ffmpeg whenever the reader is not scheduled: measured.)
MP4_FLAGS = "+frag_keyframe+empty_moov+default_base_moof"
READ_BYTES = 1 << 20
CAUGHT_UP_S = 0.01  # how long the hashing waits when it has caught up with ffmpeg
# The bundle is fsynced before the copy is registered; the hashed part of the MP4 is handed
# to the disk as it goes (in steps of this size), so that fsync waits for the tail only.
WRITEBACK_BYTES = 64 << 20
REMUX_TIMEOUT_S = 3600


def remux(paths: list[Path], out: Path) -> str:
    """Join MPEG-TS segments into one MP4 without re-encoding (concat demuxer, -c copy), video
    streams only (`-map 0:v`): a copy never carries sound, even from a segment stored before
    the intake dropped it (R1.3). Returns the MP4's SHA-256, taken while it was written."""
    # The concat demuxer reads a relative name against the list file's folder (/tmp), not
    # ours: a relative path here is a bug upstream (Vault.open makes the data folder absolute).
    relative = [str(p) for p in paths if not p.is_absolute()]
    if relative:
        raise ValueError(f"remux needs absolute paths, got {relative[:3]}")
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as lst:
        for p in paths:
            lst.write("file '" + str(p).replace("'", r"'\''") + "'\n")
    try:
        with tempfile.TemporaryFile() as err:
            digest, returncode = _remux_into(lst.name, out, err)
            err.seek(0)
            stderr = err.read().decode("utf-8", "replace")
    finally:
        os.unlink(lst.name)
    if returncode != 0:
        out.unlink(missing_ok=True)
        raise KustoszError(f"ffmpeg could not remux {len(paths)} segments into {out.name}: "
                           f"{stderr.strip()[-500:]}",
                           pl=f"Nie udało się połączyć nagrań w plik kopii {out.name} (błąd "
                              "programu ffmpeg; szczegóły w dzienniku serwera).")
    return digest


def _remux_into(list_file: str, out: Path, err: Any) -> tuple[str, int]:
    """Run the concat remux into ``out`` (given to ffmpeg as a non-seekable fd) and hash the
    file as it grows; the SHA-256 and ffmpeg's exit code. ffmpeg's stderr goes to ``err``
    (a file: a pipe nobody drains could stall it)."""
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        # Started from this thread, never from a lowered one (`_behind`): a child inherits
        # the nice value of the thread that starts it.
        proc = subprocess.Popen(
            [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-f", "concat",
             "-safe", "0", "-i", list_file, "-map", "0:v", "-an", "-sn", "-dn", "-c", "copy",
             "-f", "mp4", "-movflags", MP4_FLAGS, f"pipe:{fd}"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, pass_fds=(fd,))
    finally:
        os.close(fd)  # ffmpeg has its own
    try:
        with ThreadPoolExecutor(1, thread_name_prefix="copy-hash") as pool:
            digest = pool.submit(_behind, _hash_growing, out, proc).result()
    except BaseException:
        proc.kill()
        proc.wait()
        out.unlink(missing_ok=True)
        raise
    return digest, proc.returncode


def _hash_growing(out: Path, proc: subprocess.Popen[bytes]) -> str:
    """The SHA-256 of ``out`` while ``proc`` appends to it, up to its last byte."""
    deadline = time.monotonic() + REMUX_TIMEOUT_S
    digest = hashlib.sha256()
    view = memoryview(bytearray(READ_BYTES))
    hashed = flushed = 0
    with out.open("rb", buffering=0) as f:
        # ffmpeg only appends, and a read never returns bytes beyond the file's size,
        # which a write moves only once its bytes are in: what is read is final.
        # hashlib and the reads release the GIL (the segments' check runs meanwhile).
        while True:
            if n := f.readinto(view):
                digest.update(view[:n])
                hashed += n
                if hashed - flushed >= WRITEBACK_BYTES:
                    _start_writeback(f.fileno(), flushed, hashed - flushed)
                    flushed = hashed
                continue
            if proc.poll() is not None:
                while n := f.readinto(view):  # what it wrote before it exited
                    digest.update(view[:n])
                break
            if time.monotonic() > deadline:
                proc.kill()
            time.sleep(CAUGHT_UP_S)
    return digest.hexdigest()


# The two SHA-256 passes (the segments against the index, the MP4 as written: ~2.5 CPU-s an
# hour) run in threads of their own, at nice +HASH_NICE (Linux keeps the nice value per
# thread; the threads end with their pool, and ffmpeg is started from the caller's thread).
# ffmpeg's demuxing thread is the export's critical path and keeps a core busy: at its
# priority the hashing took turns with it on the two cores and stretched it; a little lower,
# the hashing fills the time ffmpeg leaves free, and the recorders (nice 0) go first too.
# Under load it was faster in 2 rounds of 3 (bench/README.md, export); the idle A/B is
# `bench/export.py --also-nice 0`.
HASH_NICE = 5


def _behind(work: Callable[..., Any], *args: Any) -> Any:
    if HASH_NICE:
        with suppress(OSError):  # not allowed (a container's seccomp): at equal priority then
            os.nice(HASH_NICE)
    return work(*args)


def _start_writeback(fd: int, offset: int, length: int) -> None:
    """Start writing a range of the file to the disk, without waiting (Linux: DONTNEED
    writes dirty pages back asynchronously; they stay cached until written). Only a hint:
    the bundle's sync_tree is what makes it durable."""
    advise = getattr(os, "posix_fadvise", None)
    if advise is not None:
        advise(fd, offset, length, os.POSIX_FADV_DONTNEED)


def _build_media(vault: Vault, groups: list[Group], work: Path,
                 window: tuple[datetime, datetime, str | None],
                 progress: Progress | None = None,
                 playable_number: str | None = None,
                 data_subject: bool = False,
                 regions: list[dict[str, Any]] | None = None,
                 known: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """``window``: the request's period and, for mail and events, whom it concerns.
    ``known``: filled with the SHA-256 of each file written whose hash is known without
    reading it again (taken while it was written, or the index's, checked while copying).
    ``playable_number``: the copy's number, to make each camera's playable file too (its
    manifest entry is the media entry's "playable"). ``data_subject``: each camera's file is
    the masked video (masking engine) with ``regions`` marked on the request, never the
    recorder's segments."""
    media_dir = work / "media"  # the bundle's own folder: copies read from the store by key
    media_dir.mkdir(parents=True)
    known = {} if known is None else known
    out = []
    tz = vault.policy.timezone
    shares = copy_progress.spans(groups)  # each source's part of the page's progress bar
    for done, g in enumerate(groups):
        lo, hi = shares[done]
        note = f"Kopiowanie nagrań: źródło {done + 1} z {len(groups)} ({g.source.name})"
        if progress:  # the page that waits for a copy made in the background shows it
            progress(lo, note)
        first, last = g.recordings[0], g.recordings[-1]
        if g.source.kind in CHUNK_KINDS:  # mail, events
            out.append(build_chunk_media(vault, g.source, g.recordings, g.info, *window, work,
                                         data_subject=data_subject, known=known))
            continue
        masking = None
        if g.source.kind == SourceKind.CAMERA and data_subject:
            rel = f"media/{g.source.name}_{first.start_at.astimezone(tz):%Y%m%d-%H%M%S}.mp4"
            masking = _masked(vault, g, work / rel, window, regions, progress, done,
                              len(groups), (lo, hi))
        elif g.source.kind == SourceKind.CAMERA:
            rel = f"media/{g.source.name}_{first.start_at.astimezone(tz):%Y%m%d-%H%M%S}.mp4"
            # ffmpeg reads files: the storage lends a local path for each segment (the file
            # itself on the local folder, a scratch copy on any other backend), at the
            # index's version and checked against the index's hash before it is used.
            with ExitStack() as lent:
                paths = [lent.enter_context(vault.storage.local_path(r.storage_key,
                                                                     version=r.version_id))
                         for r in g.recordings]
                mid = hi if playable_number is None else \
                    lo + (hi - lo) * copy_progress.REMUX_SHARE_WITH_PLAYABLE
                with copy_progress.growing(work / rel, sum(r.size or 0 for r in g.recordings),
                                           copy_progress.within(progress, lo, mid, note)):
                    known[rel] = _remux_checked(paths, g.recordings, work / rel)
                if playable_number is not None:
                    extra = _playable(g, paths, work, playable_number, window, tz,
                                      copy_progress.within(
                                          progress, mid, hi, "Plik odtwarzalny z czasem "
                                          f"nagrania: źródło {done + 1} z {len(groups)}"))
        else:
            suffix = PurePosixPath(first.storage_key).suffix or ".bin"
            rel = (f"media/{first.start_at.astimezone(tz):%Y%m%d-%H%M%S}_"
                   f"{g.info.get('caller', 'x')}_{g.info.get('callee', 'x')}_{first.id}{suffix}")
            copy_out(vault.storage, first.storage_key, work / rel, version=first.version_id,
                     sha256=first.sha256)
            if first.sha256 is not None:  # copy_out checked the bytes against it
                known[rel] = first.sha256
        out.append({"path": rel, "source": g.info, "segments": len(g.recordings),
                     "recording_ids": [r.id for r in g.recordings],
                     "recording_sha256": [r.sha256 for r in g.recordings],
                     "from": first.start_at.astimezone(tz).isoformat(),
                     "to": last.end_at.astimezone(tz).isoformat()})
        if g.source.kind == SourceKind.CAMERA:
            rebuilt = reconstructed_times(g.recordings)
            if rebuilt:  # issue 27: a time recovery had to rebuild says so, with its evidence
                out[-1]["time_reconstructed"] = rebuilt
                out[-1]["time_reconstructed_pl"] = (
                    "Czas części nagrań odtworzono po awarii na podstawie dowodów opisanych "
                    "w polu time_reconstructed.")
        if g.source.kind == SourceKind.CAMERA and playable_number is not None:
            out[-1]["playable"] = extra
        if masking is not None:
            # the masked file is the period to the frame (slates where nothing was recorded)
            out[-1].update({"from": window[0].astimezone(tz).isoformat(),
                            "to": window[1].astimezone(tz).isoformat(), "masking": masking})
    return out


def reconstructed_times(recordings: list[Recording]) -> list[dict[str, Any]]:
    """The segments whose time start-up recovery rebuilt (ingest.camera.recovery), each with
    how and from what."""
    return [{"recording_id": r.id, "segment": (r.meta or {}).get("segment"),
             **r.meta["time_reconstructed"]}
            for r in recordings if (r.meta or {}).get("time_reconstructed")]


def _masked(vault: Vault, g: Group, out: Path, window: tuple[datetime, datetime, str | None],
            regions: list[dict[str, Any]] | None, progress: Progress | None, done: int,
            total: int, span: tuple[float, float] = (0.0, 1.0)) -> dict[str, Any]:
    """A data subject's camera (R6.2): the period masked by the engine (faces, the manual
    masks, the requester's boxes spared) into ``out``; the description for the manifest."""
    from kustosz.custody import subject_review
    from kustosz.masking import job as masking_job
    from kustosz.masking.period import mask_period
    from kustosz.masking.video import PROGRESS_NOTE as MASKING_NOTE

    width, height = subject_review.picture_size(vault, g.recordings[0])
    masks, keep = subject_review.engine_regions(regions, g.source.name, width, height)

    def moved(fraction: float, note: str) -> None:
        if progress:  # masking, then (the engine says) checking every frame it masked
            what = "Maskowanie osób" if note == MASKING_NOTE else note
            progress(span[0] + (span[1] - span[0]) * fraction,
                     f"{what}: kamera {done + 1} z {total} ({g.source.name})")

    described = mask_period(vault, g.source.name, window[0], window[1], out, masks=masks,
                            keep=keep, progress=moved, max_s=masking_job.MAX_S)
    described.pop("recording_ids", None)  # the media entry lists them already
    return {**described, "summary_pl": subject_review.summary_pl(described)}


def _regions_from(regions: list[dict[str, Any]], shift_s: float, length_s: float
                  ) -> list[dict[str, Any]]:
    """The request's rectangles with their times moved from the held window's start to the
    copy's period's start (``shift_s`` later), cut to its ``length_s``; those wholly outside
    the period are left out (nothing of theirs is in the copy)."""
    out = []
    for r in regions:
        t0, t1 = float(r["from_s"]) - shift_s, float(r["to_s"]) - shift_s
        if t1 <= 0 or t0 >= length_s:
            continue
        out.append({**r, "from_s": round(max(0.0, t0), 3), "to_s": round(min(length_s, t1), 3)})
    return out


def _withhold(s: Session, copy: Copy, req: Request, bad: list[dict[str, Any]], maker: str,
              actor: str, policy: Policy, now: datetime) -> None:
    """A masked copy whose check found a face other than the requester's (issue 28 item 1):
    kept for the record but never offered for review (nor handed over: its review state is
    not approved), why in its state, the register and the audit log; the request may be
    copied again once the masks are corrected."""
    en, pl = residual.reason(bad, copy.start_at, policy.timezone)
    copy.review_reason = f"{pl} / {en}"
    req.status = RequestStatus.APPROVED
    record_action(s, "copy.review", f"Kopia nr {copy.number}: {pl}", maker,
                  request_id=req.id, copy_id=copy.id, at=now)
    audit(s, actor, "copy.review.residual", f"copy {copy.number}", {
        "reason": en, "files": [{"path": m["path"],
                                 "verification": {k: v for k, v in
                                                  (residual.verification(m) or {}).items()
                                                  if k != "worst_frames"}}
                                for m in bad]})


def _playable(g: Group, paths: list[Path], work: Path, number: str,
              window: tuple[datetime, datetime, str | None], tz: Any,
              told: Callable[[float], None] | None = None) -> dict[str, Any]:
    """The camera's playable file (playable.py) beside its bit-exact MP4."""
    first = g.recordings[0]
    rel = f"playable/{g.source.name}_{first.start_at.astimezone(tz):%Y%m%d-%H%M%S}.mp4"
    (work / "playable").mkdir(exist_ok=True)
    segs = [playable.Segment(p, r.start_at, r.end_at) for p, r in zip(paths, g.recordings,
                                                                         strict=True)]
    info = playable.make_playable(segs, work / rel, number, tz, window=window[:2],
                                  progress=told)
    return {"path": rel, "source": g.source.name,
            **{k: v for k, v in info.items() if not k.startswith("note_")}}


def wants_playable(kind: str, option: bool | None) -> bool:
    """Whether a copy gets playable files: by default for an authority's request (police,
    prosecutor, court: they ask for one file that plays with the time visible), on request
    for an interested person's or an internal case; never for a data subject's, whose video
    must show no other identifiable person (R6.2: the masked video is their copy)."""
    if kind == RequestKind.DATA_SUBJECT:
        if option:
            raise InputError("a data subject's copy gets no playable file: what they receive "
                             "must show no other identifiable person (R6.2)",
                             pl="Kopia dla osoby, której dane dotyczą, nie zawiera pliku "
                                "odtwarzalnego: przekazany materiał nie może pokazywać innych "
                                "możliwych do zidentyfikowania osób.")
        return False
    return (kind == RequestKind.AUTHORITY) if option is None else option


class _NumberTaken(Exception):
    """Another copy took the number burned into this one's playable files meanwhile."""


def segment_sha256(path: Path, view: memoryview) -> str:
    """A segment's SHA-256, read into one buffer (``view``) reused for every segment: no
    new 1 MiB object per read."""
    digest = hashlib.sha256()
    with path.open("rb", buffering=0) as f:
        while n := f.readinto(view):
            digest.update(view[:n])
    return digest.hexdigest()


def _check_segments(paths: list[Path], recordings: list[Recording]) -> None:
    view = memoryview(bytearray(READ_BYTES))
    for path, rec in zip(paths, recordings, strict=True):
        check_content(rec.storage_key, segment_sha256(path, view), rec.sha256)


def _remux_checked(paths: list[Path], recordings: list[Recording], out: Path) -> str:
    """`remux`, while another thread checks every segment against the index's hash (hashlib
    releases the GIL: on a second core, and the files are read ahead of ffmpeg rather than
    twice in a row). A segment that is not the index's refuses the copy (`Tampered`), and its
    refusal wins over ffmpeg's error about the same bytes. Returns the MP4's SHA-256."""
    with ThreadPoolExecutor(1, thread_name_prefix="copy-check") as pool:
        checked = pool.submit(_behind, _check_segments, paths, recordings)
        try:
            digest = remux(paths, out)
        except BaseException:
            checked.result()
            raise
        try:
            checked.result()
        except BaseException:
            out.unlink(missing_ok=True)
            raise
    return digest


def _refused_tampered(vault: Vault, request_id: int, by: str, maker: str, actor: str,
                      exc: Tampered) -> None:
    """A copy whose material does not match the index is not made: the refusal is recorded
    (audit log and the request's register) before the error reaches whoever asked."""
    with vault.transaction() as s:
        record_action(s, "copy.refused", f"Nie sporządzono kopii na wniosek nr {request_id}: "
                      f"{exc.pl}", maker, request_id=request_id)
        audit(s, actor or by, "copy.refused", f"request {request_id}", {
            "key": exc.key, "sha256_index": exc.want_sha256, "sha256_found": exc.got_sha256})


def next_number(session: Session, year: int) -> tuple[int, str]:
    last = session.execute(select(func.max(Copy.seq)).where(Copy.year == year)).scalar()
    seq = (last or 0) + 1
    return seq, f"{seq}/{year}"


def _planned(session: Session, request_id: int, by: str, vault: Vault,
             now: datetime) -> tuple[Request, list[Group]]:
    """What a copy of the request would hold; everything that refuses one before any work."""
    req = get_request(session, request_id)
    _check_request(session, req)
    _custodian(session, by)
    _check_ready(session, req, vault, now)
    groups = _gather(session, req, vault.policy)
    if req.kind == RequestKind.DATA_SUBJECT and any(g.source.kind == SourceKind.CAMERA
                                                    for g in groups):
        from kustosz.custody.subject_review import check_period

        check_period(req)  # masked in one job: refused before it is queued
    if not groups:
        raise NotFound(f"request {req.id}: no stored material in the period of the request "
                       "(it may have been deleted before the request was registered)",
                       pl=f"Wniosek nr {req.id}: w okresie objętym wnioskiem nie ma "
                          "przechowywanych nagrań (mogły zostać usunięte przed "
                          "zarejestrowaniem wniosku).")
    return req, groups


def check_copy(vault: Vault, request_id: int, by: str, actor: str = "",
               playable: bool | None = None, now: datetime | None = None) -> None:
    """Refuse, as make_copy would, before a copy is queued to be made in the background."""
    with vault.reading() as s:
        req, _ = _planned(s, request_id, by, vault, now or datetime.now(UTC))
        wants_playable(req.kind, playable)


def make_copy(vault: Vault, request_id: int, by: str, actor: str,
              now: datetime | None = None, progress: Progress | None = None,
              playable: bool | None = None) -> Copy:
    """``progress(fraction, note)``: how far it got, for a copy made as a job (kustosz.jobs).
    ``playable``: add each camera's playable file (None: by the request's kind,
    `wants_playable`). Its number is burned into the picture before the number is taken
    under the write lock; if another copy took it meanwhile, the copy is built again."""
    for _ in range(3):
        try:
            return _make_copy(vault, request_id, by, actor, now, progress, playable)
        except _NumberTaken:
            continue
    raise KustoszError(f"request {request_id}: other copies kept taking the number of this "
                       "one; try again", pl=f"Wniosek nr {request_id}: inne kopie zajmowały "
                       "kolejno numer tej kopii; spróbuj ponownie.")


def _make_copy(vault: Vault, request_id: int, by: str, actor: str, now: datetime | None,
               progress: Progress | None, want_playable: bool | None) -> Copy:
    from kustosz.documents import render

    policy = vault.policy
    now = now or datetime.now(UTC)
    year = now.astimezone(policy.timezone).year
    with vault.reading() as s:
        req, groups = _planned(s, request_id, by, vault, now)
        period = copy_period(req)
        window = (*period, req.who)
        # marked in seconds from the start of the window held (the mask form's period)
        regions = _regions_from(req.subject_regions or [],
                                (period[0] - req.start_at).total_seconds(),
                                (period[1] - period[0]).total_seconds())
        maker = printed(s, by)
        planned = next_number(s, year)[1] if wants_playable(req.kind, want_playable) and any(
            g.source.kind == SourceKind.CAMERA for g in groups) else None
    store = vault.root / "copies"  # bundles, not media: files of the data folder itself
    store.mkdir(mode=0o700, exist_ok=True)
    os.chmod(store, 0o700)  # the "locked place": only the vault's own account reads it
    work = Path(tempfile.mkdtemp(prefix=".build-", dir=store))
    final: Path | None = None
    try:
        try:
            known: dict[str, str] = {}
            media = _build_media(vault, groups, work, window, progress, planned,
                                 data_subject=req.kind == RequestKind.DATA_SUBJECT,
                                 regions=regions, known=known)
        except Tampered as exc:
            _refused_tampered(vault, request_id, by, maker, actor, exc)
            raise
        if progress:
            progress(0.9, "Podpisywanie i zapisywanie kopii")
        # Hashed here only what was not hashed while written (a masked video, a playable file).
        for m in media:
            if m["path"] not in known:
                known[m["path"]] = bundles.sha256_file(work / m["path"])
        playables = [m.pop("playable") for m in media if "playable" in m]
        withheld = residual.failed(media)
        for p in playables:
            known[p["path"]] = p["sha256"] = bundles.sha256_file(work / p["path"])
        key = bundles.office_key(vault.root)
        sync_tree(work)  # the media flushed before the write lock is taken (the long part)
        with vault.transaction() as s:
            req = get_request(s, request_id)
            _check_request(s, req)  # again, under the write lock
            seq, number = next_number(s, year)
            if planned is not None and number != planned:
                raise _NumberTaken(number)
            # The span of what the copy holds (copy_dates.held_period reads it back from the
            # row): the period asked for, or the stored segments that overlap it, whole.
            first = min(datetime.fromisoformat(m["from"]) for m in media)
            last = max(datetime.fromisoformat(m["to"]) for m in media)
            expires = expiry(policy, first, now)
            label = {"office": policy.office_name, "number": number,
                     "from": fmt(first, policy), "to": fmt(last, policy),
                     "sources": [g.info["label"] for g in groups],
                     "made_on": fmt(now, policy, seconds=False), "made_by": maker,
                     "expires_on": kept_until(expires, policy),
                     "key_fingerprint": bundles.fingerprint(key.public_key())}
            render("label", label, work / "label.pdf", vault.root)
            manifest = {
                "number": number, "office": policy.office_name,
                "request": {"id": req.id, "kind": req.kind, "kind_pl": KINDS[req.kind],
                            "requester": req.requester, "received_on": req.received_on,
                            "case_ref": req.case_ref},
                # the period asked for: what the copy holds (issue 29 item 2); the window the
                # request's hold keeps, the office's margin on each side, is not handed over
                "period": {"from": period[0].astimezone(policy.timezone).isoformat(),
                           "to": period[1].astimezone(policy.timezone).isoformat()},
                "sources": [g.info for g in groups], "media": media,
                "made_by": maker, "made_at": now.astimezone(policy.timezone).isoformat(),
                "expires_at": expires.astimezone(policy.timezone).isoformat(),
                "clock_note": "Czas rejestratora nie jest synchronizowany z zewnętrznym "
                              "wzorcem; znane przesunięcie zegara podano przy źródle.",
                # The latest signed checkpoint of the audit log: the state of the log that
                # this copy's making follows, checkable with the office's public key.
                "audit_checkpoint": latest_line(s),
            }
            if period != (req.start_at, req.end_at):
                manifest["secured_period"] = {
                    "from": req.start_at.astimezone(policy.timezone).isoformat(),
                    "to": req.end_at.astimezone(policy.timezone).isoformat(),
                    "note_pl": "Okres zabezpieczony na czas rozpatrzenia wniosku, z zapasem "
                               "przed i po; kopia obejmuje tylko okres, o który wniesiono.",
                    "note_en": "The window held while the request was decided, with a margin "
                               "on each side; the copy holds only the period asked for."}
            if playables:
                manifest["playable"] = {"note_pl": playable.NOTE_PL,
                                        "note_en": playable.NOTE_EN, "files": playables}
            digest = bundles.seal(work, _jsonable(manifest), key, known)
            final = store / str(year) / f"{seq:04d}"
            copy = Copy(number=number, year=year, seq=seq, request_id=req.id,
                        start_at=period[0], end_at=period[1],
                        sources=[{**m["source"], "path": m["path"], "from": m["from"],
                                  "to": m["to"], **{k: m[k] for k in PROTECTED if k in m}}
                                 for m in media],
                        items=[r.id for g in groups for r in g.recordings],
                        files=bundles.file_entries(work, known), made_by=by, made_at=now,
                        expires_at=expires, bundle=str(final.relative_to(vault.root)),
                        manifest_sha256=digest, state=CopyState.KEPT,
                        # a data subject's masked video is watched by a second person and
                        # approved before it is handed over (custody.subject_review), once
                        # the check of every frame of it found no face but the requester's
                        # (masking.residual: else it is not offered for review at all)
                        review_state=(residual.STATE if withheld else "awaiting")
                        if any("masking" in m for m in media) else None)
            s.add(copy)
            s.flush()
            req.status = RequestStatus.COPIED
            if withheld:
                _withhold(s, copy, req, withheld, maker, actor, policy, now)
            record_action(s, "copy.make", f"Sporządzono kopię nr {number} (okres "
                          f"{fmt(first, policy)} – {fmt(last, policy)}) na wniosek nr {req.id}.",
                          maker, request_id=req.id, copy_id=copy.id, at=now)
            # The copy answers the request: where the office's rule says so, the request's
            # hold on the original ends here [002 zał.5 §6.3, §7.1] (policy.custody).
            end_request_holds(s, policy, [req], "copy_made", number, actor, at=now)
            audit(s, actor, "copy.make", f"copy {number}", {
                "request": req.id, "by": by, "manifest_sha256": digest,
                "items": copy.items, "expires_at": expires.isoformat()})
            final.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if final.exists():
                raise InputError(f"{final} already exists; the copy store is out of step with "
                                 "the index",
                                 pl=f"Folder kopii {final.name} już istnieje: magazyn kopii "
                                    "nie zgadza się z indeksem. Zgłoś to administratorowi.")
            # Whole after a power cut before the row that names it can commit: the files
            # written since (label, manifest, signature) flushed, then the folder renamed
            # into place durably.
            sync_tree(work)
            replace(work, final, sync_source=False)
        return copy
    except BaseException:
        if final is not None and final.exists() and not work.exists():
            shutil.rmtree(final, ignore_errors=True)  # the transaction did not commit
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def get_copy(session: Session, number: str) -> Copy:
    copy = session.execute(select(Copy).where(Copy.number == number.strip())) \
        .scalar_one_or_none()
    if copy is None:
        raise NotFound(f"no copy numbered {number!r} (see: kustosz copies list)",
                       pl=f"Nie ma kopii nr {number}.")
    return copy


def list_copies(session: Session, due_only: bool = False, now: datetime | None = None
                ) -> list[Copy]:
    """All copies; with ``due_only`` those due for destruction (`is_due`)."""
    copies = list(session.execute(select(Copy).order_by(Copy.year, Copy.seq)).scalars())
    if due_only:
        at = now or datetime.now(UTC)
        copies = [c for c in copies if is_due(c, at)]
    return copies


def extend_copy(session: Session, policy: Policy, number: str, request_id: int, actor: str,
                now: datetime | None = None) -> Copy:
    """A new, approved request extends the copy's lifetime, counted from that request [004 §7.9]."""
    now = now or datetime.now(UTC)
    copy = get_copy(session, number)
    if copy.state != CopyState.KEPT:
        raise InputError(f"copy {number} was destroyed; it cannot be extended",
                         pl=f"Kopia nr {number} została zniszczona; nie można przedłużyć jej "
                            "przechowywania.")
    req = get_request(session, request_id)
    if req.id == copy.request_id:
        raise InputError("extending a copy needs a new request, not the one it was made on",
                         pl="Przedłużenie przechowywania kopii wymaga nowego wniosku, a nie "
                            "tego, na podstawie którego ją sporządzono.")
    if req.status != RequestStatus.APPROVED:
        raise InputError(f"request {req.id} is {req.status}; only an approved request extends "
                         "a copy",
                         pl=f"Wniosek nr {req.id}: {STATUS_PL.get(req.status, req.status)}; "
                            "przechowywanie kopii przedłuża tylko wniosek, na który wyrażono "
                            "zgodę.")
    start = datetime.combine(req.received_on, datetime.min.time(), tzinfo=policy.timezone)
    new = policy.copy_lifetime.end(local_day(start, policy.timezone), policy.timezone)
    limit = ceiling(policy, copy)
    if limit is not None and new > limit:
        clause = policy.custody.copy_ceiling
        since = ("the day of recording" if policy.copy_counted_from == "recording_date"
                 else "the day the copy was made")
        since_pl = ("od dnia nagrania" if policy.copy_counted_from == "recording_date"
                    else "od dnia sporządzenia kopii")
        raise InputError(f"copy {number} cannot be extended: it is kept for at most "
                         f"{policy.copy_lifetime} from {since}, a ceiling no request extends "
                         f"(last day {kept_until(limit, policy)}) [{clause}]",
                         pl=f"Nie można przedłużyć przechowywania kopii nr {number}: kopia "
                            f"jest zabezpieczona na okres nie dłuższy niż "
                            f"{period_pl(policy.copy_lifetime)} {since_pl} i żaden wniosek "
                            f"tego okresu nie przedłuża (ostatni dzień: "
                            f"{kept_until(limit, policy)}) [{clause}].")
    if new <= copy.expires_at:
        raise InputError(f"request {req.id} would not extend copy {number} (kept until "
                         f"{kept_until(copy.expires_at, policy)} already)",
                         pl=f"Wniosek nr {req.id} nie przedłużyłby przechowywania kopii nr "
                            f"{number} (już jest przechowywana do "
                            f"{kept_until(copy.expires_at, policy)}).")
    old, copy.expires_at = copy.expires_at, new
    req.extends_copy = number
    req.status = RequestStatus.COPIED
    record_action(session, "copy.extend", f"Przedłużono okres przechowywania kopii nr {number} "
                  f"do {kept_until(new, policy)} na wniosek nr {req.id}.",
                  actor, request_id=req.id, copy_id=copy.id, at=now)
    audit(session, actor, "copy.extend", f"copy {number}", {
        "request": req.id, "from": old.isoformat(), "to": new.isoformat()})
    session.flush()
    return copy
