"""The size budget's measure (issue 32 item 6) names what is long and only that."""

from __future__ import annotations

from pathlib import Path

from tests.support.size_budget import FUNCTION_LINES, MODULE_LINES, over_budget, report


def test_the_budget_names_long_modules_and_functions_only(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    root.mkdir()
    body = "\n".join(f"    x{i} = {i}" for i in range(FUNCTION_LINES))
    (root / "long_fn.py").write_text(f"def long() -> None:\n{body}\n\n\ndef short() -> None:\n"
                                     "    pass\n")
    (root / "long_mod.py").write_text("\n".join(f"y{i} = {i}" for i in range(MODULE_LINES + 1)))
    (root / "small.py").write_text("z = 1\n")
    modules, functions = over_budget(root)
    assert [m for m, _ in modules] == ["pkg/long_mod.py"]
    assert functions == [("pkg/long_fn.py:1 long", FUNCTION_LINES + 1)]
    assert report(root)[0].startswith("size budget (a reminder, not a gate): 1 module(s)")
