"""One attempt at a job, the same wherever it runs (in the caller, in serve's threads, in a
procrastinate worker on any node): mark it running, do the work, record the result or the
failure, and say when to try again."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from kustosz.errors import InputError
from kustosz.jobs import catalogue, records
from kustosz.jobs.context import JobContext
from kustosz.jobs.kinds import check_json, kind_of

if TYPE_CHECKING:
    from kustosz.vault import Vault

log = logging.getLogger(__name__)
BUILT_IN = catalogue  # imported for its kinds: an attempt on any node knows them all


def attempt(vault: Vault, job_id: int, resume: bool = False,
            stale: timedelta | None = None) -> float | None:
    """Run the job's next attempt. Returns the seconds to wait before the next one when this
    one failed and the kind's policy retries it; None when the job is finished (done,
    failed for good, or not waiting for an attempt at all). ``resume``: also a job left
    running by a process that died, with ``stale`` only once its row is that old; a job still
    beating raises `records.StillRunning` (records.begin)."""
    begun = records.begin(vault, job_id, resume, stale)
    if begun is None:
        return None
    name, args, number = begun
    log.info("job %d (%s): attempt %d", job_id, name, number)
    try:
        kind = kind_of(name)  # a kind this program does not know: a node of another version
    except InputError as exc:
        records.failed(vault, job_id, exc, None)
        return None
    try:
        result = kind.run(JobContext(vault, job_id, number), **args)
        check_json({"result": result})
    except Exception as exc:
        delay = kind.retry.delay(number, exc)
        log.warning("job %d (%s): attempt %d failed%s", job_id, name, number,
                    f"; next in {delay:.0f} s" if delay is not None else "",
                    exc_info=not isinstance(exc, InputError))
        records.failed(vault, job_id, exc, delay)
        return delay
    records.done(vault, job_id, result)
    log.info("job %d (%s): done", job_id, name)
    return None
