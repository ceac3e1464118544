"""An office's backup is its own (issue 67 item 3): in an installation whose offices share a
PostgreSQL database, `backup` of one office dumps its schema alone — not a table of the
other office's — and pg_dump logs in as the office's role with the office's passfile (the
URL's `passfile`, which pg_dump used to be given no trace of)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from tests.installation.install_helpers import Install
from tests.test_backup import PASSPHRASE

from kustosz.backup.layout import PG_DUMP
from kustosz.backup.snapshot import make_backup, pg_env
from kustosz.installation.pg_scope import role_name, schema_name
from kustosz.vault import Vault

pytestmark = pytest.mark.pg


def test_an_offices_backup_holds_its_schema_alone(pg_inst: Install, tmp_path: Path) -> None:
    pg_inst.init()
    a = pg_inst.add("urzad")
    b = pg_inst.add("mops", "Miejski Ośrodek Pomocy Społecznej w Pleszewie 🏠")
    vault = Vault.open(pg_inst.root / "offices" / a)
    try:
        env = pg_env(str(vault.engine.url.render_as_string(hide_password=False)))
        assert env["PGUSER"] == role_name(a)
        assert env["PGPASSFILE"] == str(pg_inst.root / "offices" / a / "keys" / "pgpass")
        report = make_backup(vault, tmp_path / "kopia", PASSPHRASE, actor="test")
        assert report.manifest["schema"] == schema_name(a)
    finally:
        vault.close()
    listing = subprocess.run(["pg_restore", "--list", str(tmp_path / "kopia" / PG_DUMP)],
                             capture_output=True, text=True, check=True).stdout
    tables = {line.split()[-2] for line in listing.splitlines() if " TABLE " in line
              and not line.startswith(";")}
    assert "audit_log" in tables and "procrastinate_jobs" in tables
    assert schema_name(a) in listing
    assert schema_name(b) not in listing
