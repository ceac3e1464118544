"""`kustosz serve --node` refusals (a name a live node uses, SQLite, bad [cluster] settings:
a clear error in English and Polish, nothing changed), `kustosz nodes`, and the cluster's
alerts (node_missing, source_without_node)."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text

from kustosz.cluster import nodes
from kustosz.cluster.alerts import check_cluster
from kustosz.db.leases import Leases
from kustosz.db.models import Alert, Source
from kustosz.states import AlertRow
from kustosz.vault import Vault
from tests.conftest import Cli, snapshot


def _errors(result: object) -> tuple[str, str]:
    out = result.output  # type: ignore[attr-defined]
    en = next(line for line in out.splitlines() if line.startswith("error:"))
    pl = next(line for line in out.splitlines() if line.startswith("błąd:"))
    return en, pl


def test_a_name_a_live_node_uses_is_refused(pg_vault: Vault) -> None:
    # a live node of that name on another machine
    nodes.register(pg_vault.engine, "n1", 15, host="rejestrator-2", pid=4242)
    before = snapshot(pg_vault)
    result = Cli(pg_vault.root)("serve", "--node", "n1", "--port", "0", ok=False)
    assert result.exit_code == 2
    en, pl = _errors(result)
    assert "n1" in en and "rejestrator-2" in en and "4242" in en
    assert "zajęta" in pl
    assert snapshot(pg_vault) == before


def test_node_on_sqlite_is_refused(sqlite_vault: Vault) -> None:
    before = snapshot(sqlite_vault)
    result = Cli(sqlite_vault.root)("serve", "--node", "n1", "--port", "0", ok=False)
    assert result.exit_code == 2
    en, pl = _errors(result)
    assert "PostgreSQL" in en and "PostgreSQL" in pl
    assert snapshot(sqlite_vault) == before


@pytest.mark.parametrize(("table", "words"), [
    ('[cluster]\nmargin_seconds = 12\n', "margin_seconds"),
    ('[cluster]\nlease_seconds = "long"\n', "lease_seconds"),
    ('[cluster]\nnode = "zła nazwa!"\n', "node name"),
    ('[cluster]\nnodes = 3\n', "cluster.nodes"),
])
def test_bad_cluster_settings_are_refused(pg_vault: Vault, table: str, words: str) -> None:
    with (pg_vault.root / "kustosz.toml").open("a") as f:
        f.write("\n" + table)
    before = snapshot(pg_vault)
    # told by `config check`; serve would start with [cluster] at its defaults and say so
    # (issue 64 item 6, tests/test_config_fallback.py)
    result = Cli(pg_vault.root)("config", "check", ok=False)
    assert result.exit_code == 1
    assert words in result.output
    assert snapshot(pg_vault) == before


def test_nodes_lists_what_each_holds(pg_vault: Vault) -> None:
    nodes.register(pg_vault.engine, "rejestrator-a", 15)
    nodes.register(pg_vault.engine, "rejestrator-b", 15, host="inny", pid=99)
    a = Leases(pg_vault.engine, "rejestrator-a")
    a.ensure(["camera:hol", "camera:wejście", "singleton:scheduler", "phone:sekretariat"])
    a.claim(["camera:hol"], 1)
    a.claim(["singleton:scheduler"], 1)
    Leases(pg_vault.engine, "rejestrator-b").claim(["phone:sekretariat"], 1)
    cli = Cli(pg_vault.root)
    shown = cli("nodes").output
    assert "rejestrator-a" in shown and "rejestrator-b" in shown and "hol" in shown
    assert "usuwanie po terminie" in shown and "sekretariat" in shown
    assert "Bez węzła / without a node:" in shown and "wejście" in shown
    data = json.loads(cli("nodes", "--json").output)
    by_name = {n["name"]: n for n in data["nodes"]}
    assert by_name["rejestrator-a"]["cameras"] == ["hol"]
    assert by_name["rejestrator-a"]["singletons"] == ["scheduler"]
    assert by_name["rejestrator-b"]["phones"] == ["sekretariat"]
    assert data["without_node"] == ["camera:wejście"]


def test_nodes_on_sqlite_says_one_machine(sqlite_vault: Vault) -> None:
    shown = Cli(sqlite_vault.root)("nodes").output
    assert "Jeden komputer" in shown and "One machine" in shown


def _open(vault: Vault, kind: str) -> list[Alert]:
    with vault.reading() as s:
        return list(s.execute(select(Alert).where(Alert.kind == kind,
                                                  Alert.cleared_at.is_(None))).scalars())


def test_missing_node_and_source_without_node_alerts(pg_vault: Vault, tmp_path: Path) -> None:
    with pg_vault.transaction() as s:
        s.add(Source(name="hol", kind="camera", created_at=datetime.now(UTC)))
    with pg_vault.reading() as s:
        hol = s.execute(select(Source.id).where(Source.name == "hol")).scalar_one()
    nodes.register(pg_vault.engine, "n1", 15, host="inny", pid=1)
    Leases(pg_vault.engine, "n1").ensure(["camera:hol"])
    check_cluster(pg_vault, 15)
    assert _open(pg_vault, AlertRow.NODE_MISSING) == []  # n1 beats; the lease is new
    assert _open(pg_vault, AlertRow.SOURCE_WITHOUT_NODE) == []
    with pg_vault.engine.begin() as conn:  # n1 went silent 20 s ago, hol free as long
        conn.execute(text("UPDATE nodes SET last_seen = last_seen - interval '20 seconds'"))
        conn.execute(text("UPDATE leases SET until = until - interval '20 seconds'"))
    check_cluster(pg_vault, 15)
    (missing,) = _open(pg_vault, AlertRow.NODE_MISSING)
    assert "n1" in missing.message
    (orphan,) = _open(pg_vault, AlertRow.SOURCE_WITHOUT_NODE)
    assert orphan.source_id == hol and "hol" in orphan.message
    token = nodes.register(pg_vault.engine, "n1", 15, host="inny", pid=1)  # back
    Leases(pg_vault.engine, "n1").claim(["camera:hol"], 1)
    assert nodes.beat(pg_vault.engine, "n1", token, 0.0)
    check_cluster(pg_vault, 15)
    assert _open(pg_vault, AlertRow.NODE_MISSING) == []
    assert _open(pg_vault, AlertRow.SOURCE_WITHOUT_NODE) == []


def test_a_plain_serve_and_nodes_exclude_each_other_on_one_folder(pg_vault: Vault) -> None:
    from kustosz.cli.serve import node_lock
    from kustosz.errors import ConfigError

    def refused(lock: Callable[[], AbstractContextManager[None]], words: str) -> ConfigError:
        with pytest.raises(ConfigError, match=words) as err, lock():
            pass
        return err.value

    with node_lock(pg_vault, "a"), node_lock(pg_vault, "b"):  # nodes share the folder
        refused(lambda: pg_vault.exclusive("serve"), "already running")
        same = refused(lambda: node_lock(pg_vault, "a"), "same name")
        assert same.pl and "tej samej nazwie" in same.pl
    with pg_vault.exclusive("serve"):
        refused(lambda: node_lock(pg_vault, "a"), "without --node")


def test_the_templates_cluster_block_reads_back(sqlite_vault: Vault) -> None:
    """kustosz.toml's commented [cluster] block, uncommented, is what read_settings reads."""
    from kustosz.cluster.settings import read_settings
    from kustosz.config import TEMPLATE

    lines = TEMPLATE.split("# [cluster]\n", 1)[1].split("\n\n", 1)[0].splitlines()
    block = "[cluster]\n" + "\n".join(line.removeprefix("# ") for line in lines) + "\n"
    with (sqlite_vault.root / "kustosz.toml").open("a") as f:
        f.write("\n" + block)
    settings = read_settings(sqlite_vault.root)
    assert (settings.node, settings.lease_seconds, settings.margin_seconds) == \
        ("rejestrator-1", 15.0, 5.0)
    assert read_settings(sqlite_vault.root, "inny").node == "inny"  # --node wins
    Vault.open(sqlite_vault.root).close()  # the vault's own reading accepts [cluster]


