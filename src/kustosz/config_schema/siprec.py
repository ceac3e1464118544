"""[siprec]: the recording server that an office's SBC or PBX sends its calls' media to
(issue 35); it runs in `kustosz serve` while a phone line is recorded through SIPREC."""

from __future__ import annotations

from ipaddress import ip_address

from pydantic import Field, field_validator, model_validator

from kustosz.config_schema.base import Table, problem


def _host_port(value: str) -> tuple[str, int] | None:
    host, sep, port = value.strip().rpartition(":")
    if not sep or not port.isdigit() or not 1 <= int(port) <= 65535:
        return None
    host = host.strip("[]")
    try:
        ip_address(host)
    except ValueError:
        return None
    return host, int(port)


class Siprec(Table):
    listen: str = Field(
        "0.0.0.0:5060",
        description="Address and port the SIP listener takes recording sessions on "
        "(UDP and TCP).",
    )
    tls_listen: str = Field(
        "",
        description="Address and port of SIP over TLS (e.g. 0.0.0.0:5061), with tls_cert "
        "and tls_key; default: none.",
    )
    tls_cert: str = Field("", description="The office's certificate (PEM) for SIP over TLS; "
                          "a relative path is the data folder's.")
    tls_key: str = Field("", description="Its private key (PEM, readable by the service "
                         "alone).")
    tls_client_ca: str = Field(
        "", description="The certificate authority (PEM) that signed the SBC's own "
        "certificate: with it, SIP over TLS is taken only from an SBC that presents a "
        "certificate it signed (mutual TLS) — not by its address alone; a relative path is the "
        "data folder's. Default: none (the SBC is admitted by its address).")
    address: str = Field(
        "",
        description="This machine's address as the SRC reaches it, for the media it is "
        "told to send (default: the address the SRC's INVITE was sent to).",
    )
    rtp_ports: str = Field(
        "40000-40999", description="The UDP ports the calls' streams are received on."
    )
    silence_seconds: float = Field(
        600.0, ge=10, le=86400,
        description="A recording session with neither RTP nor SIP for this long is closed "
        "and marked so.",
    )
    invite_rate: float = Field(
        10.0, gt=0, le=1000,
        description="New recording sessions per second one address may open; more are "
        "answered 503.",
    )
    loss_percent: float = Field(
        1.0, ge=0, le=100,
        description="A call whose streams lost more of their packets than this is alerted.",
    )
    max_sessions: int = Field(
        200, ge=1, le=5000, description="Recording sessions at once; more are answered 503."
    )

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        if _host_port(value) is None:
            raise problem(f"{value!r} is not an address and port (e.g. 0.0.0.0:5060)",
                          f"„{value}” nie jest adresem z portem (np. 0.0.0.0:5060)")
        return value.strip()

    @field_validator("tls_listen")
    @classmethod
    def _tls_listen(cls, value: str) -> str:
        if value.strip() and _host_port(value) is None:
            raise problem(f"{value!r} is not an address and port (e.g. 0.0.0.0:5061)",
                          f"„{value}” nie jest adresem z portem (np. 0.0.0.0:5061)")
        return value.strip()

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        if value.strip():
            try:
                ip_address(value.strip())
            except ValueError:
                raise problem(f"{value!r} is not an IP address (e.g. 192.168.10.5)",
                              f"„{value}” nie jest adresem IP (np. 192.168.10.5)") from None
        return value.strip()

    @model_validator(mode="after")
    def _tls(self) -> Siprec:
        if bool(self.tls_listen) != bool(self.tls_cert and self.tls_key):
            raise problem(
                "siprec.tls_listen needs siprec.tls_cert and siprec.tls_key, and they need it",
                "siprec.tls_listen wymaga siprec.tls_cert i siprec.tls_key, a one — jego")
        if self.tls_client_ca.strip() and not self.tls_listen:
            raise problem(
                "siprec.tls_client_ca checks the SBC's certificate over TLS: it needs "
                "siprec.tls_listen (with tls_cert and tls_key)",
                "siprec.tls_client_ca sprawdza certyfikat SBC przy połączeniu TLS: wymaga "
                "siprec.tls_listen (z tls_cert i tls_key)")
        return self

    @model_validator(mode="after")
    def _ports(self) -> Siprec:
        if self.ports is None:
            raise problem(
                f"siprec.rtp_ports {self.rtp_ports!r}: give a range of at least 4 ports "
                "between 1024 and 65535, e.g. 40000-40999",
                f"siprec.rtp_ports „{self.rtp_ports}”: podaj zakres co najmniej 4 portów "
                "od 1024 do 65535, np. 40000-40999")
        return self

    @property
    def ports(self) -> tuple[int, int] | None:
        low, sep, high = self.rtp_ports.partition("-")
        if not sep or not low.strip().isdigit() or not high.strip().isdigit():
            return None
        lo, hi = int(low), int(high)
        return (lo, hi) if lo >= 1024 and hi <= 65535 and hi - lo >= 3 else None

    @property
    def tls_host_port(self) -> tuple[str, int] | None:
        return _host_port(self.tls_listen) if self.tls_listen else None

    @property
    def host_port(self) -> tuple[str, int]:
        got = _host_port(self.listen)
        assert got is not None  # checked above
        return got
