"""The attack of the issue-16 review: whoever holds the APPLICATION's S3 credentials cannot
delete recorded material, but can PUT a newer version under its key. Reads of material the
index describes name the index's version id, so playback, copies and checksums still get the
bytes hashed at intake; content that does not match the index (a row without a version id, as
stored before migration 0019) is refused — not served, not copied, not signed — and the
refusal is in the audit log. Real SeaweedFS on loopback, SQLite and PostgreSQL; the local
folder and the memory store keep their behaviour (they accept ``version``)."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.conftest import snapshot
from tests.custody.custody_helpers import segment_bytes
from tests.storage.conftest import Backend, S3Server
from tests.web.web_helpers import (
    Material,
    authorise,
    both_vault,
    client,
    csrf_of,
    make_material,
    session_for,
    user,
)

from kustosz.custody.copies import make_copy
from kustosz.custody.decisions import decide
from kustosz.custody.requests import RequestSpec, register_request
from kustosz.db.custody import ActionEntry, Copy
from kustosz.db.models import AuditEntry, Recording
from kustosz.storage.base import Tampered, copy_out, read_line
from kustosz.storage.s3 import S3Storage

FORGED = b"FORGED"


@pytest.fixture
def material(tmp_path: Path, backend_url: str, seaweed: S3Server) -> Iterator[Material]:
    """The web tests' material (segments, a call, a copy) stored in a SeaweedFS bucket with
    Object Lock through the application's credentials, as `kustosz serve` holds them."""
    vault = both_vault(tmp_path / "vault", backend_url)
    bucket = seaweed.make_bucket()
    store = seaweed.storage(bucket, vault.root / "tmp", deleting=False)
    store.prepare()
    vault.storage = store
    try:
        m = make_material(vault, tmp_path)
        m.bucket = bucket  # type: ignore[attr-defined]
        yield m
    finally:
        vault.close()


def forge(m: Material, seaweed: S3Server, rec: Recording) -> str:
    """The attack: a newer version under the recording's key, with the app's credentials."""
    app = seaweed.client(seaweed.app)
    got = app.put_object(Bucket=m.bucket, Key=rec.storage_key, Body=FORGED)  # type: ignore[attr-defined]
    assert got["VersionId"] != rec.version_id
    newest = app.get_object(Bucket=m.bucket, Key=rec.storage_key)["Body"].read()  # type: ignore[attr-defined]
    assert newest == FORGED  # the store serves the forgery to whoever does not name a version
    return str(got["VersionId"])


def forget_version(m: Material, rec: Recording) -> None:
    """A row as stored before the index kept version ids: reads get the newest version."""
    with m.vault.transaction() as s:
        s.execute(sa.update(Recording).where(Recording.id == rec.id).values(version_id=None))


def _start(m: Material, c, **form):  # type: ignore[no-untyped-def]
    return c.post("/media/start", data={"csrf": csrf_of(m.vault, c), **form})


def _local(m: Material, value: datetime) -> str:
    return value.astimezone(m.vault.policy.timezone).strftime("%Y-%m-%dT%H:%M:%S")


def _audit(m: Material, action: str) -> list[dict[str, object]]:
    with m.vault.reading() as s:
        rows = s.execute(sa.select(AuditEntry).where(AuditEntry.action == action)).scalars()
        return [json.loads(r.details) for r in rows]


def _playback(m: Material) -> tuple[object, str]:
    user(m.vault, "ola", ["viewer"], password=None)
    authorise(m.vault, "ola", ["playback", "listening"], sources=["cam-hol"], kinds=["phone"])
    c = client(m.vault)
    session_for(m.vault, c, "ola")
    r = _start(m, c, action="playback", source="cam-hol",
               **{"from": _local(m, m.window[0]), "to": _local(m, m.window[1])},
               purpose="wyjaśnienie kradzieży", case_ref="OR.123", witness="zastepca")
    assert r.status_code == 303, r.text
    return c, r.headers["location"].rsplit("/", 1)[1]


# -- playback ---------------------------------------------------------------------------------
def test_a_forged_newer_version_is_not_what_playback_serves(material: Material,
                                                            seaweed: S3Server) -> None:
    m = material
    seg = m.old[0]
    forge(m, seaweed, seg)
    c, token = _playback(m)
    got = c.get(f"/media/{token}/segment/{seg.id}.ts")  # type: ignore[attr-defined]
    assert got.status_code == 200
    assert got.content == segment_bytes() and hashlib.sha256(got.content).hexdigest() == seg.sha256


