"""The calls intake's quick ways of reading what a PBX writes (issue 68 item 5) give exactly
what the general ways give, over many inputs: a name's time stamp read by position, a CDR
time read by the C parser, a number's writing kept without the character scan, the keyed
hashes made from one HMAC state, and `keep` remembered."""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import example, given, settings
from hypothesis import strategies as st

from kustosz.ingest.phone.cdr import CdrError, _time
from kustosz.ingest.phone.filenames import _stamp
from kustosz.ingest.phone.spool import item_hash, item_hashes
from kustosz.phone_numbers import _NOT_SHOWN, WRITTEN_MAX, _keep, keep, written

WARSAW = ZoneInfo("Europe/Warsaw")
# ASCII digits, Arabic-Indic and full-width ones (\d matches them), and a few others.
DIGITS = "0123456789" + "٠١٢٣" + "０１９" + "x :-"


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet=DIGITS, min_size=14, max_size=14)
       | st.datetimes().map(lambda d: d.strftime("%Y%m%d%H%M%S")))
@example("20261102080000")
@example("20261302080000")  # no 13th month: strptime may split it otherwise, and decides
@example("20261031250000")
@example("20260229120000")
@example("20241231235960")
def test_a_names_stamp_reads_as_strptime_reads_it(stamp: str) -> None:
    try:
        expected: datetime | None = datetime.strptime(stamp, "%Y%m%d%H%M%S")
    except ValueError:
        expected = None
    try:
        got: datetime | None = _stamp(stamp)
    except ValueError:
        got = None
    assert got == expected


def _time_before(value: str) -> datetime:
    """cdr._time's reading as it was, strptime for the form (the C parser replaced it)."""
    naive = datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S")
    return naive.replace(tzinfo=WARSAW).astimezone(UTC)


@settings(max_examples=1500, deadline=None)
@given(st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31))
       .map(lambda d: d.strftime("%Y-%m-%d %H:%M:%S"))
       | st.text(alphabet="0123456789- :T.+٠", min_size=17, max_size=21))
@example("2026-10-25 02:30:00")  # the autumn hour that happens twice
@example("2026-03-29 02:30:00")  # the spring hour that does not happen
@example("2026-11-02T08:00:00")
@example("2026-11-02 08:00:00.5")
@example("2026-11-02 08+01:00")
@example("2026-03-29 24:00:00")  # 3.14's fromisoformat takes it as the next midnight
def test_a_cdr_time_reads_as_before(value: str) -> None:
    try:
        expected: datetime | None = _time_before(value)
    except ValueError:
        expected = None
    try:
        got = _time({"start": value}, "start", 1, WARSAW, False, not_before=None)
    except CdrError:
        got = None
    assert got == expected


def _written_slowly(raw: str) -> str:
    text = "".join(c for c in unicodedata.normalize("NFC", raw)
                   if unicodedata.category(c) not in _NOT_SHOWN)
    return text.strip()[:WRITTEN_MAX]


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0x7F)) | st.text())
@example("Józef Żółć <600 100 200>")
@example("😀 +48 600\u200b100\t200\x7f")
@example("e\u0301")  # not NFC
def test_a_numbers_writing_is_kept_as_the_character_scan_keeps_it(raw: str) -> None:
    assert written(raw) == _written_slowly(raw)


@settings(max_examples=300, deadline=None)
@given(st.text(), st.integers(min_value=1, max_value=8))
@example("Józef Żółć", 4)
@example("+48 600 100 200", 4)
def test_keep_remembered_is_keep(raw: str, digits: int) -> None:
    assert keep(raw, internal_max_digits=digits) == _keep.__wrapped__(raw, digits)
    assert keep(raw, internal_max_digits=digits) == keep(raw, internal_max_digits=digits)


_NO_SURROGATE = st.characters(blacklist_categories=("Cs",))  # not text a setting or a path holds


@settings(max_examples=200, deadline=None)
@given(st.text(_NO_SURROGATE, min_size=1), st.lists(st.text(_NO_SURROGATE), max_size=20))
@example("klucz-źdźbło-😀", ["2026/11/02/in-201-Józef Żółć-20261102-080000-1.2.wav", ""])
def test_a_passes_keyed_hashes_are_item_hash(key: str, rels: list[str]) -> None:
    plain = {rel: hmac.new(key.encode(), rel.encode(), hashlib.sha256).hexdigest()
             for rel in rels}  # the keyed hash as the index has always named files
    assert item_hashes(key, rels) == plain
    assert {rel: item_hash(key, rel) for rel in rels} == plain
