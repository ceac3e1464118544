"""SIP the port showed that Kustosz could not read (issue 47): gathered per line and sender and
handed on at most once a flush (a second), so a flood is one refusal per sender, bounded."""

from __future__ import annotations

from kustosz.ingest.phone.capture import refusals
from kustosz.ingest.phone.capture.refusals import Refusals


def test_a_flood_from_one_sender_is_one_refusal_a_flush_saying_how_many() -> None:
    said: list[tuple[str, str, str, str]] = []
    r = Refusals(lambda *a: said.append(a))
    for _ in range(500):
        r.unreadable_sip("port", "eth1", "10.0.0.9", 5060, "10.0.0.2", 5060,
                         b"INVITE sip:x SIP/2.0\r\nContent-Length: bad\r\n\r\n", "ValueError: x")
    r.unreadable_sip("port", "eth1", "2001:db8::9", 5062, "2001:db8::2", 5060, b"\xff\xfe",
                     "UnicodeDecodeError")
    assert said == []  # nothing before the flush
    r.flush()
    r.flush()  # nothing new: nothing said again
    (first, second) = said
    assert first[:3] == ("port", "10.0.0.9:5060", refusals.UNREADABLE_SIP)
    assert first[3].startswith("500 messages; the first: interface eth1, to 10.0.0.2:5060")
    assert "'INVITE sip:x SIP/2.0'" in first[3]
    assert second[1] == "[2001:db8::9]:5062" and r.total == 501


def test_senders_past_the_bound_are_folded_into_the_last() -> None:
    said: list[tuple[str, str, str, str]] = []
    r = Refusals(lambda *a: said.append(a))
    for n in range(refusals.MAX_PENDING + 100):
        r.unreadable_sip("port", "eth1", f"10.1.{n // 256}.{n % 256}", 5060, "10.0.0.2", 5060,
                         b"x", "bad")
    r.flush()
    assert len(said) == refusals.MAX_PENDING
    assert said[-1][3].startswith("101 messages")


def test_lost_sip_over_tcp_names_the_interface() -> None:
    said: list[tuple[str, str, str, str]] = []
    r = Refusals(lambda *a: said.append(a))
    r.tcp_lost("port", "eth1", 2)
    r.flush()
    ((line, device, reason, detail),) = said
    assert (line, device, reason) == ("port", "port lustrzany eth1", refusals.TCP_LOST)
    assert "2 stretch(es) lost" in detail
