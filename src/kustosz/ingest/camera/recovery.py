"""Where the segments of a session nobody listed belong in time, decided once (issue 27 item 6).

When serve hangs or is killed, ffmpeg may have closed segments whose rows never reached the
list file (they were in the list's pipe). Their wall-clock times are reconstructed from
evidence that survives any number of interrupted recoveries, never from "the last segment
taken in this run":

- each file's own time stamps: the recorder runs ffmpeg with ``-reset_timestamps 0``, so a
  session's files share one time line, the list's plus a constant (ffmpeg's muxing delay,
  1.4 s by default), learnt where an unlisted file follows the last listed one (exactly: a
  row ends where the next segment's first picture is) or from a listed file still there;
- the session's ``anchor`` file (wall-clock time of stream time 0);
- without either, the files' mtimes: a file is closed when the next one's first packet
  arrives, so the smallest (mtime − end) over the session's files is the time line's
  anchor, as for listed segments;
- where the time line breaks (time stamps that do not follow on from the file before: a
  camera that restarted) or the file before is only in the index, the segment is chained
  to the end of the one before it — read from the index if that one is already stored.

Everything decided is written to ``recovery.json`` in the session folder (atomically) before
the first segment is taken, and a later run continues the same decisions: a recovery killed
anywhere and run again stores each segment at the same time, once. Each segment records how
its time was reconstructed and from what (``meta.time_reconstructed``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from kustosz.clock.watch import THRESHOLD_S
from kustosz.db.models import Recording
from kustosz.fsutil import write_atomic
from kustosz.ingest.camera.command import SEGMENT_GLOB
from kustosz.ingest.camera.segments import ListedSegment, SegmentFacts, inspect
from kustosz.states import RecordingState
from kustosz.vault import Vault

log = logging.getLogger(__name__)

PLAN_NAME = "recovery.json"
PLAN_VERSION = 1
PTS_WRAP_S = float(1 << 33) / 90000.0  # MPEG-TS time stamps: 33 bits of 90 kHz (26.5 h)
# Consecutive files whose time stamps step by more than this do not share a time line (a
# frame is at most a few tenths of a second at the slowest camera rates).
CONTINUOUS_S = 0.5


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def number_of(name: str) -> int | None:
    """The segment's number in its session (seg%08d.ts)."""
    digits = name.removeprefix("seg").removesuffix(".ts")
    return int(digits) if digits.isdigit() else None


@dataclass(frozen=True)
class Placed:
    """What recovery decided for one unlisted segment file."""

    name: str
    keep: bool
    why: str = ""  # a discarded file: why
    start: float = 0.0  # wall clock, epoch seconds
    end: float = 0.0
    pts: tuple[float, float] = (0.0, 0.0)  # its own time stamps, unwrapped: first, end
    codec: str = ""
    how: dict[str, Any] | None = None  # meta "time_reconstructed"
    stream: tuple[float, float] | None = None  # on the list's time line, where known

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Placed:
        return cls(d["name"], bool(d["keep"]), d.get("why", ""), float(d.get("start", 0.0)),
                   float(d.get("end", 0.0)), tuple(d.get("pts", (0.0, 0.0))),
                   d.get("codec", ""), d.get("how"),
                   tuple(d["stream"]) if d.get("stream") else None)


@dataclass(frozen=True)
class Known:
    """A segment whose wall-clock end is known: what an unlisted one may chain to."""

    name: str
    end: float
    pts_end: float | None  # its end in the files' own time stamps, if known
    source: str  # segment list | index | recovery plan


@dataclass(frozen=True)
class Stored:
    """A segment of the session already in the index (an earlier run took it)."""

    start: float
    end: float


def load_plan(folder: Path) -> dict[str, Placed]:
    path = folder / PLAN_NAME
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text("utf-8"))
        return {d["name"]: Placed.from_json(d) for d in data["segments"]}
    except (ValueError, KeyError, TypeError) as exc:  # written atomically: never half
        log.error("%s: unreadable recovery plan (%s); deciding again", folder.name, exc)
        return {}


def _save_plan(folder: Path, plan: Mapping[str, Placed]) -> None:
    body = {"version": PLAN_VERSION,
            "segments": [asdict(p) for p in sorted(plan.values(), key=order)]}
    write_atomic(folder / PLAN_NAME, json.dumps(body, indent=1, sort_keys=True))


def order(p: Placed) -> tuple[int, str]:
    return number_of(p.name) or 0, p.name


def _near(x: float, ref: float | None) -> float:
    """``x`` moved by whole wraps of the 33-bit time stamps to the one nearest ``ref``."""
    if ref is None:
        return x
    return x + PTS_WRAP_S * round((ref - x) / PTS_WRAP_S)


