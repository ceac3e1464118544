"""Run Alembic migrations from inside the package (no alembic.ini needed at the office)."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("kustosz.db") / "migrations"))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    # "heads": each material kind has its own migration branch off the core (0001).
    command.upgrade(alembic_config(engine), "heads")
