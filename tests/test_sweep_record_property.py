"""Issue 28 item 5, the rule as a property: whatever the database says of expiry and holds, the
sweep deletes a recording iff the retention the audit log records for it has passed (and the
database's too: a later date in the database only keeps it longer) and no hold covers it —
in the database or open in the audit log. Recordings of 0–60 days ago under the preset's 30
days; each row's expiry edited earlier, later or not at all; holds kept, released, or
removed from the database behind the audit log's back. The local folder (no store lock: the
audit log is the only check), SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kustosz.custody.holds import place_hold, release_hold
from kustosz.db.models import Recording
from kustosz.index.sources import add_source
from kustosz.ingest.files import ingest_file
from kustosz.policy import Period
from kustosz.policy.periods import local_day
from kustosz.retention import run_sweep
from kustosz.vault import Vault

EDITS = st.sampled_from(["none", "earlier", "later"])
HOLDS = st.sampled_from(["none", "kept", "released", "lost"])
ROW = st.tuples(st.integers(0, 60), EDITS, HOLDS)
COUNTER = itertools.count()


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(ROW, min_size=1, max_size=5))
def test_the_sweep_deletes_iff_the_record_lets_it(vault: Vault, tmp_path: Path,
                                                 rows: list[tuple[int, str, str]]) -> None:
    now = datetime.now(UTC)
    name = f"cam{next(COUNTER)}"
    with vault.transaction() as s:
        source = add_source(s, vault.policy, name, "camera", "test")
    period = Period.parse("30 days")  # the preset's (pleszew), as the audit log records it
    expected: set[int] = set()
    ids: list[int] = []
    for i, (days, edit, hold) in enumerate(rows):
        segment = tmp_path / f"{name}-{i}.ts"
        segment.write_bytes(b"\x47" * 188)
        start = now - timedelta(days=days, minutes=i)
        rec = ingest_file(vault, name, segment, start)
        ids.append(rec.id)
        if edit != "none":
            when = datetime(2026, 1, 1) if edit == "earlier" else \
                (now + timedelta(days=400)).replace(tzinfo=None)
            with vault.engine.begin() as conn:
                conn.execute(sa.text("UPDATE recordings SET expires_at = :t WHERE id = :i"),
                             {"t": when, "i": rec.id})
        if hold != "none":
            with vault.transaction() as s:
                placed = place_hold(s, sources=[], start=None, end=None, items=[rec.id],
                                    basis="p", actor="test")
                if hold == "released":
                    release_hold(s, placed.id, "r", "test")
            if hold == "lost":  # the attacker removes it from the database only
                with vault.engine.begin() as conn:
                    conn.execute(sa.text("DELETE FROM hold_items WHERE hold_id = :h"),
                                 {"h": placed.id})
                    conn.execute(sa.text("DELETE FROM holds WHERE id = :h"), {"h": placed.id})
        recorded = period.end(local_day(start, vault.policy.timezone), vault.policy.timezone)
        db_end = {"none": recorded, "earlier": datetime(2026, 1, 1, tzinfo=UTC),
                  "later": now + timedelta(days=400)}[edit]
        if recorded <= now and db_end <= now and hold in ("none", "released"):
            expected.add(rec.id)
    assert source.id
    run_sweep(vault, now)
    with vault.reading() as s:
        left = set(s.execute(sa.select(Recording.id).where(Recording.id.in_(ids))).scalars())
    assert set(ids) - left == expected
    assert all(vault.storage.exists(k) for k in _keys(vault, left))


def _keys(vault: Vault, ids: set[int]) -> list[str]:
    with vault.reading() as s:
        return list(s.execute(sa.select(Recording.storage_key)
                              .where(Recording.id.in_(ids))).scalars())
