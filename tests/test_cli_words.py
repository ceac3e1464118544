"""A command loads only the modules that make its first word (kustosz.cli.commands, issue 52
item 7): the table of words is the program's own, checked in a fresh process module by
module; a command line's first word is found past the global options; `kustosz <word>` runs
with its word's modules alone and says the same as the whole program."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap

import pytest

from kustosz import __version__
from kustosz.cli import commands

# In a process of its own (nothing of kustosz.cli loaded before): the modules registered one
# by one in the program's order, and for each word the modules that made or changed it.
CONTRIBUTIONS = textwrap.dedent("""
    import importlib, json, typer
    from kustosz.cli import commands

    def tree(cmd):
        if hasattr(cmd, "commands"):
            return {n: tree(c) for n, c in cmd.commands.items()}
        return sorted((p.name, p.opts and sorted(p.opts)) for p in cmd.params)

    app = typer.Typer()

    @app.callback()
    def _top() -> None: ...

    before, made = {}, {}
    for name in commands.MODULES:
        importlib.import_module(f"kustosz.cli.{name}").register(app)
        now = tree(typer.main.get_command(app))
        for word, sub in now.items():
            if before.get(word, "<none>") != sub:
                made.setdefault(word, []).append(name)
        before = now
    alone = {word: tree(typer.main.get_command(commands.build(mods)))[word]
             for word, mods in commands.WORDS.items()}
    print(json.dumps({"made": made, "whole": before, "alone": alone}))
""")


def test_every_word_is_made_by_the_modules_the_table_names() -> None:
    done = subprocess.run([sys.executable, "-c", CONTRIBUTIONS], capture_output=True,
                          text=True, check=True, timeout=300)
    said = json.loads(done.stdout)
    assert {w: tuple(m) for w, m in said["made"].items()} == commands.WORDS
    # each word built from its modules alone is the whole program's, option by option
    for word, sub in said["whole"].items():
        assert said["alone"][word] == sub, word


@pytest.mark.parametrize(("args", "word"), [
    ([], None),
    (["--help"], None),
    (["--version"], None),
    (["holds", "list"], "holds"),
    (["--data", "/srv/kustosz", "holds", "list"], "holds"),
    (["--data=/srv/kustosz", "-v", "serve"], "serve"),
    (["-v", "--data", "holds", "cameras"], "cameras"),  # --data's value is never the word
    (["--verbose", "users", "--help"], "users"),
    (["--unknown", "holds"], None),  # click says what is wrong with the whole program
    (["--data"], None),
])
def test_the_first_word_is_found_past_the_global_options(args: list[str],
                                                         word: str | None) -> None:
    assert commands.first_word(args) == word


RUN = textwrap.dedent("""
    import atexit, sys
    atexit.register(lambda: print("LOADED", sorted(m for m in sys.modules
                                                   if m.startswith("kustosz.cli."))))
    from kustosz.cli import main
    sys.argv = ["kustosz", *sys.argv[1:]]
    main()
""")


def _run(*args: str) -> tuple[str, set[str]]:
    done = subprocess.run([sys.executable, "-c", RUN, *args], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    out, _, loaded = done.stdout.rpartition("LOADED ")
    return out, set(ast.literal_eval(loaded))


def test_a_command_loads_its_words_modules_and_says_what_the_whole_program_says() -> None:
    from typer.testing import CliRunner

    out, loaded = _run("holds", "--help")
    assert "kustosz.cli.custody" in loaded
    assert not {"kustosz.cli.cameras", "kustosz.cli.serve", "kustosz.cli.accounts",
                "kustosz.cli.custody_docs", "kustosz.cli.report"} & loaded, sorted(loaded)
    whole = CliRunner().invoke(commands.whole(), ["holds", "--help"],
                               prog_name="kustosz", terminal_width=80)
    assert whole.exit_code == 0
    assert out.split() == whole.output.split()

    out, loaded = _run("--help")  # the list of commands is the whole program's
    assert {f"kustosz.cli.{m}" for m in commands.MODULES} <= loaded
    assert all(word in out for word in commands.WORDS)

    out, loaded = _run("--data", "/nowhere", "--version")  # no command module at all
    assert out.strip() == f"kustosz {__version__}"
    assert not {f"kustosz.cli.{m}" for m in commands.MODULES} & loaded, sorted(loaded)
