"""Asterisk cdr_csv Master.csv: lines, layouts, bad lines and incremental reading."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kustosz.ingest.phone.cdr import (
    BASE_COLUMNS,
    CallRecord,
    CdrError,
    parse_line,
    read_cdr,
    split_clid,
)

Value = str | int | datetime | None
TIME_COLUMNS = ("start", "answer", "end")
INT_COLUMNS = ("duration", "billsec", "sequence")


def asterisk_line(values: dict[str, Value], columns: tuple[str, ...]) -> str:
    """Write one line exactly as cdr_csv does.

    Text is always double-quoted with ``"`` doubled; duration, billsec and sequence are bare
    integers; an unset time is written as nothing, without quotes.
    """
    out = []
    for column in columns:
        value = values[column]
        if column in INT_COLUMNS:
            out.append(str(value))
        elif column in TIME_COLUMNS and value is None:
            out.append("")
        else:
            if isinstance(value, datetime):
                value = value.strftime("%Y-%m-%d %H:%M:%S")
            out.append('"' + str(value).replace('"', '""') + '"')
    return ",".join(out) + "\n"


def call(**changes: Value) -> dict[str, Value]:
    values: dict[str, Value] = {
        "accountcode": "",
        "src": "600100200",
        "dst": "201",
        "dcontext": "from-trunk",
        "clid": '"Jan Kowalski" <600100200>',
        "channel": "PJSIP/trunk-00000001",
        "dstchannel": "PJSIP/201-00000002",
        "lastapp": "Dial",
        "lastdata": "PJSIP/201,30,tr",
        "start": datetime(2024, 1, 15, 10, 0, 0),
        "answer": datetime(2024, 1, 15, 10, 0, 5),
        "end": datetime(2024, 1, 15, 10, 3, 5),
        "duration": 185,
        "billsec": 180,
        "disposition": "ANSWERED",
        "amaflags": "DOCUMENTATION",
        "uniqueid": "1705312800.42",
        "userfield": "",
        "peeraccount": "",
        "linkedid": "1705312800.41",
        "sequence": 7,
    }
    values.update(changes)
    return values


COLS_16 = BASE_COLUMNS
COLS_17 = (*BASE_COLUMNS, "uniqueid")
COLS_18 = (*BASE_COLUMNS, "uniqueid", "userfield")
COLS_19 = (*BASE_COLUMNS, "peeraccount", "linkedid", "sequence")
COLS_21 = (*COLS_18, "peeraccount", "linkedid", "sequence")

_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00"),
    max_size=30,
)
_times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)).map(
    lambda moment: moment.replace(microsecond=0)
)


@given(
    texts=st.fixed_dictionaries(
        {
            name: _text
            for name in (
                "accountcode",
                "src",
                "dst",
                "dcontext",
                "clid",
                "channel",
                "dstchannel",
                "lastapp",
                "lastdata",
                "disposition",
                "amaflags",
                "userfield",
                "peeraccount",
                "linkedid",
            )
        }
    ),
    start=_times,
    answer=st.none() | _times,
    end=_times,
    ints=st.tuples(*(st.integers(0, 10**7),) * 3),
    uniqueid=st.from_regex(r"\A[0-9]{10}\.[0-9]{1,5}\Z", fullmatch=True),
    columns=st.sampled_from([COLS_16, COLS_18, COLS_19, COLS_21]),
)
def test_lines_written_like_asterisk_round_trip(
    texts: dict[str, str],
    start: datetime,
    answer: datetime | None,
    end: datetime,
    ints: tuple[int, int, int],
    uniqueid: str,
    columns: tuple[str, ...],
) -> None:
    values = call(**texts, start=start, answer=answer, end=end, uniqueid=uniqueid)
    values.update(zip(INT_COLUMNS, ints, strict=True))
    record = parse_line(asterisk_line(values, columns), 1, utc=True)
    for column in columns:
        expected = values[column]
        if isinstance(expected, datetime):
            expected = expected.replace(tzinfo=UTC)
        assert getattr(record, column) == expected, column


def test_quoted_commas_and_doubled_quotes_in_clid() -> None:
    # Asterisk puts the name between quotes without escaping the quotes inside it.
    clid = '"Kowalski, Jan "Janek"" <600100200>'
    record = parse_line(asterisk_line(call(clid=clid), COLS_18), 3)
    assert record.clid == clid
    assert record.caller_name == 'Kowalski, Jan "Janek"'
    assert record.caller_number == "600100200"
    assert record.dst == "201"


def test_empty_fields() -> None:
    record = parse_line(
        asterisk_line(call(accountcode="", dstchannel="", lastdata="", clid=""), COLS_16), 1
    )
    assert record.accountcode == ""
    assert record.dstchannel == ""
    assert record.caller_number == "600100200"  # falls back to src
    assert record.uniqueid == ""
    assert record.sequence is None


def test_unanswered_call() -> None:
    values = call(answer=None, billsec=0, disposition="NO ANSWER", dstchannel="")
    record = parse_line(asterisk_line(values, COLS_18), 1)
    assert record.answer is None
    assert not record.answered
    assert record.disposition == "NO ANSWER"
    assert record.billsec == 0
    assert record.end == datetime(2024, 1, 15, 9, 3, 5, tzinfo=UTC)


def test_real_looking_line() -> None:
    line = (
        '"","600100200","201","from-trunk","""Jan Kowalski"" <600100200>",'
        '"PJSIP/trunk-00000001","PJSIP/201-00000002","Dial","PJSIP/201,30,tr",'
        '"2024-07-01 12:00:00","2024-07-01 12:00:04","2024-07-01 12:01:00",60,56,'
        '"ANSWERED","DOCUMENTATION","1719828000.7",""\n'
    )
    record = parse_line(line, 1)
    assert record.lastdata == "PJSIP/201,30,tr"
    assert record.start == datetime(2024, 7, 1, 10, 0, 0, tzinfo=UTC)  # CEST is UTC+2
    assert record.duration == 60
    assert record.uniqueid == "1719828000.7"


