"""What serve's start runs on when kustosz.toml is refused (issue 64 item 6,
kustosz.config_fallback), step by step on a vault as serve opens it (`Vault.offline` with the
fallback, `config_in_force.connect` and `tell`); the real process, a real camera and a kill:
tests/cameras/test_serve_refused_config.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from kustosz import config_in_force as in_force
from kustosz.cli import serve_reload
from kustosz.config_fallback import DEFAULTS, FILE, LAST_GOOD, start_text
from kustosz.config_keep import read_kept
from kustosz.db.models import Alert, Setting
from kustosz.errors import ConfigError
from kustosz.ingest.phone.lines import add_siprec_line
from kustosz.states import AlertRow
from kustosz.vault import Vault
from tests.conftest import make_vault


@pytest.fixture
def root(tmp_path: Path) -> Path:
    make_vault(tmp_path / "vault", "pleszew").close()
    return tmp_path / "vault"


@pytest.fixture
def opened() -> Iterator[list[Vault]]:
    vaults: list[Vault] = []
    yield vaults
    for v in vaults:
        v.close()


def _start(root: Path, opened: list[Vault]) -> Vault:
    """serve's start: the files, the database, what it runs on told."""
    vault = Vault.offline(root, fallback=True)
    opened.append(vault)
    in_force.connect(vault, "test")
    in_force.tell(vault)
    return vault


def _alerts(vault: Vault) -> list[str]:
    with vault.reading() as s:
        return list(s.execute(select(Alert.message).where(
            Alert.kind == AlertRow.CONFIG_RELOAD_FAILED, Alert.cleared_at.is_(None))).scalars())


def test_a_start_on_the_file_keeps_it_and_a_refused_one_starts_on_the_copy(
        root: Path, opened: list[Vault]) -> None:
    config = root / "kustosz.toml"
    good = config.read_bytes()
    first = _start(root, opened)
    assert first.in_force.kind == FILE and _alerts(first) == []
    assert read_kept(root / "kustosz.toml.last-good") == good
    config.write_text(config.read_text() + "\n[kamery]\nnazwa = \"Józef Żółć 🎥\"\n")
    second = _start(root, opened)
    assert second.in_force.kind == LAST_GOOD and second.config.raw == good
    (problem,) = second.in_force.problems
    assert problem.where == "kamery" and problem.line == len(good.splitlines()) + 2
    (alert,) = _alerts(second)
    assert f"(wiersz {problem.line})" in alert and "kustosz.toml.last-good" in alert
    # a start on the copy does not keep the refused file as the good one
    assert read_kept(root / "kustosz.toml.last-good") == good


def test_without_a_copy_the_files_sound_tables_and_its_rules_are_taken(root: Path) -> None:
    config = root / "kustosz.toml"
    config.write_text(config.read_text().replace(
        "[web]", '[web]\ntrusted_proxies = ["to nie adres"]', 1)
        + '\n[alerts.webhook]\nurl = "https://hooks.example.pl/kustosz"\n'
        + '\n[policy.retention]\ncamera = "14 days"\n', "utf-8")
    vault = Vault.offline(root, fallback=True)
    try:
        chosen = vault.in_force
        assert chosen.kind == DEFAULTS and chosen.rules == "file"
        assert "web" in chosen.dropped and "alerts" in chosen.kept
        assert vault.config.alerts.webhook is not None  # its channel still reaches a person
        assert vault.config.web.trusted_proxies == ()  # the refused table at its defaults
        assert str(vault.policy.retention["camera"]) == "14 days"
        assert "sekcje z błędami ([web]) mają wartości domyślne" in \
            start_text(chosen, "pl")
    finally:
        vault.close()


def test_with_nothing_known_to_record_by_the_start_is_refused_saying_why(root: Path) -> None:
    config = root / "kustosz.toml"
    config.write_text("preset = \"pleszew\n", "utf-8")  # not TOML; serve never ran here
    with pytest.raises(ConfigError) as refused:
        Vault.offline(root, fallback=True)
    assert "nie ma ostatnich zaakceptowanych ustawień" in (refused.value.pl or "")
    assert "no rules are known" in str(refused.value)
    # a refused reload says so beforehand
    assert in_force.next_start(root, [])[0] == "nothing"


