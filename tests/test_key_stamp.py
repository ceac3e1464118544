"""The stamp a storage key names, read in SQL for the sweep of a whole day (issue 68 item 3,
PostgreSQL): `record_days.key_stamp` reads the stamp after a key's first slash by position
when the characters there have the intake's shape, instead of PostgreSQL's regular
expression. The promise that keeps the audit log's record
asked rightly: wherever `holds.record.key_time` finds a time in a key, the SQL finds the
same one; where it finds none, the SQL's text may say anything (a later or unreadable stamp
only sends the source to be asked row by row)."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kustosz.holds.record import key_time
from kustosz.holds.record_days import _stamp, key_stamp

PG = os.environ.get("KUSTOSZ_TEST_PG")
pytestmark = pytest.mark.skipif(not PG, reason="KUSTOSZ_TEST_PG is not set")

NAME = st.text(st.sampled_from("abcŻółćęź-_.09😀/"), min_size=1, max_size=12)
DIGITS = st.text(st.sampled_from("01234567899٢"), min_size=1, max_size=7)
PART = st.one_of(DIGITS, st.text(st.sampled_from("0123456789abf-/."), max_size=9))


@st.composite
def keys(draw: st.DrawFn) -> str:
    """Keys of the intake's shape, near misses of it, and anything with slashes."""
    name = draw(NAME)
    y, m, d = draw(DIGITS), draw(DIGITS), draw(DIGITS)
    hms, hexa = draw(DIGITS), draw(st.text(st.sampled_from("0123456789abcdefg"), max_size=13))
    tail = draw(st.sampled_from(["", ".ts", ".wav", "/x.ts", "-1.mp4"]))
    shaped = f"{name}/{y}/{m}/{d}/{hms}-{hexa}{tail}"
    return draw(st.one_of(st.just(shaped), st.lists(PART, min_size=1, max_size=7).map("/".join)))


@pytest.fixture(scope="module")
def engine() -> sa.Engine:
    assert PG is not None
    return sa.create_engine(PG.replace("postgresql://", "postgresql+psycopg://", 1))


@settings(max_examples=150, deadline=None)
@given(st.lists(keys(), min_size=1, max_size=30))
@example(["cam01/2026/11/29/230000-0a1b2c3d4e5f.ts", "Łódź-1/2026/02/30/120000-ab.ts",
          "a/b/2026/11/29/230000-ab.ts", "cam/2026/11/29/2300-ab.ts", "x/2026/11/29/230000.ts"])
@example(["cam/2026/11/29/230000-/2030/01/01/000000-ab", "cam/2026/11/29/230000-AB/x.ts",
          "cam/2026/11/29/230000-ab/2030/01/01/000000-cd.ts", "2026/11/29/230000-ab",
          "cam/2026/1a/29/230000-ab", "cam/2026/11/29/23000٢-ab", "/2026/11/29/230000-f"])
def test_the_sql_finds_the_time_the_key_names(engine: sa.Engine, batch: list[str]) -> None:
    rows = sa.values(sa.column("k", sa.Text), name="keys").data([(k,) for k in batch])
    with engine.connect() as conn:
        got = conn.execute(sa.select(rows.c.k, key_stamp(rows.c.k))).all()
    for key, text in got:
        named = key_time(key)
        if named is not None:
            assert _stamp(text) == named, (key, text)


@settings(max_examples=150, deadline=None)
@given(st.lists(keys(), min_size=1, max_size=30))
@example(["cam/2024/12/31/235959-ab.ts", "cam/2024/9/01/000000-ab"])
@example(["cam/2024/12/31/235959-ab.ts", "cam/٢٠٢٤/12/31/235959-ab.ts"])
def test_the_days_latest_stamp_is_never_before_a_time_a_key_names(
        engine: sa.Engine, batch: list[str]) -> None:
    """What the day's check relies on: the `max` of the stamps over a source's rows, read as
    a time, is no earlier than any time `key_time` finds in them (or is no time at all, and
    the rows are asked one by one). A stamp not zero-padded would sort as text after a later
    one and hide it."""
    rows = sa.values(sa.column("k", sa.Text), name="keys").data([(k,) for k in batch])
    with engine.connect() as conn:
        text = conn.execute(sa.select(sa.func.max(key_stamp(rows.c.k)))).scalar_one()
    named = [t for t in map(key_time, batch) if t is not None]
    latest = _stamp(text)
    assert not named or latest is None or latest >= max(named), (batch, text)


def test_the_intake_shape_is_read_without_the_regular_expression() -> None:
    """The cheap path is the one taken for the intake's keys: the statement says so."""
    sql = str(sa.select(key_stamp(sa.literal_column("k"))).compile(
        compile_kwargs={"literal_binds": True}))
    assert "translate(substr(k, strpos(k, '/')" in sql and "CASE WHEN" in sql
