"""`kustosz offices adopt NAME --vault DIR` (issue 67): an existing single office's vault,
recorded into, copied from and audited by the real command, becomes an office of the
installation on SQLite and on PostgreSQL — its chain verifying before and after, its material
reading back, its numbering going on, the adoption in its own chain. Every refusal and a
failure halfway change nothing, and the vault stays usable where it was."""

from __future__ import annotations

import fcntl
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from tests.conftest import PG
from tests.installation.adopt_helpers import (
    OldVault,
    another_copy,
    last_entry,
    recorded_intact,
    whole_state,
)
from tests.installation.install_helpers import Install

from kustosz.audit import identity
from kustosz.config import read_config
from kustosz.errors import InputError
from kustosz.installation import adopt as adopt_module
from kustosz.installation import adopt_checks, adopt_pg
from kustosz.installation.adopt_move import JOURNAL, FolderMove
from kustosz.installation.pg_scope import office_url, role_name, schema_name
from kustosz.keys import office_key


@pytest.fixture
def old(inst: Install, tmp_path: Path) -> Iterator[OldVault]:
    made = OldVault(inst, tmp_path)
    try:
        yield made
    finally:
        made.drop()


class Killed(BaseException):
    """The process ended halfway (as SIGKILL would, with nothing of ours catching it)."""


def _entries(result: Any) -> int:
    line = next(ln for ln in result.output.splitlines() if ln.startswith("audit log intact"))
    return int(line.split(": ")[1].split()[0])


def test_a_vault_is_adopted_with_its_chain_material_and_numbering(inst: Install,
                                                                   old: OldVault) -> None:
    old.make()
    (old.root / "kustosz.toml.last-good").write_bytes((old.root / "kustosz.toml").read_bytes())
    year = datetime.now(UTC).year
    assert old.first_copy == f"1/{year}"
    before = _entries(old.cli("audit", "verify"))
    recordings = json.loads(old.cli("recordings", "list", "--json").output)
    inst.init()
    slug = inst.slug("urzad")
    said = inst("offices", "adopt", slug, "--vault", str(old.root)).output
    assert "przyjęty jako urząd" in said and "adopted as office" in said
    folder = inst.root / "offices" / slug
    assert not old.root.exists() and (folder / "kustosz.toml").is_file()
    verified = inst("audit", "verify", office=slug)
    assert verified.exit_code == 0 and _entries(verified) == before + 1
    entry = last_entry(folder)
    details = json.loads(entry.details)
    assert (entry.action, entry.actor, entry.subject) == ("vault.adopted", "tester", slug)
    assert details["from"] == str(old.root) and details["to"] == str(folder)
    assert details["verified_before"]["entries"] == before
    # the material reads back from its new place, each file as the index hashed it
    assert recorded_intact(folder) == len(recordings) == 2
    assert inst("storage", "check", office=slug).exit_code == 0
    inst.grant(slug)  # the office's head lets the installation's command line at its copies
    copy = json.loads(inst("copies", "list", "--json", office=slug).output)[0]
    assert copy["bundle"].startswith(str(folder))
    assert "verified" in inst("bundle", "verify", copy["bundle"]).output
    # numbering goes on from where the vault was
    assert another_copy(inst, slug) == f"2/{year}"
    assert "audit log intact" in inst("audit", "verify", office=slug).output
    listed = json.loads(inst("offices", "list", "--json").output)["offices"]
    assert [r["slug"] for r in listed] == [slug]
    if inst.url:
        _handed_to_the_office(inst, slug, folder, details)
        assert not (folder / "kustosz.toml.last-good").exists()
    else:
        assert (folder / "kustosz.db").is_file()
        assert inst.office_url(slug) == ""


