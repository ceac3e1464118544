"""Issue 51 item 1: nothing in the code names a preset. Every office-specific text and rule is
a key of the office's preset file (src/kustosz/policy/presets/*.toml), so a sixth office says
the same things in its own file; the code knows no office by name — not in a branch, not in a
table keyed by preset, not in a comment (a seed is cited by its number: "002 §5")."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The five shipped offices' preset names and their towns as Polish writes them, and the seven
# real regulations written as preset files alone (docs/examples/presets).
NAMES = (r"elblag|elbląg|elblą|boleslawiec|bolesław|pleszew|miedziana|walbrzych|wałbrzych"
         r"|rawicz|rawick|włoszakow|wloszakow|wierusz"
         r"|rogalin|raczyńsk|kątach|kąty|lubliniec|lublińc|urzęd(u|zie) miar|urząd miar")


def test_no_source_file_names_a_preset() -> None:
    done = subprocess.run(["git", "grep", "-n", "-i", "-E", NAMES, "--", "src",
                           ":!src/kustosz/policy/presets"], cwd=REPO, capture_output=True,
                          text=True, check=False)
    assert done.returncode in (0, 1), done.stderr  # 1: nothing found
    assert done.stdout == "", f"office names in the code:\n{done.stdout}"
