"""Leases in PostgreSQL: who holds a resource, until when, under which fencing epoch.

Every time is the database's (``now()``), never the node's: two nodes whose clocks disagree
still agree on when a lease ran out. Claims and renewals lock the rows they change with
``FOR UPDATE SKIP LOCKED``: two nodes claiming at once never wait for each other and never
take the same row — one gets it, the other passes it by. The epoch grows at every change of
holder, so a holder that checks (node, epoch) before it commits a write is fenced off once
someone else took over, even if its own idea of time is wrong.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, text

# The database's clock as the naive UTC the tables keep (kustosz.db.types.UTCDateTime).
NOW = "(now() AT TIME ZONE 'UTC')"


@dataclass(frozen=True)
class Held:
    resource: str
    epoch: int
    until: datetime  # the database's clock, aware UTC


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def db_now(conn: Connection) -> datetime:
    return _aware(conn.execute(text(f"SELECT {NOW}")).scalar_one())


def _bounded(conn: Connection, seconds: float) -> None:
    """A lease query that hangs (a locked table, a database that stopped answering) gives up
    instead of holding the node past its lease: the caller then treats the lease as lost."""
    conn.execute(text(f"SET LOCAL statement_timeout = {max(100, int(seconds * 1000))}"))


class Leases:
    """One node's view of the lease table."""

    def __init__(self, engine: Engine, node: str, lease_seconds: float = 15.0) -> None:
        self.engine, self.node, self.lease_seconds = engine, node, lease_seconds
        self.timeout_s = lease_seconds / 3

    def ensure(self, resources: Iterable[str]) -> None:
        """Rows for resources that have none yet (free since now, epoch 0)."""
        names = sorted(set(resources))
        if not names:
            return
        with self.engine.begin() as conn:
            conn.execute(text("INSERT INTO leases (resource, node, until, epoch) "
                              f"SELECT r, NULL, {NOW}, 0 FROM unnest(CAST(:r AS text[])) AS r "
                              "ON CONFLICT (resource) DO NOTHING"), {"r": names})

    def claim(self, resources: Iterable[str], limit: int) -> tuple[list[Held], datetime]:
        """Take up to ``limit`` of these resources that nobody holds (or whose lease ran
        out); rows another node is claiming right now are skipped, not waited for. Returns
        them and the database's time of the claim."""
        names = sorted(set(resources))
        with self.engine.begin() as conn:
            _bounded(conn, self.timeout_s)
            now = db_now(conn)
            if limit <= 0 or not names:
                return [], now
            rows = conn.execute(text(
                f"UPDATE leases SET node = :me, epoch = epoch + 1, taken_at = {NOW}, "
                f"until = {NOW} + make_interval(secs => :s) WHERE resource IN ("
                "SELECT resource FROM leases WHERE resource = ANY(CAST(:r AS text[])) AND "
                f"(node IS NULL OR until IS NULL OR until <= {NOW}) ORDER BY resource "
                "LIMIT :n FOR UPDATE SKIP LOCKED) RETURNING resource, epoch, until"),
                {"me": self.node, "s": self.lease_seconds, "r": names, "n": limit}).all()
        return sorted((Held(r, e, _aware(u)) for r, e, u in rows),
                      key=lambda h: h.resource), now

    def renew(self) -> tuple[dict[str, Held], datetime]:
        """Push out every lease this node still holds; one that ran out is not renewed (the
        node stopped its work on it before then). Returns them and the database's time."""
        with self.engine.begin() as conn:
            _bounded(conn, self.timeout_s)
            now = db_now(conn)
            rows = conn.execute(text(
                f"UPDATE leases SET until = {NOW} + make_interval(secs => :s) WHERE resource "
                "IN (SELECT resource FROM leases WHERE node = :me AND until > "
                f"{NOW} FOR UPDATE SKIP LOCKED) RETURNING resource, epoch, until"),
                {"me": self.node, "s": self.lease_seconds}).all()
        return {r: Held(r, e, _aware(u)) for r, e, u in rows}, now

    def release(self, resource: str, epoch: int) -> bool:
        """Give a resource up (its work stopped): free for anyone at once; `until` keeps
        when it became free (a source without a node for long raises an alert)."""
        with self.engine.begin() as conn:
            done = conn.execute(text(
                f"UPDATE leases SET node = NULL, until = {NOW} WHERE resource = :r AND "
                "node = :me AND epoch = :e"), {"r": resource, "me": self.node, "e": epoch})
        return bool(done.rowcount)

    def release_all(self) -> int:
        with self.engine.begin() as conn:
            done = conn.execute(text(f"UPDATE leases SET node = NULL, until = {NOW} "
                                     "WHERE node = :me"), {"me": self.node})
        return int(done.rowcount or 0)

    def still_held(self, resource: str, epoch: int, margin_seconds: float) -> bool:
        """This node holds the resource under this epoch, with more than the margin left."""
        with self.engine.connect() as conn:
            _bounded(conn, margin_seconds / 2)
            found = conn.execute(text(
                "SELECT 1 FROM leases WHERE resource = :r AND node = :me AND epoch = :e AND "
                f"until > {NOW} + make_interval(secs => :m)"),
                {"r": resource, "me": self.node, "e": epoch, "m": margin_seconds}).first()
        return found is not None

    def term_ended(self, resource: str, epoch: int, timeout_s: float) -> datetime | None:
        """When this node's term under ``epoch`` ended by the database: None while it still
        holds the resource under it; else when it was released or another took it over
        (the newer holder's `taken_at`; the distant past if nothing tells)."""
        with self.engine.connect() as conn:
            _bounded(conn, timeout_s)
            row = conn.execute(text(
                "SELECT node, epoch, until, taken_at FROM leases WHERE resource = :r"),
                {"r": resource}).first()
        if row is None:
            return datetime.min.replace(tzinfo=UTC)
        node, now_epoch, until, taken_at = row
        if now_epoch == epoch:
            if node == self.node:
                return None
            if node is None and until is not None:  # released after its work stopped
                return _aware(until)
        elif now_epoch > epoch and taken_at is not None:
            return _aware(taken_at)
        return datetime.min.replace(tzinfo=UTC)

    def table(self) -> list[tuple[str, str | None, datetime | None, int]]:
        with self.engine.connect() as conn:
            rows = conn.execute(text("SELECT resource, node, until, epoch FROM leases "
                                     "ORDER BY resource")).all()
        return [(r, n, _aware(u) if u is not None else None, e) for r, n, u, e in rows]
