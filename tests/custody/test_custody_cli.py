"""The custody verbs from the command line, and every document rendered with Polish intact."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from custody_helpers import record, setup_camera
from pypdf import PdfReader
from tests.conftest import Cli, snapshot
from tests.office_day import office_today

from kustosz.documents import NAMES
from kustosz.vault import Vault


def text_of(path: Path) -> str:
    # Table cells wrap lines; compare with runs of white space made one space.
    return " ".join(" ".join(p.extract_text() for p in PdfReader(path).pages).split())


def test_cli_paperwork(cli: Cli, tmp_path: Path) -> None:
    cli("init", "--preset", "pleszew")
    vault = Vault.open(cli.data)
    tz = vault.policy.timezone
    event = datetime.combine(datetime.now(UTC).astimezone(tz).date() - timedelta(days=2),
                             time(9, 30), tzinfo=tz)
    setup_camera(vault)
    record(vault, "cam-hol", event - timedelta(seconds=4), 4, tmp_path / "segs")
    for name, display, role in (("burmistrz", "Jan Kowalski", "approver"),
                                ("it", "Piotr Wiśniewski", "custodian"),
                                ("k1", "Zofia Żółtowska", "commission"),
                                ("k2", "Łukasz Gęślak", "commission")):
        cli("users", "add", name, "--display", display, "--role", role)
    for member in ("k1", "k2"):  # the Burmistrz's order appointing the commission (§8.2)
        cli("commission", "appoint", member, "--order", "5/2026", "--date", "2026-01-02",
            "--by", "burmistrz")
    assert cli("users", "add", "x", "--display", "X", "--role", "king", ok=False).exit_code == 2

    common = ["--material", "video", "--requester", "Komenda Powiatowa Policji w Pleszewie",
              "--date", event.date().isoformat(), "--time", "09:30", "--margin", "1",
              "--place", "Ratusz/hol parter", "--description", "bójka w holu",
              "--purpose", "postępowanie w sprawie pobicia"]
    before = snapshot(vault)
    bad = cli("requests", "add", "--kind", "authority", *common[:-2], ok=False)
    assert bad.exit_code == 2 and "purpose" in bad.output
    assert snapshot(vault) == before
    out = json.loads(cli("requests", "add", "--kind", "authority", "--case", "RSD-1/26",
                         *common, "--json").output)
    assert out["status"] == "registered" and out["hold"]
    rid = str(out["id"])
    # The command line has no approver's account: it records the head's decision only as one
    # taken on paper, naming the document (issue 11, separation of duties).
    cli("requests", "decide", rid, "--agree", "--by", "burmistrz", "--paper-ref", "OR.0012.7.2026")
    made = cli("copies", "make", rid, "--by", "it").output
    number = made.split()[1]
    bundle = Path(json.loads(cli("copies", "list", "--json").output)[0]["bundle"])
    key = tmp_path / "office.pem"
    cli("bundle", "key", "--out", str(key))
    assert "verified" in cli("bundle", "verify", str(bundle), "--key", str(key)).output
    (bundle / "label.pdf").write_bytes(b"%PDF-1.4 forged")
    failed = cli("bundle", "verify", str(bundle), "--key", str(key), ok=False)
    assert failed.exit_code == 1 and "label.pdf: changed" in failed.output
    assert cli("bundle", "verify", str(tmp_path), ok=False).exit_code == 2

    zip_path = tmp_path / "usb" / "kopia.zip"
    handed = cli("copies", "handover", number, "--receiver", "asp. Ewa Łęcka, KPP Pleszew",
                 "--by", "it", "--zip", str(zip_path), "--password", "tajne-hasło").output
    assert "handover protocol" in handed and zip_path.exists()
    cli("copies", "destroy", number, "--by", "k1", "--reason", "sprawa zakończona")
    again = cli("copies", "destroy", number, "--by", "k1", ok=False)
    assert again.exit_code == 2 and "another member" in again.output
    assert "destroyed" in cli("copies", "destroy", number, "--by", "k2").output

    today = office_today()
    lo, hi = (today - timedelta(days=7)).isoformat(), (today + timedelta(days=1)).isoformat()
    csv_out = tmp_path / "copies.csv"
    cli("registers", "print", "--kind", "copies", "--from", lo, "--to", hi, "--format", "csv",
        "--out", str(csv_out))
    rows = list(csv.reader(csv_out.open(encoding="utf-8-sig", newline=""), delimiter=";"))
    assert rows[0][0] == "Nr porządkowy kopii" and [r[0] for r in rows[1:]] == [number]
    # Pleszew records no calls: no phone-number columns (issue 30 item 10)
    made_by, fate = rows[0].index("Dane osoby sporządzającej"), rows[0].index(
        "Udostępnienie lub zniszczenie")
    assert "Piotr Wiśniewski" in rows[1][made_by] and "zniszczono" in rows[1][fate]
    pdf_out = tmp_path / "disclosures.pdf"
    cli("registers", "print", "--kind", "disclosures", "--from", lo, "--to", hi,
        "--out", str(pdf_out))
    text = text_of(pdf_out)
    assert "Rejestr udostępnionych nagrań" in text and "Komenda Powiatowa Policji" in text
    assert "Łęcka" in text
    bad_range = cli("registers", "print", "--kind", "actions", "--from", hi, "--to", lo,
                    ok=False)
    assert bad_range.exit_code == 2
    for name, args in (("request-video", ["--request", rid]), ("decision", ["--request", rid]),
                       ("destruction-protocol", ["--copy", number])):
        target = tmp_path / f"{name}.pdf"
        cli("documents", "render", name, *args, "--out", str(target))
        assert target.stat().st_size > 1000
    assert "Wyrażam zgodę" in text_of(tmp_path / "decision.pdf")
    assert "OR.0012.7.2026" in " ".join(text_of(tmp_path / "decision.pdf").split())
    vault.close()


@pytest.mark.parametrize("name", [n for n in NAMES if n not in ("register",)])
def test_every_document_renders_blank_in_polish(cli: Cli, tmp_path: Path, name: str) -> None:
    cli("init", "--preset", "boleslawiec")
    if name in ("decision", "label", "handover-protocol", "receipt", "destruction-protocol",
                "extension-notice", "answer-letter"):
        result = cli("documents", "render", name, ok=False)
        assert result.exit_code == 2  # these print a real request or copy, never a blank
        return
    target = tmp_path / f"{name}.pdf"
    if name in ("sign", "request-video"):  # Bolesławiec records calls only: no camera sign,
        # no video request form (issue 13 Documents)
        result = cli("documents", "render", name, "--out", str(target), ok=False)
        assert result.exit_code == 2 and "retention.camera" in result.output
        assert not target.exists()
        return
    args = ["--source-kind", "phone"] if name == "clause" else []
    cli("documents", "render", name, *args, "--out", str(target))
    text = text_of(target)
    assert "Bolesławiec" in text
    expected = {"request-calls": "o udostępnienie nagrań rozmów telefonicznych",
                "request-video": "monitoringu wizyjnego", "listening-protocol": "odsłuchania",
                "authorisation": "Upoważnienie", "clause": "Gmina Miejska Bolesławiec",
                "sign": "OBIEKT MONITOROWANY", "announcement": "gwiazdka",
                "declaration": "Oświadczenie pracownika",
                "request-subject": "Żądanie dostępu do danych osobowych"}[name]
    assert expected in text


def test_the_blank_declaration_has_the_offices_own_wording(cli: Cli, tmp_path: Path) -> None:
    """`documents render declaration` prints what the web's declaration prints: Miedziana
    Góra's regulation has its own annex line ([documents.annexes] declaration, one definition)."""
    cli("init", "--preset", "miedziana-gora")
    target = tmp_path / "declaration.pdf"
    cli("documents", "render", "declaration", "--out", str(target))
    text = " ".join(text_of(target).split())
    assert ("Załącznik nr 2 do Regulaminu funkcjonowania, obsługi i eksploatacji monitoringu "
            "wizyjnego") in text