@pytest.mark.parametrize(
    ("columns", "uniqueid", "userfield", "sequence"),
    [
        (COLS_16, "", "", None),
        (COLS_17, "1705312800.42", "", None),
        ((*BASE_COLUMNS, "userfield"), "", "note", None),
        (COLS_18, "1705312800.42", "note", None),
        (COLS_19, "", "", 7),
        ((*COLS_17, "peeraccount", "linkedid", "sequence"), "1705312800.42", "", 7),
        (COLS_21, "1705312800.42", "note", 7),
    ],
)
def test_column_layouts(
    columns: tuple[str, ...], uniqueid: str, userfield: str, sequence: int | None
) -> None:
    record = parse_line(asterisk_line(call(userfield="note"), columns), 1)
    assert (record.uniqueid, record.userfield, record.sequence) == (uniqueid, userfield, sequence)
    if sequence is not None:
        assert record.linkedid == "1705312800.41"


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ('"a","b","c"\n', "16 to 21 columns.*got 3"),
        (asterisk_line(call(), (*COLS_21, "sequence")), "got 22"),
        (asterisk_line(call(start="15.01.2024 10:00"), COLS_16), "start time '15.01.2024"),
        (asterisk_line(call(answer="2024-02-30 10:00:00"), COLS_16), "answer time"),
        (asterisk_line(call(start=""), COLS_16), "start time is empty"),
        (asterisk_line(call(duration="12.5"), COLS_16), "duration is not a whole number"),
        (asterisk_line(call(billsec="-3"), COLS_16), "billsec is not a whole number"),
        (asterisk_line(call(sequence="x"), COLS_19), "sequence is not a whole number"),
        ('"a"b' + ',""' * 15 + "\n", "malformed CSV"),
    ],
)
def test_bad_lines_name_the_line_and_the_problem(line: str, fragment: str) -> None:
    with pytest.raises(CdrError, match=fragment) as caught:
        parse_line(line, 12)
    message = str(caught.value)
    assert message.startswith("line 12: ")
    assert "\n" not in message
    assert isinstance(caught.value, ValueError)


def test_times_are_converted_from_the_pbx_zone() -> None:
    values = call(start=datetime(2024, 1, 15, 10, 0), answer=None, end=datetime(2024, 7, 1, 10))
    record = parse_line(asterisk_line(values, COLS_16), 1)
    assert record.start == datetime(2024, 1, 15, 9, 0, tzinfo=UTC)
    assert record.end == datetime(2024, 7, 1, 8, 0, tzinfo=UTC)
    in_utc = parse_line(asterisk_line(values, COLS_16), 1, utc=True)
    assert in_utc.start == datetime(2024, 1, 15, 10, 0, tzinfo=UTC)
    lisbon = parse_line(asterisk_line(values, COLS_16), 1, tz=ZoneInfo("Europe/Lisbon"))
    assert lisbon.start == datetime(2024, 1, 15, 10, 0, tzinfo=UTC)


