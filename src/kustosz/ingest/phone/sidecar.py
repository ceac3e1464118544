"""Sidecar files: call metadata for recordings from any PBX (format in docs/phone-sidecar.md).

Beside each audio file lies ``<audio file name>.json`` (``call123.wav.json``), or
``<audio file name>.csv`` with one header row and one data row of the same keys.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from kustosz.errors import KustoszError
from kustosz.words import count_pl

__all__ = [
    "DIRECTIONS",
    "KEYS",
    "SIDECAR_SUFFIXES",
    "SidecarError",
    "SidecarRecord",
    "audio_for",
    "read_sidecar",
    "sidecar_for",
]

SidecarDirection = Literal["incoming", "outgoing", "internal", "unknown"]

DIRECTIONS = ("incoming", "outgoing", "internal")
KEYS = ("call_id", "start", "end", "direction", "caller", "callee", "extension")
REQUIRED = ("call_id", "start")
SIDECAR_SUFFIXES = (".json", ".csv")

_MAX_BYTES = 1_000_000  # a sidecar describes one call; anything bigger is not one


class SidecarError(KustoszError, ValueError):
    """A sidecar file that does not follow the format; the message names the file and why."""


@dataclass(frozen=True, slots=True)
class SidecarRecord:
    """One call as a sidecar describes it. Numbers are as written; normalise before storing."""

    call_id: str
    start: datetime
    end: datetime | None
    direction: SidecarDirection
    caller: str
    callee: str
    extension: str
    audio: Path


def sidecar_for(audio: Path) -> Path | None:
    """The sidecar beside ``audio`` (JSON preferred over CSV), or None when there is none."""
    for suffix in SIDECAR_SUFFIXES:
        candidate = audio.with_name(audio.name + suffix)
        if candidate.is_file():
            return candidate
    return None


def audio_for(sidecar: Path) -> Path:
    """The audio file a sidecar describes: its own name without ``.json``/``.csv``."""
    if sidecar.suffix.lower() not in SIDECAR_SUFFIXES or not sidecar.stem:
        raise SidecarError(f"{sidecar.name}: a sidecar's name ends in .json or .csv",
                          pl=f"{sidecar.name}: nazwa pliku opisu kończy się na .json lub .csv.")
    return sidecar.with_name(sidecar.stem)


def read_sidecar(path: Path) -> SidecarRecord:
    """Read and check one sidecar file. Raises :class:`SidecarError` with a one-line reason."""
    path = Path(path)
    audio = audio_for(path)
    try:
        with open(path, "rb") as stream:
            data = stream.read(_MAX_BYTES + 1)
    except OSError as exc:
        raise SidecarError(f"{path.name}: cannot be read ({exc.strerror})",
                           pl=f"{path.name}: nie można odczytać pliku ({exc.strerror}).") from None
    if len(data) > _MAX_BYTES:
        raise SidecarError(
            f"{path.name}: larger than {_MAX_BYTES} bytes, not a sidecar",
            pl=f"{path.name}: plik większy niż {count_pl(_MAX_BYTES, 'bajt', 'bajty', 'bajtów')} "
               "nie jest plikiem opisu.")
    try:
        # utf-8-sig: spreadsheets saving CSV as UTF-8 put a byte-order mark in front.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SidecarError(f"{path.name}: not UTF-8 text",
                           pl=f"{path.name}: to nie jest tekst w kodowaniu UTF-8.") from None
    if path.suffix.lower() == ".json":
        values = _from_json(text, path.name)
    else:
        values = _from_csv(text, path.name)
    return _record(values, path.name, audio)


def _from_json(text: str, name: str) -> dict[str, str]:
    try:
        document: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SidecarError(
            f"{name}: not valid JSON ({exc.msg} at line {exc.lineno})",
            pl=f"{name}: niepoprawny JSON ({exc.msg} w wierszu {exc.lineno}).") from None
    if not isinstance(document, dict):
        raise SidecarError(f"{name}: the JSON must be an object with the call's keys",
                           pl=f"{name}: JSON musi być obiektem z kluczami opisu połączenia.")
    values: dict[str, str] = {}
    for key in KEYS:
        value = document.get(key)
        if value is None:
            continue
        # Numbers often arrive as JSON integers; booleans and structures are mistakes.
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise SidecarError(
                f"{name}: {key} must be text, got {type(value).__name__}",
                pl=f"{name}: „{key}” musi być tekstem, a jest typu {type(value).__name__}.")
        values[key] = str(value).strip()
    return values


def _from_csv(text: str, name: str) -> dict[str, str]:
    header = text.splitlines()[0] if text.strip() else ""
    # Spreadsheets set to Polish save CSV with ";" between columns.
    delimiter = ";" if header.count(";") > header.count(",") else ","
    try:
        rows = [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if any(row)]
    except csv.Error as exc:
        raise SidecarError(f"{name}: malformed CSV ({exc})",
                           pl=f"{name}: niepoprawny plik CSV ({exc}).") from None
    if len(rows) != 2:
        raise SidecarError(
            f"{name}: a CSV sidecar has one header row and one data row, found {len(rows)} rows",
            pl=f"{name}: plik opisu CSV ma jeden wiersz nagłówka i jeden wiersz danych, a "
               f"znaleziono {count_pl(len(rows), 'wiersz', 'wiersze', 'wierszy')}.",
        )
    columns = [column.strip().lower() for column in rows[0]]
    if len(set(columns)) != len(columns):
        raise SidecarError(f"{name}: a column name appears twice in the header",
                           pl=f"{name}: nazwa kolumny występuje w nagłówku dwa razy.")
    if len(rows[1]) != len(columns):
        raise SidecarError(
            f"{name}: the header has {len(columns)} columns but the data row {len(rows[1])}",
            pl=f"{name}: nagłówek ma {count_pl(len(columns), 'kolumnę', 'kolumny', 'kolumn')}, "
               f"a wiersz danych {len(rows[1])}.",
        )
    return {
        column: value.strip()
        for column, value in zip(columns, rows[1], strict=True)
        if column in KEYS and value.strip()
    }


def _record(values: dict[str, str], name: str, audio: Path) -> SidecarRecord:
    for key in REQUIRED:
        if not values.get(key):
            raise SidecarError(f"{name}: required key {key!r} is missing or empty",
                               pl=f"{name}: wymagany klucz „{key}” nie występuje lub jest pusty.")
    start = _instant(values["start"], "start", name)
    end = _instant(values["end"], "end", name) if values.get("end") else None
    if end is not None and end < start:
        raise SidecarError(
            f"{name}: end {values['end']} is before start {values['start']}",
            pl=f"{name}: koniec {values['end']} przypada przed początkiem {values['start']}.")
    direction = values.get("direction", "").lower() or "unknown"
    if direction not in (*DIRECTIONS, "unknown"):
        raise SidecarError(
            f"{name}: unknown direction {values['direction']!r} "
            f"(use one of {', '.join(DIRECTIONS)}, or leave it out)",
            pl=f"{name}: nieznany kierunek „{values['direction']}” (użyj jednego z: "
               f"{', '.join(DIRECTIONS)} albo pomiń ten klucz).",
        )
    return SidecarRecord(
        call_id=values["call_id"],
        start=start,
        end=end,
        direction=direction,  # type: ignore[arg-type]  # checked against DIRECTIONS above
        caller=values.get("caller", ""),
        callee=values.get("callee", ""),
        extension=values.get("extension", ""),
        audio=audio,
    )


def _instant(value: str, key: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise SidecarError(
            f"{name}: {key} {value!r} is not an ISO 8601 time (e.g. 2024-03-05T14:02:11+01:00)",
            pl=f"{name}: „{key}” „{value}” nie jest czasem w formacie ISO 8601 "
               "(np. 2024-03-05T14:02:11+01:00).",
        ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise SidecarError(
            f"{name}: {key} {value!r} has no time zone; add one, e.g. +01:00, +02:00 or Z",
            pl=f"{name}: „{key}” „{value}” nie ma strefy czasowej; dodaj ją, np. +01:00, "
               "+02:00 lub Z.",
        )
    return moment.astimezone(UTC)
