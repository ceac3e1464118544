"""The media files of a copy's bundle, written from its media set (`copy_material`): each
camera's MP4 (`copy_remux`), a data subject's masked video instead (masking engine), an
authority's playable file beside it (playable.py), calls byte for byte, mail and IT events as
their chunks (`chunk_copies`); each with its manifest entry."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from kustosz import playable
from kustosz.custody import copy_progress, subject_review
from kustosz.custody.chunk_copies import CHUNK_KINDS, build_chunk_media
from kustosz.custody.copy_material import Group
from kustosz.custody.copy_progress import Report
from kustosz.custody.copy_remux import _remux_checked
from kustosz.db.models import Recording
from kustosz.kinds import SourceKind
from kustosz.masking import job as masking_job
from kustosz.masking.period import mask_period
from kustosz.masking.progress import PROGRESS_NOTE as MASKING_NOTE
from kustosz.storage import copy_out
from kustosz.vault import Vault


def build_media(vault: Vault, groups: list[Group], work: Path,
                window: tuple[datetime, datetime, str | None],
                progress: Report | None = None,
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
            regions: list[dict[str, Any]] | None, progress: Report | None, done: int,
            total: int, span: tuple[float, float] = (0.0, 1.0)) -> dict[str, Any]:
    """A data subject's camera (R6.2): the period masked by the engine (faces, the manual
    masks, the requester's boxes spared) into ``out``; the description for the manifest."""
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


def regions_from(regions: list[dict[str, Any]], shift_s: float, length_s: float
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
