"""SIP over TCP and over TLS on a mirrored port, with the real parts (issue 35's left-over:
such calls went unseen, and nobody was told). Two SIPp call each other over one TCP
connection across a veth pair whose MTU is small enough that TCP cuts the INVITE and its 200
into several segments; the real capture process reads the veth end (its kernel filter now
passes SIP's TCP), serve's recorder puts the messages together and keeps the call like every
call, each side's words in its channel. A TLS connection on port 5061 across the same veth —
a real TLS server and client, Python's ssl — raises `phone.unreachable` for the line through
serve's own capture loop, saying why, and the alert clears once TLS is no longer seen. Needs
root, iproute2, sipp, espeak-ng and sox; without them it skips."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.cameras.camera_helpers import wait_for
from tests.conftest import make_vault
from tests.siprec.capture_helpers import add_capture, capture_recorder, open_unreachable
from tests.siprec.siprec_helpers import OFFICE, files_under, wait_for_calls
from tests.siprec.test_capture_calls import CALLER, channels, voices  # noqa: F401 (fixture)
from tests.support.capture import (
    call_across,
    capture_process,
    netns_available,
    set_mtu,
    veth_pair,
    wait_reading,
)
from tests.support.siprec import alaw_to_pcm, best_match, sipp_available

from kustosz.db.models import Alert
from kustosz.ingest.phone.capture import run as capture_run
from kustosz.states import AlertRow
from kustosz.web.tls import make_self_signed

pytestmark = pytest.mark.skipif(not (netns_available() and sipp_available()),
                                reason="needs root, iproute2, sipp, espeak-ng and sox")


def test_a_call_signalled_over_tcp_in_small_segments_is_recorded_whole(
        tmp_path: Path, voices: tuple[bytes, bytes, Path, Path]) -> None:  # noqa: F811
    caller_audio, office_audio, caller_pcap, office_pcap = voices
    vault = make_vault(tmp_path / "v", "boleslawiec")
    with veth_pair() as veth:
        set_mtu(veth, 400)  # the INVITE with its offer (~560 bytes) crosses in two segments
        add_capture(vault, veth.outside)
        with capture_recorder(vault) as recorder, capture_process(vault.root):
            wait_reading(recorder, veth.outside)
            call_across(veth, tmp_path / "sipp", caller=CALLER, callee=OFFICE,
                        caller_pcap=caller_pcap, callee_pcap=office_pcap,
                        talk_ms=max(len(caller_audio), len(office_audio)) // 8 + 1000,
                        transport="t1")
            ((call, rec),) = wait_for_calls(vault, 1)
            streams = recorder.tcp[veth.outside]
            # INVITE, 200, ACK, BYE, 200: whole, out of more segments than messages
            assert streams.messages == 5 and streams.lost == 0
            assert streams.segments > streams.messages
    assert (call.caller, call.callee, call.direction) == (CALLER, OFFICE, "incoming")
    assert rec.meta["intake"] == "capture" and rec.meta["ended"] == "bye"
    assert rec.meta["caller_name"] == "Jan Kowalski" and rec.meta["lost"] == 0
    _, frames = channels(vault, rec)
    assert best_match(frames[:, 0], alaw_to_pcm(caller_audio)) > 0.99
    assert best_match(frames[:, 1], alaw_to_pcm(office_audio)) > 0.99
    assert files_under(vault.root / "capture") == []


def test_a_call_signalled_over_tcp_on_the_line_s_own_port_is_recorded(
        tmp_path: Path, voices: tuple[bytes, bytes, Path, Path]) -> None:  # noqa: F811
    """Issue 47: an exchange signalling SIP over TCP on 5080 (FreeSWITCH's external profile)
    is recorded once the line names that port — through the capture process's kernel filter,
    which held such TCP back before."""
    caller_audio, office_audio, caller_pcap, office_pcap = voices
    vault = make_vault(tmp_path / "v", "boleslawiec")
    with veth_pair() as veth:
        add_capture(vault, veth.outside, tcp_ports=[5080])
        with capture_recorder(vault) as recorder, capture_process(vault.root):
            wait_reading(recorder, veth.outside)
            call_across(veth, tmp_path / "sipp", caller=CALLER, callee=OFFICE,
                        caller_pcap=caller_pcap, callee_pcap=office_pcap,
                        talk_ms=max(len(caller_audio), len(office_audio)) // 8 + 1000,
                        transport="t1", port=5080)
            ((call, rec),) = wait_for_calls(vault, 1)
            assert recorder.tcp[veth.outside].messages == 5
    assert (call.caller, call.callee, call.direction) == (CALLER, OFFICE, "incoming")
    assert rec.meta["intake"] == "capture" and rec.meta["ended"] == "bye"
    _, frames = channels(vault, rec)
    assert best_match(frames[:, 0], alaw_to_pcm(caller_audio)) > 0.99
    assert best_match(frames[:, 1], alaw_to_pcm(office_audio)) > 0.99


_SERVER = """
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[2], sys.argv[3])
with socket.create_server((sys.argv[1], 5061)) as listener:
    print("listening", flush=True)
    while True:
        conn, _ = listener.accept()
        try:
            with ctx.wrap_socket(conn, server_side=True) as tls:
                while data := tls.recv(4096):
                    tls.sendall(b"SIP/2.0 200 OK\\r\\nContent-Length: 0\\r\\n\\r\\n")
        except (ssl.SSLError, OSError):
            pass
