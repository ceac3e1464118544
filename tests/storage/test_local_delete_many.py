"""A local folder's `delete_many` (issue 68 item 3): the keys grouped by folder, each thread
taking whole folders and removing names relative to the folder's descriptor. What it must
still do: remove every file named, whatever its letters; pass over a missing file or folder;
and, where a folder cannot be entered, remove everything else and then say so."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kustosz.storage.local import LocalStorage

NAMES = ["kamera-Żółć", "wejście 😀", "cam01", "Łódź/piętro-2"]


def store_at(tmp: Path) -> LocalStorage:
    store = LocalStorage(tmp / "store")
    store.prepare()
    return store


def test_every_named_file_goes_across_folders_and_threads(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    keys = [f"{folder}/2026/11/29/{i:06d}-ab.ts" for folder in NAMES for i in range(100)]
    for key in keys:
        store.put(key, io.BytesIO(b"x"), durable=False)
    kept = "kamera-Żółć/2026/11/30/000000-ab.ts"
    store.put(kept, io.BytesIO(b"y"))
    store.delete_many([*keys, "nie-ma/2026/a.ts", "cam01/2026/11/29/brak.ts"], workers=4)
    assert list(store.iterate()) == [kept]


def test_a_folder_that_cannot_be_entered_is_raised_after_the_rest_went(
        tmp_path: Path) -> None:
    store = store_at(tmp_path)
    keys = [f"cam{c}/d/{i}.ts" for c in range(4) for i in range(100)]
    for key in keys:
        store.put(key, io.BytesIO(b"x"), durable=False)
    store.put("plik", io.BytesIO(b"z"))  # a file where the keys below want a folder
    with pytest.raises(NotADirectoryError):
        store.delete_many([*keys, *(f"plik/{i}.ts" for i in range(10))], workers=4)
    assert list(store.iterate()) == ["plik"]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(NAMES), st.integers(0, 3), st.booleans()),
                max_size=300))
def test_what_goes_is_exactly_what_was_named(picks: list[tuple[str, int, bool]]) -> None:
    """Property: after `delete_many(named)` the store holds exactly its files minus the named."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        store = store_at(Path(tmp))
        present = {f"{folder}/{n}.ts" for folder, n, _ in picks}
        for key in present:
            store.put(key, io.BytesIO(b"x"), durable=False)
        named = [f"{folder}/{n}.ts" for folder, n, go in picks if go]
        store.delete_many(named * 2, workers=3)  # a key twice: the second finds it gone
        assert set(store.iterate()) == present - set(named)


def test_a_name_that_cannot_be_removed_is_raised_after_its_folder_went(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    keys = [f"cam/d/{i}.ts" for i in range(10)]
    for key in keys:
        store.put(key, io.BytesIO(b"x"), durable=False)
    (store.media / "cam" / "d" / "katalog").mkdir()  # a folder where a file is named
    with pytest.raises(IsADirectoryError):
        store.delete_many(["cam/d/katalog", *keys])
    assert list(store.iterate()) == []
