"""Log lines folded per key: what a flood repeats is one line a minute, not one a packet (issue
48 item 10; issue 64 N5: 500 foreign addresses still wrote 670 lines). The key is what the
line is about — an answer and a line, a class of senders and a reason — never an address a
datagram claims, so a flood that forges many writes as few lines as one that forges none."""

from __future__ import annotations

import logging
import time

EVERY_S = 60.0
KEYS = 1024  # keys remembered; past them the quietest are let go (their next line comes early)


class LogFold:
    def __init__(self, logger: logging.Logger, every_s: float = EVERY_S) -> None:
        self.log, self.every_s = logger, every_s
        self._told: dict[object, tuple[float, int]] = {}  # key -> (last line, held since)

    def say(self, level: int, key: object, msg: str, *args: object) -> bool:
        """Log ``msg`` unless a line of ``key`` was written within ``every_s``: then count it,
        and the next line of ``key`` says how many were held. True when written."""
        now = time.monotonic()
        last, held = self._told.get(key, (float("-inf"), 0))
        if now - last < self.every_s:
            self._told[key] = (last, held + 1)
            return False
        if key not in self._told and len(self._told) >= KEYS:
            for old in [k for k, (at, _) in self._told.items() if now - at >= self.every_s]:
                del self._told[old]
            if len(self._told) >= KEYS:
                self._told.pop(next(iter(self._told)))
        self._told[key] = (now, 0)
        self.log.log(level, msg + "%s", *args,
                     f" (and {held} more since the last line)" if held else "")
        return True
