"""A vault a newer Kustosz has upgraded is refused by this one (issue 14 item 6): `serve` and
every other verb that opens the vault say which revision the vault has and which this program
knows, and change nothing. A revision the code's scripts do not know stands in for the newer
release's migration (stamped into alembic_version), on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from kustosz.db.migrate import alembic_config, refuse_newer
from kustosz.errors import ConfigError
from kustosz.vault import Vault
from tests.conftest import Cli, make_vault, snapshot

FUTURE = "0999_from_a_newer_kustosz"
HEAD = "head"  # the core branch's latest revision, whichever it is now (0013, then 0015, …)


def _latest() -> str:
    return max(ScriptDirectory.from_config(alembic_config(sa.create_engine("sqlite://")))
               .get_heads())


def _versions(vault: Vault) -> list[str]:
    with vault.engine.connect() as conn:
        return sorted(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())


def _stamp_future(vault: Vault, replace: str | None) -> None:
    """As a newer release's migration would leave it: one branch head moved past ours
    (``replace``), or a new branch beside them (None)."""
    with vault.engine.begin() as conn:
        if replace is None:
            conn.execute(sa.text("INSERT INTO alembic_version (version_num) VALUES (:v)"),
                         {"v": FUTURE})
        else:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = :v "
                                 "WHERE version_num = :old"),
                         {"v": FUTURE, "old": _latest() if replace == HEAD else replace})


def _newer_vault(tmp_path: Path, url: str, replace: str | None) -> tuple[Vault, dict, list[str]]:
    vault = make_vault(tmp_path / "vault", url=url)
    assert _latest() in _versions(vault)  # the fixture's vault is at this program's heads
    _stamp_future(vault, replace)
    before = snapshot(vault), _versions(vault)
    vault.close()
    return vault, *before


def _said(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("replace", [HEAD, None], ids=["head-moved-on", "new-branch"])
def test_open_refuses_a_newer_schema_and_changes_nothing(tmp_path: Path, backend_url: str,
                                                         replace: str | None) -> None:
    vault, before, versions = _newer_vault(tmp_path, backend_url, replace)
    assert FUTURE in versions
    with pytest.raises(ConfigError) as refused:
        Vault.open(vault.root)
    message = str(refused.value)
    assert f"upgraded by a newer Kustosz (revision {FUTURE})" in message
    assert f"knows up to {_latest()}" in message
    assert "install that version or newer" in message
    assert FUTURE in (refused.value.pl or "") and "nowsz" in (refused.value.pl or "")
    assert (refused.value.pl or "").startswith("Ten skarbiec został zaktualizowany")
    # Nothing changed: no migration ran, no row, no file, not the version table.
    assert snapshot(vault) == before
    assert _versions(vault) == versions
    vault.close()


def test_every_verb_refuses_a_newer_schema(tmp_path: Path, backend_url: str) -> None:
    """In-process `kustosz` verbs (the CLI's one clear line, exit 2) and the real
    `python -m kustosz serve` in its own process: refused before anything starts."""
    vault, before, versions = _newer_vault(tmp_path, backend_url, HEAD)
    cli = Cli(vault.root)
    for verb in (("recordings", "list"), ("audit", "verify"), ("retention", "run"),
                 ("users", "list"), ("secrets", "forget-lost-key", "--yes")):
        result = cli(*verb, ok=False)
        assert result.exit_code == 2, (verb, result.output)
        assert f"newer Kustosz (revision {FUTURE})" in _said(result.output), verb
    served = subprocess.run([sys.executable, "-m", "kustosz", "--data", str(vault.root),
                             "serve", "--port", "0"], capture_output=True, text=True,
                            timeout=120, stdin=subprocess.DEVNULL)
    said = _said(served.stdout + served.stderr)
    assert served.returncode == 2, said
    assert f"this vault was upgraded by a newer Kustosz (revision {FUTURE}); this program " \
           f"knows up to {_latest()} — install that version or newer" in said
    assert "kustosz serve:" not in said  # refused before it started anything
    assert not (vault.root / "serve.lock").exists()
    assert snapshot(vault) == before
    assert _versions(vault) == versions
    vault.close()


def test_a_vault_at_the_heads_is_not_refused(vault: Vault) -> None:
    """The check itself: this program's own heads (and an older vault, which `upgrade`
    then migrates — tests/test_migrations*.py) pass."""
    versions = _versions(vault)
    refuse_newer(vault.engine)
    assert _latest() in versions and _versions(vault) == versions
