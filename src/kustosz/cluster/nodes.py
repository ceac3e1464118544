"""The nodes table: who is alive, by the database's clock.

A node registers at start with a new incarnation token and then beats every renewal. A name is
one process: a second `serve --node NAME` while the first still beats is refused (naming the
host and PID that hold it). A row left by a process that died on this same machine is taken
over at once (its PID is gone); one from another machine once it has not beaten for a lease
time.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from kustosz.db.leases import NOW, _aware
from kustosz.errors import ConfigError


@dataclass(frozen=True)
class NodeRow:
    name: str
    host: str
    pid: int
    started_at: datetime
    last_seen: datetime
    stopped_at: datetime | None
    clock_skew_s: float | None
    backlog_files: int
    backlog_bytes: int
    live: bool


def pid_alive(pid: int) -> bool:
    """Whether a process of this number runs on this machine (one of another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def register(engine: Engine, name: str, lease_seconds: float,
             host: str | None = None, pid: int | None = None) -> str:
    """Make or take over the row of ``name``; returns the new incarnation token. Refuses
    (ConfigError) while another live process holds the name."""
    host = host or socket.gethostname()
    pid = pid or os.getpid()
    token = uuid.uuid4().hex
    for _attempt in range(3):
        try:
            with engine.begin() as conn:
                row = conn.execute(text(
                    f"SELECT host, pid, stopped_at, last_seen > {NOW} - make_interval(secs "
                    "=> :s) FROM nodes WHERE name = :n FOR UPDATE"),
                    {"n": name, "s": lease_seconds}).first()
                if row is not None:
                    other_host, other_pid, stopped, fresh = row
                    dead_here = other_host == host and not pid_alive(other_pid)
                    if stopped is None and fresh and not dead_here:
                        raise ConfigError(
                            f"node name {name!r} is in use by a running kustosz serve on "
                            f"{other_host} (PID {other_pid}); give this one another --node "
                            "name, or stop that one first",
                            pl=f"Nazwa węzła „{name}” jest zajęta przez działający kustosz "
                               f"serve na {other_host} (PID {other_pid}); nadaj temu węzłowi "
                               "inną nazwę (--node) albo najpierw zatrzymaj tamten.")
                    conn.execute(text(
                        f"UPDATE nodes SET incarnation = :t, host = :h, pid = :p, started_at = "
                        f"{NOW}, last_seen = {NOW}, stopped_at = NULL, clock_skew_s = NULL, "
                        "backlog_files = 0, backlog_bytes = 0 WHERE name = :n"),
                        {"t": token, "h": host, "p": pid, "n": name})
                else:
                    conn.execute(text(
                        "INSERT INTO nodes (name, incarnation, host, pid, started_at, last_seen, "
                        f"backlog_files, backlog_bytes) VALUES (:n, :t, :h, :p, {NOW}, {NOW}, "
                        "0, 0)"), {"t": token, "h": host, "p": pid, "n": name})
            return token
        except IntegrityError:  # the same name inserted by another at the same instant
            continue
    raise ConfigError(f"node name {name!r}: could not register it",
                      pl=f"Nie udało się zarejestrować węzła „{name}”.")


def beat(engine: Engine, name: str, token: str, skew_s: float | None,
         backlog: tuple[int, int] = (0, 0)) -> bool:
    """The node is alive; False when the row is no longer this incarnation's."""
    with engine.begin() as conn:
        done = conn.execute(text(
            f"UPDATE nodes SET last_seen = {NOW}, clock_skew_s = :k, backlog_files = :f, "
            "backlog_bytes = :b WHERE name = :n AND incarnation = :t"),
            {"n": name, "t": token, "k": skew_s, "f": backlog[0], "b": backlog[1]})
    return bool(done.rowcount)


def stopped(engine: Engine, name: str, token: str) -> None:
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE nodes SET stopped_at = {NOW}, last_seen = {NOW} "
                          "WHERE name = :n AND incarnation = :t"), {"n": name, "t": token})


def nodes(engine: Engine, lease_seconds: float) -> list[NodeRow]:
    """Every node known, with whether it is live (beat within a lease time, not stopped)."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT name, host, pid, started_at, last_seen, stopped_at, clock_skew_s, "
            "backlog_files, backlog_bytes, stopped_at IS NULL AND last_seen > "
            f"{NOW} - make_interval(secs => :s) FROM nodes ORDER BY name"),
            {"s": lease_seconds}).all()
    return [NodeRow(n, h, p, _aware(st), _aware(ls), _aware(sp) if sp else None, k, f, b,
                    bool(live)) for n, h, p, st, ls, sp, k, f, b, live in rows]


def live_names(engine: Engine, lease_seconds: float) -> list[str]:
    return [n.name for n in nodes(engine, lease_seconds) if n.live]


def skew_seconds(engine: Engine, clock: object = None) -> float:
    """This node's clock minus the database's, read across one round trip (its midpoint)."""
    read = clock if callable(clock) else (lambda: datetime.now(UTC))
    with engine.connect() as conn:
        before = read()
        db = _aware(conn.execute(text(f"SELECT {NOW}")).scalar_one())
        after = read()
    mid = before + (after - before) / 2
    return (mid - db).total_seconds()
