"""Issue 31 item 4: the first day per role, in Polish, with screenshots of the real app
(docs/guides/). Light checks only — the screenshots are made by docs/guides/screenshots.py,
run by hand, because walking every role in a browser is too slow for the suite: every role
has its page and the index links it, every image a page shows is there (a PNG, small), no
image lies unused, each page ends with its English summary, and the demo accounts the index
lists are the ones `kustosz demo` makes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kustosz.access.users import ROLES
from kustosz.cli.demo import demo_people
from kustosz.policy import load_policy

GUIDES = Path(__file__).resolve().parent.parent / "docs" / "guides"
# role page -> the program's roles the guide is about (issue 31: administrator, head of office,
# secretariat, DPO, viewer, commission)
PAGES = {
    "administrator.md": {"administrator"},
    "kierownik.md": {"approver"},
    "sekretariat.md": {"custodian"},
    "iod.md": {"dpo"},
    "przegladajacy.md": {"viewer", "operator"},
    "komisja.md": {"commission"},
}
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)")
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s#]+)")
MAX_BYTES = 200_000


def _text(name: str) -> str:
    return (GUIDES / name).read_text(encoding="utf-8")


def test_every_role_has_a_guide_linked_from_the_index() -> None:
    assert {r for roles in PAGES.values() for r in roles} <= set(ROLES)
    linked = set(LINK.findall(_text("index.md")))
    for page in PAGES:
        assert (GUIDES / page).is_file(), page
        assert page in linked, f"index.md does not link {page}"


@pytest.mark.parametrize("page", ["index.md", *PAGES])
def test_each_page_ends_with_its_english_summary(page: str) -> None:
    text = _text(page)
    assert text.startswith("# "), page
    tail = text.rsplit("\n---\n", 1)
    assert len(tail) == 2 and tail[1].lstrip().startswith("**English summary.**"), page


def test_every_image_shown_is_there_small_and_used() -> None:
    shown: set[Path] = set()
    for page in sorted(GUIDES.glob("*.md")):
        images = IMAGE.findall(page.read_text(encoding="utf-8"))
        if page.name in PAGES:
            assert images, f"{page.name} shows no screenshot"
        for ref in images:
            path = (GUIDES / ref).resolve()
            assert path.is_file(), f"{page.name}: {ref} is missing"
            assert path.parent == GUIDES / "img", f"{page.name}: {ref} not under img/"
            with path.open("rb") as f:
                assert f.read(8) == b"\x89PNG\r\n\x1a\n", f"{ref} is not a PNG"
            assert path.stat().st_size <= MAX_BYTES, f"{ref}: {path.stat().st_size} bytes"
            shown.add(path)
    unused = sorted(p.name for p in (GUIDES / "img").glob("*.png") if p.resolve() not in shown)
    assert not unused, f"screenshots no page shows: {unused}"


def test_the_demo_accounts_the_index_lists_are_the_demos() -> None:
    people = demo_people(load_policy("pleszew"))
    table = [line for line in _text("index.md").splitlines() if line.startswith("| `")]
    assert table
    for row in table:
        logins = re.findall(r"`([a-z0-9]+)`", row.split("|")[1])
        for login in logins:
            assert login in people, f"index.md lists {login}, which the demo does not make"
            name = people[login][0]
            assert name in row, f"{login} is {name} in the demo"
