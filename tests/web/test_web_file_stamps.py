"""Integrity proven once (issue 68 item 1): a stored segment is hashed against the index by
the first request that serves it, which records its stamp (device, inode, size, mtime,
ctime: kustosz.storage.proof); later requests serve it on that stamp without hashing it.

Attacked: a stored file changed after it was proven is refused as tampered when it is next
served, however it was changed through the file system — a byte written in place with its
mtime set back, the file replaced under its key, its size kept. A change the stamp cannot
see (below the file system: simulated by a stamp that still matches the changed file) is
served until the scheduled check hashes every file again: that check marks the recording
missing, names it in the audit log and raises `storage_missing_versions` in Polish, and
playback refuses it from then on."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.conftest import Cli
from web_helpers import Material, playback_of

from kustosz.alerts.checks import Checks
from kustosz.db.access import AccessEntry
from kustosz.db.models import Alert, AuditEntry, Recording
from kustosz.states import AlertRow, RecordingState
from kustosz.storage.proof import WRITE_BITS, stamp_of
from kustosz.web import media_streams as media


def _hashes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The keys playback hashes from now on."""
    seen: list[str] = []
    real = media.check_content

    def counted(key: str, *a: Any) -> None:
        seen.append(key)
        real(key, *a)

    monkeypatch.setattr(media, "check_content", counted)
    return seen


def _row(m: Material, rec: Recording) -> Recording:
    with m.vault.reading() as s:
        row = s.get(Recording, rec.id)
        assert row is not None
        s.expunge(row)
        return row


def _count(m: Material, model: Any, *where: Any) -> int:
    with m.vault.reading() as s:
        return int(s.execute(select(func.count()).select_from(model).where(*where))
                   .scalar_one())


def test_a_segment_is_hashed_once_then_served_on_its_stamp(
        material: Material, monkeypatch: pytest.MonkeyPatch) -> None:
    m = material
    c, token, _ = playback_of(m)
    rec = m.old[0]
    path = m.vault.storage.path(rec.storage_key)
    assert _row(m, rec).file_stamp is None  # stored by ingest_file: not proven for serving
    hashed = _hashes(monkeypatch)
    for _ in range(3):
        r = c.get(f"/media/{token}/segment/{rec.id}.ts")
        assert r.status_code == 200 and r.content == path.read_bytes()
    assert hashed == [rec.storage_key]  # the first request only
    assert _row(m, rec).file_stamp == stamp_of(os.stat(path))
    assert _count(m, AccessEntry, AccessEntry.recording_id == rec.id) == 3


def test_stored_files_are_read_only(material: Material) -> None:
    for rec in (*material.old, material.live, material.call):
        mode = os.stat(material.vault.storage.path(rec.storage_key)).st_mode
        assert not stat.S_IMODE(mode) & WRITE_BITS, (rec.storage_key, oct(mode))


def _flip_in_place(path: Path, at: int) -> None:
    """One byte changed where it lies, its mtime set back: only ctime tells."""
    before = os.stat(path)
    path.chmod(0o600)
    with path.open("r+b") as f:
        f.seek(at)
        old = f.read(1)
        f.seek(at)
        f.write(bytes([old[0] ^ 0xFF]))
    path.chmod(stat.S_IMODE(before.st_mode))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def _replace(path: Path, at: int) -> None:
    """Another file of the same size put under the key, the old mtime given to it."""
    before = os.stat(path)
    data = bytearray(path.read_bytes())
    data[at] ^= 0xFF
    other = path.with_suffix(".new")
    other.write_bytes(bytes(data))
    os.utime(other, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(other, path)


CHANGES: dict[str, Callable[[Path, int], None]] = {"in place": _flip_in_place,
                                                   "replaced": _replace}


@pytest.mark.parametrize("where", [0.0, 0.999])
@pytest.mark.parametrize("how", sorted(CHANGES))
def test_a_file_changed_after_it_was_proven_is_refused_when_served(
        sqlite_material: Material, how: str, where: float) -> None:
    m = sqlite_material
    c, token, _ = playback_of(m)
    rec = m.old[1]
    path = m.vault.storage.path(rec.storage_key)
    assert c.get(f"/media/{token}/segment/{rec.id}.ts").status_code == 200
    assert _row(m, rec).file_stamp is not None  # proven, stamped
    CHANGES[how](path, int(where * (rec.size - 1)))
    served = _count(m, AccessEntry)
    tampered = _count(m, AuditEntry, AuditEntry.action == "media.tampered")
    r = c.get(f"/media/{token}/segment/{rec.id}.ts")
    assert r.status_code == 409, r.text
    assert "nie zgadza się z indeksem" in r.json()["detail_pl"]
    assert _count(m, AccessEntry) == served  # no byte, no record
    assert _count(m, AuditEntry, AuditEntry.action == "media.tampered") == tampered + 1


def test_a_change_below_the_file_system_is_found_by_the_scheduled_check(
        material: Material) -> None:
    m = material
    c, token, _ = playback_of(m)
    rec = m.old[0]
    path = m.vault.storage.path(rec.storage_key)
    assert c.get(f"/media/{token}/segment/{rec.id}.ts").status_code == 200
    # bit rot: the content changes, and the stamp the row holds is still what the file shows
    _flip_in_place(path, rec.size // 2)
    with m.vault.transaction() as s:
        row = s.get(Recording, rec.id)
        assert row is not None
        row.file_stamp = stamp_of(os.stat(path))
    assert c.get(f"/media/{token}/segment/{rec.id}.ts").status_code == 200  # not seen here
    Checks(m.vault).storage_if_due(datetime.now(UTC), in_thread=False)
    row = _row(m, rec)
    assert row.state == RecordingState.MISSING and row.file_stamp is None
    with m.vault.reading() as s:
        [missing] = s.execute(select(AuditEntry).where(
            AuditEntry.action == "storage.missing")).scalars().all()
        alert = s.execute(select(Alert).where(
            Alert.kind == AlertRow.STORAGE_MISSING_VERSIONS, Alert.cleared_at.is_(None))
        ).scalar_one()
    assert rec.id in json.loads(missing.details)["recordings"]
    assert "zawartość różni się od zapisanej przy przyjęciu" in alert.message
    assert f"{rec.storage_key} — zmieniony" in alert.message
    # and playback refuses it from then on; the other segments still play
    assert c.get(f"/media/{token}/segment/{rec.id}.ts").status_code == 403
    assert c.get(f"/media/{token}/segment/{m.old[1].id}.ts").status_code == 200


def test_storage_check_by_hand_hashes_every_file_of_the_folder(material: Material) -> None:
    m = material
    cli = Cli(m.vault.root)
    clean = json.loads(cli("storage", "check", "--json").output)
    assert clean["missing_count"] == 0 and clean["checked"] >= 5
    rec = m.call
    path = m.vault.storage.path(rec.storage_key)
    path.chmod(0o600)
    path.write_bytes(path.read_bytes()[:-1] + b"\x00")
    found = cli("storage", "check", ok=False).output
    assert f"{rec.storage_key} — zmieniony" in found and "changed (SHA-256" in found
    assert _row(m, rec).state == RecordingState.MISSING
