"""The finished calls' way into the vault, for a recorder that runs on an asyncio loop (the
SIPREC server, the capture recorder): each call's folder stored in a thread of its own, off
the loop the packets are read on; a call that cannot be stored now (the database or the store
away) stays in its folder, is said once, and is tried again every `retry_s` while the
recorder runs (and at the next start, store.store_leftovers)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from pathlib import Path

from kustosz.db.outage import is_database_away
from kustosz.errors import KustoszError
from kustosz.ingest.phone.siprec.session import SessionFolder, leftovers

log = logging.getLogger(__name__)
NotStored = Callable[[str, str], None]  # (line, what happened): a call not stored, said once


def told(not_stored: NotStored | None) -> Callable[[SessionFolder, BaseException],
                                                   None] | None:
    """The hand-over's ``failed`` for a recorder's ``not_stored``: the call's line and its
    reason."""
    if not_stored is None:
        return None

    def failed(folder: SessionFolder, exc: BaseException) -> None:
        not_stored(folder.facts().line, f"rozmowa {folder.path.name}: {reason_pl(exc)}")
    return failed


REASON_CHARS = 300  # a reason without Polish words of its own (a library's) is cut here


def reason_pl(exc: BaseException) -> str:
    """What the alert (a Polish mail) says of ``exc``: its Polish words whole — they say what
    to do, e.g. which period to add to kustosz.toml — else its own, cut at a word's end."""
    pl = getattr(exc, "pl", None)
    if pl:
        return str(pl).rstrip(".")
    text = f"{type(exc).__name__}: {exc}"
    if len(text) <= REASON_CHARS:
        return text
    cut = text[:REASON_CHARS + 1].rsplit(None, 1)[0] if " " in text[:REASON_CHARS] \
        else text[:REASON_CHARS]
    return cut.rstrip(" ,;:") + "…"


class HandOver:
    def __init__(self, ended: Callable[[SessionFolder], None], retry_s: float,
                 what: str = "SIPREC",
                 failed: Callable[[SessionFolder, BaseException], None] | None = None) -> None:
        """``ended``: stores one call's folder (blocking: run in a thread); ``failed``: a
        call that could not be stored for another reason than the database away — said once
        per call (the database away has its own alert, and every call would wait on it)."""
        self.ended, self.retry_s, self.what, self.failed = ended, retry_s, what, failed
        self._finishing: set[asyncio.Task[object]] = set()
        self._handing: set[str] = set()  # folders being stored now
        self._lock = threading.Lock()
        self._failing: set[str] = set()  # ... that could not be, said once each
        self.failures = 0  # tries that failed, all calls

    def later(self, step: Callable[..., object], *args: object) -> None:
        """Blocking work (the database) in a thread, off the loop the packets are read on;
        awaited by `wait`."""
        task = asyncio.get_running_loop().create_task(asyncio.to_thread(step, *args))
        self._finishing.add(task)
        task.add_done_callback(self._finishing.discard)

    async def wait(self) -> None:
        if self._finishing:
            await asyncio.gather(*self._finishing, return_exceptions=True)

    def store(self, folder: SessionFolder) -> None:
        name = folder.path.name
        with self._lock:
            if name in self._handing:
                return  # a hand-over of it runs already
            self._handing.add(name)
        try:
            self.ended(folder)
            self._failing.discard(name)
        except Exception as exc:  # the folder stays; tried again every retry_s
            self.failures += 1
            if name not in self._failing:
                log.warning("%s: call %s not stored now (%s: %s); tried again every %.0f s "
                            "and at the next start", self.what, name, type(exc).__name__, exc,
                            self.retry_s,
                            exc_info=not isinstance(exc, (KustoszError, OSError)))
                if self.failed is not None and not is_database_away(exc):
                    try:
                        self.failed(folder, exc)
                    except Exception as told:  # the alert itself failed: the log has it
                        log.warning("%s: the alert of call %s failed: %s", self.what, name,
                                    told)
            self._failing.add(name)
        finally:
            with self._lock:
                self._handing.discard(name)

    def retry(self, root: Path, active: set[str]) -> None:
        """The ended calls whose folder is still there (not stored: the database or the store
        away) are stored as soon as they can be, not at the next start; ``active``: the
        folders of calls still running."""
        for folder in leftovers(root):
            if folder.path.name in active:
                continue
            try:
                ended = folder.facts().end is not None
            except (OSError, ValueError):
                continue
            if ended:
                self.later(self.store, folder)
