"""Issue 17 item 3 (R6.2): a data subject receives only the calls in which their own number
took part. A request naming only the office's line (a party to everyone's calls) is refused;
when nothing was found at registration (every line held) the copy searches again by the
person's number and never copies whole lines."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from custody_helpers import OFFICE_NUMBER, call, people, setup_phone
from tests.conftest import make_vault, snapshot
from tests.office_day import office_today
from tests.support.bundles import bundle_text

from kustosz.custody.copies import make_copy
from kustosz.custody.decisions import decide
from kustosz.custody.requests import RequestSpec, register_request
from kustosz.errors import FieldError, KustoszError
from kustosz.vault import Vault

HERS, HIS = "+48600100200", "+48600300400"


def _spec(vault: Vault, caller: str | None, callee: str | None, now: datetime) -> RequestSpec:
    return RequestSpec(kind="data_subject", material="calls", requester="Anna Łęcka",
                       received_on=office_today(),
                       event_date=now.astimezone(vault.policy.timezone).date(),
                       purpose="dostęp do nagrań moich rozmów", caller=caller, callee=callee,
                       # ended a minute ago: a copy covers only the past (issue 29 item 1)
                       start=now - timedelta(hours=2), end=now - timedelta(minutes=1),
                       margin_minutes=0)


def _approved(vault: Vault, spec: RequestSpec) -> int:
    with vault.transaction() as s:
        rid = register_request(s, vault.policy, spec, "t").id
        decide(s, vault.policy, rid, by="burmistrz", agree=True, on=office_today(),
               actor="t", keyed_by="burmistrz")
    return rid


@pytest.fixture
def lines(tmp_path: Path, backend_url: str) -> Iterator[Vault]:
    vault = make_vault(tmp_path / "mops", preset="walbrzych", url=backend_url)  # records calls
    people(vault)
    setup_phone(vault, tmp_path / "pbx")
    yield vault
    vault.close()


def test_only_the_office_line_is_refused(lines: Vault) -> None:
    before = snapshot(lines)
    with pytest.raises(FieldError, match="own number") as caught, lines.transaction() as s:
        register_request(s, lines.policy, _spec(lines, None, OFFICE_NUMBER, datetime.now(UTC)),
                         "t")
    assert caught.value.field == "caller" and "własny numer" in (caught.value.pl or "")
    assert snapshot(lines) == before


def test_her_calls_only(lines: Vault, tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    (tmp_path / "calls").mkdir()
    mine = call(lines, tmp_path / "calls", now - timedelta(minutes=50), HERS)
    call(lines, tmp_path / "calls", now - timedelta(minutes=40), HIS)
    rid = _approved(lines, _spec(lines, HERS, OFFICE_NUMBER, now))
    copy = make_copy(lines, rid, "informatyk", "t")
    manifest = json.loads((lines.root / copy.bundle / "manifest.json").read_text("utf-8"))
    assert [m["source"]["caller"] for m in manifest["media"]] == [HERS]
    assert copy.items == [mine.id]
    assert "600300400" not in bundle_text(lines.root / copy.bundle)  # grep the whole bundle


def test_nothing_found_at_registration_never_copies_whole_lines(lines: Vault,
                                                                 tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    rid = _approved(lines, _spec(lines, HERS, None, now))  # nothing yet: every line held
    (tmp_path / "calls").mkdir()
    call(lines, tmp_path / "calls", now - timedelta(minutes=40), HIS)  # someone else's
    with pytest.raises(KustoszError):
        make_copy(lines, rid, "informatyk", "t")  # no call of hers: no copy, not the line
    mine = call(lines, tmp_path / "calls", now - timedelta(minutes=30), HERS)
    copy = make_copy(lines, rid, "informatyk", "t")  # the intake caught up: hers only
    assert copy.items == [mine.id]


def _text(pdf: bytes, tmp: Path) -> str:
    import subprocess

    (tmp / "a.pdf").write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-layout", str(tmp / "a.pdf"), "-"], check=True,
                         capture_output=True, text=True).stdout
    return " ".join(out.split())


def test_the_answer_letter(lines: Vault, tmp_path: Path) -> None:
    """Refused before the answer; after the handover it names the copy, what it holds and
    what was taken out, the office clause's rights and the complaint to the Prezes UODO; a
    refusal's letter gives the reason and art. 12 ust. 4."""
    from kustosz.custody import papers
    from kustosz.custody.handover import hand_over
    from kustosz.documents import render

    now = datetime.now(UTC).replace(microsecond=0)
    (tmp_path / "calls").mkdir()
    call(lines, tmp_path / "calls", now - timedelta(minutes=50), HERS)
    rid = _approved(lines, _spec(lines, HERS, OFFICE_NUMBER, now))
    with lines.reading() as s, pytest.raises(KustoszError, match="not answered yet"):
        papers.answer_letter_doc(s, lines.policy, rid)
    copy = make_copy(lines, rid, "informatyk", "t")
    hand_over(lines, copy.number, receiver="Anna Łęcka (osobiście)", by="informatyk",
              actor="t", request_id=rid, medium="płyta CD")
    with lines.reading() as s:
        text = _text(render(*papers.answer_letter_doc(s, lines.policy, rid)), tmp_path)
    assert f"przekazuję ich kopię nr {copy.number}" in text and "płyta CD" in text
    assert f"z numeru {HERS}" in text and "wyłącznie rozmowy, w których uczestniczył" in text
    assert "art. 15 ust. 4 RODO" not in text  # nothing of others was taken out of calls
    assert "Prezesa Urzędu Ochrony Danych Osobowych" in text
    assert "prawo" in text.lower() and "Anna Łęcka" in text
    with lines.transaction() as s:
        refused = register_request(s, lines.policy, _spec(lines, HIS, None, now), "t").id
        decide(s, lines.policy, refused, by="burmistrz", agree=False, on=office_today(),
               actor="t", keyed_by="burmistrz", reason="żądanie ewidentnie nadmierne")
    with lines.reading() as s:
        text = _text(render(*papers.answer_letter_doc(s, lines.policy, refused)), tmp_path)
    assert "nie zostało uwzględnione" in text and "żądanie ewidentnie nadmierne" in text
    assert "art. 12 ust. 4 RODO" in text
