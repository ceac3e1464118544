"""HLS segments under load (issue 18 item 6): the segment is hashed and checked for sound outside
the write transaction, between a check in a read and the check again in the write that records
the access. What changed in between is judged by the write: a right revoked or a segment swept
while the file was being hashed is refused, and nothing is recorded as served. The sound
verdict kept for a content never spares the hash."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from web_helpers import Material, playback_of

from kustosz.db.access import AccessEntry, ViewingSession
from kustosz.db.models import AuditEntry, Recording
from kustosz.states import RecordingState
from kustosz.web import media_streams as media


def _viewing(m: Material) -> tuple[Any, str, int]:
    return playback_of(m)


def _served(m: Material) -> int:
    with m.vault.reading() as s:
        return int(s.execute(select(func.count()).select_from(AccessEntry)).scalar_one())


def _refusals(m: Material) -> int:
    with m.vault.reading() as s:
        return int(s.execute(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "access.refused")).scalar_one())


def _while_hashing(monkeypatch: pytest.MonkeyPatch, change: Any) -> list[Any]:
    """Run ``change`` once, while the request hashes the segment (after its read check)."""
    real = media.check_content
    done: list[Any] = []

    def hashed(*a: Any, **kw: Any) -> None:
        if not done:
            done.append(change())
        real(*a, **kw)

    monkeypatch.setattr(media, "check_content", hashed)
    return done


def test_every_segment_served_leaves_one_record(material: Material) -> None:
    m = material
    c, token, _ = _viewing(m)
    before = _served(m)
    fetches = [m.old[0], m.old[1], m.old[0], m.old[2], m.old[1]]
    for rec in fetches:
        seg = c.get(f"/media/{token}/segment/{rec.id}.ts")
        assert seg.status_code == 200
        assert seg.content == m.vault.storage.path(rec.storage_key).read_bytes()
    with m.vault.reading() as s:
        rows = list(s.execute(select(AccessEntry).order_by(AccessEntry.seq)).scalars())[before:]
        vs = s.execute(select(ViewingSession)).scalar_one()
    assert [r.recording_id for r in rows] == [r.id for r in fetches]
    assert vs.served == len(fetches)


def test_right_revoked_while_the_segment_is_hashed_is_refused(
        material: Material, monkeypatch: pytest.MonkeyPatch) -> None:
    m = material
    c, token, auth_id = _viewing(m)
    from kustosz.access.authorisations import revoke

    def revoked() -> None:
        with m.vault.transaction() as s:
            revoke(s, auth_id, "burmistrz", "zmiana stanowiska", "test")

    served, refusals = _served(m), _refusals(m)
    done = _while_hashing(monkeypatch, revoked)
    r = c.get(f"/media/{token}/segment/{m.old[0].id}.ts")
    assert done and r.status_code == 403, r.text
    assert r.json()["reason"] == "revoked"
    assert _served(m) == served and _refusals(m) == refusals + 1
    # and the next request is refused in the read, before anything is hashed
    assert c.get(f"/media/{token}/segment/{m.old[1].id}.ts").status_code == 403


def test_segment_swept_while_it_is_hashed_is_not_recorded_as_served(
        material: Material, monkeypatch: pytest.MonkeyPatch) -> None:
    m = material
    c, token, _ = _viewing(m)

    def claimed() -> None:  # the sweep's first step: the row is claimed before the unlink
        with m.vault.transaction() as s:
            row = s.get(Recording, m.old[0].id)
            assert row is not None
            row.state = RecordingState.DELETING

    served = _served(m)
    done = _while_hashing(monkeypatch, claimed)
    r = c.get(f"/media/{token}/segment/{m.old[0].id}.ts")
    assert done and r.status_code == 403
    assert _served(m) == served


def test_a_content_seen_without_sound_is_still_hashed_each_time(material: Material) -> None:
    m = material
    c, token, _ = _viewing(m)
    rec = m.old[0]
    with m.vault.transaction() as s:  # as an intake before `sound_checked` stored it
        row = s.get(Recording, rec.id)
        assert row is not None
        row.meta = {k: v for k, v in row.meta.items() if k != "sound_checked"}
    assert c.get(f"/media/{token}/segment/{rec.id}.ts").status_code == 200
    assert rec.sha256 in media._soundless  # its verdict is kept
    path = m.vault.storage.path(rec.storage_key)
    path.chmod(0o600)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    served = _served(m)
    r = c.get(f"/media/{token}/segment/{rec.id}.ts")
    assert r.status_code == 409, r.text
    assert _served(m) == served
    with m.vault.reading() as s:
        assert s.execute(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "media.tampered")).scalar_one() == 1
