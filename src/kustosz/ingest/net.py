"""Small network helpers shared by the mail and event listeners."""

from __future__ import annotations

import ipaddress
import ssl
from pathlib import Path

from kustosz.addresses import in_networks
from kustosz.errors import ConfigError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# Who may send events when the office named nobody: this machine only. Accepting the whole
# network by default let anyone who can reach the port write into the monitoring record.
LOOPBACK = ("127.0.0.1", "::1")
LOOPBACK_NOTICE = ("accepting events only from 127.0.0.1/::1; set the allow-list "
                   "(kustosz events set {name} --allow-host ADDRESS) to accept others")


def parse_listen(text: str, what: str) -> tuple[str, int]:
    """'HOST:PORT' or '[v6]:PORT'; port 0 lets the system choose (tests, benchmarks)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"{what} {text!r} must be HOST:PORT, e.g. 0.0.0.0:5514",
                          pl=f"{what} „{text}” musi mieć postać HOST:PORT, np. 0.0.0.0:5514.")
    return host.strip("[]") or "0.0.0.0", int(port)


def parse_networks(items: list[str], what: str) -> list[Network]:
    networks = []
    for item in items:
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(f"{what}: {item!r} is not an IP address or network "
                              "(e.g. 10.0.0.5 or 10.0.0.0/24)",
                              pl=f"{what}: „{item}” nie jest adresem IP ani siecią (np. 10.0.0.5 "
                                 "albo 10.0.0.0/24).") from None
    return networks


def allowed(peer: str, networks: list[Network]) -> bool:
    """An empty list allows everyone: callers pass LOOPBACK instead of an empty list."""
    if not networks:
        return True
    return in_networks(peer, networks)


def server_tls(cert: str, key: str) -> ssl.SSLContext | None:
    if not cert:
        return None
    if not Path(cert).is_file() or (key and not Path(key).is_file()):
        raise ConfigError(f"TLS certificate {cert!r} or key {key!r} is not a readable file",
                          pl=f"Nie można odczytać certyfikatu TLS „{cert}” albo klucza „{key}” "
                             "(nie istnieje albo nie jest plikiem).")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        ctx.load_cert_chain(cert, key or None)
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(f"cannot load TLS certificate {cert!r}: {exc}",
                          pl=f"Nie można wczytać certyfikatu TLS „{cert}”: {exc}.") from None
    return ctx


def peer_ip(peername: object) -> str:
    if isinstance(peername, tuple) and peername:
        return str(peername[0])
    return "unknown"
