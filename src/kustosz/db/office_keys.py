"""What PostgreSQL keeps once per database, keyed on the office's schema (issue 67 item 2, 4).

An installation's offices are schemas of one database (installation/pg_scope.py), each
reached through its connection's search_path; a vault alone is one schema too. Tables follow
the search_path, but two things Kustosz uses are the whole database's:

- advisory locks: a key is a pair of numbers in the database, whatever schema took it. With
  fixed numbers, two offices waited for each other's audit appends, and an appender's clean-up
  of a stale holder (kustosz.audit.log) took another office's holder for its own;
- LISTEN/NOTIFY channels: procrastinate's trigger notifies `procrastinate_queue_v1#<queue>`,
  so with one queue name every office's worker was woken by every office's jobs (and would
  have marked its own running job of the same number for abortion had another office asked
  to abort one: job numbers are per schema).

Every advisory lock of Kustosz is therefore named here and keyed on the session's schema,
computed by the server itself (`current_schema()`, the first schema of the search_path that
exists: the one the vault's unqualified tables are in), and every job goes to its schema's
own queue. tests/test_office_keys.py refuses an advisory lock taken anywhere else.
"""

from __future__ import annotations

import hashlib
import re

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

AUDIT_CHAIN = "audit.chain"  # the audit log's one writer at a time (kustosz.audit.log)
ACCESS_CHAIN = "access.chain"  # the access chain's (kustosz.audit.access_chain)
_NAME = re.compile(r"[a-z][a-z_.]{0,40}")
# Never NULL: a search_path naming no schema that exists would make the key NULL, and
# pg_advisory_xact_lock(NULL, NULL) returns without taking anything.
_SCHEMA = "coalesce(current_schema(), '')"
SCHEMA_SQL = f"SELECT {_SCHEMA} AS schema"  # for connections that are not SQLAlchemy's

QUEUE_BASE = "kustosz"
# PostgreSQL refuses a channel name of 64 bytes or more (pg_notify: "channel name too long"):
# procrastinate's channel is "procrastinate_queue_v1#" (23 bytes) and the queue's name.
QUEUE_MAX = 63 - len("procrastinate_queue_v1#")


def key(name: str) -> str:
    """The two int4 arguments of lock ``name`` of the session's schema, as SQL.

    hashtext is the server's own and deterministic on it (an advisory lock spans one server,
    never a dump or another version). The first number is the schema's, the second the
    schema's and the lock's together: two schemas whose first numbers collide (1 in 2^32)
    almost surely still differ in the second, so their locks stay apart."""
    return ", ".join(_numbers(name))


def _numbers(name: str) -> tuple[str, str]:
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a lock name: {name!r}")
    return f"hashtext({_SCHEMA})", f"hashtext({_SCHEMA} || '/{name}')"


def lock_sql(name: str) -> str:
    """Take lock ``name`` until the transaction ends (waiting, as lock_timeout allows)."""
    return f"SELECT pg_advisory_xact_lock({key(name)})"


def try_lock_sql(name: str) -> str:
    """Take lock ``name`` until the transaction ends if it is free (true), else false."""
    return f"SELECT pg_try_advisory_xact_lock({key(name)})"


def held_sql(name: str, alias: str = "l") -> str:
    """A condition on pg_locks (as ``alias``): the row is lock ``name`` of this session's
    schema in this database. pg_locks shows the two-int form's numbers as oids (unsigned:
    an int4 cast to oid keeps its bits) with objsubid 2."""
    first, second = _numbers(name)
    return (f"{alias}.locktype = 'advisory' AND {alias}.objsubid = 2 "
            f"AND {alias}.classid = ({first})::oid AND {alias}.objid = ({second})::oid "
            f"AND {alias}.database = (SELECT oid FROM pg_database "
            f"WHERE datname = current_database())")


def xact_lock(session: Session | Connection, name: str) -> None:
    session.execute(text(lock_sql(name)))


def try_xact_lock(session: Session | Connection, name: str) -> bool:
    return bool(session.execute(text(try_lock_sql(name))).scalar())


def queue_name(schema: str) -> str:
    """procrastinate's queue of the vault whose schema is ``schema``: its notifications go on
    a channel no other schema's worker listens to. A schema whose name would make the channel
    too long is named by its digest (the schema's name is the queue's only meaning)."""
    name = f"{QUEUE_BASE}:{schema}"
    if len(name.encode("utf-8")) > QUEUE_MAX:
        name = f"{QUEUE_BASE}:{hashlib.sha256(schema.encode('utf-8')).hexdigest()[:24]}"
    return name


def current_queue(conn: Session | Connection) -> str:
    """The job queue of the schema ``conn`` works in."""
    return queue_name(str(conn.execute(text(f"SELECT {_SCHEMA}")).scalar_one()))
