"""The periodic rescan of phone sources, for `kustosz phones watch` (and later `serve`).

A rescan every ``interval`` seconds is what makes intake complete after any downtime; each
pass compares with the previous pass's look, so a file is taken once it is unchanged across
two passes. An inotify trigger (watchfiles) would only shorten the delay, so it is left out.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import select

from kustosz.db.models import Source
from kustosz.errors import KustoszError
from kustosz.ingest.phone.alerts import check_alerts
from kustosz.ingest.phone.intake import Observer, ScanReport, scan
from kustosz.vault import Vault

log = logging.getLogger(__name__)


def enabled_phone_sources(vault: Vault) -> list[str]:
    with vault.reading() as s:
        return list(s.execute(select(Source.name).where(
            Source.kind == "phone", Source.enabled.is_(True)).order_by(Source.name)).scalars())


def watch(vault: Vault, names: list[str] | None = None, interval: float = 30.0,
          stop: threading.Event | None = None, passes: int | None = None,
          on_pass: Callable[[ScanReport], None] | None = None) -> None:
    stop = stop or threading.Event()
    observers: dict[str, Observer] = {}
    done = 0
    while not stop.is_set() and (passes is None or done < passes):
        for name in names or enabled_phone_sources(vault):
            try:
                report = scan(vault, name, observer=observers.setdefault(name, Observer()))
                if on_pass:
                    on_pass(report)
            except KustoszError as exc:
                log.warning("phone source %s: intake pass failed: %s", name, exc)
            except Exception:
                # Fail-open: one bad pass must not end the watch; the next one tries again.
                log.exception("phone source %s: intake pass failed", name)
            try:
                check_alerts(vault, name)
            except Exception:
                log.exception("phone source %s: alert check failed", name)
        done += 1
        if passes is None or done < passes:
            stop.wait(interval)
