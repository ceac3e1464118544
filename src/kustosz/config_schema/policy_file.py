"""A preset file checked the way kustosz.toml is (issue 51 item 1): every problem at once,
each with its key's path, its line and (for a mistyped key) the nearest valid name, in Polish
and English. `kustosz policy check FILE` prints them; `kustosz init --preset-file FILE`
refuses a file that has any before it creates anything."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kustosz.config_schema import ConfigProblems, Problem, _problem, parse
from kustosz.config_schema.problems import _with_line, key_lines
from kustosz.errors import ConfigError
from kustosz.policy.preset_file import check_preset
from kustosz.policy.schema import PolicyFile, ShapeError, named_key


def _schema_problems(data: dict[str, Any]) -> list[Problem]:
    """The schema's problems in kustosz.toml's words (nearest key, allowed values), read as the
    [policy] table they are the schema of, shown under the file's own keys."""
    try:
        PolicyFile.model_validate(data)
    except ValidationError as exc:
        out = []
        for e in exc.errors(include_url=False):
            p = _problem({**e, "loc": ("policy", *e["loc"])})
            out.append(Problem(p.where.removeprefix("policy").lstrip("."), p.en, p.pl))
        return out
    return []


def problems_of(data: dict[str, Any]) -> list[Problem]:
    """Every problem of a parsed preset file, without lines."""
    out = _schema_problems(data)
    for exc in check_preset(data):
        if isinstance(exc, ShapeError):
            continue  # told above, in the configuration's words
        out.append(Problem(named_key(exc), str(exc), exc.pl or str(exc)))
    return out


def check_preset_file(path: Path) -> list[Problem]:
    """Every problem of the preset file at ``path`` (empty: it is valid), sorted by line."""
    try:
        data = parse(path)
    except ConfigProblems as exc:
        return exc.problems
    lines = key_lines(path.read_text("utf-8-sig"))
    located = [_with_line(p, lines) for p in problems_of(data)]
    return sorted(located, key=lambda p: p.line or 0)


def read_preset_file(path: Path) -> dict[str, Any]:
    """The preset file's tables, or a ConfigProblems listing every problem."""
    problems = check_preset_file(path)
    if problems:
        raise ConfigProblems(path, problems)
    return parse(path)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a preset file, for editors."""
    schema = PolicyFile.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Kustosz preset (an office's regulation)"
    return schema


def json_schema_text() -> str:
    return json.dumps(json_schema(), ensure_ascii=False, indent=2) + "\n"


__all__ = ["as_policy_tables", "check_preset_file", "json_schema_text", "read_preset_file"]


# -- a preset file in a vault's kustosz.toml --------------------------------------------------

_TABLE = re.compile(r"^(\s*)\[\s*([^\[\]]+?)\s*\](\s*(#.*)?)$")


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON's escapes are TOML's too
    return str(value)


def _written(prefix: str, table: dict[str, Any]) -> list[str]:
    lines = [f"[{prefix}]"]
    lines += [f"{_key(k)} = {_value(v)}" for k, v in table.items() if not isinstance(v, dict)]
    for k, v in table.items():
        if isinstance(v, dict):
            lines += ["", *_written(f"{prefix}.{_key(k)}", v)]
    return lines


def as_policy_tables(text: str) -> str:
    """A preset file's text as kustosz.toml's [policy] tables: its table headers moved under
    `policy.`, its comments (the clauses each value comes from) kept; where that does not read
    back as the same tables (a header-like line inside a multi-line string), the tables
    written anew without the comments."""
    data = tomllib.loads(text)
    moved = "\n".join(_TABLE.sub(r"\1[policy.\2]\3", line) for line in text.splitlines())
    try:
        if tomllib.loads(moved).get("policy") == data:
            return moved + "\n"
    except tomllib.TOMLDecodeError:
        pass
    written = "\n".join(line for k, v in data.items() for line in ["", *_written(
        f"policy.{_key(k)}", v)]) + "\n"
    if tomllib.loads(written).get("policy") != data:  # pragma: no cover - a writer's fault
        raise ConfigError("the preset file cannot be copied into kustosz.toml",
                          pl="Nie można przepisać pliku zasad do kustosz.toml.")
    return written
