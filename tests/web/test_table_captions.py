"""Issue 50 item 6: every table names itself (WCAG 1.3.1, technique H39): its first child is
a <caption>, visible or for screen readers only, so a table read out of its page — a
screen reader's list of tables — says what it holds."""

from __future__ import annotations

import re
from importlib import resources

TABLE = re.compile(r"<table\b[^>]*>\s*(\{%[^%]*%\}\s*)*(<[a-z]+)")


def test_every_table_in_the_templates_has_a_caption_first() -> None:
    folder = resources.files("kustosz.web") / "templates"
    seen, missing = 0, []
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if not item.name.endswith(".html"):
            continue
        for m in TABLE.finditer(item.read_text("utf-8")):
            seen += 1
            if m.group(2) != "<caption":
                missing.append(f"{item.name}: {m.group(0)[:60]}")
    assert seen >= 20
    assert missing == []
