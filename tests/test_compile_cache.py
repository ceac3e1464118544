"""The test processes' shared cache of compiled SQL (tests/support/compile_cache.py): a second
engine of the same kind reuses what the first compiled, and each engine still reads and
writes its own database (PostgreSQL: its own schema, named only by the search_path)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from kustosz.db.engine import make_engine, sqlite_url
from tests.support import compile_cache

pytestmark = pytest.mark.skipif(
    not isinstance(sa.Engine.__dict__.get("_kt_shared"), bool),
    reason="KUSTOSZ_TEST_COMPILE_EACH is set: every engine compiles for itself")


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "kt_note"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str]


def _two_engines(urls: list[str]) -> list[sa.Engine]:
    engines = [make_engine(u) for u in urls]
    for engine, word in zip(engines, ["first", "second"], strict=True):
        Base.metadata.create_all(engine)
        with Session(engine) as s, s.begin():
            s.add(Note(text=word))  # the ORM's flush: the mapper's cache
    return engines


def _check(engines: list[sa.Engine]) -> None:
    query = sa.select(Note.text).where(Note.id > 0).order_by(Note.id)
    got = []
    for engine in engines:
        with engine.connect() as conn:
            got.append(conn.execute(query).scalars().all())
    assert got == [["first"], ["second"]]
    first, second = (e._compiled_cache for e in engines)
    assert isinstance(first, compile_cache.SharedCompiled)
    assert isinstance(second, compile_cache.SharedCompiled)
    assert second.hits > 0, "the second engine compiled the query again"
    mapper_cache = sa.inspect(Note)._compiled_cache
    assert isinstance(mapper_cache, compile_cache.SharedCompiled)
    assert mapper_cache.hits > 0, "the second flush compiled its INSERT again"
    for engine in engines:
        engine.dispose()


def test_two_sqlite_engines_share_compiled_sql_and_keep_their_own_rows(tmp_path: Path) -> None:
    _check(_two_engines([sqlite_url(tmp_path / "a.db"), sqlite_url(tmp_path / "b.db")]))


def test_two_postgresql_schemas_share_compiled_sql_and_keep_their_own_rows(
        request: pytest.FixtureRequest) -> None:
    first = request.getfixturevalue("pg_url")
    # pg_url is function-scoped: a second schema from the same factory, by hand.
    from tests.conftest import pg_schema_url

    schema = "kt_second_" + first.rsplit("kt_", 1)[1][:12]
    admin = make_engine(first)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        _check(_two_engines([first, pg_schema_url(schema)]))
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def test_another_kind_of_dialect_compiles_for_itself(tmp_path: Path, pg_url: str) -> None:
    query = sa.select(sa.literal("x", sa.String).label("x"), sa.func.now().label("now"))
    lite, pg = make_engine(sqlite_url(tmp_path / "a.db")), make_engine(pg_url)
    try:
        with lite.connect() as conn:
            conn.execute(query)
        with pg.connect() as conn:
            assert conn.execute(query).one().x == "x"
        assert pg._compiled_cache.hits == 0
        assert compile_cache.kind_of(lite.dialect) != compile_cache.kind_of(pg.dialect)
    finally:
        lite.dispose()
        pg.dispose()
