"""End to end, on SQLite and PostgreSQL: request → auto-hold → sweep keeps it → decision → copy
(signed bundle) → verify → handover → expiry → two-person destruction → registers."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from custody_helpers import late_event, people, record, setup_camera
from pypdf import PdfReader
from sqlalchemy import select
from tests.conftest import snapshot
from tests.office_day import office_today

from kustosz.custody import registers
from kustosz.custody.bundles import verify_bundle
from kustosz.custody.copies import list_copies, make_copy
from kustosz.custody.decisions import decide
from kustosz.custody.destruction import confirm
from kustosz.custody.handover import hand_over
from kustosz.custody.papers import destruction_doc, handover_doc, request_form
from kustosz.custody.requests import RequestSpec, register_request
from kustosz.db.custody import Copy, Request
from kustosz.db.models import Hold, Recording
from kustosz.documents import render
from kustosz.errors import InputError
from kustosz.retention.sweep import run_sweep
from kustosz.vault import Vault


def pdf_text(data: bytes, tmp: Path) -> str:
    path = tmp / "x.pdf"
    path.write_bytes(data)
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def event_at(vault: Vault, days_ago: int) -> datetime:
    day = datetime.now(UTC).astimezone(vault.policy.timezone).date() - timedelta(days=days_ago)
    return datetime.combine(day, time(12, 0), tzinfo=vault.policy.timezone)


def video_spec(vault: Vault, event: datetime, received_after: int, **kw: object) -> RequestSpec:
    base = dict(kind="interested", material="video", requester="Jan Żółkiewski, ul. Łąkowa 5",
                received_on=event.date() + timedelta(days=received_after),
                event_date=event.date(), purpose="dowód w sprawie o kradzież roweru",
                approx_time="12:00", place="Ratusz/hol parter", margin_minutes=1,
                description="kradzież roweru przy wejściu")
    base.update(kw)
    return RequestSpec(**base)  # type: ignore[arg-type]


def test_video_request_to_destruction(vault: Vault, tmp_path: Path) -> None:
    setup_camera(vault)
    setup_camera(vault, "cam-parking", zone="parking")
    people(vault)
    event = event_at(vault, 13)
    held = record(vault, "cam-hol", event - timedelta(seconds=6), 6, tmp_path / "segs")
    other = record(vault, "cam-parking", event, 2, tmp_path / "segs")

    # Day 13: in time. The material is held at once.
    with vault.transaction() as s:
        req = register_request(s, vault.policy, video_spec(vault, event, 13), "test")
        rid, hold_id = req.id, req.hold_id
    assert req.status == "registered" and hold_id is not None and not req.late
    # The night after the period runs out, the sweep deletes what no hold covers.
    later = held[0].expires_at + timedelta(hours=1)
    run_sweep(vault, now=later)
    with vault.reading() as s:
        states = {r.id: r.state for r in s.execute(select(Recording)).scalars()}
    assert all(states.get(r.id) == "stored" for r in held)
    assert all(r.id not in states for r in other)

    # Decision: the deputy may not decide in Pleszew; the head may, once.
    with vault.transaction() as s, pytest.raises(InputError, match="deputy"):
        decide(s, vault.policy, rid, by="zastepca", agree=True, on=office_today(), actor="t",
               keyed_by="zastepca", deputy=True)
    with vault.transaction() as s:
        decide(s, vault.policy, rid, by="burmistrz", agree=True, on=office_today(), actor="t",
               keyed_by="burmistrz")

    copy = make_copy(vault, rid, "informatyk", "test")
    assert copy.number == f"1/{datetime.now(UTC).astimezone(vault.policy.timezone).year}"
    bundle = vault.root / copy.bundle
    verdict = verify_bundle(bundle)
    assert verdict.ok, verdict.problems
    assert sorted(f["path"] for f in copy.files)[0] == "label.pdf"
    label = pdf_text((bundle / "label.pdf").read_bytes(), tmp_path)
    assert copy.number in label and "Źródło danych" in label and "Wiśniewski" in label
    # Copy lifetime in Pleszew: 3 months from the day of recording.
    assert copy.expires_at == vault.policy.copy_lifetime.end(event.date(), vault.policy.timezone)

    with vault.reading() as s:
        assert list_copies(s, due_only=True) == []
        due = list_copies(s, due_only=True, now=copy.expires_at + timedelta(seconds=1))
        assert [c.number for c in due] == [copy.number]
        name, data = request_form(s, vault.policy, rid)
    text = pdf_text(render(name, data), tmp_path)
    assert "Wniosek o zabezpieczenie i udostępnienie danych z monitoringu wizyjnego" in text
    assert "Jan Żółkiewski" in text and "Wyrażam zgodę" in text

    # The interested person's request is not an authority's: no handover on it.
    with pytest.raises(InputError, match="authorised bodies"):
        hand_over(vault, copy.number, receiver="Jan Żółkiewski", by="informatyk", actor="t")
    with vault.transaction() as s:
        police = register_request(s, vault.policy, video_spec(
            vault, event, 13, kind="authority", requester="Komenda Powiatowa Policji w Pleszewie",
            case_ref="RSD-123/26", purpose="postępowanie przygotowawcze"), "test")
        decide(s, vault.policy, police.id, by="burmistrz", agree=True, on=office_today(),
               actor="t", keyed_by="burmistrz")
        police_id = police.id
    zip_path = tmp_path / "medium" / "kopia.zip"
    _h, password = hand_over(vault, copy.number, receiver="st. asp. Ewa Łęcka, KPP Pleszew",
                             by="informatyk", actor="t", request_id=police_id, zip_to=zip_path)
    assert password and verify_bundle(zip_path, password=password).ok
    with pytest.raises(InputError, match="password"):
        verify_bundle(zip_path)
    with vault.reading() as s:
        proto = pdf_text(render(*handover_doc(s, vault.policy, copy.number)), tmp_path)
    assert proto.count("Protokół przekazania") == 2 and "Przyjmujący" in proto
    assert "Ewa Łęcka" in proto and "wyłącznie do celów określonych w" in proto

    # Destruction: two different commission members; the same one twice is refused.
    _d, done = confirm(vault, copy.number, "komisja1", "t",
                       reason="kopia zbędna: sprawa zakończona")
    assert not done and bundle.exists()
    before = snapshot(vault)
    with pytest.raises(InputError, match="another member"):
        confirm(vault, copy.number, "komisja1", "t")
    with pytest.raises(InputError, match="commission"):
        confirm(vault, copy.number, "informatyk", "t")
    assert snapshot(vault) == before
    _d, done = confirm(vault, copy.number, "komisja2", "t")
    assert done and not bundle.exists()
    with vault.reading() as s:
        assert s.get(Hold, hold_id).released_at is not None
        assert s.get(Copy, copy.id).state == "destroyed"
        protocol = pdf_text(render(*destruction_doc(s, vault.policy, copy.number)), tmp_path)
        day = office_today() - timedelta(days=30)
        copies_reg = registers.build(s, vault.policy, "copies", day, office_today() +
                                     timedelta(days=1))
        actions = registers.build(s, vault.policy, "actions", day, office_today() +
                                  timedelta(days=1))
        disclosures = registers.build(s, vault.policy, "disclosures", day, office_today())
    assert "Zofia Żółtowska" in protocol and "Łukasz Gęślak" in protocol
    assert [r[0] for r in copies_reg.rows] == [copy.number]
    assert "udostępniono" in copies_reg.rows[0][-1] and "zniszczono" in copies_reg.rows[0][-1]
    kinds = [r[2].split(" ")[0] for r in actions.rows]
    # The interested person's hold ends with the copy, the police's with the handover
    # (002 zał.5 §6.2-§7.1; issue 13 item 1): each release is in the register.
    assert kinds == ["Sporządzono", "Zwolniono", "Wydano", "Zwolniono", "Członek", "Komisyjnie"]
    assert len(copy.files) == 3  # the register says "3 pliki", not "3 plików" (issue 12)
    assert "trwale usunięto 3 pliki." in actions.rows[-1][2]
    assert [r[1] for r in disclosures.rows] == ["Jan Żółkiewski, ul. Łąkowa 5",
                                                "Komenda Powiatowa Policji w Pleszewie"]
    reg_pdf = pdf_text(render("register", registers.pdf_data(
        actions, vault.policy, day, office_today())), tmp_path)
    assert "Rejestr działań w systemie monitoringu" in reg_pdf
    assert "Komisyjnie zniszczono kopię" in reg_pdf and "Żółtowska" in reg_pdf


def test_day_15_is_refused_in_pleszew(vault: Vault, tmp_path: Path) -> None:
    setup_camera(vault)
    event = late_event(vault)
    record(vault, "cam-hol", event, 2, tmp_path / "segs")
    with vault.transaction() as s:
        req = register_request(s, vault.policy, video_spec(vault, event, 15), "test")
    assert req.status == "refused" and req.late and req.hold_id is None
    assert "po terminie 14 dni" in (req.status_reason or "")
    with vault.reading() as s:
        assert s.execute(select(Hold)).first() is None


def test_refusal_releases_the_hold(sqlite_vault: Vault, tmp_path: Path) -> None:
    vault = sqlite_vault
    setup_camera(vault)
    people(vault)
    event = event_at(vault, 2)
    record(vault, "cam-hol", event, 2, tmp_path / "segs")
    with vault.transaction() as s:
        req = register_request(s, vault.policy, video_spec(vault, event, 1), "test")
        decide(s, vault.policy, req.id, by="burmistrz", agree=False, on=office_today(),
               actor="t", keyed_by="burmistrz", reason="brak interesu prawnego")
        rid, hold_id = req.id, req.hold_id
    with vault.reading() as s:
        assert s.get(Hold, hold_id).released_at is not None
        assert s.get(Request, rid).status == "refused"
    before = snapshot(vault)
    with pytest.raises(InputError, match="was refused"):
        make_copy(vault, rid, "informatyk", "t")
    assert snapshot(vault) == before
    assert not (vault.root / "copies").exists() or not any(
        p for p in (vault.root / "copies").rglob("*") if p.is_file())


def test_tampering_is_named(sqlite_vault: Vault, tmp_path: Path) -> None:
    vault = sqlite_vault
    setup_camera(vault)
    people(vault)
    event = event_at(vault, 1)
    record(vault, "cam-hol", event - timedelta(seconds=2), 2, tmp_path / "segs")
    with vault.transaction() as s:
        req = register_request(s, vault.policy, video_spec(vault, event, 0), "test")
        decide(s, vault.policy, req.id, by="burmistrz", agree=True, on=office_today(), actor="t",
               keyed_by="burmistrz")
    copy = make_copy(vault, req.id, "informatyk", "t")
    original = vault.root / copy.bundle
    media = next(p for p in (original / "media").iterdir())
    rel = f"media/{media.name}"

    def tampered(change) -> list[str]:  # type: ignore[no-untyped-def]
        work = tmp_path / f"t{len(list(tmp_path.iterdir()))}"
        shutil.copytree(original, work)
        change(work)
        return verify_bundle(work).problems

    def flip(path: Path, at: int) -> None:
        data = bytearray(path.read_bytes())
        data[at] ^= 0x01
        path.write_bytes(bytes(data))

    assert tampered(lambda w: flip(w / rel, 5000)) == [f"{rel}: changed (SHA-256 differs "
                                                        "from the manifest)"]
    problems = tampered(lambda w: flip(w / "manifest.json", 40))
    assert problems and problems[0].startswith("manifest.json: changed")
    sig = tampered(lambda w: (w / "manifest.sig").write_text(
        (w / "manifest.sig").read_text().replace('"signature": "', '"signature": "AAAA', 1)))
    assert sig and sig[0].startswith("manifest.sig")
    assert tampered(lambda w: (w / "extra.txt").write_text("x")) == [
        "extra.txt: added (not in the manifest)"]
    assert tampered(lambda w: (w / "label.pdf").unlink()) == ["label.pdf: removed"]
    with pytest.raises(InputError, match="not an evidence bundle"):
        verify_bundle(tmp_path / "segs")
