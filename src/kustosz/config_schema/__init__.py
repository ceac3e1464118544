"""The one schema of kustosz.toml: every table, every key, its type, range and default.

Pydantic models (v2) with ``extra="forbid"``: a mistyped key is refused with its path and the
nearest valid name instead of being dropped while the default silently stays in force. This
is the only place the defaults live; kustosz.config turns a checked file into the objects
the rest of Kustosz reads. `kustosz config check` and `kustosz config schema` (the JSON Schema
editors validate with) stand on it, and `kustosz doctor` runs the check.

[policy] is the one table whose keys belong to the regulation presets: its schema is the
preset files' own (kustosz.policy.schema); what ties its keys to the preset they change is
checked by the policy's loader (`config check` runs it).
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from pydantic_core import ErrorDetails

from kustosz.alert_channels import ChannelKind, on_register
from kustosz.config_schema.alerts import Alerts
from kustosz.config_schema.audit import Audit
from kustosz.config_schema.backup import Backup
from kustosz.config_schema.base import Table
from kustosz.config_schema.cameras import Cameras
from kustosz.config_schema.cluster import Cluster
from kustosz.config_schema.custody import Custody
from kustosz.config_schema.logging import Logging
from kustosz.config_schema.problems import ConfigProblems, Problem, _with_line, key_lines
from kustosz.config_schema.refusal import located
from kustosz.config_schema.retention import Retention
from kustosz.config_schema.siprec import Siprec
from kustosz.config_schema.storage import Storage
from kustosz.config_schema.toml_words import toml_pl
from kustosz.config_schema.web import Web
from kustosz.errors import ConfigError
from kustosz.policy import load_policy
from kustosz.policy.schema import PolicyFile

CONFIG_NAME = "kustosz.toml"


class KustoszToml(Table):
    """The data folder's kustosz.toml."""

    preset: str | None = Field(
        None, description="The regulation preset (kustosz policy presets lists them)."
    )
    database_url: str = Field(
        "",
        description="Empty: SQLite (WAL) in the data folder; or "
        '"postgresql://user@host:5432/kustosz".',
    )
    storage: Storage = Field(default_factory=Storage)
    retention: Retention = Field(default_factory=Retention)
    custody: Custody = Field(default_factory=Custody)
    audit: Audit = Field(default_factory=Audit)
    web: Web = Field(default_factory=Web)
    alerts: Alerts = Field(default_factory=Alerts)
    backup: Backup | None = None
    logging: Logging = Field(default_factory=Logging)
    cluster: Cluster = Field(default_factory=Cluster)
    cameras: Cameras = Field(default_factory=Cameras)
    siprec: Siprec = Field(default_factory=Siprec)
    policy: PolicyFile = Field(default_factory=PolicyFile, description="The preset's overrides.")

    def policy_overrides(self) -> dict[str, Any]:
        """The [policy] tables as written (what it leaves out stays the preset's)."""
        return self.policy.model_dump(by_alias=True, exclude_unset=True)


# a channel kind registered now (kustosz.alert_channels) was added to [alerts]: the file's
# schema takes it in too
def _rebuild(_kind: ChannelKind) -> None:
    KustoszToml.model_rebuild(force=True)


on_register(_rebuild, _rebuild)


# -- reading the file ---------------------------------------------------------------------


def _line_of(raw: bytes, offset: int) -> int:
    return raw[:offset].count(b"\n") + 1


def parse(path: Path) -> dict[str, Any]:
    """The file's TOML; a ConfigProblems naming what is wrong (missing, not UTF-8, not TOML:
    a key given twice is one of those, with its line)."""
    return parse_bytes(read_file(path), path)


def read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ConfigProblems(path, [Problem("", "no such file", "nie ma takiego pliku")]) from None
    except IsADirectoryError:
        raise ConfigProblems(
            path, [Problem("", "is a folder, not a file", "to katalog, a nie plik")]
        ) from None
    except OSError as exc:
        raise ConfigProblems(path, [Problem("", f"cannot be read: {exc.strerror}",
                                            f"nie można odczytać pliku: {exc.strerror}")]) from None


