"""The recording server put on a reloaded `[siprec]` (kustosz.cli.serve_reload), between calls.

A new listen address may be held by another process. Closing the old listener first and then
failing to open the new one left SIPREC listening nowhere while the audit log said "applied"
(issue 64 S6). So the move is all or nothing: the old server closes (it may hold the very
port the new one wants), the new one starts, and if it cannot, the old one starts again on its
old settings — the change rolled back. Either way the audit log says what happened
(`config.siprec_applied` / `config.siprec_not_applied`), and a change not put in force is a
high alert (`config.reload_failed`, the reload's own kind: the file's change is not in force),
cleared by the next reload that takes the file; that reload also tries the move again."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from kustosz.alert_rows import raise_row
from kustosz.audit import append as audit
from kustosz.config import CONFIG_NAME
from kustosz.config_schema.siprec import Siprec
from kustosz.db.outage import is_database_away
from kustosz.ingest.phone.siprec.server import Srs
from kustosz.states import AlertRow
from kustosz.vault import Vault

log = logging.getLogger(__name__)
ACTOR = "serve-reload"


def _where(c: Siprec) -> str:
    return c.listen + (f", TLS {c.tls_listen}" if c.tls_listen else "")


async def move(vault: Vault, srs: Srs, old: Siprec, new: Siprec,
               start: Callable[[Siprec], Srs]) -> tuple[Srs, bool]:
    """``srs`` (running on ``old``) replaced by a server on ``new``; the server that runs now
    and whether it is the new one. Raises OSError only when neither could listen (said in
    the alert first): serve's SIPREC loop then tries again as at a start."""
    await srs.close("stopped")
    moved = start(new)
    try:
        await moved.start()
    except OSError as exc:
        await _close_quietly(moved)
        back = start(old)
        try:
            await back.start()
        except OSError as again:
            await _close_quietly(back)
            await asyncio.to_thread(_not_moved, vault, old, new, f"{exc}; {again}", False)
            raise
        await asyncio.to_thread(_not_moved, vault, old, new, str(exc), True)
        return back, False
    await asyncio.to_thread(_moved, vault, new)
    return moved, True


async def _close_quietly(srs: Srs) -> None:
    """A server whose start failed half-way (TCP bound, UDP or TLS not): what it opened."""
    try:
        await srs.close("not started")
    except Exception:
        log.exception("closing a SIPREC server that did not start failed")


def _moved(vault: Vault, new: Siprec) -> None:
    log.info("SIPREC recording server moved to %s as [siprec] in %s says", _where(new),
             CONFIG_NAME)
    _record(vault, lambda s, now: audit(s, ACTOR, "config.siprec_applied", CONFIG_NAME,
                                        {"listen": new.listen, "tls_listen": new.tls_listen}))


def _not_moved(vault: Vault, old: Siprec, new: Siprec, reason: str, kept: bool) -> None:
    if kept:
        log.error("SIPREC recording server not moved to %s (%s): it listens on %s as before; "
                  "free the port or change [siprec] listen, then reload", _where(new), reason,
                  _where(old))
        text = (f"Serwer nagrywania rozmów SIPREC nie został przeniesiony na {_where(new)} "
                f"(zmiana [siprec] w pliku {CONFIG_NAME}): adres jest zajęty albo niedostępny "
                f"({reason}). Nadal nasłuchuje na {_where(old)} i tam nagrywa; jeśli centrala "
                "(SBC) wysyła już nagrania na nowy adres, rozmowy nie są nagrywane. Zwolnij "
                "port albo popraw [siprec] listen, a potem przeładuj usługę (systemctl reload "
                "kustosz).")
    else:
        log.error("SIPREC recording server could listen neither on %s nor on %s (%s); it "
                  "tries again", _where(new), _where(old), reason)
        text = (f"Serwer nagrywania rozmów SIPREC nie nasłuchuje: ani nowy adres "
                f"{_where(new)}, ani poprzedni {_where(old)} nie jest wolny ({reason}). "
                "Rozmowy linii SIPREC nie są nagrywane; usługa próbuje ponownie co 30 s. "
                f"Zwolnij port albo popraw [siprec] listen w pliku {CONFIG_NAME}.")

    def write(s: Session, now: datetime) -> None:
        raise_row(s, AlertRow.CONFIG_RELOAD_FAILED, text, now)
        audit(s, ACTOR, "config.siprec_not_applied", CONFIG_NAME,
              {"listen": new.listen, "tls_listen": new.tls_listen,
               "kept": old.listen if kept else None, "reason": reason})
    _record(vault, write)


def _record(vault: Vault, write: Callable[[Session, datetime], object]) -> None:
    try:
        with vault.transaction() as s:
            write(s, datetime.now(UTC))
    except Exception as exc:  # the database away: the log line above has it
        if not is_database_away(exc):
            log.exception("the SIPREC move could not be recorded")
