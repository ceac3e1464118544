"""Run Alembic migrations from inside the package (no alembic.ini needed at the office)."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine

from kustosz.db.deadline import patience
from kustosz.errors import ConfigError


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("kustosz.db") / "migrations"))
    cfg.attributes["engine"] = engine
    return cfg


def refuse_newer(engine: Engine, cfg: Config | None = None) -> None:
    """Refuse a database a newer Kustosz has migrated: a revision these scripts do not know.

    Alembic would stop on it too, but only with "Can't locate revision", and an older
    program must never write into a schema it does not know (it would miss the newer
    columns' rules). Reads only: nothing is written before the check passes.
    """
    scripts = ScriptDirectory.from_config(cfg or alembic_config(engine))
    with engine.connect().execution_options(kustosz_read=True) as conn:
        current = MigrationContext.configure(conn).get_current_heads()
        conn.rollback()
    unknown = []
    for revision in current:
        try:
            known = scripts.get_revision(revision)
        except CommandError:
            known = None
        if known is None:
            unknown.append(revision)
    if unknown:
        newer = ", ".join(sorted(unknown))
        # Revisions are numbered (0001, 0002, …) across the branches: the highest is the
        # release's own, the one an administrator compares.
        ours = max(scripts.get_heads())
        raise ConfigError(
            f"this vault was upgraded by a newer Kustosz (revision {newer}); this program "
            f"knows up to {ours} — install that version or newer; nothing was changed",
            pl=f"Ten skarbiec został zaktualizowany przez nowszą wersję programu Kustosz "
               f"(rewizja {newer}); ta wersja zna rewizje do {ours} — zainstaluj tę nowszą "
               f"wersję; niczego nie zmieniono")


MIGRATION_PATIENCE_S = 6 * 3600.0


def upgrade(engine: Engine) -> None:
    cfg = alembic_config(engine)
    refuse_newer(engine, cfg)
    # "heads": each material kind has its own migration branch off the core (0001). A
    # migration of a large index may keep the database busy for long (db.deadline).
    with patience(MIGRATION_PATIENCE_S):
        command.upgrade(cfg, "heads")
