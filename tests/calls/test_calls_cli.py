"""`kustosz phones …` and `kustosz calls …`: the legal-basis gate, scan and status, and search
by numbers written the many ways a request writes them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from calls_pbx import OFFICE_DID, Pbx, day_of_calls
from tests.conftest import Cli, snapshot

from kustosz.vault import Vault


@pytest.fixture
def line(tmp_path: Path, cli: Cli) -> tuple[Cli, Pbx, dict]:
    pbx = Pbx(tmp_path / "pbx")
    calls = day_of_calls(pbx)
    cli("init", "--preset", "walbrzych")
    cli("phones", "add", "centrala", "--spool", str(pbx.spool), "--cdr", str(pbx.master),
        "--office-number", "74 664 08 00")
    return cli, pbx, calls


def test_phone_source_needs_a_legal_basis_before_it_records(line: tuple[Cli, Pbx, dict]) -> None:
    cli, _, _ = line
    vault = Vault.open(cli.data)
    before = snapshot(vault)
    refused = cli("phones", "enable", "centrala", ok=False)
    assert refused.exit_code == 2 and "legal basis" in refused.output
    scan = cli("phones", "scan", "centrala", ok=False)
    assert scan.exit_code == 2 and "disabled" in scan.output
    assert snapshot(vault) == before
    cli("phones", "enable", "centrala", "--legal-basis", "art. 6 ust. 1 lit. c RODO",
        "--purpose", "bezpieczeństwo osób i mienia [004 §3.1]")
    listed = json.loads(cli("phones", "list", "--json").output)
    assert listed[0]["enabled"] is True and "RODO" in listed[0]["legal_basis"]
    vault.close()


def test_scan_status_and_search(line: tuple[Cli, Pbx, dict]) -> None:
    cli, _, calls = line
    cli("phones", "enable", "centrala", "--legal-basis", "art. 6 ust. 1 lit. c RODO",
        "--purpose", "bezpieczeństwo")
    report = json.loads(cli("phones", "scan", "centrala", "--json").output)
    assert (report["stored"], report["out_of_scope"]) == (3, 2)
    status = json.loads(cli("phones", "status", "centrala", "--json").output)
    assert (status["stored"], status["out_of_scope"], status["skipped"]) == (3, 2, 0)
    assert "item_key" not in status["settings"]
    assert "out of scope" in cli("phones", "status", "centrala").output
    # The call came from 600100200 at 14:05 on 20 November; the request writes it its own way.
    for writing in ("600 100 200", "+48 600-100-200", "0048600100200", "0600100200"):
        hits = json.loads(cli("calls", "search", "--number", writing, "--date", "2026-11-20",
                              "--hour", "14", "--within-minutes", "30", "--json").output)
        assert [h["recording_id"] for h in hits] == [1], writing
    hits = json.loads(cli("calls", "search", "--number", "600100200", "--callee", "201",
                          "--date", "2026-11-20", "--around", "14:00", "--window", "10",
                          "--json").output)
    assert len(hits) == 1 and hits[0]["caller"] == "+48600100200"
    # Outside the time window, another day, or the other party: nothing.
    for args in (("--hour", "16", "--within-minutes", "30"), ("--around", "13:30",
                                                                 "--window", "20")):
        assert json.loads(cli("calls", "search", "--number", "600100200", "--date",
                              "2026-11-20", *args, "--json").output) == []
    assert json.loads(cli("calls", "search", "--number", "600100200", "--date", "2026-11-21",
                          "--json").output) == []
    # Out-of-scope calls were never stored, so they cannot be found.
    assert json.loads(cli("calls", "search", "--number", "+48 22 123 45 67",
                          "--json").output) == []
    shown = json.loads(cli("calls", "show", "1", "--json").output)
    assert shown["caller"] == "+48600100200" and shown["disposition"] == "ANSWERED"
    assert calls["incoming"].uniqueid == shown["uniqueid"]


BAD = {
    "spool missing": ("phones", "add", "l2", "--spool", "{tmp}/nope", "--cdr", "{cdr}"),
    "cdr folder missing": ("phones", "add", "l2", "--spool", "{spool}", "--cdr",
                           "{tmp}/nope/Master.csv"),
    "bad office number": ("phones", "add", "l2", "--spool", "{spool}", "--cdr", "{cdr}",
                          "--office-number", "74-664-08-00 wew."),
    "duplicate name": ("phones", "add", "centrala", "--spool", "{spool}", "--cdr", "{cdr}"),
    "enable without basis": ("phones", "enable", "centrala", "--purpose", "x"),
    "enable unknown": ("phones", "enable", "l9", "--legal-basis", "x", "--purpose", "y"),
    "scan disabled": ("phones", "scan", "centrala"),
    # any writing is searched as written and by its digits (issue 64 item 9); "no number"
    # and a text no number could be are refused
    "search unknown caller": ("calls", "search", "--number", "anonymous"),
    "search overlong number": ("calls", "search", "--number", "1" * 65),
    "search bad date": ("calls", "search", "--number", "600100200", "--date", "20.11.2026"),
    "search hour without date": ("calls", "search", "--number", "600100200", "--hour", "14"),
    "search impossible hour": ("calls", "search", "--number", "600100200", "--date",
                               "2026-11-20", "--hour", "25"),
    "search without numbers": ("calls", "search", "--date", "2026-11-20"),
    "show unknown call": ("calls", "show", "99"),
    "status of unknown line": ("phones", "status", "l9"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_command_changes_nothing(case: str, line: tuple[Cli, Pbx, dict],
                                     tmp_path: Path) -> None:
    cli, pbx, _ = line
    vault = Vault.open(cli.data)
    before = snapshot(vault)
    args = [a.format(tmp=tmp_path, spool=pbx.spool, cdr=pbx.master) for a in BAD[case]]
    result = cli(*args, ok=False)
    assert result.exit_code == 2, result.output
    assert "error:" in result.output and len(result.output.strip().splitlines()) <= 3
    assert snapshot(vault) == before
    vault.close()


def test_office_numbers_are_stored_canonical(line: tuple[Cli, Pbx, dict]) -> None:
    cli, _, _ = line
    listed = json.loads(cli("phones", "status", "centrala", "--json").output)
    assert listed["settings"]["office_numbers"] == ["+48" + OFFICE_DID]


def test_watch_takes_calls_in_over_passes(line: tuple[Cli, Pbx, dict]) -> None:
    cli, _, _ = line
    cli("phones", "enable", "centrala", "--legal-basis", "art. 6 ust. 1 lit. c RODO",
        "--purpose", "bezpieczeństwo")
    # Pass 1 only looks; pass 2 sees the files unchanged and takes them in.
    cli("phones", "watch", "centrala", "--interval", "0.05", "--passes", "2")
    status = json.loads(cli("phones", "status", "centrala", "--json").output)
    assert (status["stored"], status["out_of_scope"]) == (3, 2)


def test_adding_and_enabling_a_line_says_the_callers_must_hear_the_announcement(
        cli: Cli) -> None:
    """Issue 49 item 6: a line recorded over SIPREC or off a mirrored port — where Kustosz
    plays nothing to the caller — reminds the office of the announcement [001 §1.3–1.4;
    004 §8 ust. 2; art. 13 RODO], when added and when enabled."""
    cli("init", "--preset", "walbrzych")
    said = [cli("phones", "add-siprec", "sbc", "--from", "10.0.5.1",
                "--office-number", "74 664 08 00").output,
            cli("phones", "add-capture", "span", "--interface", "lo",
                "--office-number", "74 664 08 01").output,
            cli("phones", "enable", "sbc", "--legal-basis", "art. 6 ust. 1 lit. c RODO",
                "--purpose", "bezpieczeństwo osób i mienia [004 §3.1]").output]
    for out in said:
        flat = " ".join(out.split())
        assert "dzwoniący muszą usłyszeć komunikat o nagrywaniu rozmowy" in flat, out
        assert "Kustosz go nie odtwarza" in flat


def test_a_capture_line_names_its_sip_tcp_ports_and_a_bad_one_changes_nothing(
        cli: Cli) -> None:
    """Issue 47: an exchange signalling SIP over TCP on its own port (FreeSWITCH's 5080) is
    named with --sip-tcp-port; a line that names none keeps 5060 and 5061; a port that is no
    port, or more than the filter can test, is refused and nothing is added."""
    from kustosz.index.sources import get_source
    from kustosz.phones.settings import PhoneSettings

    cli("init", "--preset", "walbrzych")
    cli("phones", "add-capture", "span", "--interface", "lo", "--office-number",
        "74 664 08 01", "--sip-tcp-port", "5080", "--sip-tcp-port", "5080")
    vault = Vault.open(cli.data)
    before = snapshot(vault)
    many = [arg for p in range(6000, 6017) for arg in ("--sip-tcp-port", str(p))]
    for bad, said in ((["--sip-tcp-port", "70000"], "1–65535"), (many, "najwyżej 16")):
        out = cli("phones", "add-capture", "span2", "--interface", "lo", "--office-number",
                  "74 664 08 02", *bad, ok=False)
        assert out.exit_code != 0 and said in " ".join(out.output.split()), out.output
    assert snapshot(vault) == before
    with vault.reading() as s:
        assert PhoneSettings.of(get_source(s, "span").settings).sip_tcp_ports == [5080]
    vault.close()
