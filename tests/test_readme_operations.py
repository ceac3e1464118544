"""The operations commands of the documentation run as written (issue 14: an office admin copies
them; since issue 31 they are in docs/operations/, no longer in the README)."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

SERVICE = (Path(__file__).parent.parent / "docs" / "operations" / "service.md").read_text("utf-8")


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed")
def test_the_journal_filter_reads_past_the_banner() -> None:
    """`journalctl -u kustosz -o cat | jq …`: the journal holds serve's JSON lines and the
    plain words it says to a person on stderr (banner, one-time password) — the filter must
    go past those and still pick the errors."""
    found = re.search(r"`journalctl -u kustosz -o cat \| (jq [^`]+)`", SERVICE)
    assert found, "the jq filter for the journal (docs/operations/service.md, Logs)"
    journal = "\n".join([
        "Kustosz 0.1 — skarbiec /var/lib/kustosz",
        json.dumps({"ts": "2026-11-22T10:00:00Z", "level": "INFO", "msg": "started"}),
        "Hasło jednorazowe pierwszego administratora: abc def",
        json.dumps({"ts": "2026-11-22T10:00:01Z", "level": "ERROR", "msg": "camera down"}),
        json.dumps({"ts": "2026-11-22T10:00:02Z", "level": "ERROR", "msg": "sweep failed"}),
    ]) + "\n"
    done = subprocess.run(shlex.split(found.group(1)), input=journal, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    picked = [json.loads(obj) for obj in re.findall(r"\{[^{}]*\}", done.stdout)]
    assert [p["msg"] for p in picked] == ["camera down", "sweep failed"]
