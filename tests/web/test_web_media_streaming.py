"""Media routes send stored content in chunks after the access record is committed (issue 15
item 2): while the body is being sent the record is already visible to others and the
database takes writes (SQLite's write lock is not held), and no read takes the whole file."""

from __future__ import annotations

from typing import Any, BinaryIO

import pytest
from sqlalchemy import func, select, update
from web_helpers import Material, playback_of

from kustosz.db.access import AccessEntry
from kustosz.db.models import Recording
from kustosz.web import media_recheck
from kustosz.web import media_streams as media


def test_segment_is_streamed_after_the_access_is_committed(
        material: Material, monkeypatch: pytest.MonkeyPatch) -> None:
    m = material
    c, token, _auth = playback_of(m)
    rec = m.old[0]
    with m.vault.storage.open(rec.storage_key) as f:
        content = f.read()
    seen: list[tuple[int, int]] = []  # (bytes asked for, access entries committed)
    real_open_segment = media.open_segment

    class Watched:
        def __init__(self, stream: BinaryIO) -> None:
            self.stream = stream

        def read(self, n: int = -1) -> bytes:
            with m.vault.reading() as s:  # another connection: only committed rows
                entries = s.execute(select(func.count()).select_from(AccessEntry).where(
                    AccessEntry.recording_id == rec.id)).scalar_one()
            with m.vault.transaction() as s:  # would wait for a lock the request still held
                s.execute(update(Recording).where(Recording.id == -1).values(size=0))
            seen.append((n, entries))
            return self.stream.read(n)

        def __enter__(self) -> Watched:
            return self

        def __exit__(self, *exc: Any) -> None:
            self.stream.close()

    def watched_segment(*a: Any, **kw: Any) -> tuple[Watched, int, str | None]:
        # the stream playback serves (opened once, proven, then read while it is sent)
        stream, size, proven = real_open_segment(*a, **kw)
        return Watched(stream), size, proven

    monkeypatch.setattr(media, "open_segment", watched_segment)
    monkeypatch.setattr(media_recheck, "CHUNK", 4096)
    seg = c.get(f"/media/{token}/segment/{rec.id}.ts")
    assert seg.status_code == 200 and seg.content == content
    assert seg.headers["content-length"] == str(len(content))
    assert len(seen) >= len(content) // 4096 > 1  # in chunks, not one read of the file
    assert all(n == 4096 for n, _ in seen) and all(e == 1 for _, e in seen)
    with m.vault.reading() as s:
        entry = s.execute(select(AccessEntry).where(AccessEntry.recording_id == rec.id)
                          ).scalar_one()
    assert entry.bytes == len(content)
