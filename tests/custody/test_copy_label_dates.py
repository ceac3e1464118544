"""A copy's label and dates say what the copy holds and how long it is kept, the same way
everywhere (issue 12 item 6; R3.2–R3.5: the copies register and the copy's label).

* the label's period is the material actually in the copy, not the request's window;
* "kept until" is the last day the copy may be kept (the stored expiry is the local midnight
  after it), the same day on the label, in `kustosz copies list`, on the web page and in the
  register — checked for an expiry that crosses a month end and a DST change;
* the copies register prints people by name and the phone line as the source of a call copy.
"""

from __future__ import annotations

import csv
import html
import io
import re
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from custody_helpers import call, people, record, setup_camera, setup_phone
from pypdf import PdfReader
from tests.conftest import Cli, make_vault
from tests.office_day import office_today
from tests.web.web_helpers import client, session_for

from kustosz.custody import registers
from kustosz.custody.copies import make_copy
from kustosz.custody.copy_dates import kept_until
from kustosz.custody.decisions import decide
from kustosz.custody.requests import RequestSpec, register_request
from kustosz.documents import render
from kustosz.vault import Vault


def _text(path: Path) -> str:
    return " ".join(" ".join(p.extract_text() for p in PdfReader(path).pages).split())


def _overlapping_words(pdf: Path) -> list[tuple[str, str]]:
    """Pairs of words printed over each other on one line (a heading running into the next
    column), from poppler's word boxes."""
    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True,
                         text=True, check=True).stdout
    words = [(float(a), float(b), float(c), float(d), html.unescape(w)) for a, b, c, d, w in
             re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" '
                        r'yMax="([\d.]+)">([^<]*)</word>', out)]
    bad = []
    for i, (x0, y0, x1, y1, w) in enumerate(words):
        for a0, b0, a1, b1, v in words[i + 1:]:
            same_line = min(y1, b1) - max(y0, b0) > 0.5 * (y1 - y0)
            if same_line and min(x1, a1) - max(x0, a0) > 0.5:
                bad.append((w, v))
    return bad


def _decided(vault: Vault, spec: RequestSpec, on: date) -> int:
    with vault.transaction() as s:
        req = register_request(s, vault.policy, spec, "test")
        decide(s, vault.policy, req.id, by="burmistrz", agree=True, on=on, actor="t",
               keyed_by="burmistrz")
        return req.id


def test_label_period_and_kept_until_agree_everywhere(vault: Vault, tmp_path: Path) -> None:
    """Request window 08:07–09:07 (approx 08:37 ± 30 min); material 08:35:05–08:35:11.
    Recorded 31.07.2026, Pleszew keeps copies 3 months from the day of recording: the last
    day is 31.10.2026, after the change to winter time; the stored instant is
    2026-10-31T23:00Z, the midnight that starts 01.11.2026 in Warsaw."""
    tz = vault.policy.timezone
    setup_camera(vault)
    people(vault)
    start = datetime(2026, 7, 31, 8, 35, 5, tzinfo=tz)
    record(vault, "cam-hol", start, 3, tmp_path / "segs")
    rid = _decided(vault, RequestSpec(
        kind="authority", material="video", requester="Komenda Powiatowa Policji w Pleszewie",
        received_on=date(2026, 8, 1), event_date=date(2026, 7, 31), purpose="postępowanie",
        approx_time="08:37", place="Ratusz/hol parter", margin_minutes=30,
        description="kradzież"), date(2026, 8, 1))
    copy = make_copy(vault, rid, "informatyk", "t", now=datetime(2026, 8, 2, 10, tzinfo=UTC))
    assert copy.expires_at == datetime(2026, 10, 31, 23, 0, tzinfo=UTC)
    assert kept_until(copy.expires_at, vault.policy) == "31.10.2026"

    label = _text(vault.root / copy.bundle / "label.pdf")
    assert "od 31.07.2026 08:35:05" in label and "do 31.07.2026 08:35:11" in label, label
    assert "08:07" not in label and "09:07" not in label
    assert "Przechowywać do 31.10.2026" in label and "01.11.2026" not in label

    out = Cli(vault.root)("copies", "list").output
    assert "31.10.2026" in out and "01.11.2026" not in out
    assert "08:35:05" in out and "08:07" not in out  # the period held, here too

    c = client(vault)
    session_for(vault, c, "informatyk")
    page = c.get("/copies")
    assert page.status_code == 200
    assert "31.10.2026" in page.text and "01.11.2026" not in page.text
    assert "31.07.2026 08:35:05–08:35:11" in page.text  # web.common.span_pl
    assert "<td>Piotr Wiśniewski, informatyk</td>" in page.text  # by name, not the login

    with vault.reading() as s:
        reg = registers.build(s, vault.policy, "copies", date(2026, 8, 1), date(2026, 8, 31))
    rows = list(csv.reader(io.StringIO(registers.to_csv(reg, "rfc4180").decode(),
                                       newline="")))
    (row,) = rows[1:]
    fate = row[rows[0].index("Udostępnienie lub zniszczenie")]
    assert fate == "przechowywana do 31.10.2026", fate
    # to the second: the material lasts 6 s, and "08:35 – 08:35" said nothing
    assert row[rows[0].index("Okres (data i godzina)")] == \
        "31.07.2026 08:35:05 – 31.07.2026 08:35:11"


def test_copies_register_pdf_names_people_and_the_line_of_a_call(tmp_path: Path) -> None:
    """A call copy (Wałbrzych) in the copies register: the maker by display name (no login),
    the phone line as the source, both in the CSV and in the PDF's text."""
    vault = make_vault(tmp_path / "vault", preset="walbrzych")
    try:
        setup_phone(vault, tmp_path)
        people(vault)
        start = datetime.now(UTC) - timedelta(days=3)
        call(vault, tmp_path, start, "+48600100200")
        day = start.astimezone(vault.policy.timezone).date()
        rid = _decided(vault, RequestSpec(
            kind="interested", material="calls", requester="Maria Dąbrowska",
            received_on=day + timedelta(days=1), event_date=day, purpose="skarga",
            approx_time=start.astimezone(vault.policy.timezone).strftime("%H:%M"),
            caller="600 100 200", callee="74 664 08 00"), office_today())
        copy = make_copy(vault, rid, "informatyk", "t")
        made = copy.made_at.astimezone(vault.policy.timezone).date()
        with vault.reading() as s:
            reg = registers.build(s, vault.policy, "copies", made, made)
        header, row = reg.columns, reg.rows[0]
        assert row[header.index("Źródło danych")] == "centrala"
        assert row[header.index("Dane osoby sporządzającej")].startswith("Piotr Wiśniewski")
        pdf = tmp_path / "reg.pdf"
        render("register", registers.pdf_data(reg, vault.policy, made, made), pdf, vault.root)
        text = _text(pdf)
        assert "Piotr Wiśniewski" in text and "informatyk" not in text.replace(
            "Piotr Wiśniewski, informatyk", "")
        assert "centrala" in text and "+48600100200" in text
        if shutil.which("pdftotext") is None:
            pytest.skip("poppler's pdftotext is not installed here: the layout is unchecked")
        # "Nr porządkowy kopii" ran into "Okres (data i godzina)" in a column too narrow.
        assert _overlapping_words(pdf) == []
    finally:
        vault.close()
