"""Issue 51 item 3 (source kinds): the registry of material kinds (kustosz.kinds) is the one
place a kind is declared; each has its Polish and English names, a retention key the
policy's [retention] table takes, and its key documented in docs/policies.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from kustosz.kinds import KINDS, SourceKind
from kustosz.policy.model import KIND_PL, SOURCE_KINDS

POLICIES = (Path(__file__).resolve().parents[1] / "docs" / "policies.md").read_text("utf-8")


@pytest.mark.parametrize("kind", list(SourceKind))
def test_every_source_kind_has_its_names_retention_key_and_docs(kind: SourceKind) -> None:
    k = KINDS[kind]
    lacks = [what for what, ok in (
        ("a Polish name", bool(k.label_pl.strip())),
        ("an English name", bool(k.label_en.strip())),
        ("a retention key in the policy", k.retention_key in SOURCE_KINDS
         and KIND_PL.get(k.retention_key) == k.label_pl),
        ("its retention key in docs/policies.md", f"`{k.retention_key}`" in POLICIES
         or f"{k.retention_key} =" in POLICIES),
    ) if not ok]
    assert not lacks, f"the source kind {kind.value!r} lacks: " + ", ".join(lacks)
