"""Issue 51 item 4: docs that tests keep. Every key of the configuration schema (the one
`kustosz config schema` prints) is named in docs/configuration.md or in the page its table's
row links to; every alert kind in docs/operations/alerts.md; every shipped preset and every key
of the preset files' schema (policy.schema.PolicyFile, its tables included) in docs/policies.md.
A key added without its docs fails here, naming it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from kustosz.alert_kinds import KINDS
from kustosz.config_schema import json_schema_text
from kustosz.policy.model import preset_names
from kustosz.policy.schema import keys as policy_keys

DOCS = Path(__file__).resolve().parents[1] / "docs"
ROW = re.compile(r"^\| `\[?([\w.]+)\]?`[^|]*\|[^|]*\|\s*(?:\[[^\]]*\]\(([^)]+)\))?", re.M)


def _keys(node: dict[str, Any], defs: dict[str, Any], path: tuple[str, ...] = (),
          seen: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    out: set[tuple[str, ...]] = set()
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return set() if name in seen else _keys(defs[name], defs, path, (*seen, name))
    for sub in (*node.get("anyOf", ()), *node.get("oneOf", ()), *node.get("allOf", ())):
        out |= _keys(sub, defs, path, seen)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        out |= _keys(extra, defs, (*path, "*"), seen)
    for key, sub in node.get("properties", {}).items():
        out.add((*path, key))
        out |= _keys(sub, defs, (*path, key), seen)
    return out


def _named(text: str, key: str) -> bool:
    return re.search(rf"(`{re.escape(key)}`|^\s*{re.escape(key)}\s*=|\[[\w.]*\b"
                     rf"{re.escape(key)}\b)", text, re.M) is not None


def test_every_configuration_key_is_in_the_docs() -> None:
    schema = json.loads(json_schema_text())
    main = (DOCS / "configuration.md").read_text()
    pages = {table: (DOCS / link).read_text() for table, link in ROW.findall(main) if link}
    missing = []
    for path in sorted(_keys(schema, schema.get("$defs", {}))):
        key = path[-1]
        if key == "*" or (len(path) > 2 and path[-2] == "kinds"):
            continue  # a table per alert kind: the kinds' own test below
        if not (_named(main, key) or _named(pages.get(path[0], ""), key)):
            missing.append(".".join(path))
    assert missing == [], f"keys of kustosz.toml no docs name: {missing}"


def test_every_alert_kind_is_in_the_alerts_page() -> None:
    page = (DOCS / "operations" / "alerts.md").read_text()
    assert [k for k in KINDS if f"`{k}`" not in page] == []


def test_every_shipped_preset_is_in_the_policies_page() -> None:
    page = (DOCS / "policies.md").read_text()
    names = preset_names()
    assert len(names) >= 5
    assert [n for n in names if f"`{n}`" not in page] == []


def test_every_policy_key_is_in_the_policies_page() -> None:
    page = (DOCS / "policies.md").read_text()
    keys = policy_keys()
    assert ("documents", "clause", "recipients") in keys  # the tables are walked
    assert [".".join(p) for p in keys if not _named(page, p[-1])] == []
