"""Traces of material go with it (R2.2): the phone intake's rows about skipped files carry
the spool path, which holds the call's numbers; they are removed when a recording of that day
would be, by the same period arithmetic (property test), and the sweep does it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from kustosz.db.calls import PhoneProblem
from kustosz.db.models import AuditEntry, Source
from kustosz.index.expiry import expiry_of
from kustosz.index.sources import add_source
from kustosz.retention import run_sweep
from kustosz.retention.traces import prune_traces
from kustosz.vault import Vault
from tests.conftest import make_vault

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def phones(tmp_path: Path, backend_url: str) -> Iterator[Vault]:
    # Bolesławiec's regulation (001) keeps call recordings 3 calendar months.
    v = make_vault(tmp_path / "vault", "boleslawiec", backend_url)
    with v.transaction() as s:
        add_source(s, v.policy, "centrala", "phone", "test")
        add_source(s, v.policy, "sekretariat", "phone", "test", retention="30 days")
    yield v
    v.close()


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ats=st.lists(st.tuples(st.sampled_from(["centrala", "sekretariat"]),
                              st.integers(0, 400 * 24 * 60)), max_size=12),
       now_minutes=st.integers(0, 500 * 24 * 60))
def test_a_problem_row_lives_exactly_as_long_as_a_recording_of_its_day(
        phones: Vault, ats: list[tuple[str, int]], now_minutes: int) -> None:
    now = T0 + timedelta(minutes=now_minutes)
    with phones.transaction() as s:
        s.execute(delete(PhoneProblem))
        sources = {x.name: x for x in s.execute(select(Source)).scalars()}
        for name, minute in ats:
            s.add(PhoneProblem(source_id=sources[name].id, at=T0 + timedelta(minutes=minute),
                               item="2026/01/01/in-600100200-out.wav", message="unreadable"))
    with phones.transaction() as s:
        prune_traces(s, phones.policy, now, "test")
    with phones.reading() as s:
        left = sorted((p.source_id, p.at) for p in s.execute(select(PhoneProblem)).scalars())
    expected = sorted((sources[n].id, T0 + timedelta(minutes=m)) for n, m in ats
                      if expiry_of(sources[n], T0 + timedelta(minutes=m), phones.policy) > now)
    assert left == expected


def test_the_sweep_removes_old_problem_rows_and_says_so(phones: Vault) -> None:
    now = datetime.now(UTC)
    with phones.transaction() as s:
        src = s.execute(select(Source).where(Source.name == "centrala")).scalar_one()
        for days in (200, 100, 10):
            s.add(PhoneProblem(source_id=src.id, at=now - timedelta(days=days),
                               item=f"in-600100200-{days}.wav", message="unreadable"))
    report = run_sweep(phones, now)
    assert report.traces == 2 and report.as_json()["traces_removed"] == 2
    with phones.reading() as s:
        assert [p.item for p in s.execute(select(PhoneProblem)).scalars()] == \
            ["in-600100200-10.wav"]
        audits = list(s.execute(select(AuditEntry.details).where(
            AuditEntry.action == "retention.traces")).scalars())
    assert len(audits) == 1 and "600100200" not in audits[0]
    assert run_sweep(phones, now).traces == 0  # nothing more to remove, no more audit