def parse_bytes(raw: bytes, path: Path | str) -> dict[str, Any]:
    """The TOML of a file's bytes, read once: what serve keeps as the last good file is
    exactly what it checked (kustosz.config_keep)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = _line_of(raw, exc.start)
        guess = ""
        try:
            raw.decode("cp1250")
            guess = " (it looks like Windows-1250)"
        except UnicodeDecodeError:
            pass
        raise ConfigProblems(
            path,
            [
                Problem(
                    "",
                    f"is not UTF-8 text{guess}: byte 0x{raw[exc.start]:02x} at line {line}; save "
                    "the file as UTF-8",
                    f"plik nie jest tekstem UTF-8{' (wygląda na Windows-1250)' if guess else ''}: "
                    f"bajt 0x{raw[exc.start]:02x} w wierszu {line}; zapisz plik w kodowaniu UTF-8",
                )
            ],
        ) from None
    text = text.removeprefix("\ufeff")  # a BOM some Windows editors write
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        why = str(exc)
        twice = "overwrite" in why or "already" in why.lower()
        found = re.search(r"\(at (?:line (\d+), column \d+|end of document)\)$", why)
        at = int(found.group(1)) if found and found.group(1) else None
        where = f" (line {at})" if at else ""
        at_pl = f" (wiersz {at})" if at else " (na końcu pliku)" if found else ""
        msg = why[: found.start()].strip() if found else why
        if twice:
            en = f"is not valid TOML: a key or table given twice{where}: {msg}"
            pl = f"to nie jest poprawny TOML: klucz albo tabela podana dwa razy{at_pl}"
        else:
            en = f"is not valid TOML: {why}"
            pl = f"to nie jest poprawny TOML{at_pl}: {toml_pl(msg)}"
        raise ConfigProblems(path, [Problem("", en, pl)]) from None


def validate(data: dict[str, Any], path: Path | str, root: Path | None = None) -> KustoszToml:
    """``data`` (a parsed kustosz.toml) checked against the schema; every problem listed in
    one ConfigProblems. ``root``: the data folder relative paths are read against."""
    try:
        return KustoszToml.model_validate(data, context={"root": root})
    except ValidationError as exc:
        raise ConfigProblems(path, [_problem(e) for e in exc.errors(include_url=False)]) from None


def load(path: Path, root: Path | None = None, raw: bytes | None = None) -> KustoszToml:
    """The file checked; ``raw``: its bytes as already read (else read here)."""
    data = parse(path) if raw is None else parse_bytes(raw, path)
    try:
        return validate(data, path, root if root is not None else path.parent)
    except ConfigProblems as exc:
        text = raw.decode("utf-8-sig") if raw is not None else path.read_text("utf-8-sig")
        lines = key_lines(text)
        located = [_with_line(p, lines) for p in exc.problems]
        raise ConfigProblems(path, sorted(located, key=lambda p: p.line or 0)) from None


def json_schema() -> dict[str, Any]:
    schema = KustoszToml.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "kustosz.toml"
    return schema


def json_schema_text() -> str:
    return json.dumps(json_schema(), ensure_ascii=False, indent=2) + "\n"


# -- the words of each problem --------------------------------------------------------------


def _keys_of(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _unwrap(annotation: Any) -> Any:
    """The model (or container) behind ``X | None``."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def _model_at(loc: tuple[int | str, ...]) -> tuple[type[BaseModel] | None, list[str]]:
    """The table model ``loc`` leads to, and the readable path through it."""
    current: Any = KustoszToml
    shown: list[str] = []
    for part in loc:
        if isinstance(current, type) and issubclass(current, BaseModel):
            by_key = {f.alias or n: f for n, f in current.model_fields.items()}
            field = by_key.get(part) if isinstance(part, str) else None
            if field is None or not isinstance(part, str):
                shown.append(str(part))
                current = None
                continue
            shown.append(part)
            current = _unwrap(field.annotation)
        elif typing.get_origin(current) in (dict, list):
            shown.append(f"[{part}]" if isinstance(part, int) else str(part))
            current = _unwrap(typing.get_args(current)[-1])
        else:
            current = None  # a leaf's union tag (pydantic names the member it tried)
    model = current if isinstance(current, type) and issubclass(current, BaseModel) else None
    return model, shown