def _handed_to_the_office(inst: Install, slug: str, folder: Path,
                          details: dict[str, Any]) -> None:
    assert inst.office_url(slug) == office_url(inst.url, slug, folder / "keys" / "pgpass")
    assert PG
    with psycopg.connect(PG, autocommit=True) as conn:
        schemas = {r[0] for r in conn.execute("SELECT nspname FROM pg_namespace")}
        assert details["schema_from"] not in schemas and schema_name(slug) in schemas
        foreign = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE "
            "c.relnamespace = %s::regnamespace AND r.rolname <> %s",
            (schema_name(slug), role_name(slug))).fetchall()
        assert foreign == []  # every table, index and sequence is the office role's
        public = conn.execute("SELECT has_schema_privilege('public', %s, 'USAGE')",
                              (schema_name(slug),)).fetchone()
        assert public == (False,)


def test_a_vault_in_a_shared_schema_moves_only_its_own(pg_inst: Install,
                                                        tmp_path: Path) -> None:
    old = OldVault(pg_inst, tmp_path).make(record=False)
    try:
        assert PG
        with psycopg.connect(PG, autocommit=True) as conn:  # something that is not the vault's
            conn.execute(f"CREATE TABLE {old.schema}.ewidencja_obca (x int)")
            # the index's partitions (issue 68 item 3): a day of its own and a day a sweep
            # detached and did not drop are the vault's; a partition of a table not the
            # vault's is not
            conn.execute(f"CREATE TABLE {old.schema}.recordings_d20990101 PARTITION OF "
                         f"{old.schema}.recordings FOR VALUES FROM ('2098-12-31 23:00') "
                         "TO ('2099-01-01 23:00')")
            conn.execute(f"CREATE TABLE {old.schema}.recordings_gone_7_20990102 "
                         f"(LIKE {old.schema}.recordings)")
            conn.execute(f"CREATE TABLE {old.schema}.rejestr_obcy (x int) "
                         "PARTITION BY RANGE (x)")
            conn.execute(f"CREATE TABLE {old.schema}.rejestr_obcy_1 PARTITION OF "
                         f"{old.schema}.rejestr_obcy DEFAULT")
        pg_inst.init()
        slug = pg_inst.slug("mops")
        said = pg_inst("offices", "adopt", slug, "--vault", str(old.root)).output
        assert "ewidencja_obca" in said and "tables" in said
        with psycopg.connect(PG, autocommit=True) as conn:
            left = {r[0] for r in conn.execute(
                "SELECT relname FROM pg_class WHERE relnamespace = %s::regnamespace "
                "AND relkind IN ('r', 'p')", (old.schema,))}
            moved = {r[0] for r in conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_roles o ON o.oid = c.relowner "
                "WHERE c.relnamespace = %s::regnamespace AND c.relname LIKE 'recordings%%' "
                "AND c.relkind IN ('r', 'p') AND o.rolname = %s",
                (schema_name(slug), role_name(slug)))}
        assert left == {"ewidencja_obca", "rejestr_obcy", "rejestr_obcy_1"}
        assert {"recordings", "recordings_legacy", "recordings_rest", "recordings_d20990101",
                "recordings_gone_7_20990102"} <= moved
        assert "audit log intact" in pg_inst("audit", "verify", office=slug).output
        pg_inst.grant(slug)
        assert pg_inst("users", "add", "jan", "--display", "Jan Żółć 🙂", "--role",
                       "approver", office=slug).exit_code == 0
    finally:
        old.drop()


def _tamper(old: OldVault) -> None:
    from kustosz.vault import Vault

    vault = Vault.open(old.root)
    try:
        with vault.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE audit_log SET subject = 'podmienione' WHERE seq = 2")
    finally:
        vault.close()


def _hold(old: OldVault) -> Any:
    handle = (old.root / "serve.lock").open("a+")
    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    handle.write("4242 serve\n")
    handle.flush()
    return handle


