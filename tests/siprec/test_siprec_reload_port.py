"""Issue 64 S6: `[siprec]` reloaded onto a port another process holds. Before, the recording
server closed its old port, could not open the new one and listened nowhere, while the audit
log said "applied" and nobody was told. Now it keeps listening where it was (the change is
rolled back), the audit log says the change was not put in force and why, and a high alert
(`config.reload_failed`, Polish first) names the port; once the port is free a reload moves
it. The SIPREC thread is serve's own (run_siprec), the port held by a real socket."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import select
from tests.cameras.camera_helpers import wait_for
from tests.support.pg_outage import free_port
from tests.support.siprec import SipClient, free_port_block

from kustosz.alert_kinds import kind_of
from kustosz.alerts.messages import ERRORS
from kustosz.cli import serve_reload
from kustosz.db.models import Alert, AuditEntry
from kustosz.ingest.phone.siprec.run import run_siprec
from kustosz.states import AlertRow
from kustosz.vault import Vault


def _entries(vault: Vault, action: str) -> list[dict[str, object]]:
    with vault.reading() as s:
        return [json.loads(d or "{}") for d in s.execute(
            select(AuditEntry.details).where(AuditEntry.action == action)
            .order_by(AuditEntry.seq)).scalars()]


def _open_alerts(vault: Vault) -> list[Alert]:
    with vault.reading() as s:
        return list(s.execute(select(Alert).where(
            Alert.kind == AlertRow.CONFIG_RELOAD_FAILED, Alert.cleared_at.is_(None))).scalars())


def _answers_options(port: int) -> bool:
    client = SipClient(port)
    client.sock.settimeout(1)
    try:
        return client.request("OPTIONS", f"probe-{port}").startswith("SIP/2.0 200")
    except OSError:
        return False
    finally:
        client.close()


def _set_siprec(vault: Vault, port: int, rtp: tuple[int, int]) -> None:
    path = vault.root / "kustosz.toml"
    text = path.read_text("utf-8").split("\n[siprec]\n")[0]
    path.write_text(f'{text}\n[siprec]\nlisten = "127.0.0.1:{port}"\n'
                    f'rtp_ports = "{rtp[0]}-{rtp[1]}"\n', "utf-8")


@contextmanager
def _held(port: int) -> Iterator[None]:
    """Another process's sockets on ``port``: UDP and TCP, as SIP needs both."""
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        tcp.bind(("127.0.0.1", port))
        tcp.listen()
        udp.bind(("127.0.0.1", port))
        yield
    finally:
        tcp.close()
        udp.close()


def test_a_reload_onto_a_held_port_keeps_the_old_listener_says_so_and_moves_once_free(
        office: Vault, tmp_path: Path) -> None:
    old, new, rtp = free_port(), free_port(), free_port_block()
    _set_siprec(office, old, rtp)
    assert serve_reload.reload_config(office).ok
    stop = threading.Event()
    thread = threading.Thread(target=run_siprec, args=(office, stop), daemon=True)
    thread.start()
    try:
        wait_for(lambda: _answers_options(old), 60, "SIPREC on its first port")
        with _held(new):
            _set_siprec(office, new, rtp)
            assert serve_reload.reload_config(office).ok
            wait_for(lambda: _entries(office, "config.siprec_not_applied"), 60,
                     "the audit entry of the change not put in force")
            (entry,) = _entries(office, "config.siprec_not_applied")
            assert entry["listen"] == f"127.0.0.1:{new}"
            assert entry["kept"] == f"127.0.0.1:{old}" and entry["reason"], entry
            (alert,) = _open_alerts(office)
            assert kind_of(alert.kind).key in ERRORS  # high: sent as an error
            assert f"127.0.0.1:{new}" in alert.message and f"127.0.0.1:{old}" in alert.message
            assert alert.message.startswith("Serwer nagrywania rozmów SIPREC"), alert.message
            # Still recording where it was: the old port answers, the new one is the other's.
            assert _answers_options(old)
            assert thread.is_alive()
        # The port is free: the next reload moves the server, and says so.
        assert serve_reload.reload_config(office).ok
        wait_for(lambda: _answers_options(new), 60, "SIPREC on the freed port")
        wait_for(lambda: _entries(office, "config.siprec_applied"), 30, "the move recorded")
        assert _entries(office, "config.siprec_applied")[-1]["listen"] == f"127.0.0.1:{new}"
        assert not _answers_options(old)
        assert _open_alerts(office) == []
    finally:
        stop.set()
        thread.join(60)
    assert not thread.is_alive()
