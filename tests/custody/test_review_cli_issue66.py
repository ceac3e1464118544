"""Issue 66 item 5: a data subject's video request (art. 15 RODO) finished without the browser.
The masked copy is played to a second custodian by `kustosz copies review` at the speed it
plays (watched: what was handed on in real time, as on the review page), approved by
`kustosz copies approve` and handed over by `kustosz copies handover`; approving what was not
watched, a review by the copy's maker and a sending back without a reason are refused in
Polish, and change nothing."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from custody_helpers import people, record, setup_camera
from sqlalchemy import select
from tests.conftest import Cli, make_vault
from tests.office_day import office_today

from kustosz.access.authorisations import issue
from kustosz.access.users import add_user
from kustosz.custody import subject_review as sr
from kustosz.custody.copies import get_copy, make_copy
from kustosz.custody.decisions import decide
from kustosz.custody.requests import RequestSpec, get_request, register_request
from kustosz.db.access import AccessEntry
from kustosz.vault import Vault

REVIEWER = "kustosz-przeglad"


def _masked_copy(root: Path, tmp: Path) -> str:
    """A data subject's video request, approved and copied (masked): its copy's number."""
    vault = make_vault(root)
    try:
        people(vault)
        start = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
        setup_camera(vault)
        record(vault, "cam-hol", start, 1, tmp / "segs")
        t = datetime.now(UTC)
        with vault.transaction() as s:
            rid = register_request(s, vault.policy, RequestSpec(
                kind="data_subject", material="video", requester="Józef Żółć, ul. Łąkowa 5",
                received_on=office_today(), event_date=start.astimezone(
                    vault.policy.timezone).date(), purpose="", start=start,
                end=start + timedelta(seconds=2), margin_minutes=0, cameras=["cam-hol"]),
                "t").id
            decide(s, vault.policy, rid, by="burmistrz", agree=True, on=office_today(),
                   actor="t", keyed_by="burmistrz")
            add_user(s, REVIEWER, "Maria Wrona", ["custodian"], "test")
            issue(s, holder=REVIEWER, actions=["export"], sources=[], source_kinds=["camera"],
                  valid_from=t - timedelta(days=1), valid_to=t + timedelta(days=30),
                  by="burmistrz", actor="test")
        return make_copy(vault, rid, "informatyk", "t").number
    finally:
        vault.close()


def test_a_video_subject_request_is_finished_from_the_command_line(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "vault")
    number = _masked_copy(cli.data, tmp_path)
    # approving before watching is refused, and changes nothing
    early = cli("copies", "approve", number, "--by", REVIEWER, ok=False)
    assert early.exit_code != 0
    assert "nie zostało obejrzane do końca" in " ".join(early.output.split())
    # the copy's maker may not review it
    maker = cli("copies", "review", number, "--by", "informatyk", "-o",
                str(tmp_path / "x.mp4"), ok=False)
    assert maker.exit_code != 0 and "przegląd przeprowadza druga osoba" in maker.output
    assert not (tmp_path / "x.mp4").exists()
    # a sending back says why
    said = cli("copies", "send-back", number, "--by", REVIEWER, "--reason", "  ", ok=False)
    assert said.exit_code != 0 and "Podaj powód zwrotu kopii" in said.output

    played = tmp_path / "odtwarzacz.mp4"
    began = time.monotonic()
    done = cli("copies", "review", number, "--by", REVIEWER, "-o", str(played))
    took = time.monotonic() - began
    vault = Vault.open(cli.data)
    try:
        with vault.reading() as s:
            copy = get_copy(s, number)
            [masked] = sr.masked_files(copy)
            assert played.read_bytes() == (cli.data / copy.bundle / masked.path).read_bytes()
            served = s.execute(select(AccessEntry).where(
                AccessEntry.what == f"copy {number} {masked.path}")).scalars().all()
        assert len(served) == 1  # the file served is on the access record
    finally:
        vault.close()
    assert took >= masked.duration_s - 0.5  # paced: not faster than it plays
    assert "obejrzano / watched: cam-hol 100,0%" in done.output

    approved = cli("copies", "approve", number, "--by", REVIEWER)
    assert f"Kopię nr {number} zatwierdzono po przeglądzie" in approved.output
    cli("copies", "handover", number, "--receiver", "Józef Żółć (osobiście)", "--by",
        "informatyk", "--medium", "płyta CD")
    vault = Vault.open(cli.data)
    try:
        with vault.reading() as s:
            copy = get_copy(s, number)
            assert copy.review_state == sr.APPROVED and copy.reviewed_by == REVIEWER
    finally:
        vault.close()


def test_masks_are_marked_and_removed_from_the_command_line(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "vault")
    vault = make_vault(cli.data)
    try:
        people(vault)
        start = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
        setup_camera(vault)
        with vault.transaction() as s:
            rid = register_request(s, vault.policy, RequestSpec(
                kind="data_subject", material="video", requester="Józef Żółć",
                received_on=office_today(), event_date=start.astimezone(
                    vault.policy.timezone).date(), purpose="", start=start,
                end=start + timedelta(seconds=2), margin_minutes=0, cameras=["cam-hol"]),
                "t").id
            decide(s, vault.policy, rid, by="burmistrz", agree=True, on=office_today(),
                   actor="t", keyed_by="burmistrz")
    finally:
        vault.close()
    said = cli("requests", "mask", str(rid), "--source", "cam-hol", "--x", "10", "--y", "20",
               "--w", "30", "--h", "40", "--from", "0", "--to", "1.5", "--note", "tablica 🚗")
    assert "Obszar nr 1 zapisany (maska ręczna, cam-hol, 0–1.5 s)" in said.output
    # bad input: refused in Polish, nothing changed
    out = cli("requests", "mask", str(rid), "--source", "cam-hol", "--x", "90", "--y", "0",
              "--w", "30", "--h", "10", "--from", "0", "--to", "1", ok=False).output
    assert "wychodzi poza kadr" in " ".join(out.split())
    out = cli("requests", "mask", str(rid), "--source", "brama", "--x", "0", "--y", "0",
              "--w", "10", "--h", "10", "--from", "0", "--to", "1", ok=False).output
    assert "nie należy do kamer wniosku" in out
    vault = Vault.open(cli.data)
    try:
        with vault.reading() as s:
            [region] = get_request(s, rid).subject_regions
        assert (region["x"], region["w"], region["note"]) == (10, 30, "tablica 🚗")
    finally:
        vault.close()
    assert "Obszar nr 1 usunięty" in cli("requests", "unmask", str(rid), "1").output
    gone = cli("requests", "unmask", str(rid), "1", ok=False)
    assert gone.exit_code != 0 and "nie ma obszaru nr 1" in gone.output
