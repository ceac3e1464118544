"""The SQL that decides "a hold covers this item" (used by the sweep and by disk pressure)
and its Python reading (`holds.coverage.covering`) agree with the plain rule of R2.3 on many
random cases: a range hold covers an item of one of
its sources whose [start, end] touches the hold's closed range; an item hold covers its items;
released holds cover nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kustosz.custody.holds import covered_by_active_hold
from kustosz.db.models import Hold, HoldItem, HoldSource, Recording
from kustosz.holds.coverage import HoldFacts, ItemFacts, covering
from kustosz.index.sources import add_source
from kustosz.vault import Vault

T0 = datetime(2026, 5, 1, tzinfo=UTC)
minutes = st.integers(0, 600)
items_st = st.lists(st.tuples(st.integers(1, 3), minutes, st.integers(0, 60)),
                    min_size=1, max_size=12)
holds_st = st.lists(st.tuples(st.sets(st.integers(1, 3), max_size=3), minutes,
                              st.integers(0, 120), st.sets(st.integers(0, 11), max_size=3),
                              st.booleans()), max_size=5)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Vault:
    vault = Vault.init(Path(tmp_path_factory.mktemp("cov")) / "v", "pleszew", actor="t")
    with vault.transaction() as s:
        for i in (1, 2, 3):
            add_source(s, vault.policy, f"cam{i}", "camera", "t")
    return vault


@settings(max_examples=4000, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(items=items_st, holds=holds_st)
def test_sql_coverage_matches_rule(shared: Vault, items: list, holds: list) -> None:
    # One executemany per table, the ids given (the tables were just emptied): building and
    # compiling an INSERT per row was most of the test's time over its 4000 examples.
    ids = list(range(1, len(items) + 1))
    recordings, holds_rows, hold_sources_rows, hold_items_rows = [], [], [], []
    for rid, (src, start, length) in zip(ids, items, strict=True):
        a = T0 + timedelta(minutes=start)
        recordings.append(dict(
            id=rid, source_id=src, kind="camera", start_at=a, end_at=a + timedelta(minutes=length),
            size=1, storage_key=f"k{rid}", meta={}, state="stored", expires_at=T0,
            ingested_at=T0))
    for hid, (hold_sources, start, length, hold_items, released) in enumerate(holds, 1):
        a = T0 + timedelta(minutes=start)
        holds_rows.append(dict(id=hid, basis="b", placed_by="t", placed_at=T0, start_at=a,
                               end_at=a + timedelta(minutes=length),
                               released_at=T0 if released else None))
        hold_sources_rows += [dict(hold_id=hid, source_id=src) for src in hold_sources]
        hold_items_rows += [dict(hold_id=hid, recording_id=ids[index])
                            for index in hold_items if index < len(ids)]
    with shared.engine.begin() as conn:
        for table in (HoldItem, HoldSource, Hold, Recording):
            conn.execute(sa.delete(table))
        for table, rows in ((Recording, recordings), (Hold, holds_rows),
                            (HoldSource, hold_sources_rows), (HoldItem, hold_items_rows)):
            if rows:
                conn.execute(sa.insert(table), rows)
        got = set(conn.execute(sa.select(Recording.id).where(covered_by_active_hold())).scalars())

    expected = set()
    for n, (src, start, length) in enumerate(items):
        for hold_sources, h_start, h_len, hold_items, released in holds:
            if released:
                continue
            by_range = src in hold_sources and h_start <= start + length \
                and h_start + h_len >= start
            if by_range or n in hold_items:
                expected.add(ids[n])
    assert got == expected
    # The Python reading (the sweep's check against the audit log's holds) agrees too.
    facts = [HoldFacts(hid, frozenset(hold_sources),
                       frozenset(ids[i] for i in hold_items if i < len(ids)),
                       T0 + timedelta(minutes=start), T0 + timedelta(minutes=start + length),
                       T0 if released else None)
             for hid, (hold_sources, start, length, hold_items, released) in enumerate(holds, 1)]
    in_memory = {rid for rid, (src, start, length) in zip(ids, items, strict=True)
                 if covering(facts, ItemFacts(rid, src, T0 + timedelta(minutes=start),
                                              T0 + timedelta(minutes=start + length)))}
    assert in_memory == expected
