"""Review #27 attack: `is_database_away` takes errors that say a statement is wrong (or can
never succeed) for an outage; every loop then retries them for ever, logging once as
'the database is away'. Against the shared PostgreSQL (a real server's real errors)."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text

from kustosz.db.outage import is_database_away

pytestmark = pytest.mark.pg
URL = os.environ.get("KUSTOSZ_TEST_PG", "").replace("postgresql://", "postgresql+psycopg://")


@pytest.mark.parametrize("sql", [
    # 54000 program_limit_exceeded: a value no retry makes fit
    "SELECT repeat('x', 1073741824)",
    # 55000 object_not_in_prerequisite_state: a programming error
    "SELECT currval('review27_never_used_seq')",
    # 57014 statement_timeout: a statement too slow for the limit is as slow next time
    "SET LOCAL statement_timeout = '50ms'; SELECT pg_sleep(1)",
])
def test_a_statement_that_cannot_succeed_is_no_outage(sql: str) -> None:
    if not URL:
        pytest.skip("no KUSTOSZ_TEST_PG")
    engine = create_engine(URL)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TEMP SEQUENCE IF NOT EXISTS review27_never_used_seq"))
            with pytest.raises(Exception) as caught:
                for part in sql.split(";"):
                    conn.execute(text(part))
        assert not is_database_away(caught.value), (type(caught.value.orig).__name__,
                                                    caught.value.orig.sqlstate)
    finally:
        engine.dispose()
