"""Migration 0031 (issue 29 item 2) up and down on SQLite and PostgreSQL: a request keeps the
period asked for beside the window its hold keeps; the downgrade takes the period away and
keeps the request; upgraded again, that request has none and its copy holds the window, as a
request registered before the migration does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import inspect, text

from kustosz.custody.requests import RequestSpec, copy_period, get_request, register_request
from kustosz.db.migrate import alembic_config, upgrade
from kustosz.vault import Vault
from tests.custody.custody_helpers import setup_camera
from tests.office_day import office_today

PREVIOUS = "0030"
ASKED = ("asked_start_at", "asked_end_at")


def _columns(vault: Vault) -> set[str]:
    return {c["name"] for c in inspect(vault.engine).get_columns("custody_requests")}


def test_0031_keeps_the_period_asked_for_and_goes_back(vault: Vault) -> None:
    setup_camera(vault)
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    start = end - timedelta(minutes=5)
    with vault.transaction() as s:
        rid = register_request(s, vault.policy, RequestSpec(
            kind="authority", material="video", requester="KPP Pleszew",
            received_on=office_today(), event_date=start.astimezone(vault.policy.timezone).date(),
            purpose="postępowanie", description="kradzież", cameras=["cam-hol"], start=start,
            end=end, margin_minutes=30), "test").id
    with vault.reading() as s:
        req = get_request(s, rid)
        assert copy_period(req) == (start, end)
        assert (req.start_at, req.end_at) == (start - timedelta(minutes=30),
                                              end + timedelta(minutes=30))

    command.downgrade(alembic_config(vault.engine), PREVIOUS)
    assert not set(ASKED) & _columns(vault)
    with vault.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM custody_requests")).scalar_one() == 1
    upgrade(vault.engine)
    assert set(ASKED) <= _columns(vault)
    with vault.reading() as s:
        req = get_request(s, rid)
        assert (req.asked_start_at, req.asked_end_at) == (None, None)
        assert copy_period(req) == (req.start_at, req.end_at)  # the window, as before 0031
