"""Issue 31 item 4: the documentation is a MkDocs + Material site. `mkdocs build --strict` passes
with every internal link and anchor checked, the theme loads nothing from the internet, the CLI
reference is what `kustosz … --help` prints (never hand-copied) and the API reference holds every
operation of the OpenAPI schema."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from kustosz.cli import app
from kustosz.web.app import create_app

ROOT = Path(__file__).resolve().parent.parent
MKDOCS = [sys.executable, "-m", "mkdocs", "build", "--strict"]
BUILD_ENV = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
# A plain terminal of 80 columns without colour, no vault named by the environment: the page
# says its help texts are what such a terminal shows.
TERMINAL = {"COLUMNS": "80", "LINES": "50", "NO_COLOR": "1", "TERM": "dumb"}
UNSET = ("TERMINAL_WIDTH", "FORCE_COLOR", "PY_COLORS", "GITHUB_ACTIONS", "KUSTOSZ_DATA")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [*MKDOCS, "--site-dir", str(out)],
        cwd=ROOT,
        env=BUILD_ENV,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def normal(text: str) -> str:
    """Help text without the terminal's padding: trailing spaces and blank edge lines."""
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


def printed_help(path: list[str]) -> str:
    """`kustosz PATH --help` in this process, as on the plain terminal."""
    env: dict[str, str | None] = {**TERMINAL, **dict.fromkeys(UNSET)}
    result = CliRunner().invoke(app, [*path, "--help"], prog_name="kustosz", env=env)
    assert result.exit_code == 0, result.output
    return normal(result.output)


def subcommands(help_text: str) -> list[str]:
    """The names in the Commands panel of a help text (continuation lines start blank)."""
    if "╭─ Commands" not in help_text:
        return []
    panel = help_text.split("╭─ Commands", 1)[1].split("╰", 1)[0]
    return [m.group(1) for m in re.finditer(r"^│ (\S+)", panel, re.M)]


def every_command() -> dict[str, str]:
    """Every command reachable through the printed help alone (not the app's internals)."""
    found: dict[str, str] = {}
    todo: list[list[str]] = [[]]
    while todo:
        path = todo.pop(0)
        text = printed_help(path)
        found[" ".join(["kustosz", *path])] = text
        todo += [[*path, name] for name in subcommands(text)]
    return found


def page_blocks(page: Path) -> dict[str, str]:
    """Heading text → the code block under it, from the built HTML."""
    text = page.read_text("utf-8")
    blocks = {}
    for m in re.finditer(
        r'<h2 id="[^"]*">(.*?)<a class="headerlink".*?</h2>\s*'
        r'<div class="highlight"><pre>(.*?)</pre>',
        text,
        re.S,
    ):
        code = re.sub(r"<[^>]+>", "", m.group(2))
        blocks[html.unescape(m.group(1)).strip()] = normal(html.unescape(code))
    return blocks


def test_the_site_builds_strictly_and_loads_nothing_from_the_internet(site: Path) -> None:
    pages = sorted(site.rglob("*.html"))
    for name in (
        "index.html",
        "operations/s3/index.html",
        "security/index.html",
        "reference/cli/index.html",
        "reference/api/index.html",
        "benchmarks/index.html",
    ):
        assert (site / name).is_file(), name
    remote = re.compile(r"<(?:script|link|img|iframe)\b[^>]*(?:src|href)=\"(?:https?:)?//", re.I)
    for page in pages:
        text = page.read_text("utf-8")
        assert "fonts.googleapis" not in text and "fonts.gstatic" not in text, page
        assert not remote.search(text), f"{page} loads {remote.search(text).group(0)}"  # type: ignore[union-attr]
    assert '<html lang="pl"' in (site / "index.html").read_text("utf-8")


def test_a_broken_anchor_or_link_fails_the_strict_build(tmp_path: Path) -> None:
    """The site's own validation settings refuse a link to a missing anchor and to a missing
    page (without them MkDocs only logs the anchor at INFO and the build passes)."""
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text("utf-8"))
    config.pop("hooks"), config.pop("nav")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Start\n\n## Here\n\n[ok](other.md#there)\n", "utf-8")
    (docs / "other.md").write_text("# Other\n\n## There\n\n[ok](index.md#here)\n", "utf-8")
    config["docs_dir"] = str(docs)
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump(config), "utf-8")
    run = [*MKDOCS, "-f", str(tmp_path / "mkdocs.yml"), "--site-dir", str(tmp_path / "out")]
    ok = subprocess.run(run, env=BUILD_ENV, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr

    (docs / "other.md").write_text("# Other\n\n[bad](index.md#nowhere)\n", "utf-8")
    bad = subprocess.run(run, env=BUILD_ENV, capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0
    assert "does not contain an anchor '#nowhere'" in bad.stderr

    (docs / "other.md").write_text("# Other\n\n[bad](gone.md)\n", "utf-8")
    bad = subprocess.run(run, env=BUILD_ENV, capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0
    assert "'gone.md', but the target is not found" in bad.stderr


def test_the_cli_reference_is_what_help_prints(site: Path) -> None:
    page = page_blocks(site / "reference" / "cli" / "index.html")
    printed = every_command()
    assert len(printed) > 100, "the walk through the help texts found too few commands"
    assert sorted(page) == sorted(printed)
    for command, text in printed.items():
        assert page[command] == text, command


@pytest.mark.parametrize(
    "path", [[], ["retention"], ["retention", "shorten", "approve"], ["serve"]]
)
def test_the_real_program_prints_the_same_help(site: Path, path: list[str]) -> None:
    """What the page holds is what the installed `kustosz` prints on such a terminal."""
    exe = shutil.which("kustosz", path=str(Path(sys.executable).parent)) or "kustosz"
    env = {k: v for k, v in os.environ.items() if k not in UNSET} | TERMINAL
    done = subprocess.run(
        [exe, *path, "--help"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    page = page_blocks(site / "reference" / "cli" / "index.html")
    assert page[" ".join(["kustosz", *path])] == normal(done.stdout)


def test_the_api_reference_holds_every_operation_of_the_schema(site: Path) -> None:
    text = html.unescape((site / "reference" / "api" / "index.html").read_text("utf-8"))
    schema = create_app(None).openapi()  # type: ignore[arg-type]
    operations = [(method.upper(), path) for path, ops in schema["paths"].items() for method in ops]
    assert len(operations) > 20
    for method, path in operations:
        assert re.search(rf">{method} <code>{re.escape(path)}</code>", text), (method, path)
    for name in schema["components"]["schemas"]:
        assert f">{name}<" in text, name
    assert "swagger" not in text.lower()


def test_the_readme_is_short_and_starts_with_the_two_commands() -> None:
    """The README says what Kustosz is, the two commands first, the install and where the
    documentation is; everything else lives in the site."""
    text = (ROOT / "README.md").read_text("utf-8")
    assert len(text.splitlines()) <= 150
    first_block = re.search(r"```sh\n(.*?)```", text, re.S)
    assert first_block and text.index("```sh") < 100
    commands = [line.split()[0:2] for line in first_block.group(1).splitlines() if line[:1] != " "]
    assert commands == [["make", "demo"], ["make", "test"]]
    assert "apt install ./kustosz_*.deb" in text and "make docs" in text
    assert "](docs/index.md)" in text
