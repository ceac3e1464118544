"""The bad input of issue 67, each refused in words (Polish, then English) and changing
nothing: neither the installation's folders and settings nor, on PostgreSQL, the server's
schemas and roles. A failure halfway through an office's making leaves nothing of it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.installation.install_helpers import Install, folder_state, preset_text

import kustosz.installation.add as add_module
from kustosz.vault import Vault


def _state(inst: Install, *more: Path) -> tuple[Any, ...]:
    return (folder_state(inst.root), *(folder_state(p) for p in more), inst.server_objects())


def _said(result: Any, *words: str) -> None:
    assert result.exit_code != 0, result.output
    for word in words:
        assert word in result.output, result.output


def _office_exists(inst: Install, a: str, _b: str) -> Any:
    return inst("offices", "add", a, "--preset-file", str(inst.preset()), ok=False)


def _preset_fails_check(inst: Install, _a: str, _b: str) -> Any:
    bad = preset_text().replace('camera = "30 days"', 'camera = "4 months"', 1)
    return inst("offices", "add", inst.slug("nowy"), "--preset-file",
                str(inst.preset(text=bad)), ok=False)


def _user_in_no_office(inst: Install, _a: str, _b: str) -> Any:
    return inst("users", "add", "jan", "--display", "Jan Kowalski", "--role", "approver",
                office="nieistniejacy", ok=False)


def _office_left_out(inst: Install, _a: str, _b: str) -> Any:
    return inst("users", "add", "jan", "--display", "Jan Kowalski", "--role", "approver",
                ok=False)


def _bad_slug(inst: Install, _a: str, _b: str) -> Any:
    return inst("offices", "add", "Żłobek Nr 1", "--preset-file", str(inst.preset()), ok=False)


def _second_init(inst: Install, _a: str, _b: str) -> Any:
    return inst("offices", "init", "--name", "Druga", ok=False)


CASES: dict[str, tuple[Callable[[Install, str, str], Any], tuple[str, ...]]] = {
    "office name exists": (_office_exists, ("Instalacja ma już urząd", "already has an office")),
    "preset fails policy check": (_preset_fails_check, (
        "retention.camera", "ustawowe maksimum 3 miesiące", "statutory maximum of 3 months")),
    "user added to an office that does not exist": (_user_in_no_office, (
        "nie ma urzędu „nieistniejacy”; jej urzędy:", "no office 'nieistniejacy'")),
    "--office left out among several": (_office_left_out, (
        "Podaj --office NAZWA", "ta instalacja ma 2 urzędy", "żaden nie jest domyślny",
        "--office is needed")),
    "bad slug": (_bad_slug, ("nie jest krótką nazwą urzędu", "np. „zlobek-nr-1”",
                             "not an office's short name")),
    "installation made twice": (_second_init, ("już jest instalacja", "already holds")),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_refused_and_changes_nothing(case: str, inst: Install) -> None:
    inst.init()
    a = inst.add("urzad")
    b = inst.add("mops")
    before = _state(inst)
    run, words = CASES[case]
    result = run(inst, a, b)
    _said(result, *words)
    if "błąd:" in result.output:  # the Polish words of a refusal come with the English
        assert "error:" in result.output
    assert _state(inst) == before
    if case == "--office left out among several":
        for slug in (a, b):  # named, each office still answers
            assert inst("users", "list", office=slug).exit_code == 0


def test_office_given_with_a_single_office_vault_is_refused(tmp_path: Path) -> None:
    inst = Install(tmp_path / "vault", "", tmp_path)
    inst("init", "--preset", "pleszew")
    before = folder_state(inst.root)
    refused = inst("users", "list", office="urzad", ok=False)
    _said(refused, "nie jest instalacją wielu urzędów", "is not an installation")
    assert folder_state(inst.root) == before
    assert inst("users", "list").exit_code == 0  # the single office's vault as it always was
    made = inst("offices", "init", "--name", "Gmina", ok=False)  # nor made an installation
    _said(made, "jest skarbiec jednego urzędu", "single office's vault")
    assert folder_state(inst.root) == before


def test_a_failure_halfway_leaves_nothing_of_the_office(inst: Install,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    inst.init()
    first = inst.add("urzad")
    before = _state(inst)
    real_init = Vault.init

    def made_then_fails(*args: Any, **kwargs: Any) -> Vault:
        real_init(*args, **kwargs)  # its folder, database and chain all made
        raise OSError("disk gone")

    monkeypatch.setattr(add_module.Vault, "init", made_then_fails)
    slug = inst.slug("mops")
    with pytest.raises(OSError):
        inst.runner.invoke(app_for(), ["--data", str(inst.root), "offices", "add", slug,
                                       "--preset-file", str(inst.preset())],
                           catch_exceptions=False)
    assert _state(inst) == before  # no folder, no schema, no role
    assert not (inst.root / "offices" / slug).exists()
    monkeypatch.undo()
    assert "audit log intact" in inst("audit", "verify", office=first).output


def app_for() -> Any:
    from kustosz.cli import app

    return app
