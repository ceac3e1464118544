"""DESIGN invariant 1: the hold-coverage rule (R2.3) is written once (kustosz.holds.coverage)
and every reading of it agrees with the plain rule on random holds and recordings, on SQLite and
PostgreSQL: the SQL condition the sweep and disk pressure select through, `holds_of` (the
sweep's report), `held_map` (destruction of copies, the material list) and the Python reading
crash recovery uses (`covering` over `active_holds`).

The plain rule, written here independently: an unreleased hold covers an item of one of its
sources whose [start, end] touches the hold's closed [start, end], and each item it lists."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kustosz.db.models import Hold, HoldItem, HoldSource, Recording
from kustosz.holds.coverage import (
    ItemFacts,
    active_holds,
    covered_by_active_hold,
    covering,
    held_map,
    holds_of,
)
from kustosz.index.sources import add_source
from kustosz.vault import Vault
from tests.conftest import PG, pg_schema_url

T0 = datetime(2026, 5, 1, tzinfo=UTC)
minutes = st.integers(0, 300)
items_st = st.lists(st.tuples(st.integers(1, 3), minutes, st.integers(0, 60)),
                    min_size=1, max_size=10)
# (sources, times or None for an item-only hold, listed item indexes, released)
holds_st = st.lists(st.tuples(st.sets(st.integers(1, 3), max_size=3),
                              st.one_of(st.none(), st.tuples(minutes, st.integers(0, 120))),
                              st.sets(st.integers(0, 9), max_size=3), st.booleans()),
                    max_size=5)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shared(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Vault]:
    url, schema = "", None
    if request.param == "postgresql":
        if not PG:
            pytest.skip("KUSTOSZ_TEST_PG is not set")
        schema = f"kt_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(PG.replace("postgresql://", "postgresql+psycopg://", 1))
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        url = pg_schema_url(schema)
    vault = Vault.init(Path(tmp_path_factory.mktemp("readings")) / "v", "pleszew", url,
                       actor="t")
    with vault.transaction() as s:
        for i in (1, 2, 3):
            add_source(s, vault.policy, f"cam{i}", "camera", "t")
    yield vault
    vault.close()
    if schema:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def plain_rule(items: list, holds: list, ids: list[int], hold_ids: list[int]) -> dict[int, set]:
    out: dict[int, set[int]] = {rid: set() for rid in ids}
    for n, (src, start, length) in enumerate(items):
        for hid, (sources, times, listed, released) in zip(hold_ids, holds, strict=True):
            if released:
                continue
            by_range = times is not None and src in sources and \
                times[0] <= start + length and times[0] + times[1] >= start
            if by_range or n in listed:
                out[ids[n]].add(hid)
    return out


@settings(max_examples=200, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(items=items_st, holds=holds_st)
def test_every_reading_of_coverage_agrees(shared: Vault, items: list, holds: list) -> None:
    with shared.engine.begin() as conn:
        for table in (HoldItem, HoldSource, Hold, Recording):
            conn.execute(sa.delete(table))
        ids = []
        for n, (src, start, length) in enumerate(items):
            a = T0 + timedelta(minutes=start)
            ids.append(conn.execute(sa.insert(Recording).values(
                source_id=src, kind="camera", start_at=a, end_at=a + timedelta(minutes=length),
                size=1, storage_key=f"k{n}", meta={}, state="stored", expires_at=T0,
                ingested_at=T0)).inserted_primary_key[0])
        hold_ids = []
        for sources, times, listed, released in holds:
            a = T0 + timedelta(minutes=times[0]) if times else None
            b = a + timedelta(minutes=times[1]) if times and a else None
            hid = conn.execute(sa.insert(Hold).values(
                basis="b", placed_by="t", placed_at=T0, start_at=a, end_at=b,
                released_at=T0 if released else None)).inserted_primary_key[0]
            hold_ids.append(hid)
            for src in sources:
                conn.execute(sa.insert(HoldSource).values(hold_id=hid, source_id=src))
            for index in listed:
                if index < len(ids):
                    conn.execute(sa.insert(HoldItem).values(hold_id=hid, recording_id=ids[index]))
    expected = plain_rule(items, holds, ids, hold_ids)

    with shared.reading() as s:
        by_condition = set(s.execute(sa.select(Recording.id)
                                     .where(covered_by_active_hold())).scalars())
        assert by_condition == {rid for rid, hs in expected.items() if hs}
        mapped = held_map(s, ids)
        assert mapped == {rid: sorted(hs) for rid, hs in expected.items() if hs}
        facts = active_holds(s)
        for rec in s.execute(sa.select(Recording)).scalars():
            assert holds_of(s, rec) == sorted(expected[rec.id])
            item = ItemFacts(rec.id, rec.source_id, rec.start_at, rec.end_at)
            assert covering(facts, item) == sorted(expected[rec.id])


def test_the_rule_is_written_only_in_coverage() -> None:
    """Only holds/coverage.py decides coverage; holds.py places and lists holds, db/ defines
    the tables. A second spelling of the rule elsewhere would escape the test above."""
    src = Path(__file__).resolve().parent.parent / "src" / "kustosz"
    allowed = {src / "holds" / "coverage.py", src / "custody" / "holds.py"}
    naming = sorted(str(p.relative_to(src)) for p in src.rglob("*.py")
                    if p not in allowed and (src / "db") not in p.parents
                    and re.search(r"\bHold(Source|Item)\b|\bhold_(sources|items)\b",
                                  p.read_text("utf-8")))
    assert naming == [], f"hold tables read outside holds/coverage.py: {naming}"
    holds = (src / "custody" / "holds.py").read_text("utf-8")
    assert not re.search(r"(start|end)_at\s*[<>]=", holds), "coverage arithmetic in holds.py"
