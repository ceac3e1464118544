"""Migration 0048 (issue 64 item 9) up and down on SQLite and PostgreSQL: `calls` gets the
number as written beside its search key, and the calls stored earlier with an empty number
(as the spool intake stored "09243820431", "8906060" or a SIP user's "mcr") get it back from
their recording's meta; "no number" (anonymous) stays empty. Down, the two columns go and
the keys given back stay; up again, nothing changes twice."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from alembic import command
from sqlalchemy import text

from kustosz.db.migrate import alembic_config, upgrade
from kustosz.index.calls import search_calls
from kustosz.ingest.phone.intake import scan
from kustosz.vault import Vault
from tests.calls.calls_pbx import Pbx, PhoneCall, add_line
from tests.conftest import make_vault

PREVIOUS = "0047"
NUMBERS = {  # uniqueid: (caller as the exchange wrote it, callee)
    "1763643912.1": ("09243820431", "201"),
    "1763643912.2": ("mcr", "8906060"),
    "1763643912.3": ("anonymous", "201"),
    "1763643912.4": ("600100200", "201"),
}


def _rows(vault: Vault, columns: str = "caller, callee") -> dict[str, tuple[str, ...]]:
    with vault.engine.connect() as conn:
        return {r[0]: tuple(r[1:]) for r in conn.execute(text(
            f"SELECT uniqueid, {columns} FROM calls ORDER BY uniqueid"))}


def _versions(vault: Vault) -> set[str]:
    with vault.engine.connect() as conn:
        return set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def test_0048_gives_back_the_numbers_stored_empty_and_goes_back(tmp_path: Path,
                                                                backend_url: str) -> None:
    vault = make_vault(tmp_path / "vault", "boleslawiec", backend_url)  # phone retention set
    try:
        _up_and_down(vault, tmp_path)
    finally:
        vault.close()


def _up_and_down(vault: Vault, tmp_path: Path) -> None:
    pbx = Pbx(tmp_path / "pbx")
    pbx.master.write_bytes(b"")
    for i, (uid, (caller, callee)) in enumerate(NUMBERS.items()):
        pbx.record(PhoneCall("in", callee, caller, datetime(2026, 11, 20, 14, i), uid))
    add_line(vault, pbx, no_cdr_wait_s=0)
    assert scan(vault, "centrala", sleep=lambda _: None).stored == 4
    # what the intake before issue 64 stored for them: the numbers with no canonical form
    # empty (their recordings' meta keeps them as the exchange wrote them)
    cfg = alembic_config(vault.engine)
    command.downgrade(cfg, PREVIOUS)
    assert PREVIOUS in _versions(vault)
    with vault.engine.begin() as conn:
        conn.execute(text("UPDATE calls SET caller = '' WHERE caller IN ('09243820431', "
                          "'mcr')"))
        conn.execute(text("UPDATE calls SET callee = '' WHERE callee = '8906060'"))
    before = _rows(vault)
    assert before["1763643912.1"] == ("", "201") and before["1763643912.2"] == ("", "")
    upgrade(vault.engine)  # to the head, through 0048 and whatever came after it
    assert max(_versions(vault)) >= "0048"
    after = _rows(vault, "caller, callee, caller_written, callee_written")
    assert after == {
        "1763643912.1": ("09243820431", "201", "09243820431", ""),
        "1763643912.2": ("mcr", "8906060", "mcr", "8906060"),
        "1763643912.3": ("", "201", "", ""),
        "1763643912.4": ("+48600100200", "201", "", ""),
    }
    with vault.reading() as s:
        for number in ("0924 382 0431", "mcr", "8906060"):
            assert len(search_calls(s, number=number)) == 1, number
    command.downgrade(cfg, PREVIOUS)
    assert _rows(vault) == {k: v[:2] for k, v in after.items()}  # the keys stay
    with vault.engine.connect() as conn:
        names = set(conn.execute(text("SELECT * FROM calls LIMIT 1")).keys())
    assert "caller_written" not in names and "callee_written" not in names
    upgrade(vault.engine)
    assert _rows(vault, "caller, callee, caller_written, callee_written") == {
        **after, "1763643912.1": ("09243820431", "201", "", ""),
        "1763643912.2": ("mcr", "8906060", "", "")}  # shown by their keys now
