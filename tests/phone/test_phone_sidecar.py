"""The generic sidecar format (docs/phone-sidecar.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kustosz.ingest.phone.sidecar import SidecarError, audio_for, read_sidecar, sidecar_for

GOOD: dict[str, Any] = {
    "call_id": "2024-0305-000123",
    "start": "2024-03-05T14:02:11+01:00",
    "end": "2024-03-05T14:05:40+01:00",
    "direction": "incoming",
    "caller": "600 100 200",
    "callee": "+48 22 123 45 67",
    "extension": "201",
}


def write_json(tmp_path: Path, document: object, name: str = "call123.wav.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_json_sidecar(tmp_path: Path) -> None:
    record = read_sidecar(write_json(tmp_path, GOOD))
    assert record.call_id == "2024-0305-000123"
    assert record.start == datetime(2024, 3, 5, 13, 2, 11, tzinfo=UTC)
    assert record.end == datetime(2024, 3, 5, 13, 5, 40, tzinfo=UTC)
    assert record.direction == "incoming"
    assert (record.caller, record.callee, record.extension) == (
        "600 100 200",
        "+48 22 123 45 67",
        "201",
    )
    assert record.audio == tmp_path / "call123.wav"


def test_minimal_sidecar_with_z_and_numeric_values(tmp_path: Path) -> None:
    path = write_json(tmp_path, {"call_id": 77, "start": "2024-03-05T13:02:11Z", "caller": 201})
    record = read_sidecar(path)
    assert record.call_id == "77"
    assert record.start == datetime(2024, 3, 5, 13, 2, 11, tzinfo=UTC)
    assert record.end is None
    assert record.direction == "unknown"
    assert record.caller == "201"
    assert record.callee == ""


def test_csv_sidecar_with_commas(tmp_path: Path) -> None:
    path = tmp_path / "call123.wav.csv"
    header = ",".join(GOOD)
    row = ",".join(f'"{value}"' for value in GOOD.values())
    path.write_text(f"{header}\n{row}\n", encoding="utf-8")
    record = read_sidecar(path)
    assert record.call_id == "2024-0305-000123"
    assert record.callee == "+48 22 123 45 67"


def test_csv_sidecar_from_a_polish_spreadsheet(tmp_path: Path) -> None:
    path = tmp_path / "call123.wav.csv"
    text = "Start;Call_ID;Caller;Extra\r\n2024-03-05T14:02:11+01:00;A-1;600100200;x\r\n\r\n"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    record = read_sidecar(path)
    assert (record.call_id, record.caller) == ("A-1", "600100200")


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"call_id": None}, "required key 'call_id' is missing"),
        ({"start": None}, "required key 'start' is missing"),
        ({"start": ""}, "required key 'start' is missing or empty"),
        ({"start": "2024-03-05 14:02:11"}, "has no time zone"),
        ({"end": "2024-03-05T14:05:40"}, "end '2024-03-05T14:05:40' has no time zone"),
        ({"start": "5 March 2024"}, "not an ISO 8601 time"),
        ({"end": "2024-03-05T14:00:00+01:00"}, "end .* is before start"),
        ({"direction": "IN"}, "unknown direction 'IN'"),
        ({"caller": ["600100200"]}, "caller must be text"),
        ({"extension": True}, "extension must be text"),
    ],
)
def test_bad_json_sidecars(tmp_path: Path, changes: dict[str, Any], fragment: str) -> None:
    document = {key: value for key, value in {**GOOD, **changes}.items() if value is not None}
    with pytest.raises(SidecarError, match=fragment) as caught:
        read_sidecar(write_json(tmp_path, document))
    assert str(caught.value).startswith("call123.wav.json: ")


def test_zone_given_by_name_offset_works_across_dst(tmp_path: Path) -> None:
    document = {**GOOD, "start": "2024-10-27T02:30:00+02:00", "end": "2024-10-27T02:10:00+01:00"}
    record = read_sidecar(write_json(tmp_path, document))
    assert record.end is not None and record.end > record.start


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be an object"),
    ],
)
def test_not_a_json_object(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "a.wav.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SidecarError, match=fragment):
        read_sidecar(path)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("call_id,start\n", "found 1 rows"),
        ("call_id,start\na,2024-03-05T14:02:11Z\nb,2024-03-05T14:02:11Z\n", "found 3 rows"),
        ("call_id,start\na,2024-03-05T14:02:11Z,extra\n", "header has 2 columns"),
        ("call_id,call_id\na,b\n", "appears twice"),
        ("call_id,caller\na,201\n", "required key 'start'"),
    ],
)
def test_bad_csv_sidecars(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "a.wav.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SidecarError, match=fragment):
        read_sidecar(path)


def test_unreadable_and_misnamed(tmp_path: Path) -> None:
    with pytest.raises(SidecarError, match="cannot be read"):
        read_sidecar(tmp_path / "missing.wav.json")
    with pytest.raises(SidecarError, match=r"ends in \.json or \.csv"):
        read_sidecar(tmp_path / "call.wav")
    latin = tmp_path / "l.wav.json"
    latin.write_bytes('{"call_id": "ł"}'.encode("cp1250"))
    with pytest.raises(SidecarError, match="not UTF-8"):
        read_sidecar(latin)


def test_sidecar_for_and_audio_for(tmp_path: Path) -> None:
    audio = tmp_path / "call123.wav"
    assert sidecar_for(audio) is None
    (tmp_path / "call123.wav.csv").write_text("x", encoding="utf-8")
    assert sidecar_for(audio) == tmp_path / "call123.wav.csv"
    (tmp_path / "call123.wav.json").write_text("{}", encoding="utf-8")
    assert sidecar_for(audio) == tmp_path / "call123.wav.json"
    assert audio_for(tmp_path / "call123.wav.json") == audio