def test_a_line_kustosz_records_itself_is_alerted_on_nodes_which_do_not_record_it(
        pg_vault: Vault) -> None:
    """SIPREC and mirrored-port lines are recorded by a plain `kustosz serve` only (their SBC
    or switch port is tied to one machine): on a cluster they are said to be unrecorded, not
    left silent; a line disabled is cleared."""
    from kustosz.ingest.phone.lines import disable_phone_source
    from kustosz.phones.settings import make_siprec_settings

    cfg = make_siprec_settings(["192.0.2.10"], ["+48221234567"])
    with pg_vault.transaction() as s:  # as add_siprec_line makes it, enabled
        s.add(Source(name="sbc", kind="phone", created_at=datetime.now(UTC), enabled=True,
                     settings=cfg.as_settings()))
    check_cluster(pg_vault, 15)
    (alert,) = _open(pg_vault, AlertRow.SOURCE_WITHOUT_NODE)
    assert alert.message.startswith("Linia telefoniczna sbc jest nagrywana przez SIPREC, "
                                    "czego węzły (kustosz serve --node) nie robią")
    with pg_vault.transaction() as s:
        disable_phone_source(s, "sbc", "test")
    check_cluster(pg_vault, 15)
    assert _open(pg_vault, AlertRow.SOURCE_WITHOUT_NODE) == []
