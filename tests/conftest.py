"""Shared fixtures: vaults on SQLite and on the real PostgreSQL, and a 'nothing changed' check."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
import typer.testing
from alembic.config import Config
from alembic.script import ScriptDirectory
from argon2 import PasswordHasher
from typer.testing import CliRunner

import kustosz.vault as vault_module
from kustosz.access import passwords
from kustosz.cli import app
from kustosz.db.engine import make_engine, sqlite_url
from kustosz.db.migrate import upgrade as real_upgrade
from kustosz.db.schema import metadata
from kustosz.ingest.camera import index_batch
from kustosz.vault import Vault
from tests.support import compile_cache, pg_worker, slow_first
from tests.support.pg_schema_pool import SchemaPool, template_data

# A worker's vaults in a database of its own (tests/support/pg_worker.py), set in the
# environment before any test module reads it, and inherited by the programs tests start.
if os.environ.get("KUSTOSZ_TEST_PG") and os.environ.get(pg_worker.WORKER_ENV):
    os.environ["KUSTOSZ_TEST_PG"] = pg_worker.own_database(
        os.environ["KUSTOSZ_TEST_PG"], os.environ[pg_worker.WORKER_ENV])
PG = os.environ.get("KUSTOSZ_TEST_PG")
# One cache of compiled SQL for the process's engines (tests/support/compile_cache.py).
compile_cache.install()


def pg_schema_url(schema: str) -> str:
    assert PG
    sep = "&" if "?" in PG else "?"
    return f"{PG}{sep}options=-csearch_path%3D{schema}"


# -- test vaults do not react to the host's disk -------------------------------------------------
# A test vault lives in the host's /tmp and measures that disk's free share. CI once ran on a
# disk left below 5 % free (a kept 30 GB benchmark database): the vaults' disk-pressure sweep
# then deleted the mail a fixture had just written, as it should on a full office disk, and 12
# tests failed over something they do not test. Vaults made by the tests start with no margin
# (min_free_percent = 0, the reserve and the full-disk handling stay); the tests of disk
# pressure are marked `disk_margin` and keep the default, measuring disks they control.
# Their reserve is 1 MiB, not 64: each vault that closes a chunk makes it with fallocate, and
# the 172 a run made held 11 GB of the host's disk until the run ended.
# The template is replaced when this file is imported, before any fixture runs: a module's
# fixture is set up before the function-scoped fixtures of its first test, and a vault it
# made with the old template kept the 5 % margin (test_issue29_browser's site lost its mail
# to the sweep on a CI disk at 2.2 % free).
DEFAULT_TEMPLATE = vault_module.TEMPLATE
NO_MARGIN = DEFAULT_TEMPLATE.replace("min_free_percent = 5.0\n",
                                     "min_free_percent = 0.0\nreserve_mib = 1\n")
assert NO_MARGIN != DEFAULT_TEMPLATE, "the template's margin line moved"
vault_module.TEMPLATE = NO_MARGIN


@pytest.fixture(autouse=True)
def _disk_margin_tests_keep_the_default(request: pytest.FixtureRequest,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("disk_margin") is not None:
        monkeypatch.setattr(vault_module, "TEMPLATE", DEFAULT_TEMPLATE)


# -- password hashes at their lowest cost -------------------------------------------------------
# argon2id with argon2-cffi's defaults (RFC 9106's low-memory profile: 3 passes over 64 MiB, 4
# lanes) costs about 0.1 s of CPU a hash and as much a check; the tests in this process make
# and check a password for nearly every signed-in page they open (a third of a plain web test's
# CPU; issue 52 item 7). They get argon2id at its lowest cost instead: the same code, the same
# hash format, each hash checked by the parameters written in it (as Django's own suites swap
# the hasher for a fast one). The cost is the product's own where it is what is tested: tests
# marked `real_password_cost` keep it (the dummy hash's cost, the login flood), and every
# `kustosz` a test starts in a process of its own hashes at the real cost.
REAL_HASHER = passwords._HASHER
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
passwords._HASHER, passwords._DUMMY = CHEAP_HASHER, passwords.dummy_of(CHEAP_HASHER)


@pytest.fixture(autouse=True)
def _real_password_cost_where_marked(request: pytest.FixtureRequest,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("real_password_cost") is not None:
        monkeypatch.setattr(passwords, "_HASHER", REAL_HASHER)
        monkeypatch.setattr(passwords, "_DUMMY", passwords.dummy_of(REAL_HASHER))


# -- the recorder's index batches do not wait for other cameras ----------------------------------
# SegmentIndex gathers the segments of every camera that arrive within 1 s (WINDOW_S) into one
# batch, so each segment waits up to that second before it is stored; a test waiting for its
# next segment waited with it, at every step. Tests take segments as soon as they come (what
# is waiting together still goes in one batch); the batches and their window are tested in
# tests/cameras/test_segment_batches.py, which sets its window itself, as does
# tests/clock_helpers.Camera.
@pytest.fixture(autouse=True)
def _index_batches_do_not_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    original = index_batch.SegmentIndex.__init__

    def no_window(self: index_batch.SegmentIndex, vault: Vault, window_s: float = 0.0) -> None:
        original(self, vault, window_s)

    monkeypatch.setattr(index_batch.SegmentIndex, "__init__", no_window)


# -- migrated once per session, copied into each new vault's database --------------------------
# Every test vault starts from an empty database that Vault.open migrates to the Alembic heads:
# 0.3-0.6 s a vault on the 2-core test machine, some 900 vaults a run. The migrations run for
# real once per session and backend, into a template; an empty database that a vault opens
# in this process then gets an exact copy of that result (SQLite: the backup API, page by
# page; PostgreSQL: pg_dump of the template schema replayed into the test's own schema), and
# the real `upgrade` runs right after it (a no-op at the heads, so a template behind the heads
# would still be caught up). Everything else runs the migrations as before: a database that
# has tables (the migration tests' own downgrades and upgrades), `kustosz` in a subprocess.
# tests/test_migration_template.py checks the copy against a real migration on both backends.
# A PostgreSQL schema whose test has ended, still the template's shape, is emptied back to the
# template and replaces the next vault's empty schema instead of the replay
# (tests/support/pg_schema_pool.py).
# The migration scripts are read once per session too: every Vault.open runs `upgrade`, and
# Alembic read env.py's 12 revision files anew each time (36 ms; 5 ms with them read once,
# ScriptDirectory kept for the session: the files do not change during a run, and the
# revisions run through the same `op` proxy whichever run loaded them).
# KUSTOSZ_TEST_MIGRATE_EACH=1 turns both off (every vault migrated from scratch).
PLAIN_NAME = re.compile(r"[a-z_][a-z0-9_]*")


class MigratedTemplate:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._sqlite: Path | None = None
        self._pg_script: str | None = None
        self._pg_schema = f"kt_template_{uuid.uuid4().hex[:12]}"
        self.copies = 0
        self.pool: SchemaPool | None = None  # tests/support/pg_schema_pool.py

    def sqlite_file(self) -> Path:
        if self._sqlite is None:
            path = self.folder / "template.db"
            engine = make_engine(sqlite_url(path))
            real_upgrade(engine)
            engine.dispose()  # the last connection checkpoints the WAL into the file
            self._sqlite = path
        return self._sqlite

    def pg_script(self) -> str | None:
        """The migrated template schema as SQL, its schema's name as ``{schema}``."""
        if self._pg_script is None and PG and shutil.which("pg_dump"):
            admin = sa.create_engine(PG.replace("postgresql://", "postgresql+psycopg://", 1))
            with admin.begin() as conn:
                conn.exec_driver_sql(f'CREATE SCHEMA "{self._pg_schema}"')
            engine = make_engine(pg_schema_url(self._pg_schema))
            real_upgrade(engine)
            engine.dispose()
            admin.dispose()
            dump = subprocess.run(
                ["pg_dump", "--no-owner", "--no-privileges", "--inserts",
                 "--schema", self._pg_schema, PG],
                capture_output=True, text=True, check=True).stdout
            # psql meta-commands (\restrict) and the CREATE SCHEMA out: the schema exists.
            lines = [line for line in dump.splitlines() if not line.startswith("\\")
                     and line != f"CREATE SCHEMA {self._pg_schema};"]
            script = "\n".join(lines)
            assert f"CREATE TABLE {self._pg_schema}.alembic_version" in script
            self._pg_script = script.replace(self._pg_schema, "{schema}")
            with contextlib.suppress(ValueError, subprocess.SubprocessError, psycopg.Error):
                if not os.environ.get("KUSTOSZ_TEST_SCHEMA_EACH"):
                    self.pool = SchemaPool(
                        lambda: psycopg.connect(PG, autocommit=True, connect_timeout=10),
                        self._pg_schema, template_data(PG, self._pg_schema))
        return self._pg_script

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
        if self._pg_script is not None:
            assert PG
            admin = sa.create_engine(PG.replace("postgresql://", "postgresql+psycopg://", 1))
            with admin.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{self._pg_schema}" CASCADE')
            admin.dispose()

    def upgrade(self, engine: sa.Engine) -> None:
        """Vault.open's ``upgrade``: an empty database gets the template first."""
        # Whatever goes wrong here (a database that does not answer) is the real upgrade's to
        # report, exactly as without the template.
        with contextlib.suppress(Exception):
            self._copy_if_empty(engine)
        real_upgrade(engine)

    def _copy_if_empty(self, engine: sa.Engine) -> None:
        raw = engine.raw_connection()
        try:
            db: Any = raw.driver_connection
            if engine.dialect.name == "sqlite":
                if db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0:
                    source = sqlite3.connect(self.sqlite_file())
                    try:
                        source.backup(db)
                    finally:
                        source.close()
                    self.copies += 1
                return
            schema = db.execute("SELECT current_schema()").fetchone()[0]
            empty = db.execute(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s", (schema,)).fetchone()[0] == 0
            db.rollback()
            if not empty or schema == "public" or not PLAIN_NAME.fullmatch(schema):
                return
            script = self.pg_script()
            if script is None:
                return
            if self.pool is None or not self.pool.take(db, schema):
                db.execute(script.replace("{schema}", schema))
            db.commit()
            self.copies += 1
        finally:
            # The script set the session's search_path: this connection is not reused.
            raw.invalidate()


@pytest.fixture(scope="session", autouse=True)
def migrated_template(
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigratedTemplate | None]:
    if os.environ.get("KUSTOSZ_TEST_MIGRATE_EACH"):
        yield None
        return
    template = MigratedTemplate(tmp_path_factory.mktemp("migrated"))
    read_once: dict[str | None, ScriptDirectory] = {}
    from_config = ScriptDirectory.from_config

    def scripts_read_once(cls: type[ScriptDirectory], config: Config) -> ScriptDirectory:
        where = config.get_main_option("script_location")
        if where not in read_once:
            read_once[where] = from_config(config)
        return read_once[where]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(vault_module, "upgrade", template.upgrade)
        mp.setattr(ScriptDirectory, "from_config", classmethod(scripts_read_once))
        try:
            yield template
        finally:
            template.close()


# -- the catalogs' dead rows ---------------------------------------------------------------------
# Every PostgreSQL test vault is a schema of some 60 tables, made and dropped. The test server
# runs without autovacuum, so pg_attribute, pg_class, pg_depend, pg_type, pg_trigger... kept
# every dead row of every run (hundreds of MB, millions of dead rows by the end of a run),
# and every CREATE, DROP and pg_dump read through them. The harness vacuums the database's
# own catalogs itself: before its first PostgreSQL vault and after every VACUUM_EVERY dropped
# schemas. Plain VACUUM takes no lock that blocks other sessions' DDL (TRUNCATE false: not
# even the short exclusive lock that gives the file's empty tail back; the space is reused).
# A user who may not vacuum the catalogs gets a warning from the server, not an error.
VACUUM_EVERY = 40
_schemas_dropped: int | None = None  # None: nothing vacuumed yet in this session


def vacuum_catalogs() -> None:
    assert PG
    admin = sa.create_engine(PG.replace("postgresql://", "postgresql+psycopg://", 1),
                             isolation_level="AUTOCOMMIT")
    # Only a speed-up: a server too busy to answer it (a lock or statement timeout, a
    # cancelled query) fails no test.
    try:
        with contextlib.suppress(sa.exc.OperationalError), admin.connect() as conn:
            names = conn.exec_driver_sql(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'pg_catalog' AND c.relkind = 'r' AND NOT c.relisshared "
                "ORDER BY 1").scalars().all()
            conn.exec_driver_sql("VACUUM (TRUNCATE false) "
                                 + ", ".join(f"pg_catalog.{name}" for name in names))
    finally:
        admin.dispose()


def schema_dropped() -> None:
    """Counts a dropped test schema; vacuums the catalogs every VACUUM_EVERY."""
    global _schemas_dropped
    _schemas_dropped = (_schemas_dropped or 0) + 1
    if _schemas_dropped % VACUUM_EVERY == 0:
        vacuum_catalogs()


@pytest.fixture
def pg_url(migrated_template: MigratedTemplate | None) -> Iterator[str]:
    """A fresh schema in the real PostgreSQL server, dropped afterwards (or, still the
    template's shape, emptied for another vault: tests/support/pg_schema_pool.py)."""
    global _schemas_dropped
    if not PG:
        pytest.skip("KUSTOSZ_TEST_PG is not set (make test sets it when PostgreSQL answers)")
    if _schemas_dropped is None:  # what earlier runs (and other sessions) left
        vacuum_catalogs()
        _schemas_dropped = 0
    schema = f"kt_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield pg_schema_url(schema)
    finally:
        pool = migrated_template.pool if migrated_template else None
        if pool is None or not pool.give_back(schema):
            with admin.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
            schema_dropped()
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_url(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return ""
    return request.getfixturevalue("pg_url")


def make_vault(root: Path, preset: str = "pleszew", url: str = "") -> Vault:
    return Vault.init(root, preset, url, actor="test")


@pytest.fixture
def vault(tmp_path: Path, backend_url: str) -> Iterator[Vault]:
    v = make_vault(tmp_path / "vault", url=backend_url)
    yield v
    v.close()


@pytest.fixture
def sqlite_vault(tmp_path: Path) -> Iterator[Vault]:
    v = make_vault(tmp_path / "vault")
    yield v
    v.close()


def snapshot(vault: Vault) -> dict[str, Any]:
    """Everything a bad input must not change: every table, every stored file, the audit head."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with vault.engine.connect() as conn:
        for table in metadata.sorted_tables:
            rows = conn.execute(sa.select(table)).all()
            tables[table.name] = sorted(tuple(str(v) for v in row) for row in rows)
    files = {}
    for path in sorted((vault.root / "media").rglob("*")):
        if path.is_file():
            files[str(path.relative_to(vault.root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    head = (vault.root / "audit.head").read_text() if (vault.root / "audit.head").exists() else ""
    config = (vault.root / "kustosz.toml").read_text()
    return {"tables": tables, "files": files, "head": head, "config": config}


# typer's CliRunner builds the whole click command tree from the app on every invoke: every
# command's signature read and each annotation evaluated again, ~0.1 s a call over some 500
# calls a run (issue 52 item 7). The app does not change within a run: built once.
typer.testing._get_command = functools.cache(typer.testing._get_command)


class Cli:
    """Runs the real `kustosz` command (in-process) against one data folder."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.runner = CliRunner()

    def __call__(self, *args: str, ok: bool = True) -> Any:
        result = self.runner.invoke(app, ["--data", str(self.data), *args],
                                    env={"KUSTOSZ_ACTOR": "tester", "COLUMNS": "200"})
        if ok and result.exit_code != 0:
            raise AssertionError(f"kustosz {' '.join(args)} failed ({result.exit_code}):\n"
                                 f"{result.output}\n{result.exception!r}")
        return result


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "vault")


def iso(value: datetime) -> str:
    return value.isoformat()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """The soft size budget after a whole run (tests/support/size_budget.py); not in xdist
    workers, and not when only a few tests were picked."""
    whole = ([], list(config.getini("testpaths")), [str(config.rootpath)])
    if hasattr(config, "workerinput") or config.args not in whole:
        return
    from tests.support.size_budget import report

    for line in report(Path(__file__).resolve().parents[1] / "src" / "kustosz"):
        terminalreporter.write_line(line)


# -- the longest tests first, on every worker (tests/support/slow_first.py, issue 52 item 7) ----
_durations = slow_first.recorder()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    slow_first.modify(items, config)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:  # xdist's, in the controller
    slow_first.tell_worker(node)


_CPU_AT = pytest.StashKey[float]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    item.stash[_CPU_AT] = slow_first.cpu_seconds()
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    yield
    if _CPU_AT in item.stash:
        used = slow_first.cpu_seconds() - item.stash[_CPU_AT]
        item.user_properties.append((slow_first.CPU_PROPERTY, round(used, 2)))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if _durations is not None:
        _durations.add(report)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _durations is not None and not hasattr(session.config, "workerinput"):
        _durations.workers = int(session.config.getoption("numprocesses", None) or 1)
        _durations.write(datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"))
