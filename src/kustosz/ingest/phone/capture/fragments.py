"""UDP datagrams put together again from their IP fragments (RFC 791, RFC 8200 §4.5), as a
mirrored port shows them: SIP over UDP longer than the path's MTU — an INVITE whose offer lists
many codecs, over IPv6 above all, where routers never fragment and the sender must — arrives
in pieces, and a call whose INVITE or answer is lost so is a call not recorded.

Bounded, as the fragments are anyone's to send: at most MAX_PENDING datagrams waiting (the
oldest given up for a new one), each at most 65,535 bytes and WAIT_S seconds old; fragments
that overlap give their datagram up whole (RFC 5722: overlaps are how filters are evaded)."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from kustosz.ingest.phone.capture.frames import Datagram, Fragment, Skipped

MAX_PENDING = 64
MAX_SIZE = 65535
WAIT_S = 10.0


@dataclass
class _Waiting:
    first_at: float
    pieces: dict[int, bytes] = field(default_factory=dict)  # offset → bytes
    total: int | None = None  # known once the last fragment came


class Fragments:
    def __init__(self) -> None:
        self._waiting: dict[tuple[str, str, int, bool], _Waiting] = {}
        self.given_up = 0  # datagrams never whole: timed out, crowded out, overlapping, long

    def add(self, skipped: Skipped, when: float) -> Datagram | None:
        """The datagram ``skipped`` completes, if it is a fragment and the last one missing;
        else None (the frame is not a whole datagram, or not yet)."""
        if not isinstance(skipped, Fragment):
            return None
        self._expire(when)
        f = skipped
        key = (f.src, f.dst, f.ident, ":" in f.src)
        waiting = self._waiting.get(key)
        if waiting is None:
            if len(self._waiting) >= MAX_PENDING:
                del self._waiting[next(iter(self._waiting))]
                self.given_up += 1
            waiting = self._waiting[key] = _Waiting(when)
        end = f.offset + len(f.data)
        if end > MAX_SIZE or (f.more and len(f.data) % 8) or any(
                f.offset < at + len(data) and at < end for at, data in waiting.pieces.items()):
            del self._waiting[key]  # too long, misaligned or overlapping: none of it is read
            self.given_up += 1
            return None
        waiting.pieces[f.offset] = f.data
        if not f.more:
            waiting.total = end
        return self._whole(key, waiting, f)

    def _whole(self, key: tuple[str, str, int, bool], waiting: _Waiting,
               f: Fragment) -> Datagram | None:
        if waiting.total is None or sum(map(len, waiting.pieces.values())) != waiting.total:
            return None  # not overlapping, so all its bytes are there when they add up
        del self._waiting[key]
        data = b"".join(waiting.pieces[at] for at in sorted(waiting.pieces))
        if len(data) < 8:
            self.given_up += 1
            return None
        sport, dport, length = struct.unpack("!HHH", data[:6])
        if length < 8 or length > len(data):
            self.given_up += 1
            return None
        return Datagram(f.src, sport, f.dst, dport, data[8:length])

    def _expire(self, now: float) -> None:
        for key in [k for k, w in self._waiting.items() if now - w.first_at > WAIT_S]:
            del self._waiting[key]
            self.given_up += 1
