"""Whether a peer's address lies in a list of networks — one rule for the workstation
allow-list, the event listeners' senders, the trusted proxies and the metrics readers."""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
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


LOCAL_NAMES = ("localhost", "localhost.")


def local_address(address: str) -> bool:
    """True for an address that reaches this machine or its link rather than a server of the
    office: loopback (127/8, ::1), link-local (169.254/16 — cloud metadata —, fe80::/10),
    unspecified (0.0.0.0, ::; Linux connects those to itself) and multicast, also written as
    an IPv4-mapped or IPv4-compatible IPv6 address (::ffff:127.0.0.1, ::127.0.0.1)."""
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip.packed[:12] == bytes(12) and int(ip) > 1:
            ip = ipaddress.IPv4Address(ip.packed[12:])
    return ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast


def named_local(url: str) -> bool:
    """The address names a local host itself (a literal loopback address or "localhost"),
    not through a name a DNS server answers for."""
    try:
        host = urllib.parse.urlsplit(url).hostname or ""
    except ValueError:
        return False
    return host.lower() in LOCAL_NAMES or local_address(host)


# A mailbox as kustosz.toml and the alerts page take it: local part, "@", a domain of labels
# separated by single dots. A domain without a dot is valid (RFC 5321 §2.3.5 leaves it to the
# relay): "it@localhost" or "root@serwer" is a mailbox of the local MTA (Postfix delivers it
# on this machine), which is how a small office reads the alerts of its own server.
_MAIL = re.compile(r"^[^@\s<>\",;()\[\]]+@(?!\.)(?!.*\.\.)[^@\s<>\",;()\[\]]+(?<!\.)\Z")


def mail_address(text: object) -> bool:
    """True for one e-mail address (``it@um.example.pl``, ``it@localhost``)."""
    return isinstance(text, str) and _MAIL.match(text) is not None
