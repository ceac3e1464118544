"""Any text a person or a peer gives prints (issue 64): a requester named "Józef Żółć 📞" left
the office without the video request form ("could not be rendered: PDF/UA-1 … 📞"), and a line
of Arabic marks made typst panic. The record keeps the text exactly; the document prints each
character its fonts cannot print as one visible U+FFFD (glyphs.py, applied in
render.py to every document's data). Every PDF is read back with poppler's pdftotext."""

from __future__ import annotations

import json
import re
import subprocess
import unicodedata
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from kustosz import glyphs
from kustosz.access.users import add_user
from kustosz.custody import registers
from kustosz.custody.copy_making import make_copy
from kustosz.custody.decisions import decide
from kustosz.custody.destruction import confirm
from kustosz.custody.handover import hand_over
from kustosz.custody.papers import (
    decision_doc,
    destruction_doc,
    handover_doc,
    receipt_doc,
    request_form,
)
from kustosz.custody.requests import RequestSpec, register_request
from kustosz.db.cameras import Site, Zone
from kustosz.db.custody import Destruction, Handover, Request, User
from kustosz.documents import NAMES, render
from kustosz.documents.render import FILLED
from kustosz.errors import InputError
from kustosz.glyphs import MARKER, printable, shown, shown_in, unprintable
from kustosz.vault import Vault
from tests.conftest import Cli
from tests.custody.custody_helpers import appoint_commission, record, setup_camera
from tests.office_day import office_today
from tests.test_documents_per_seed import REFUSED
from tests.test_documents_per_seed import _data as seed_data
from tests.test_issue66_texts import MOPS

# Polish letters, an emoji, a line separator, a right-to-left override and its end, combining
# marks, a ZWJ family (one character to a reader), a CJK character and Cyrillic.
NASTY = ("Józef Żółć 📞 ąćęłńóśźż ŻÓŁĆ\u2028dalej \u202eodwrócone\u202c e\u0301 n\u0303 "
         "rodzina 👨\u200d👩\u200d👧 名 Юлія")
NASTY_SHOWN = ("Józef Żółć \ufffd ąćęłńóśźż ŻÓŁĆ\ndalej \ufffdodwrócone\ufffd é ñ "
               "rodzina \ufffd \ufffd Юлія")
# Found by searching: 47 Arabic letters and four Arabic marks each after a space, in the
# request's description, made typst panic (a BaseException no handler caught).
PANIC = "ب " * 47 + "ۡ ۢ ۣ ۤ ب"
# A letter and a mark, each printed alone, refused together: typst shapes the mark with the
# letter's font (found by putting every mark the fonts have after letters of five scripts).
MARKED = "a\u064b я\u0483 א\u0485 0\u0591 \u180f"


def pdf_text(pdf: bytes) -> str:
    done = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True)
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", done.stdout.decode()))


def assert_printed_honestly(text: str) -> None:
    """The Polish letters whole, the Cyrillic too, a marker where each character was that
    the fonts cannot print, and the override's words not turned round."""
    for kept in ("Józef Żółć", "ąćęłńóśźż ŻÓŁĆ", "Юлія", "é ñ rodzina", "odwrócone"):
        assert kept in text, kept
    assert f"Żółć {MARKER} ą" in text and f"rodzina {MARKER} {MARKER} Юлія" in text
    for gone in ("📞", "👨", "名", "\u202e", "\u2028", "enocórwdo"):
        assert gone not in text, gone


def test_an_emoji_in_a_requesters_name_no_longer_stops_the_form() -> None:
    data = seed_data("pleszew", "request-video")
    data.update(requester="Józef Żółć 📞", description=PANIC, place=MARKED)
    text = pdf_text(render("request-video", data))
    assert f"Józef Żółć {MARKER}" in text and text.count("ب") == 48
    assert f"a{MARKER} я{MARKER}" in text  # the Hebrew after them is read right to left


