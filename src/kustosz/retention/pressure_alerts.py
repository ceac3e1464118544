"""What disk pressure tells people (kustosz.retention.pressure): the disk_pressure alert when
a sweep starts — deleting, nothing to delete here (an object store), or, in an installation,
nothing of this office's because it holds no more than its share of the disk
(kustosz.retention.office_share) — and disk_full_held when only held material is left."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import select

from kustosz.audit import append as audit
from kustosz.db.models import Alert
from kustosz.db.outage import is_disk_full
from kustosz.retention import sweep
from kustosz.retention.office_share import Share
from kustosz.states import AlertRow

if TYPE_CHECKING:
    from kustosz.vault import Vault

log = logging.getLogger(__name__)


class DiskWatch(Protocol):
    """What these alerts ask of the vault's disk watch (kustosz.retention.pressure), which
    imports them."""

    def tell_without_disk(self, row_kind: str, text: str, since: datetime) -> None: ...

    def raise_held(self, text: str) -> None: ...

DISK_FULL_PL = ("Dysk z danymi Kustosza jest pełny: nowe nagrania i zdarzenia nie mogą być "
                "zapisywane. Kustosz zwalnia miejsce, usuwając najstarsze nagrania nieobjęte "
                "zabezpieczeniem; nagrywanie wznowi się samo, gdy miejsce się zwolni.")


def _what_happens(remote: bool, share: Share | None) -> tuple[str, str]:
    """What this sweep does, in English for the log and in Polish for the alert."""
    if remote:
        return ("the material is in the object store, nothing to delete on this disk: make "
                "room on it",
                "Nagrania są w magazynie obiektów, a dysk lokalny zajmuje bufor czekający na "
                "ten magazyn: zwolnij miejsce na dysku.")
    if share is not None and share.over <= 0:
        return (f"this office holds {share.used} of its {share.allowed} bytes of the shared "
                "disk: nothing of its material is deleted; the offices over their shares make "
                "room",
                f"Dysk jest wspólny dla urzędów instalacji, a {share.words_pl()}: jego nagrania "
                "nie są usuwane. Miejsce zwolnią urzędy, które przekroczyły swój udział; "
                "jeśli to nie wystarczy, administrator instalacji musi dodać miejsce.")
    if share is not None:
        return (f"deleting the oldest material that no hold covers, down to this office's "
                f"share of the shared disk ({share.allowed} bytes)",
                f"Dysk jest wspólny dla urzędów instalacji, a {share.words_pl()}: usuwane są "
                "najstarsze nagrania nieobjęte zabezpieczeniem, aż urząd zmieści się w swoim "
                "udziale.")
    return ("deleting the oldest material that no hold covers",
            "Usuwane są najstarsze nagrania nieobjęte zabezpieczeniem.")


def raise_pressure(vault: Vault, watch: DiskWatch | None, actor: str,
                   report: sweep.SweepReport, start_pct: float, threshold: float,
                   remote: bool, share: Share | None = None) -> None:
    """The disk_pressure alert: logged, and a row for the alert channels (or, when even its
    row cannot be written, the channels told from memory)."""
    en, pl = _what_happens(remote, share)
    log.warning("disk pressure: %.1f%% free is below %.1f%%; %s", start_pct, threshold, en)
    free_pl, needed_pl = (f"{x:.1f}".replace(".", ",") for x in (start_pct, threshold))
    text_pl = f"Mało miejsca na dysku: wolne {free_pl}%, mniej niż wymagane {needed_pl}%. {pl}"
    details: dict[str, object] = {"free_percent": round(start_pct, 2)}
    if share is not None:
        details.update(used=share.used, share=share.allowed)
    try:
        with vault.transaction() as s:
            s.add(Alert(raised_at=datetime.now(UTC), kind=AlertRow.DISK_PRESSURE, message=text_pl))
            audit(s, actor, "alert.disk_pressure", "storage", details)
    except Exception as exc:
        if watch is None or not is_disk_full(exc):
            raise
        # Even the released reserve did not make room for the alert row: the person is
        # told from memory, and the deletions below are tried all the same.
        watch.tell_without_disk(AlertRow.DISK_FULL, DISK_FULL_PL, report.as_of)


def only_held_left(vault: Vault, watch: DiskWatch | None, actor: str) -> None:
    stuck = ("disk pressure persists: only held material is left; add storage or "
             "release holds that are no longer needed")
    log.error(stuck)
    held_pl = ("Nadal brakuje miejsca na dysku, a pozostały tylko nagrania objęte "
               "zabezpieczeniem. Dodaj miejsce na dysku albo zwolnij zabezpieczenia, "
               "które nie są już potrzebne.")
    if watch is not None:
        watch.raise_held(held_pl)
    else:
        with vault.transaction() as s:
            if not s.execute(select(Alert.id).where(
                    Alert.kind == AlertRow.DISK_FULL_HELD,
                    Alert.cleared_at.is_(None))).first():
                s.add(Alert(raised_at=datetime.now(UTC), kind=AlertRow.DISK_FULL_HELD,
                            message=held_pl))
                audit(s, actor, "alert.disk_full_held", "storage", {})
