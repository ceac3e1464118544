"""A vault setting two writers create at once (issue 68's fresh clone: three serve nodes
started together, and one logged a UniqueViolation noting the rules it runs on): the second
writer updates the row the first inserted, on PostgreSQL's unique key, never fails on it. Every
setting the program writes goes through that upsert (a `session.merge` is a read, then an
insert that the other writer's insert fails); a row the session already holds is read anew."""

from __future__ import annotations

import re
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


def test_every_setting_the_program_writes_is_upserted() -> None:
    src = Path(__file__).resolve().parents[1] / "src" / "kustosz"
    # The cluster's folder is claimed by whoever inserts first, the others' inserts refused
    # on purpose (kustosz.cluster.folder): the one setting not to be upserted.
    first_wins = {"cluster/folder.py"}
    merged = [f"{path.relative_to(src)}:{n}" for path in sorted(src.rglob("*.py"))
              for n, line in enumerate(path.read_text().splitlines(), 1)
              if re.search(r"\.(merge|add)\(\s*Setting\(", line)
              and str(path.relative_to(src)) not in first_wins]
    assert merged == [], f"write settings with kustosz.db.settings.put_setting: {merged}"


def test_a_setting_the_session_holds_is_read_anew_after_the_upsert(tmp_path: Path) -> None:
    vault = make_vault(tmp_path / "vault")
    try:
        with vault.transaction() as s:
            put_setting(s, KEY, "stara: Łódź")
        with vault.transaction() as s:
            held = s.get(Setting, KEY)
            assert held is not None and held.value == "stara: Łódź"
            put_setting(s, KEY, "nowa: Źdźbło 📞")
            again = s.get(Setting, KEY)
            assert again is not None and again.value == "nowa: Źdźbło 📞"
        with vault.reading() as s:
            assert s.execute(select(Setting.value).where(Setting.key == KEY)).scalar_one() \
                == "nowa: Źdźbło 📞"
    finally:
        vault.close()
