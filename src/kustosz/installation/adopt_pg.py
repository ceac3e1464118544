"""`offices adopt` on PostgreSQL: a vault's tables handed to an office's schema and role.

The vault stays in its database: its schema becomes the office's (`office_<slug_>`), owned by
the office's new login role (made as `offices add` makes it: pg_scope.create_role), with
PUBLIC's rights revoked. Nothing is copied, so it is the same database — and the same
PostgreSQL server — as the installation's, or it is refused.

How the objects move, and why:

* A vault with a schema of its own (any schema but ``public`` that holds nothing but the
  vault's objects, as a vault made with `?options=-csearch_path=...` has): `ALTER SCHEMA ...
  RENAME`. One catalogue change moves every table, index, constraint, sequence, trigger,
  function and type at once, so no kind of object can be left behind by a list that forgot
  it, and no row is rewritten.
* A vault in ``public`` (the default of a vault given its own database) or in a schema shared
  with other things: a new schema, and each of the vault's objects moved with `SET SCHEMA` —
  its tables (their indexes, constraints, triggers and the sequences of their columns move
  with them), then the job queue's functions and types. The vault's objects are known by name:
  the tables of Kustosz's models, alembic_version, the job queue's (kustosz.db.jobs:
  ``jobs`` and procrastinate's ``procrastinate_*``), and the partitions of any of those (the
  index's days on PostgreSQL, moved one by one: a partition does not follow its parent);
  whatever else is in the schema is not the vault's and stays where it is.

Everything — the role, the schema, the moves, the owners, the revokes and the audit entry of
the adoption in the office's chain — happens in one transaction, which PostgreSQL allows for
all of it (DDL and roles are transactional); the folder's steps run before its COMMIT and
are undone if anything fails, so a failure anywhere leaves the vault as it was.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from kustosz.audit import log as audit
from kustosz.db.engine import make_engine
from kustosz.db.jobs import QUEUE_PREFIX, outside_model
from kustosz.db.schema import metadata
from kustosz.errors import InputError
from kustosz.installation import pg_scope
from kustosz.installation.adopt_checks import ADOPTED
from kustosz.installation.pg_scope import role_name, schema_name
from kustosz.retention.partitions import DETACHED_NAME


@dataclass
class Plan:
    """The vault's schema as the installation's connection sees it, and what moves."""

    schema: str
    own: bool  # the whole schema is the vault's: renamed
    tables: list[str] = field(default_factory=list)  # the vault's tables and views
    functions: list[int] = field(default_factory=list)  # pg_proc oids
    types: list[int] = field(default_factory=list)  # pg_type oids (enums, composites)
    others: list[str] = field(default_factory=list)  # not the vault's: left where they are


def _server_of(conn: psycopg.Connection[Any], schema: str) -> tuple[Any, ...]:
    row = conn.execute("SELECT pg_postmaster_start_time(), current_setting('port'), "
                       "current_database(), (SELECT oid FROM pg_namespace WHERE nspname = %s)",
                       (schema,)).fetchone()
    assert row is not None
    return tuple(row)


def _vault_schema(vault_url: str) -> tuple[str, tuple[Any, ...]]:
    """The schema the vault's own connection works in, and where that is."""
    with pg_scope.connect(vault_url) as conn:
        schema = conn.execute("SELECT current_schema()").fetchone()
        if schema is None or schema[0] is None:
            raise InputError("the vault's database URL reaches no schema",
                             pl="Adres bazy skarbca nie wskazuje żadnego schematu.")
        return str(schema[0]), _server_of(conn, str(schema[0]))


def _is_vaults(name: str, root: str | None) -> bool:
    """A table of the vault: of its model, the migrations' own, or the job queue's; a
    partition of one of those (``root``: the top of its partition tree — the index's day
    partitions, `recordings_legacy`, `recordings_rest`, issue 68 item 3); or a day a sweep
    detached and has not dropped yet (its recovery finishes it wherever the vault is)."""
    if root is not None:
        return _is_vaults(root, None)
    return name in metadata.tables or name == "alembic_version" or \
        outside_model(name, "table") or DETACHED_NAME.match(name) is not None


