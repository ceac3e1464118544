"""Two copies registered at once on PostgreSQL (issue 32's leftover): each reads the year's
highest number under the audit chain's lock, so the second waits for the first to commit and
takes the next number, instead of reading the same one and failing on the unique constraint.
Real PostgreSQL, two connections; whether the second waits is read from pg_locks, not guessed
from a sleep."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text
from tests.conftest import make_vault
from tests.custody.custody_helpers import registered, setup_camera

from kustosz.custody.copy_numbers import next_number
from kustosz.custody.requests import RequestSpec
from kustosz.db import office_keys
from kustosz.db.custody import Copy


def _copy(request_id: int, seq: int, number: str) -> Copy:
    now = datetime.now(UTC)
    return Copy(number=number, year=2026, seq=seq, request_id=request_id, start_at=now,
                end_at=now, made_by="test", made_at=now, expires_at=now + timedelta(days=30),
                bundle=f"copies/2026/{seq:04d}", manifest_sha256="0" * 64, state="kept")


def test_two_copies_at_once_take_two_numbers(tmp_path: Path, pg_url: str) -> None:
    vault = make_vault(tmp_path / "vault", url=pg_url)
    try:
        setup_camera(vault)
        now = datetime.now(UTC)
        tz = vault.policy.timezone
        rid = registered(vault, RequestSpec(
            kind="authority", material="video", requester="KPP Pleszew",
            received_on=now.astimezone(tz).date(), event_date=now.astimezone(tz).date(),
            purpose="postępowanie", description="kradzież", cameras=["cam-hol"],
            start=now - timedelta(minutes=5), end=now), now, agree=None).id
        first_has_it = threading.Event()
        second: dict[str, object] = {}

        def the_second() -> None:
            first_has_it.wait(30)
            try:
                with vault.transaction() as s:
                    seq, number = next_number(s, 2026)
                    s.add(_copy(rid, seq, number))
                    second["number"] = number
            except Exception as exc:  # reported below, not lost in the thread
                second["error"] = exc

        waiter = threading.Thread(target=the_second)
        waiter.start()
        with vault.transaction() as s:
            seq, number = next_number(s, 2026)
            first_has_it.set()
            # the second is now waiting for the lock this transaction holds
            deadline = datetime.now(UTC) + timedelta(seconds=30)
            with vault.engine.connect() as watch:
                while watch.execute(text(  # this vault's chain lock, not another's
                        "SELECT count(*) FROM pg_locks l WHERE NOT l.granted AND "
                        + office_keys.held_sql(office_keys.AUDIT_CHAIN))).scalar() == 0:
                    assert datetime.now(UTC) < deadline, "the second never waited"
                    time.sleep(0.05)
            s.add(_copy(rid, seq, number))
        waiter.join(30)
        assert not waiter.is_alive()
        assert "error" not in second, second
        assert (number, second["number"]) == ("1/2026", "2/2026")
    finally:
        vault.close()
