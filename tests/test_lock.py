"""The environment is the lock (issue 31 item 3).

requirements.lock pins what Kustosz runs on, requirements-test.lock that plus every extra at the
same versions; `make test`, `make demo` and CI install the test lock (the Makefile's $(STAMP)
rule). These tests read the installed distributions through importlib.metadata and hold them
against the locks: the suite that passes is the suite of the locked versions, and a dependency
added to pyproject.toml without `make lock` is caught here before anyone ships it.
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
TEST_LOCK = ROOT / "requirements-test.lock"
# The installer's own tools (a venv comes with them; nothing Kustosz imports) and Kustosz itself,
# installed editable from the working tree.
NOT_LOCKED = {"pip", "setuptools", "wheel", "kustosz"}

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+?)\s*(\\)?$")


class LockError(ValueError):
    pass


def parse_lock(text: str) -> dict[str, tuple[str, list[str]]]:
    """pip-compile's hashed output: {name: (version, [sha256 hashes])}.

    Anything that is not an exact `==` pin followed by its hashes is refused: pip's
    --require-hashes would refuse it too, only later, on another machine.
    """
    pins: dict[str, tuple[str, list[str]]] = {}
    current: str | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("--hash="):
            if current is None:
                raise LockError(f"line {number}: a hash without a pin")
            algorithm, _, digest = line.removeprefix("--hash=").rstrip(" \\").partition(":")
            if algorithm != "sha256" or not re.fullmatch(r"[0-9a-f]{64}", digest):
                raise LockError(f"line {number}: not a sha256 hash: {line}")
            pins[current][1].append(digest)
            continue
        match = _PIN.match(line)
        if match is None:
            raise LockError(f"line {number}: not an exact pin with hashes: {line}")
        current = canonicalize_name(match[1])
        if current in pins:
            raise LockError(f"line {number}: {match[1]} pinned twice")
        pins[current] = (match[2], [])
    for name, (_, hashes) in pins.items():
        if not hashes:
            raise LockError(f"{name} is pinned without a hash")
    return pins


def installed() -> dict[str, str]:
    return {
        canonicalize_name(dist.metadata["Name"]): dist.version for dist in metadata.distributions()
    }


def pyproject_requirements(*extras: str) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = list(project["dependencies"])
    for extra in extras:
        lines += project.get("optional-dependencies", {})[extra]
    env = default_environment()
    reqs = [Requirement(line) for line in lines]
    return [req for req in reqs if req.marker is None or req.marker.evaluate(env)]


def all_extras() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return sorted(project.get("optional-dependencies", {}))


def test_every_locked_version_is_the_installed_one():
    have = installed()
    wrong = {
        name: (version, have.get(name, "not installed"))
        for name, (version, _) in parse_lock(TEST_LOCK.read_text()).items()
        if have.get(name) != version
    }
    assert not wrong, f"locked vs installed (run make test to install the lock): {wrong}"


def test_nothing_is_installed_that_the_lock_leaves_out():
    locked = parse_lock(TEST_LOCK.read_text())
    extra = sorted(set(installed()) - set(locked) - NOT_LOCKED)
    assert not extra, f"installed but in no lock (add to pyproject.toml and make lock): {extra}"


def test_the_runtime_lock_is_the_test_lock_s_runtime_part():
    runtime = parse_lock(LOCK.read_text())
    test = parse_lock(TEST_LOCK.read_text())
    differ = {
        name: (version, test.get(name, ("missing", []))[0])
        for name, (version, _) in runtime.items()
        if test.get(name, ("",))[0] != version
    }
    assert not differ, f"requirements.lock vs requirements-test.lock: {differ}"
    # and the runtime lock holds no test tool: the .deb installs it as it is
    assert not {"pytest", "playwright", "hypothesis"} & set(runtime)


@pytest.mark.parametrize(
    ("lock", "extras"), [(LOCK, ()), (TEST_LOCK, tuple(all_extras()))], ids=["runtime", "test"]
)
def test_the_lock_holds_every_requirement_of_pyproject(lock, extras):
    pins = parse_lock(lock.read_text())
    unmet = []
    for req in pyproject_requirements(*extras):
        name = canonicalize_name(req.name)
        if name not in pins:
            unmet.append(f"{req}: not in {lock.name}")
        elif not req.specifier.contains(pins[name][0], prereleases=True):
            unmet.append(f"{req}: {lock.name} has {pins[name][0]}")
    assert not unmet, f"pyproject.toml changed without `make lock`: {unmet}"


def test_a_changed_lock_reinstalls_the_venv():
    # make's what-if (-W) pretends the lock was just edited and prints, without running them,
    # the commands it would run: the hashed install of the lock, then the sweep of the rest.
    for lock in (LOCK, TEST_LOCK):
        plan = subprocess.run(
            ["make", "-n", "-W", lock.name, ".venv/.installed"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert ("pip install --quiet --no-compile --require-hashes -r requirements-test.lock"
                in plan)
        assert "pip install --quiet --no-compile --no-deps -e ." in plan
        # the byte-code pip leaves out is made on every core, after both installs
        assert plan.index("-e .") < plan.index("compileall -q -j 0 .venv/lib")
        assert "pip uninstall" in plan and "pip check" in plan


def test_upgrade_deps_refreshes_both_locks_then_runs_the_suite():
    plan = subprocess.run(
        ["make", "-n", "upgrade-deps"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    compiles = [line for line in plan.splitlines() if "pip-compile" in line]
    assert len(compiles) == 2 and all("--upgrade" in line for line in compiles)
    assert "--generate-hashes" in compiles[0] and "-o requirements.lock" in compiles[0]
    assert "--all-extras -c requirements.lock -o requirements-test.lock" in compiles[1]
    assert plan.index("-o requirements-test.lock") < plan.index("pytest")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("fastapi>=0.115 \\\n    --hash=sha256:" + "0" * 64, "not an exact pin"),
        ("fastapi==0.165.0\n", "without a hash"),
        ("fastapi==0.165.0 \\\n    --hash=md5:" + "0" * 32, "not a sha256"),
        ("    --hash=sha256:" + "0" * 64, "a hash without a pin"),
        ("-e .\n", "not an exact pin"),
        (
            "a==1 \\\n --hash=sha256:" + "1" * 64 + "\nA==2 \\\n --hash=sha256:" + "2" * 64,
            "pinned twice",
        ),
    ],
)
def test_a_lock_that_is_not_exact_and_hashed_is_refused(text, why):
    with pytest.raises(LockError, match=why):
        parse_lock(text)
