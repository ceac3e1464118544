"""The one definition of an id in a URL or a JSON body.

Ids are database integers: both SQLite and PostgreSQL stop at 2⁶³−1, and a larger number
reached the driver and came back as a 500 (OverflowError / NumericValueOutOfRange). Every int
parameter of a route is one of these types, so such a number is a 422 naming the parameter
before any database work; `tests/web/test_web_robustness.py` walks the routes and fails on an
unbounded int. The app's handler for database overflow (kustosz.web.robust) is the safety net
behind it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import Field

DB_INT_MAX = 2**63 - 1

# A row id in the path, e.g. `/requests/{req_id}`.
PathId = Annotated[int, Path(ge=1, le=DB_INT_MAX)]
# A row id in a JSON body (pydantic models of the API).
BodyId = Annotated[int, Field(ge=1, le=DB_INT_MAX)]

