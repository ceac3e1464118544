"""DESIGN invariants 1 and 5 together: a sweep (retention or disk pressure) that dies at each of
its steps — after marking its victims `deleting`, half-way through unlinking, after unlinking
but before recording — and is then recovered never deletes held material: what a hold covered
before the sweep is never marked, and what a hold placed after the crash covers goes back to
`stored` whenever its file is still there (crash recovery reads the coverage rule of
kustosz.holds.coverage). Released holds protect nothing. Real files, real database (SQLite
and PostgreSQL); the crash is an exception raised at the step, as a SIGKILL would leave it
(tests/test_crash.py kills a real process at random points)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from kustosz.custody.holds import place_hold, release_hold
from kustosz.db.models import Deletion, Recording
from kustosz.index.sources import add_source, get_source
from kustosz.ingest.files import ingest_file
from kustosz.retention import relieve_pressure, run_sweep
from kustosz.retention import sweep as sweep_mod
from kustosz.retention.sweep import recover
from kustosz.vault import Vault

T0 = datetime(2026, 1, 5, 8, tzinfo=UTC)
LATER = T0 + timedelta(days=400)


class Crash(Exception):
    pass


def build(vault: Vault, tmp: Path) -> list[int]:
    """Six expired ten-minute recordings 15 minutes apart; #0 held by listing, #5 by range."""
    with vault.transaction() as s:
        add_source(s, vault.policy, "hall", "camera", "t")
    ids = []
    for i in range(6):
        sample = tmp / f"s{i}.bin"
        sample.write_bytes(f"segment {i}\n".encode() * 50)
        start = T0 + timedelta(minutes=15 * i)
        ids.append(ingest_file(vault, "hall", sample, start, start + timedelta(minutes=10),
                               actor="t").id)
    with vault.transaction() as s:
        place_hold(s, sources=[], start=None, end=None, basis="before", actor="t",
                   items=[ids[0]])
        place_hold(s, sources=[get_source(s, "hall")], start=T0 + timedelta(minutes=80),
                   end=T0 + timedelta(minutes=90), basis="before", actor="t")
    return ids


def crash_at(step: str, monkeypatch: pytest.MonkeyPatch, vault: Vault) -> None:
    real_finish = sweep_mod._finish

    def unlink(_vault: Vault, victims: list[Any], *_rest: Any) -> set[int]:
        if step == "half_unlinked":
            for victim in victims[: len(victims) // 2]:
                vault.storage.delete(victim.storage_key)
        raise Crash(step)

    def finish(*args: Any, **kwargs: Any) -> int:
        monkeypatch.setattr(sweep_mod, "_finish", real_finish)
        raise Crash(step)

    if step in ("marked", "half_unlinked"):
        monkeypatch.setattr(sweep_mod, "_unlink_all", unlink)
    else:
        monkeypatch.setattr(sweep_mod, "_finish", finish)


SWEEPS: dict[str, Callable[[Vault], Any]] = {
    "retention": lambda v: run_sweep(v, now=LATER),
    "disk_pressure": lambda v: relieve_pressure(v, free_space=lambda: (0, 10**9)),
}


@pytest.mark.parametrize("mode", [pytest.param(m, marks=pytest.mark.disk_margin)
                                  if m == "disk_pressure" else m for m in sorted(SWEEPS)])
@pytest.mark.parametrize("step", ["marked", "half_unlinked", "unlinked"])
def test_crash_at_each_step_never_deletes_held(vault: Vault, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               step: str, mode: str) -> None:
    ids = build(vault, tmp_path)
    with monkeypatch.context() as mp:
        crash_at(step, mp, vault)
        with pytest.raises(Crash):
            SWEEPS[mode](vault)
    with vault.reading() as s:
        marked = set(s.execute(sa.select(Recording.id)
                               .where(Recording.state == "deleting")).scalars())
        keys = dict(s.execute(sa.select(Recording.id, Recording.storage_key)).all())
        hashes = dict(s.execute(sa.select(Recording.id, Recording.sha256)).all())
    assert marked == set(ids[1:5]), "held material was marked for deletion"
    # While the service is down holds are placed on #2 (inside it) and #3 (touching its end;
    # a hold cannot list an item being deleted); one on #4 is placed and released again.
    with vault.transaction() as s:
        hall = get_source(s, "hall")
        place_hold(s, sources=[hall], start=T0 + timedelta(minutes=35),
                   end=T0 + timedelta(minutes=35), basis="after", actor="t")
        place_hold(s, sources=[hall], start=T0 + timedelta(minutes=55),
                   end=T0 + timedelta(minutes=57), basis="after", actor="t")
        gone = place_hold(s, sources=[hall], start=T0 + timedelta(minutes=65),
                          end=T0 + timedelta(minutes=65), basis="after", actor="t")
        release_hold(s, gone.id, "mistake", "t")
    present = {rid for rid in ids if vault.storage.exists(keys[rid])}

    recover(vault, actor="t")

    with vault.reading() as s:
        states = dict(s.execute(sa.select(Recording.id, Recording.state)).all())
        deleted = list(s.execute(sa.select(Deletion.recording_id)).scalars())
    assert len(deleted) == len(set(deleted)), "a deletion was recorded twice"
    for rid in (ids[0], ids[5]):  # held before the sweep
        assert states.get(rid) == "stored"
        assert vault.storage.hash_of(keys[rid]) == hashes[rid]
    for rid in (ids[2], ids[3]):  # held after the crash
        if rid in present:
            assert states.get(rid) == "stored", f"recovery deleted held #{rid} ({step})"
            assert vault.storage.hash_of(keys[rid]) == hashes[rid]
        else:  # its file was already gone: recorded as deleted, not left half-done
            assert rid not in states and rid in deleted
    for rid in (ids[1], ids[4]):
        assert rid not in states and rid in deleted
        assert not vault.storage.exists(keys[rid])
    assert set(states.values()) == {"stored"}
    assert {keys[rid] for rid in states} == set(vault.storage.keys())
