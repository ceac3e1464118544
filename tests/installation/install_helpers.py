"""An installation of offices for the tests, on SQLite or on the real PostgreSQL, run through
the real `kustosz` command (in-process). On PostgreSQL every office's slug ends in a random
suffix (roles are the server's, not one database's) and its schema and role are dropped
afterwards whatever the test did."""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from tests.conftest import PG
from typer.testing import CliRunner

import kustosz.vault as vault_module
from kustosz.access import support
from kustosz.cli import app
from kustosz.db.migrate import upgrade as real_upgrade
from kustosz.installation.pg_scope import ROLE_PREFIX, SCHEMA_PREFIX, role_name, schema_name
from kustosz.vault import Vault

PLESZEW = (resources.files("kustosz.policy") / "presets" / "pleszew.toml").read_text("utf-8")
PLESZEW_NAME = "Urząd Miasta i Gminy Pleszew"


def preset_text(office_name: str = PLESZEW_NAME) -> str:
    """Pleszew's regulation as an office's own preset file, under another office's name."""
    return PLESZEW.replace(f'name = "{PLESZEW_NAME}"', f'name = "{office_name}"', 1)


class Install:
    """One installation folder and the `kustosz` command run against it."""

    def __init__(self, root: Path, url: str, tmp: Path) -> None:
        self.root, self.url, self.tmp = root, url, tmp
        self.runner = CliRunner()
        self.slugs: list[str] = []  # every slug the test named (dropped afterwards on PG)

    def slug(self, base: str) -> str:
        """A slug for this test: on PostgreSQL with a random suffix, unique on the server."""
        name = f"{base}-{uuid.uuid4().hex[:8]}" if self.url else base
        self.slugs.append(name)
        return name

    def __call__(self, *args: str, office: str | None = None, ok: bool = True,
                 root: Path | None = None) -> Any:
        where = ["--data", str(root or self.root)]
        if office is not None:
            where += ["--office", office]
        result = self.runner.invoke(app, [*where, *args],
                                    env={"KUSTOSZ_ACTOR": "tester", "COLUMNS": "250",
                                         "KUSTOSZ_OFFICE": None})
        if ok and result.exit_code != 0:
            raise AssertionError(f"kustosz {' '.join(args)} failed ({result.exit_code}):\n"
                                 f"{result.output}\n{result.exception!r}")
        return result

    def init(self, name: str = "Gmina Przykładowa") -> None:
        args = ["offices", "init", "--name", name]
        self(*args, *(["--database", self.url] if self.url else []))

    def preset(self, office_name: str = PLESZEW_NAME, text: str | None = None) -> Path:
        path = self.tmp / f"preset-{uuid.uuid4().hex[:6]}.toml"
        path.write_text(text if text is not None else preset_text(office_name), "utf-8")
        return path

    def add(self, base: str, office_name: str = PLESZEW_NAME, grant: bool = True) -> str:
        """A new office. ``grant``: its head grants the installation's command line support
        access, as these tests act for the office through it (kustosz.cli.office_gate;
        test_support_grants.py tests the gate itself with ``grant=False``)."""
        slug = self.slug(base)
        self("offices", "add", slug, "--preset-file", str(self.preset(office_name)))
        if grant:
            self.grant(slug)
        return slug

    def grant(self, slug: str, hours: int = support.MAX_HOURS, root: Path | None = None) -> int:
        """What the office's head does on its support page, done on the office's vault; the
        grant in force when there is one (a restored office has none: its grants end)."""
        vault = Vault.open((root or self.root) / "offices" / slug, actor="kierownik")
        try:
            with vault.transaction() as s:
                current = support.in_force(s)
                if current is not None:
                    return current.id
                return support.grant(s, "kierownik", "testy / tests", hours).id
        finally:
            vault.close()

    def server_objects(self) -> set[str]:
        """The schemas and roles of the offices this test named that the server has (roles
        are the whole server's: other tests' come and go meanwhile)."""
        mine = {f"schema {schema_name(s)}" for s in self.slugs} | \
            {f"role {role_name(s)}" for s in self.slugs}
        return server_objects() & mine

    def office_url(self, slug: str) -> str:
        import tomllib

        text = (self.root / "offices" / slug / "kustosz.toml").read_text("utf-8")
        return str(tomllib.loads(text)["database_url"])


def server_objects() -> set[str]:
    """Every office schema and role on the test server."""
    if not PG:
        return set()
    with psycopg.connect(PG, autocommit=True) as conn:
        schemas = conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE %s",
                               (f"{SCHEMA_PREFIX}%",)).fetchall()
        roles = conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE %s",
                             (f"{ROLE_PREFIX}%",)).fetchall()
    return {f"schema {r[0]}" for r in schemas} | {f"role {r[0]}" for r in roles}


def drop_office(slug: str) -> None:
    assert PG
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE usename = %s", (role_name(slug),))
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
            sql.Identifier(schema_name(slug))))
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role_name(slug))))


def folder_state(root: Path) -> dict[str, str]:
    """Every path under ``root`` and the digest of each settings file."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        out[rel] = hashlib.sha256(path.read_bytes()).hexdigest() \
            if path.is_file() and path.suffix == ".toml" else "dir" if path.is_dir() else "file"
    return out


@contextlib.contextmanager
def installation(tmp_path: Path, backend: str,
                 monkeypatch: pytest.MonkeyPatch) -> Iterator[Install]:
    if backend == "postgresql" and not PG:
        pytest.skip("KUSTOSZ_TEST_PG is not set")
    if backend == "postgresql":
        # The offices' schemas are migrated for real, as their own roles: the suite's copy of
        # a migrated template (tests/conftest.py) is made for its own schemas, not these.
        monkeypatch.setattr(vault_module, "upgrade", real_upgrade)
    made = Install(tmp_path / "gmina", (PG or "") if backend == "postgresql" else "", tmp_path)
    try:
        yield made
    finally:
        if made.url:
            for slug in made.slugs:
                drop_office(slug)