def _dotted(parts: list[str]) -> str:
    return ".".join(parts).replace(".[", "[")


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return str(value)


def _shown_pl(value: object) -> str:
    if isinstance(value, str):
        return f"„{value}”"
    return {"a table": "tabela", "a list": "lista"}.get(_shown(value), _shown(value))


_TYPES = {
    "float_parsing": ("a number", "liczbą"),
    "int_parsing": ("a whole number", "liczbą całkowitą"),
    "bool_parsing": ("true or false", "wartością true albo false"),
    "float_type": ("a number", "liczbą"),
    "int_type": ("a whole number", "liczbą całkowitą"),
    "int_from_float": ("a whole number", "liczbą całkowitą"),
    "bool_type": ("true or false", "wartością true albo false"),
    "string_type": ("text in quotes", "tekstem w cudzysłowie"),
    "list_type": ('a list, e.g. ["…"]', 'listą, np. ["…"]'),
    "dict_type": ("a table", "tabelą"),
    "model_type": ("a table", "tabelą"),
    "model_attributes_type": ("a table", "tabelą"),
}
_BOUNDS = {
    "greater_than": ("gt", "above", "większe od"),
    "greater_than_equal": ("ge", "at least", "co najmniej"),
    "less_than": ("lt", "below", "mniejsze od"),
    "less_than_equal": ("le", "at most", "najwyżej"),
}


