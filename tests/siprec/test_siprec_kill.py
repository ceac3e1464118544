"""kill -9 of a real `kustosz serve` in the middle of a recorded call (issue 35): what the
recording server received until the kill is stored and indexed at the next start — marked as
ended by a crash — and the next call after the restart is recorded whole."""

from __future__ import annotations

import io
import socket
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from tests.cameras.camera_helpers import wait_for
from tests.conftest import make_vault
from tests.siprec.siprec_helpers import add_line, calls_of
from tests.support.siprec import (
    SipClient,
    alaw_to_pcm,
    answered_ports,
    best_match,
    free_port_block,
    metadata,
    multipart,
    offer,
    rtp_packet,
    sipp_available,
    speech,
    status_of,
    to_tag_of,
)
from tests.test_ack_kill import Serve, serves  # noqa: F401 (the fixture)

from kustosz.db.models import Alert
from kustosz.states import AlertRow
from kustosz.vault import Vault

pytestmark = [pytest.mark.skipif(not sipp_available(), reason="espeak-ng or sox missing"),
              pytest.mark.slow]


def _alerts(vault: Vault, kind: AlertRow) -> list[str]:
    with vault.reading() as s:
        return list(s.execute(select(Alert.message).where(Alert.kind == kind)).scalars())


def _sip_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(port: int) -> bool:
    client = SipClient(port)
    client.sock.settimeout(0.5)
    try:
        return status_of(client.request("OPTIONS", f"up-{time.monotonic()}")) == 200
    except OSError:
        return False
    finally:
        client.close()


def _session(port: int, call_id: str) -> tuple[SipClient, str, list[int]]:
    client = SipClient(port)
    answer = client.request("INVITE", call_id, *multipart(
        ("application/sdp", offer()), ("application/rs-metadata+xml", metadata())))
    assert status_of(answer) == 200, answer
    tag = to_tag_of(answer)
    client.ack(call_id, tag)
    return client, tag, answered_ports(answer)


def _talk(ports: list[int], audio: bytes, seconds: float) -> bytes:
    """``audio`` on the first stream, paced as a phone sends it; what was sent."""
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sent = b""
    start = time.monotonic()
    for i in range(int(seconds / 0.02)):
        chunk = audio[i * 160:(i + 1) * 160]
        if len(chunk) < 160:
            break
        sender.sendto(rtp_packet(i, i * 160, chunk), ("127.0.0.1", ports[0]))
        sent += chunk
        time.sleep(max(0.0, start + (i + 1) * 0.02 - time.monotonic()))
    sender.close()
    return sent


def test_a_call_running_at_a_kill_keeps_what_was_received_and_the_next_is_recorded(
        tmp_path: Path, serves: list[Serve]) -> None:  # noqa: F811
    data = tmp_path / "vault"
    vault = make_vault(data, "boleslawiec")
    add_line(vault)
    vault.close()
    port = _sip_port()
    low, high = free_port_block()
    with (data / "kustosz.toml").open("a") as f:
        f.write(f'\n[siprec]\nlisten = "127.0.0.1:{port}"\nrtp_ports = "{low}-{high}"\n')
    audio = speech("Dzień dobry, chciałbym zgłosić awarię oświetlenia na ulicy Długiej, "
                   "numer dwanaście, od wczoraj nie świecą latarnie.", tmp_path,
                   "mowa").read_bytes()

    first = Serve(data, "first")
    serves.append(first)
    wait_for(lambda: _answers(port), 120, "the recording server of the first serve")
    client, _, ports = _session(port, "cut-short")
    sent = _talk(ports, audio, 2.0)
    session_folders = list((data / "siprec").iterdir())
    assert len(session_folders) == 1  # on disk while the call runs
    first.kill()
    client.close()

    second = Serve(data, "second")
    serves.append(second)
    wait_for(lambda: _answers(port), 120, "the recording server after the restart")
    vault = Vault.open(data, actor="test")
    try:
        wait_for(lambda: len(calls_of(vault)) == 1, 60, "the call cut by the kill, stored")
        ((_, rec),) = calls_of(vault)
        assert rec.meta["ended"] == "crash"
        # issue 48 item 8: what was received is counted from the files (the count was in the
        # killed process's memory), the cut call is told on its line, and the start after
        # the kill is an alert saying what such a stop costs
        # (its length: the silence before the first packet counts too, a file cannot tell)
        assert len(sent) // 160 <= rec.meta["received"] <= len(sent) // 160 + 50
        wait_for(lambda: _alerts(vault, AlertRow.SERVE_UNCLEAN_STOP), 60, "the unclean stop")
        (unclean,) = _alerts(vault, AlertRow.SERVE_UNCLEAN_STOP)
        assert unclean.startswith("Usługa Kustosz zatrzymała się nieoczekiwanie")
        assert "ostatni znak życia" in unclean and "nie zostały nagrane" in unclean
        wait_for(lambda: _alerts(vault, AlertRow.PHONE_LOSS), 60, "the cut call's alert")
        (cut,) = _alerts(vault, AlertRow.PHONE_LOSS)
        assert "przerwana o" in cut and "nieoczekiwanym zatrzymaniem usługi Kustosz" in cut
        with vault.storage.open(rec.storage_key) as f, wave.open(io.BytesIO(f.read())) as w:
            frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        left = frames.reshape(-1, 2)[:, 0]
        assert best_match(left, alaw_to_pcm(sent)) > 0.99  # every byte received until the kill
        client, tag, ports = _session(port, "after-restart")
        _talk(ports, audio, 1.0)
        assert status_of(client.request("BYE", "after-restart", to_tag=tag, cseq=2)) == 200
        client.close()
        wait_for(lambda: len(calls_of(vault)) == 2, 60, "the next call after the restart")
        assert calls_of(vault)[1][1].meta["ended"] == "bye"
    finally:
        vault.close()
    second.stop()
    assert not any((data / "siprec").iterdir())
    assert not (data / "run" / "serve.running").exists()  # a stop serve made itself
