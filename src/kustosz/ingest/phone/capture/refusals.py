"""What the port showed that Kustosz could not read as SIP (issue 47): a message that looked like
SIP and could not be parsed, or a stretch of SIP over TCP lost — each a call perhaps not
recorded. They are gathered per line and sender and handed on at most once a second
(kustosz.ingest.refusals.refused: an `input.refused` alert naming the sender and the line,
folded per hour), so a flood of bad messages costs one database step a second, not one each."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kustosz.ingest.refusals import clean

MAX_PENDING = 256  # senders gathered between two hand-ons; more are counted with the last

# (line, device, reason_pl, detail)
Refuse = Callable[[str, str, str, str], None]

UNREADABLE_SIP = ("wiadomość SIP z portu lustrzanego jest nieczytelna — rozmowa, której "
                  "dotyczy, może nie zostać nagrana")
TCP_LOST = ("część sygnalizacji SIP przez TCP z portu lustrzanego nie dotarła lub nie była "
            "SIP — rozmowa, której dotyczyła, może nie zostać nagrana")

NOT_FOLLOWED = ("na porcie lustrzanym jest naraz ponad {limit} nieodebranych zaproszeń do "
                "rozmowy (możliwy zalew fałszywymi INVITE) — najstarsze przestaje być "
                "śledzone; odebrane rozmowy są nagrywane dalej")


@dataclass
class _Pending:
    count: int
    reason_pl: str
    detail: str


class Refusals:
    def __init__(self, refuse: Refuse) -> None:
        self.refuse = refuse
        self.total = 0
        self._pending: dict[tuple[str, str], _Pending] = {}

    def unreadable_sip(self, line: str, interface: str, src: str, sport: int, dst: str,
                       dport: int, payload: bytes, why: str) -> None:
        first = payload.split(b"\r\n", 1)[0][:120].decode("utf-8", errors="replace")
        self._add(line, _end(src, sport), UNREADABLE_SIP,
                  f"interface {interface}, to {_end(dst, dport)}: {why}; first line {first!r}")

    def tcp_lost(self, line: str, interface: str, stretches: int) -> None:
        self._add(line, f"port lustrzany {interface}", TCP_LOST,
                  f"SIP over TCP on {interface}: {stretches} stretch(es) lost (segments the "
                  "mirror did not show, or not SIP)")

    def not_followed(self, line: str, interface: str, limit: int, call_id: str) -> None:
        self._add(line, f"port lustrzany {interface}", NOT_FOLLOWED.format(limit=limit),
                  f"more than {limit} calls offered and not answered at once on "
                  f"{interface}: the oldest ({clean(call_id, 80)}) is no longer followed")

    def _add(self, line: str, device: str, reason_pl: str, detail: str) -> None:
        self.total += 1
        key = (line, device)
        if key not in self._pending and len(self._pending) >= MAX_PENDING:
            key = next(reversed(self._pending))  # a flood of senders: folded into the last
        one = self._pending.get(key)
        if one is None:
            self._pending[key] = _Pending(1, reason_pl, clean(detail, 250))
        else:
            one.count += 1

    def flush(self) -> None:
        """Hand on what was gathered since the last flush (one refusal per line and sender,
        saying how many messages it stands for)."""
        pending, self._pending = self._pending, {}
        for (line, device), one in pending.items():
            detail = one.detail if one.count == 1 else \
                f"{one.count} messages; the first: {one.detail}"
            self.refuse(line, device, one.reason_pl, detail)


def _end(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def why_silent(encrypted: int, forged: int, unsupported: set[int]) -> str:
    """Why an answered call has no sound (the technical detail of its alert)."""
    if encrypted:
        return (f"its sound is encrypted (SRTP, {encrypted} packets seen) with no key "
                "Kustosz can use (DTLS-SRTP, an MKI, another suite)")
    if forged:
        return f"every SRTP packet of it failed its authentication ({forged})"
    if unsupported:
        return (f"its sound is in a codec not recorded (RTP payload types "
                f"{', '.join(map(str, sorted(unsupported)))})")
    return "no RTP seen (it takes another path, or a firewall drops it)"
