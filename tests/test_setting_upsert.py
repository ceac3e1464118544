"""A vault setting two writers create at once (issue 68's fresh clone: three serve nodes
started together, and one logged a UniqueViolation noting the rules it runs on): the second
writer updates the row the first inserted, on PostgreSQL's unique key, never fails on it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session

from kustosz.db.models import Setting
from kustosz.db.settings import put_setting
from tests.conftest import make_vault

KEY = "test.two_writers"


def _waiting(conn: Connection) -> bool:
    """Whether a writer waits on a lock on the settings, looked at anew: PostgreSQL keeps
    one snapshot of pg_stat_activity for a whole transaction, so a look in the transaction
    of an earlier one would never see a wait that began after it (a CI run's failure)."""
    try:
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query LIKE '%vault_settings%'")).scalar_one())
    finally:
        conn.rollback()


def test_the_second_writer_of_a_new_setting_updates_it(tmp_path: Path, pg_url: str) -> None:
    vault = make_vault(tmp_path / "vault", url=pg_url)
    first, second = Session(vault.engine), Session(vault.engine)
    failed: list[BaseException] = []

    def other() -> None:
        try:
            time.sleep(1)
            put_setting(second, KEY, "drugi: Żółć 🙂")
            second.commit()
        except BaseException as exc:  # the test's verdict
            failed.append(exc)

    try:
        put_setting(first, KEY, "pierwszy: Józef")
        first.flush()  # inserted, not committed: the second insert waits on the key
        writer = threading.Thread(target=other)
        writer.start()
        deadline = time.monotonic() + 5
        with vault.engine.connect() as conn:
            while not _waiting(conn):
                assert time.monotonic() < deadline, "the second writer never waited"
                assert writer.is_alive(), failed
                time.sleep(0.02)
        first.commit()
        writer.join(30)
        assert not writer.is_alive() and failed == []
        with vault.reading() as s:
            assert s.execute(select(Setting.value).where(Setting.key == KEY)).scalar_one() \
                == "drugi: Żółć 🙂"
    finally:
        first.close()
        second.close()
        vault.close()
