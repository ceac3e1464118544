"""Run Alembic migrations from inside the package (no alembic.ini needed at the office).

Every opening of the vault asks whether the database is at the heads, and nearly always it is.
That answer is read without Alembic: the version table with one query, the scripts' own
`revision`, `down_revision` and `depends_on` lines as text (`_shipped`). Alembic and its
templates (mako, pygments) cost ~0.4 s of CPU to import and ~0.2 s to read the 44 scripts, in
every command and every start (issue 52 item 7): they load only when something is to be
migrated, or refused, or a script says its revisions in a form the text reading does not know.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

from kustosz.db.deadline import patience
from kustosz.errors import ConfigError

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

VERSION_TABLE = "alembic_version"  # Alembic's default, which env.py keeps
# A script's revision lines as Alembic's template writes them: `revision = "0044"`,
# `down_revision = "0043"` (or a tuple, or None), `depends_on = ("0002", "0003")`.
_LINE = re.compile(r"^(revision|down_revision|depends_on)\s*(?::[^=\n]*)?=\s*(.+?)\s*$",
                   re.MULTILINE)


def _scripts_config() -> Config:
    from alembic.config import Config  # noqa: PLC0415 - see the module's docstring

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
    each time it is asked (44 of them, ~0.2 s)."""
    from alembic.script import ScriptDirectory  # noqa: PLC0415 - see the module's docstring

    return ScriptDirectory.from_config(_scripts_config())


@cache
def _shipped() -> tuple[frozenset[str], dict[str, frozenset[str]]] | None:
    """The shipped scripts' heads and each revision's parents (its down revisions and the
    revisions it depends on), read off their lines as text; None when a script does not say
    them as plain literals (then Alembic reads the scripts). A head is a revision no other one
    names as its down revision: one that is only depended on stays a head, as in Alembic."""
    folder = resources.files("kustosz.db") / "migrations" / "versions"
    parents: dict[str, frozenset[str]] = {}
    downs: set[str] = set()
    for entry in folder.iterdir():
        if not entry.name.endswith(".py") or entry.name.startswith(("__init__", ".#")):
            continue  # the files Alembic does not read as scripts either
        said = dict(_LINE.findall(entry.read_text("utf-8")))
        try:
            revision = ast.literal_eval(said["revision"])
            down, needs = (_names(ast.literal_eval(said.get(key, "None")))
                           for key in ("down_revision", "depends_on"))
        except (KeyError, ValueError, SyntaxError):
            return None
        if not isinstance(revision, str) or down is None or needs is None \
                or revision in parents:
            return None
        parents[revision] = down | needs
        downs |= down
    if not parents or not all(p <= parents.keys() for p in parents.values()):
        return None
    return frozenset(parents.keys() - downs), parents


def _names(value: object) -> frozenset[str] | None:
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset({value})
    if isinstance(value, tuple | list) and all(isinstance(v, str) for v in value):
        return frozenset(value)
    return None


def at_shipped_heads(current: set[str]) -> bool | None:
    """`at_every_head` from the scripts' text alone: True or False, or None when only
    Alembic can say (a script the text reading does not know, or a revision of ``current``
    these scripts do not ship: a newer program's, which `refuse_newer` names)."""
    shipped = _shipped()
    if shipped is None or not current or not current <= shipped[1].keys():
        return None
    heads, parents = shipped
    below: set[str] = set()
    todo = list(current)
    while todo:
        revision = todo.pop()
        if revision not in below:
            below.add(revision)
            todo.extend(parents[revision])
    return heads <= below


def current_heads(engine: Engine) -> set[str]:
    """The revisions the database is at (read only): Alembic's version table, as Alembic
    reads it (no table: none)."""
    with engine.connect().execution_options(kustosz_read=True) as conn:
        current: set[str] = set()
        if _has_version_table(conn):
            current = set(conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))
                          .scalars())
        conn.rollback()
    return current


def _has_version_table(conn: Connection) -> bool:
    """Whether the version table is there, as Alembic would find it (by the search path).
    SQLAlchemy's inspector answers the same from a query it compiles anew for every engine
    (the lookup with it 6.2 ms of CPU an opening on PostgreSQL, 3.9 ms with the backend's own
    words)."""
    if conn.dialect.name == "sqlite":
        return conn.execute(text("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                                 "AND name = :name"), {"name": VERSION_TABLE}).first() is not None
    if conn.dialect.name == "postgresql":
        return bool(conn.execute(text("SELECT to_regclass(:name) IS NOT NULL"),
                                 {"name": VERSION_TABLE}).scalar())
    return inspect(conn).has_table(VERSION_TABLE)


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
    from alembic.util import CommandError  # noqa: PLC0415 - see the module's docstring

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
    if at_shipped_heads(current):
        return  # every revision known, every head reached: nothing of Alembic's is needed
    refuse_newer(engine, current)
    if at_every_head(current):
        # Alembic would find nothing to do, after reading every script again and running
        # env.py: ~0.4 s of each opening of the vault (issue 52 item 7).
        return
    from alembic import command  # noqa: PLC0415 - see the module's docstring

    cfg = alembic_config(engine)
    # "heads": each material kind has its own migration branch off the core (0001). A
    # migration of a large index may keep the database busy for long (db.deadline).
    with patience(MIGRATION_PATIENCE_S):
        command.upgrade(cfg, "heads")
