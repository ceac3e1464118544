"""The format checks of a phone intake pass: each file's path, sidecar and audio header
(`facts.parse`), made before its batch is paired and stored.

A long pass (`FROM_FILES` or more) has them made ahead, in the side process
("phone-facts", `facts_chunk`): chunks of the pass's files are sent as soon as the pass knows
them, up to `AHEAD_FILES` beyond the batch being taken, so the checks run on the other core
while the intake pairs, writes and commits the batches before (bench/README.md, calls: in the
intake's own threads they cost it their own work and as much again in handing the
interpreter's lock over). A short pass, or one whose side process cannot be had or dies, is
checked batch by batch by a few threads, as before: the pass never depends on the helper."""

from __future__ import annotations

import logging
import uuid
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from zoneinfo import ZoneInfo

from kustosz import side_process
from kustosz.ingest.phone.facts import Facts, Named, Skip, Unnamed, folder_names, parse
from kustosz.ingest.phone.facts_chunk import Outcome
from kustosz.ingest.phone.filenames import unsafe_relpaths
from kustosz.ingest.phone.sidecar import SIDECAR_SUFFIXES

log = logging.getLogger(__name__)

FROM_FILES = 256  # a pass this long is checked ahead in the side process
CHUNK_FILES = 128  # files a task
AHEAD_FILES = 4096  # checks sent beyond the batch being taken (what a cut pass wastes)
# A chunk's checks take milliseconds; a helper that has not answered one in this long is
# stopped (SIGSTOP, a debugger, swapped out) or stuck: it is ended, and the pass goes on by
# threads, with a new helper for the next pass.
CHUNK_DEADLINE_S = 60.0
# Files read for their format check at once, where the intake checks them itself: an open on
# a busy disk waits in the kernel far longer than the Python around it, and the waits overlap.
PARSE_WORKERS = 8
_pool: ThreadPoolExecutor | None = None

Parsed = Facts | Named | Unnamed | Skip


