"""Why a kustosz.toml was refused, as problems with their lines, whatever refused it: the
schema (which names its keys itself), the policy its preset and [policy] tables make (whose
messages name the key: "policy retention.camera = …"), or the settings read from the file
(kustosz.config). What a start on the last good file and a refused reload tell a person
(kustosz.config_fallback, kustosz.cli.serve_reload) and what `config check` prints."""

from __future__ import annotations

import re

from kustosz.config_schema.problems import ConfigProblems, Problem, _with_line, key_lines
from kustosz.errors import ConfigError

# The key a policy rule's message names: "policy retention.camera = …", "Zasada documents.x…"
_NAMED = re.compile(r"policy (?:key )?\[?([a-z_]+(?:\.[\w-]+)*)")


def located(exc: ConfigError, text: str) -> list[Problem]:
    """``exc`` (raised reading the file whose text is ``text``) as its problems, each with
    the line of the key it names where it names one."""
    if isinstance(exc, ConfigProblems):
        return exc.problems
    lines = key_lines(text)
    en_lines = str(exc).splitlines() or [str(exc)]
    pl_lines = (exc.pl or str(exc)).splitlines()
    if len(pl_lines) != len(en_lines):  # one rule's words over several lines: one problem
        en_lines, pl_lines = [" ".join(en_lines)], [" ".join(pl_lines)]
    out = []
    for en, pl in zip(en_lines, pl_lines, strict=True):
        named = _NAMED.search(en)
        where = f"policy.{named.group(1)}" if named else "preset" if "preset" in en else ""
        problem = _with_line(Problem(where, en, pl), lines) if where else Problem("", en, pl)
        out.append(problem)
    return out


def summary(problems: list[Problem], lang: str) -> str:
    """The first problem in one line (and how many more): what an alert or a log line says."""
    first = " ".join(problems[0].text(lang).split()) if problems else ""
    more = len(problems) - 1
    if more <= 0:
        return first
    return f"{first} (+{more} more)" if lang == "en" else f"{first} (i {more} więcej)"
