"""`kustosz calls search` (issue 11, item 5): the command line reads with the server account's
rights and checks no authorisation, but who phoned whom is personal data, so each search is
on the audit log with its query and the number of calls it showed (like mail and events
search), and so is each `calls show`; a refused search writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

from calls_pbx import Pbx, day_of_calls
from sqlalchemy import select
from tests.conftest import Cli, snapshot

from kustosz.db.models import AuditEntry
from kustosz.vault import Vault


def test_each_search_is_on_the_audit_log(tmp_path: Path, cli: Cli) -> None:
    pbx = Pbx(tmp_path / "pbx")
    day_of_calls(pbx)
    cli("init", "--preset", "walbrzych")
    cli("phones", "add", "centrala", "--spool", str(pbx.spool), "--cdr", str(pbx.master),
        "--office-number", "74 664 08 00")
    cli("phones", "enable", "centrala", "--legal-basis", "art. 6 ust. 1 lit. c RODO",
        "--purpose", "bezpieczeństwo")
    cli("phones", "scan", "centrala")
    hits = json.loads(cli("calls", "search", "--number", "600 100 200", "--date",
                          "2026-11-20", "--json").output)
    assert len(hits) == 1
    vault = Vault.open(cli.data)
    with vault.reading() as s:
        entry = s.execute(select(AuditEntry).where(AuditEntry.action == "calls.search")) \
            .scalar_one()
    details = json.loads(entry.details)
    assert entry.actor == "tester" and details["rows"] == 1
    assert details["query"] == {"number": "600 100 200", "date": "2026-11-20"}
    rid = hits[0]["recording_id"]
    cli("calls", "show", str(rid))
    with vault.reading() as s:
        assert s.execute(select(AuditEntry.subject).where(
            AuditEntry.action == "calls.show")).scalar_one() == f"recording {rid}"
    before = snapshot(vault)
    assert cli("calls", "search", "--number", "anonymous", ok=False).exit_code == 2
    assert snapshot(vault) == before
    vault.close()