@dataclass
class _File:
    path: Path
    number: int
    facts: SegmentFacts
    mtime: float
    lo: float = 0.0  # unwrapped time stamps
    hi: float = 0.0


def plan_unlisted(folder: Path, listed: list[ListedSegment], anchor: float | None,
                  indexed: Mapping[str, Stored],
                  stop: Callable[[], bool] = lambda: False) -> dict[str, Placed] | None:
    """The decisions for every unlisted segment file in ``folder``: those of the plan an
    earlier run wrote, and new ones for files it did not cover (written to the plan before
    anything is taken). ``anchor``: the session's anchor as taking the listed segments will
    leave it. None if ``stop`` asked to stop meanwhile (nothing decided is lost)."""
    plan = load_plan(folder)
    names = {seg.name for seg in listed}
    todo = sorted((p for p in folder.glob(SEGMENT_GLOB)
                   if p.name not in names and p.name not in plan
                   and number_of(p.name) is not None), key=lambda p: number_of(p.name) or 0)
    if not todo:
        return plan
    files: list[_File] = []
    for path in todo:
        if stop():
            return None
        facts = inspect(path)
        if facts is not None and facts.has_audio:  # R1.3: never kept with sound
            plan[path.name] = Placed(path.name, False, "it holds sound")
        elif facts is None or facts.duration <= 0:
            plan[path.name] = Placed(path.name, False, "it holds no readable video")
        else:
            files.append(_File(path, number_of(path.name) or 0, facts, path.stat().st_mtime))
    offset, offset_from = _pts_offset(folder, listed, files, stop)
    _decide(files, listed, anchor, offset, offset_from, indexed, plan)
    _save_plan(folder, plan)
    return plan


def _pts_offset(folder: Path, listed: list[ListedSegment], files: list[_File],
                stop: Callable[[], bool]) -> tuple[float | None, str]:
    """The files' time stamps minus the list's time line, and where it was learnt."""
    if listed and files:
        last = listed[-1]
        first = files[0]
        if number_of(last.name) is not None and first.number == (number_of(last.name) or 0) + 1:
            return (first.facts.first_pts - last.end,
                    f"{first.path.name} follows the listed {last.name} (ends at {last.end:.6f})")
    for seg in listed:
        # the first row of a session starts at 0 before its first picture: not that one
        if not number_of(seg.name) or not (folder / seg.name).is_file() or stop():
            continue
        facts = inspect(folder / seg.name)
        if facts is not None and facts.duration > 0:
            return (facts.first_pts - seg.start,
                    f"{seg.name} is listed from {seg.start:.6f}")
    return None, ""


def _decide(files: list[_File], listed: list[ListedSegment], anchor: float | None,
            offset: float | None, offset_from: str, indexed: Mapping[str, Stored],
            plan: dict[str, Placed]) -> None:
    rows = {seg.name: seg for seg in listed}
    # wall clock = base + a file's own time stamp, with what it rests on
    base: float | None = None
    basis: dict[str, Any] = {}
    if anchor is not None and offset is not None:
        base = anchor - offset
        basis = {"from": "stream time",
                 "evidence": {"anchor": iso(anchor), "pts_offset": round(offset, 6),
                              "pts_offset_from": offset_from}}
    prev: Known | None = None
    for i, f in enumerate(files):
        pred = _predecessor(f, prev, rows, anchor, offset, indexed, plan)
        ref = pred.pts_end if pred is not None and pred.pts_end is not None else \
            (f.mtime - f.facts.duration - base if base is not None else None)
        f.lo = _near(f.facts.first_pts, ref)
        f.hi = f.lo + f.facts.duration
        follows = pred is None or pred.pts_end is None or abs(f.lo - pred.pts_end) <= \
            CONTINUOUS_S
        extra = {"first_pts": round(f.facts.first_pts, 6), "duration": round(f.facts.duration, 6),
                 "file_mtime": iso(f.mtime)}
        if base is not None and follows:
            how = {"from": basis["from"], "evidence": {**basis["evidence"], **extra}}
        elif pred is not None:
            base = pred.end - f.lo
            how = {"from": f"chained to {pred.name}",
                   "evidence": {"previous_end": iso(pred.end), "previous_end_from": pred.source,
                                **extra}}
            basis = {"from": f"stream time after {f.path.name}",
                     "evidence": {"chained_to": pred.name, "previous_end": iso(pred.end),
                                  "previous_end_from": pred.source}}
        else:
            # the smallest (mtime − end) over this file and those on its time line after it
            run = [f]
            for g in files[i + 1:]:
                g_lo = _near(g.facts.first_pts, run[-1].hi)
                if g.number != run[-1].number + 1 or abs(g_lo - run[-1].hi) > CONTINUOUS_S:
                    break
                g.lo, g.hi = g_lo, g_lo + g.facts.duration
                run.append(g)
            by = min(run, key=lambda g: g.mtime - g.hi)
            base = by.mtime - by.hi
            basis = {"from": "file mtime",
                     "evidence": {"time_line_from": by.path.name, "its_mtime": iso(by.mtime),
                                  "its_pts_end": round(by.hi, 6)}}
            how = {"from": basis["from"], "evidence": {**basis["evidence"], **extra}}
        start, end = base + f.lo, base + f.hi
        stream = (f.lo - offset, f.hi - offset) if offset is not None and \
            basis["from"] == "stream time" else None
        plan[f.path.name] = Placed(f.path.name, True, "", start, end, (f.lo, f.hi),
                                   f.facts.codec, how, stream)
        prev = Known(f.path.name, end, f.hi, "recovery plan")


