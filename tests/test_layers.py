"""The layers of docs/design.md, enforced (issue 32 item 1): the import-linter contracts in
pyproject.toml ([tool.importlinter]) hold over src/kustosz — every import, function-local ones
included, direct and indirect; only imports under `if TYPE_CHECKING:` are left out. A contract
that holds over anything would prove nothing, so the same contracts are run over a copy of
the source with an import that goes up a layer and one between sibling sources: both must be
refused, naming the import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(src: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run([str(LINT), "--no-cache", "--no-logo", str(REPO / "pyproject.toml")],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def test_the_layers_and_the_sources_independence_hold() -> None:
    done = _lint(REPO / "src")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "layers KEPT" in done.stdout
    assert "the sources do not know each other KEPT" in done.stdout


def test_an_import_up_a_layer_and_one_between_sources_are_refused(tmp_path: Path) -> None:
    shutil.copytree(REPO / "src" / "kustosz", tmp_path / "kustosz",
                    ignore=shutil.ignore_patterns("__pycache__"))
    leaf = tmp_path / "kustosz" / "words.py"  # the bottom layer reaching the web app
    leaf.write_text(leaf.read_text() + "\n\ndef _up() -> None:\n"
                    "    from kustosz.web import app  # noqa: F401\n")
    events = tmp_path / "kustosz" / "ingest" / "events" / "rules.py"  # events knowing mail
    events.write_text(events.read_text() + "\n\nimport kustosz.ingest.mail.parse  # noqa\n")
    done = _lint(tmp_path)
    assert done.returncode != 0
    assert "layers BROKEN" in done.stdout
    assert "kustosz.words -> kustosz.web" in done.stdout
    assert "the sources do not know each other BROKEN" in done.stdout
    assert "kustosz.ingest.events.rules -> kustosz.ingest.mail.parse" in done.stdout
