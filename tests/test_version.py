"""The version comes from one place (issue 31 item 4): pyproject.toml's [project] version.

kustosz.__version__ reads it back from the installed package's metadata, `kustosz --version`
prints it, and CHANGELOG.md's newest release is that version.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import kustosz

ROOT = Path(__file__).resolve().parent.parent


def pyproject_version() -> str:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)["project"]["version"]


def test_the_package_version_is_pyproject_s():
    assert kustosz.__version__ == metadata.version("kustosz") == pyproject_version()


def test_kustosz_version_prints_it_and_touches_nothing(tmp_path):
    # no data folder, no configuration: --version answers before anything is opened or made
    env = {**os.environ, "KUSTOSZ_DATA": str(tmp_path / "nowhere")}
    done = subprocess.run(
        [sys.executable, "-m", "kustosz", "--version"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"kustosz {pyproject_version()}\n"
    assert list(tmp_path.iterdir()) == []


def test_version_goes_before_any_verb():
    # eager: `kustosz --version init` prints the version and does not run init
    done = subprocess.run(
        [sys.executable, "-m", "kustosz", "--version", "init"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"kustosz {pyproject_version()}"


def test_the_changelog_s_newest_release_is_this_version():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    releases = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})$", text, re.M)
    assert releases, "no release heading in Keep a Changelog form: ## [X.Y.Z] - YYYY-MM-DD"
    assert releases[0][0] == pyproject_version()
    assert text.index("## [Unreleased]") < text.index(f"## [{releases[0][0]}]")
    dates = [date for _, date in releases]
    assert dates == sorted(dates, reverse=True), "newest release first"
