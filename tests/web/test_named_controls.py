"""Issue 50 item 6: controls a screen reader lists by name — the registers' download buttons
and dates each name their register; the request form's select hints are tied to their
selects; the reasons for revoking an authorisation and releasing a hold have visible labels,
not a placeholder that vanishes as one types (WCAG 1.3.1, 2.4.6, 3.3.2)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from web_helpers import Material, authorise, signed_in, user

from kustosz.custody.holds import place_hold


class _Controls(HTMLParser):
    """Each button's and label's text (what is read for it), and each element's attributes
    by id."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[tuple[str, str]] = []
        self.by_id: dict[str, dict[str, str]] = {}
        self.label_for: set[str] = set()
        self._open: list[list[str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.by_id[a["id"]] = dict(a, tag=tag)
        if tag == "label" and a.get("for"):
            self.label_for.add(a["for"])
        if tag in ("button", "label"):
            self._open.append([tag, ""])

    def handle_data(self, data: str) -> None:
        for item in self._open:
            item[1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag in ("button", "label") and self._open and self._open[-1][0] == tag:
            kind, text = self._open.pop()
            self.names.append((kind, " ".join(text.split())))


def _controls(html: str) -> _Controls:
    parsed = _Controls()
    parsed.feed(html)
    return parsed


def test_register_downloads_name_their_register(sqlite_material: Material) -> None:
    c = signed_in(sqlite_material.vault, "informatyk")
    parsed = _controls(c.get("/registers").text)
    buttons = [text for kind, text in parsed.names if kind == "button" and
               re.match(r"(PDF|CSV)", text)]
    assert len(buttons) >= 9 and len(set(buttons)) == len(buttons), buttons
    assert any(b.startswith("PDF — Rejestr") for b in buttons), buttons
    dates = [text for kind, text in parsed.names if kind == "label" and
             text.startswith(("Od", "Do"))]
    assert len(set(dates)) == len(dates), dates


def test_the_request_forms_select_hints_are_tied_to_their_selects(
        sqlite_material: Material) -> None:
    c = signed_in(sqlite_material.vault, "informatyk")
    parsed = _controls(c.get("/requests").text)
    for name in ("camera", "delivery"):
        described = parsed.by_id[f"f-{name}"].get("aria-describedby", "").split()
        assert f"hint-{name}" in described, (name, described)
        assert parsed.by_id[f"hint-{name}"]["tag"] == "small"


def test_reasons_to_revoke_and_release_have_visible_labels(sqlite_material: Material) -> None:
    m = sqlite_material
    user(m.vault, "ola", ["viewer"], password=None)
    number = authorise(m.vault, "ola", ["playback"], sources=["cam-hol"], by="burmistrz")
    with m.vault.transaction() as s:
        hold = place_hold(s, sources=[], start=None, end=None, basis="kontrola", actor="test",
                          items=[m.old[0].id]).id
    parsed = _controls(signed_in(m.vault, "burmistrz").get("/authorisations").text)
    field = f"f-reason-{number}"
    assert field in parsed.label_for and "placeholder" not in parsed.by_id[field]
    assert ("label", "Powód odwołania *") in parsed.names
    parsed = _controls(signed_in(m.vault, "informatyk").get("/holds").text)
    field = f"f-release-{hold}"
    assert field in parsed.label_for and "placeholder" not in parsed.by_id[field]
    assert ("label", "Powód zwolnienia *") in parsed.names