def _num(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _range(loc: tuple[int | str, ...]) -> tuple[str, str] | None:
    """A number's whole range in words ("a number from 0 to 65536"), when its key has one."""
    parent, _ = _model_at(loc[:-1])
    if parent is None or not loc:
        return None
    key = loc[-1]
    if not isinstance(key, str):  # a list's index: no key of its own
        return None
    field = {f.alias or n: f for n, f in parent.model_fields.items()}.get(key)
    if field is None:
        return None
    kind = _unwrap(field.annotation)
    if kind not in (int, float):
        return None
    bounds = {
        type(m).__name__.lower(): getattr(m, type(m).__name__.lower())
        for m in field.metadata
        if type(m).__name__ in ("Ge", "Gt", "Le", "Lt")
    }
    en, pl = ("a whole number", "liczbą całkowitą") if kind is int else ("a number", "liczbą")
    if "ge" in bounds and "le" in bounds:
        return (
            f"{en} from {_num(bounds['ge'])} to {_num(bounds['le'])}",
            f"{pl} od {_num(bounds['ge'])} do {_num(bounds['le'])}",
        )
    words = {
        "ge": ("at least", "nie mniejszą niż"),
        "gt": ("above", "większą od"),
        "le": ("at most", "nie większą niż"),
        "lt": ("below", "mniejszą od"),
    }
    said = [(words[k][0], words[k][1], _num(v)) for k, v in bounds.items()]
    if not said:
        return None
    return (
        f"{en} " + " and ".join(f"{w} {v}" for w, _, v in said),
        f"{pl} " + " i ".join(f"{w} {v}" for _, w, v in said),
    )


def _problem(error: ErrorDetails) -> Problem:
    kind, loc, ctx = error["type"], tuple(error["loc"]), error.get("ctx") or {}
    given = error.get("input")
    if kind == "extra_forbidden":
        parent, shown = _model_at(loc[:-1])
        key = str(loc[-1])
        where = _dotted([*shown, key])
        what_en, what_pl = ("table or key", "tabela lub klucz") if not shown else ("key", "klucz")
        unknown_pl = "nieznana" if not shown else "nieznany"
        if parent is not None and parent.__name__ == "AlertKinds":
            what_en, what_pl, unknown_pl = "alert kind", "rodzaj alarmu", "nieznany"
        near = (
            difflib.get_close_matches(key, _keys_of(parent), n=1, cutoff=0.6)
            if parent is not None
            else []
        )
        if near:
            return Problem(
                where,
                f"unknown {what_en} — did you mean `{near[0]}`?",
                f"{unknown_pl} {what_pl} — czy chodziło o `{near[0]}`?",
            )
        valid = ", ".join(_keys_of(parent)) if parent is not None else ""
        return Problem(
            where,
            f"unknown {what_en}; valid: {valid}",
            f"{unknown_pl} {what_pl}; dozwolone: {valid}",
        )
    _, shown = _model_at(loc)
    where = _dotted(shown)
    if kind == "kustosz":
        return Problem(where, ctx["en"], ctx["pl"])
    if kind == "missing":
        return Problem(where, "required key is missing", "brak wymaganego klucza")
    if kind in _TYPES or kind in _BOUNDS:
        ranged = _range(loc)
        if ranged is not None:
            en, pl = ranged
        elif kind in _TYPES:
            en, pl = _TYPES[kind]
        else:
            key, en, pl = _BOUNDS[kind]
            en, pl = f"{en} {_num(ctx[key])}", f"{pl} {_num(ctx[key])}"
        return Problem(
            where,
            f"must be {en} (got {_shown(given)})",
            f"musi być {pl} (podano: {_shown_pl(given)})",
        )
    if kind == "literal_error":
        values = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        en = " or ".join(
            [", ".join(f'"{v}"' for v in values[:-1]), f'"{values[-1]}"'][
                0 if len(values) > 1 else 1 :
            ]
        )
        pl = " i ".join(
            [", ".join(f"„{v}”" for v in values[:-1]), f"„{values[-1]}”"][
                0 if len(values) > 1 else 1 :
            ]
        )
        return Problem(
            where,
            f"must be {en}, not {_shown(given)}",
            f"dozwolone wartości to {pl} (podano: {_shown_pl(given)})",
        )
    if kind == "string_too_short":
        return Problem(where, "must not be empty", "nie może być puste")
    return Problem(where, error["msg"], error["msg"])


__all__ = ["CONFIG_NAME", "ConfigProblems", "KustoszToml", "Problem", "json_schema",
           "json_schema_text", "load", "parse", "parse_bytes", "validate"]


def table(name: str, data: dict[str, Any], path: Path | str, root: Path | None = None) -> Any:
    """One table of a parsed file checked alone (its default when absent), for the readers
    that tolerate a file read_config reports on: [cluster], [backup], [logging]."""
    model = _unwrap(KustoszToml.model_fields[name].annotation)
    if name not in data:
        return KustoszToml.model_fields[name].get_default(call_default_factory=True)
    try:
        return model.model_validate(data[name], context={"root": root})
    except ValidationError as exc:
        problems = []
        for e in exc.errors(include_url=False):
            problems.append(_problem({**e, "loc": (name, *e["loc"])}))
        raise ConfigProblems(path, problems) from None


def check_file(path: Path, root: Path | None = None) -> list[Problem]:
    """Every problem of the file at ``path`` (empty: it is valid), starting nothing: the
    schema, then the [policy] overrides against the preset they change."""
    try:
        doc = load(path, root)
    except ConfigProblems as exc:
        return exc.problems

    try:
        load_policy(doc.preset or None, doc.policy_overrides())
    except ConfigError as exc:
        return located(exc, path.read_text("utf-8-sig"))
    return []
