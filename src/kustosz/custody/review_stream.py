"""A data subject's masked copy reviewed without the browser (issue 66 item 5): `kustosz
copies review` plays each masked file to its reviewer through a player the command writes to
(`| mpv -`, a named pipe, a file a player has open), under the same rules as the review page
(custody.subject_review): the reviewer's export authorisation opens a viewing session, every
file served is an access record, and what counts as watched is what was handed on, at no more
than real-time speed — the bytes go out paced to the media time they hold, and the position
the command reports is the real time elapsed, never ahead of it. `kustosz copies approve` and
`send-back` then decide it as the page's buttons do."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from kustosz.access import records
from kustosz.access.users import get_user
from kustosz.custody import subject_review as sr
from kustosz.custody.served_media import covered_s
from kustosz.errors import InputError
from kustosz.vault import Vault

PURPOSE = "przegląd zamaskowanej kopii przed wydaniem osobie, której dane dotyczą"
CLIENT = "wiersz poleceń"  # the access register's "from where" of a command-line review
CHUNK = 64 * 1024
LEAD_S = 2.0  # how far ahead of real time the bytes may go: a player's own buffer
SETTLE_S = 0.5


@dataclass(frozen=True)
class Opened:
    token: str
    copy_id: int
    number: str
    bundle: Path
    files: list[sr.Masked]


def open_review(vault: Vault, number: str, by: str) -> Opened:
    """The viewing session of ``by``'s review of copy ``number`` (refused as the page
    refuses: not a masked copy awaiting review, its maker, no export authorisation)."""
    with vault.transaction() as s:
        copy = sr.copy_by_number(s, number)
        sr.check_reviewable(s, copy, by)
        opened = records.try_open(s, user=get_user(s, by), action="export", client=CLIENT,
                                  purpose=PURPOSE, request_id=copy.request_id, copy=copy)
        if isinstance(opened, str):
            sr.open_plays(s, copy, by)
            return Opened(opened, copy.id, copy.number, Path(copy.bundle),
                          sr.masked_files(copy))
        refused = opened  # its audit entry commits with the transaction
    raise InputError(f"copy {number} is not opened for review: {refused.reason}",
                     pl=f"Kopii nr {number} nie otwarto do przeglądu: "
                        f"{refused.said(vault.policy.timezone)}")


def play_file(vault: Vault, opened: Opened, by: str, masked: sr.Masked, out: BinaryIO,
              clock: Callable[[], float] = time.monotonic,
              sleep: Callable[[float], None] = time.sleep) -> None:
    """Write one masked file to ``out`` at the pace it plays, counting what was handed on, and
    report the position reached, ending when the file's length has played out."""
    path = vault.root / opened.bundle / masked.path
    size = path.stat().st_size
    with vault.transaction() as s:
        vs = records.viewing_of(s, opened.token)
        assert vs is not None
        records.served(s, vs, f"copy {opened.number} {masked.path}", CLIENT, size)
    start, sent = clock(), 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            while min(covered_s(path, sent), masked.duration_s) > clock() - start + LEAD_S:
                sleep(0.05)
            out.write(chunk)
            out.flush()
            with vault.transaction() as s:
                sr.count_served(s, opened.copy_id, by, masked.path, path, sent,
                                sent + len(chunk))
            sent += len(chunk)
            _report(vault, opened, by, masked, min(clock() - start, masked.duration_s), False)
    # until the last frame has played out on the server's clock too (its count began with the
    # first bytes handed on, a moment after ``start``)
    while clock() - start < masked.duration_s + SETTLE_S:
        sleep(min(0.5, masked.duration_s + SETTLE_S - (clock() - start)))
        _report(vault, opened, by, masked, min(clock() - start, masked.duration_s), False)
    _report(vault, opened, by, masked, masked.duration_s, True)


def _report(vault: Vault, opened: Opened, by: str, masked: sr.Masked, position: float,
            ended: bool) -> None:
    with vault.transaction() as s:
        sr.record_play(s, opened.number, by, masked.path, round(position, 3), ended,
                       now=datetime.now(UTC))


def close_review(vault: Vault, opened: Opened, by: str) -> tuple[str, str]:
    """End the viewing session; what was watched, as the register will say it (Polish,
    English)."""
    with vault.transaction() as s:
        vs = records.viewing_of(s, opened.token)
        if vs is not None:
            records.end_viewing(s, vs)
        copy = sr.copy_by_number(s, opened.number)
        return sr.watched_pl(s, copy, by), sr.watched_en(s, copy, by)
