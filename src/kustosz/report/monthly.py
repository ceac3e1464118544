"""serve makes last month's accountability report by itself (issue 53): from the 1st of each
month (the office's calendar) the month before is made as a job (progress on its job page),
once — a report on the shelf is not made again, also after a restart. A failure raises the
"report.failed" alert with its reason and is tried again every `RETRY`; the report made
clears it. The same job kind makes a chosen month from the reports page, and (``so_far``)
a draft of the running month.

serve only starts `run_monthly` in a thread; everything else lives here."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from kustosz import jobs
from kustosz.alert_rows import clear_rows, raise_row
from kustosz.db.jobs import JobState
from kustosz.db.outage import is_database_away
from kustosz.errors import KustoszError
from kustosz.jobs import records
from kustosz.report import build, period, store
from kustosz.states import AlertRow
from kustosz.vault import Vault
from kustosz.watchdog import progress_of

log = logging.getLogger(__name__)
RETRY = timedelta(hours=1)
TICK_S = 300.0
# A turn reads the shelf and a job row; making the report itself is the job's, not the loop's.
ALLOWANCE_S = 600.0


def _as_of(as_of: str | None) -> datetime:
    """The moment the month is judged over at: the caller's clock (serve's loop passes its
    own, so a test's clock holds), else now."""
    return datetime.fromisoformat(as_of) if as_of else datetime.now(UTC)


def make_report(ctx: jobs.JobContext, month: str, actor: str,
                as_of: str | None = None, so_far: bool = False) -> dict[str, Any]:
    """The job: the month's report on the shelf (a report already there is left as it is);
    ``so_far``: a draft of the running month as of the moment the job runs."""
    label = period.parse(month, None, None, ctx.vault.policy.timezone).label
    if so_far:
        out = store.make_draft(ctx.vault, label, actor, _as_of(as_of), progress=ctx.progress)
        return {"month": label, "made": True, "folder": str(out), "so_far": True}
    if store.exists(ctx.vault, label):
        return {"month": label, "made": False, "folder": str(store.folder_of(ctx.vault, label))}
    out = store.make(ctx.vault, label, actor, _as_of(as_of), progress=ctx.progress)
    return {"month": label, "made": True, "folder": str(out)}


def check_report(vault: Vault, month: str, actor: str, as_of: str | None = None,
                 so_far: bool = False) -> None:
    """Refused before anything is queued: a month not over, or before the vault existed;
    for a draft, a month not running."""
    tz = vault.policy.timezone
    p = period.parse(month, None, None, tz)
    if so_far:
        period.so_far(p, build.began(vault), _as_of(as_of), tz)
    else:
        period.check_within(p, build.began(vault), _as_of(as_of), tz)


report_accountability = jobs.register(
    "report.accountability", make_report, check=check_report,
    retry=jobs.Retry(attempts=2, first_s=60.0),
    title_pl="Sporządzanie sprawozdania z rozliczalności")


def last_month(now: datetime, vault: Vault) -> str:
    local = now.astimezone(vault.policy.timezone).date()
    before = date(local.year, local.month, 1) - timedelta(days=1)
    return f"{before:%Y-%m}"


def in_flight(vault: Vault, label: str) -> int | None:
    """The job making ``label``'s report that is queued or running: queued by this loop on
    another node before the scheduler's lease moved here (kustosz.cluster), or before a
    restart. Following it, rather than queuing a second, keeps one job per month."""
    for job_id in records.unfinished(vault):
        view = records.get(vault, job_id)
        if (view is not None and view.kind == report_accountability.name
                and view.args.get("month") == label and not view.args.get("so_far")):
            return job_id
    return None


@dataclass
class Monthly:
    """What the loop remembers between turns: the job it queued, and when one failed."""

    job: tuple[str, int] | None = None
    failed_at: dict[str, datetime] = field(default_factory=dict)

    def tick(self, vault: Vault, now: datetime) -> None:
        label = last_month(now, vault)
        if store.exists(vault, label):
            self._clear(vault, now)
            return
        began = build.began(vault)
        p = period.parse(label, None, None, vault.policy.timezone)
        if began is None or p.hi <= began:
            return  # the vault did not exist in that month: nothing to report
        if self.job is not None and self._follow(vault, now):
            return
        failed = self.failed_at.get(label)
        if failed is not None and now - failed < RETRY:
            return
        if self.job is None and (queued := in_flight(vault, label)) is not None:
            self.job = (label, queued)  # queued before this loop began (another node's)
            self._follow(vault, now)
            return
        try:
            job_id = report_accountability.defer(vault, jobs.SYSTEM, month=label,
                                                 actor=jobs.SYSTEM, as_of=now.isoformat())
        except KustoszError as exc:
            self._failed(vault, label, now, exc.pl or str(exc))
            return
        log.info("the accountability report of %s queued as job %d", label, job_id)
        self.job = (label, job_id)
        self._follow(vault, now)  # a runner in the caller has finished it already

    def _follow(self, vault: Vault, now: datetime) -> bool:
        """True while the queued job is still to finish."""
        assert self.job is not None
        label, job_id = self.job
        view = jobs.get(vault, job_id)
        if not view.finished:
            return True
        self.job = None
        if view.state == JobState.DONE:
            self.failed_at.pop(label, None)
            self._clear(vault, now)
        else:
            self._failed(vault, label, now, view.error_pl or view.error or "nieznana przyczyna")
        return False

    def _failed(self, vault: Vault, label: str, now: datetime, why: str) -> None:
        log.error("the accountability report of %s was not made: %s", label, why)
        self.failed_at[label] = now
        with vault.transaction() as s:
            raise_row(s, AlertRow.REPORT_FAILED,
                      f"Sprawozdanie z rozliczalności za {label} nie powstało. Przyczyna: "
                      f"{why} Kolejna próba za godzinę.", now)

    @staticmethod
    def _clear(vault: Vault, now: datetime) -> None:
        with vault.transaction() as s:
            clear_rows(s, AlertRow.REPORT_FAILED, now)


def run_monthly(vault: Vault, stop: threading.Event,
                clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
    """`kustosz serve`'s loop: last month's report, made once from the 1st on."""
    state = Monthly()
    for left in store.clean_leftovers(vault):
        log.warning("removed %s: a report's making was killed before it ended", left)
    progress = progress_of(vault).loop("report", ALLOWANCE_S)
    while not stop.is_set():
        progress.beat()
        try:
            state.tick(vault, clock())
        except Exception as exc:
            if is_database_away(exc):
                log.warning("the monthly report waits: the database is away (%s)",
                            type(exc).__name__)
            else:
                log.exception("the monthly report's turn failed; trying again")
        progress.wait(stop, TICK_S)
    progress.forget()
