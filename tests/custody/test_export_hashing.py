"""A camera's copy MP4 hashed while ffmpeg writes it (issue 18 item 4): the manifest's SHA-256
of every file is the file's, the MP4 is not read again to hash it, the segments are checked
against the index while the remux runs (a forged one still refuses the copy), and the
fragmented MP4 that comes out has its duration and plays and seeks in Chromium."""

from __future__ import annotations

import hashlib
import json
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import av
import pytest
from custody_helpers import people, record, segment_bytes, setup_camera
from tests.office_day import office_today

from kustosz.custody import bundles, copies
from kustosz.custody.bundles import verify_bundle
from kustosz.custody.decisions import decide
from kustosz.custody.requests import RequestSpec, register_request
from kustosz.errors import KustoszError
from kustosz.storage.base import Tampered
from kustosz.vault import Vault

TZ = ZoneInfo("Europe/Warsaw")
CHROMIUM = Path("/usr/bin/chromium")
SEGMENTS = 6  # of 2 s, 10 fps (custody_helpers)


def _copy_of_six_segments(vault: Vault, tmp: Path) -> Path:
    setup_camera(vault)
    people(vault)
    day = office_today() - timedelta(days=2)
    start = datetime(day.year, day.month, day.day, 12, 0, tzinfo=TZ).astimezone(UTC)
    record(vault, "cam-hol", start, SEGMENTS, tmp / "segs")
    spec = RequestSpec(
        kind="internal", material="video", requester="Sekretarz Gminy",
        received_on=office_today(), event_date=start.astimezone(TZ).date(),
        purpose="postępowanie wyjaśniające", description="zdarzenie przy wejściu",
        cameras=["cam-hol"], start=start, end=start + timedelta(seconds=2 * SEGMENTS),
        margin_minutes=0)
    with vault.transaction() as s:
        rid = register_request(s, vault.policy, spec, "test").id
        decide(s, vault.policy, rid, by="burmistrz", agree=True, on=office_today(),
               actor="test", keyed_by="burmistrz")
    copy = copies.make_copy(vault, rid, "informatyk", "test")
    return vault.root / copy.bundle


def _boxes(path: Path) -> list[str]:
    """The MP4's top-level boxes, in order."""
    names, data, at = [], path.read_bytes(), 0
    while at < len(data):
        size, kind = struct.unpack(">I4s", data[at:at + 8])
        if size == 1:
            size = struct.unpack(">Q", data[at + 8:at + 16])[0]
        assert size >= 8, f"box {kind!r} at {at} has size {size}"
        names.append(kind.decode("latin-1"))
        at += size
    assert at == len(data)
    return names


def test_the_manifest_hashes_are_the_files_and_the_mp4_is_not_read_again(
        sqlite_vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hashed_after: list[Path] = []
    real = bundles.sha256_file

    def counted(path: Path) -> str:
        hashed_after.append(path)
        return real(path)

    monkeypatch.setattr(bundles, "sha256_file", counted)
    bundle = _copy_of_six_segments(sqlite_vault, tmp_path)
    monkeypatch.undo()

    manifest = json.loads((bundle / "manifest.json").read_text("utf-8"))
    listed = {f["path"]: f for f in manifest["files"]}
    [media] = manifest["media"]
    assert media["path"].endswith(".mp4") and media["path"] in listed
    for rel, entry in listed.items():
        data = (bundle / rel).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest(), rel
        assert entry["size"] == len(data), rel
    assert verify_bundle(bundle).ok
    # Hashed while written: the 1.8 GB of an hour are not read a second time.
    assert not [p for p in hashed_after if p.suffix == ".mp4"], hashed_after

    mp4 = bundle / media["path"]
    boxes = _boxes(mp4)
    assert boxes[:2] == ["ftyp", "moov"] and boxes[-1] == "mfra" and "moof" in boxes
    with av.open(str(mp4)) as c:
        assert c.duration / av.time_base == pytest.approx(2 * SEGMENTS, abs=0.15)
        assert [s.type for s in c.streams] == ["video"]
        frames = sum(1 for _ in c.decode(video=0))
    assert frames == SEGMENTS * 20


def _fake_recordings(paths: list[Path]) -> list[SimpleNamespace]:
    return [SimpleNamespace(storage_key=f"cam-hol/{p.name}",
                            sha256=hashlib.sha256(segment_bytes()).hexdigest()) for p in paths]


def test_a_segment_not_the_indexs_refuses_the_remux_and_wins_over_ffmpegs_error(
        tmp_path: Path) -> None:
    paths = []
    for i in range(3):
        paths.append(tmp_path / f"s{i}.ts")
        paths[-1].write_bytes(segment_bytes())
    out = tmp_path / "kopia.mp4"
    digest = copies._remux_checked(paths, _fake_recordings(paths), out)  # type: ignore[arg-type]
    assert digest == hashlib.sha256(out.read_bytes()).hexdigest()
    out.unlink()

    # Garbage in place of the middle segment: ffmpeg fails on it, the refusal names it.
    paths[1].write_bytes(b"not a transport stream " * 1000)
    with pytest.raises(Tampered) as exc:
        copies._remux_checked(paths, _fake_recordings(paths), out)  # type: ignore[arg-type]
    assert exc.value.key == "cam-hol/s1.ts"
    assert not out.exists()

    # A valid stream that is not what the index hashed: ffmpeg is happy, the copy is not.
    paths[1].write_bytes(segment_bytes(1.0))
    with pytest.raises(Tampered):
        copies._remux_checked(paths, _fake_recordings(paths), out)  # type: ignore[arg-type]
    assert not out.exists()


def test_a_failed_remux_leaves_no_partial_file(tmp_path: Path) -> None:
    bad = tmp_path / "zly.ts"
    bad.write_bytes(b"\x00" * 10000)
    out = tmp_path / "kopia.mp4"
    with pytest.raises(KustoszError) as exc:
        copies.remux([bad], out)
    assert "ffmpeg" in str(exc.value) and exc.value.pl.startswith("Nie udało się połączyć")
    assert not out.exists()


def test_the_copys_mp4_plays_and_seeks_in_chromium(sqlite_vault: Vault,
                                                   tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (make test installs it when root)")
    sync_api = pytest.importorskip("playwright.sync_api")
    bundle = _copy_of_six_segments(sqlite_vault, tmp_path)
    [mp4] = (bundle / "media").glob("*.mp4")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.goto(mp4.as_uri())  # Chromium's own player for a media file
            page.wait_for_function("() => document.querySelector('video')?.readyState >= 1",
                                   timeout=20000)
            assert page.evaluate("() => document.querySelector('video').duration") == \
                pytest.approx(2 * SEGMENTS, abs=0.15)
            page.evaluate("""() => { const v = document.querySelector('video');
                v.muted = true; window.seeked = false;
                v.addEventListener('seeked', () => { window.seeked = true; });
                v.currentTime = 9.0; }""")
            page.wait_for_function("() => window.seeked", timeout=20000)
            state = page.evaluate("""() => { const v = document.querySelector('video');
                return [v.currentTime, v.error && v.error.code, v.videoWidth]; }""")
            assert state[0] == pytest.approx(9.0, abs=0.5) and state[1] is None
            assert state[2] == 320
            page.evaluate("() => document.querySelector('video').play()")
            page.wait_for_function("() => document.querySelector('video').ended",
                                   timeout=20000)
        finally:
            browser.close()
