"""tracemalloc snapshots of serve, for a soak (issue 48 item 16; bench/soak_memory.py).

Nothing happens unless ``KUSTOSZ_TRACEMALLOC_DIR`` names a folder: then tracemalloc starts
(25 frames) and a daemon thread dumps a snapshot there every ``KUSTOSZ_TRACEMALLOC_EVERY_S``
seconds (default 300), as ``snapshot-NNNN-SECONDS.pickle``. A folder inside the vault is
refused: diagnostics never write into the vault.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import tracemalloc
from pathlib import Path

from kustosz.fsutil import replace

log = logging.getLogger(__name__)

DIR_ENV = "KUSTOSZ_TRACEMALLOC_DIR"
EVERY_ENV = "KUSTOSZ_TRACEMALLOC_EVERY_S"
FRAMES = 25
DEFAULT_EVERY_S = 300.0


def start_from_env(vault_root: Path, env: dict[str, str] | None = None) -> threading.Thread | None:
    """Start tracing and the dumping thread if the variable is set; None (nothing done) if
    it is not, or if the folder is inside ``vault_root``."""
    values = os.environ if env is None else env
    raw = values.get(DIR_ENV, "").strip()
    if not raw:
        return None
    folder = Path(raw).resolve()
    if folder == vault_root.resolve() or vault_root.resolve() in folder.parents:
        log.warning("%s is inside the vault: no tracemalloc snapshots", DIR_ENV)
        return None
    every = float(values.get(EVERY_ENV) or DEFAULT_EVERY_S)
    folder.mkdir(parents=True, exist_ok=True)
    if not tracemalloc.is_tracing():
        tracemalloc.start(FRAMES)
    thread = threading.Thread(target=_dump_every, args=(folder, every), name="tracemalloc",
                              daemon=True)
    thread.start()
    log.info("tracemalloc: a snapshot every %.0f s into %s", every, folder)
    return thread


def dump(folder: Path, number: int, started: float) -> Path:
    """One snapshot, written under a temporary name and renamed (a reader sees whole files)."""
    path = folder / f"snapshot-{number:04d}-{time.monotonic() - started:07.0f}.pickle"
    part = path.with_suffix(".part")
    tracemalloc.take_snapshot().dump(str(part))
    replace(part, path)
    return path


def _dump_every(folder: Path, every: float) -> None:
    started = time.monotonic()
    number = 0
    while True:
        time.sleep(every)
        if not tracemalloc.is_tracing():  # stopped by someone else: nothing more to dump
            return
        try:
            dump(folder, number, started)
        except (OSError, RuntimeError):
            log.exception("tracemalloc: snapshot %d not written", number)
        number += 1
