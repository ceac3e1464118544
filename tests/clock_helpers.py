"""A server clock a test can shift (issue 14 item 9), and a camera session fed by it.

The true time goes on; the wall clock is the true time plus an error the test sets (the
server's clock 40 days behind, then corrected); the steady clock counts the true seconds.
What `kustosz` reads from the wall clock while taking segments in (the segment files' mtimes,
`datetime.now` of the intake) is that shifted clock."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from kustosz.db.models import Source
from kustosz.ingest.camera.index_batch import index_of
from kustosz.ingest.camera.segments import ListedSegment
from kustosz.ingest.camera.spool import Session
from kustosz.vault import Vault
from tests.opaque import opaque_bytes

DAY = 86400.0


class ShiftedClock:
    def __init__(self, error_s: float = 0.0) -> None:
        self.true = datetime.now(UTC).timestamp()
        self.start = self.true
        self.error_s = error_s

    def wall(self) -> float:
        return self.true + self.error_s

    def steady(self) -> float:
        return self.true - self.start

    def advance(self, seconds: float) -> None:
        self.true += seconds

    def catch_up(self) -> None:
        """Let the true time pass up to the real clock's now. What the vault wrote meanwhile
        (accounts, audit entries) is stamped by the real clock; a watch started after it on a
        clock still at its creation would find the vault's newest time ahead of it — a clock
        behind — whenever setting up took longer than the threshold (a busy machine)."""
        self.true = max(self.true, datetime.now(UTC).timestamp())

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        clock = self

        class Now(datetime):
            @classmethod
            def now(cls, tz: object = None) -> datetime:  # type: ignore[override]
                return datetime.fromtimestamp(clock.wall(), tz or UTC)  # type: ignore[arg-type]

        monkeypatch.setattr("kustosz.ingest.files.datetime", Now)


def camera_source(vault: Vault, name: str = "hol") -> int:
    with vault.transaction() as s:
        src = Source(name=name, kind="camera", created_at=datetime.now(UTC))
        s.add(src)
        s.flush()
        return src.id


class Camera:
    """One ffmpeg session's worth of segments, closed by the shifted clock."""

    def __init__(self, vault: Vault, source_id: int, clock: ShiftedClock, name: str) -> None:
        folder = vault.root / "spool" / "cameras" / str(source_id) / name
        folder.mkdir(parents=True)
        self.clock, self.stream, self.count = clock, 0.0, 0
        self.session = Session(vault, source_id, name, folder)
        # One camera's segments taken one at a time, each awaited: the shared batch's window
        # (up to 1 s for other cameras' segments to join it) would only make every take wait.
        # The batches themselves are tested in tests/cameras/test_segment_batches.py.
        index_of(vault).window_s = 0.0
        self.waiting: list[tuple[ListedSegment, float]] = []  # closed, not yet taken

    def record(self, seconds: float) -> tuple[ListedSegment, float]:
        """A segment of ``seconds`` closes now; returns it with its true start."""
        true_start = self.clock.true
        self.clock.advance(seconds)
        name = f"seg{self.count:08d}.ts"
        self.count += 1
        path = self.session.folder / name
        path.write_bytes(opaque_bytes(str(path), 376))
        os.utime(path, (self.clock.wall(), self.clock.wall()))  # ffmpeg closes it: mtime
        seg = ListedSegment(name, self.stream, self.stream + seconds)
        self.stream += seconds
        self.waiting.append((seg, true_start))
        return seg, true_start

    def take(self) -> list[tuple[int, float]]:
        """The recorder's poll: every closed segment in; (recording id, true start) each."""
        from sqlalchemy import select

        from kustosz.db.models import Recording

        out = []
        for seg, true_start in self.waiting:
            assert self.session.take(seg) is not None
            with self.session.vault.reading() as s:
                rid = s.execute(select(Recording.id).where(
                    Recording.meta["segment"].as_string() == seg.name,
                    Recording.meta["session"].as_string() == self.session.name)).scalar_one()
            out.append((rid, true_start))
        self.waiting = []
        return out




def freeze(monkeypatch: pytest.MonkeyPatch, at: datetime, *modules: str) -> None:
    """`datetime.now` in each of ``modules`` reads ``at`` (a day a test must pass on: the
    1st, the 31st, 29 February, the night summer time ends), as ShiftedClock.install does
    for the intake; the rest of the program keeps the real clock."""

    class Now(datetime):
        @classmethod
        def now(cls, tz: object = None) -> datetime:  # type: ignore[override]
            return at.astimezone(tz or UTC)  # type: ignore[arg-type]

    for module in modules:
        monkeypatch.setattr(f"{module}.datetime", Now)
