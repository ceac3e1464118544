"""Two nodes (`run_node`, in this process, each with its own stop) on one PostgreSQL database:
a phone line is taken in by the one node that holds its lease, and when that node stops the
other takes the line over and takes in the calls that came meanwhile."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from kustosz.cli import serve as serve_mod
from kustosz.cli.serve import run_node
from kustosz.cluster.settings import ClusterSettings
from kustosz.vault import Vault
from tests.calls.calls_pbx import OFFICE_DID, Pbx, PhoneCall, add_line, day_of_calls, stored_calls
from tests.conftest import make_vault


def _holder(vault: Vault, resource: str) -> str | None:
    with vault.engine.connect() as conn:
        return conn.execute(text("SELECT node FROM leases WHERE resource = :r AND until > "
                                 "now() AT TIME ZONE 'UTC'"), {"r": resource}).scalar()


def _wait(check: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_phone_line_moves_to_the_other_node(tmp_path: Path, pg_database: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serve_mod, "PHONE_PASS_S", 0.2)
    vault = make_vault(tmp_path / "vault", "boleslawiec", pg_database)
    pbx = Pbx(tmp_path / "pbx")
    calls = day_of_calls(pbx)
    add_line(vault, pbx)
    stops = {"a": threading.Event(), "b": threading.Event()}
    opened = {n: Vault.open(vault.root) for n in stops}  # as two processes would
    threads = {n: threading.Thread(target=run_node, args=(
        opened[n], stops[n], ClusterSettings(n, 3.0, 1.0)), name=f"node-{n}") for n in stops}
    for t in threads.values():
        t.start()
    try:
        _wait(lambda: len(stored_calls(vault)) == len(calls), 60, "the day's calls")
        first = _holder(vault, "phone:centrala")
        assert first in stops
        other = "b" if first == "a" else "a"
        stops[first].set()
        threads[first].join(30)
        assert not threads[first].is_alive()
        _wait(lambda: _holder(vault, "phone:centrala") == other, 10, "the other node")
        late = PhoneCall("in", OFFICE_DID, "600700800",
                         max(c.local_start for c in calls.values()).replace(hour=17),
                         "1763658312.16", 2.0)
        pbx.record(late)
        pbx.log(late, src="600700800", dst="201", clid="600700800", userfield=late.name)
        _wait(lambda: late.uniqueid in stored_calls(vault), 30, "the late call")
        with vault.engine.connect() as conn:
            epoch = conn.execute(text("SELECT epoch FROM leases WHERE resource = "
                                      "'phone:centrala'")).scalar_one()
        assert epoch == 2  # one move, one new epoch
    finally:
        for stop in stops.values():
            stop.set()
        for t in threads.values():
            t.join(30)
        for v in (*opened.values(), vault):
            v.close()
