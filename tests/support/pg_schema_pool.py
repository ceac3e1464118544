"""PostgreSQL test vaults' schemas, emptied and used again instead of made and dropped.

Each PostgreSQL test vault is a schema of its own (tests/conftest.py, `pg_url`), filled with
the migrated template's replay and dropped when its test ends: 0.15 s and 0.05 s of the
server's CPU, some 600 times a run on the 2-core test machine (issue 52 item 7). A schema
whose test has ended is given back here instead. It is kept only if it is still the
template's exact shape (`Shape`: its tables, columns and their defaults, constraints,
indexes, triggers, functions, enum labels and grants, as the catalogs say), and then emptied
in one transaction: every row deleted (triggers off, as for a restore: the audit log's
append-only trigger and the foreign keys' order do not apply), the template's own rows and
sequence values put back from its dump. The next vault's empty schema is then replaced by it
(a rename). Anything else — a migration test's downgraded schema, an extra table, a lock
still held, a user who may not turn triggers off — is dropped as before.

A schema is used at most USES times: deleted rows stay in its tables until then (the test
server runs without autovacuum). KUSTOSZ_TEST_SCHEMA_EACH=1 turns it off (every vault's schema
made and dropped), as KUSTOSZ_TEST_MIGRATE_EACH=1 does with the template.
tests/support/test_pg_schema_pool.py checks the round trip against a fresh replay.
"""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from collections.abc import Callable

import psycopg
from psycopg import sql

from kustosz.cluster.nodes import pid_alive

USES = 20
LOCK_TIMEOUT = "2s"
DAY_PARTITION = re.compile(r"recordings_d\d{8}")  # retention/partitions.py's names

# One line per object of the schema, as the catalogs describe it; {ns}: its oid.
_SHAPE = """
SELECT 'r ' || c.relname || ' ' || c.relkind::text || ' ' || coalesce(c.relacl::text, '')
       || ' ' || c.relrowsecurity::text || ' ' || coalesce(c.reloptions::text, '')
  FROM pg_class c WHERE c.relnamespace = %(ns)s
UNION ALL
SELECT 'a ' || c.relname || ' ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
       || ' ' || a.attnotnull::text || ' ' || a.attidentity::text || ' '
       || coalesce(pg_get_expr(d.adbin, d.adrelid), '') || ' ' || coalesce(a.attacl::text, '')
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE c.relnamespace = %(ns)s AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'c ' || conname || ' ' || pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace = %(ns)s
UNION ALL
SELECT 't ' || t.tgname || ' ' || t.tgenabled::text || ' ' || pg_get_triggerdef(t.oid)
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = %(ns)s AND NOT t.tgisinternal
UNION ALL
SELECT 'i ' || pg_get_indexdef(i.indexrelid)
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relnamespace = %(ns)s
UNION ALL
SELECT 'f ' || pg_get_functiondef(p.oid) FROM pg_proc p WHERE p.pronamespace = %(ns)s
UNION ALL
SELECT 'e ' || t.typname || ' ' || e.enumsortorder::text || ' ' || e.enumlabel
  FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid WHERE t.typnamespace = %(ns)s
UNION ALL
SELECT 'y ' || t.typname || ' ' || t.typtype::text
  FROM pg_type t WHERE t.typnamespace = %(ns)s
UNION ALL
SELECT 'p ' || pol.polname || ' ' || c.relname || ' ' || pol.polcmd::text
  FROM pg_policy pol JOIN pg_class c ON c.oid = pol.polrelid WHERE c.relnamespace = %(ns)s
"""


def shape(conn: psycopg.Connection[tuple[object, ...]], schema: str) -> str:
    """``schema``'s objects as one text, its own name written {schema} (so that two schemas
    of the same shape read the same)."""
    with conn.transaction():
        # names in the definitions are then qualified with their schema, whatever the path
        conn.execute("SET LOCAL search_path = pg_catalog")
        row = conn.execute("SELECT oid FROM pg_namespace WHERE nspname = %s",
                           (schema,)).fetchone()
        if row is None:
            return ""
        lines = [str(r[0]) for r in conn.execute(_SHAPE, {"ns": row[0]})]
    return "\n".join(sorted(lines)).replace(schema, "{schema}")


def template_data(url: str, schema: str) -> str:
    """The template's rows and sequence values as SQL (pg_dump's data section), its name
    written {schema}."""
    dump = subprocess.run(
        ["pg_dump", "--section=data", "--inserts", "--no-owner", "--no-privileges",
         "--schema", schema, url], capture_output=True, text=True, check=True,
        timeout=120).stdout
    lines = [line for line in dump.splitlines() if not line.startswith("\\")]
    return "\n".join(lines).replace(schema, "{schema}")


