"""What a recording in a phone spool tells of its call: from its sidecar, or from its FreePBX
file name paired with its call record (the waiting rows of Master.csv)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from kustosz.errors import KustoszError
from kustosz.ingest.phone.filenames import (
    AUDIO_EXTENSIONS,
    RecordingName,
    RecordingNameError,
    parse_recording_name,
    safe_relpath,
)
from kustosz.ingest.phone.records import CdrRow, pick_record
from kustosz.ingest.phone.sidecar import SIDECAR_SUFFIXES, read_sidecar, sidecar_for
from kustosz.ingest.phone.spool import audio_seconds
from kustosz.phones.settings import PhoneSettings


@dataclass
class Facts:
    rel: str
    seen: tuple[int, int]
    start: datetime
    end: datetime
    caller_raw: str
    callee_raw: str
    direction: str
    uniqueid: str
    disposition: str
    no_cdr: bool
    meta: dict[str, Any]


class Skip(KustoszError):
    pass


@dataclass
class Named:
    """What a FreePBX file name tells, before it is paired with its call record."""

    rel: str
    seen: tuple[int, int]
    name: RecordingName
    seconds: float | None


def parse(spool: Path, tz: ZoneInfo, rel: str, seen: tuple[int, int], *,
          checked: bool = False, folder: frozenset[str] | None = None
          ) -> Facts | Named | Unnamed:
    """What the file ``rel`` of the line's ``spool`` itself (and its sidecar) tells, its
    name's times read in the office's ``tz``; Skip when it is not a recording. ``checked``:
    the caller already refused unsafe paths (`unsafe_relpaths`, per batch); ``folder``: the
    names in the file's folder, listed once, where a sidecar is looked for instead of two
    stats per file. Only plain data in and out: it runs in a side process too
    (`facts_chunk`)."""
    if not checked:
        try:
            safe_relpath(spool, Path(rel))
        except KustoszError as exc:
            raise Skip(str(exc), pl=exc.pl) from None
    path = spool / rel
    sidecar = sidecar_for(path) if folder is None else _sidecar_in(path, folder)
    if sidecar is not None:
        try:
            sc = read_sidecar(sidecar)
            seconds = audio_seconds(path, path.suffix.lower().lstrip("."), seen[0])
        except KustoszError as exc:
            raise Skip(str(exc), pl=exc.pl) from None
        end = sc.end or (sc.start + timedelta(seconds=seconds or 0))
        return Facts(rel, seen, sc.start, end, sc.caller, sc.callee, sc.direction,
                      sc.call_id[:64], "", False, {"call_id": sc.call_id,
                                                   "extension": sc.extension,
                                                   "sidecar": sidecar.name})
    try:
        name = parse_recording_name(rel, tz=tz)
    except RecordingNameError as exc:
        return _unnamed(path, rel, seen, str(exc), exc.pl)
    try:
        return Named(rel, seen, name, audio_seconds(path, name.ext, seen[0]))
    except (KustoszError, OSError) as exc:
        raise Skip(str(exc), pl=exc.pl if isinstance(exc, KustoszError)
                   else f"Nie można odczytać pliku ({exc.strerror}).") from None


@dataclass
class Unnamed:
    """An audio file whose name is no form Kustosz knows: it is a recording only if a call
    record names it (its userfield, MixMonitor's argument)."""

    rel: str
    seen: tuple[int, int]
    seconds: float | None
    why: str


def _unnamed(path: Path, rel: str, seen: tuple[int, int], why: str, why_pl: str | None
             ) -> Unnamed:
    ext = path.suffix.lower().lstrip(".")
    if ext not in AUDIO_EXTENSIONS:
        raise Skip(why, pl=why_pl)
    try:
        return Unnamed(rel, seen, audio_seconds(path, ext, seen[0]), why)
    except (KustoszError, OSError):
        raise Skip(why, pl=why_pl) from None  # neither a known name nor audio: the name is the news


def named_by(k: Unnamed, rows: list[CdrRow]) -> Named | None:
    """The recording ``k`` as the call record naming it describes it (None if none does):
    answered at the record's answer time (else its start), its numbers the record's."""
    filename = Path(k.rel).name
    matched = pick_record(rows, filename, "", set())
    if matched is None:
        return None
    rec = matched[1]
    try:
        started = datetime.fromisoformat(rec.get("answer") or rec["start"]).astimezone(UTC)
    except (KeyError, TypeError, ValueError):
        return None
    name = RecordingName(type="cdr", dest=str(rec.get("dst") or ""),
                         src=str(rec.get("caller_number") or ""),
                         started_local=started.replace(tzinfo=None), started=started,
                         uniqueid=str(rec.get("uniqueid") or ""),
                         ext=Path(filename).suffix.lower().lstrip("."), direction="unknown")
    return Named(k.rel, k.seen, name, k.seconds)


def _sidecar_in(path: Path, folder: frozenset[str]) -> Path | None:
    """`sidecar_for` given the folder's names: only a name that is there is stat'ed."""
    for suffix in SIDECAR_SUFFIXES:
        if path.name + suffix in folder:
            candidate = path.with_name(path.name + suffix)
            if candidate.is_file():
                return candidate
    return None


def folder_names(folder: Path) -> frozenset[str] | None:
    """The names in a spool folder; None if it cannot be listed (then each file's sidecar is
    looked for by `sidecar_for`)."""
    try:
        return frozenset(os.listdir(folder))
    except OSError:
        return None


def paired(k: Named, rows: list[CdrRow], claimed: set[int], cfg: PhoneSettings,
            now: datetime) -> tuple[Facts | None, int | None]:
    """The call as its record (or, after the wait, its name alone) describes it; (None, None)
    while it should wait for its call record."""
    name, filename = k.name, k.rel.rpartition("/")[2]  # a look's path: "/"-joined names
    matched = pick_record(rows, filename, name.uniqueid, claimed, name)
    cdr_id, rec = matched if matched else (None, None)
    if rec is None:
        modified = datetime.fromtimestamp(k.seen[1] / 1e9, UTC)
        if now - modified < timedelta(seconds=cfg.no_cdr_wait_s):
            return None, None  # Asterisk logs the CDR at hang-up; give it time
    start = name.started
    if k.seconds is not None:
        end = start + timedelta(seconds=k.seconds)
    elif rec and rec.get("end"):
        end = max(start, datetime.fromisoformat(rec["end"]))
    else:
        end = start + timedelta(seconds=(rec or {}).get("billsec", 0))
    meta: dict[str, Any] = {"file": filename, "type": name.type, "uniqueid": name.uniqueid}
    if rec:
        meta.update({key: rec.get(key) for key in (
            "caller_name", "src", "dst", "dcontext", "channel", "dstchannel", "linkedid",
            "start", "answer", "end", "duration", "billsec", "accountcode")})
    caller = (rec or {}).get("caller_number") or name.src
    callee = (rec or {}).get("dst") or name.dest
    return Facts(k.rel, k.seen, start, end, caller, callee, name.direction, name.uniqueid,
                  (rec or {}).get("disposition", ""), rec is None, meta), cdr_id