def _everywhere(data: Any) -> Any:
    """Every text in a document's data (what a person fills and more) made NASTY."""
    if isinstance(data, str):
        return NASTY
    if isinstance(data, dict):
        return {key: _everywhere(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_everywhere(value) for value in data]
    return data


def _report() -> dict[str, Any]:
    table = {"caption": "Wnioski", "columns": ["Lp.", "Wnioskodawca"], "widths": [1, 4],
             "rows": [["1", "x"]], "empty": "brak"}
    return {"office": "x", "title": "x", "heading": "x", "sub": "x", "period_line": "x",
            "basis": "x", "footer": "x", "verify": "x", "draft_mark": "x",
            "sections": [{"heading": "x", "lines": ["x"], "tables": [table]}]}


# A preset each document is printed for (a video office, a calls office); the report's own.
CASES = [(d, "pleszew") for d in sorted(NAMES) if ("pleszew", d) not in REFUSED] + \
    [(d, "boleslawiec") for d in ("announcement", "listening-protocol", "request-calls")] + \
    [(d, "") for d in sorted(FILLED)]


def test_every_document_is_in_the_cases() -> None:
    assert {d for d, _p in CASES} == set(NAMES) | set(FILLED)


@pytest.mark.parametrize(("document", "preset"), CASES)
def test_every_document_prints_any_text_a_person_gives(document: str, preset: str) -> None:
    data = _everywhere(_report() if not preset else seed_data(preset, document))
    assert_printed_honestly(pdf_text(render(document, data)))


# -- the record keeps what the person wrote, end to end ----------------------------------------
def test_the_record_keeps_the_text_and_every_paper_prints(vault: Vault, tmp_path: Path) -> None:
    """A request, its decision, the copy's label, handover protocol, receipt, destruction
    protocol and the registers, each from records holding NASTY in every field a person
    fills: the requester, contact, purpose, description, case, place (site and zone), the
    approver's, custodian's and commission members' names, the receiver, the medium and the
    reason. (A camera's name is a source's name: letters without Polish ones, digits, . _ -.)"""
    site, zone, camera = f"Ratusz {NASTY}", f"hol {NASTY}", "cam-hol"
    setup_camera(vault, camera, site=site, zone=zone)
    with vault.transaction() as s:
        add_user(s, "burmistrz", f"Jan {NASTY}", ["approver"], "test",
                 title=vault.policy.approver_title)
        add_user(s, "informatyk", f"Piotr {NASTY}", ["custodian", "administrator"], "test")
        add_user(s, "komisja1", f"Zofia {NASTY}", ["commission"], "test")
        add_user(s, "komisja2", f"Łukasz {NASTY}", ["commission"], "test")
    appoint_commission(vault, "komisja1", "komisja2")
    day = office_today()
    event = datetime.combine(day - timedelta(days=3), time(12), tzinfo=vault.policy.timezone)
    record(vault, camera, event, 2, tmp_path / "segs")
    spec = RequestSpec(kind="authority", material="video", requester=NASTY, contact=NASTY,
                       received_on=event.date(), event_date=event.date(), purpose=NASTY,
                       approx_time="12:00", place=f"{site}/{zone}", margin_minutes=1,
                       description=NASTY, case_ref=NASTY)
    with vault.transaction() as s:
        rid = register_request(s, vault.policy, spec, "test").id
        decide(s, vault.policy, rid, by="burmistrz", agree=True, on=office_today(),
               actor="t", keyed_by="burmistrz")
    copy = make_copy(vault, rid, "informatyk", "test")
    assert_printed_honestly(pdf_text((vault.root / copy.bundle / "label.pdf").read_bytes()))
    hand_over(vault, copy.number, receiver=NASTY, by="informatyk", actor="t", request_id=rid,
              medium=NASTY)
    confirm(vault, copy.number, "komisja1", "t", reason=NASTY)
    confirm(vault, copy.number, "komisja2", "t")
    with vault.reading() as s:
        papers = [request_form(s, vault.policy, rid), decision_doc(s, vault.policy, rid),
                  handover_doc(s, vault.policy, copy.number),
                  receipt_doc(s, vault.policy, copy.number),
                  destruction_doc(s, vault.policy, copy.number)]
        papers += [("register", registers.pdf_data(registers.build(
            s, vault.policy, kind, day - timedelta(days=30), day + timedelta(days=1)),
            vault.policy, day - timedelta(days=30), day)) for kind in registers.KINDS]
    for name, data in papers:
        text = pdf_text(render(name, data))
        assert_printed_honestly(text)
    with vault.reading() as s:  # printing changed nothing the person wrote
        req = s.get(Request, rid)
        assert req is not None
        assert [req.requester, req.contact, req.purpose, req.description, req.case_ref] == \
            [NASTY] * 5
        assert s.execute(select(Handover.receiver, Handover.medium)).one() == (NASTY, NASTY)
        assert s.execute(select(Destruction.reason)).scalar_one() == NASTY
        assert s.execute(select(Zone.name)).scalar_one() == zone
        assert s.execute(select(Site.name)).scalar_one() == site
        names = {n: d for n, d in s.execute(select(User.name, User.display_name))}
        assert names["komisja1"] == f"Zofia {NASTY}" and names["informatyk"] == f"Piotr {NASTY}"


# -- the rule over any text ----------------------------------------------------------------------
# Characters the rule meets: Polish and other letters the fonts have, marks, joiners, selectors,
# skin tones, flags' halves and tags, bidi controls, controls, private use, a lone surrogate
# (a JSON "\ud800" escape makes one), CJK, emoji; and anything else.
SPECIAL = list("ąćęłńóśźżĄĆĘŁŃÓŚŹŻЮлія αβ אב بۡ\u0301\u0303\u0328\u20e3\u200d\ufe0f\U0001f3fd"
               "\U0001f1f5\U0001f1f1\U000e0067\U000e007f\u202e\u202c\u2066\u200f\u2028\u2029"
               "\x00\x07\r\x85\ue000\U0010fffd\ud800名中📞👨👩👧🏴\ufffd⁓⁁\u064b\u0951\u0591\u0483"
               "\u180f")
ANY_TEXT = st.text(st.one_of(st.sampled_from(SPECIAL), st.characters(codec=None)), max_size=30)
LETTERS = st.text(st.sampled_from(list("abcXYZ019 ąćęłńóśźżĄĆĘŁŃÓŚŹŻ„”–—…·\n\tЮлія αβ")))


@settings(max_examples=150, deadline=None)
@given(LETTERS)
def test_a_text_the_fonts_print_is_printed_as_written(text: str) -> None:
    assert shown(text) == text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ANY_TEXT)
