"""Issue 64 item 9: every number form of the exchanges' corpus (tests/corpus/cdr, its README
says where each file is from) through the real spool intake (`scan`): no call is stored with
an empty number its exchange gave; each number is stored in its canonical form, or as
written where it has none; the call is found by searching the number as written and by its
digits (`tests/support/numbers_kept.py`). The SIPREC and mirrored-port corpora are checked
the same way by their own corpus tests (tests/siprec/test_siprec_corpus.py,
tests/siprec/test_capture_corpus.py).

The finding's own numbers ("09243820431", "9996837840", "8906060", from an exchange's own
recordings and Master.csv) are not in the corpus: where a case uses one, it is put into a
corpus line or name in place of that sample's number, and the case says so."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
from calls_pbx import Pbx, PhoneCall, add_line, stored_calls, write_wav
from sqlalchemy import select
from tests.conftest import make_vault
from tests.support.numbers_kept import assert_numbers_kept

from kustosz.db.models import Alert
from kustosz.ingest.phone.intake import scan
from kustosz.states import AlertRow
from kustosz.vault import Vault

CORPUS = Path(__file__).parents[1] / "corpus" / "cdr"
ISSABEL = (CORPUS / "issabel/recording-name.txt").read_text().strip()
FREEPBX = (CORPUS / "freepbx/monitor-2024-11-17.txt").read_text().split()


def no_sleep(_: float) -> None:
    pass


def _sixteen(line: bytes) -> bytes:
    """Asterisk's default Master.csv (no loguniqueid, no loguserfield): the first sixteen
    columns — no verbatim one with a provenance was found (tests/corpus/cdr/README.md)."""
    return b",".join(line.rstrip(b"\n").split(b",")[:16]) + b"\n"


def _master(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


@dataclass
class Sample:
    master: Callable[[], bytes] = lambda: b""
    files: tuple[str, ...] = ()  # spool paths of the recordings (the names are the test's
    # where the sample is a Master.csv; the corpus's where it is a name)
    expect: dict[str, tuple[str, str]] = field(default_factory=dict)  # uniqueid: shown numbers
    no_cdr: bool = False


SAMPLES = {
    # Asterisk's test suite: a SIP peer's name as the caller ("Test User" <test>), 18 columns
    "asterisk good.csv": Sample(lambda: _master("asterisk-testsuite/good.csv"),
                                ("1231977075.0.wav",), {"1231977075.0": ("test", "100")}),
    # rsclib's doctest: a one-digit caller, a systemname in the uniqueid
    "rsclib": Sample(lambda: _master("rsclib/ast_cdr_doctest.csv"),
                     ("asterisk-1240499812.774.wav",),
                     {"asterisk-1240499812.774": ("3", "11")}),
    # iopsys: phone ports and a SIP account's calls, a caller ID with an empty name
    "iopsys": Sample(lambda: _master("iopsys/bbfdm-tr104-call-log.csv"),
                     ("1598519380.114.wav", "1598518936.86.wav"),
                     {"1598519380.114": ("7001", "8001"), "1598518936.86": ("8001", "8002")}),
    # the default sixteen columns: the test suite's Console/dsp calls (no caller at all)
    "asterisk default 16 columns": Sample(
        lambda: b"".join(_sixteen(x) for x in _master(
            "asterisk-testsuite/Master.csv").splitlines(keepends=True)),
        ("2010/04/02/in-1-unknown-20100402-002632-1270167992.0.wav",),
        {"1270167992.0": ("", "1")}),
    # FreePBX's names as listed on a real system
    "freepbx names": Sample(files=tuple(f"2024/11/17/{n}" for n in FREEPBX),
                            expect={"1731861697.2": ("1101", "1100"),
                                    "1731862119.0": ("1101", "1100")}, no_cdr=True),
    # Issabel's force- name with its number masked by the page's author
    "issabel masked": Sample(files=(f"2025/03/27/{ISSABEL}",),
                             expect={"1743042317.12206": ("3201", "0821XXXX8663")},
                             no_cdr=True),
    # the finding: a 10-digit caller in the default sixteen columns (the test suite's first
    # line with its src and clid set to it, and a FreePBX name of its start and numbers)
    "finding: 10 digits, 16 columns": Sample(
        lambda: _sixteen(_master("asterisk-testsuite/Master.csv").splitlines(keepends=True)[0]
                         .replace(b'"","","1"', b'"","9996837840","1"', 1)
                         .replace(b'"default","",', b'"default","9996837840",', 1)),
        ("2010/04/02/in-1-9996837840-20100402-002632-1270167992.0.wav",),
        {"1270167992.0": ("9996837840", "1")}),
    # the finding: an 11-digit caller in FreePBX's name (the listed name, its type and its
    # caller replaced)
    "finding: 11 digits, FreePBX name": Sample(
        files=("2024/11/17/" + FREEPBX[0].replace("internal-", "in-", 1)
               .replace("-1101-", "-09243820431-"),),
        expect={"1731861697.2": ("09243820431", "1100")}, no_cdr=True),
    # the finding: Issabel's force- name of a 7-digit number (the page's name, its masked
    # number replaced)
    "finding: 7 digits, Issabel name": Sample(
        files=(f"2025/03/27/{ISSABEL.replace('0821XXXX8663', '8906060')}",),
        expect={"1743042317.12206": ("3201", "8906060")}, no_cdr=True),
    # the finding's number as a caller ID with a Polish name and an emoji (iopsys's incoming
    # line, its caller replaced)
    "finding: caller ID with a Polish name": Sample(
        lambda: _master("iopsys/bbfdm-tr104-call-log.csv").splitlines(keepends=True)[2]
        .replace(b'"","7001","8001"', b'"","09243820431","8001"')
        .replace(b'""""" <7001>"', '"""Józef Żółć 📞"" <09243820431>"'.encode()),
        ("1598519380.114.wav",), {"1598519380.114": ("09243820431", "8001")}),
}


