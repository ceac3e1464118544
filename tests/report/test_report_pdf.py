"""The accountability report as a PDF (issue 53, "two forms, one content"): its text carries
the findings and the counts report.json has, the office named in the genitive its policy
gives; it is in the signed bundle, and one byte changed in it fails verification naming it."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import timedelta
from pathlib import Path

from kustosz.report import build, bundle, verify
from kustosz.report.pdf import PDF_FILE
from kustosz.report.pdf_words import when
from kustosz.vault import Vault
from tests.report.report_helpers import Month, month_of_activity


def _text(pdf: Path) -> str:
    done = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True)
    return re.sub(r"\s+", " ", done.stdout)


def test_the_pdf_says_what_report_json_says(sqlite_vault: Vault, tmp_path: Path) -> None:
    vault = sqlite_vault
    month: Month = month_of_activity(vault, tmp_path)
    out = bundle.write(vault, build.build(vault, month.period, month.now), tmp_path / "r",
                       month.now)
    report = json.loads((out / "report.json").read_text())
    text = _text(out / PDF_FILE)
    assert "Sprawozdanie z rozliczalności" in text
    assert vault.policy.names.office_gen in text  # "… w systemie monitoringu Urzędu …"
    # the findings come first, each in the PDF as in the JSON
    assert text.index("Ustalenia") < text.index("Nagrywanie")
    assert f"Stwierdzono {len(report['findings'])} odstępstwa" in text
    for f in report["findings"]:
        assert re.sub(r"\s+", " ", f["pl"]) in text, f["pl"]
    r, c, a = report["requests"], report["copies"], report["access"]
    assert (f"Wpłynęło: {r['received']}; rozpatrzono w terminie: {r['decided_in_time']}; "
            f"po terminie: {r['decided_late']}; odmowy: {len(r['refused'])}.") in text
    assert f"Usunięto {report['deleted']['count']} nagrania" in text
    assert f"Sporządzono: {len(c['made'])}; przekazano: {len(c['handed_over'])};" in text
    # each copy's move with its time, as the JSON has it (none without one)
    tz = vault.policy.timezone
    for key, word in (("made", "sporządzona"), ("handed_over", "przekazana"),
                      ("returned_at_review", "zwrócona do poprawy"), ("destroyed", "zniszczona")):
        for x in c[key]:
            assert f"{word} {x['copy']} {when(x['at'], tz)}" in text, (key, x)
    assert f"Sesji dostępu: {a['sessions']}, w tym w obecności świadka: " \
           f"{a['with_witness']}; odmów dostępu: {a['refused']}." in text
    assert f"Zgłoszono: {report['alerts']['raised']}." in text
    # who was told: the sweep's alert over e-mail to both addresses, the camera's to nobody
    assert "o których powiadomiono: 1; o których nie powiadomiono nikogo: 1." in text
    assert "Kogo powiadomiono" in text and text.count("nie powiadomiono nikogo") == 2
    # the cell wraps: its lines sit among the other columns' in pdftotext's layout
    assert "e-mail (it@um.example.pl," in text and "iod@um.example.pl):" in text
    assert f"do wpisu nr {report['integrity']['covered_head']['seq']}" in text

    manifest = json.loads((out / "manifest.json").read_text())
    assert {f["path"] for f in manifest["files"]} >= {"report.json", PDF_FILE}
    assert verify.verify(out).ok
    body = bytearray((out / PDF_FILE).read_bytes())
    body[len(body) // 2] ^= 1
    (out / PDF_FILE).write_bytes(bytes(body))
    verdict = verify.verify(out)
    assert not verdict.ok and verdict.problems == [
        f"{PDF_FILE}: changed (SHA-256 differs from the manifest)"]


def test_a_report_made_again_gives_the_same_pdf(sqlite_vault: Vault, tmp_path: Path) -> None:
    vault = sqlite_vault
    month = month_of_activity(vault, tmp_path)
    first = bundle.write(vault, build.build(vault, month.period, month.now), tmp_path / "a",
                         month.now)
    later = month.now + timedelta(days=40)
    again = bundle.write(vault, build.build(vault, month.period, later), tmp_path / "b", later)
    assert (first / PDF_FILE).read_bytes() == (again / PDF_FILE).read_bytes()


def test_the_pdf_of_every_kind_names_periods_and_access_in_polish(tmp_path: Path) -> None:
    """Calls, mail and IT events in the month: each source in the PDF's tables, each review
    under its Polish name, and a change of the periods (both_vault adds those of calls, mail
    and events to Pleszew's) printed as "30 dni", "3 miesiące", not as kustosz.toml has it."""
    from tests.web.web_helpers import both_vault

    vault = both_vault(tmp_path / "vault")
    try:
        month = month_of_activity(vault, tmp_path, every_kind=True)
        report = build.build(vault, month.period, month.now)
        out = bundle.write(vault, report, tmp_path / "r", month.now)
    finally:
        vault.close()
    text = _text(out / PDF_FILE)
    assert report["policy_changes"], "both_vault's periods are a change of the rules"
    assert "rozmowy telefoniczne: 3 miesiące" in text and "30 dni" in text
    assert not re.search(r"\d+ (days|weeks|months|years)\b", text)
    for source in ("centrala", "dziennik", "dziennik-2", "siem", "siem-2"):
        assert f" {source} " in text, source
    for words in ("odsłuch nagrań rozmów telefonicznych", "skarga na obsługę interesanta",
                  "kontrola wycieku danych"):
        assert words in text, words
    # messages and events counted, not their files, in the right Polish forms
    assert "Wiadomości /" in text and "Plików" in text  # the header wraps in its cell
    by_kind = report["recorded"]["by_kind"]
    assert (by_kind["mailbox"]["entries"], by_kind["endpoint"]["entries"]) == (2, 2)
    assert "2 wiadomości" in text and "2 zdarzenia" in text
    # the copy sent back at review, in the copies' moves
    assert "zwrócona do poprawy" in text and month.returned in text
