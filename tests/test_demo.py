"""`kustosz demo` (what `make demo` runs) as a newcomer meets it (issue 12): one account per
role to try every role's work in the browser, and a clear refusal — before anything is made —
when its web port is taken (the demo used to go on without a web app, leaving no address and
no account)."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest
from sqlalchemy import select

from kustosz.access import accounts
from kustosz.access.authorisations import ACTIONS
from kustosz.cli.demo import DEMO_PEOPLE
from kustosz.db.access import Authorisation
from kustosz.db.custody import User
from kustosz.vault import Vault
from tests.conftest import Cli


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_demo_makes_one_account_per_role_with_the_password_it_prints(here: Path) -> None:
    out = Cli(Path("demo-data"))("demo", "--no-serve").output
    said = " ".join(out.split())
    found = re.search(r"everyone.s password: (\S+)", said)
    assert found, out
    password = found.group(1)
    vault = Vault.open(Path("demo-data"))
    try:
        with vault.transaction() as s:
            users = {u.name: u for u in s.execute(select(User)).scalars()}
            for login, (name, roles, _title) in DEMO_PEOPLE.items():
                assert login in said and name in said
                assert users[login].roles == roles and users[login].active
                assert accounts.confirm_password(s, users[login], password), login
                assert not accounts.needs_new_password(s, users[login])
            given = s.execute(select(Authorisation).where(
                Authorisation.holder_id == users["przegladajacy"].id)).scalar_one()
            assert given.issued_by == "kierownik"
        # every role the web knows is there, so every page can be tried
        assert {r for _n, rs, _t in DEMO_PEOPLE.values() for r in rs} >= {
            "approver", "custodian", "dpo", "viewer", "commission", "auditor"}
        assert set(given.actions) <= set(ACTIONS) and "playback" in given.actions
    finally:
        vault.close()


def test_a_taken_port_is_refused_before_anything_is_made(here: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = Cli(Path("demo-data"))("demo", "--port", str(port), ok=False)
    said = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert f"port {port}" in said and "zajęty" in said and f"--port {port + 1}" in said
    assert not (here / "demo-data").exists()