@pytest.fixture
def vault(tmp_path: Path, backend_url: str) -> Iterator[Vault]:
    v = make_vault(tmp_path / "vault", "boleslawiec", backend_url)  # every call in scope
    yield v
    v.close()


@pytest.mark.parametrize("name", list(SAMPLES))
def test_every_number_the_exchange_gave_is_kept_and_found(vault: Vault, tmp_path: Path,
                                                          name: str) -> None:
    sample = SAMPLES[name]
    pbx = Pbx(tmp_path / "pbx")
    pbx.master.write_bytes(sample.master())
    for rel in sample.files:
        write_wav(pbx.spool / rel, 2.0)
    add_line(vault, pbx, no_cdr_wait_s=0)
    report = scan(vault, "centrala", sleep=no_sleep)
    assert (report.stored, report.skipped) == (len(sample.expect), [])
    kept = stored_calls(vault)
    assert set(kept) == set(sample.expect)
    for uid, (caller, callee) in sample.expect.items():
        call, rec = kept[uid]
        assert (call.caller_written or call.caller, call.callee_written or call.callee) == (
            caller, callee)
        assert call.no_cdr is sample.no_cdr
        assert_numbers_kept(vault, call, rec)
    if name == "finding: caller ID with a Polish name":
        assert kept["1598519380.114"][1].meta["caller_name"] == "Józef Żółć 📞"


def _alerts(vault: Vault) -> list[str]:
    with vault.reading() as s:
        return list(s.execute(select(Alert.message).where(
            Alert.kind == AlertRow.INPUT_REFUSED)).scalars())


def test_under_external_incoming_only_the_digits_decide_and_what_they_cannot_is_told(
        tmp_path: Path, backend_url: str) -> None:
    """MOPS Wałbrzych keeps external incoming calls only [seed 004 §3.4]. An Issabel `force-`
    recording tells no direction: the numbers do (the names and their call records are the
    test's, in the corpus name's form, with the finding's numbers). Eleven digits calling an
    extension: incoming, kept (before: "unknown", dropped without a word). An extension
    calling them: outgoing, not kept. Seven digits calling an extension cannot be told from
    an extension the line was not told of: not kept — seed 004 keeps only calls known to be
    external incoming — and the office is told, without the number, by an alert naming the
    line's exchange."""
    vault = make_vault(tmp_path / "vault", "walbrzych", backend_url)
    try:
        assert str(vault.policy.call_scope) == "external_incoming"
        pbx = Pbx(tmp_path / "pbx")
        at = datetime(2025, 3, 27, 9, 25, 17)
        calls = {"in": PhoneCall("force", "3201", "09243820431", at, "1743042317.12206"),
                 "out": PhoneCall("force", "09243820431", "3201", at, "1743042317.12207"),
                 "untold": PhoneCall("force", "3201", "8906060", at, "1743042317.12208")}
        for c in calls.values():
            pbx.record(c)
            pbx.log(c, src=c.src, dst=c.dest, clid=f'"" <{c.src}>')
        add_line(vault, pbx, no_cdr_wait_s=0)
        report = scan(vault, "centrala", sleep=no_sleep)
        assert (report.stored, report.out_of_scope) == (1, 2)
        ((call, rec),) = stored_calls(vault).values()
        assert (call.caller, call.callee, call.direction) == ("09243820431", "3201",
                                                              "incoming")
        assert_numbers_kept(vault, call, rec)
        (alert,) = _alerts(vault)
        assert alert.startswith("Odrzucono dane od urządzenia „centrala linii centrala”: "
                                "nie zapisano rozmowy")
        assert "urząd nagrywa wyłącznie zewnętrzne połączenia przychodzące" in alert
        assert "8906060" not in alert
    finally:
        vault.close()


def test_a_sidecars_numbers_are_kept_as_written(vault: Vault, tmp_path: Path) -> None:
    """An exchange that writes a sidecar (docs/phone-sidecar.md; the sidecar is the test's):
    a caller in an everyday writing with no canonical form, and a callee that is a name with
    Polish letters and an emoji — each stored as written, found by it, and the first by its
    digits."""
    pbx = Pbx(tmp_path / "pbx")
    pbx.master.write_bytes(b"")
    audio = pbx.spool / "nagrania" / "rozmowa-0001.wav"
    write_wav(audio, 0.5)
    audio.with_name(audio.name + ".json").write_text(json.dumps({
        "call_id": "slican-0001", "start": "2026-11-20T09:15:00+01:00",
        "caller": "0924 382 04 31", "callee": "Józef Żółć 📞"}), encoding="utf-8")
    add_line(vault, pbx)
    assert scan(vault, "centrala", sleep=no_sleep).stored == 1
    ((call, rec),) = stored_calls(vault).values()
    assert (call.caller, call.caller_written) == ("09243820431", "0924 382 04 31")
    assert (call.callee, call.callee_written) == ("józef żółć 📞", "Józef Żółć 📞")
    assert call.direction == "unknown"  # a name may be the office's own phone
    assert_numbers_kept(vault, call, rec)
