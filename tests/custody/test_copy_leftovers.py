"""A copy's making killed mid-way left its build folder in copies/ — after sealing, a signed
bundle of personal data outside the register — for good (issue 64, the same fault as a
report's). The next making removes it (kustosz.staging): a build folder made by a process that
has exited, holding a signed bundle, is gone after the next copy is made; the copy made
verifies and is the only bundle there."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from custody_helpers import call, late_event, people, setup_phone
from tests.conftest import make_vault
from tests.office_day import office_today

from kustosz.custody.bundles import verify_bundle
from kustosz.custody.copies import make_copy
from kustosz.custody.copy_making import BUILD
from kustosz.custody.decisions import decide
from kustosz.custody.requests import RequestSpec, register_request
from kustosz.vault import Vault

MAKE = ("import sys; from pathlib import Path; from kustosz import staging; "
        "print(staging.make(Path(sys.argv[1]), sys.argv[2]))")


def _request(vault: Vault, tmp_path: Path) -> int:
    setup_phone(vault, tmp_path)
    people(vault)
    event = late_event(vault)
    call(vault, tmp_path, event, "+48600100200")
    with vault.transaction() as s:
        req = register_request(s, vault.policy, RequestSpec(
            kind="interested", material="calls", requester="Józef Żółć 🙂",
            received_on=event.date() + timedelta(days=1), event_date=event.date(),
            purpose="skarga", approx_time="12:00", caller="600 100 200",
            callee="74 664 08 00"), "test")
        decide(s, vault.policy, req.id, by="burmistrz", agree=True, on=office_today(),
               actor="t", keyed_by="burmistrz")
        return req.id


def test_the_next_copy_removes_a_killed_makings_signed_leftover(tmp_path: Path) -> None:
    vault = make_vault(tmp_path / "vault", preset="walbrzych")
    try:
        rid = _request(vault, tmp_path)
        first = make_copy(vault, rid, "informatyk", "t")
        copies = vault.root / "copies"
        # what a making killed after sealing leaves: its (dead) process's build folder
        # holding a whole signed bundle
        done = subprocess.run([sys.executable, "-c", MAKE, str(copies), BUILD],
                              capture_output=True, text=True, env=os.environ, check=True)
        left = Path(done.stdout.strip())
        shutil.rmtree(left)
        shutil.copytree(vault.root / first.bundle, left)
        assert verify_bundle(left).ok
        with vault.transaction() as s:
            second = register_request(s, vault.policy, RequestSpec(
                kind="interested", material="calls", requester="Maria Dąbrowska",
                received_on=office_today(), event_date=late_event(vault).date(),
                purpose="skarga", approx_time="12:00", caller="600 100 200",
                callee="74 664 08 00"), "test")
            decide(s, vault.policy, second.id, by="burmistrz", agree=True,
                   on=office_today(), actor="t", keyed_by="burmistrz")
            rid2 = second.id
        copy = make_copy(vault, rid2, "informatyk", "t")
        assert not left.exists()
        assert not [p for p in copies.iterdir() if p.name.startswith(BUILD)]
        assert verify_bundle(vault.root / copy.bundle).ok
    finally:
        vault.close()
