"""SIP the port showed that Kustosz could not read (issue 47): gathered per line and sender and
handed on at most once a flush (a second), so a flood is one refusal per sender, bounded; the
sender handed on as an address anyone on the port can forge, the class of senders as the
device (issue 64 item 4)."""

from __future__ import annotations

from typing import Any

from kustosz.ingest.phone.capture import refusals
from kustosz.ingest.phone.capture.refusals import Refusals

Said = list[tuple[Any, ...]]


def _saying(said: Said) -> Refusals:
    return Refusals(lambda *a, **k: said.append((*a, k)))


def test_a_flood_from_one_sender_is_one_refusal_a_flush_saying_how_many() -> None:
    said: Said = []
    r = _saying(said)
    for _ in range(500):
        r.unreadable_sip("port", "eth1", "10.0.0.9", 5060, "10.0.0.2", 5060,
                         b"INVITE sip:x SIP/2.0\r\nContent-Length: bad\r\n\r\n", "ValueError: x")
    r.unreadable_sip("port", "eth1", "2001:db8::9", 5062, "2001:db8::2", 5060, b"\xff\xfe",
                     "UnicodeDecodeError")
    assert said == []  # nothing before the flush
    r.flush()
    r.flush()  # nothing new: nothing said again
    (first, second) = said
    assert first[:3] == ("port", "nadawca SIP na porcie lustrzanym linii port",
                         refusals.UNREADABLE_SIP)
    assert first[3].startswith("500 messages; the first: from 10.0.0.9:5060 on interface eth1 "
                               "to 10.0.0.2:5060")
    assert "'INVITE sip:x SIP/2.0'" in first[3]
    assert first[4] == {"times": 500, "address": "10.0.0.9"}
    assert second[4] == {"times": 1, "address": "2001:db8::9"} and r.total == 501
    assert "from [2001:db8::9]:5062" in second[3]


def test_senders_past_the_bound_are_folded_into_the_last() -> None:
    said: Said = []
    r = _saying(said)
    for n in range(refusals.MAX_PENDING + 100):
        r.unreadable_sip("port", "eth1", f"10.1.{n // 256}.{n % 256}", 5060, "10.0.0.2", 5060,
                         b"x", "bad")
    r.flush()
    assert len(said) == refusals.MAX_PENDING
    assert said[-1][3].startswith("101 messages")


def test_lost_sip_over_tcp_names_the_interface() -> None:
    said: Said = []
    r = _saying(said)
    r.tcp_lost("port", "eth1", 2)
    r.flush()
    ((line, device, reason, detail, extra),) = said
    assert (line, device, reason) == ("port", "port lustrzany eth1", refusals.TCP_LOST)
    assert extra == {"times": 1, "address": None}  # the interface: no address to forge
    assert "2 stretch(es) lost" in detail
