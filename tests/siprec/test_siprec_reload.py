"""Issue 50 item 8, as an office does it: `kustosz serve` runs on the elbląg preset (whose
regulation sets no period for calls); a SIPREC line is set up per docs/operations/calls.md —
[siprec] and [policy.retention] phone in kustosz.toml, `phones add-siprec`, `phones enable` —
and `systemctl reload kustosz` sends SIGHUP: the next call SIPp sends is recorded, without a
restart. Before that, a file that fails its check reloads nothing: serve keeps running and an
alert row says why."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.conftest import Cli, make_vault
from tests.reliability.rig import wait_for
from tests.siprec.siprec_helpers import OFFICE, calls_of
from tests.support.pg_outage import free_port
from tests.support.siprec import (
    free_port_block,
    rtp_pcap,
    run_sipp,
    scenario,
    sipp_available,
    speech,
)
from tests.test_serve_watchdog import cli_env
from tests.test_watchdog import FakeSystemd

from kustosz.db.models import Alert, AuditEntry
from kustosz.states import AlertRow
from kustosz.vault import Vault

pytestmark = pytest.mark.skipif(not sipp_available(), reason="sipp, espeak-ng or sox missing")


def _actions(vault: Vault, action: str) -> list[dict[str, object]]:
    with vault.reading() as s:
        return [json.loads(d or "{}") for d in s.execute(
            select(AuditEntry.details).where(AuditEntry.action == action)).scalars()]


def _alerts(vault: Vault) -> list[str]:
    with vault.reading() as s:
        return list(s.execute(select(Alert.message).where(
            Alert.kind == AlertRow.CONFIG_RELOAD_FAILED, Alert.cleared_at.is_(None))).scalars())


def _listening(port: int) -> Callable[[], bool]:
    def check() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return False
        return True
    return check


def test_a_siprec_line_added_and_reloaded_records_its_next_call(tmp_path: Path,
                                                               cli: Cli) -> None:
    make_vault(cli.data, "elblag").close()
    config = cli.data / "kustosz.toml"
    good = config.read_text()
    systemd = FakeSystemd(str(tmp_path / "notify"))
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "kustosz", "--data", str(cli.data),
                                 "serve", "--port", "0"], env={**cli_env(), **systemd.env},
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    vault: Vault | None = None
    try:
        systemd.wait_for(lambda: "READY=1" in systemd.lines() or proc.poll() is not None, 120)
        assert proc.poll() is None, log.read_text()
        vault = Vault.open(cli.data, actor="test")
        # A file that fails its check: serve keeps running on what it had, and says why.
        config.write_text(good + '\n[siprec]\nlisten = "127.0.0.1:5060"\nsilence_seconds = 1\n')
        os.kill(proc.pid, signal.SIGHUP)
        opened = wait_for(lambda: _alerts(vault), 30, "the refused reload's alert",
                          log.read_text)
        assert "siprec" in opened[0] and "silence_seconds" in opened[0], opened
        assert proc.poll() is None and _actions(vault, "config.reloaded") == []
        # The line as calls.md sets it up, then the reload.
        sip = free_port()
        low, high = free_port_block()
        config.write_text(good + f'\n[siprec]\nlisten = "127.0.0.1:{sip}"\n'
                                 f'rtp_ports = "{low}-{high}"\n\n'
                                 '[policy.retention]\nphone = "3 months"\n')
        cli("phones", "add-siprec", "centrala", "--from", "127.0.0.1", "--office-number",
            OFFICE)
        cli("phones", "enable", "centrala", "--legal-basis", "art. 6 ust. 1 lit. e RODO",
            "--purpose", "bezpieczeństwo informacji")
        os.kill(proc.pid, signal.SIGHUP)
        wait_for(lambda: _actions(vault, "config.reloaded"), 30, "the reload", log.read_text)
        (done,) = _actions(vault, "config.reloaded")
        assert "policy" in done["applied"] and "siprec" in done["applied"], done  # type: ignore[operator]
        assert _alerts(vault) == []  # the good file cleared the refusal's alert
        wait_for(_listening(sip), 60, "the recording server on the new port", log.read_text)
        audio = speech("Dzień dobry, dzwonię w sprawie podatku od nieruchomości.",
                       tmp_path, "caller").read_bytes()
        pcap = tmp_path / "call.pcap"
        rtp_pcap([(audio, 6000), (audio, 6002)], pcap)
        run_sipp(scenario(pcap, len(audio) // 8 + 1000), tmp_path / "sipp",
                 f"127.0.0.1:{sip}", keys={"caller": "+48581112233", "callee": OFFICE,
                                           "caller_name": "Jan Kowalski"})
        wait_for(lambda: calls_of(vault), 60, "the call stored", log.read_text)
        ((call, rec),) = calls_of(vault)
        assert call.caller == "+48581112233" and rec.meta["intake"] == "siprec"
        assert proc.poll() is None, log.read_text()
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
        systemd.close()
        if vault is not None:
            vault.close()
    said = log.read_text()
    assert code == 0, said
    assert "Traceback" not in said, said
