"""SIP over TLS with the office's certificate (issue 35 item 1; `[siprec] tls_listen`,
`tls_cert`, `tls_key`): a recording session over TLS is recorded like any; a client that
speaks plain TCP to the TLS port gets nothing and the server goes on; a certificate that
cannot be read leaves TLS off and SIP over UDP and TCP working. The client is Python's ssl
(the Debian build of SIPp has no TLS)."""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import make_vault
from tests.siprec.siprec_helpers import add_line, recording_server, wait_for_calls, wait_received
from tests.support.siprec import (
    answered_ports,
    metadata,
    multipart,
    offer,
    rtp_packet,
    status_of,
    to_tag_of,
)

from kustosz.ingest.phone.siprec.run import tls_context
from kustosz.vault import Vault
from kustosz.web.tls import make_self_signed


@pytest.fixture
def office(tmp_path: Path) -> Iterator[Vault]:
    root = tmp_path / "vault"
    vault = make_vault(root, "boleslawiec")
    vault.close()
    cert, key = make_self_signed(root / "tls", ["kustosz.urzad.example"])
    with (root / "kustosz.toml").open("a") as f:
        f.write(f'\n[siprec]\ntls_listen = "127.0.0.1:5061"\ntls_cert = "{cert.relative_to(root)}"'
                f'\ntls_key = "{key.relative_to(root)}"\n')
    vault = Vault.open(root, actor="test")
    add_line(vault)
    yield vault
    vault.close()


class TlsClient:
    def __init__(self, port: int, cafile: Path) -> None:
        ctx = ssl.create_default_context(cafile=str(cafile))
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        self.local = self.sock.getsockname()
        self.buffer = b""

    def request(self, method: str, call_id: str, body: str = "", content_type: str = "",
                to_tag: str | None = None, cseq: int = 1, wait: bool = True) -> str:
        host, port = self.local[:2]
        raw = body.replace("\n", "\r\n").encode()
        lines = [f"{method} sip:srs@127.0.0.1 SIP/2.0",
                 f"Via: SIP/2.0/TLS {host}:{port};branch=z9hG4bK-tls{cseq}{method}",
                 f"From: <sips:src@{host}>;tag=src-tls", "To: <sips:srs@127.0.0.1>"
                 + (f";tag={to_tag}" if to_tag else ""), f"Call-ID: {call_id}",
                 f"CSeq: {cseq} {method}", f"Contact: <sips:src@{host}:{port}>;+sip.src",
                 "Max-Forwards: 70"] + ([f"Content-Type: {content_type}"] if content_type
                                        else []) + [f"Content-Length: {len(raw)}"]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + raw)
        while wait:
            answer = self._read()
            if not answer.startswith("SIP/2.0 1"):
                return answer
        return ""

    def _read(self) -> str:
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self.sock.recv(65535)
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length"))
        while len(rest) < length:
            rest += self.sock.recv(65535)
        self.buffer = rest[length:]
        return (head + b"\r\n\r\n" + rest[:length]).decode()


def test_a_session_over_tls_is_recorded_and_plain_tcp_to_its_port_gets_nothing(
        office: Vault) -> None:
    settings_tls = tls_context(office)
    assert settings_tls is not None
    with recording_server(office, tls=settings_tls, tls_port=0) as srs:
        assert srs.tls_port
        plain = socket.create_connection(("127.0.0.1", srs.tls_port), timeout=10)
        plain.sendall(b"OPTIONS sip:x SIP/2.0\r\nContent-Length: 0\r\n\r\n")
        plain.settimeout(15)
        with contextlib.suppress(ConnectionResetError, TimeoutError):
            assert b"SIP/2.0" not in plain.recv(65535)  # a handshake's failure, not an answer
        plain.close()
        client = TlsClient(srs.tls_port, office.root / "tls" / "kustosz.crt")
        answer = client.request("INVITE", "tls-1", *multipart(
            ("application/sdp", offer()), ("application/rs-metadata+xml", metadata())))
        assert status_of(answer) == 200, answer
        assert "transport=tls" in answer
        tag = to_tag_of(answer)
        client.request("ACK", "tls-1", to_tag=tag, wait=False)
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for i in range(20):
            sender.sendto(rtp_packet(i, i * 160, b"\xd5" * 160), ("127.0.0.1",
                                                                 answered_ports(answer)[0]))
            time.sleep(0.02)
        sender.close()
        wait_received(srs, "tls-1", 20)
        assert status_of(client.request("BYE", "tls-1", to_tag=tag, cseq=2)) == 200
        client.sock.close()
    ((call, rec),) = wait_for_calls(office, 1)
    assert rec.meta["received"] == 20 and call.direction == "incoming"


def test_a_certificate_that_cannot_be_read_leaves_tls_off_and_says_so(
        office: Vault, caplog: pytest.LogCaptureFixture) -> None:
    (office.root / "tls" / "kustosz.key").write_text("not a key")
    assert tls_context(office) is None
    assert "SIPREC over TLS not started" in caplog.text