def _objects(conn: psycopg.Connection[Any], schema: str, plan: Plan) -> None:
    # A partition is a table of its own to PostgreSQL: `ALTER TABLE parent SET SCHEMA` leaves
    # it where it is (and an `ALTER SCHEMA ... RENAME` needs it known as the vault's), so it
    # is listed and moved as its root's (in either order: a partition may sit in another
    # schema than its parent meanwhile).
    for name, kind, root in conn.execute(
            "SELECT c.relname, c.relkind, r.relname FROM pg_class c LEFT JOIN pg_class r ON "
            "c.relispartition AND r.oid = pg_partition_root(c.oid) AND r.relnamespace = "
            "c.relnamespace WHERE c.relnamespace = %s::regnamespace "
            "AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND NOT EXISTS (SELECT 1 FROM "
            "pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND "
            "d.deptype IN ('a', 'i') AND d.refobjsubid > 0) ORDER BY 1", (schema,)):
        (plan.tables if kind != "S" and _is_vaults(name, root) else plan.others).append(name)
    for oid, name in conn.execute("SELECT p.oid, p.proname FROM pg_proc p WHERE "
                                  "p.pronamespace = %s::regnamespace ORDER BY 2", (schema,)):
        (plan.functions.append(oid) if name.startswith(QUEUE_PREFIX)
         else plan.others.append(f"{name}()"))
    for oid, name in conn.execute(
            "SELECT t.oid, t.typname FROM pg_type t LEFT JOIN pg_class c ON c.oid = t.typrelid "
            "WHERE t.typnamespace = %s::regnamespace AND t.typtype IN ('e', 'd', 'c', 'r', 'm') "
            "AND (t.typrelid = 0 OR c.relkind = 'c') ORDER BY 2", (schema,)):
        (plan.types.append(oid) if name.startswith(QUEUE_PREFIX) else plan.others.append(name))


def _owners(conn: psycopg.Connection[Any], schema: str) -> list[str]:
    """The owners of the vault's schema and objects the installation's role may not act as
    (ALTER ... OWNER TO needs that, where it is no superuser)."""
    rows = conn.execute(
        "SELECT DISTINCT o.rolname FROM (SELECT nspowner AS owner FROM pg_namespace WHERE "
        "nspname = %s UNION SELECT relowner FROM pg_class WHERE relnamespace = "
        "%s::regnamespace) x JOIN pg_roles o ON o.oid = x.owner WHERE NOT pg_has_role("
        "current_user, x.owner, 'MEMBER') ORDER BY 1", (schema, schema)).fetchall()
    return [str(r[0]) for r in rows]


def examine(vault_url: str, url: str, slug: str) -> Plan:
    """The vault's schema and what moves; refused (nothing changed) when the vault is on
    another server or database, the installation's role cannot take its objects over, or the
    office's role or schema exists."""
    schema, vault_server = _vault_schema(vault_url)
    with pg_scope.connect(url) as conn:
        if _server_of(conn, schema) != vault_server or vault_server[3] is None:
            raise InputError(
                "the vault's database is on another PostgreSQL server or in another database "
                "than the installation's; `offices adopt` moves a vault's tables within one "
                "database, never between servers. Make the installation on the vault's "
                "database (`offices init --database URL`), or move the database there first "
                "(`kustosz backup` and `kustosz restore --database`)",
                pl="Baza skarbca jest na innym serwerze PostgreSQL albo w innej bazie niż baza "
                   "instalacji; `offices adopt` przenosi tabele skarbca w obrębie jednej bazy, "
                   "nigdy między serwerami. Utwórz instalację na bazie skarbca (`offices init "
                   "--database ADRES`) albo najpierw przenieś tam bazę (`kustosz backup` i "
                   "`kustosz restore --database`).")
        pg_scope.refuse_taken(conn, slug)
        cannot = _owners(conn, schema)
        if cannot:
            raise InputError(
                f"the installation's role may not take over the vault's tables, owned by "
                f"{', '.join(cannot)}: as a superuser, GRANT {', '.join(cannot)} TO the "
                "installation's role (or adopt with a superuser's URL), then adopt again",
                pl=f"Rola instalacji nie może przejąć tabel skarbca, których właścicielem jest "
                   f"{', '.join(cannot)}: jako superużytkownik nadaj GRANT {', '.join(cannot)} "
                   "TO rola instalacji (albo przyjmij skarbiec z adresem superużytkownika), "
                   "a potem ponów przyjęcie.")
        plan = Plan(schema, own=False)
        _objects(conn, schema, plan)
    if "audit_log" not in plan.tables:
        raise InputError(f"the schema {schema} holds no vault's tables (no audit_log)",
                         pl=f"Schemat {schema} nie zawiera tabel skarbca (brak audit_log).")
    plan.own = schema != "public" and not plan.others
    return plan


def _run(conn: psycopg.Connection[Any], text: str, *names: str | sql.Composable) -> None:
    conn.execute(sql.SQL(text).format(*(sql.Identifier(n) if isinstance(n, str) else n
                                        for n in names)))


def _regnamed(conn: psycopg.Connection[Any], cast: str, oid: int) -> sql.Composable:
    # The name as the catalogue says it now (types moved before change a function's name).
    row = conn.execute(f"SELECT %s::oid::{cast}::text", (oid,)).fetchone()
    assert row is not None
    return sql.SQL(str(row[0]))


