"""Typed values inside Polish messages stand in Polish quotes „…”, never Python's '…' (issue 12
item 7, the review's finding 10): a `pl=` message (kustosz.errors) must not format a value
with !r."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kustosz.errors import ConfigError
from kustosz.policy.periods import Period

SRC = Path(__file__).resolve().parents[1] / "src" / "kustosz"
# Files still to be quoted (none: custody/requests.py was quoted by its helper).
PENDING: set[str] = set()


def _polish_lines(text: str) -> list[tuple[int, str]]:
    """Lines of `pl=` arguments (the line with pl= and its string continuation lines)."""
    out, inside = [], False
    for number, line in enumerate(text.split("\n"), 1):
        stripped = line.strip()
        if "pl=" in line:
            inside = True
        elif inside and not stripped.startswith(('f"', '"')):
            inside = False
        if inside:
            out.append((number, line))
    return out


def test_no_polish_message_quotes_a_value_with_repr() -> None:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if str(path.relative_to(SRC)) in PENDING:
            continue
        for number, line in _polish_lines(path.read_text(encoding="utf-8")):
            if re.search(r"![rs]\}", line):
                found.append(f"{path.relative_to(SRC)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)


def test_a_bad_period_is_named_in_polish_quotes() -> None:
    with pytest.raises(ConfigError) as caught:
        Period.parse("trzy tygodnie i dzień")
    assert caught.value.pl is not None
    assert "„trzy tygodnie i dzień”" in caught.value.pl and "'" not in caught.value.pl
