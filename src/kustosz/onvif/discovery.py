"""Finding cameras on the office's network (issue 34 item 1): a WS-Discovery probe sent on the
interface the administrator names, answered within a bounded time. Multicast does not cross a
VLAN's router, so a camera elsewhere is added by its address instead (`device.read_camera`)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import unquote

from onveef import wsdiscovery

from kustosz.errors import InputError
from kustosz.onvif.address import OnvifAddress, parse_address

LONGEST_S = 30.0  # a probe waits at most this long for answers


@dataclass(frozen=True)
class FoundCamera:
    """A device that answered the probe, as its answer describes it (no credentials yet)."""

    address: OnvifAddress
    name: str
    hardware: str
    location: str
    endpoint: str


def local_interfaces() -> list[str]:
    """This machine's IPv4 addresses a probe can go out from."""
    return sorted(set(wsdiscovery.local_ipv4_addresses()) | {"127.0.0.1"})


def discover(interface_ip: str | None = None, timeout_s: float = 3.0) -> list[FoundCamera]:
    """The ONVIF devices that answer a probe sent from ``interface_ip`` (every interface of
    this machine when None), one entry per device service, by address."""
    if not 0.5 <= timeout_s <= LONGEST_S:
        raise InputError(f"the probe's time must be from 0.5 to {LONGEST_S:g} s",
                         pl=f"Czas wyszukiwania musi wynosić od 0,5 do {LONGEST_S:g} s.")
    if interface_ip is not None:
        try:
            ipaddress.IPv4Address(interface_ip)
        except ValueError:
            raise InputError(f"{interface_ip!r} is not an IPv4 address",
                             pl=f"„{interface_ip}” nie jest adresem IPv4.") from None
        if interface_ip not in local_interfaces():
            raise InputError(
                f"this machine has no interface {interface_ip} (it has "
                f"{', '.join(local_interfaces())})",
                pl=f"Ten komputer nie ma interfejsu o adresie {interface_ip} (ma: "
                   f"{', '.join(local_interfaces())}).")
    return found_of(wsdiscovery.discover(timeout_s=timeout_s, interface_ip=interface_ip))


def _scope(value: str) -> str:
    """A scope's value as people read it: ONVIF scopes are URIs, so a name with a space comes
    as "My%20Camera" (percent-decoded, whitespace folded, cut at 200 characters)."""
    return " ".join(unquote(value, errors="replace").split())[:200]


def found_of(answers: Iterable[wsdiscovery.DiscoveredDevice]) -> list[FoundCamera]:
    """The probe's answers as cameras a person could add, one per device service."""
    found: dict[str, FoundCamera] = {}
    for device in answers:
        if not device.device_service:
            continue
        try:
            address = parse_address(device.device_service)
        except InputError:
            continue  # an answer naming no usable address: nothing a person could add
        found.setdefault(str(address), FoundCamera(
            address=address, name=_scope(device.name), hardware=_scope(device.hardware),
            location=_scope(device.location), endpoint=device.endpoint_reference))
    return sorted(found.values(), key=lambda f: (f.address.host, f.address.port))


def _addresses_of(host: str) -> list[str]:
    """A host's IP addresses: itself when it is one, else what the resolver says (none: the
    name leads nowhere this machine knows)."""
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    try:
        return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None)})
    except (OSError, UnicodeError):
        return []


def offered(found: Iterable[FoundCamera],
            in_office: Callable[[str], bool]) -> tuple[list[FoundCamera], list[FoundCamera]]:
    """The answers whose service address lies in the office's networks, and the others. An
    answer names the address its credentials would be sent to; one outside the office's
    networks (a spoofed or misconfigured answer) is never offered to be asked."""
    inside: list[FoundCamera] = []
    outside: list[FoundCamera] = []
    for f in found:
        ips = _addresses_of(f.address.host)
        (inside if ips and all(in_office(ip) for ip in ips) else outside).append(f)
    return inside, outside


def _this_machine_or_link(address: str) -> bool:
    """Loopback or link-local, also written as an IPv4-mapped IPv6 address (a lower layer
    than kustosz.addresses, whose local_address says the same for webhooks)."""
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback or ip.is_link_local or ip.is_unspecified


def check_in_office(address: OnvifAddress, in_office: Callable[[str], bool]) -> None:
    """A typed address is asked only inside the office's networks, as a found one is: the
    camera's password goes to whatever answers there."""
    ips = _addresses_of(address.host)
    if not ips:
        raise InputError(f"{address.host!r} names no address this machine can find",
                         pl=f"Nazwa „{address.host}” nie wskazuje adresu, który ten komputer "
                            "potrafi znaleźć.")
    outside = [ip for ip in ips if not in_office(ip)]
    if outside and any(_this_machine_or_link(ip) for ip in outside):
        raise InputError(
            f"{address.host} ({', '.join(outside)}) is this machine or its link (loopback, "
            "link-local): no camera is asked there unless [cameras] networks in kustosz.toml "
            "names it",
            pl=f"Adres {address.host} ({', '.join(outside)}) wskazuje ten komputer albo adres "
               "łącza lokalnego (127.…, 169.254.…, fe80::…): Kustosz nie pyta tam kamer, chyba "
               "że ustawienie [cameras] networks w kustosz.toml obejmuje ten adres.")
    if outside:
        raise InputError(
            f"{address.host} ({', '.join(outside)}) is outside the office's networks "
            "([cameras] networks in kustosz.toml): its password would leave the office",
            pl=f"Adres {address.host} ({', '.join(outside)}) leży poza sieciami urzędu "
               "(ustawienie [cameras] networks w kustosz.toml): hasło kamery nie zostanie tam "
               "wysłane.")
