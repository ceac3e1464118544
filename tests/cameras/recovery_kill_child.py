"""Child of test_recovery_idempotent: what `kustosz recover` does for one camera (pending
intakes, then the spool), SIGKILLed at the given point: the k-th time it gets there.

Points: ``inspect`` (before reading the k-th unlisted segment, while recovery decides),
``adopt_before`` / ``adopt_after`` (around the k-th segment taken in), ``after_insert`` (the
k-th segment's row written pending, nothing renamed), ``after_renames`` (renamed and flushed,
not marked stored), ``none`` (run to the end). ``term``: SIGTERM sets the stop event recovery
is given, and the child says "taking" on stdout before the first segment is taken."""

from __future__ import annotations

import importlib
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kustosz.ingest.camera import index_batch, spool
from kustosz.ingest.camera.spool import settle_leftovers
from kustosz.ingest.files import recover_pending
from kustosz.vault import Vault


def die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def counting(fn: Callable[..., Any], k: int, before: bool) -> Callable[..., Any]:
    calls = [0]

    def wrapped(*args: Any, **kw: Any) -> Any:
        calls[0] += 1
        if before and calls[0] == k:
            die()
        out = fn(*args, **kw)
        if not before and calls[0] == k:
            die()
        return out
    return wrapped


def main() -> None:
    root, spool_dir, source_id, point, k = (Path(sys.argv[1]), Path(sys.argv[2]),
                                            int(sys.argv[3]), sys.argv[4], int(sys.argv[5]))
    vault = Vault.open(root)
    cls = index_batch.SegmentIndex
    if point == "inspect":
        # wherever recovery reads what an unlisted segment holds
        for name in ("kustosz.ingest.camera.spool", "kustosz.ingest.camera.recovery"):
            try:
                mod = importlib.import_module(name)
            except ImportError:
                continue
            if hasattr(mod, "inspect"):
                mod.inspect = counting(mod.inspect, k, before=True)  # type: ignore[attr-defined]
    elif point in ("adopt_before", "adopt_after"):
        spool.adopt_segment = counting(spool.adopt_segment, k,  # type: ignore[attr-defined]
                                       before=point == "adopt_before")
    elif point == "after_insert":
        cls._insert = counting(cls._insert, k, before=False)  # type: ignore[method-assign]
    elif point == "after_renames":
        cls._put_all = counting(cls._put_all, k, before=False)  # type: ignore[method-assign]
    stop = threading.Event()
    kw: dict[str, Any] = {}
    if point == "term":
        signal.signal(signal.SIGTERM, lambda *_a: stop.set())
        adopt = spool.adopt_segment
        said = [False]

        def announced(*args: Any, **kwargs: Any) -> Any:
            if not said[0]:
                said[0] = True
                print("taking", flush=True)
            return adopt(*args, **kwargs)
        spool.adopt_segment = announced  # type: ignore[attr-defined]
        kw["stop"] = stop
    recover_pending(vault)
    taken = settle_leftovers(vault, spool_dir, source_id, **kw)
    vault.close()
    print(f"finished: {taken} taken, stopped={stop.is_set()}", flush=True)


if __name__ == "__main__":
    main()