def test_a_forged_newer_version_is_not_what_listening_serves(material: Material,
                                                             seaweed: S3Server) -> None:
    m = material
    forge(m, seaweed, m.call)
    user(m.vault, "ola", ["viewer"], password=None)
    authorise(m.vault, "ola", ["listening"], kinds=["phone"])
    c = client(m.vault)
    session_for(m.vault, c, "ola")
    with m.vault.reading() as s:
        req_id = s.execute(sa.select(Copy.request_id)).scalar_one()
    r = _start(m, c, action="listening", recording=str(m.call.id), purpose="skarga klienta",
               case_ref="", request_id=str(req_id))
    assert r.status_code == 303, r.text
    audio = c.get(f"/media/{r.headers['location'].rsplit('/', 1)[1]}/audio")
    assert audio.status_code == 200 and audio.content[:4] == b"RIFF"
    assert hashlib.sha256(audio.content).hexdigest() == m.call.sha256


def test_a_segment_whose_content_differs_from_the_index_is_refused_and_audited(
        material: Material, seaweed: S3Server) -> None:
    """Without the version id (a row from before 0019) the newest — forged — version is
    read: the segment's hash check refuses it, says why in both languages, and audits it."""
    m = material
    seg = m.old[0]
    forge(m, seaweed, seg)
    forget_version(m, seg)
    c, token = _playback(m)
    got = c.get(f"/media/{token}/segment/{seg.id}.ts")  # type: ignore[attr-defined]
    assert got.status_code == 409 and FORGED not in got.content
    assert "does not match the index" in got.json()["detail"]
    assert "nie zgadza się z indeksem" in got.json()["detail_pl"]
    [entry] = _audit(m, "media.tampered")
    assert entry["sha256_index"] == seg.sha256
    assert entry["sha256_found"] == hashlib.sha256(FORGED).hexdigest()
    # the other segments still play
    assert c.get(f"/media/{token}/segment/{m.old[1].id}.ts").status_code == 200  # type: ignore[attr-defined]


# -- copies -----------------------------------------------------------------------------------
def _new_request(m: Material) -> int:
    tz = m.vault.policy.timezone
    now = datetime.now(UTC)
    base = m.old[0].start_at
    with m.vault.transaction() as s:
        req = register_request(s, m.vault.policy, RequestSpec(
            kind="authority", material="video", requester="Prokuratura Rejonowa w Pleszewie",
            received_on=now.astimezone(tz).date(), event_date=base.astimezone(tz).date(),
            purpose="postępowanie", description="kradzież", cameras=["cam-hol"],
            start=base, end=base + timedelta(seconds=30), margin_minutes=0), "test")
        req_id = req.id
    with m.vault.transaction() as s:
        decide(s, m.vault.policy, req_id, by="burmistrz", agree=True,
               on=now.astimezone(tz).date(), actor="test", keyed_by="burmistrz")
    return req_id


def test_a_forged_newer_version_is_not_what_a_copy_contains(material: Material,
                                                            seaweed: S3Server) -> None:
    from kustosz.custody.bundles import verify_bundle

    m = material
    for seg in m.old:
        forge(m, seaweed, seg)
    copy = make_copy(m.vault, _new_request(m), by="informatyk", actor="test")
    bundle = m.vault.root / copy.bundle
    assert verify_bundle(bundle).ok
    manifest = json.loads((bundle / "manifest.json").read_text())
    [media] = manifest["media"]
    assert media["recording_sha256"] == [r.sha256 for r in m.old]
    assert (bundle / media["path"]).stat().st_size > 10 * len(FORGED)  # remuxed video
    assert _audit(m, "copy.refused") == []