def _predecessor(f: _File, prev: Known | None, rows: Mapping[str, ListedSegment],
                 anchor: float | None, offset: float | None, indexed: Mapping[str, Stored],
                 plan: Mapping[str, Placed]) -> Known | None:
    """The segment just before ``f`` in its session, where its end is known."""
    name = f"seg{f.number - 1:08d}.ts"
    if f.number == 0:
        return None
    if prev is not None and prev.name == name:
        return prev
    done = plan.get(name)
    if done is not None and done.keep:
        return Known(name, done.end, done.pts[1], "recovery plan")
    row = rows.get(name)
    if row is not None and anchor is not None:
        return Known(name, anchor + row.end, row.end + offset if offset is not None else None,
                     "segment list")
    stored = indexed.get(name)
    if stored is not None:
        return Known(name, stored.end, None, "index")
    return None


def drop_plan(folder: Path) -> None:
    (folder / PLAN_NAME).unlink(missing_ok=True)


def indexed(vault: Vault, source_id: int, session: str) -> dict[str, Stored]:
    """The session's segments an earlier run already indexed, by name."""
    with vault.reading() as s:
        rows = s.execute(select(Recording.start_at, Recording.end_at, Recording.meta).where(
            Recording.source_id == source_id, Recording.session == session,
            Recording.state != RecordingState.DELETING)).all()
    return {str(meta["segment"]): Stored(start.timestamp(), end.timestamp())
            for start, end, meta in rows if isinstance(meta, dict) and meta.get("segment")}


def _overlapping(vault: Vault, source_id: int, start: datetime, end: datetime
                 ) -> list[Any]:
    with vault.reading() as s:
        return list(s.execute(select(Recording.id, Recording.start_at, Recording.end_at).where(
            Recording.source_id == source_id, Recording.state != RecordingState.DELETING,
            Recording.start_at < end, Recording.end_at > start)).all())


def clear_of_stored(vault: Vault, source_id: int, session: str, name: str, start: datetime,
                    end: datetime) -> tuple[datetime, datetime, dict[str, Any] | None]:
    """Recovery never stores a segment over seconds of the camera already stored. An overlap
    at its start shorter than the clock threshold (anchors a few ms apart: an earlier run
    stamped the segment before) is clipped, as `Session.take` does within a run; any other
    contradicts the evidence: the segment is placed after what is stored (never lost, never
    doubled) and says so (the third value: its ``time_reconstructed``)."""
    clash = _overlapping(vault, source_id, start, end)
    if not clash:
        return start, end, None
    last = max(r.end_at for r in clash)
    if all(r.start_at <= start for r in clash) and last - start < timedelta(seconds=THRESHOLD_S):
        return last, max(end, last), None
    span, ids = end - start, sorted(r.id for r in clash)
    moved = last
    for _ in range(1000):  # after whatever is stored there too
        later = _overlapping(vault, source_id, moved, moved + span)
        if not later:
            break
        ids += sorted(r.id for r in later)
        moved = max(r.end_at for r in later)
    log.error("session %s: %s would be stored over recording(s) %s of the camera (%s to %s); "
              "stored after them, from %s, marked as moved", session, name, ids,
              start.isoformat(), end.isoformat(), moved.isoformat())
    return moved, moved + span, {"from": f"moved after stored recording(s) {ids}",
                                 "evidence": {"derived_start": start.isoformat(),
                                              "derived_end": end.isoformat(),
                                              "overlapped": ids}}