def test_the_database_refusing_the_files_rules_falls_back_at_connect(
        tmp_path: Path, opened: list[Vault]) -> None:
    make_vault(tmp_path / "vault", "elblag").close()
    root = tmp_path / "vault"
    config = root / "kustosz.toml"
    config.write_text(config.read_text() + '\n[policy.retention]\nphone = "3 months"\n')
    vault = _start(root, opened)
    with vault.transaction() as s:
        add_siprec_line(s, vault.policy, "centrala", "test", sources=["127.0.0.1"],
                        numbers=["+48555123456"])
    good = config.read_bytes()
    config.write_text(config.read_text().replace('phone = "3 months"', ""))
    again = _start(root, opened)
    assert again.in_force.kind == LAST_GOOD and again.config.raw == good
    assert again.policy.retention["phone"] is not None
    assert again.in_force.problems[0].where.startswith("policy.retention")
    (alert,) = _alerts(again)
    assert "uruchomiła się z ostatnich zaakceptowanych ustawień" in alert


def test_a_refused_reload_says_what_the_next_start_will_do(root: Path,
                                                          opened: list[Vault]) -> None:
    vault = Vault.open(root, actor="test")
    opened.append(vault)
    config = root / "kustosz.toml"
    good = config.read_text()
    config.write_text(good.replace("interval_minutes = 15", "interval_minutes = -1"))
    assert not serve_reload.reload_config(vault).ok
    (alert,) = _alerts(vault)  # no copy yet: defaults, from the file's own preset
    assert "wystartuje z ustawieniami domyślnymi" in alert and "wiersz" in alert
    config.write_text(good)
    assert serve_reload.reload_config(vault).ok  # taken: kept as the last good one
    assert read_kept(root / "kustosz.toml.last-good") == good.encode()
    config.write_text("preset = \"pleszew\n")
    assert not serve_reload.reload_config(vault).ok
    (alert,) = _alerts(vault)
    assert "wystartuje z ostatnich zaakceptowanych ustawień" in alert
    (root / "kustosz.toml.last-good").unlink()
    with vault.reading() as s:  # the rules noted by the good reload: defaults by them
        assert json.loads(s.get(Setting, "config.policy_source").value)["preset"] == "pleszew"
    assert not serve_reload.reload_config(vault).ok
    (alert,) = _alerts(vault)
    assert "wystartuje z ustawieniami domyślnymi" in alert


def test_defaults_take_the_rules_serve_last_ran_on_from_either_database(
        vault: Vault, opened: list[Vault]) -> None:
    """SQLite and PostgreSQL: the file's database is still named (its TOML reads), its rules
    are refused, there is no copy: the start takes the rules the database noted."""
    root = vault.root
    config = root / "kustosz.toml"
    config.write_text(config.read_text() + '\n[policy.retention]\ncamera = "14 days"\n')
    _start(root, opened)  # on the file: its rules noted
    (root / "kustosz.toml.last-good").unlink()
    config.write_text(config.read_text().replace('camera = "14 days"', 'camera = "dwa dni"'))
    again = _start(root, opened)
    assert again.in_force.kind == DEFAULTS and again.in_force.rules == "noted"
    assert str(again.policy.retention["camera"]) == "14 days"
    assert again.config.database_url == vault.config.database_url
    (alert,) = _alerts(again)
    assert "jak przy ostatnim uruchomieniu" in alert and "policy.retention.camera" in alert


def test_a_copy_the_database_refuses_too_gives_way_to_the_rules_last_in_force(
        tmp_path: Path, opened: list[Vault]) -> None:
    """The Debian package's root keeps a copy before serve's reload has judged it against the
    register: a copy the database refuses as well is passed over for defaults, whose rules are
    the ones serve last ran on."""
    make_vault(tmp_path / "vault", "elblag").close()
    root = tmp_path / "vault"
    config = root / "kustosz.toml"
    without = config.read_text()
    config.write_text(without + '\n[policy.retention]\nphone = "3 months"\n')
    vault = _start(root, opened)
    with vault.transaction() as s:
        add_siprec_line(s, vault.policy, "centrala", "test", sources=["127.0.0.1"],
                        numbers=["+48555123456"])
    (root / "kustosz.toml.last-good").write_text(without)  # as root would have kept it
    config.write_text(without)
    again = _start(root, opened)
    assert again.in_force.kind == DEFAULTS and again.in_force.rules == "noted"
    assert "refused too" in again.in_force.why_not_kept
    assert str(again.policy.retention["phone"]) == "3 months"
    (alert,) = _alerts(again)
    assert "też jest odrzucony" in alert
