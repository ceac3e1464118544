"""The warm-up collection before `make test`'s workers (tests/support/precollect.py)."""

from __future__ import annotations

from pathlib import Path

from tests.support.precollect import ROOT, halves, suite_modules


def test_the_parts_hold_every_test_module_once() -> None:
    files = suite_modules()
    assert Path(__file__).resolve() in files
    assert (ROOT / "tests" / "support" / "precollect.py") not in files
    for parts in (1, 2, 3, 5):
        dealt = halves(files, parts)
        assert len(dealt) == parts
        assert sorted(f for part in dealt for f in part) == files
        # each part gets its share of every folder: no part is all browser tests
        assert max(map(len, dealt)) - min(map(len, dealt)) <= 1


def test_no_files_no_parts() -> None:
    assert halves([], 2) == []