@example(NASTY)
@example(PANIC)
@example("👍🏽 🇵🇱 1\ufe0f\u20e3 🏴\U000e0067\U000e0062\U000e007f")
@example(MARKED)
@example("a\u0328\u064b\u0301 e\u0301")
def test_any_text_is_printed_with_a_marker_for_what_the_fonts_lack(text: str) -> None:
    out = shown(text)
    assert all(printable(c) for c in out)
    # the same text (NFC), a line separator as a line break
    written = unicodedata.normalize("NFC", text.replace("\u2028", "\n"))
    # nothing is made up: without its markers the printed text is the written one, in order
    rest = iter(written)
    assert all(c in rest for c in out.replace(MARKER, ""))
    # no letter or digit the fonts print is lost, and a marker stands where one was lacking
    assert [c for c in out if c.isalnum()] == \
        [c for c in written if c.isalnum() and printable(c)]
    assert (out == written) == (not unprintable(text))
    assert (MARKER in out) == (MARKER in written or bool(unprintable(text)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ANY_TEXT)
@example(PANIC)
@example(NASTY)
@example(MARKED)
def test_any_text_renders_in_a_document(text: str) -> None:
    data = seed_data("pleszew", "request-video")
    data.update(requester=text, description=(text + " ") * 8, place=text, contact=text)
    assert pdf_text(render("request-video", data))


def test_shown_in_reaches_every_text_but_not_the_keys() -> None:
    got = shown_in({"a📞": ["📞", {"b": ("x📞", 1, None)}], "n": 7})
    assert got == {"a📞": [MARKER, {"b": ["x" + MARKER, 1, None]}], "n": 7}
    assert shown(NASTY) == NASTY_SHOWN
    assert shown(MARKED) == f"a{MARKER} я{MARKER} א{MARKER} 0{MARKER} {MARKER}"


def test_what_is_printed_without_asking_typst_is_what_typst_prints() -> None:
    """The fast path's characters, asked of typst in every face at once."""
    plain = [chr(c) for c in range(0x3000) if glyphs._PLAIN.fullmatch(chr(c))]
    assert len(plain) > 300 and glyphs._refused(plain) == set()


def test_a_long_text_in_a_script_the_fonts_lack_costs_a_few_compilations() -> None:
    """A thousand Chinese characters (each one refused) took 70 s asked by halves."""
    text = "".join(chr(c) for c in range(0x5000, 0x5000 + 1000)) + "Józef Юлія ב"
    calls: list[int] = []
    real = glyphs._refused

    def counted(items: list[str]) -> set[int] | None:
        calls.append(len(items))
        return real(items)

    mp = pytest.MonkeyPatch()
    mp.setattr(glyphs, "_refused", counted)
    try:
        assert shown(text) == MARKER * 1000 + "Józef Юлія ב"
    finally:
        mp.undo()
    assert len(calls) <= 3, calls


def test_a_typst_panic_is_a_refusal_of_the_document() -> None:
    """Should typst panic again, the document is refused like any it cannot render, never
    a BaseException past every handler."""
    import typst

    panic = type("PanicException", (BaseException,), {})

    def boom(*_a: Any, **_k: Any) -> bytes:
        raise panic("end byte index 3 is out of bounds")

    mp = pytest.MonkeyPatch()
    mp.setattr(typst, "compile", boom)
    try:
        with pytest.raises(InputError, match="could not be rendered: end byte"):
            render("receipt", seed_data("pleszew", "receipt"))
    finally:
        mp.undo()
    assert not glyphs.typst_failed(KeyboardInterrupt())


# -- an office's own text: refused at the file, by the same rule -------------------------------
@pytest.mark.parametrize(("value", "named"), [
    ("falisty ⁓ myślnik", "„⁓” (U+2053)"),  # the old quick rule took all punctuation
    ("Dzień dobry \u202eynadjow", "U+202E"),  # by its number: the message stays in order
    ("tanwin a\u064b", "U+0061 U+064B"),  # each prints, not the two together
])
def test_an_office_text_the_documents_would_mark_is_refused(value: str, named: str,
                                                            tmp_path: Path, cli: Cli) -> None:
    text = MOPS + f"\n[documents.announcement]\nincoming = {json.dumps(value)}\n"
    path = tmp_path / "mops.toml"
    path.write_text(text, "utf-8")
    done = cli("policy", "check", str(path), ok=False)
    assert done.exit_code == 1
    assert f"znaku {named} nie da się wydrukować czcionką dokumentów" in done.output
    assert "\u202e" not in done.output