def _move(conn: psycopg.Connection[Any], plan: Plan, slug: str) -> None:
    new, role = schema_name(slug), role_name(slug)
    if plan.own:
        _run(conn, "ALTER SCHEMA {} RENAME TO {}", plan.schema, new)
    else:
        _run(conn, "CREATE SCHEMA {}", new)
        for table in plan.tables:
            _run(conn, "ALTER TABLE {}.{} SET SCHEMA {}", plan.schema, table, new)
        for oid in plan.functions:
            _run(conn, "ALTER FUNCTION {} SET SCHEMA {}", _regnamed(conn, "regprocedure", oid),
                 new)
        for oid in plan.types:
            _run(conn, "ALTER TYPE {} SET SCHEMA {}", _regnamed(conn, "regtype", oid), new)
    _run(conn, "ALTER SCHEMA {} OWNER TO {}", new, role)
    for (name,) in conn.execute("SELECT relname FROM pg_class WHERE relnamespace = "
                                "%s::regnamespace AND relkind IN ('r','p','v','m','f')",
                                (new,)).fetchall():
        # A table's indexes and its columns' sequences follow its owner.
        _run(conn, "ALTER TABLE {}.{} OWNER TO {}", new, name, role)
    for (oid,) in conn.execute("SELECT oid FROM pg_proc WHERE pronamespace = "
                               "%s::regnamespace", (new,)).fetchall():
        _run(conn, "ALTER FUNCTION {} OWNER TO {}", _regnamed(conn, "regprocedure", oid), role)
    for (oid,) in conn.execute(
            "SELECT t.oid FROM pg_type t LEFT JOIN pg_class c ON c.oid = t.typrelid WHERE "
            "t.typnamespace = %s::regnamespace AND t.typtype IN ('e','d','c','r','m') AND "
            "(t.typrelid = 0 OR c.relkind = 'c')", (new,)).fetchall():
        _run(conn, "ALTER TYPE {} OWNER TO {}", _regnamed(conn, "regtype", oid), role)
    _revoke_others(conn, new, role)


def _revoke_others(conn: psycopg.Connection[Any], schema: str, role: str) -> None:
    """Only the office's role keeps a right in its schema: PUBLIC's (functions' EXECUTE,
    given by default) and any other grantee's (a reporting role given to the old vault) go."""
    _run(conn, "REVOKE ALL ON SCHEMA {} FROM PUBLIC", schema)
    _run(conn, "REVOKE ALL ON ALL FUNCTIONS IN SCHEMA {} FROM PUBLIC", schema)
    grantees = conn.execute(
        "SELECT DISTINCT r.rolname FROM (SELECT (aclexplode(nspacl)).grantee AS g FROM "
        "pg_namespace WHERE nspname = %s UNION SELECT (aclexplode(relacl)).grantee FROM "
        "pg_class WHERE relnamespace = %s::regnamespace) x JOIN pg_roles r ON r.oid = x.g "
        "WHERE r.rolname <> %s", (schema, schema, role)).fetchall()
    for (grantee,) in grantees:
        _run(conn, "REVOKE ALL ON SCHEMA {} FROM {}", schema, grantee)
        _run(conn, "REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}", schema, grantee)
        _run(conn, "REVOKE ALL ON ALL SEQUENCES IN SCHEMA {} FROM {}", schema, grantee)


@dataclass
class Entry:
    """The adoption's audit entry, written in the move's transaction."""

    actor: str
    subject: str
    details: dict[str, Any]
    head: tuple[int, str] | None = None  # (seq, hash) once written, for audit.head


def adopt(url: str, plan: Plan, slug: str, entry: Entry,
          folder_steps: Callable[[str], None]) -> None:
    """The move, all in one transaction; ``folder_steps(password)`` (the passfile, the
    rewritten kustosz.toml, the folder renamed) runs just before COMMIT and must undo itself
    if the COMMIT fails — the caller's."""
    password = secrets.token_urlsafe(32)
    engine = make_engine(url)
    try:
        with engine.connect() as conn, conn.begin():
            raw = conn.connection.driver_connection
            assert isinstance(raw, psycopg.Connection)
            pg_scope.create_role(raw, slug, password)
            _move(raw, plan, slug)
            _run(raw, "SET LOCAL search_path TO {}", schema_name(slug))
            session = Session(bind=conn)
            try:
                audit.append(session, entry.actor, ADOPTED, entry.subject, entry.details)
                session.flush()
                entry.head = session.info.get("audit_head")
            finally:
                session.close()
            _run(raw, "REVOKE {} FROM CURRENT_USER", role_name(slug))
            folder_steps(password)
    except (psycopg.Error, DBAPIError) as exc:
        orig = exc.orig if isinstance(exc, DBAPIError) else exc
        if not isinstance(orig, psycopg.Error):
            raise
        raise pg_scope.refused(orig, url, "the vault's tables could not be handed to the office",
                               "Nie udało się przekazać tabel skarbca urzędowi") from None
    finally:
        engine.dispose()

