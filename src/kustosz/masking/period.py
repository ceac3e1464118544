"""Masking a camera's stored period: the segments the index lists for it, each lent by the
storage as a local file at the index's version and checked against the index's SHA-256
before it is read (as copies read them)."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kustosz.errors import InputError, NotFound
from kustosz.fsutil import file_sha256
from kustosz.index.recordings import overlapping
from kustosz.index.sources import get_source
from kustosz.kinds import SourceKind
from kustosz.masking.progress import Progress
from kustosz.storage.base import check_content

if TYPE_CHECKING:
    from kustosz.masking.video import Options
    from kustosz.vault import Vault


def mask_period(vault: Vault, source: str, start: datetime, end: datetime, out: Path, *,
                masks: list[Any] | None = None, keep: list[Any] | None = None,
                options: Options | None = None, progress: Progress | None = None,
                max_s: float | None = None) -> dict[str, Any]:
    """Mask camera ``source`` from ``start`` to ``end`` into ``out``; the description for
    the manifest (`mask_video`'s, plus the source and period). Rectangle times are seconds
    from ``start``. ``max_s``: the longest period one job may take (None: no limit)."""
    # The detector and the video libraries load when a period is masked, not with every
    # module that can start a masking (a copy's job, the pages).
    from kustosz.masking.video import Segment, mask_video  # noqa: PLC0415

    if start.tzinfo is None or end.tzinfo is None:
        raise InputError("the period's start and end need a time zone",
                         pl="Początek i koniec okresu muszą mieć strefę czasową.")
    length = (end - start).total_seconds()
    if length <= 0:
        raise InputError(f"the period {start.isoformat()} – {end.isoformat()} is empty or "
                         "negative; nothing was masked",
                         pl="Okres jest pusty albo jego koniec poprzedza początek; niczego "
                            "nie zamaskowano.")
    if max_s is not None and length > max_s:
        raise InputError(f"the period is {length / 60:.0f} min long; one masking job takes at "
                         f"most {max_s / 60:.0f} min: split it",
                         pl=f"Okres trwa {length / 60:.0f} min, a jedno zadanie maskowania "
                            f"obejmuje najwyżej {max_s / 60:.0f} min: podziel go.")
    with vault.reading() as s:
        src = get_source(s, source)
        if src.kind != SourceKind.CAMERA:
            raise InputError(f"source {source} is not a camera; only video is masked",
                             pl=f"Źródło {source} nie jest kamerą; maskuje się tylko obraz.")
        # a segment that only touches the period (ends as it begins) holds none of it
        recs = [r for r in s.execute(overlapping(src, start, end)).scalars()
                if r.start_at < end and r.end_at > start]
        s.expunge_all()
    if not recs:
        raise NotFound(f"camera {source} has no stored recording between {start.isoformat()} "
                       f"and {end.isoformat()}; nothing was masked",
                       pl=f"Kamera {source} nie ma przechowywanych nagrań w tym okresie; "
                          "niczego nie zamaskowano.")
    with ExitStack() as lent:
        segments = []
        for rec in recs:
            path = lent.enter_context(vault.storage.local_path(rec.storage_key,
                                                               version=rec.version_id))
            check_content(rec.storage_key, file_sha256(path), rec.sha256)
            segments.append(Segment(path, (rec.start_at - start).total_seconds(),
                                    name=rec.storage_key,
                                    length_s=(rec.end_at - rec.start_at).total_seconds()))
        tz = vault.policy.timezone
        described = mask_video(segments, out, masks=masks, keep=keep, options=options,
                               duration_s=length, progress=progress, clock=(start, tz))
    return {"source": source, "from": start.astimezone(tz).isoformat(),
            "to": end.astimezone(tz).isoformat(),
            "recording_ids": [r.id for r in recs], **described}
