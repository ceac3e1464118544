"""The conformance corpus (issue 47): every sample in tests/corpus was written by a third
party, and says where it came from. Each file is named (as `path` relative to the README) in
a README.md of its folder or of a folder above it inside tests/corpus, and each README names
the licence its samples come under; each interface's vendors are on the compatibility page
of the docs, the list an office checks before buying."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus"
PAGE = ROOT / "docs" / "compatibility.md"
# Files a replay test reads that are no sample of their own (the helpers' scaffolding).
NOT_SAMPLES = {"README.md", ".gitattributes"}


def samples() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name not in NOT_SAMPLES
                  and "__pycache__" not in p.parts)


def readmes_above(path: Path) -> list[Path]:
    found, folder = [], path.parent
    while folder == CORPUS or CORPUS in folder.parents:
        if (folder / "README.md").is_file():
            found.append(folder / "README.md")
        if folder == CORPUS:
            break
        folder = folder.parent
    return found


def test_the_corpus_is_there() -> None:
    interfaces = {p.relative_to(CORPUS).parts[0] for p in samples()}
    assert {"siprec", "onvif", "cdr"} <= interfaces, interfaces


@pytest.mark.parametrize("sample", samples(), ids=lambda p: str(p.relative_to(CORPUS)))
def test_each_sample_says_where_it_came_from(sample: Path) -> None:
    named = [r for r in readmes_above(sample)
             if f"`{sample.relative_to(r.parent).as_posix()}`" in r.read_text("utf-8")
             or f"`{sample.name}`" in r.read_text("utf-8")]
    assert named, f"{sample.relative_to(ROOT)} is named in no README.md above it"
    text = named[0].read_text("utf-8").lower()
    assert "licen" in text, f"{named[0].relative_to(ROOT)} names no licence"
    assert re.search(r"\b[0-9a-f]{40}\b|https?://", text), \
        f"{named[0].relative_to(ROOT)} names no commit or address"


def test_the_compatibility_page_lists_every_vendor() -> None:
    page = PAGE.read_text("utf-8")
    for interface in sorted(p for p in CORPUS.iterdir() if p.is_dir()):
        for vendor in sorted(p for p in interface.iterdir() if p.is_dir()):
            if vendor.name == "hostile":
                continue  # the hostile neighbours: not equipment anyone buys
            key = f"{interface.name}/{vendor.name}"
            assert f"`{key}`" in page, f"docs/compatibility.md does not list `{key}`"
