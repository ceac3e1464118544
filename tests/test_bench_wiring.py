"""The benchmarks reach into kustosz by name (a timing wrapper around the functions a copy
calls): when the code moves, the bench must fail here, in the suite, not only when someone
next runs it (bench/export.py failed for days after custody.copies was split)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _load(name: str) -> ModuleType:
    """The script as a module, its folder first on the path as when it runs (the benches
    import each other by bare name); the path and those bare names are put back after, so
    that no other test sees a top-level `calls` or `events`."""
    saved_path, saved_modules = list(sys.path), set(sys.modules)
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path[:] = saved_path
        for added in set(sys.modules) - saved_modules:
            if (BENCH / f"{added}.py").exists():
                del sys.modules[added]


def test_export_bench_wraps_functions_the_copy_really_calls() -> None:
    export = _load("export")
    with export.Parts() as parts:
        wrapped = list(parts._undo)
    assert {attr for _owner, attr, _fn in wrapped} >= {
        "remux", "_remux_piped", "segment_sha256", "sync_tree", "render", "seal"}
    for owner, attr, fn in wrapped:  # put back as it was
        assert getattr(owner, attr) is fn


@pytest.mark.parametrize("name", sorted(p.stem for p in BENCH.glob("*.py")))
def test_every_bench_imports(name: str) -> None:
    _load(name)
