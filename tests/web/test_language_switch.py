"""Issue 50 item 6: the PL·EN switch dropped the page's day, zoom and search (its link
carried the path alone): a person who switched language lost where they were."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import unquote

from web_helpers import Material, signed_in


def test_the_switch_keeps_the_day_the_zoom_and_the_search(sqlite_material: Material) -> None:
    c = signed_in(sqlite_material.vault, "informatyk")
    for here in ("/cameras?day=2026-11-20&zoom=hour&at=10:00",
                 "/requests?state=open&from=2026-11-01"):
        page = c.get(here).text
        link = re.search(r'<a href="(/lang/en\?next=[^"]*)"', page)
        assert link is not None
        href = unescape(link.group(1))
        assert unquote(unquote(href.split("next=", 1)[1])) == here  # the query as sent
        answer = c.get(href, follow_redirects=False)
        assert answer.status_code in (302, 303)
        assert unquote(answer.headers["location"]) == here
        assert 'kustosz_lang=en' in answer.headers["set-cookie"]


def test_the_switch_never_carries_a_person_or_a_number(sqlite_material: Material) -> None:
    c = signed_in(sqlite_material.vault, "informatyk")
    page = c.get("/requests?person=Łęcka&state=open").text
    href = unescape(re.search(r'<a href="(/lang/en\?next=[^"]*)"', page).group(1))  # type: ignore[union-attr]
    assert unquote(unquote(href)).endswith("/requests?state=open")


def test_the_switch_never_leads_off_the_site(sqlite_material: Material) -> None:
    c = signed_in(sqlite_material.vault, "informatyk")
    for bad in ("//evil.example/x", "https://evil.example/", "javascript:alert(1)"):
        answer = c.get(f"/lang/en?next={bad}", follow_redirects=False)
        assert answer.headers["location"] == "/"
