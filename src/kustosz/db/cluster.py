"""Recorder nodes and their leases (issue 16 item 2, kustosz.cluster): several `kustosz serve
--node NAME` processes on one PostgreSQL share the cameras, phone lines and the once-per-cluster
work. On SQLite (one machine) the tables exist and stay empty."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kustosz.db.models import Base
from kustosz.db.types import BigId, UTCDateTime


class Node(Base):
    """One `serve --node` process as it last reported itself. ``incarnation`` is new at every
    start: a second process with the same name finds a fresh row of another incarnation and
    refuses to start. Times are the database's clock."""

    __tablename__ = "nodes"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    incarnation: Mapped[str] = mapped_column(String(32))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # a clean stop
    # the node's clock minus the database's at its last heartbeat
    clock_skew_s: Mapped[float | None] = mapped_column()
    # segments and chunks in its spool not yet taken in (`kustosz nodes`, the dashboard)
    backlog_files: Mapped[int] = mapped_column(Integer, default=0)
    backlog_bytes: Mapped[int] = mapped_column(BigInteger, default=0)


class Lease(Base):
    """Who works on a resource ("camera:<name>", "phone:<name>", "singleton:sweep", …) and
    until when (the database's clock). ``epoch`` grows at every change of holder: a writer
    that checks (node, epoch) before it commits is fenced off once another took over."""

    __tablename__ = "leases"
    resource: Mapped[str] = mapped_column(String(200), primary_key=True)
    node: Mapped[str | None] = mapped_column(String(100))
    until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    epoch: Mapped[int] = mapped_column(BigInteger, default=0)
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