def test_the_repeated_autumn_hour_keeps_end_after_start() -> None:
    values = call(
        start=datetime(2023, 10, 29, 2, 50),
        answer=datetime(2023, 10, 29, 2, 55),
        end=datetime(2023, 10, 29, 2, 10),
        duration=1200,
        billsec=900,
    )
    record = parse_line(asterisk_line(values, COLS_16), 1)
    assert record.start == datetime(2023, 10, 29, 0, 50, tzinfo=UTC)
    assert record.end == datetime(2023, 10, 29, 1, 10, tzinfo=UTC)
    assert record.answer is not None and record.start <= record.answer <= record.end


@pytest.mark.parametrize(
    ("lastapp", "lastdata", "userfield", "expected"),
    [
        ("Dial", "PJSIP/201", "in-201-600100200-20240115-100000-1705312800.42.wav", None),
        ("Dial", "PJSIP/201", "audio=/var/spool/x/call.WAV;note=1", "/var/spool/x/call.WAV"),
        (
            "MixMonitor",
            "/var/spool/asterisk/monitor/a.wav,b",
            "",
            "/var/spool/asterisk/monitor/a.wav",
        ),
        ("MixMonitor", "a.gsm|b", "", "a.gsm"),
        ("Dial", "PJSIP/201", "no file here", ""),
    ],
)
def test_recording_file(lastapp: str, lastdata: str, userfield: str, expected: str | None) -> None:
    values = call(lastapp=lastapp, lastdata=lastdata, userfield=userfield)
    record = parse_line(asterisk_line(values, COLS_18), 1)
    assert record.recordingfile == (userfield if expected is None else expected)


@pytest.mark.parametrize(
    ("clid", "parts"),
    [
        ('"Jan Kowalski" <600100200>', ("Jan Kowalski", "600100200")),
        ('"" <201>', ("", "201")),
        ("<201>", ("", "201")),
        ("600100200", ("", "600100200")),
        ("Jan Kowalski", ("Jan Kowalski", "")),
        ("", ("", "")),
        ('"Say "hi"" <201>', ('Say "hi"', "201")),
        ("Jan <201>", ("Jan", "201")),
    ],
)
def test_split_clid(clid: str, parts: tuple[str, str]) -> None:
    assert split_clid(clid) == parts


def _write(path: Path, text: str, mode: str = "w") -> None:
    with open(path, mode, encoding="utf-8", newline="") as stream:
        stream.write(text)


def test_read_cdr_collects_bad_lines_and_leaves_a_partial_line(tmp_path: Path) -> None:
    master = tmp_path / "Master.csv"
    good = asterisk_line(call(uniqueid="1705312800.1"), COLS_18)
    bad = asterisk_line(call(duration="abc"), COLS_18)
    also_good = asterisk_line(call(uniqueid="1705312800.3"), COLS_21)
    partial = asterisk_line(call(uniqueid="1705312800.4"), COLS_18)
    _write(master, good + bad + "\n" + also_good + partial[:40])

    records, errors, offset = read_cdr(master)
    assert [record.uniqueid for record in records] == ["1705312800.1", "1705312800.3"]
    assert len(errors) == 1
    assert errors[0].lineno == 2
    assert errors[0].offset == len(good.encode())
    assert str(errors[0]).startswith(f"Master.csv line 2 (byte offset {len(good.encode())}): ")
    assert offset == len((good + bad + "\n" + also_good).encode())

    again, errors_again, same = read_cdr(master, start_offset=offset)
    assert (again, errors_again, same) == ([], [], offset)

    _write(master, partial[40:], mode="a")
    rest, rest_errors, end = read_cdr(master, start_offset=offset)
    assert [record.uniqueid for record in rest] == ["1705312800.4"]
    assert rest_errors == []
    assert end == master.stat().st_size


def test_read_cdr_counts_bytes_not_characters(tmp_path: Path) -> None:
    master = tmp_path / "Master.csv"
    first = asterisk_line(call(clid='"Żółć Gęślą" <600100200>'), COLS_18)
    second = asterisk_line(call(uniqueid="1705312800.9"), COLS_18)
    _write(master, first + second)
    records, _, offset = read_cdr(master)
    assert records[0].caller_name == "Żółć Gęślą"
    assert offset == master.stat().st_size
    middle = len(first.encode("utf-8"))
    tail, _, _ = read_cdr(master, start_offset=middle)
    assert [record.uniqueid for record in tail] == ["1705312800.9"]


def test_read_cdr_handles_crlf_and_invalid_utf8(tmp_path: Path) -> None:
    master = tmp_path / "Master.csv"
    line = asterisk_line(call(clid="X <201>"), COLS_18).replace("\n", "\r\n")
    master.write_bytes(line.replace("X", "\xff").encode("latin-1"))
    records, errors, _ = read_cdr(master)
    assert errors == []
    assert records[0].caller_number == "201"


