"""The documents a clone has are the ones the code cites (issue 15 item 6): every requirement id
(R-id) cited in src/ and tests/ is defined in docs/requirements.md, every test docs/design.md
names for an invariant exists, and README.md and the docs' pages link only to files in the
repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CITED = re.compile(r"\bR[1-9][0-9]*(?:\.[0-9]+)?\b")
DEFINED = re.compile(r"^- \*\*(R[0-9]+\.[0-9]+)\*\*|^## (R[0-9]+) ", re.M)
TEST_REF = re.compile(r"`(tests/[\w/]+\.py)(?:::(\w+))?`")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def defined_ids() -> set[str]:
    text = (DOCS / "requirements.md").read_text("utf-8")
    return {a or b for a, b in DEFINED.findall(text)}


def cited_ids() -> dict[str, list[str]]:
    where: dict[str, list[str]] = {}
    for top in ("src", "tests"):
        for path in sorted((ROOT / top).rglob("*.py")):
            for rid in set(CITED.findall(path.read_text("utf-8", "replace"))):
                where.setdefault(rid, []).append(str(path.relative_to(ROOT)))
    return where


def test_requirements_define_the_ids_and_each_area() -> None:
    ids = defined_ids()
    assert {"R1", "R2", "R3", "R4", "R5", "R6", "R7"} <= ids
    assert {"R1.3", "R1.4", "R2.3", "R3.2", "R7.1"} <= ids


def test_every_cited_requirement_is_in_the_repository() -> None:
    cited = cited_ids()
    assert cited, "no R-id found: the search is broken"
    missing = {rid: files for rid, files in cited.items() if rid not in defined_ids()}
    assert not missing, f"cited but not in docs/requirements.md: {missing}"


def invariants_section() -> str:
    text = (DOCS / "design.md").read_text("utf-8")
    start = text.index("\n## Invariants")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def test_each_invariant_names_a_test() -> None:
    section = invariants_section()
    items = re.split(r"\n(?=[1-6]\. )", section)[1:]
    assert [item[0] for item in items] == list("123456")
    for item in items:
        assert TEST_REF.search(item), f"invariant {item[0]} names no test"


@pytest.mark.parametrize("ref", sorted(set(TEST_REF.findall(invariants_section()))))
def test_named_test_exists(ref: tuple[str, str]) -> None:
    path, name = ref
    assert (ROOT / path).is_file(), f"{path} does not exist"
    if name:
        source = (ROOT / path).read_text("utf-8")
        assert re.search(rf"^(?:def|class) {name}\b|^{name} = ", source, re.M), \
            f"{path} has no test {name}"


@pytest.mark.parametrize("doc", ["README.md", *sorted(
    str(p.relative_to(ROOT)) for p in DOCS.rglob("*.md"))])
def test_links_stay_inside_the_repository(doc: str) -> None:
    path = ROOT / doc
    for target in LINK.findall(path.read_text("utf-8")):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        local = (path.parent / target.split("#")[0]).resolve()
        assert local.is_relative_to(ROOT), f"{doc} links outside the repository: {target}"
        assert local.exists() or local in generated_pages(), \
            f"{doc} links to {target}, which a clone does not have"


def generated_pages() -> set[Path]:
    """The pages the site's hooks write at build time (docs/hooks/*.py, `PAGE = "…"`)."""
    return {(DOCS / m).resolve() for hook in (DOCS / "hooks").glob("*.py")
            for m in re.findall(r'^PAGE = "([^"]+)"', hook.read_text("utf-8"), re.M)}
