"""The background job that masks a camera's period into a file (job kind "masking.period",
registered in kustosz.jobs.catalogue). The file is the job's own, in the data folder's
``masked/`` (0700), named by the job's number: the caller names no path, so a job cannot be
made to write anywhere else. Wiring it into a data subject's copy and the review step is
issue 17's next step."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kustosz.errors import InputError, NotFound
from kustosz.index.recordings import overlapping
from kustosz.index.sources import get_source
from kustosz.kinds import SourceKind
from kustosz.masking.period import mask_period
from kustosz.masking.regions import parse

if TYPE_CHECKING:
    from kustosz.jobs.context import JobContext
    from kustosz.masking.video import Options
    from kustosz.vault import Vault

FOLDER = "masked"
MAX_S = 4 * 3600  # one job masks at most this much (about real time: hours of work)


def _when(value: str, what: str, what_pl: str) -> datetime:
    try:
        at = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise InputError(f"the period's {what} is not a date and time ({value})",
                         pl=f"{what_pl} okresu nie jest datą i godziną („{value}”).") from None
    if at.tzinfo is None:
        raise InputError(f"the period's {what} needs a time zone ({value})",
                         pl=f"{what_pl} okresu musi mieć strefę czasową („{value}”).")
    return at


def _options(threshold: float, every: int) -> Options:
    from kustosz.masking.video import Options  # noqa: PLC0415 - see `check`

    opts = Options(threshold=threshold, every=every)
    opts.check()
    return opts


def check(vault: Vault, source: str, start: str, end: str, masks: list[Any] | None = None,
          keep: list[Any] | None = None, threshold: float = 0.2, every: int = 1) -> None:
    """What the job would refuse, refused before it is queued."""
    # The detector and the video libraries load with the first masking job a process runs or
    # checks, not with every page and command that names the job's kind (kustosz.jobs.catalogue).
    from kustosz.masking import detect  # noqa: PLC0415

    t0, t1 = _when(start, "start", "Początek"), _when(end, "end", "Koniec")
    detect.check_threshold(threshold)
    _options(threshold, every)
    parse(masks, "mask")
    parse(keep, "keep")
    if t1 <= t0:
        raise InputError("the period is empty or ends before it starts; nothing was queued",
                         pl="Okres jest pusty albo jego koniec poprzedza początek; niczego nie "
                            "zlecono.")
    if (t1 - t0).total_seconds() > MAX_S:
        raise InputError(f"one masking job takes at most {MAX_S // 3600} h of recording: "
                         "split the period; nothing was queued",
                         pl=f"Jedno zadanie maskowania obejmuje najwyżej {MAX_S // 3600} godz. "
                            "nagrań: podziel okres; niczego nie zlecono.")
    with vault.reading() as s:
        src = get_source(s, source)
        if src.kind != SourceKind.CAMERA:
            raise InputError(f"source {source} is not a camera; only video is masked",
                             pl=f"Źródło {source} nie jest kamerą; maskuje się tylko obraz.")
        if s.execute(overlapping(src, t0, t1).limit(1)).first() is None:
            raise NotFound(f"camera {source} has no stored recording in the period; nothing "
                           "was queued",
                           pl=f"Kamera {source} nie ma przechowywanych nagrań w tym okresie; "
                              "niczego nie zlecono.")


def run(ctx: JobContext, source: str, start: str, end: str, masks: list[Any] | None = None,
        keep: list[Any] | None = None, threshold: float = 0.2,
        every: int = 1) -> dict[str, Any]:
    vault = ctx.vault
    folder = vault.root / FOLDER
    folder.mkdir(mode=0o700, exist_ok=True)
    out = folder / f"job-{ctx.job_id}.mp4"
    out.unlink(missing_ok=True)  # an earlier attempt that died after finishing the file
    described = mask_period(vault, source, _when(start, "start", "Początek"),
                            _when(end, "end", "Koniec"), out, masks=masks, keep=keep,
                            options=_options(threshold, every), progress=ctx.progress,
                            max_s=MAX_S)
    out.chmod(0o600)
    return {"path": str(Path(FOLDER) / out.name), "description": described}
