"""Destroying a copy before its time needs the commission's reason (issue 12 item 8): before
its keep-until date — and then, when it was never handed over, the protocol says that too. One
rule in kustosz.custody.destruction for the pages, the API and the command line; a due copy
keeps the automatic reason. Refused confirmations change nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from tests.conftest import Cli, snapshot
from tests.custody.custody_helpers import people, record, setup_camera

from kustosz.custody import papers
from kustosz.custody.copies import make_copy
from kustosz.custody.decisions import decide
from kustosz.custody.destruction import confirm, early_words, reason_needed
from kustosz.custody.handover import hand_over
from kustosz.custody.requests import RequestSpec, register_request
from kustosz.db.custody import ActionEntry, Copy
from kustosz.errors import FieldError
from kustosz.vault import Vault

REASON = "wniosek wycofany przez Policję (pismo z dnia 20.11.2026)"


def _copy(vault: Vault, tmp: Path) -> str:
    people(vault)
    setup_camera(vault, "cam-hol")
    now = datetime.now(UTC).replace(microsecond=0)
    base = now - timedelta(hours=2)
    record(vault, "cam-hol", base, 2, tmp / "seg")
    tz = vault.policy.timezone
    with vault.transaction() as s:
        rid = register_request(s, vault.policy, RequestSpec(
            kind="authority", material="video", requester="KPP Pleszew",
            received_on=now.astimezone(tz).date(), event_date=base.astimezone(tz).date(),
            purpose="postępowanie", description="kradzież", cameras=["cam-hol"],
            start=base, end=base + timedelta(seconds=10), margin_minutes=0), "t").id
    with vault.transaction() as s:
        decide(s, vault.policy, rid, by="burmistrz", agree=True,
               on=now.astimezone(tz).date(), actor="t", keyed_by="burmistrz")
    return make_copy(vault, rid, by="informatyk", actor="t").number


def test_an_early_first_confirmation_needs_a_reason(vault: Vault, tmp_path: Path) -> None:
    number = _copy(vault, tmp_path)
    before = snapshot(vault)
    for reason in (None, "", "   "):
        with pytest.raises(FieldError) as err:
            confirm(vault, number, "komisja1", "t", reason=reason)
        assert err.value.field == "reason"
        assert "przed upływem okresu przechowywania" in (err.value.pl or "")
        assert "zanim została wydana" in (err.value.pl or "")
    assert snapshot(vault) == before
    _d, done = confirm(vault, number, "komisja1", "t", reason=REASON)
    assert not done
    _d, done = confirm(vault, number, "komisja2", "t")  # completes the first one's reason
    assert done
    with vault.reading() as s:
        data = papers.destruction_doc(s, vault.policy, number)[1]
        copy = s.execute(select(Copy).where(Copy.number == number)).scalar_one()
        actions = [a.description for a in s.execute(
            select(ActionEntry).where(ActionEntry.copy_id == copy.id)).scalars()]
    assert data["reason"] == REASON
    assert data["early"].startswith("Kopię zniszczono przed upływem okresu przechowywania")
    assert "zanim została wydana uprawnionemu organowi" in data["early"]
    assert sum(REASON in a for a in actions) == 2  # first confirmation and the destruction


def test_a_handed_over_copy_destroyed_early_says_only_the_date(vault: Vault,
                                                              tmp_path: Path) -> None:
    number = _copy(vault, tmp_path)
    hand_over(vault, number, receiver="asp. Ewa Łęcka, KPP Pleszew", by="informatyk", actor="t")
    with vault.reading() as s:
        copy = s.execute(select(Copy).where(Copy.number == number)).scalar_one()
        words = early_words(s, copy, vault.policy, datetime.now(UTC))
    assert words is not None and "wydana" not in words
    with pytest.raises(FieldError):
        confirm(vault, number, "komisja1", "t")
    confirm(vault, number, "komisja1", "t", reason=REASON)
    with vault.reading() as s:
        assert reason_needed(s, copy, vault.policy, datetime.now(UTC)) is None


def test_a_due_copy_needs_no_reason(vault: Vault, tmp_path: Path) -> None:
    number = _copy(vault, tmp_path)
    later = datetime.now(UTC) + timedelta(days=400)  # past any copy lifetime
    confirm(vault, number, "komisja1", "t", now=later)
    _d, done = confirm(vault, number, "komisja2", "t", now=later)
    assert done
    with vault.reading() as s:
        data = papers.destruction_doc(s, vault.policy, number)[1]
    assert data["early"] is None and data["reason"].startswith("upływ okresu przechowywania")


def test_a_reason_over_the_limit_is_refused(sqlite_vault: Vault, tmp_path: Path) -> None:
    number = _copy(sqlite_vault, tmp_path)
    before = snapshot(sqlite_vault)
    with pytest.raises(FieldError) as err:
        confirm(sqlite_vault, number, "komisja1", "t", reason="x" * 2001)
    assert err.value.field == "reason"
    assert snapshot(sqlite_vault) == before


def test_the_command_line_asks_for_the_reason(sqlite_vault: Vault, tmp_path: Path) -> None:
    number = _copy(sqlite_vault, tmp_path)
    cli = Cli(sqlite_vault.root)
    before = snapshot(sqlite_vault)
    bad = cli("copies", "destroy", number, "--by", "komisja1", ok=False)
    assert bad.exit_code == 2 and "keep-until" in bad.output and "--reason" in bad.output
    assert snapshot(sqlite_vault) == before
    cli("copies", "destroy", number, "--by", "komisja1", "--reason", REASON)
    out = cli("copies", "destroy", number, "--by", "komisja2").output
    assert "destruction protocol" in out


def test_the_command_line_prints_the_papers_of_a_given_handover(sqlite_vault: Vault,
                                                                 tmp_path: Path) -> None:
    number = _copy(sqlite_vault, tmp_path)
    cli = Cli(sqlite_vault.root)
    first = cli("copies", "handover", number, "--receiver", "asp. Ewa Łęcka, KPP Pleszew",
                "--by", "informatyk").output
    second = cli("copies", "handover", number, "--receiver", "sędzia Adam Wróbel, SR Pleszew",
                 "--by", "informatyk").output
    ids = [int(re.search(r"\(handover (\d+)\)", o).group(1)) for o in (first, second)]
    assert ids[0] != ids[1]
    out = tmp_path / "p.pdf"
    cli("documents", "render", "receipt", "--copy", number, "--handover", str(ids[0]),
        "--out", str(out))
    assert "Ewa Łęcka" in " ".join(PdfReader(out).pages[0].extract_text().split())
    bad = cli("documents", "render", "receipt", "--copy", number, "--handover", "999",
              "--out", str(out), ok=False)
    assert bad.exit_code != 0 and "has no handover 999" in bad.output