def test_a_copy_of_content_that_differs_from_the_index_is_refused_and_recorded(
        material: Material, seaweed: S3Server) -> None:
    m = material
    seg = m.old[1]
    forge(m, seaweed, seg)
    forget_version(m, seg)
    req_id = _new_request(m)
    copies_before = sorted(p.relative_to(m.vault.root) for p in
                           (m.vault.root / "copies").rglob("*"))
    before = snapshot(m.vault)["tables"]
    with pytest.raises(Tampered) as exc:
        make_copy(m.vault, req_id, by="informatyk", actor="test")
    assert "does not match the index" in str(exc.value)
    assert exc.value.pl and "nie zgadza się z indeksem" in exc.value.pl
    after = snapshot(m.vault)["tables"]
    assert after["custody_copies"] == before["custody_copies"]  # no copy made
    assert after["custody_requests"] == before["custody_requests"]  # still waiting for one
    assert sorted(p.relative_to(m.vault.root) for p in
                  (m.vault.root / "copies").rglob("*")) == copies_before
    [entry] = _audit(m, "copy.refused")
    assert entry["key"] == seg.storage_key and entry["sha256_index"] == seg.sha256
    with m.vault.reading() as s:
        action = s.execute(sa.select(ActionEntry).where(
            ActionEntry.kind == "copy.refused")).scalar_one()
    assert action.request_id == req_id and "Nie sporządzono kopii" in action.description


# -- the store ----------------------------------------------------------------------------------
def test_checksum_reports_the_original_of_a_forged_key(material: Material,
                                                       seaweed: S3Server) -> None:
    m = material
    seg = m.old[0]
    forged_version = forge(m, seaweed, seg)
    store = m.vault.storage
    assert isinstance(store, S3Storage)
    pinned = store.checksum(seg.storage_key, version=seg.version_id)
    assert (pinned.sha256, pinned.size, pinned.version_id) == (seg.sha256, seg.size,
                                                               seg.version_id)
    assert store.checksum(seg.storage_key).version_id == forged_version  # the newest is forged
    assert store.stat(seg.storage_key, version=seg.version_id).size == seg.size
    with store.local_path(seg.storage_key, version=seg.version_id) as path:
        assert path.read_bytes() == segment_bytes()
    with store.open(seg.storage_key, 0, 188, version=seg.version_id) as f:
        assert f.read() == segment_bytes()[:188]


def test_every_store_reads_by_version_and_copy_out_checks_the_hash(backend: Backend,
                                                                   tmp_path: Path) -> None:
    """The local folder and the memory store accept ``version`` (the memory store keeps one
    version a key and honours it); `copy_out` refuses content that differs from a hash and
    leaves no file; `read_line` reads the named version."""
    store = backend.store
    stored = store.put("mail/x/chunk.jsonl", io.BytesIO(b'{"a":1}\n{"b":2}\n'))
    version = stored.version_id
    with store.open(stored.key, version=version) as f:
        assert f.read() == b'{"a":1}\n{"b":2}\n'
    assert store.stat(stored.key, version=version).size == stored.size
    assert store.checksum(stored.key, version=version).sha256 == stored.sha256
    assert read_line(store, stored.key, 2, version) == b'{"b":2}'
    dest = tmp_path / "out.jsonl"
    assert copy_out(store, stored.key, dest, version=version, sha256=stored.sha256) == 16
    with pytest.raises(Tampered) as exc:
        copy_out(store, stored.key, tmp_path / "bad.jsonl", version=version, sha256="0" * 64)
    assert exc.value.pl and not (tmp_path / "bad.jsonl").exists()
    if backend.name == "local":
        assert version is None  # a folder keeps no versions; whatever is named is ignored
        with store.open(stored.key, version="any") as f:
            assert f.read(4) == b'{"a"'
    else:
        assert version
    if backend.name == "memory":
        with pytest.raises(FileNotFoundError):
            store.open(stored.key, version="0" * 32)


# -- backups ----------------------------------------------------------------------------------
def test_a_forged_newer_version_is_not_what_a_backup_keeps(material: Material,
                                                           seaweed: S3Server,
                                                           tmp_path: Path) -> None:
    from kustosz.backup.layout import media_name
    from kustosz.backup.snapshot import make_backup

    m = material
    seg = m.old[0]
    forge(m, seaweed, seg)
    report = make_backup(m.vault, tmp_path / "backup", "zielona-żaba-skacze-wysoko",
                         actor="test")
    assert report.problems == []
    assert (tmp_path / "backup" / media_name(seg.storage_key)).read_bytes() == segment_bytes()