class FormatChecks:
    """One pass's checks: `take` gives a batch's, in the pass's order of files."""

    def __init__(self, spool: Path, tz: ZoneInfo, ready: list[str],
                 seen: dict[str, tuple[int, int]], folder_sizes: Counter[str]) -> None:
        self.spool, self.tz, self.ready, self.seen = spool, tz, ready, seen
        self.folder_sizes = folder_sizes
        self.position = {rel: i for i, rel in enumerate(ready)}
        self.sent = 0  # ready[:sent] went to the side process
        self.received = 0  # and ready[:received] came back (the chunks answer in order)
        self.chunks: deque[tuple[list[str], Future[list[Outcome]]]] = deque()
        self.done: dict[str, Outcome] = {}
        self.listed = to_list(ready, folder_sizes)  # once for the pass's sidecars
        self.pass_id = uuid.uuid4().hex
        self.ahead = len(ready) >= FROM_FILES
        if self.ahead:
            try:
                side_process.start("phone-facts")
            except OSError as exc:
                log.warning("the format checks' process could not start (%s); a pass of %d "
                            "files is checked by threads", exc, len(ready))
                self.ahead = False
        self._send(AHEAD_FILES)

    def take(self, rels: list[str]) -> tuple[dict[str, str], dict[str, Parsed]]:
        """A batch's files: the paths refused (with why), and what the others are."""
        if self.ahead:
            end = max((self.position.get(rel, -1) for rel in rels), default=-1) + 1
            self._send(end)
            while self.ahead and self.chunks and self.received < end:
                self._receive()
            self._send(end + AHEAD_FILES)
        got = {rel: self.done.pop(rel) for rel in rels if rel in self.done}
        unsafe = {rel: o[1] for rel, o in got.items() if isinstance(o, tuple) and o[0] == "unsafe"}
        parsed: dict[str, Parsed] = {rel: _parsed(o) for rel, o in got.items() if rel not in unsafe}
        rest = [rel for rel in rels if rel not in got]
        if rest:  # a short pass, or the process failed: here, by threads
            more_unsafe, more = self._here(rest)
            unsafe.update(more_unsafe)
            parsed.update(more)
        return unsafe, parsed

    def _send(self, upto: int) -> None:
        upto = min(upto, len(self.ready))
        while self.ahead and self.sent < upto:
            chunk = self.ready[self.sent:self.sent + CHUNK_FILES]
            try:
                future = side_process.submit(
                    "phone-facts", str(self.spool), self.tz.key, self.pass_id,
                    [(rel, self.seen[rel]) for rel in chunk], self.listed)
            except side_process.SideGone as exc:
                self._fail(exc)
                return
            self.chunks.append((chunk, future))
            self.sent += len(chunk)

    def _receive(self) -> None:
        chunk, future = self.chunks.popleft()
        try:
            outcomes = future.result(timeout=CHUNK_DEADLINE_S)
        except TimeoutError:
            side_process.end("phone-facts")
            self._fail(TimeoutError(f"no answer in {CHUNK_DEADLINE_S:g} s"))
            return
        except (side_process.SideGone, RuntimeError) as exc:
            self._fail(exc)
            return
        self.done.update(zip(chunk, outcomes, strict=True))
        self.received += len(chunk)

    def _fail(self, exc: BaseException) -> None:
        """The helper failed: what it had not answered is checked here, batch by batch."""
        log.warning("the format checks' process failed (%s); the rest of the pass is checked "
                    "by threads", exc)
        self.ahead = False
        self.chunks.clear()

    def _here(self, rels: list[str]) -> tuple[dict[str, str], dict[str, Parsed]]:
        unsafe = unsafe_relpaths(self.spool, rels)
        safe = [rel for rel in rels if rel not in unsafe]
        listed = to_list(safe, self.folder_sizes)  # per batch here
        folders = {parent: folder_names(self.spool / parent) if parent in listed else None
                   for parent in {rel.rpartition("/")[0] for rel in safe}}
        return unsafe, parse_in_threads(self.spool, self.tz, safe, self.seen, folders)


def to_list(rels: list[str], folder_sizes: Counter[str]) -> frozenset[str]:
    """The folders of ``rels`` to list for sidecars: those ``rels`` hold much of. Elsewhere
    two stats a file cost less than a name per entry of a large day folder."""
    mine = Counter(rel.rpartition("/")[0] for rel in rels)
    return frozenset(parent for parent, n in mine.items()
                     if n * len(SIDECAR_SUFFIXES) >= folder_sizes.get(parent, 0))


def _parsed(outcome: Outcome) -> Parsed:
    if isinstance(outcome, tuple):  # ("skip", why, why in Polish)
        return Skip(outcome[1], pl=outcome[2] if len(outcome) > 2 else None)
    return outcome


def parse_in_threads(spool: Path, tz: ZoneInfo, rels: list[str],
                     seen: dict[str, tuple[int, int]],
                     folders: dict[str, frozenset[str] | None]) -> dict[str, Parsed]:
    """`parse` of each of ``rels`` (their paths checked), by a few threads that each take
    the next file."""
    out: dict[str, Parsed] = {}
    todo = iter(rels)  # next() of a list iterator is atomic under the GIL

    def drain(_: int) -> None:
        for rel in todo:
            try:
                out[rel] = parse(spool, tz, rel, seen[rel], checked=True,
                                 folder=folders[rel.rpartition("/")[0]])
            except Skip as exc:
                out[rel] = exc

    global _pool
    if PARSE_WORKERS <= 1 or len(rels) < 2:
        drain(0)
        return out
    if _pool is None or _pool._max_workers != PARSE_WORKERS:
        _pool = ThreadPoolExecutor(PARSE_WORKERS, thread_name_prefix="kustosz-parse")
    list(_pool.map(drain, range(min(PARSE_WORKERS, len(rels)))))
    return out
