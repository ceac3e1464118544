"""Migrations from day one: the Alembic head builds exactly the schema the models describe,
on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from kustosz.db.jobs import outside_model
from kustosz.db.schema import metadata
from kustosz.vault import Vault

PARTITION = re.compile(r"^recordings_(legacy|rest|d\d{8})$")


def _partitioned_only(item: object) -> bool:
    """What PostgreSQL's partitioned index (0062) differs in from the model, by design
    (docs/design.md, "Retention as partitions"): no foreign key references `recordings.id`,
    and its unique keys carry `start_at`."""
    op = item[0] if isinstance(item, tuple) else None
    thing = item[1] if isinstance(item, tuple) and len(item) > 1 else None
    table = getattr(getattr(thing, "table", None), "name", None) or getattr(
        getattr(thing, "parent", None), "name", None)
    if op in ("remove_fk", "add_fk"):
        return getattr(thing, "referred_table", None) is not None and \
            thing.referred_table.name == "recordings"  # type: ignore[union-attr]
    return op in ("add_constraint", "remove_constraint") and table == "recordings"


def test_migrations_match_models(vault: Vault) -> None:
    with vault.engine.connect() as conn:
        # the job queue's tables (0020) are not the vault's model (kustosz.db.jobs), nor are
        # the index's partitions (0062) tables of their own
        context = MigrationContext.configure(conn, opts={
            "include_name": lambda name, type_, _parents: not outside_model(name, type_)
            and not (type_ == "table" and PARTITION.match(name or ""))})
        diff = compare_metadata(context, metadata)
    if vault.engine.dialect.name == "postgresql":
        diff = [item for item in diff if not _partitioned_only(item)]
    assert diff == []


def test_open_is_idempotent(vault: Vault) -> None:
    again = Vault.open(vault.root)
    from alembic.script import ScriptDirectory

    from kustosz.db.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config(again.engine))
    heads = set(script.get_heads())
    with again.engine.connect() as conn:
        applied = set(conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars())
    # A head another revision depends on (0002, needed by 0009) is not listed on its own.
    reached = {r.revision for r in script.iterate_revisions(tuple(applied), "base")}
    assert applied <= heads and heads <= reached
    again.close()


def test_sqlite_runs_in_wal_mode(sqlite_vault: Vault) -> None:
    with sqlite_vault.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"


def test_0008_moves_who_of_mail_and_events_requests_out_of_place(vault: Vault) -> None:
    """A mail/events request kept whom it concerns in `place` before 0008; the upgrade moves
    it to `who` and leaves video requests' places alone (and the downgrade puts it back)."""
    from alembic import command
    from sqlalchemy import text

    from kustosz.db.migrate import alembic_config, upgrade

    cfg = alembic_config(vault.engine)
    command.downgrade(cfg, "0007")
    rows = [(1, "mail", "jan.kowalski@um.elblag.pl"), (2, "events", "pc-kadry-01"),
            (3, "video", "ratusz/hol")]
    with vault.engine.begin() as conn:
        for rid, material, place in rows:
            conn.execute(text(
                "INSERT INTO custody_requests (id, kind, material, requester, received_on, "
                "event_date, place, sources, start_at, end_at, items, purpose, status, late, "
                "registered_by, registered_at) VALUES (:id, 'authority', :m, 'Policja', "
                "'2026-11-20', '2026-11-20', :p, '[]', :t, :t, '[]', 'cel', 'registered', "
                ":f, 'test', :t)"), {"id": rid, "m": material, "p": place, "f": False,
                                     "t": "2026-11-20 10:00:00+00:00"})
    upgrade(vault.engine)
    with vault.engine.connect() as conn:
        got = sorted(conn.execute(text("SELECT id, place, who FROM custody_requests")).all())
    assert [tuple(r) for r in got] == [(1, None, "jan.kowalski@um.elblag.pl"),
                                       (2, None, "pc-kadry-01"), (3, "ratusz/hol", None)]
    command.downgrade(cfg, "0007")
    with vault.engine.connect() as conn:
        got = sorted(conn.execute(text("SELECT id, place FROM custody_requests")).all())
    assert [tuple(r) for r in got] == [(1, "jan.kowalski@um.elblag.pl"), (2, "pc-kadry-01"),
                                       (3, "ratusz/hol")]
    upgrade(vault.engine)


