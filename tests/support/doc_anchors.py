"""Whether a docs anchor ("page.md#anchor", relative to docs/) exists: the registries'
tests (alert channels, event formats, source kinds) hold each registered kind to its docs."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"


def anchors(page: Path) -> set[str]:
    """The anchors of a docs page: explicit {#id} and the slug of each heading."""
    found: set[str] = set()
    for line in page.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            continue
        found.update(re.findall(r"\{#([\w-]+)\}", line))
        title = re.sub(r"\{#[\w-]+\}", "", line.lstrip("#")).strip().lower()
        found.add(re.sub(r"[\s]+", "-", re.sub(r"[^\w\s-]", "", title)))
    return found


def doc_missing(doc: str) -> str | None:
    page, _, anchor = doc.partition("#")
    path = DOCS / page
    if not path.is_file():
        return f"its docs page docs/{page} does not exist"
    if not anchor or anchor not in anchors(path):
        return f"docs/{page} has no anchor #{anchor}"
    return None
