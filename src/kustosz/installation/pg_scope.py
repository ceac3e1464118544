"""An office's scope on PostgreSQL: a schema and a login role of its own.

The office's vault connects as its role with its schema as the search_path (the URL's
``options``, which kustosz.db.engine keeps), so every query it makes runs inside that schema
and no query can leave the scope out. The role owns its schema and nothing else: PUBLIC has no
right on it, so another office's role is refused ("permission denied for schema") even when
it names the schema outright, and the installation's own connection, whose search_path holds
no office's tables, finds none ("relation does not exist").

The role's password is random, and is written only to the office's keys/pgpass (0600, libpq's
passfile format), which the office's database_url names. It never goes on a command line, into
a log, into kustosz.toml or into an error: the server is sent its SCRAM-SHA-256 verifier,
computed here (as psql's \\password does), so not even a statement log holds it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

from kustosz.errors import InputError
from kustosz.installation.slugs import sql_name

ROLE_PREFIX = "kustosz_o_"
SCHEMA_PREFIX = "office_"
PASSFILE = "pgpass"
CONNECT_TIMEOUT_S = 10
# Query keys of the installation's URL an office's URL does not inherit: its own user, secret
# and search_path replace them.
_NOT_INHERITED = {"options", "passfile", "password", "user"}


def role_name(slug: str) -> str:
    return f"{ROLE_PREFIX}{sql_name(slug)}"


def schema_name(slug: str) -> str:
    return f"{SCHEMA_PREFIX}{sql_name(slug)}"


def is_postgresql(url: str) -> bool:
    """A PostgreSQL URL that names its database (the offices' schemas are made in it)."""
    try:
        parsed = make_url(url)
    except Exception:
        return False
    return parsed.drivername.split("+")[0] in ("postgresql", "postgres") and \
        bool(parsed.database)


def _shown(url: str) -> str:
    """The URL as it may be shown: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(not a URL)"


def _params(url: str) -> dict[str, Any]:
    """libpq's connection parameters of a SQLAlchemy-style URL."""
    parsed = make_url(url)
    params: dict[str, Any] = {k: v if isinstance(v, str) else v[-1]
                              for k, v in parsed.query.items()}
    for key, value in (("host", parsed.host), ("port", parsed.port), ("user", parsed.username),
                       ("password", parsed.password), ("dbname", parsed.database)):
        if value is not None:
            params[key] = str(value)
    params.setdefault("connect_timeout", str(CONNECT_TIMEOUT_S))
    return params


def refused(exc: psycopg.Error, url: str, doing_en: str, doing_pl: str) -> InputError:
    # The server's own words only (diag.message_primary): never the statement, which for
    # CREATE ROLE carries the password's verifier.
    why = (exc.diag.message_primary if isinstance(exc, psycopg.DatabaseError) and
           exc.diag.message_primary else str(exc).splitlines()[0] if str(exc) else
           type(exc).__name__)
    return InputError(f"{doing_en} in {_shown(url)}: {why}",
                      pl=f"{doing_pl} w {_shown(url)}: {why}")


def connect(url: str) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(**_params(url))
    except psycopg.Error as exc:
        raise refused(exc, url, "cannot connect to the database",
                       "Nie można połączyć się z bazą danych") from None


def check_admin(url: str) -> None:
    """The installation's role can make the offices' roles and schemas; refused if not."""
    with connect(url) as conn:
        row = conn.execute(
            "SELECT r.rolsuper OR r.rolcreaterole, "
            "has_database_privilege(current_database(), 'CREATE'), current_user "
            "FROM pg_roles r WHERE r.rolname = current_user").fetchone()
    if row is None or not (row[0] and row[1]):
        who = row[2] if row else "?"
        raise InputError(
            f"the role {who} of {_shown(url)} may not create the offices' roles and schemas: "
            "it needs CREATEROLE and CREATE on the database",
            pl=f"Rola {who} w {_shown(url)} nie może tworzyć ról i schematów urzędów: "
               "potrzebuje uprawnień CREATEROLE i CREATE w bazie danych.")


@dataclass
class Made:
    """What `create` made, so that exactly that is dropped again on a failure after it."""

    url: str
    slug: str


def _passfile_field(value: str | int | None) -> str:
    if value is None or value == "":
        return "*"
    return str(value).replace("\\", "\\\\").replace(":", "\\:")


def write_passfile(path: Path, url: str, role: str, password: str) -> None:
    """libpq's passfile (0600 in a 0700 folder): the role's password for this server only."""
    parsed = make_url(url)
    line = ":".join(_passfile_field(v) for v in (parsed.host, parsed.port or 5432,
                                                 parsed.database, role, password))
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(line + "\n")


def office_url(url: str, slug: str, passfile: Path) -> str:
    """The office's database_url: its role, no password, its passfile and its search_path."""
    parsed = make_url(url)
    query = {k: v for k, v in parsed.query.items() if k not in _NOT_INHERITED}
    query.update(passfile=str(passfile), options=f"-csearch_path={schema_name(slug)}")
    made = URL.create("postgresql", username=role_name(slug), host=parsed.host,
                      port=parsed.port, database=parsed.database, query=query)
    return made.render_as_string(hide_password=False)


def exists(conn: psycopg.Connection[Any], slug: str) -> tuple[bool, bool]:
    role = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s",
                        (role_name(slug),)).fetchone()
    schema = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s",
                          (schema_name(slug),)).fetchone()
    return role is not None, schema is not None