def test_opening_a_vault_at_the_heads_runs_no_migration(vault: Vault,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Each opening of the vault (every `kustosz` command, serve's start) asks for the heads;
    at the heads nothing of Alembic's runs (issue 52 item 7), one revision behind it does."""
    from alembic import command

    from kustosz.db import migrate

    def no_migration(_cfg: object, _to: str) -> None:
        raise AssertionError("a migration ran")

    monkeypatch.setattr(command, "upgrade", no_migration)
    Vault.open(vault.root).close()
    migrate.upgrade(vault.engine)

    command.downgrade(migrate.alembic_config(vault.engine), "0043")
    with pytest.raises(AssertionError, match="a migration ran"):
        migrate.upgrade(vault.engine)
    monkeypatch.undo()
    migrate.upgrade(vault.engine)
    assert migrate.at_every_head(migrate.current_heads(vault.engine))


def test_the_version_table_is_read_as_alembic_finds_it(backend_url: str,
                                                       tmp_path: Path) -> None:
    """`current_heads` asks the backend itself whether the version table is there (not the
    inspector): none in an empty database (on PostgreSQL a fresh schema, the template's and
    other tests' schemas beside it), Alembic's own answer in a migrated one."""
    from kustosz.db import migrate
    from kustosz.db.engine import make_engine, sqlite_url

    engine = make_engine(backend_url or sqlite_url(tmp_path / "v.db"))
    try:
        assert migrate.current_heads(engine) == set()
        migrate.upgrade(engine)
        with engine.connect() as conn:
            theirs = set(MigrationContext.configure(conn).get_current_heads())
        assert migrate.current_heads(engine) == theirs
        assert migrate.at_every_head(theirs)
    finally:
        engine.dispose()


def test_at_every_head_needs_every_branch() -> None:
    from kustosz.db import migrate

    scripts = migrate.scripts()
    heads = set(scripts.get_heads())
    assert migrate.at_every_head(heads)
    assert not migrate.at_every_head(set())
    def below(revision: str) -> set[str]:
        return {r.revision for r in scripts.iterate_revisions(revision, "base")}

    for revision in scripts.walk_revisions():
        assert migrate.at_every_head({revision.revision}) == (heads <= below(revision.revision))
    # What Alembic keeps in its table: no head another one depends on (0002, 0003; since
    # 0062 depends on the calls and events branches, it may be one). Without the newest
    # revision of any one branch, the vault is behind.
    kept = {h for h in heads if not any(h in below(o) for o in heads - {h})}
    assert kept
    assert migrate.at_every_head(kept)
    for missing in kept:
        assert not migrate.at_every_head(kept - {missing} | {"0001"})


def test_the_scripts_read_as_text_give_alembics_heads_and_answers() -> None:
    """Opening a vault answers "at the heads?" from the scripts' lines without Alembic
    (migrate.at_shipped_heads): the same answer as Alembic's for every revision alone, for
    what Alembic keeps at the heads, and for each branch left behind; no answer (Alembic
    decides) for a revision the scripts do not ship."""
    from kustosz.db import migrate

    scripts = migrate.scripts()
    shipped = migrate._shipped()
    assert shipped is not None
    heads, parents = shipped
    assert heads == set(scripts.get_heads())
    assert parents == {r.revision: frozenset(r._all_down_revisions)
                       for r in scripts.walk_revisions()}
    for revision in scripts.walk_revisions():
        one = {revision.revision}
        assert migrate.at_shipped_heads(one) == migrate.at_every_head(one)
    kept = {h for h in heads
            if not any(h in {r.revision for r in scripts.iterate_revisions(o, "base")}
                       for o in heads - {h})}
    assert migrate.at_shipped_heads(kept) is True
    for missing in kept:
        assert migrate.at_shipped_heads(kept - {missing} | {"0001"}) is False
    assert migrate.at_shipped_heads(set()) is None
    assert migrate.at_shipped_heads(kept | {"9999"}) is None


def test_a_script_the_text_reading_does_not_know_leaves_the_answer_to_alembic(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kustosz.db import migrate

    folder = tmp_path / "kustosz_db" / "migrations" / "versions"
    folder.mkdir(parents=True)
    (folder / "0001_a.py").write_text('revision = "0001"\ndown_revision = None\n')
    (folder / "0002_b.py").write_text('revision = "0002"\ndown_revision = "0001"\n')
    monkeypatch.setattr(migrate.resources, "files", lambda _package: tmp_path / "kustosz_db")
    migrate._shipped.cache_clear()
    try:
        assert migrate.at_shipped_heads({"0002"}) is True
        assert migrate.at_shipped_heads({"0001"}) is False
        (folder / "0003_c.py").write_text('revision = REVISION\ndown_revision = "0002"\n')
        migrate._shipped.cache_clear()
        assert migrate.at_shipped_heads({"0002"}) is None
        (folder / "0003_c.py").write_text('revision = "0003"\ndown_revision = "0042"\n')
        migrate._shipped.cache_clear()
        assert migrate.at_shipped_heads({"0002"}) is None  # a parent it does not ship
    finally:
        migrate._shipped.cache_clear()


def test_opening_a_vault_at_the_heads_loads_no_alembic(sqlite_vault: Vault) -> None:
    """The import, not only the run: Alembic with mako and pygments is ~0.4 s of CPU in every
    `kustosz` process (issue 52 item 7)."""
    code = ("import sys\nfrom kustosz.vault import Vault\n"
            f"Vault.open({str(sqlite_vault.root)!r}).close()\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('alembic', 'mako', 'pygments')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", done.stdout
