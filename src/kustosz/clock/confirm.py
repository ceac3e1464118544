"""A clock the vault cannot vouch for after a reboot holds the retention sweep until it is
confirmed (issue 48 item 3).

After a reboot the steady clock starts again, so a clock set ahead while the machine was off
cannot be told from a long stop: 40 days ahead, and the first sweep would delete 40 days of
material early. On the same boot the watch measures (kustosz.clock.watch); across a reboot,
when the wall clock reads more than `SUSPECT_S` past the newest time the vault saw and the
kernel does not say it is synchronised (adjtimex: not TIME_ERROR), the vault keeps a mark
(`clock.unconfirmed`), raises the clock alert saying so, and no retention sweep — serve's or
the separate sweeper's — deletes anything while the mark stands. It goes when the kernel
reports the clock synchronised (the watch asks at each reading) or when an administrator
confirms the clock by hand (`kustosz clock confirm`), both audited. The disk-pressure sweep
is not held: it deletes the oldest first, whatever the clock says, and only to make room.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from kustosz.access.users import require_role
from kustosz.audit import append as audit
from kustosz.clock.words import span_pl, when_pl
from kustosz.db.models import Alert, Setting
from kustosz.db.settings import put_setting
from kustosz.errors import InputError
from kustosz.limits import check_texts
from kustosz.states import AlertRow
from kustosz.vault import Vault

log = logging.getLogger(__name__)
UNCONFIRMED_KEY = "clock.unconfirmed"
# A reboot takes minutes; a wall clock further past the vault's newest time than this after
# one is a long stop or a clock set ahead, which only a synchronised clock or a person tells.
SUSPECT_S = 600.0
_TIME_ERROR = 5  # adjtimex(2): the clock is not synchronised


def synchronised() -> bool | None:
    """What the kernel says of the wall clock (adjtimex, read-only): True when an NTP client
    keeps it synchronised, False when not, None when it cannot be asked."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        buf = ctypes.create_string_buffer(512)  # struct timex is 208 bytes; modes = 0: read
        state = int(libc.adjtimex(buf))
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    return state != _TIME_ERROR


def unconfirmed(session: Session) -> dict[str, Any] | None:
    """The mark, or None: the clock is vouched for and the sweep may run."""
    row = session.get(Setting, UNCONFIRMED_KEY)
    if row is None:
        return None
    try:
        value = json.loads(row.value)
    except ValueError:
        value = {}
    return value if isinstance(value, dict) else {}


def hold(session: Session, newest: float, now: float) -> None:
    """Mark the clock unconfirmed (in the start check's transaction) and say so."""
    seen, read = datetime.fromtimestamp(newest, UTC), datetime.fromtimestamp(now, UTC)
    value = {"newest": seen.isoformat(), "read": read.isoformat(), "gap_s": now - newest}
    put_setting(session, UNCONFIRMED_KEY, json.dumps(value))
    session.add(Alert(raised_at=read, kind=AlertRow.CLOCK_JUMP, message=message_pl(
        newest, now)))
    audit(session, "clock", "clock.unconfirmed", "server", value)


def message_pl(newest: float, now: float) -> str:
    gap, at = span_pl(now - newest), datetime.fromtimestamp(now, UTC)
    return (f"Po ponownym uruchomieniu serwera zegar wskazuje {when_pl(at)}, o {gap} później "
            f"niż ostatni czas zapisany w skarbcu ({when_pl(datetime.fromtimestamp(newest, UTC))})"
            ", i nie jest "
            "zsynchronizowany (NTP). Albo serwer był wyłączony tak długo, albo zegar jest "
            "przestawiony do przodu — wtedy usuwanie nagrań „po terminie” skasowałoby je "
            "przedwcześnie. Usuwanie nagrań po terminie jest wstrzymane, dopóki zegar nie "
            "zsynchronizuje się z serwerem czasu albo administrator nie potwierdzi go "
            "poleceniem: kustosz clock confirm --by KONTO --reason \"…\". Nagrywanie trwa.")


def release(vault: Vault, how: str, actor: str, detail: dict[str, Any] | None = None) -> bool:
    """Take the mark away (`how`: "synchronised" or "person"); False when there was none."""
    with vault.transaction() as s:
        row = s.get(Setting, UNCONFIRMED_KEY)
        if row is None:
            return False
        held = unconfirmed(s) or {}
        s.delete(row)
        audit(s, actor, "clock.confirmed", "server", {"how": how, **held, **(detail or {})})
    log.warning("the server's clock is confirmed (%s): the retention sweep runs again", how)
    return True


def confirm(vault: Vault, by: str, reason: str, actor: str) -> bool:
    """An administrator vouches for the clock: the held sweep runs again."""
    check_texts(reason=reason)
    if not reason.strip():
        raise InputError("say why the clock is right (--reason)",
                         pl="Podaj, dlaczego zegar jest prawidłowy (--reason).")
    with vault.reading() as s:
        require_role(s, by, "administrator", "confirm the server's clock")
    return release(vault, "person", actor, {"by": by, "reason": reason})
