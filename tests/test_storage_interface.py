"""The storage interface (issue 15 item 2): both implementations keep the same promises, and
no module outside `kustosz.storage` reaches the media folder by path."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from kustosz.errors import InputError
from kustosz.fsutil import replace, sync_tree, write_atomic
from kustosz.storage import LocalStorage, Storage, copy_out, read_line
from kustosz.storage.memory import MemoryStorage

SRC = Path(__file__).resolve().parents[1] / "src" / "kustosz"
# What building or handing out a media path looks like: the local store's path helpers and
# folders, the data folder joined with "media", or a folder joined with the backup layout's
# MEDIA (how the restore once wrote media into the folder it rebuilt; backup code names its
# own media files with `backup.layout.media_name` instead).
MEDIA_PATH = re.compile(
    r"""\.storage\.(path|fs_path|media|tmp|root)\b|\bfs_path\(|"""
    r"""root\s*/\s*["']media["']|join\([^)]*["']media["']|/\s*\(?[^,\n]*\bMEDIA\b""")
# Renames and fsyncs by hand: durability lives in kustosz.fsutil (and media go
# through the store), so that it is right in one place.
BY_HAND = re.compile(r"""\bos\.(replace|rename|fsync)\(|\.rename\(""")
# What may still do it, and why.
BY_HAND_ALLOWED = {
    "ingest/chunks/spool.py": "the extent file of an open chunk: its folder is fsynced with the "
                              "chunk's next group commit (dir_dirty), not at once",
    "ingest/mail/intake.py": "a staged .eml moved into the open chunk, fsynced already; its "
                             "folder is fsynced with the chunk's next group commit (dir_dirty)",
}


def _lines_outside_storage() -> Iterator[tuple[str, int, str]]:
    for path in sorted(SRC.rglob("*.py")):
        # the store, and fsutil: the one place durability is written by hand
        if path.is_relative_to(SRC / "storage") or path == SRC / "fsutil.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            yield path.relative_to(SRC).as_posix(), number, line


def test_no_module_outside_storage_builds_a_media_path() -> None:
    found = []
    for rel, number, line in _lines_outside_storage():
        # The local store is made in storage.data_folder_store (the vault's, a restore's
        # target); anyone making a LocalStorage of their own would hold its path helpers.
        if MEDIA_PATH.search(line) or "LocalStorage(" in line:
            found.append(f"{rel}:{number}: {line.strip()}")
    assert found == [], "media reached by path outside kustosz.storage:\n" + "\n".join(found)


def test_no_module_outside_storage_renames_or_fsyncs_by_hand() -> None:
    found = [f"{rel}:{number}: {line.strip()}" for rel, number, line in _lines_outside_storage()
             if BY_HAND.search(line.split("#", 1)[0]) and rel not in BY_HAND_ALLOWED]
    assert found == [], ("rename or fsync by hand outside kustosz.storage (use "
                         "kustosz.fsutil, or the store for media):\n" + "\n".join(found))


def test_the_grep_sees_what_it_forbids() -> None:
    for line in ('x = vault.storage.path(rec.storage_key)', 'ctx.vault.storage.tmp',
                 'p = vault.root / "media" / key', "os.path.join(root, 'media', key)",
                 "store.fs_path(key)",
                 # how backup/restore.py wrote restored media into the folder it rebuilt
                 "target = staging / (rel if rel.startswith(MEDIA) else rel[len(FILES) + 1:])",
                 "private_dir(staging / MEDIA)", 'dest = staging / f"{MEDIA}/{key}"'):
        assert MEDIA_PATH.search(line), line
    for line in ('media_dir = work / "media"', 'vault.storage.open(key)',
                 'rel = f"media/{name}.mp4"', 'return f"{MEDIA}/{key}"',
                 '_take(src, dest, media_name(key), sha, base, known,'):
        assert not MEDIA_PATH.search(line), line
    for line in ("os.replace(staging, data)", "os.replace(tmp_out, out)", "os.fsync(fd)",
                 "tmp.rename(final)", "os.rename(a, b)"):
        assert BY_HAND.search(line), line
    for line in ("replace(work, final, sync_source=False)", "fsync_file(f)",
                 'text.replace(secret, "***")', "durable.replace(tmp, out)"):
        assert not BY_HAND.search(line), line


@pytest.fixture(params=["local", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    made: Storage = LocalStorage(tmp_path / "data") if request.param == "local" \
        else MemoryStorage(tmp_path / "scratch")
    made.prepare()
    yield made


def test_put_open_stat_iterate_delete(store: Storage, tmp_path: Path) -> None:
    assert isinstance(store, Storage)
    got = store.put("cam/2026/a.ts", io.BytesIO(b"0123456789"))
    assert (got.key, got.size) == ("cam/2026/a.ts", 10)
    assert got.sha256 == "84d89877f0d4041efb6bf91a16f0248f2fd573e6af05c19f96bedb9f882f7882"
    with store.open("cam/2026/a.ts") as f:
        assert f.read() == b"0123456789"
    with store.open("cam/2026/a.ts", 3, 4) as f:  # a range
        assert f.read() == b"3456"
    with store.open("cam/2026/a.ts", 8) as f:
        assert f.read() == b"89"
    assert store.stat("cam/2026/a.ts").size == 10
    assert store.checksum("cam/2026/a.ts") == got
    assert store.hash_of("cam/2026/a.ts") == got.sha256

    finished = tmp_path / "segment.ts"
    finished.write_bytes(b"whole")
    moved = store.put("cam/2026/b.ts", finished, move=True)
    assert moved.size == 5 and not finished.exists()  # taken over, no second copy
    kept = tmp_path / "kept.ts"
    kept.write_bytes(b"copy me")
    store.put("other/c.ts", kept)
    assert kept.exists()

    assert sorted(store.iterate()) == ["cam/2026/a.ts", "cam/2026/b.ts", "other/c.ts"]
    assert sorted(store.iterate("cam/")) == ["cam/2026/a.ts", "cam/2026/b.ts"]
    with store.local_path("cam/2026/b.ts") as path:
        assert path.read_bytes() == b"whole" and path.suffix == ".ts"
    assert copy_out(store, "other/c.ts", tmp_path / "out") == 7
    assert (tmp_path / "out").read_bytes() == b"copy me"

    assert store.delete("cam/2026/a.ts") and not store.delete("cam/2026/a.ts")
    assert not store.exists("cam/2026/a.ts")
    store.delete_many(["cam/2026/b.ts", "missing/x"])
    assert list(store.iterate()) == ["other/c.ts"]


def test_read_line_reads_one_line_of_a_chunk(store: Storage) -> None:
    store.put("siem/day.jsonl", io.BytesIO(b'{"a": 1}\n{"b": 2}\n'))
    assert read_line(store, "siem/day.jsonl", 2) == b'{"b": 2}'
    assert read_line(store, "siem/day.jsonl", 3) is None


def test_an_open_stream_outlives_a_delete(store: Storage) -> None:
    """A media route opens the content inside its transaction and sends it afterwards."""
    store.put("k/x", io.BytesIO(b"abc"))
    with store.open("k/x") as f:
        store.delete("k/x")
        assert f.read() == b"abc"


@pytest.mark.parametrize("key", ["", "/abs", "a/../b", "a//b", "./a", "a\\b", "a/.."])
def test_bad_keys_are_refused_and_nothing_is_written(store: Storage, key: str) -> None:
    with pytest.raises(InputError) as exc:
        store.put(key, io.BytesIO(b"x"))
    assert exc.value.pl
    with pytest.raises(InputError):
        store.open(key)
    assert list(store.iterate()) == []


def test_an_existing_key_is_not_overwritten(store: Storage, tmp_path: Path) -> None:
    store.put("k/x", io.BytesIO(b"first"))
    with pytest.raises(InputError):
        store.put("k/x", io.BytesIO(b"second"))
    finished = tmp_path / "f"
    finished.write_bytes(b"second")
    with pytest.raises(InputError):
        store.put("k/x", finished, move=True)
    assert finished.exists()
    with store.open("k/x") as f:
        assert f.read() == b"first"


def test_missing_keys(store: Storage) -> None:
    for call in (lambda: store.open("no/such"), lambda: store.stat("no/such"),
                 lambda: store.checksum("no/such")):
        with pytest.raises(FileNotFoundError):
            call()
    with pytest.raises(FileNotFoundError), store.local_path("no/such"):
        pass


def test_write_atomic_replaces_whole_and_private(tmp_path: Path) -> None:
    head = tmp_path / "audit.head"
    write_atomic(head, "1 aa\n")
    write_atomic(head, "2 bb\n")
    assert head.read_text() == "2 bb\n"
    assert head.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["audit.head"]  # no temporary left


def test_a_folder_built_in_scratch_is_flushed_and_moved_whole(tmp_path: Path) -> None:
    """What a copy bundle goes through before its row commits."""
    work = tmp_path / ".build-x"
    (work / "media").mkdir(parents=True)
    (work / "media" / "a.mp4").write_bytes(b"video")
    (work / "manifest.json").write_text("{}")
    sync_tree(work)
    final = tmp_path / "2026" / "0001"
    final.parent.mkdir()
    replace(work, final, sync_source=False)
    assert not work.exists()
    assert (final / "media" / "a.mp4").read_bytes() == b"video"
    assert (final / "manifest.json").read_text() == "{}"
