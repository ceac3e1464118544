"""Child of test_day_sweep_kill: sweeps the vault as of the given time and SIGKILLs itself at
the given point of the day sweep's crash procedure (docs/design.md, "Retention as
partitions"): inside or after each step's transaction."""

from __future__ import annotations

import os
import signal
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from kustosz.retention import day_sweep, run_sweep
from kustosz.vault import Vault


def die(*_args: Any, **_kwargs: Any) -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def then_die(original: Any) -> Any:
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        original(*args, **kwargs)
        die()
    return wrapped


def main() -> None:
    root, now, point = Path(sys.argv[1]), datetime.fromisoformat(sys.argv[2]), sys.argv[3]
    if point == "inside_detach":  # detached and renamed, not committed
        day_sweep.drop_dependents = die  # type: ignore[assignment]
    elif point == "after_detach":  # step 1 committed
        day_sweep._finish_day = die  # type: ignore[assignment]
    elif point == "inside_record":  # the record written, not committed; unlinks under way
        day_sweep._record = then_die(day_sweep._record)  # type: ignore[assignment]
    elif point == "mid_unlink":  # half of the files gone
        keys = day_sweep._plain_keys

        def half(vault: Vault, name: str) -> Any:
            got = keys(vault, name)
            assert got is not None  # a local folder: removed by key alone
            vault.deleting_storage().delete_many(got[0][: len(got[0]) // 2])
            die()
        day_sweep._plain_keys = half  # type: ignore[assignment]
    elif point == "before_drop":  # steps 2 and 3 done
        day_sweep._drop = die  # type: ignore[assignment]
    elif point == "inside_drop":  # dropped and marked, not committed
        day_sweep._dropped = then_die(day_sweep._dropped)  # type: ignore[assignment]
    elif point == "after_drop":  # the day gone, the sweep not finished (no audit entry)
        day_sweep._drop = then_die(day_sweep._drop)  # type: ignore[assignment]
    else:
        raise SystemExit(f"unknown point {point}")
    vault = Vault.open(root)
    run_sweep(vault, now=now, detail=False)
    raise SystemExit("the sweep ended without reaching the point")


if __name__ == "__main__":
    main()
