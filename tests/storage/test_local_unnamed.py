"""The local store's write: an unnamed file linked under its key (O_TMPFILE), or, where the
file system cannot make one, the named temporary file and rename — the same promises."""

from __future__ import annotations

import hashlib
import io
import os
import stat
from pathlib import Path

import pytest

from kustosz.errors import InputError
from kustosz.storage import LocalStorage
from kustosz.storage.local import COPY_CHUNK


def _store(root: Path, unnamed: bool) -> LocalStorage:
    store = LocalStorage(root)
    store.prepare()
    if not unnamed:
        store._linkable = False
    return store


@pytest.fixture(params=[True, False], ids=["unnamed", "named"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> LocalStorage:
    s = _store(tmp_path / "vault", request.param)
    if request.param:
        assert s._unnamed(), "this file system makes unnamed files (Linux, ext4/tmpfs)"
    return s


@pytest.mark.parametrize("durable", [True, False])
@pytest.mark.parametrize("size", [0, 3200, 3 * COPY_CHUNK + 17])
def test_put_stores_the_bytes_and_their_hash(store: LocalStorage, tmp_path: Path,
                                             durable: bool, size: int) -> None:
    data = os.urandom(size)
    src = tmp_path / "in.wav"
    src.write_bytes(data)
    got = store.put("centrala/2026/11/23/a.wav", src, durable=durable)
    streamed = store.put("centrala/2026/11/24/b.wav", io.BytesIO(data), durable=durable)
    store.sync()
    for done, key in ((got, "centrala/2026/11/23/a.wav"), (streamed, "centrala/2026/11/24/b.wav")):
        assert (done.size, done.sha256) == (size, hashlib.sha256(data).hexdigest())
        with store.open(key) as f:
            assert f.read() == data
    assert list(store.tmp.iterdir()) == []  # nothing named left behind


def test_an_existing_key_is_refused_and_keeps_its_content(store: LocalStorage,
                                                          tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.write_bytes(b"the stored recording")
    second.write_bytes(b"someone else's bytes")
    store.put("c/x.wav", first, durable=False)
    with pytest.raises(InputError, match="already holds a file"):
        store.put("c/x.wav", second, durable=False)
    with pytest.raises(InputError, match="already holds a file"):
        store.put("c/x.wav", io.BytesIO(b"streamed over it"))
    with store.open("c/x.wav") as f:
        assert f.read() == b"the stored recording"
    assert list(store.tmp.iterdir()) == []


def test_a_key_climbing_out_is_refused(store: LocalStorage, tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.write_bytes(b"x")
    with pytest.raises(InputError):
        store.put("../outside.wav", src, durable=False)
    assert not (tmp_path / "vault" / "outside.wav").exists()


def test_files_are_the_service_s_alone(store: LocalStorage, tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.write_bytes(b"x" * 10)
    old = os.umask(0o077)  # what the service runs with (tests/test_data_at_rest.py)
    try:
        store.put("c/private.wav", src, durable=False)
        store.put("c/private2.wav", src)
    finally:
        os.umask(old)
    for key in ("c/private.wav", "c/private2.wav"):
        # the service's alone, and read-only once stored (issue 68: kustosz.storage.proof)
        assert stat.S_IMODE(os.stat(store.fs_path(key)).st_mode) == 0o400


def test_a_missing_source_stores_nothing(store: LocalStorage, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        store.put("c/gone.wav", tmp_path / "gone.wav", durable=False)
    assert not store.exists("c/gone.wav")
    assert list(store.tmp.iterdir()) == []
