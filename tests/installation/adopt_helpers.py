"""A single office's vault for `offices adopt` to take in: made, recorded into, copied from and
audited through the real `kustosz` command (in-process, real ffmpeg), on SQLite or in a
PostgreSQL schema of its own; and the state a refused or failed adoption must leave as it was."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql
from sqlalchemy import select
from tests.conftest import PG, pg_schema_url
from tests.installation.install_helpers import Install, folder_state
from tests.installation.test_offices_own import WARSAW_EVENT, _copy_one

from kustosz.db.models import AuditEntry, Recording
from kustosz.vault import Vault


class OldVault:
    """A single office's vault at ``root`` (its schema on PostgreSQL), with one copy made."""

    def __init__(self, inst: Install, tmp: Path, name: str = "stary-urzad") -> None:
        self.root = tmp / name
        self.schema = f"kt_adopt_{uuid.uuid4().hex[:10]}" if inst.url else ""
        self.cli = Install(self.root, "", tmp)  # the same command, --data the vault
        self.tmp = tmp

    def make(self, record: bool = True) -> OldVault:
        args = ["init", "--preset", "pleszew"]
        if self.schema:
            assert PG
            with psycopg.connect(PG, autocommit=True) as conn:
                conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(self.schema)))
            args += ["--database-url", pg_schema_url(self.schema)]
        self.cli(*args)
        if record:
            self.first_copy = _copy_one(self.cli, None, self.tmp, "cam-ratusz")  # type: ignore[arg-type]
        return self

    def drop(self) -> None:
        if self.schema and PG:
            with psycopg.connect(PG, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                    sql.Identifier(self.schema)))


def another_copy(inst: Install, office: str | None, root: Path | None = None) -> str:
    """A second request for the first copy's event, agreed and copied: its number."""
    def run(*args: str) -> str:
        return str(inst(*args, office=office, root=root).output)

    tz = ZoneInfo("Europe/Warsaw")
    event = datetime.combine(datetime.now(UTC).astimezone(tz).date() - timedelta(days=2),
                             WARSAW_EVENT, tzinfo=tz)
    req = json.loads(run(
        "requests", "add", "--kind", "authority", "--material", "video", "--requester",
        "Sąd Rejonowy w Pleszewie 🏛️", "--case", "II K 7/26", "--date",
        event.date().isoformat(), "--time", "09:30", "--margin", "1", "--place",
        "Ratusz/hol parter", "--description", "zażalenie — ta sama bójka", "--purpose",
        "postępowanie", "--json"))
    run("requests", "decide", str(req["id"]), "--agree", "--by", "burmistrz", "--paper-ref",
        "OR.2")
    run("copies", "make", str(req["id"]), "--by", "it")
    numbers = [c["number"] for c in json.loads(run("copies", "list", "--json"))]
    return str(sorted(numbers, key=lambda n: int(n.split("/")[0]))[-1])


def recorded_intact(folder: Path) -> int:
    """Every recording read back from the office's store hashes to what the index says; how
    many."""
    vault = Vault.open(folder)
    try:
        with vault.reading() as s:
            recordings = list(s.execute(select(Recording)).scalars())
        for rec in recordings:
            with vault.storage.open(rec.storage_key) as f:
                assert hashlib.sha256(f.read()).hexdigest() == rec.sha256, rec.storage_key
        return len(recordings)
    finally:
        vault.close()


def last_entry(folder: Path) -> AuditEntry:
    vault = Vault.open(folder)
    try:
        with vault.reading() as s:
            found = s.execute(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)
                              ).scalar_one()
            return found
    finally:
        vault.close()


def schema_state(schema: str, url: str = "") -> tuple[Any, ...]:
    """A schema as the catalogue has it: its owner and rights, and each of its objects with
    its kind and owner (other tests' schemas come and go meanwhile: only this one is read)."""
    if not (url or PG) or not schema:
        return ()
    with psycopg.connect(url or PG or "", autocommit=True) as conn:
        found = conn.execute("SELECT nspowner::regrole::text, nspacl::text FROM pg_namespace "
                             "WHERE nspname = %s", (schema,)).fetchone()
        objects = conn.execute(
            "SELECT relname, relkind, relowner::regrole::text, relacl::text FROM pg_class "
            "WHERE relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = %s) "
            "ORDER BY 1", (schema,)).fetchall()
        functions = conn.execute(
            "SELECT proname, proowner::regrole::text, proacl::text FROM pg_proc WHERE "
            "pronamespace = (SELECT oid FROM pg_namespace WHERE nspname = %s) ORDER BY 1",
            (schema,)).fetchall()
    return found, tuple(objects), tuple(functions)


def files_state(root: Path) -> dict[str, str]:
    """Every path under ``root``, and the digest of every file but the live database's."""
    if not root.exists():
        return {}
    shown = folder_state(root)
    for rel, kind in shown.items():
        path = root / rel
        if kind == "file" and not path.name.startswith("kustosz.db"):
            shown[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return shown


def whole_state(inst: Install, *folders: Path, schema: str = "",
                url: str = "") -> tuple[Any, ...]:
    """The installation's and the vault's files, the vault's schema (``schema``, in the
    database of ``url`` or the tests') and the schemas and roles of the offices the test
    named."""
    return (files_state(inst.root), *(files_state(f) for f in folders),
            schema_state(schema, url), inst.server_objects())
