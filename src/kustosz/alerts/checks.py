"""The periodic checks that raise (and clear) alert rows nothing else raises: a recorder
restarting in a loop, the disk forecast below `[alerts] forecast_days`, a sweep that failed
or is late, the daily `audit verify`, the HTTPS certificate close to its end — and the
refusals' hours that ended are closed with their audit entry.

`serve`'s notifier runs `Checks.run` every `EVERY_S`; the retention scheduler reports each
sweep through `note_sweep`, and `kustosz audit verify` its verdict through `note_verify`.
Each kind has at most one open row (per camera for the restart loop); a row clears itself
when the check passes again, and the notifier sends the start and the all-clear.

What the checks remember (the last good sweep, the last verification) is in the
`vault_settings` row `alerts.checks` (JSON; no migration).
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from kustosz.alert_rows import (
    CHECKS_STATE_KEY,
    checks_state,
    clear_rows,
    raise_row,
    save_checks_state,
)
from kustosz.audit import witness as witness_log
from kustosz.audit.polish import problem_pl
from kustosz.audit.verifier import ever_written, vault_report
from kustosz.db.cameras import Gap
from kustosz.db.models import Alert, AuditEntry, Source
from kustosz.db.settings import put_setting
from kustosz.index.forecast import forecast
from kustosz.ingest.refusals import flush as flush_refusals
from kustosz.maintenance import files_check
from kustosz.maintenance.store_check import run_check
from kustosz.retention.sweep_alert import note_sweep as note_sweep  # the sweep's word
from kustosz.states import AlertRow
from kustosz.vault import Vault
from kustosz.words import count_pl

log = logging.getLogger(__name__)
STATE_KEY = CHECKS_STATE_KEY  # the checks' settings row
EVERY_S = 60.0
# A recorder that lost its stream this many times within the window is in a loop: a camera
# that stays down is one gap (camera_down says so), a loop is many short ones.
RESTARTS = 4
RESTART_WINDOW = timedelta(minutes=15)
CERT_DAYS = 30
VERIFY_EVERY = timedelta(days=1)
LATE_FACTOR = 2  # no good sweep within this many intervals: late

RECORDER_RESTARTING, DISK_FORECAST = AlertRow.RECORDER_RESTARTING, AlertRow.DISK_FORECAST
SWEEP_FAILED, SWEEP_LATE = AlertRow.SWEEP_FAILED, AlertRow.SWEEP_LATE
AUDIT_VERIFY_FAILED, CERT_EXPIRING = AlertRow.AUDIT_VERIFY_FAILED, AlertRow.CERT_EXPIRING


LAST_VERIFY_KEY = "audit_last_verify"  # the one "last verified" the dashboard shows


def note_verify(vault: Vault, problems: list[str], now: datetime | None = None,
                by: str = "schedule", entries: int | None = None, how: str | None = None,
                pending: Path | None = None) -> None:
    """The verdict of an audit verification, whoever made it (`serve`'s daily one,
    `kustosz audit verify`, the dashboard's button: ``how`` "schedule" | "cli" | "web"):
    the dashboard's "last verified" row, and problems raise `audit_verify_failed`, none
    clears it. ``problems`` are the verifier's English words (kept for the dashboard's
    technical details); the alert says them in Polish (kustosz.audit.polish). ``pending``:
    the witness was not written yet and the log was checked without it — the daily check
    comes again as soon as it is (`Checks.verify_if_due`)."""

    now = now or datetime.now(UTC)
    how = how or ("schedule" if by == "schedule" else "cli")
    with vault.transaction() as s:
        state = checks_state(s)
        state["verified_at"], state["verify_ok"] = now.isoformat(), not problems
        state["witness_pending"] = str(pending) if pending is not None else None
        save_checks_state(s, state)
        if entries is None:
            entries = s.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
        put_setting(s, LAST_VERIFY_KEY, json.dumps({
            "at": now.isoformat(), "entries": entries, "by": by, "how": how,
            "problem": "; ".join(problems) if problems else None}, ensure_ascii=False))
        if problems:
            said = [problem_pl(p) for p in problems]
            shown = "; ".join(said[:3]) + (f" i {len(said) - 3} innych"
                                           if len(said) > 3 else "")
            raise_row(s, AUDIT_VERIFY_FAILED, "Sprawdzenie dziennika zdarzeń (audit verify, "
                      f"{'zaplanowane' if how == 'schedule' else 'uruchomione ręcznie'}) "
                      f"wykazało naruszenie: {shown}. Zabezpiecz kopię bazy danych i "
                      "pliku-świadka i powiadom inspektora ochrony danych.", now)
        else:
            clear_rows(s, AUDIT_VERIFY_FAILED, now)


def verify_now(vault: Vault, now: datetime | None = None) -> list[str]:
    """Run `audit verify` as the command does with no options — the witness and key pinned by
    root, else the configured ones; a witness not written yet waited for, not a violation
    (kustosz.audit.verifier.vault_report) — and record it."""

    with vault.reading() as s:
        report = vault_report(s, vault.head_file)
    problems = [str(p) for p in report.problems]
    for problem in problems:  # the English words, for the log; the alert says them in Polish
        log.warning("audit verify: %s", problem)
    if report.pending is not None:
        log.info("audit verify: the witness %s is not written yet (the first checkpoint "
                 "writes it); the log was checked without it", report.pending)
    note_verify(vault, problems, now, entries=report.entries, pending=report.pending)
    return problems


witness_log.on_cut(verify_now)  # a witness found cut is verified at once


def _pending_written(vault: Vault, state: dict[str, Any]) -> bool:
    """The verification ran before the witness was first written, and it is written now."""

    pending = state.get("witness_pending")
    if not pending:
        return False
    with vault.reading() as s:
        return ever_written(s, Path(pending))


# -- the periodic checks ------------------------------------------------------------------
class Checks:
    """``cert_not_after``: the end of the certificate `serve` serves (None: plain HTTP)."""

    def __init__(self, vault: Vault, forecast_days: int = 14,
                 cert_not_after: datetime | None = None, cert_path: str | None = None,
                 started: datetime | None = None) -> None:
        self.vault = vault
        self.forecast_days = forecast_days
        self.cert_not_after, self.cert_path = cert_not_after, cert_path
        self.started = started or datetime.now(UTC)
        self._verifying: threading.Thread | None = None
        self._checking: threading.Thread | None = None  # storage_if_due's

    def run(self, now: datetime | None = None, verify_in_thread: bool = True) -> None:
        now = now or datetime.now(UTC)
        for check in (self.restarts, self.forecast, self.sweep_late, self.certificate,
                      self.refusals):
            try:
                check(now)
            except Exception:  # one broken check must not silence the others
                log.exception("alert check %s failed", check.__name__)
        try:
            self.verify_if_due(now, verify_in_thread)
        except Exception:
            log.exception("the scheduled audit verification failed to run")
        try:
            self.storage_if_due(now, verify_in_thread)
        except Exception:
            log.exception("the scheduled bucket-vs-index check failed to run")

    def refusals(self, now: datetime) -> None:
        # what refusals fold in memory written, and each ended hour's audit entry — also for
        # a key no refusal came to since (kustosz.ingest.refusals)
        flush_refusals(self.vault, now)

    def restarts(self, now: datetime) -> None:
        since = now - RESTART_WINDOW
        with self.vault.transaction() as s:
            counts = dict(s.execute(
                select(Gap.source_id, func.count()).where(
                    Gap.start_at >= since, Gap.start_at <= now,
                    # none is the recorder restarting while serve runs: a pause of the
                    # stream, a step of the server's clock, serve itself stopped (an
                    # administrator restarting the service is not a camera in trouble), a
                    # full disk (its own alert)
                    Gap.cause.not_in(("stream_stall", "clock_jump", "recorder_not_running",
                                      "disk_full")))
                .group_by(Gap.source_id)).all())
            names = dict(s.execute(select(Source.id, Source.name)).all())
            open_rows = {r.source_id for r in s.execute(select(Alert).where(
                Alert.kind == RECORDER_RESTARTING, Alert.cleared_at.is_(None))).scalars()}
            for source_id, n in counts.items():
                if n >= RESTARTS:
                    minutes = int(RESTART_WINDOW.total_seconds() // 60)
                    raise_row(s, RECORDER_RESTARTING, (
                        f"Rejestrator kamery {names.get(source_id, source_id)} uruchamia się "
                        f"ponownie w pętli: {count_pl(n, 'przerwa', 'przerwy', 'przerw')} w "
                        f"nagraniu w ciągu ostatnich {minutes} minut. Sprawdź kamerę, jej "
                        "zasilanie i sieć."), now, source_id)
            for source_id in open_rows:
                if source_id is not None and counts.get(source_id, 0) == 0:
                    clear_rows(s, RECORDER_RESTARTING, now, source_id)

    def forecast(self, now: datetime) -> None:
        disk = self.vault.storage
        if self.vault.config.s3 is not None:
            # Stored material grows the bucket, not this disk; what fills this disk (the
            # spool waiting for the store) has spool_over_limit (kustosz.ingest.upload_queue).
            with self.vault.transaction() as s:
                clear_rows(s, DISK_FORECAST, now)
            return
        with self.vault.transaction() as s:
            fc = forecast(s, disk.free_bytes(), disk.total_bytes(), now)
            days = fc.days_left
            if days is not None and days < self.forecast_days:
                raise_row(s, DISK_FORECAST, (
                    f"Według prognozy wolnego miejsca na dysku {fc.lasts_pl} — mniej niż "
                    f"próg {count_pl(self.forecast_days, 'dzień', 'dni', 'dni')}. Powiększ "
                    "dysk albo sprawdź okresy przechowywania."), now)
            else:
                clear_rows(s, DISK_FORECAST, now)

    def sweep_late(self, now: datetime) -> None:
        interval = timedelta(minutes=self.vault.config.sweep_interval_minutes)
        with self.vault.transaction() as s:
            state = checks_state(s)
            last = max(self.started, datetime.fromisoformat(state["sweep_ok"])) \
                if state.get("sweep_ok") else self.started
            if now - last > LATE_FACTOR * interval:
                when = last.astimezone(self.vault.policy.timezone).strftime("%d.%m.%Y %H:%M")
                every = count_pl(round(interval.total_seconds() / 60), "minutę", "minuty",
                                 "minut")
                raise_row(s, SWEEP_LATE, "Usuwanie nagrań po upływie okresu przechowywania "
                          f"nie zakończyło się powodzeniem od {when} (powinno co {every}). "
                          "Nagrania po terminie mogą być przechowywane zbyt długo.", now)
            elif state.get("sweep_ok"):
                clear_rows(s, SWEEP_LATE, now)

    def certificate(self, now: datetime) -> None:
        if self.cert_not_after is None:
            return
        left = self.cert_not_after - now
        with self.vault.transaction() as s:
            if left <= timedelta(days=CERT_DAYS):
                until = self.cert_not_after.astimezone(self.vault.policy.timezone)
                days = max(0, left.days)
                within = "dziś" if days == 0 else "za " + count_pl(days, "dzień", "dni", "dni")
                named = f" {self.cert_path}" if self.cert_path else ""
                raise_row(s, CERT_EXPIRING, (
                    f"Certyfikat HTTPS{named} wygasa {until:%d.%m.%Y %H:%M} ({within}). "
                    "Odnów go i uruchom usługę ponownie; po wygaśnięciu przeglądarki nie "
                    "otworzą Kustosza."), now)
            else:
                clear_rows(s, CERT_EXPIRING, now)

    def storage_if_due(self, now: datetime, in_thread: bool = True) -> None:
        """The store compared with the index every [storage] check_hours: the bucket
        (kustosz.maintenance.store_check) or the local media folder, every file hashed again
        (kustosz.maintenance.files_check); each its own alert and audit entry; here only
        when it is due."""
        s3 = self.vault.config.s3
        hours = s3.check_hours if s3 is not None else self.vault.config.files_check_hours
        if hours <= 0:
            return
        with self.vault.reading() as s:
            last = checks_state(s).get("storage_checked_at")
        if last and now - datetime.fromisoformat(last) < timedelta(hours=hours):
            return
        if self._checking is not None and self._checking.is_alive():
            return
        with self.vault.transaction() as s:  # claimed first: one run per interval
            state = checks_state(s)
            state["storage_checked_at"] = now.isoformat()
            save_checks_state(s, state)

        def run() -> None:
            try:
                if s3 is not None:
                    run_check(self.vault)
                else:
                    if in_thread:
                        files_check.behind()  # this thread only: the recorders go first
                    files_check.run_files_check(self.vault)
            except Exception:
                log.exception("the scheduled store-vs-index check failed")

        if not in_thread:
            run()
            return
        # A big bucket takes a while to list, a folder to read: the notifier goes on meanwhile.
        self._checking = threading.Thread(target=run, name="storage-check", daemon=True)
        self._checking.start()

    def verify_if_due(self, now: datetime, in_thread: bool = True) -> None:
        with self.vault.reading() as s:
            state = checks_state(s)
        last = state.get("verified_at")
        # Checked before the first checkpoint wrote the witness (the first start with one):
        # again as soon as it is written, not a day later.
        if last and now - datetime.fromisoformat(last) < VERIFY_EVERY \
                and not _pending_written(self.vault, state):
            return
        if self._verifying is not None and self._verifying.is_alive():
            return
        if not in_thread:
            verify_now(self.vault, now)
            return

        def run() -> None:
            try:
                problems = verify_now(self.vault)
                log.info("scheduled audit verification: %s",
                         "intact" if not problems else f"{len(problems)} problem(s)")
            except Exception:
                log.exception("the scheduled audit verification failed to run")

        # A long log takes a while to walk: the notifier goes on meanwhile.
        self._verifying = threading.Thread(target=run, name="audit-verify", daemon=True)
        self._verifying.start()