def _s3_vault(old: OldVault, shared_prefix: str = "") -> None:
    """The vault's media in a bucket of its own without a prefix; or, ``shared_prefix``
    given, in the installation's shared bucket under that prefix."""
    toml = old.root / "kustosz.toml"
    store = (f'endpoint = "https://s3.gmina.example.pl"\nbucket = "gmina"\nprefix = '
             f'"{shared_prefix}"\n' if shared_prefix else
             'endpoint = "https://s3.um.example.pl"\nbucket = "kustosz-media"\n')
    toml.write_text(toml.read_text("utf-8").replace(
        "\n[storage]\n", f'\n[storage]\nkind = "s3"\n{store}region = "pl-1"\n', 1), "utf-8")
    inst_toml = old.root.parent / "gmina" / "installation.toml"
    inst_toml.write_text(inst_toml.read_text("utf-8") + '\n[storage]\nkind = "s3"\nendpoint = '
                         '"https://s3.gmina.example.pl"\nbucket = "gmina"\nregion = "pl-1"\n',
                         "utf-8")


REFUSALS: dict[str, tuple[str, ...]] = {
    "name exists": ("Instalacja ma już urząd", "already has an office"),
    "bad slug": ("nie jest krótką nazwą urzędu", "not an office's short name"),
    "not a vault": ("nie jest skarbcem", "is not a vault"),
    "a link to the vault": ("jest dowiązaniem do", "sam folder skarbca", "is a link to"),
    "an installation": ("jest instalacją wielu urzędów", "is an installation"),
    "in use": ("inny proces kustosz serve (PID 4242)", "already running"),
    "tampered chain": ("nie przechodzi weryfikacji", "niczego nie przeniesiono",
                       "wpis nr 2: jego treść została zmieniona", "does not verify"),
    "another file system": ("innym systemie plików", "rsync", "another file system"),
    "S3 without a prefix": ("bez prefiksu", "Object Lock", "without a prefix"),
    "S3 under another prefix": ("we wspólnym kubełku instalacji pod prefiksem „urzad/”",
                                "shared bucket under the prefix 'urzad/'"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_a_refused_adoption_changes_nothing(case: str, inst: Install, old: OldVault,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    old.make(record=case in ("tampered chain", "in use"))
    inst.init()
    taken = inst.add("urzad")
    slug, vault = inst.slug("mops"), old.root
    held = None
    if case == "name exists":
        slug = taken
    elif case == "bad slug":
        slug = "MOPS Żłobek"
    elif case == "not a vault":
        vault = inst.tmp / "pusty"
        vault.mkdir()
    elif case == "a link to the vault":
        vault = inst.tmp / "skarbiec-link"
        vault.symlink_to(old.root)
    elif case == "an installation":
        vault = inst.tmp / "powiat"
        inst("offices", "init", "--name", "Powiat", root=vault)
    elif case == "in use":
        held = _hold(old)
    elif case == "tampered chain":
        _tamper(old)
    elif case == "another file system":
        monkeypatch.setattr(adopt_checks, "same_filesystem", lambda *_: False)
    elif case == "S3 under another prefix":
        _s3_vault(old, "urzad/")
    else:
        _s3_vault(old)
    before = whole_state(inst, vault, schema=old.schema)
    try:
        refused = inst("offices", "adopt", slug, "--vault", str(vault), ok=False)
    finally:
        if held is not None:
            held.close()
    assert refused.exit_code != 0
    for words in REFUSALS[case]:
        assert words in refused.output, refused.output
    assert whole_state(inst, vault, schema=old.schema) == before
    if case in ("in use", "another file system"):  # the vault goes on as it was
        assert "audit log intact" in old.cli("audit", "verify").output


def test_a_database_of_another_kind_is_refused(pg_inst: Install, tmp_path: Path) -> None:
    sqlite_vault = OldVault(Install(tmp_path, "", tmp_path), tmp_path).make(record=False)
    pg_inst.init()
    before = whole_state(pg_inst, sqlite_vault.root)
    refused = pg_inst("offices", "adopt", pg_inst.slug("mops"), "--vault",
                      str(sqlite_vault.root), ok=False)
    assert "nie przenosi bazy z SQLite do PostgreSQL" in refused.output
    assert "moving a SQLite database to PostgreSQL" in refused.output
    assert whole_state(pg_inst, sqlite_vault.root) == before


@pytest.mark.parametrize("where", ["folder", "database"])
def test_an_adoption_killed_halfway_leaves_the_vault_as_it_was(
        where: str, inst: Install, old: OldVault, monkeypatch: pytest.MonkeyPatch) -> None:
    old.make()
    last_good = old.root / "kustosz.toml.last-good"  # as serve keeps it: set aside, put back
    last_good.write_bytes((old.root / "kustosz.toml").read_bytes())
    inst.init()
    before = whole_state(inst, old.root, schema=old.schema)
    assert before[2] or not inst.url
    entries = _entries(old.cli("audit", "verify"))
    if where == "folder":  # after the rename, before the entry (and the COMMIT)
        real_do = adopt_module.FolderMove.do

        def killed(self: adopt_module.FolderMove, *args: Any) -> None:
            real_do(self, *args)
            raise Killed("killed")

        monkeypatch.setattr(adopt_module.FolderMove, "do", killed)
    else:  # the adoption's audit entry refused by the database
        def refused(*_args: Any, **_kwargs: Any) -> None:
            raise OSError("disk gone")

        monkeypatch.setattr(adopt_pg.audit if inst.url else adopt_module.audit, "append",
                            refused)
    slug = inst.slug("urzad")
    with pytest.raises((Killed, OSError)):
        inst.runner.invoke(_app(), ["--data", str(inst.root), "offices", "adopt", slug,
                                    "--vault", str(old.root)], catch_exceptions=False)
    monkeypatch.undo()
    assert whole_state(inst, old.root, schema=old.schema) == before
    assert not (inst.root / "offices" / slug).exists()
    # usable where it was: verified, numbered on, and adopted at the next try
    assert _entries(old.cli("audit", "verify")) == entries
    assert another_copy(old.cli, None) == f"2/{datetime.now(UTC).year}"
    inst("offices", "adopt", slug, "--vault", str(old.root))
    assert "audit log intact" in inst("audit", "verify", office=slug).output


def _app() -> Any:
    from kustosz.cli import app

    return app


def test_absolute_paths_inside_the_vault_follow_it(tmp_path: Path) -> None:
    inst = Install(tmp_path / "gmina", "", tmp_path)
    old = OldVault(inst, tmp_path, "urząd-stary 🏛️").make(record=False)
    (old.root / "tls").mkdir(mode=0o700)
    for name in ("kustosz.crt", "kustosz.key"):
        (old.root / "tls" / name).write_text("PEM", "utf-8")
        (old.root / "tls" / name).chmod(0o600)
    toml = old.root / "kustosz.toml"
    toml.write_text(toml.read_text("utf-8").replace(
        "\n[web]\n", f'\n[web]\ntls_cert = "{old.root}/tls/kustosz.crt"\n'
        f'tls_key = "{old.root}/tls/kustosz.key"\n', 1), "utf-8")
    inst.init()
    slug = inst.slug("urzad")
    inst("offices", "adopt", slug, "--vault", str(old.root))
    folder = inst.root / "offices" / slug
    config = read_config(folder)
    assert config.web.tls_cert == folder / "tls" / "kustosz.crt"
    assert config.web.tls_key == folder / "tls" / "kustosz.key"
    assert config.web.tls_cert.read_text("utf-8") == "PEM"
    assert str(old.root) not in (folder / "kustosz.toml").read_text("utf-8")


def test_a_witness_identity_pinned_for_the_folder_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inst = Install(tmp_path / "gmina", "", tmp_path)
    old = OldVault(inst, tmp_path).make(record=False)
    key = office_key(old.root).public_key()
    pinned = tmp_path / "etc" / "audit-witness.json"
    pinned.parent.mkdir()
    pinned.write_bytes(identity.body(old.root, "0" * 64, tmp_path / "witness.jsonl", key))
    monkeypatch.setattr(identity, "DEFAULT_PATH", pinned)
    inst.init()
    before = whole_state(inst, old.root)
    refused = inst("offices", "adopt", inst.slug("urzad"), "--vault", str(old.root), ok=False)
    assert "Tożsamość świadka" in refused.output and "pin-witness" in refused.output
    assert whole_state(inst, old.root) == before


@pytest.fixture
def own_database(pg_inst: Install) -> Iterator[str]:
    """A database of the vault's own (its tables in public, as a vault given a database of
    its own has them), dropped afterwards before the offices' roles are."""
    assert PG
    name = f"kt_adopt_db_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield sa.engine.make_url(PG).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                         "datname = %s AND pid <> pg_backend_pid()", (name,))
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def test_a_vault_in_its_own_database_public_schema(pg_inst: Install, own_database: str,
                                                   tmp_path: Path) -> None:
    old = OldVault(Install(tmp_path, "", tmp_path), tmp_path)
    old.cli("init", "--preset", "pleszew", "--database-url", own_database)
    old.cli("users", "add", "burmistrz", "--display", "Zofia Łęcka", "--role", "approver")
    # an installation in another database of the server: refused, nothing changed
    pg_inst.init()
    before = whole_state(pg_inst, old.root, schema="public", url=own_database)
    assert len(before[2][1]) > 100  # the vault's tables, indexes and sequences in public
    refused = pg_inst("offices", "adopt", pg_inst.slug("urzad"), "--vault", str(old.root),
                      ok=False)
    assert "innej bazie niż baza instalacji" in refused.output
    assert "another database" in refused.output
    assert whole_state(pg_inst, old.root, schema="public", url=own_database) == before
    # one made on the vault's own database takes it: the vault's objects leave public
    second = Install(tmp_path / "gmina-2", own_database, tmp_path)
    second.init()
    slug = pg_inst.slug("urzad")  # dropped with the fixture's, after the database
    said = second("offices", "adopt", slug, "--vault", str(old.root)).output
    assert "moved from public" in said
    assert "audit log intact" in second("audit", "verify", office=slug).output
    second.grant(slug)
    assert "Zofia Łęcka" in second("users", "list", office=slug).output
    with psycopg.connect(own_database, autocommit=True) as conn:
        left = conn.execute("SELECT count(*) FROM pg_class WHERE relnamespace = "
                            "'public'::regnamespace").fetchone()
    assert left == (0,)


def test_an_installation_role_that_cannot_take_the_tables_over_is_refused(
        pg_inst: Install, plain_admin: str, tmp_path: Path) -> None:
    old = OldVault(pg_inst, tmp_path).make(record=False)
    try:
        pg_inst.url = plain_admin
        pg_inst.init()
        before = whole_state(pg_inst, old.root, schema=old.schema)
        refused = pg_inst("offices", "adopt", pg_inst.slug("urzad"), "--vault",
                          str(old.root), ok=False)
        assert "Rola instalacji nie może przejąć tabel skarbca" in refused.output
        assert "GRANT postgres TO" in refused.output
        assert whole_state(pg_inst, old.root, schema=old.schema) == before
    finally:
        old.drop()


def test_the_old_vault_role_cannot_reach_the_adopted_office(pg_inst: Install,
                                                            tmp_path: Path) -> None:
    """The vault's own login role, no superuser, owned its schema; once adopted, the office's
    role owns everything and the old role is refused, naming the schema or not."""
    assert PG
    role, schema = f"kt_vault_{uuid.uuid4().hex[:8]}", f"kt_adopt_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f"CREATE SCHEMA {schema} AUTHORIZATION {role}")
        conn.execute(f"GRANT USAGE ON SCHEMA {schema} TO PUBLIC")  # a careless grant
    vault_url = sa.engine.make_url(PG).set(username=role, query={
        "options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    old = OldVault(Install(tmp_path, "", tmp_path), tmp_path)
    try:
        old.cli("init", "--preset", "pleszew", "--database-url", vault_url)
        pg_inst.init()
        slug = pg_inst.slug("mops")
        assert "renamed" in pg_inst("offices", "adopt", slug, "--vault", str(old.root)).output
        with psycopg.connect(vault_url, autocommit=True) as conn:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"SELECT * FROM {schema_name(slug)}.audit_log")
            for query in ("SELECT * FROM audit_log",  # its old schema is gone
                          f"SET search_path TO {schema_name(slug)}; SELECT * FROM users"):
                with pytest.raises(psycopg.errors.UndefinedTable):
                    conn.execute(query)  # the office's tables are not there for it
        assert "audit log intact" in pg_inst("audit", "verify", office=slug).output
    finally:
        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")


def test_linked_settings_that_must_change_are_refused(pg_inst: Install,
                                                      tmp_path: Path) -> None:
    """The Debian package's kustosz.toml is a link to root's file: the office's database_url
    is not written through it (nor the link replaced by a file behind root's back)."""
    old = OldVault(pg_inst, tmp_path).make(record=False)
    try:
        etc = tmp_path / "etc-kustosz"
        etc.mkdir()
        (old.root / "kustosz.toml").rename(etc / "kustosz.toml")
        (old.root / "kustosz.toml").symlink_to(etc / "kustosz.toml")
        pg_inst.init()
        before = whole_state(pg_inst, old.root, etc, schema=old.schema)
        refused = pg_inst("offices", "adopt", pg_inst.slug("urzad"), "--vault",
                          str(old.root), ok=False)
        assert "jest dowiązaniem do" in refused.output and "is a link to" in refused.output
        assert whole_state(pg_inst, old.root, etc, schema=old.schema) == before
        assert (old.root / "kustosz.toml").is_symlink()
    finally:
        old.drop()


@pytest.mark.parametrize("when", ["before the commit", "after the commit"])
def test_an_adoption_cut_off_by_a_crash_is_settled_by_the_next(
        when: str, inst: Install, old: OldVault, monkeypatch: pytest.MonkeyPatch) -> None:
    """A power cut runs none of our undoing: the journal left in the folder lets the next
    `offices adopt` undo the half-made move (the database step not committed) and adopt
    afresh, or finish one whose database step was committed."""
    old.make(record=False)
    inst.init()
    entries = _entries(old.cli("audit", "verify"))
    monkeypatch.setattr(FolderMove, "undo", lambda self: None)  # nothing of ours runs

    def cut(self: FolderMove, *args: Any) -> None:
        if when == "before the commit":
            real_do(self, *args)
        raise Killed("power cut")

    real_do = FolderMove.do
    monkeypatch.setattr(FolderMove, "do" if when == "before the commit" else "finished", cut)
    slug = inst.slug("urzad")
    with pytest.raises(Killed):
        inst.runner.invoke(_app(), ["--data", str(inst.root), "offices", "adopt", slug,
                                    "--vault", str(old.root)], catch_exceptions=False)
    monkeypatch.undo()
    folder = inst.root / "offices" / slug
    assert (folder / JOURNAL).is_file() and not old.root.exists()
    said = inst("offices", "adopt", slug, "--vault", str(old.root)).output
    assert ("finished after an interruption" in said) == (when == "after the commit")
    assert not old.root.exists() and not (folder / JOURNAL).exists()
    verified = inst("audit", "verify", office=slug)
    assert _entries(verified) == entries + 1  # one adoption, recorded once
    inst.grant(slug)
    assert inst("users", "list", office=slug).exit_code == 0


def test_the_database_url_is_rewritten_as_offices_add_writes_it() -> None:
    url = "postgresql://kustosz_o_mops@db:5432/gmina?passfile=/srv/g/offices/mops/keys/pgpass"
    text = '# Urząd „Żółć” 🏛️\npreset = "pleszew"\ndatabase_url = "postgresql://old@db/x"\n'
    assert adopt_module.with_database_url(text, url) == \
        f'# Urząd „Żółć” 🏛️\npreset = "pleszew"\ndatabase_url = "{url}"\n'
    assert adopt_module.with_database_url('preset = "pleszew"\n', url).startswith(
        f'database_url = "{url}"\n')
    with pytest.raises(InputError):  # a key the line rule cannot rewrite is refused
        adopt_module.with_database_url('[x]\ndatabase_url = "a"\n', url)
