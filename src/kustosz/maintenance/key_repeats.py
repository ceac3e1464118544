"""Recordings whose storage key repeats (issue 68 item 3): one file, or one object, under two
rows of the index.

On PostgreSQL the index is partitioned by day (docs/design.md, "Retention as partitions"), and
a unique constraint of a partitioned table must hold the partition key: `storage_key` is
unique per `(storage_key, start_at)` only, so two rows with one key and different starts — in
one partition or in two — are not refused on insert. The intake never makes one (its key
carries the start's date and a random part), but one would be a fault of the index: sweeping
either row deletes the other's material before its time, and each plays the other's content.
The store check (`kustosz storage check` and the scheduled one, files_check and store_check)
asks for them once a run rather than every insert paying for a check across partitions, and
raises `index_repeated_keys` while any is found (`alert`); on SQLite the unique constraint on
the key alone makes the answer empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kustosz.alert_rows import clear_rows, raise_row
from kustosz.db.models import Recording
from kustosz.states import AlertRow
from kustosz.vault import Vault
from kustosz.words import count_pl

KEEP = 1000  # keys listed; more are only counted


@dataclass(frozen=True)
class Repeat:
    """A storage key and the ids of the rows that share it."""

    key: str
    ids: tuple[int, ...]

    def line(self) -> str:
        return f"{self.key}: one key for recordings {', '.join(map(str, self.ids))}"

    def line_pl(self) -> str:
        return f"{self.key}: jeden klucz dla nagrań nr {', '.join(map(str, self.ids))}"


def repeated_keys(vault: Vault, keep: int = KEEP) -> tuple[list[Repeat], int]:
    """The keys more than one row holds (the first ``keep``, by key, with their rows' ids),
    and how many such keys there are in all. One aggregate over the whole index: the store
    check reads every row anyway."""
    many = select(Recording.storage_key).group_by(Recording.storage_key) \
        .having(func.count() > 1)
    with vault.reading() as s:
        total = s.execute(select(func.count()).select_from(many.subquery())).scalar_one()
        if not total:
            return [], 0
        keys = list(s.execute(many.order_by(Recording.storage_key).limit(keep)).scalars())
        ids: dict[str, list[int]] = {}
        for key, rid in s.execute(select(Recording.storage_key, Recording.id)
                                  .where(Recording.storage_key.in_(keys))
                                  .order_by(Recording.id)):
            ids.setdefault(key, []).append(rid)
    return [Repeat(k, tuple(ids[k])) for k in keys], total


def alert(s: Session, repeats: list[Repeat], total: int, now: datetime,
          shown: int = 5) -> None:
    """`index_repeated_keys` raised while any key repeats (its text names the first
    ``shown``), cleared once none does: in the check's own transaction."""
    if not total:
        clear_rows(s, AlertRow.INDEX_REPEATED_KEYS, now)
        return
    lines = "; ".join(r.line_pl() for r in repeats[:shown])
    raise_row(s, AlertRow.INDEX_REPEATED_KEYS,
              f"Rejestr nagrań przypisuje ten sam plik kilku nagraniom "
              f"({count_pl(total, 'klucz pliku', 'klucze plików', 'kluczy plików')}), np. "
              f"{lines}. Usunięcie jednego z tych nagrań po jego okresie przechowywania "
              "usunęłoby plik drugiego przed czasem, a każde odtwarza treść drugiego: ustal, "
              "do którego nagrania należy plik, zanim minie okres któregokolwiek z nich "
              "(`kustosz storage check` wypisuje wszystkie).", now)
