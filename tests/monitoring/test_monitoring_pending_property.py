"""For random events split between stored chunks and open ones (written by the real writer,
their bounds widened by events far from their window), `search_events` returns exactly what a
plain filter over all of them returns, in order (by time; stored before pending at the same
time), up to the limit — on SQLite and on PostgreSQL."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from monitoring_helpers import endpoint
from pending_helpers import event, open_chunk
from tests.conftest import PG, pg_schema_url

from kustosz.db.events import MonitoringEvent
from kustosz.db.functions import fold
from kustosz.db.models import Recording
from kustosz.index.sources import get_source
from kustosz.ingest.events.search import index_events, search_events
from kustosz.vault import Vault

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
SOURCES = ("fw", "siem")
HOSTS = ("PC-1", "pc-1", "pc-2", "ŁÓDŹ-3")
USERS = ("jkowalski", "JKOWALSKI", "anowak", "")
CATEGORIES = ("malware", "data_leak", "work_performance")
MESSAGES = ("USB connected", "logon", "Logoff x", "malware found", "Zmiana ŁĄCZA")

events_st = st.lists(st.tuples(
    # Minutes from T0: often equal (ties between stored and pending), sometimes far off the
    # open chunk's hour (its bounds must widen).
    st.sampled_from(SOURCES), st.one_of(st.integers(-3, 3), st.integers(-3000, 3000)),
    st.sampled_from(HOSTS),
    st.sampled_from(USERS), st.sampled_from(CATEGORIES), st.sampled_from(MESSAGES),
    st.sampled_from(("closed", "open-earlier", "open"))), max_size=20)


def maybe(*values: Any) -> st.SearchStrategy[Any]:
    """Mostly no filter, so that results are not mostly empty."""
    return st.sampled_from((None,) * 2 * len(values) + values)


query_st = st.fixed_dictionaries({
    "host": maybe("pc-1", "PC-1", "łódź-3", "ŁÓDŹ-3"),
    "user": maybe("jkowalski", "JKowalski", "anowak"),
    "category": maybe(*CATEGORIES),
    "source": maybe(*SOURCES),
    "text": maybe("usb", "LOG", "x", "łącza"),
    "start": st.one_of(st.none(), st.none(), st.integers(-5, 5), st.integers(-3000, 0)),
    "end": st.one_of(st.none(), st.none(), st.integers(-5, 5), st.integers(0, 3000)),
    "limit": st.one_of(st.integers(1, 3), st.integers(1, 12))})


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shared(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Vault]:
    url, schema = "", None
    if request.param == "postgresql":
        if not PG:
            pytest.skip("KUSTOSZ_TEST_PG is not set")
        schema = f"kt_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(PG.replace("postgresql://", "postgresql+psycopg://", 1))
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        url = pg_schema_url(schema)
    vault = Vault.init(Path(tmp_path_factory.mktemp("pending")) / "v", "elblag", url,
                       actor="t")
    for name in SOURCES:
        endpoint(vault, name, syslog_tcp="127.0.0.1:0", syslog_udp="", http="")
    yield vault
    vault.close()
    if schema is not None:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def _store(vault: Vault, source: str, record: dict[str, Any], n: int) -> None:
    """One stored chunk of one line, indexed by the real indexer."""
    with vault.transaction() as s:
        src = get_source(s, source)
        rec = Recording(source_id=src.id, kind="endpoint", start_at=T0, end_at=T0, size=1,
                        sha256="0" * 64, storage_key=f"k{n}", meta={"folder": f"f{n}"},
                        state="stored", expires_at=T0, ingested_at=T0)
        s.add(rec)
        s.flush()
        index_events(s, src.id, rec.id, [(1, record)], {})


@settings(max_examples=500, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(items=events_st, q=query_st)
def test_search_equals_a_plain_filter(shared: Vault, items: list[Any],
                                      q: dict[str, Any]) -> None:
    vault = shared
    with vault.engine.begin() as conn:
        conn.execute(sa.delete(MonitoringEvent))
        conn.execute(sa.delete(Recording))
    shutil.rmtree(vault.root / "spool" / "monitoring", ignore_errors=True)
    expected: list[tuple[Any, ...]] = []
    folders: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for n, (source, minute, host, user, category, text, where) in enumerate(items):
        at = T0 + timedelta(minutes=minute)
        window = T0 - timedelta(hours=1) if where == "open-earlier" else T0
        record = event(window + timedelta(seconds=n), at=at, host=host, user=user,
                       category=category, message=text)
        row = {"source": source, "at": at, "host": host.lower(), "user": user.lower(),
               "category": category, "message": text}
        if where == "closed":
            _store(vault, source, record, n)
            expected.append(((at, 0, n, "", "", 0), row, False))
        else:
            lines = folders.setdefault((source, where), [])
            lines.append(record)
            name = f"{window:%Y%m%dT%H%M%SZ}-{source}"
            expected.append(((at, 1, 0, name, source, len(lines)), row, True))
    for (source, where), records in folders.items():
        window = T0 - timedelta(hours=1) if where == "open-earlier" else T0
        open_chunk(vault, source, window, records, tag=source)

    start = T0 + timedelta(minutes=q["start"]) if q["start"] is not None else None
    end = T0 + timedelta(minutes=q["end"]) if q["end"] is not None else None
    wanted = [(row, pending) for _, row, pending in sorted(expected, key=lambda e: e[0])
              if (not q["host"] or row["host"] == q["host"].lower())
              and (not q["user"] or row["user"] == q["user"].lower())
              and (not q["category"] or row["category"] == q["category"])
              and (not q["source"] or row["source"] == q["source"])
              # any letter case, Polish ones too, on both databases
              and (not q["text"] or fold(q["text"]) in fold(row["message"]))
              and (start is None or row["at"] >= start) and (end is None or row["at"] <= end)
              ][:q["limit"]]
    with vault.reading() as s:
        got = search_events(s, host=q["host"], user=q["user"], category=q["category"],
                            source=q["source"], text=q["text"], start=start, end=end,
                            limit=q["limit"])
    assert [({k: e[k] for k in ("source", "at", "host", "user", "category", "message")},
             e["pending"]) for e in got] == wanted
