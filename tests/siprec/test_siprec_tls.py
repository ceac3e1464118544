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
    def __init__(self, port: int, cafile: Path,
                 mine: tuple[Path, Path] | None = None) -> None:
        """``mine``: the client's own certificate and key, presented when asked."""
        ctx = ssl.create_default_context(cafile=str(cafile))
        if mine is not None:
            ctx.load_cert_chain(*mine)
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
            more = self.sock.recv(65535)
            if not more:
                raise ConnectionError("the server closed the connection")
            self.buffer += more
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


def _client_pki(folder: Path) -> tuple[bytes, Path, Path]:
    """A certificate authority and an SBC's client certificate it signed (clientAuth), as an
    office's PKI issues them: (the authority's PEM, the SBC's certificate and key files)."""
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder.mkdir(parents=True)
    now = datetime.now(UTC)

    def name(text: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("CA urzędu")).issuer_name(
        name("CA urzędu")).public_key(ca_key.public_key()).serial_number(
        x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                     False), critical=True)
        .sign(ca_key, hashes.SHA256()))
    sbc_key = ec.generate_private_key(ec.SECP256R1())
    sbc = (x509.CertificateBuilder().subject_name(name("sbc.urzad.example")).issuer_name(
        ca.subject).public_key(sbc_key.public_key()).serial_number(
        x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256()))
    (folder / "sbc.crt").write_bytes(sbc.public_bytes(serialization.Encoding.PEM))
    (folder / "sbc.key").write_bytes(sbc_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return (ca.public_bytes(serialization.Encoding.PEM), folder / "sbc.crt",
            folder / "sbc.key")


def test_with_the_sbcs_authority_only_an_sbc_presenting_its_certificate_is_taken(
        tmp_path: Path) -> None:
    """`[siprec] tls_client_ca` (issue 35's left-over: the SBC admitted by its address only):
    SIP over TLS is taken from an SBC presenting a certificate the named authority signed;
    one with none, or with another, fails its handshake and gets no session; an authority
    that cannot be read leaves TLS off (never open to any client)."""
    root = tmp_path / "vault"
    vault = make_vault(root, "boleslawiec")
    vault.close()
    cert, key = make_self_signed(root / "tls", ["kustosz.urzad.example"])
    ca_pem, sbc_cert, sbc_key = _client_pki(tmp_path / "sbc")
    _, other_cert, other_key = _client_pki(tmp_path / "other")  # another authority's
    (root / "sbc-ca.pem").write_bytes(ca_pem)
    with (root / "kustosz.toml").open("a") as f:
        f.write(f'\n[siprec]\ntls_listen = "127.0.0.1:5061"\ntls_cert = "{cert.relative_to(root)}"'
                f'\ntls_key = "{key.relative_to(root)}"\ntls_client_ca = "sbc-ca.pem"\n')
    vault = Vault.open(root, actor="test")
    add_line(vault)
    try:
        ctx = tls_context(vault)
        assert ctx is not None and ctx.verify_mode == ssl.CERT_REQUIRED
        with recording_server(vault, tls=ctx, tls_port=0) as srs:
            assert srs.tls_port
            for who in (None, (other_cert, other_key)):  # no certificate; another's
                with pytest.raises((ssl.SSLError, ConnectionError, TimeoutError)):
                    refused = TlsClient(srs.tls_port, cert, who)
                    refused.request("OPTIONS", f"refused-{who is None}")
            client = TlsClient(srs.tls_port, cert, (sbc_cert, sbc_key))
            answer = client.request("INVITE", "mtls", *multipart(
                ("application/sdp", offer()), ("application/rs-metadata+xml", metadata())))
            assert status_of(answer) == 200, answer
            tag = to_tag_of(answer)
            client.request("ACK", "mtls", to_tag=tag, wait=False)
            assert status_of(client.request("BYE", "mtls", to_tag=tag, cseq=2)) == 200
            client.sock.close()
        ((call, _),) = wait_for_calls(vault, 1)
        assert call.direction == "incoming"
        (root / "sbc-ca.pem").write_text("not a certificate")
        assert tls_context(vault) is None  # TLS off, not open to anyone
    finally:
        vault.close()
