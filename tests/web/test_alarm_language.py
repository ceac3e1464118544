"""Alarms in the page's language (issue 65, a smaller finding: Polish alarm texts on English
pages, and English parentheses inside Polish alarms — "… (SIPREC: 403: not on any SIPREC
line's list)"). The row keeps the Polish as its raiser wrote it; a device's own detail is kept
apart (`Alert.detail`) and follows the sentence, said to be the technical detail; an English
page takes the raiser's English, the catalogue's, or says in English what kind of alarm it is
before the Polish, marked lang="pl". Nothing stored is lost on either page."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import escape
from sqlalchemy import select
from test_dead_camera import office
from web_helpers import signed_in

from kustosz.db.models import Alert
from kustosz.ingest.phone.siprec.alerts import _WORDS as CALL_WORDS
from kustosz.ingest.refusals import flush, refused
from kustosz.states import AlertRow
from kustosz.vault import Vault
from kustosz.web.alarm_words import Row, alarm_words

TZ = ZoneInfo("Europe/Warsaw")
STRANGER = "nadawca SIP spoza list linii SIPREC"
WHY_PL = "adres nie należy do żadnej linii SIPREC, sesja nagrywania odrzucona"
WHY_EN = "403: not on any SIPREC line's list"
# outside text: Polish letters, emoji, brackets and markup a device might send
TEXT = st.text(alphabet=st.sampled_from(list("abc xyz ąćęłńóśźżŻ Józef Żółć 🔥🔑()<>&\"'.:;-")),
               min_size=1, max_size=60).map(str.strip).filter(bool)


def _item(html: str) -> str:
    found = re.search(r'<li class="error" data-alarm="\d+">(.*?)</li>', html, re.S)
    assert found is not None, html
    return found.group(1)


def test_the_siprec_refusal_in_polish_and_in_english(sqlite_web_vault: Vault) -> None:
    v = sqlite_web_vault
    office(v)
    refused(v, device=STRANGER, address="192.0.2.77", reason_pl=WHY_PL, detail=WHY_EN)
    flush(v)
    with v.reading() as s:
        row = s.execute(select(Alert).where(Alert.kind == AlertRow.INPUT_REFUSED)).scalar_one()
    assert row.message == f"Odrzucono dane z adresu 192.0.2.77 ({STRANGER}): {WHY_PL}."
    assert row.detail == WHY_EN
    c = signed_in(v, "informatyk")
    polish = _item(c.get("/").text)
    sentence, _, after = polish.partition('<small class="detail">')
    assert "403" not in sentence and "not on any" not in sentence
    assert sentence.strip() == escape(row.message)
    assert after.startswith("Szczegóły techniczne (dla informatyka): <span lang=\"en\">"
                            f"{escape(WHY_EN)}</span>")
    c.cookies.set("kustosz_lang", "en", domain="testserver.local")
    english = _item(c.get("/").text)
    assert english == escape(f"Data from the address 192.0.2.77 ({STRANGER}) refused: "
                             f"{WHY_EN}.")


@settings(max_examples=200, deadline=None)
@given(device=TEXT, detail=TEXT, line=st.from_regex(r"[a-z0-9][a-z0-9._-]{0,20}",
                                                    fullmatch=True),
       kind=st.sampled_from(list(CALL_WORDS)))
def test_a_calls_detail_never_stands_inside_the_polish_sentence(device: str, detail: str,
                                                                 line: str,
                                                                 kind: AlertRow) -> None:
    """The SIPREC call alarms as their raiser writes them (detail in parentheses, rows of
    before and after the upgrade alike) are parted at render: the Polish sentence, then the
    detail; in English, the English words and the same detail. The stored text is whole in
    the two parts."""
    stored = f"Linia telefoniczna {line}: {CALL_WORDS[kind]} ({detail})."
    row = Row(kind, stored)
    pl, en = alarm_words(row, "pl", TZ), alarm_words(row, "en", TZ)
    said = f"Linia telefoniczna {line}: {CALL_WORDS[kind]}."
    assert pl.plain == f"{said} Szczegóły techniczne (dla informatyka): {detail}"
    assert str(pl.html).startswith(str(escape(said)) + ' <small class="detail">')
    assert en.plain.startswith(f"Phone line {line}: ") and CALL_WORDS[kind] not in en.plain
    assert en.plain.endswith(f"Technical details (for the IT staff): {detail}")
    # a device's text that only looks like it is left whole, as written
    other = Row(kind, f"Linia telefoniczna {line}: {device}.")
    assert alarm_words(other, "pl", TZ).plain == other.message


@settings(max_examples=200, deadline=None)
@given(message=TEXT, detail=st.none() | TEXT, english=st.none() | TEXT)
def test_every_page_keeps_the_stored_text_and_marks_its_language(
        message: str, detail: str | None, english: str | None) -> None:
    row = Row(AlertRow.INPUT_REFUSED, message, english, detail)
    pl = alarm_words(row, "pl", TZ)
    assert pl.plain.startswith(message)  # the Polish as written
    if detail:
        assert str(escape(detail)) in str(pl.html).split('<small class="detail">', 1)[1]
    en = alarm_words(row, "en", TZ)
    if english:
        assert en.plain == english
    else:  # said in English what it is, the Polish after it, marked
        assert en.plain.startswith("Alert (a device sent data that cannot be taken): ")
        assert f'<span lang="pl">{escape(message)}</span>' in str(en.html)
    assert "<script" not in str(pl.html) + str(en.html)


def test_a_dead_camera_in_either_language() -> None:
    since = datetime(2026, 11, 26, 2, 43, tzinfo=UTC)
    row = Row(AlertRow.CAMERA_DOWN, "Kamera „wejscie” nie nagrywa od 26.11.2026 03:45 "
              "(przyczyna: rejestrator nie działał).")
    down = (since, "unreachable")
    assert alarm_words(row, "pl", TZ, "wejscie", down).plain == (
        "Kamera „wejscie” nie nagrywa od 26.11.2026 03:43 (przyczyna: kamera nieosiągalna "
        "w sieci).")
    assert alarm_words(row, "en", TZ, "wejscie", down).plain == (
        "Camera \"wejscie\" has not recorded since 26.11.2026 03:43 (cause: camera "
        "unreachable on the network).")
    # no gap known (the database was away): the row's own words
    assert alarm_words(row, "pl", TZ, "wejscie", (since, None)).plain == row.message
    assert alarm_words(row, "pl", TZ, "wejscie", None).plain == row.message