"""


def test_sip_over_tls_on_the_port_is_alerted_and_cleared_once_it_is_gone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(capture_run, "TLS_RECENT_S", 4.0)
    vault = make_vault(tmp_path / "v", "boleslawiec")
    cert, key = make_self_signed(tmp_path / "tls", ["sbc.example.pl"])
    (tmp_path / "server.py").write_text(_SERVER)
    stop = threading.Event()
    with veth_pair() as veth:
        add_capture(vault, veth.outside)
        server = veth.run([sys.executable, str(tmp_path / "server.py"), veth.inside_ip,
                           str(cert), str(key)], stdout=subprocess.PIPE)
        loop = threading.Thread(target=capture_run.run_capture, args=(vault, stop),
                                daemon=True)
        loop.start()
        try:
            assert server.stdout is not None and server.stdout.readline() == b"listening\n"
            with capture_process(vault.root):
                wait_for(lambda: vault.root.joinpath("run", "capture.sock").exists(), 30,
                         "serve's capture socket")
                ctx = ssl.create_default_context(cafile=str(cert))
                ctx.check_hostname = False

                def a_tls_exchange() -> bool:
                    with socket.create_connection((veth.inside_ip, 5061), timeout=10) as raw, \
                            ctx.wrap_socket(raw) as tls:
                        tls.sendall(b"OPTIONS sip:ping@sbc SIP/2.0\r\nContent-Length: 0"
                                    b"\r\n\r\n")
                        assert tls.recv(4096).startswith(b"SIP/2.0 200")
                    return bool(open_unreachable(vault))

                wait_for(a_tls_exchange, 60, "phone.unreachable: SIP over TLS on the port")
                (message,) = open_unreachable(vault)
                assert message.startswith("Linia telefoniczna port: rozmowy z portu "
                                          f"lustrzanego (interfejs {veth.outside}) nie są "
                                          "nagrywane — sygnalizacja SIP jest tam szyfrowana "
                                          "(SIP przez TLS, port 5061)")
                assert "SIPREC" in message
                wait_for(lambda: not open_unreachable(vault), 60,
                         "the alert cleared: no TLS seen any more")
        finally:
            stop.set()
            loop.join(60)
            server.kill()
            server.wait(10)
    assert not loop.is_alive()
    with vault.reading() as s:
        rows = s.execute(select(Alert.kind, Alert.cleared_at)).all()
    assert [k for k, _ in rows] == [AlertRow.PHONE_UNREACHABLE]
    assert all(cleared is not None for _, cleared in rows)
