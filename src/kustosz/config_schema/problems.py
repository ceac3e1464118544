"""A problem of kustosz.toml (or of a preset file) with its key's path and its line, in
Polish and English, and where each key of a file starts. Apart from the schema: any refusal
of the file is worded with them (config_schema.refusal) without importing the schema back."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from kustosz.errors import ConfigError


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file: the key's dotted path and what is wrong, both languages."""

    where: str
    en: str
    pl: str
    line: int | None = None

    def text(self, lang: str = "en") -> str:
        at = (
            f" (line {self.line})"
            if lang == "en" and self.line
            else f" (wiersz {self.line})"
            if self.line
            else ""
        )
        said = self.en if lang == "en" else self.pl
        return f"`{self.where}`: {said}{at}" if self.where else f"{said}{at}"


class ConfigProblems(ConfigError):
    """The file has these problems (each with its key's path); a ConfigError like any other."""

    def __init__(self, path: Path | str, problems: list[Problem]) -> None:
        self.path, self.problems = path, problems
        en = "\n".join(p.text("en") for p in problems)
        pl = "\n".join(p.text("pl") for p in problems)
        sep = " " if len(problems) == 1 else "\n"
        super().__init__(f"{path}:{sep}{en}", pl=f"{path}:{sep}{pl}")


_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(
    r"^\s*((?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')"
    r"(?:\s*\.\s*(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*'))*)\s*="
)


def _dotted_key(text: str) -> str:
    parts = re.findall(r"[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*'", text)
    return ".".join(p.strip("\"'") for p in parts)


def key_lines(text: str) -> dict[str, int]:
    """Where each table and key of the file starts (1-based lines), by its dotted path: what
    a problem's "where" is shown with. A plain scan; a multi-line string's inner lines may
    be taken for keys, which only ever adds a wrong line number, never a problem."""
    out: dict[str, int] = {}
    prefix = ""
    for number, line in enumerate(text.splitlines(), 1):
        header = _HEADER.match(line)
        if header:
            prefix = _dotted_key(header.group(1))
            out.setdefault(prefix, number)
            continue
        key = _KEY.match(line)
        if key:
            full = f"{prefix}.{_dotted_key(key.group(1))}" if prefix else _dotted_key(key.group(1))
            out.setdefault(full, number)
    return out


def _with_line(problem: Problem, lines: dict[str, int]) -> Problem:
    where = re.sub(r"\[\d+\]$", "", problem.where)
    while where and where not in lines:
        where = where.rpartition(".")[0]
    line = lines.get(where) if where else None
    return Problem(problem.where, problem.en, problem.pl, line)
