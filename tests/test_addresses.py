"""One rule for "is this peer in these networks" (allow-list, event senders, proxies,
metrics readers)."""

from __future__ import annotations

import ipaddress

import pytest

from kustosz.addresses import in_networks

OFFICE = [ipaddress.ip_network("192.168.10.0/24"), ipaddress.ip_network("fe80::/64")]


@pytest.mark.parametrize("address, inside", [
    ("192.168.10.7", True),
    ("::ffff:192.168.10.7", True),  # a dual-stack socket's view of an IPv4 peer
    ("[fe80::1]", True),
    ("fe80::1%eth0", True),  # a link-local peer with its zone
    ("192.168.11.7", False),
    ("::ffff:10.0.0.1", False),
    ("", False),
    (None, False),
    ("192.168.10.7, 10.0.0.1", False),  # a header's list is not an address
    ("wejście", False),
])
def test_an_address_is_in_the_networks_only_when_it_really_is(address: str | None,
                                                             inside: bool) -> None:
    assert in_networks(address, OFFICE) is inside


def test_no_networks_admit_no_one() -> None:
    assert in_networks("127.0.0.1", []) is False
