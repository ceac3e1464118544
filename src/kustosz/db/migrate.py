"""Run Alembic migrations from inside the package (no alembic.ini needed at the office)."""

from __future__ import annotations

from functools import cache
from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine

from kustosz.db.deadline import patience
from kustosz.errors import ConfigError


def _scripts_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("kustosz.db") / "migrations"))
    return cfg


def alembic_config(engine: Engine) -> Config:
    cfg = _scripts_config()
    cfg.attributes["engine"] = engine
    return cfg


@cache
def scripts() -> ScriptDirectory:
    """The package's migration scripts, read once a process: Alembic reads every script file
    each time it is asked (44 of them, ~0.2 s), and every opening of the vault asks."""
    return ScriptDirectory.from_config(_scripts_config())


def current_heads(engine: Engine) -> set[str]:
    """The revisions the database is at (read only)."""
    with engine.connect().execution_options(kustosz_read=True) as conn:
        current = MigrationContext.configure(conn).get_current_heads()
        conn.rollback()
    return set(current)


def at_every_head(current: set[str]) -> bool:
    """Whether a database at ``current`` (revisions these scripts know) needs no migration:
    every head is at or below it. Alembic keeps no revision in its table that another one
    there depends on, so the heads are compared with everything below ``current``."""
    if not current:
        return False
    known = scripts()
    below = {r.revision for revision in current
             for r in known.iterate_revisions(revision, "base") if r is not None}
    return set(known.get_heads()) <= below


def refuse_newer(engine: Engine, current: set[str] | None = None) -> None:
    """Refuse a database a newer Kustosz has migrated: a revision these scripts do not know.

    Alembic would stop on it too, but only with "Can't locate revision", and an older
    program must never write into a schema it does not know (it would miss the newer
    columns' rules). Reads only: nothing is written before the check passes.
    """
    known_scripts = scripts()
    unknown = []
    for revision in sorted(current_heads(engine) if current is None else current):
        try:
            known = known_scripts.get_revision(revision)
        except CommandError:
            known = None
        if known is None:
            unknown.append(revision)
    if unknown:
        newer = ", ".join(sorted(unknown))
        # Revisions are numbered (0001, 0002, …) across the branches: the highest is the
        # release's own, the one an administrator compares.
        ours = max(known_scripts.get_heads())
        raise ConfigError(
            f"this vault was upgraded by a newer Kustosz (revision {newer}); this program "
            f"knows up to {ours} — install that version or newer; nothing was changed",
            pl=f"Ten skarbiec został zaktualizowany przez nowszą wersję programu Kustosz "
               f"(rewizja {newer}); ta wersja zna rewizje do {ours} — zainstaluj tę nowszą "
               f"wersję; niczego nie zmieniono")


MIGRATION_PATIENCE_S = 6 * 3600.0


def upgrade(engine: Engine) -> None:
    current = current_heads(engine)
    refuse_newer(engine, current)
    if at_every_head(current):
        # Alembic would find nothing to do, after reading every script again and running
        # env.py: ~0.4 s of each opening of the vault (issue 52 item 7).
        return
    cfg = alembic_config(engine)
    # "heads": each material kind has its own migration branch off the core (0001). A
    # migration of a large index may keep the database busy for long (db.deadline).
    with patience(MIGRATION_PATIENCE_S):
        command.upgrade(cfg, "heads")
