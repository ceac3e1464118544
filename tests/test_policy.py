"""Presets, overrides and bad policy files (R1.4, R2.1, R2.4, R2.5, R4.1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kustosz.errors import ConfigError
from kustosz.policy import Period, load_policy, preset_names
from kustosz.vault import Vault
from tests.conftest import Cli, snapshot
from tests.support.cli_words import polish_first

SEED_CLAUSE = {"elblag": "§1 pkt 10", "pleszew": "zał.5 §3.4", "miedziana-gora": "§4 ust. 4",
               "boleslawiec": "§2 ust. 4", "walbrzych": "§7 ust. 2"}


def test_five_presets_ship() -> None:
    assert preset_names() == ["boleslawiec", "elblag", "miedziana-gora", "pleszew", "walbrzych"]


@pytest.mark.parametrize("name", sorted(SEED_CLAUSE))
def test_each_preset_traces_retention_to_its_seed(name: str) -> None:
    from importlib import resources

    text = (resources.files("kustosz.policy") / "presets" / f"{name}.toml").read_text()
    assert SEED_CLAUSE[name] in text
    assert "shared/seeds/" in text


def test_override_any_value() -> None:
    policy = load_policy("pleszew", {"retention": {"camera": "14 days"},
                                     "requests": {"after_deadline": "warn"}})
    assert policy.retention["camera"] == Period(14, "days")
    assert policy.after_deadline == "warn"
    assert policy.copy_lifetime == Period(3, "months")  # untouched values stay the preset's


@pytest.mark.parametrize(("overrides", "message"), [
    ({"retention": {"camera": "4 months"}}, "statutory maximum"),
    ({"retention": {"camera": "thirty days"}}, "cannot read period"),
    ({"requests": {"after_deadline": "maybe"}}, "must be one of"),
    ({"copies": {"counted_from": "tomorrow"}}, "must be one of"),
    ({"calls": {"scope": "some"}}, "calls.scope: unknown 'some'"),
    ({"disclosure": {"approvers": ["janitor"]}}, "approvers"),
    ({"retention": {"fax": "3 days"}}, "unknown policy key"),
    ({"cameras": {}}, "unknown policy section"),
    ({"office": {"timezone": "Mars/Olympus"}}, "timezone"),
])
def test_bad_overrides_are_refused(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_policy("pleszew", overrides)


def test_unknown_preset() -> None:
    with pytest.raises(ConfigError, match="unknown preset 'gdansk'"):
        load_policy("gdansk")


def test_kind_not_regulated_refuses_sources(sqlite_vault: Vault) -> None:
    from kustosz.index.sources import add_source

    with sqlite_vault.transaction() as s, pytest.raises(ConfigError, match=r"retention\.phone"):
        add_source(s, sqlite_vault.policy, "line1", "phone", "test")


def test_policy_change_is_audited_and_redates_material(tmp_path: Path, cli: Cli) -> None:
    cli("init", "--preset", "pleszew")
    cli("sources", "add", "hall", "--kind", "camera")
    sample = tmp_path / "seg.ts"
    sample.write_bytes(b"x" * 100)
    cli("ingest", "file", "hall", str(sample), "--start", "2026-03-01T10:00:00+01:00",
        "--end", "2026-03-01T10:00:10+01:00")
    config = cli.data / "kustosz.toml"
    config.write_text(config.read_text() + '\n[policy.retention]\ncamera = "7 days"\n')
    out = cli("recordings", "list", "--json").stdout
    assert '"expires_at": "2026-03-08T23:00:00+00:00"' in out  # 1 March + 7 days, end of day
    vault = Vault.open(cli.data)
    with vault.reading() as s:
        from sqlalchemy import select

        from kustosz.db.models import AuditEntry
        actions = list(s.execute(select(AuditEntry.action)).scalars())
    assert actions.count("policy.changed") == 1
    assert cli("audit", "verify").exit_code == 0


def test_malformed_config_changes_nothing(tmp_path: Path, cli: Cli) -> None:
    cli("init", "--preset", "pleszew")
    cli("sources", "add", "hall", "--kind", "camera")
    vault = Vault.open(cli.data)
    before = snapshot(vault)
    config = cli.data / "kustosz.toml"
    good = config.read_text()
    for broken in ['preset = "pleszew"\n[policy\n', good + '\n[policy.retention]\ncamera = 5\n',
                   good + '\n[policy.retention]\ncamera = "9 months"\n',
                   good.replace('preset = "pleszew"', 'preset = "nowhere"'),
                   good.replace("hold_margin_minutes = 30", "hold_margin_minutes = -5"),
                   good.replace("hold_margin_minutes = 30", 'hold_margin_minutes = "1h"')]:
        config.write_text(broken)
        result = cli("sources", "list", ok=False)
        assert result.exit_code == 2
        assert polish_first(result.output.splitlines()) and result.output.count("\n") <= 3
        config.write_text(good)
        assert snapshot(vault) == before
