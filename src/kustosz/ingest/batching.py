"""How many files one intake batch takes (issue 68 item 5).

A batch is the unit of durability and of acknowledgement: its copies are made durable by one
syncfs, its rows commit together with one audit entry that lists every file's digest, and only
then is any of its files acknowledged (for a PBX spool: marked dealt with, and removed from
the spool where the line says so). The bigger the batch, the thinner those fixed costs are
spread; the smaller, the sooner its files are acknowledged.

So a batch is bounded three ways: by count, by bytes, and by time. It never waits to fill:
it is cut from what is ready, so a single file that arrives alone is a batch of one. The
first batch of a pass is small (the first acknowledgements come at once), and each next one
doubles up to the count, but never past what fits in the deadline at the rate the last batch
was taken at: a batch that took longer cuts the next one (never below the first batch's count,
or the fixed costs would dominate a busy machine).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


@dataclass
class BatchBound:
    first: int  # files in the first batch, and the least any later one is cut to
    most: int  # files at most
    most_bytes: int  # bytes at most (a batch ends with the file that reaches it)
    deadline_s: float  # a batch's work, from its files handed out to its commit
    clock: Callable[[], float] = time.monotonic
    limit: int = field(init=False)

    def __post_init__(self) -> None:
        self.limit = max(1, min(self.first, self.most))

    def took(self, files: int, seconds: float) -> None:
        """The next batch's count, from the last one's ``files`` and its ``seconds``."""
        grown = min(self.limit * 2, self.most)
        if files and seconds > 0:  # never past what fits at the rate just measured
            grown = min(grown, int(files * self.deadline_s / seconds))
        self.limit = max(1, min(self.first, self.most), min(grown, self.most))

    def batches(self, items: Iterable[T], size: Callable[[T], int]) -> Iterator[list[T]]:
        """``items`` in batches; the time the consumer spends on each (until it asks for the
        next) sizes the next one."""
        batch: list[T] = []
        total = 0
        for item in items:
            batch.append(item)
            total += size(item)
            if len(batch) >= self.limit or total >= self.most_bytes:
                began = self.clock()
                yield batch
                self.took(len(batch), self.clock() - began)
                batch, total = [], 0
        if batch:
            yield batch
