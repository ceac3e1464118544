"""The Core table behind a mapped class, typed as one."""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.orm import DeclarativeBase


def table_of(model: type[DeclarativeBase]) -> Table:
    """``model.__table__``: SQLAlchemy types it as any FromClause (a class may be mapped to a
    join or a select), while every Kustosz model is mapped to a Table, which Core inserts and
    updates need."""
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a table")
    return table
