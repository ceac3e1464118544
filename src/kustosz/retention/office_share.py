"""An office's share of an installation's shared data disk (issue 67 item 4).

The offices of an installation record onto one disk. A single vault short of disk deletes
its own oldest unheld material; in an installation that would make every office pay for one
office's flood (a town hall adding twenty cameras, a MOPS losing the start of its month). So
each office has a share of the disk's usable part (its size less `min_free_percent`), by the
weights of `installation.toml`'s `[disk_shares]` (1 for an office not named): under disk
pressure an office deletes only what it holds beyond its share, and an office within its
share deletes nothing — the offices over their shares make the room. The shares add up to
the usable part, so while the disk is short of it by the offices' material, some office is
over its share.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from kustosz.config import CONFIG_NAME
from kustosz.db.models import Recording
from kustosz.errors import KustoszError
from kustosz.installation_layout import installation_holding, office_slugs, read
from kustosz.states import RecordingState

if TYPE_CHECKING:
    from kustosz.vault import Vault

log = logging.getLogger(__name__)
GIB = 1 << 30


@dataclass(frozen=True)
class Share:
    """What an office holds on the shared disk, and its share of it, in bytes."""

    used: int
    allowed: int
    weight: int
    weights: int

    @property
    def over(self) -> int:
        return max(0, self.used - self.allowed)

    def words_pl(self) -> str:
        used, allowed = (f"{x / GIB:.1f}".replace(".", ",") for x in (self.used, self.allowed))
        return f"urząd zajmuje {used} GiB z przysługujących mu {allowed} GiB"


def of(vault: Vault, total: int) -> Share | None:
    """The office's share of a disk of ``total`` bytes; None for a single office's vault
    (the whole disk is its own) or when the installation's file cannot be read (the office
    goes on as a vault alone rather than deleting by a share it cannot know)."""
    root = installation_holding(vault.root)
    if root is None:
        return None
    try:
        shares = read(root).disk_shares
    except (KustoszError, OSError) as exc:
        log.warning("disk shares unknown (%s): this office deletes as a vault alone", exc)
        return None
    weights = {slug: shares.get(slug, 1) for slug in office_slugs(root, CONFIG_NAME)}
    mine = vault.root.absolute().name
    weight, whole = weights.get(mine, 1), sum(weights.values()) or 1
    usable = total * (1 - vault.config.min_free_percent / 100)
    with vault.reading() as s:
        used = s.execute(select(func.coalesce(func.sum(Recording.size), 0)).where(
            Recording.state.in_((RecordingState.STORED, RecordingState.DELETING)))).scalar_one()
    return Share(int(used), int(usable * weight / whole), weight, whole)
