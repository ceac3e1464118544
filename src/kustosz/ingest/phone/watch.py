"""The periodic rescan of phone sources, for `kustosz phones watch` and `kustosz serve`.

A rescan every ``interval`` seconds is what makes intake complete after any downtime; each
pass compares with the previous pass's look, so a file is taken once it is unchanged across
two passes. An inotify trigger (watchfiles) would only shorten the delay, so it is left out.
Without a list of names each pass reads the enabled sources anew, so a line added, enabled
or disabled while the watch runs is picked up (or left) on the next pass. A failing source
is logged when its failure begins or changes, not on every pass (its alert stays open).
The watch beats serve's watchdog (kustosz.watchdog) as ``phones`` for each line and while it
waits between passes; it is forgotten when it ends.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import select

from kustosz.db.models import Source
from kustosz.db.outage import is_database_away
from kustosz.errors import KustoszError
from kustosz.ingest.phone.alerts import check_alerts
from kustosz.ingest.phone.intake import Observer, scan
from kustosz.ingest.phone.report import ScanReport
from kustosz.kinds import SourceKind
from kustosz.phones.settings import INTAKE_SPOOL, PhoneSettings
from kustosz.vault import Vault
from kustosz.watchdog import progress_of

log = logging.getLogger(__name__)
# The longest one line's pass may honestly take: the files that waited (a line's backlog after
# a downtime: many recordings hashed and moved) and their rows on a database that went silent
# (connect 10 s, an answer 60 s a step: db.deadline).
ALLOWANCE_S = 900.0


def enabled_phone_sources(vault: Vault, *, intake: str = INTAKE_SPOOL) -> list[str]:
    """The enabled lines whose calls come in by ``intake``: from a PBX spool (the default),
    recorded through SIPREC, or read off a mirrored port (phones.settings.INTAKES)."""
    with vault.reading() as s:
        rows = s.execute(select(Source.name, Source.settings).where(
            Source.kind == SourceKind.PHONE, Source.enabled.is_(True))
            .order_by(Source.name)).all()
    return [name for name, settings in rows
            if PhoneSettings.of(settings).intake == intake]


def watch(vault: Vault, names: list[str] | None = None, interval: float = 30.0,
          stop: threading.Event | None = None, passes: int | None = None,
          on_pass: Callable[[ScanReport], None] | None = None) -> None:
    stop = stop or threading.Event()
    observers: dict[str, Observer] = {}
    failing: dict[str, str] = {}  # name -> what its last pass failed with ("": the register)
    done = 0
    progress = progress_of(vault).loop("phones", ALLOWANCE_S)
    while not stop.is_set() and (passes is None or done < passes):
        progress.beat()
        try:
            current = names or enabled_phone_sources(vault)
        except Exception as exc:
            # The database away (issue 27): the files wait in the lines' folders, which
            # the next pass reads again; said once, not with a traceback every pass.
            if not is_database_away(exc):
                log.exception("phone sources could not be read; trying again next pass")
            elif "" not in failing:
                log.warning("phone lines wait: the database is away (%s); trying again "
                            "every %.0f s", type(exc).__name__, interval)
            failing[""] = "database away"
            current = []
        else:
            if failing.pop("", None) is not None:
                log.info("phone lines: the database answers again")
        for name in current:
            progress.beat()
            try:
                report = scan(vault, name, observer=observers.setdefault(name, Observer()))
                if on_pass:
                    on_pass(report)
                if failing.pop(name, None) is not None:
                    log.info("phone source %s: intake works again", name)
            except Exception as exc:
                # Fail-open: one bad pass must not end the watch; the next one tries again.
                problem = f"{type(exc).__name__}: {exc}"
                if failing.get(name) != problem:
                    log.warning("phone source %s: intake pass failed: %s", name, exc,
                                exc_info=not isinstance(exc, KustoszError))
                failing[name] = problem
            try:
                check_alerts(vault, name)
            except Exception as exc:
                if not is_database_away(exc):  # away: the pass itself said so above
                    log.exception("phone source %s: alert check failed", name)
        done += 1
        if passes is None or done < passes:
            progress.wait(stop, interval)
    progress.forget()  # ended on purpose (the stop, or its passes done): no hang
