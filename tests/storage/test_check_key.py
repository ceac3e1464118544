"""`check_key` (storage/base.py): one regular expression instead of splitting every key (the
sweep checks each victim's key). The rule it must keep, written out as a key's parts: a key
is a relative path inside the store, with no empty, '.' or '..' part and no backslash."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kustosz.errors import InputError
from kustosz.storage.base import check_key, check_keys


def _allowed_by_parts(key: str) -> bool:
    return bool(key) and not key.startswith("/") and "\\" not in key and \
        not any(p in ("", ".", "..") for p in key.split("/"))


@given(st.text(alphabet=["a", "b", ".", "/", "\\", "\n", " ", "ł"], max_size=14))
def test_check_key_accepts_exactly_what_the_parts_rule_accepts(key: str) -> None:
    if _allowed_by_parts(key):
        assert check_key(key) == key
    else:
        with pytest.raises(InputError):
            check_key(key)


@pytest.mark.parametrize("key", ["", "/a", "a/", "a//b", ".", "..", "./a", "a/.", "a/../b",
                                 "a\\b", "a/\n/b/.."])
def test_check_key_refuses_paths_out_of_the_store(key: str) -> None:
    with pytest.raises(InputError, match="not a relative path"):
        check_key(key)


@pytest.mark.parametrize("key", ["a", "cam/2026/11/23/0001.ts", "a/..b/c", "...", "a/.b",
                                 "a/b.", "a/\n", "..\n", "x..y"])
def test_check_key_takes_names_with_dots_inside(key: str) -> None:
    assert check_key(key) == key


@given(st.lists(st.text(alphabet=["a", "ż", ".", "/", "\\", "\n", "😀"], max_size=8),
                max_size=6))
def test_check_keys_refuses_exactly_what_check_key_refuses_and_names_the_first(
        keys: list[str]) -> None:
    """The joined text's searches (issue 68 item 3) lose no bad key among many: the first
    one `check_key` refuses is the one named."""
    bad = [k for k in keys if not _allowed_by_parts(k)]
    if not bad:
        check_keys(keys)
        return
    with pytest.raises(InputError) as exc:
        check_keys(keys)
    assert repr(bad[0]) in str(exc.value)