def create_role(conn: psycopg.Connection[Any], slug: str, password: str) -> None:
    """The office's login role, in the caller's transaction, its password sent only as its
    SCRAM verifier; the caller's role is left a member of it (CREATE SCHEMA ... AUTHORIZATION
    and ALTER ... OWNER TO need that where it is no superuser) until it REVOKEs it."""
    role = sql.Identifier(role_name(slug))
    verifier = conn.pgconn.encrypt_password(password.encode(), role_name(slug).encode(),
                                            b"scram-sha-256").decode()
    conn.execute(sql.SQL("CREATE ROLE {} LOGIN NOINHERIT PASSWORD {}").format(
        role, sql.Literal(verifier)))
    conn.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(role))


def refuse_taken(conn: psycopg.Connection[Any], slug: str) -> None:
    """Refused when the server has the office's role or schema (another installation's office
    of the same name, or one left behind), which is then not touched."""
    role_there, schema_there = exists(conn, slug)
    if role_there or schema_there:
        what = role_name(slug) if role_there else schema_name(slug)
        raise InputError(
            f"the database server already has {what}: another installation on it may "
            f"have an office {slug!r}; choose another name",
            pl=f"Serwer bazy danych ma już {what}: inna instalacja na nim może mieć urząd "
               f"„{slug}”; wybierz inną nazwę.")


def create(url: str, slug: str, passfile: Path) -> Made:
    """The office's role and schema, made in one transaction (all or nothing), and its
    passfile; refused when either exists on the server (another installation's office of
    the same name, or one left behind), which is then not touched."""
    role, schema = sql.Identifier(role_name(slug)), sql.Identifier(schema_name(slug))
    password = secrets.token_urlsafe(32)
    with connect(url) as conn:
        refuse_taken(conn, slug)
        try:
            with conn.transaction():
                create_role(conn, slug, password)
                conn.execute(sql.SQL("CREATE SCHEMA {} AUTHORIZATION {}").format(schema, role))
                conn.execute(sql.SQL("REVOKE ALL ON SCHEMA {} FROM PUBLIC").format(schema))
                conn.execute(sql.SQL("REVOKE {} FROM CURRENT_USER").format(role))
        except psycopg.Error as exc:
            raise refused(exc, url, "the office's role and schema could not be made",
                           "Nie udało się utworzyć roli i schematu urzędu") from None
    made = Made(url, slug)
    try:
        write_passfile(passfile, url, role_name(slug), password)
    except BaseException:
        drop(made)
        raise
    return made


def drop(made: Made) -> None:
    """Drop the office's schema (with everything in it) and its role again."""
    role, schema = sql.Identifier(role_name(made.slug)), sql.Identifier(schema_name(made.slug))
    with connect(made.url) as conn:
        conn.autocommit = True
        # Membership lets a role that is no superuser drop the schema and end the sessions.
        conn.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(role))
        # The office's vault may still hold a connection open (a failure halfway through
        # its making); its sessions could hold the schema's locks.
        with contextlib.suppress(psycopg.Error):
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE usename = %s AND pid <> pg_backend_pid()",
                         (role_name(made.slug),))
        conn.autocommit = False
        with conn.transaction():
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(schema))
            conn.execute(sql.SQL("DROP ROLE {}").format(role))
