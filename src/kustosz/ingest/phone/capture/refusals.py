"""What the port showed that Kustosz could not read as SIP (issue 47): a message that looked like
SIP and could not be parsed, or a stretch of SIP over TCP lost — each a call perhaps not
recorded. They are gathered per line and sender and handed on at most once a second
(kustosz.ingest.refusals.refused: an `input.refused` alert naming the line and the reason).
A sender is only the address a frame on the port claims, which anyone there can forge: it is
handed on as such (``address``), so that the alert folds by the line and the reason and
counts the addresses, never a row per address (issue 64 item 4)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from kustosz.ingest.phone.capture.tunnels import Tunnel
from kustosz.ingest.phone.scope import Scope, untold_pl
from kustosz.ingest.refusals import clean

MAX_PENDING = 256  # senders gathered between two hand-ons; more are counted with the last
SENDER = "nadawca SIP na porcie lustrzanym linii {line}"  # the class of a frame's sender


class Refuse(Protocol):
    """``device``: the interface, or (``address`` given) the class of the frame's sender;
    ``times``: how many messages this hand-on stands for."""

    def __call__(self, line: str, device: str, reason_pl: str, detail: str, *, times: int = 1,
                 address: str | None = None) -> None: ...

UNREADABLE_SIP = ("wiadomość SIP z portu lustrzanego jest nieczytelna — rozmowa, której "
                  "dotyczy, może nie zostać nagrana")
TCP_LOST = ("część sygnalizacji SIP przez TCP z portu lustrzanego nie dotarła lub nie była "
            "SIP — rozmowa, której dotyczyła, może nie zostać nagrana")

TUNNELLED = ("na porcie lustrzanym linii „{line}” jest {inside} w tunelu {encapsulation} — "
             "Kustosz nie czyta ruchu w tunelach, więc rozmowy, które nim płyną, nie są "
             "nagrywane; skieruj na port lustrzany ruch sprzed tunelu albo za nim (bez "
             "tunelu) lub nagrywaj te rozmowy przez SIPREC")
NOT_FOLLOWED = ("na porcie lustrzanym jest naraz ponad {limit} nieodebranych zaproszeń do "
                "rozmowy (możliwy zalew fałszywymi INVITE) — najstarsze, na które nikt nie "
                "odpowiedział, przestaje być śledzone; rozmowy dzwoniące i odebrane są "
                "nagrywane dalej")
TOO_MANY_FROM = ("z jednego adresu przyszło naraz zbyt wiele zaproszeń do rozmowy, na które "
                 "nikt nie odpowiedział (możliwy zalew fałszywymi INVITE) — najstarsze z nich "
                 "przestaje być śledzone; rozmowy z innych adresów są nagrywane dalej")


@dataclass
class _Pending:
    count: int
    reason_pl: str
    detail: str
    address: str | None = None


class Refusals:
    def __init__(self, refuse: Refuse) -> None:
        self.refuse = refuse
        self.total = 0
        self._pending: dict[tuple[str, str, str | None], _Pending] = {}

    def unreadable_sip(self, line: str, interface: str, src: str, sport: int, dst: str,
                       dport: int, payload: bytes, why: str) -> None:
        first = payload.split(b"\r\n", 1)[0][:120].decode("utf-8", errors="replace")
        self._add(line, SENDER.format(line=line), UNREADABLE_SIP,
                  f"from {_end(src, sport)} on interface {interface} to {_end(dst, dport)}: "
                  f"{why}; first line {first!r}", src)

    def tcp_lost(self, line: str, interface: str, stretches: int) -> None:
        self._add(line, f"port lustrzany {interface}", TCP_LOST,
                  f"SIP over TCP on {interface}: {stretches} stretch(es) lost (segments the "
                  "mirror did not show, or not SIP)")

    def not_followed(self, line: str, interface: str, limit: int, call_id: str,
                     source: str = "") -> None:
        """An offer no longer followed: for the table's ``limit``, or for its ``source``
        sending too many offers nobody answered (capture.pending)."""
        if source:
            self._add(line, f"{source} (port lustrzany {interface})", TOO_MANY_FROM,
                      f"too many unanswered INVITEs from {source} on {interface}: its "
                      f"oldest ({clean(call_id, 80)}) is no longer followed")
            return
        self._add(line, f"port lustrzany {interface}", NOT_FOLLOWED.format(limit=limit),
                  f"more than {limit} calls offered and not answered at once on "
                  f"{interface}: the oldest bare offer ({clean(call_id, 80)}) is no longer "
                  "followed")

    def direction_untold(self, line: str, interface: str, scope: Scope) -> None:
        self._add(line, f"port lustrzany {interface}", untold_pl(scope),
                  f"a call on {interface} of direction unknown not kept (scope: {scope})")

    def tunnelled(self, line: str, interface: str, t: Tunnel, frames: int, sip: bool) -> None:
        """Traffic in a tunnel on the port (tunnels.py): its calls are not recorded."""
        inside = "sygnalizacja SIP" if sip else "ruch"
        self._add(line, f"tunel {t.encapsulation} {t.src} → {t.dst}", TUNNELLED.format(
            line=line, inside=inside, encapsulation=t.encapsulation),
            f"interface {interface}: {frames} frame(s) in {t.encapsulation} between {t.src} "
            f"and {t.dst}{', SIP inside' if sip else ''}; tunnelled traffic is not read")

    def _add(self, line: str, device: str, reason_pl: str, detail: str,
             address: str | None = None) -> None:
        self.total += 1
        key = (line, device, address)
        if key not in self._pending and len(self._pending) >= MAX_PENDING:
            key = next(reversed(self._pending))  # a flood of senders: folded into the last
        one = self._pending.get(key)
        if one is None:
            self._pending[key] = _Pending(1, reason_pl, clean(detail, 250), address)
        else:
            one.count += 1

    def flush(self) -> None:
        """Hand on what was gathered since the last flush (one refusal per line and sender,
        saying how many messages it stands for)."""
        pending, self._pending = self._pending, {}
        for (line, device, _), one in pending.items():
            detail = one.detail if one.count == 1 else \
                f"{one.count} messages; the first: {one.detail}"
            self.refuse(line, device, one.reason_pl, detail, times=one.count,
                        address=one.address)


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
