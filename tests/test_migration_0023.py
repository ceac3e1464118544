"""Migration 0023 (issue 17 item 2) up and down on SQLite and PostgreSQL: a data subject's
request gains its masks, a copy its review, and the review playbacks their table; the
downgrade drops them, and refuses (changing nothing) while any of that is recorded."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text

from kustosz.db.migrate import alembic_config, upgrade
from kustosz.vault import Vault

PREVIOUS = "0022"
REQUEST_COLUMNS = {"subject_regions"}
COPY_COLUMNS = {"review_state", "reviewed_by", "reviewed_at", "review_reason"}


def _schema(vault: Vault) -> tuple[set[str], set[str], bool]:
    with vault.engine.connect() as conn:
        i = inspect(conn)
        return ({c["name"] for c in i.get_columns("custody_requests")},
                {c["name"] for c in i.get_columns("custody_copies")},
                i.has_table("custody_review_plays"))


def _request(vault: Vault, regions: str | None) -> None:
    with vault.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO custody_requests (kind, material, requester, received_on, event_date, "
            "sources, start_at, end_at, items, purpose, status, late, registered_by, "
            "registered_at" + (", subject_regions" if regions is not None else "") + ") VALUES "
            "('data_subject', 'video', 'Jan', '2026-11-19', '2026-11-18', '[]', "
            "'2026-11-18 10:00:00', '2026-11-18 11:00:00', '[]', 'dostęp', 'approved', false, "
            "'test', '2026-11-19 10:00:00'" + (f", '{regions}'" if regions is not None else "")
            + ")"))


def _copy(vault: Vault) -> None:
    with vault.engine.begin() as conn:
        rid = conn.execute(text("SELECT min(id) FROM custody_requests")).scalar_one()
        conn.execute(text(
            "INSERT INTO custody_copies (number, year, seq, request_id, start_at, end_at, "
            "sources, items, files, made_by, made_at, expires_at, bundle, manifest_sha256, "
            f"state, review_state) VALUES ('1/2026', 2026, 1, {rid}, '2026-11-18 10:00:00', "
            "'2026-11-18 11:00:00', '[]', '[]', '[]', 'a', '2026-11-19 10:00:00', "
            "'2027-02-18 10:00:00', 'copies/2026/0001', 'x', 'kept', 'awaiting')"))
        cid = conn.execute(text("SELECT id FROM custody_copies")).scalar_one()
        conn.execute(text(
            "INSERT INTO custody_review_plays (copy_id, user_name, path, watched_s, furthest_s, "
            f"skipped, updated_at) VALUES ({cid}, 'b', 'media/x.mp4', 1.0, 1.0, false, "
            "'2026-11-19 10:00:00')"))


def test_0023_adds_masks_and_review_and_goes_back(vault: Vault) -> None:
    cfg = alembic_config(vault.engine)
    # From 0023 itself: on SQLite each later revision's downgrade commits on its own, so a
    # refusal at 0023 after stepping down from head would leave those steps taken.
    command.downgrade(cfg, "0023")
    req, copy, plays = _schema(vault)
    assert req >= REQUEST_COLUMNS and copy >= COPY_COLUMNS and plays
    _request(vault, '[{"kind": "mask", "source": "cam", "x": 1}]')
    _copy(vault)
    with pytest.raises(Exception, match="masks marked: 1; copies under review: 1/2026; "
                                        "review playbacks: 1"):
        command.downgrade(cfg, PREVIOUS)
    assert _schema(vault) == (req, copy, plays)  # refused: nothing changed
    with vault.engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM custody_review_plays")).scalar_one() == 1
        conn.execute(text("DELETE FROM custody_review_plays"))
        conn.execute(text("UPDATE custody_copies SET review_state = NULL"))
        conn.execute(text("UPDATE custody_requests SET subject_regions = '[]'"))
    command.downgrade(cfg, PREVIOUS)
    req, copy, plays = _schema(vault)
    assert not (REQUEST_COLUMNS & req or COPY_COLUMNS & copy or plays)
    with vault.engine.connect() as conn:
        assert conn.execute(text("SELECT requester FROM custody_requests")).scalar_one() == "Jan"
    _request(vault, None)  # the older schema takes requests as before
    upgrade(vault.engine)
    req, copy, plays = _schema(vault)
    assert req >= REQUEST_COLUMNS and copy >= COPY_COLUMNS and plays
    with vault.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM custody_requests")).scalar_one() == 2
