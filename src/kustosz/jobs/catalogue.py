"""The kinds of background work Kustosz itself queues, registered when this module is imported
(by kustosz.jobs and by every attempt, so a worker on any node knows them all; tests add their
own through `kustosz.jobs.register`). Callers import a kind's object and queue through it:
``copy_make.defer(vault, started_by, request_id=7, by="anna", actor="anna")``. Each is named
after its kind ("copy.make": ``copy_make``); the name in quotes is stored with every job, so
it never changes (rows an older version queued still run)."""

from __future__ import annotations

from typing import Any

from kustosz.custody import copy_making
from kustosz.holds import object_lock
from kustosz.jobs.context import JobContext
from kustosz.jobs.kinds import Retry, register
from kustosz.masking import job


def make_copy(ctx: JobContext, request_id: int, by: str, actor: str,
              playable: bool | None = None) -> dict[str, Any]:
    """A request's copy (evidence bundle, custody.copies) made in the background (the request
    page, `POST /api/copies`, `kustosz copies make`)."""
    copy = copy_making.make_copy(ctx.vault, request_id, by=by, actor=actor,
                                 progress=ctx.progress, playable=playable)
    return {"number": copy.number, "request": copy.request_id, "state": str(copy.state),
            "expires_at": copy.expires_at.isoformat()}


def check_copy(vault: Any, request_id: int, by: str, actor: str,
               playable: bool | None = None) -> None:
    copy_making.check_copy(vault, request_id, by, actor)


# A copy whose making failed on a store that did not answer is tried again; one refused
# (the request not approved, copied already) is not: make_copy checks again each time.
copy_make = register("copy.make", make_copy, check=check_copy,
                     retry=Retry(attempts=3, first_s=30.0), title_pl="Sporządzanie kopii nagrań")


def legal_holds(ctx: JobContext, hold_id: int, on: bool) -> dict[str, Any]:
    """A hold's legal holds on the object store (holds.object_lock): set on every object it
    covers once it is placed, cleared where no other hold covers once it is released."""
    return object_lock.apply_legal_holds(ctx, hold_id, on)


# A store that did not answer is tried again; setting a legal hold twice is harmless.
hold_legal_holds = register("hold.legal_holds", legal_holds,
                            retry=Retry(attempts=5, first_s=10.0),
                            title_pl="Blokada prawna nagrań w magazynie obiektów")


# The arguments are masking.job's own, written out for the type checker and the check of
# names at defer time (tests/jobs/test_typed_jobs.py holds them equal).
def mask_period(ctx: JobContext, source: str, start: str, end: str,
                masks: list[Any] | None = None, keep: list[Any] | None = None,
                threshold: float = 0.2, every: int = 1) -> dict[str, Any]:
    """A camera's period masked into a file of the job's own (kustosz.masking.job)."""
    return job.run(ctx, source=source, start=start, end=end, masks=masks, keep=keep,
                   threshold=threshold, every=every)


def check_mask_period(vault: Any, source: str, start: str, end: str,
                      masks: list[Any] | None = None, keep: list[Any] | None = None,
                      threshold: float = 0.2, every: int = 1) -> None:
    job.check(vault, source=source, start=start, end=end, masks=masks, keep=keep,
              threshold=threshold, every=every)


# Bad input is refused again by each attempt; only a failure of the machine is worth another.
masking_period = register("masking.period", mask_period, check=check_mask_period,
                          retry=Retry(attempts=2, first_s=30.0),
                          title_pl="Maskowanie osób na nagraniu")
