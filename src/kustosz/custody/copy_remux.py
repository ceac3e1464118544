"""A camera's evidence file in a copy: its segments joined into one MP4 by ffmpeg (`-c copy`,
no re-encoding: the bytes of the picture are the recorder's), hashed while ffmpeg writes it.
Every segment is checked against the index's SHA-256 (a forged one refuses the copy).

An unbroken run of MPEG-TS segments (the common case: one camera's hour) goes to ffmpeg as one
stream on its stdin, read once here: each segment's bytes are hashed and checked as they are
handed on, so the bytes remuxed are the bytes checked, and ffmpeg does not probe each file
again (issue 68, export). Anything else — a gap in the index's times, a file taken in as MP4
or Matroska — is joined by the concat demuxer from the files, with the check in a thread
beside it, as before."""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from itertools import pairwise
from pathlib import Path
from typing import IO, Any

from kustosz.db.models import Recording
from kustosz.errors import KustoszError
from kustosz.ffmpeg import ffmpeg_exe
from kustosz.storage.base import check_content

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
        raise _failed(len(paths), out, stderr)
    return digest


def _failed(count: int, out: Path, stderr: str) -> KustoszError:
    return KustoszError(f"ffmpeg could not remux {count} segments into {out.name}: "
                        f"{stderr.strip()[-500:]}",
                        pl=f"Nie udało się połączyć nagrań w plik kopii {out.name} (błąd "
                           "programu ffmpeg; szczegóły w dzienniku serwera).")


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


# Two segments are one stream when the index has the second begin where the first ended:
# a session's segments chain exactly (the segment list's times). Where the index shows a gap (a
# segment missing, a new session), the concat demuxer joins them end to end as before; an
# ffmpeg reading one stream would keep the gap in the time line instead.
JOIN_S = 0.002


def one_stream(paths: list[Path], recordings: list[Recording]) -> bool:
    """Whether the segments can reach ffmpeg as one MPEG-TS stream (`_remux_piped`)."""
    if not paths or any(p.suffix != ".ts" for p in paths):
        return False
    for before, after in pairwise(recordings):
        end, start = getattr(before, "end_at", None), getattr(after, "start_at", None)
        if end is None or start is None or abs((start - end).total_seconds()) > JOIN_S:
            return False
    return True


def _remux_checked(paths: list[Path], recordings: list[Recording], out: Path) -> str:
    """The MP4 of the segments, each checked against the index's hash. A segment that is not
    the index's refuses the copy (`Tampered`), and its refusal wins over ffmpeg's error about
    the same bytes. Returns the MP4's SHA-256.

    One stream (`one_stream`): read once, checked as it is fed to ffmpeg (`_remux_piped`).
    Otherwise `remux` from the files, while another thread checks every segment (hashlib
    releases the GIL: on a second core, and the files are read ahead of ffmpeg)."""
    if one_stream(paths, recordings):
        return _remux_piped(paths, recordings, out)
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



def _remux_piped(paths: list[Path], recordings: list[Recording], out: Path) -> str:
    """The segments as one MPEG-TS stream on ffmpeg's stdin (`_feed`, at the caller's
    priority: ffmpeg waits on it), the MP4 hashed as it grows (at nice +HASH_NICE)."""
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(
                [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "mpegts",
                 "-i", "pipe:0", "-map", "0:v", "-an", "-sn", "-dn", "-c", "copy", "-f", "mp4",
                 "-movflags", MP4_FLAGS, f"pipe:{fd}"],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err, pass_fds=(fd,))
        finally:
            os.close(fd)
        assert proc.stdin is not None
        try:
            with ThreadPoolExecutor(2, thread_name_prefix="copy-feed") as pool:
                grown = pool.submit(_behind, _hash_growing, out, proc)
                try:
                    _feed(paths, recordings, proc.stdin)
                except BaseException:
                    proc.kill()  # the MP4's hashing ends with it
                    raise
                finally:
                    with suppress(OSError, ValueError):  # ffmpeg gone: its error is below
                        proc.stdin.close()
                digest: str = grown.result()
        except BaseException:
            proc.kill()
            proc.wait()
            out.unlink(missing_ok=True)
            raise
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    if proc.returncode != 0:
        out.unlink(missing_ok=True)
        raise _failed(len(paths), out, stderr)
    return digest


def _feed(paths: list[Path], recordings: list[Recording], pipe: IO[bytes]) -> None:
    """Each segment read once: hashed, handed to ffmpeg, then checked against the index. A
    pipe ffmpeg has closed (it failed on what it read) stops the handing on, not the checks:
    a segment that is not the index's is named (`Tampered`), whatever ffmpeg made of it."""
    view = memoryview(bytearray(READ_BYTES))
    open_pipe = True
    for path, rec in zip(paths, recordings, strict=True):
        digest = hashlib.sha256()
        with path.open("rb", buffering=0) as f:
            while n := f.readinto(view):
                digest.update(view[:n])
                if open_pipe:
                    try:
                        pipe.write(view[:n])
                    except (BrokenPipeError, ValueError):
                        open_pipe = False
        check_content(rec.storage_key, digest.hexdigest(), rec.sha256)
