"""Issue 14 item 6: a vault made by the first released Kustosz (commit b6c645c, schema
0001–0008) is upgraded by the current code with nothing lost — every row, every media file
byte for byte, the holds (the sweep still keeps what they cover), the audit chain (verified
across the old entries and the migrations' own), the signed copy, the passwords — on SQLite
and PostgreSQL.

The fixture vaults in tests/fixtures/upgrade/b6c645c were made by that commit's code with
tests/fixtures/upgrade/make_fixture.py (its docstring says how); expected.json is what that
code counted and hashed right after making them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from kustosz.access.accounts import authenticate
from kustosz.audit.verifier import verify
from kustosz.custody.bundles import verify_bundle
from kustosz.db.custody import Copy
from kustosz.db.models import Hold, Recording, Source
from kustosz.ingest.events.search import search_events
from kustosz.ingest.mail.search import search_mail
from kustosz.retention.sweep import run_sweep
from kustosz.vault import Vault
from tests.conftest import PG, Cli, pg_schema_url

FIXTURE = Path(__file__).parent / "fixtures" / "upgrade" / "b6c645c"
OLD_SCHEMA = "kt_upgrade_fixture"
PASSWORD = "Stare-haslo-2026!"
# Rows the upgrade itself adds: the migrations audit what they did, and the vault keeps
# facts about itself (policy digest, keys) in vault_settings.
MAY_GROW = {"audit_log", "vault_settings"}
EXPECTED: dict[str, Any] = json.loads((FIXTURE / "expected.json").read_text())


def _sqlite(tmp_path: Path) -> Path:
    root = tmp_path / "vault"
    shutil.copytree(FIXTURE / "sqlite", root)
    return root


def _postgresql(tmp_path: Path) -> tuple[Path, str]:
    if not PG:
        pytest.skip("KUSTOSZ_TEST_PG is not set (make test sets it when PostgreSQL answers)")
    psql = shutil.which("psql")
    if psql is None:
        pytest.skip("psql (postgresql-client) is not installed")
    schema = f"kt_up_{uuid.uuid4().hex[:10]}"
    dump = (FIXTURE / "postgresql.sql").read_text().replace(OLD_SCHEMA, schema)
    subprocess.run([psql, "-q", "-v", "ON_ERROR_STOP=1", PG], input=dump, text=True,
                   check=True, capture_output=True)
    root = tmp_path / "vault"
    shutil.copytree(FIXTURE / "postgresql", root)
    config = root / "kustosz.toml"
    url = pg_schema_url(schema)
    text = config.read_text()
    old_url = next(line for line in text.splitlines() if line.startswith("database_url"))
    config.write_text(text.replace(old_url, f'database_url = "{url}"'))
    return root, schema


@pytest.fixture(params=["sqlite", "postgresql"])
def old_vault(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "sqlite":
        yield request.param, _sqlite(tmp_path)
        return
    root, schema = _postgresql(tmp_path)
    try:
        yield request.param, root
    finally:
        admin = sa.create_engine(PG.replace("postgresql://", "postgresql+psycopg://", 1))
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def _counts(vault: Vault) -> dict[str, int]:
    with vault.engine.connect() as conn:
        names = sa.inspect(conn).get_table_names()
        return {t: conn.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar_one()
                for t in names if t != "alembic_version"}


def _hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((root / "media").rglob("*")) if p.is_file()}


def test_old_vault_upgrades_with_nothing_lost(old_vault: tuple[str, Path]) -> None:
    backend, root = old_vault
    expected = EXPECTED[backend]
    made_at = datetime.fromisoformat(expected["made_at"])
    vault = Vault.open(root, actor="test")  # the upgrade: migrations 0009 onwards
    try:
        with vault.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar_one()
        counts = _counts(vault)
        for table, before in expected["counts"].items():
            if table in MAY_GROW:
                assert counts[table] >= before, table
            else:
                assert counts[table] == before, (table, before, counts[table])
        # Every file the old code stored is there, byte for byte, and each index row points
        # at one with the hash it recorded.
        assert _hashes(root) == expected["media"]
        with vault.reading() as s:
            stored = s.execute(select(Recording).where(Recording.state == "stored")).scalars()
            for rec in stored:
                data = vault.storage.path(rec.storage_key).read_bytes()
                assert hashlib.sha256(data).hexdigest() == rec.sha256, rec.storage_key

        # The audit chain holds across the old entries and what the migrations wrote.
        with vault.reading() as s:
            checked, problem = verify(s, root / "audit.head")
        assert problem is None and checked >= expected["counts"]["audit_log"]

        # The signed copy still verifies, the old passwords still log in, the monitoring
        # rows are still found.
        with vault.reading() as s:
            copy = s.execute(select(Copy)).scalar_one()
            bundle = root / copy.bundle
        verdict = verify_bundle(bundle)
        assert verdict.ok, verdict.problems
        with vault.transaction() as s:
            result = authenticate(s, "informatyk", PASSWORD, "127.0.0.1",
                                  now=datetime.now(UTC))
            assert result.user is not None and result.user.name == "informatyk"
        with vault.reading() as s:
            assert len(search_mail(s, address="j.kowalski@elblag.eu")) == 3
            assert len(search_events(s, user="anowak")) == 4
        # The holds still hold: a sweep long after every period ran out keeps exactly what
        # the police request's hold and the copy's request cover.
        with vault.reading() as s:
            holds = s.execute(select(Hold)).scalars().all()
            # the police's hold on the incident and the auto-hold of the registered request
            assert len(holds) == 2 and "RSD-45/26" in {h.case_ref for h in holds}
            held_before = {r.id for r in s.execute(select(Recording)).scalars()
                           if r.start_at < made_at - timedelta(days=40)}
        assert held_before  # the 45-day-old cam-hol segments the first hold kept
        run_sweep(vault, now=made_at + timedelta(days=400), actor="test")
        with vault.reading() as s:
            left = dict(s.execute(select(Recording.id, Source.name)
                                  .join(Source, Source.id == Recording.source_id)).all())
        assert held_before <= set(left)
        # what the request's hold covers: its day on both cameras of the hall; nothing else
        assert set(left.values()) == {"cam-hol", "cam-wejscie"}

    finally:
        vault.close()
    # The whole upgraded vault passes the administrator's own checks.
    cli = Cli(root)
    assert "intact" in cli("audit", "verify").output
