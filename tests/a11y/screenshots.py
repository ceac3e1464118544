"""Screenshots of every page the accessibility test crawls, at 320 and 1280 px, into
docs/screenshots/ as <role>-<page>-<width>.png, for a person to look at (issue 33: what the
rules cannot judge — a timeline piled up, a button cut off). Run from the repository:

    .venv/bin/python tests/a11y/screenshots.py [FOLDER]

It also prints what the accessibility test would find on those pages."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from a11y_site import ARGS, AXE, BROWSER_ENV, CHROMIUM, Findings, office, walk
from PIL import Image
from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[2]


def _small(png: Path) -> None:
    """256 colours are plenty for a form page: a third of the size in the repository."""
    with Image.open(png) as im:
        small = im.convert("RGB").quantize(colors=256)
    small.save(png, optimize=True)


def main() -> int:
    shots = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    if not AXE.exists():
        print("axe-core is missing: run `npm ci --ignore-scripts` first", file=sys.stderr)
        return 2
    findings = Findings()
    with tempfile.TemporaryDirectory() as tmp, office(Path(tmp)) as base, \
            sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS,
                                    env=BROWSER_ENV)
        walk(browser, base, findings, shots)
        browser.close()
    for png in shots.glob("*-320.png"):
        _small(png)
    for png in [*shots.glob("*-1280.png"), *shots.glob("*-tekst200.png")]:
        _small(png)
    print(f"{findings.pages} pages, screenshots in {shots}")
    for problem in findings.problems:
        print(problem)
    return 1 if findings.problems else 0


if __name__ == "__main__":
    sys.exit(main())
