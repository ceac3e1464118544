"""Separation enforced in one place (issue 67 item 2): an office's scope is its connection,
fixed when its vault's engine is made — a PostgreSQL schema and login role of its own. A
query without the scope cannot run, and an office's role cannot reach another office's
schema by naming it, by moving its search_path there or by taking the other role. The role's
password is only in the office's keys/pgpass."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import stat
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from tests.conftest import PG
from tests.installation.install_helpers import Install

import kustosz.installation.add as add_module
from kustosz.db.engine import make_engine
from kustosz.installation.pg_scope import role_name, schema_name
from kustosz.vault import Vault

pytestmark = pytest.mark.pg


def _refused(engine: sa.Engine, *statements: str) -> str:
    """The server's words for the last of ``statements``, which must fail."""
    with engine.connect() as conn:
        for statement in statements[:-1]:
            conn.exec_driver_sql(statement)
        with pytest.raises(DBAPIError) as caught:
            conn.exec_driver_sql(statements[-1]).all()
    return str(caught.value.orig)


@pytest.fixture
def two(pg_inst: Install) -> tuple[Install, str, str]:
    pg_inst.init()
    a = pg_inst.add("urzad", grant=False)  # a new office's chain: its one first entry
    b = pg_inst.add("mops", "Miejski Ośrodek Pomocy Społecznej w Pleszewie", grant=False)
    return pg_inst, a, b


def test_a_query_without_the_office_scope_cannot_run(two: tuple[Install, str, str]) -> None:
    inst, a, _ = two
    unscoped = make_engine(inst.url)  # the installation's own connection
    office_a = make_engine(inst.office_url(a))
    try:
        with office_a.connect() as conn:  # the office's own tables answer it, unqualified
            assert conn.exec_driver_sql("SELECT count(*) FROM audit_log").scalar() == 1
            assert conn.exec_driver_sql("SELECT current_user").scalar() == role_name(a)
        for table in ("audit_log", "custody_copies", "users"):
            said = _refused(unscoped, f"SELECT * FROM {table}")
            assert f'relation "{table}" does not exist' in said
    finally:
        unscoped.dispose()
        office_a.dispose()


def test_an_office_cannot_read_another_office(two: tuple[Install, str, str]) -> None:
    inst, a, b = two
    office_a = make_engine(inst.office_url(a))
    other = schema_name(b)
    try:
        for table in ("audit_log", "custody_copies"):  # named outright: refused
            said = _refused(office_a, f"SELECT * FROM {other}.{table}")
            assert f"permission denied for schema {other}" in said
        # the search_path moved to the other office: its tables are not there for A
        said = _refused(office_a, f"SET search_path TO {other}", "SELECT * FROM audit_log")
        assert 'relation "audit_log" does not exist' in said
        said = _refused(office_a, f"SELECT set_config('search_path', '{other}', false)",
                        "SELECT * FROM custody_copies")
        assert 'relation "custody_copies" does not exist' in said
        # nor written into, nor reached by taking B's role
        said = _refused(office_a, f"CREATE TABLE {other}.planted (x int)")
        assert f"permission denied for schema {other}" in said
        said = _refused(office_a, f"SET ROLE {role_name(b)}")
        assert "permission denied" in said
    finally:
        office_a.dispose()


def _scram_matches(verifier: str, password: str) -> bool:
    """``password`` is the one a SCRAM-SHA-256 verifier was made of (RFC 5802, 7677)."""
    method, _, rest = verifier.partition("$")
    iterations, _, rest = rest.partition(":")
    salt, _, rest = rest.partition("$")
    stored, _, _server = rest.partition(":")
    assert method == "SCRAM-SHA-256"
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt),
                                 int(iterations))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    return hashlib.sha256(client_key).digest() == base64.b64decode(stored)


