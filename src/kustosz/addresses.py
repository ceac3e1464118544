"""Whether a peer's address lies in a list of networks — one rule for the workstation
allow-list, the event listeners' senders, the trusted proxies and the metrics readers."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def in_networks(address: str | None, networks: Iterable[Network]) -> bool:
    """False for anything that is not an address. An IPv6 zone ("fe80::1%eth0") and URL
    brackets are dropped, and a dual-stack socket's view of an IPv4 peer (::ffff:a.b.c.d) is
    that IPv4 address."""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in net for net in networks)
