"""The mail journal and event listeners `kustosz serve` runs next to the recorders.

Each enabled mailbox and endpoint source gets the same service `kustosz mail listen` /
`kustosz events listen` runs, on its own event loop in its own thread (`Background`), so a
slow or failing listener cannot stall the recorders or another listener. One that cannot
start (its port is taken, its certificate is unreadable) is logged and skipped: the office
would rather keep recording video than lose everything over one misconfigured syslog port.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from kustosz.db.models import Source
from kustosz.ingest.events.service import Background, Service
from kustosz.vault import Vault

log = logging.getLogger(__name__)
KINDS = ("mailbox", "endpoint")


def _service(vault: Vault, kind: str, name: str) -> Service:
    # Imported here: the mail listener pulls in aiosmtpd, which a camera-only office never uses.
    if kind == "mailbox":
        from kustosz.ingest.mail.listener import MailIntake

        return MailIntake(vault, name)
    from kustosz.ingest.events.intake import EventIntake

    return EventIntake(vault, name)


def start_listeners(vault: Vault) -> list[Background]:
    """Start every enabled mailbox and endpoint source; those that fail are logged, not raised."""
    with vault.reading() as s:
        sources = [(src.kind, src.name) for src in s.execute(
            select(Source).where(Source.kind.in_(KINDS), Source.enabled.is_(True))
            .order_by(Source.name)).scalars()]
    running: list[Background] = []
    for kind, name in sources:
        try:
            bg = Background(lambda kind=kind, name=name: _service(vault, kind, name))
        except Exception as exc:
            log.error("%s source %s could not start (%s); the other listeners and the "
                      "recorders keep running", kind, name, exc)
            continue
        where = ", ".join(f"{k} {h}:{p}" for k, (h, p) in bg.service.addresses.items())
        log.info("%s source %s listening on %s", kind, name, where)
        running.append(bg)
    return running


def stop_listeners(running: list[Background]) -> None:
    """Stop each listener; stopping closes its open chunk, so what it received is taken in."""
    for bg in running:
        try:
            bg.stop()
        except Exception:
            # Not lost: the chunk stays in the spool and the next start takes it in.
            log.exception("%s: stopping failed; its open chunk is taken in at the next start",
                          bg.service.source_name)
