"""Each xdist worker's vaults in a database of its own (tests/support/pg_worker.py)."""

from __future__ import annotations

import os

import psycopg
import pytest

from tests.support import pg_worker


def test_a_workers_url_names_its_own_database() -> None:
    assert pg_worker.worker_url("postgresql://postgres@127.0.0.1:5432/test", "gw3") \
        == "postgresql://postgres@127.0.0.1:5432/test_gw3"
    assert pg_worker.worker_url("postgresql://u@h/test?sslmode=disable", "gw0") \
        == "postgresql://u@h/test_gw0?sslmode=disable"


def test_this_workers_vaults_are_in_its_database() -> None:
    url = os.environ.get("KUSTOSZ_TEST_PG")
    worker = os.environ.get(pg_worker.WORKER_ENV)
    if not url or not worker:
        pytest.skip("needs KUSTOSZ_TEST_PG and an xdist worker")
    with psycopg.connect(url) as conn:
        name = conn.execute("SELECT current_database()").fetchone()
    assert name is not None and name[0].endswith(f"_{worker}")
    assert pg_worker.own_database(url.rsplit("_", 1)[0], worker) == url  # made once, reused


def test_a_name_that_is_not_a_plain_word_keeps_the_shared_database() -> None:
    url = "postgresql://postgres@127.0.0.1:5432/test"
    assert pg_worker.own_database(url, 'gw0"; DROP') == url
