"""`make demo` again (issue 65 item 5): what an office's IT person expects of a demo they
started before — it goes on with `demo-data` as it was left (what they tried in it is still
there, nothing is made twice) and prints a shared password that works; `--fresh` starts over.
A folder whose making was cut short is made again, another preset is refused without
`--fresh`, and a folder that is not a demo's is never deleted."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from kustosz.access import accounts
from kustosz.access.bootstrap import first_admin
from kustosz.access.users import add_user, get_user
from kustosz.cli.demo import MARKER
from kustosz.db.custody import User
from kustosz.db.models import Recording
from kustosz.vault import Vault
from tests.conftest import Cli

NEWCOMER = "Józef Żółć 📹"


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _demo(*args: str, ok: bool = True) -> tuple[int, str]:
    result = Cli(Path("demo-data"))("demo", "--no-serve", *args, ok=ok)
    # an error's words as said, without the frame Click draws around it
    return result.exit_code, " ".join(result.output.replace("│", " ").split())


def _password(said: str) -> str:
    return said.split("everyone's password: ")[1].split()[0]


def _state() -> tuple[int, list[str]]:
    """The recordings and the people in the demo folder's vault."""
    vault = Vault.open(Path("demo-data"))
    try:
        with vault.reading() as s:
            return (s.execute(select(func.count()).select_from(Recording)).scalar_one(),
                    sorted(u.display_name for u in s.execute(select(User)).scalars()))
    finally:
        vault.close()


def _works(login: str, password: str) -> bool:
    vault = Vault.open(Path("demo-data"))
    try:
        with vault.reading() as s:
            return accounts.confirm_password(s, get_user(s, login), password)
    finally:
        vault.close()


def test_the_demo_started_again_goes_on_as_it_was_left(here: Path) -> None:
    _, first = _demo()
    vault = Vault.open(Path("demo-data"), actor="demo")
    try:  # what a newcomer tried in the demo: here, an account of their own
        with vault.transaction() as s:
            add_user(s, "jozef", NEWCOMER, ["viewer"], "admin")
        first_admin(vault)  # as serve's first start makes it
    finally:
        vault.close()
    before = _state()
    assert NEWCOMER in before[1]
    _, again = _demo()
    assert "as it was left" in again and "kustosz demo --fresh" in again
    assert "set up on" not in again  # nothing made twice
    assert _state() == before
    # a new shared password, printed, that works; the one before no longer does
    assert _password(again) != _password(first)
    # the administrator's password is the one they set; a new one-time one is a command away
    assert "kustosz --data demo-data users reset admin" in again
    assert "one-time password for admin" in Cli(Path("demo-data"))("users", "reset",
                                                                     "admin").output
    assert _works("przegladajacy", _password(again))
    assert not _works("przegladajacy", _password(first))
    # --fresh starts over: the newcomer's account is gone with the rest
    _, fresh = _demo("--fresh")
    assert "set up on" in fresh
    assert NEWCOMER not in _state()[1]
    assert _works("kierownik", _password(fresh))


def test_another_preset_is_refused_without_fresh_and_nothing_changes(here: Path) -> None:
    _demo("--preset", "pleszew")
    before = _state()
    code, said = _demo("--preset", "elblag", ok=False)
    assert code == 2
    assert "pleszew" in said and "kustosz demo --fresh --preset elblag" in said
    assert _state() == before
    _, fresh = _demo("--fresh", "--preset", "elblag")
    assert "preset elblag" in fresh


def test_a_demo_whose_making_was_cut_short_is_made_again(here: Path) -> None:
    _demo()
    # as `_fresh_vault` leaves it until the showcase is whole (Ctrl-C while it ran)
    (here / "demo-data" / MARKER).write_text("throw-away demo vault, being made\n")
    _, said = _demo()
    assert "set up on" in said and "as it was left" not in said


def test_a_folder_that_is_not_a_demo_is_never_deleted(here: Path) -> None:
    (here / "demo-data").mkdir()
    (here / "demo-data" / "protokół.txt").write_text(NEWCOMER)
    for args in ((), ("--fresh",)):
        code, said = _demo(*args, ok=False)
        assert code == 2 and "is not a demo folder" in said, said
    assert (here / "demo-data" / "protokół.txt").read_text() == NEWCOMER