def drop_stale(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    """Drops the pooled schemas of test processes that are gone (a run killed midway)."""
    names = [str(r[0]) for r in conn.execute(
        "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'kt\\_pool\\_%'")]
    stale = [n for n in names if (m := re.fullmatch(r"kt_pool_(\d+)_[0-9a-f]+", n))
             and not pid_alive(int(m.group(1)))]
    for name in stale:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))
    return len(stale)


class SchemaPool:
    """One process's emptied schemas, in its own database (tests/support/pg_worker.py)."""

    def __init__(self, connect: Callable[[], psycopg.Connection[tuple[object, ...]]],
                 template_schema: str, data_script: str) -> None:
        self._connect = connect
        self.refused = ""  # why the last schema given back was not kept (for a test's message)
        self._data = data_script  # the template's rows and sequence values, {schema} for its name
        with connect() as conn:
            drop_stale(conn)
            self._shape = shape(conn, template_schema)
            kinds = [(str(r[0]), str(r[1])) for r in conn.execute(
                "SELECT c.relname, c.relkind FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s"
                " ORDER BY 1", (template_schema,))]
        self._tables = [name for name, kind in kinds if kind in ("r", "p")]
        self._days = {name for name in self._tables if DAY_PARTITION.fullmatch(name)}
        sequences = sum(kind == "S" for _, kind in kinds)
        if data_script.count("pg_catalog.setval(") != sequences or any(
                kind == "m" for _, kind in kinds):
            # a sequence the dump would not set back, or a view's rows: not emptied here
            raise ValueError("the template's data cannot be put back from its dump")
        self._free: list[tuple[str, int]] = []  # (its name in the pool, uses so far)
        self._uses: dict[str, int] = {}  # a schema taken: the uses it has had
        self.given_back = 0  # schemas kept for another vault

    def take(self, conn: psycopg.Connection[tuple[object, ...]], schema: str) -> bool:
        """Replaces the empty ``schema`` by an emptied one from the pool, in ``conn``'s open
        transaction (the caller commits); False when the pool has none."""
        if not self._free:
            return False
        pooled, uses = self._free.pop()
        conn.execute(sql.SQL("DROP SCHEMA {}; ALTER SCHEMA {} RENAME TO {}").format(
            sql.Identifier(schema), sql.Identifier(pooled), sql.Identifier(schema)))
        self._uses[schema] = uses
        return True

    def count_as_new(self, schema: str) -> None:
        """Forgets the uses of the pooled schema a vault in ``schema`` was given: the pool's
        own tests count from a schema's first use, whichever schema make_vault took."""
        self._uses.pop(schema, None)

    def give_back(self, schema: str) -> bool:
        """Keeps ``schema`` emptied for another vault if it is still the template's shape and
        can be emptied now; else (and after USES uses) False: the caller drops it."""
        uses = self._uses.pop(schema, 0) + 1
        if uses >= USES:
            self.refused = f"{schema} used {uses} times"
            return False
        try:
            with self._connect() as conn:
                self._drop_new_days(conn, schema)
                if (now := shape(conn, schema)) != self._shape:
                    self.refused = f"{schema} is not the template's shape: " + " | ".join(
                        sorted(set(now.splitlines()) ^ set(self._shape.splitlines())))[:2000]
                    return False
                pooled = f"kt_pool_{os.getpid()}_{uuid.uuid4().hex[:8]}"
                with conn.transaction():
                    conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                    conn.execute("SET LOCAL session_replication_role = replica")
                    conn.execute(sql.SQL("; ").join(
                        sql.SQL("DELETE FROM {}").format(sql.Identifier(schema, table))
                        for table in self._tables))
                    conn.execute(self._data.replace("{schema}", schema))
                    conn.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(
                        sql.Identifier(schema), sql.Identifier(pooled)))
        except psycopg.Error as exc:
            self.refused = f"{schema}: {type(exc).__name__}: {exc}"
            return False
        self._free.append((pooled, uses))
        self.given_back += 1
        return True

    def _drop_new_days(self, conn: psycopg.Connection[tuple[object, ...]], schema: str) -> None:
        """The index's day partitions the vault made beyond the template's (make_days,
        issue 68 item 3): its rows are emptied anyway, and the next vault makes its own."""
        names = [str(r[0]) for r in conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relkind = 'r'", (schema,))]
        new = [n for n in names if DAY_PARTITION.fullmatch(n) and n not in self._days]
        if new:
            with conn.transaction():
                conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                conn.execute(sql.SQL("; ").join(
                    sql.SQL("DROP TABLE {}").format(sql.Identifier(schema, n)) for n in new))

    def close(self) -> None:
        """Drops the schemas the pool still keeps."""
        with self._connect() as conn:
            for pooled, _ in self._free:
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                    sql.Identifier(pooled)))
        self._free.clear()
