"""A form sent back with errors says so at once (issue 50 M3), the account link has a name
(M1), and the fields' borders can be seen (M4, WCAG 1.4.11).

* M3: the request, password and user forms, each sent wrong, answer 422 with one error summary
  at the top of the main content — a heading, a link to each field's message, role="alert",
  focusable for the page's script (static/form_errors.js) — and a title starting "Błąd: "
  ("Error: " in English). A page without errors has neither.
* M1: the header's "⚙" link is named in words, in the page's language.
* M4: every border colour of a form control in kustosz.css reaches 3:1 against white and the
  page's background.

Focus on the summary in a real browser: test_issue50_browser.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
from tests.conftest import make_vault
from web_helpers import PASSWORD, csrf_of, signed_in, user

from kustosz.vault import Vault


@pytest.fixture
def office(tmp_path: Path) -> Iterator[Vault]:
    vault = make_vault(tmp_path / "vault")
    user(vault, "admin", ["administrator", "custodian"], display="Piotr Wiśniewski")
    yield vault
    vault.close()


def _summary(html: str) -> tuple[str, list[tuple[str, str]]]:
    main = html.split("<main>", 1)[1]
    m = re.search(r'<div class="error-summary[^"]*" id="error-summary"([^>]*)>(.*?)</div>',
                  main, re.S)
    assert m, main[:3000]
    # at the top of the main content: nothing of the page's own comes before it
    assert main.index('id="error-summary"') < main.index("<h1"), main[:1500]
    attrs, body = m.group(1), m.group(2)
    assert 'role="alert"' in attrs and 'tabindex="-1"' in attrs, attrs
    links = re.findall(r'<li><a href="#(err-[^"]+)">([^<]+)</a></li>', body)
    return body, links


def _title(html: str) -> str:
    m = re.search(r"<title>(.*?)</title>", html, re.S)
    assert m
    return m.group(1)


def _has_ids(html: str, ids: list[str]) -> None:
    for i in ids:
        assert f'id="{i}"' in html, f"the summary links to #{i}, which the page lacks"


def test_request_form(office: Vault) -> None:
    c = signed_in(office, "admin")
    clean = c.get("/requests")
    assert "error-summary" not in clean.text and not _title(clean.text).startswith("Błąd")
    r = c.post("/requests", data={"csrf": csrf_of(office, c), "kind": "authority",
                                  "material": "video"})
    assert r.status_code == 422
    body, links = _summary(r.text)
    assert "<h2" in body and "Formularz zawiera błędy" in body
    fields = [i for i, _ in links]
    assert {"err-requester", "err-purpose", "err-received_on"} <= set(fields), links
    assert dict(links)["err-requester"] == "Podaj dane wnioskodawcy."
    _has_ids(r.text, fields)
    assert _title(r.text).startswith("Błąd: Wnioski")


def test_password_form_in_polish_and_english(office: Vault) -> None:
    c = signed_in(office, "admin")
    r = c.post("/account/password", data={"csrf": csrf_of(office, c), "current": "",
                                          "new": "krótkie", "again": "inne"})
    assert r.status_code == 422
    _, links = _summary(r.text)
    assert [i for i, _ in links] == ["err-current", "err-new", "err-again"], links
    _has_ids(r.text, [i for i, _ in links])
    assert _title(r.text).startswith("Błąd: Zmiana hasła")
    c.cookies.set("kustosz_lang", "en", domain="testserver.local")
    r = c.post("/account/password", data={"csrf": csrf_of(office, c), "current": PASSWORD,
                                          "new": "", "again": ""})
    assert r.status_code == 422
    body, links = _summary(r.text)
    assert "The form has errors" in body and [i for i, _ in links] == ["err-new", "err-again"]
    assert _title(r.text).startswith("Error: Change password")


def test_user_form(office: Vault) -> None:
    c = signed_in(office, "admin")
    r = c.post("/admin/users", data={"csrf": csrf_of(office, c), "name": "",
                                     "display_name": ""})
    assert r.status_code == 422
    _, links = _summary(r.text)
    assert links and "err-name" in [i for i, _ in links], links
    _has_ids(r.text, [i for i, _ in links])
    assert _title(r.text).startswith("Błąd: Użytkownicy")


def test_a_page_refusal_without_fields_is_the_focused_box(office: Vault) -> None:
    """A refusal that belongs to no one field (`error` on a 4xx page): the same focusable,
    announced box, with the title's "Błąd: " — and not said twice."""
    c = signed_in(office, "admin")
    r = c.post("/admin/users/nikt/reset", data={"csrf": csrf_of(office, c)})
    assert r.status_code == 404
    body, links = _summary(r.text)
    assert links == [] and "Nie ma użytkownika nikt." in body
    assert r.text.count("Nie ma użytkownika nikt.") == 1
    assert _title(r.text).startswith("Błąd: ")


def test_the_account_link_is_named_in_words(office: Vault) -> None:
    c = signed_in(office, "admin")
    for lang, name in (("pl", "Zmiana hasła"), ("en", "Change password")):
        c.cookies.set("kustosz_lang", lang, domain="testserver.local")
        html = c.get("/").text
        link = re.search(r'<a href="/account/password"[^>]*>(.*?)</a>', html, re.S)
        assert link, html[:3000]
        assert f'aria-label="{name}"' in link.group(0)
        assert '<span aria-hidden="true">⚙</span>' in link.group(1)


# -- M4: the borders of form controls ------------------------------------------------------
def _luminance(hex_colour: str) -> float:
    h = hex_colour.lstrip("#")
    if len(h) == 3:
        h = "".join(ch * 2 for ch in h)
    channels = [int(h[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    lo, hi = sorted((_luminance(a), _luminance(b)))
    return (hi + 0.05) / (lo + 0.05)


def test_contrast_ratio_is_wcags() -> None:
    assert round(contrast("#000", "#fff"), 2) == 21.0
    assert round(contrast("#aab4bf", "#ffffff"), 2) == 2.10  # the reading


def _control_borders(css: str) -> list[tuple[str, str]]:
    """(selector, colour) of every border colour set on a form control, variables resolved."""
    variables = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{3,6})", css))
    found = []
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        if not re.search(r"(^|[\s,])(input|select|textarea)\b", selector):
            continue
        for prop, value in re.findall(r"(border(?:-[\w-]+)?)\s*:\s*([^;]+)", body):
            colours = re.findall(r"#[0-9a-fA-F]{3,6}\b", value) + [
                variables[v] for v in re.findall(r"var\(--([\w-]+)\)", value)]
            found += [(f"{selector.strip()} {prop}", c) for c in colours]
    return found


def test_form_control_borders_reach_three_to_one() -> None:
    css = (resources.files("kustosz.web") / "static" / "kustosz.css").read_text()
    borders = _control_borders(css)
    selectors = " ".join(s for s, _ in borders)
    assert "input, select, textarea border" in selectors, borders  # the plain field is there
    page_bg = re.search(r"--bg:\s*(#[0-9a-fA-F]{6})", css)
    assert page_bg
    for where, colour in borders:
        for ground in ("#ffffff", page_bg.group(1)):
            assert contrast(colour, ground) >= 3.0, (where, colour, ground,
                                                     round(contrast(colour, ground), 2))
