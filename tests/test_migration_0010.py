"""Migration 0010 chains the access rows with a hash of its own, copied from
kustosz.audit.access_chain so that a later change there cannot change what the old migration
does (issue 32 item 1). While the live chain still hashes the same way the two must agree,
or rows chained by the migration would fail `kustosz audit verify`."""

from __future__ import annotations

import functools
import importlib.util
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from kustosz.audit.access_chain import GENESIS, access_hash

MIGRATION = (Path(__file__).resolve().parents[1] / "src" / "kustosz" / "db" / "migrations"
             / "versions" / "0010_audit_witness.py")


@functools.cache
def _migration():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("migration_0010", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_migration_imports_no_live_audit_code() -> None:
    text = MIGRATION.read_text()
    assert "kustosz.audit" not in text.replace("kustosz.audit.access_chain: a later", "")


@given(seq=st.integers(1, 2**40), viewing=st.integers(1, 2**31),
       at=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
       offset=st.integers(-12 * 60, 14 * 60), what=st.text(max_size=40),
       recording=st.none() | st.integers(1, 2**40), client=st.text(max_size=40),
       nbytes=st.integers(0, 2**40), prev=st.sampled_from([GENESIS, "ab" * 32]))
def test_the_copied_hash_equals_the_live_one(seq: int, viewing: int, at: datetime, offset: int,
                                             what: str, recording: int | None, client: str,
                                             nbytes: int, prev: str) -> None:
    moment = at.replace(tzinfo=timezone(timedelta(minutes=offset))).astimezone(UTC)
    old = _migration()
    assert old.GENESIS == GENESIS
    assert old.access_hash(seq, viewing, moment, what, recording, client, nbytes, prev) == \
        access_hash(seq, viewing, moment, what, recording, client, nbytes, prev)
