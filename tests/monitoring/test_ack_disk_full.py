"""An acknowledgment is never given for what could not be written (issue 14 item 8): with the
spool's disk full, the JSON endpoint answers 503 (the sender keeps the events and retries)
and RELP leaves the messages unanswered; once there is room again the same clients get their
202 / "200 OK" and those events are stored. A real tmpfs filled to the last byte."""

from __future__ import annotations

import json
import os
from pathlib import Path

from monitoring_helpers import endpoint, events_listener, post
from relp_helpers import relp_client, rsp
from sqlalchemy import select
from tests.full_disk_helpers import fill, tmpfs

from kustosz.db.events import MonitoringEvent
from kustosz.vault import Vault

OPEN = b"1 open 30 relp_version=0\ncommands=syslog\n"


def _events(n: int, tag: str) -> bytes:
    return json.dumps([{"time": "2026-11-22T10:00:00+01:00", "host": "pc-1",
                        "message": f"{tag} {i}"} for i in range(n)]).encode()


def test_a_full_spool_disk_gets_503_not_202_and_relp_no_answer(elblag_sqlite: Vault,
                                                                  tmp_path: Path) -> None:
    vault = elblag_sqlite
    with tmpfs(tmp_path / "small", 1) as small:
        spool = vault.root / "spool" / "monitoring"
        spool.mkdir(parents=True, exist_ok=True)
        (small / "siem").mkdir()
        os.symlink(small / "siem", spool / "siem")  # the spool of this source on the small disk
        token = endpoint(vault, relp="127.0.0.1:0")
        bg = events_listener(vault)
        try:
            url = f"http://127.0.0.1:{bg.service.addresses['http'][1]}/events"
            status, _ = post(url, _events(5, "before"), token)
            assert status == 202
            ballast = small / "ballast"
            fill(ballast)
            status, answer = post(url, _events(200, "while full"), token)
            assert status == 503, answer
            assert "retry" in answer["error"]
            with relp_client(bg.service.addresses["relp"][1], timeout=3) as sock:
                sock.sendall(OPEN)
                assert rsp(sock)[:2] == (1, 200)  # nothing to store in an open
                sock.sendall(b"2 syslog 20 <13>relp while full!\n")
                closed = b""
                try:
                    while chunk := sock.recv(100):
                        closed += chunk
                except TimeoutError:
                    closed = b"(no answer)"
                assert b"rsp" not in closed  # no "200 OK" for what is not on disk
            ballast.unlink()
            status, answer = post(url, _events(3, "after"), token)
            assert status == 202 and answer["accepted"] == 3
            bg.flush()
        finally:
            bg.stop()
    with vault.reading() as s:
        messages = list(s.execute(select(MonitoringEvent.message)).scalars())
    assert {f"before {i}" for i in range(5)} <= set(messages)
    assert {f"after {i}" for i in range(3)} <= set(messages)