def test_the_role_password_is_only_in_the_office_passfile(two: tuple[Install, str, str],
                                                         caplog: pytest.LogCaptureFixture
                                                         ) -> None:
    inst, a, _ = two
    office = inst.root / "offices" / a
    passfile = office / "keys" / "pgpass"
    assert stat.S_IMODE(passfile.stat().st_mode) == 0o600
    assert stat.S_IMODE(passfile.parent.stat().st_mode) == 0o700
    host, port, database, user, password = passfile.read_text().strip().split(":")
    assert user == role_name(a) and len(password) >= 43  # 32 random bytes
    url = sa.engine.make_url(inst.office_url(a))
    assert (host, port, database) == (url.host, str(url.port), url.database)
    assert url.password is None and url.query["passfile"] == str(passfile)
    assert PG
    admin = make_engine(PG)
    try:
        with admin.connect() as conn:
            verifier = conn.exec_driver_sql(
                "SELECT rolpassword FROM pg_authid WHERE rolname = %s", (role_name(a),)).scalar()
    finally:
        admin.dispose()
    assert _scram_matches(str(verifier), password)  # the server keeps only its verifier
    listed = inst("offices", "list").output
    for path in [*inst.root.rglob("*.toml"), *inst.root.rglob("audit.head")]:
        assert password not in path.read_text("utf-8"), path
    assert password not in listed and password not in caplog.text
    assert password not in " ".join(os.environ.values())


def test_a_slug_another_installation_has_on_the_server_is_refused_untouched(
        two: tuple[Install, str, str], tmp_path: Path) -> None:
    inst, a, _ = two
    second = tmp_path / "powiat"
    inst("offices", "init", "--name", "Powiat", "--database", inst.url, root=second)
    refused = inst("offices", "add", a, "--preset-file", str(inst.preset()), root=second,
                   ok=False)
    assert refused.exit_code == 2
    assert f"Serwer bazy danych ma już {role_name(a)}" in refused.output
    assert not (second / "offices" / a).exists()
    # the first installation's office is as it was: its role, schema and chain
    assert "audit log intact: 1 entries" in inst("audit", "verify", office=a).output


def test_an_installation_role_without_superuser_makes_and_undoes_offices(
        pg_inst: Install, plain_admin: str, monkeypatch: pytest.MonkeyPatch) -> None:
    pg_inst.url = plain_admin
    pg_inst.init()
    town = pg_inst.add("urzad")
    assert "audit log intact" in pg_inst("audit", "verify").output
    with make_engine(PG or "").connect() as conn:  # it kept no way into the office's role
        members = conn.exec_driver_sql(
            "SELECT count(*) FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid "
            "WHERE r.rolname = %s", (role_name(town),)).scalar()
    assert members == 0
    before = pg_inst.server_objects()

    def made_then_fails(*args: object, **kwargs: object) -> Vault:
        real_init(*args, **kwargs)  # type: ignore[arg-type]
        raise OSError("disk gone")

    real_init = Vault.init
    monkeypatch.setattr(add_module.Vault, "init", made_then_fails)
    slug = pg_inst.slug("mops")
    failed = pg_inst("offices", "add", slug, "--preset-file", str(pg_inst.preset()), ok=False)
    assert isinstance(failed.exception, OSError)
    assert pg_inst.server_objects() == before and not (pg_inst.root / "offices" / slug).exists()


def test_an_installation_role_that_may_not_create_roles_is_refused(pg_inst: Install,
                                                                   tmp_path: Path) -> None:
    assert PG
    name = f"kt_inst_weak_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {name} LOGIN")
    try:
        url = sa.engine.make_url(PG).set(username=name).render_as_string(hide_password=False)
        refused = pg_inst("offices", "init", "--name", "Gmina", "--database", url, ok=False)
        assert refused.exit_code == 2
        assert "nie może tworzyć ról i schematów urzędów" in refused.output
        assert "CREATEROLE" in refused.output and not pg_inst.root.exists()
        bad = pg_inst("offices", "init", "--name", "Gmina", "--database",
                      f"sqlite:///{tmp_path}/x.db", ok=False)
        assert "musi być adresem bazy PostgreSQL" in bad.output and not pg_inst.root.exists()
        no_db = pg_inst("offices", "init", "--name", "Gmina", "--database",
                        "postgresql://postgres@127.0.0.1:5432", ok=False)
        assert "z nazwą bazy" in no_db.output and not pg_inst.root.exists()
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP ROLE {name}")
        admin.dispose()