def test_read_cdr_refuses_an_offset_it_did_not_return(tmp_path: Path) -> None:
    master = tmp_path / "Master.csv"
    _write(master, asterisk_line(call(), COLS_18))
    with pytest.raises(CdrError, match="rotated or truncated"):
        read_cdr(master, start_offset=10_000)
    with pytest.raises(CdrError, match="not at the start of a line"):
        read_cdr(master, start_offset=5)
    with pytest.raises(CdrError, match="negative"):
        read_cdr(master, start_offset=-1)


def test_empty_file(tmp_path: Path) -> None:
    master = tmp_path / "Master.csv"
    master.write_bytes(b"")
    assert read_cdr(master) == ([], [], 0)


def test_cdr_error_survives_pickling() -> None:
    error = CdrError("bad", lineno=3, offset=99, source="Master.csv")
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.lineno, copy.offset) == (str(error), 3, 99)


def test_call_record_is_immutable() -> None:
    record = parse_line(asterisk_line(call(), COLS_16), 1)
    assert isinstance(record, CallRecord)
    with pytest.raises(AttributeError):
        record.src = "x"  # type: ignore[misc]


CORPUS = Path(__file__).parents[1] / "corpus" / "cdr"


def test_corpus_lines_of_real_asterisks() -> None:
    """tests/corpus/cdr as written: the test suite's 18-column lines, rsclib's line with a
    systemname-prefixed uniqueid; the same line without its userfield (17 columns: only
    loguniqueid on, derived here) still tells the uniqueid from a userfield."""
    records, errors, _ = read_cdr(CORPUS / "asterisk-testsuite" / "good.csv")
    assert errors == [] and [r.disposition for r in records] == [
        "ANSWERED", "ANSWERED", "FAILED", "NO ANSWER", "BUSY"]
    assert records[0].caller_name == "Test User" and records[0].uniqueid == "1231977075.0"
    line = (CORPUS / "rsclib" / "ast_cdr_doctest.csv").read_text()
    record = parse_line(line, 1)
    assert (record.uniqueid, record.userfield, record.dst) == (
        "asterisk-1240499812.774", "102441/54", "11")
    only_uid = parse_line(line.rsplit(",", 1)[0], 1)
    assert (only_uid.uniqueid, only_uid.userfield) == ("asterisk-1240499812.774", "")


def test_corpus_line_cut_in_its_quoting_is_refused() -> None:
    records, errors, _ = read_cdr(CORPUS / "asterisk-testsuite" / "buggy.csv")
    assert records == [] and len(errors) == 1
    assert "buggy.csv line 1" in str(errors[0]) and "malformed CSV quoting" in str(errors[0])


def test_a_record_without_uniqueid_is_picked_by_time_and_number() -> None:
    """Asterisk's default form (no uniqueid): the call that was up when the recording started,
    with one of the name's numbers; a uniqueid-only name must start with its call."""
    from kustosz.ingest.phone.filenames import parse_recording_name
    from kustosz.ingest.phone.records import pick_record

    def row(rid: int, start: str, end: str, src: str, dst: str
            ) -> tuple[int, str, str, dict[str, str]]:
        return (rid, "", "", {"start": start, "end": end, "src": src, "dst": dst,
                              "caller_number": src, "disposition": "ANSWERED"})

    rows = [row(1, "2024-01-15T09:00:00+00:00", "2024-01-15T09:05:00+00:00", "600100200", "201"),
            row(2, "2024-01-15T09:01:00+00:00", "2024-01-15T09:03:00+00:00", "600100200", "202"),
            row(3, "2024-01-15T09:01:30+00:00", "2024-01-15T09:02:00+00:00", "500", "203")]

    def picked(name: str, claimed: frozenset[int] = frozenset()) -> int | None:
        parsed = parse_recording_name(name)
        found = pick_record(rows, "x", parsed.uniqueid, set(claimed), parsed)
        return None if found is None else found[0]

    assert picked("in-202-600100200-20240115-100200-1705309320.1.wav") == 2
    assert picked("in-202-600100200-20240115-100200-1705309320.1.wav", frozenset({2})) == 1
    assert picked("in-999-777-20240115-100200-1705309320.1.wav") is None
    assert picked("1705309290.7.wav") == 3  # 09:01:30 UTC: the third call's start
    assert picked("1705309295.7.wav") is None  # five seconds into all three: none


def test_numbers_compare_as_both_sides_write_them() -> None:
    from kustosz.ingest.phone.records import _digits

    assert {_digits(n) for n in ("+48 600 100 200", "0048600100200", "0600100200",
                                 "600100200")} == {"600100200"}
    assert _digits("201") == "201" and _digits("") == ""
