"""Issue 50 item 6: the PL·EN switch dropped the page's day, zoom and search (its link
carried the path alone): a person who switched language lost where they were. Issue 65
item 6: it still dropped a /requests search (the number and the person searched for). The
switch now keeps the page's address as the browser holds it — its path and its whole query,
less a one-time flash — and leads nowhere but to a path of this site: every other target,
however it is written (another host, a scheme, a backslash or a control character a browser
would read as a slash), goes to the start page."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st
from web_helpers import Material, signed_in

from kustosz.web.common import flash_url

PERSON = "Józef Żółć 🙂"


def _switch_link(page: str) -> str:
    link = re.search(r'<a href="(/lang/en\?next=[^"]*)"', page)
    assert link is not None
    return unescape(link.group(1))


def test_the_switch_keeps_the_day_the_zoom_and_the_search(sqlite_material: Material) -> None:
    c = signed_in(sqlite_material.vault, "informatyk")
    for here in ("/cameras?day=2026-11-20&zoom=hour&at=10:00",
                 "/requests?state=open&from=2026-11-01"):
        href = _switch_link(c.get(here).text)
        answer = c.get(href, follow_redirects=False)
        assert answer.status_code in (302, 303)
        went = urlsplit(answer.headers["location"])
        assert went.path == urlsplit(here).path
        assert parse_qsl(went.query) == parse_qsl(urlsplit(here).query)
        assert 'kustosz_lang=en' in answer.headers["set-cookie"]


def test_the_switch_keeps_a_requests_search(sqlite_material: Material) -> None:
    """The search a person typed — a case number and a name with Polish letters and an
    emoji, two dates, a state, a page — is the search they find in English."""
    c = signed_in(sqlite_material.vault, "informatyk")
    asked = [("number", "OR.1234.5.2026 & co"), ("person", PERSON), ("from", "2026-11-01"),
             ("to", "2026-11-30"), ("state", "open"), ("page", "1")]
    here = "/requests?" + "&".join(f"{k}={quote(v)}" for k, v in asked)
    href = _switch_link(c.get(here).text)
    answer = c.get(href, follow_redirects=False)
    assert answer.status_code in (302, 303)
    went = urlsplit(answer.headers["location"])
    assert went.path == "/requests" and parse_qsl(went.query) == asked
    english = c.get(answer.headers["location"]).text
    assert 'lang="en"' in english
    assert f'id="flt-person" name="person" type="search" value="{PERSON}"' in english
    assert 'id="flt-number" name="number" type="search" value="OR.1234.5.2026 &amp; co"' \
        in english


def test_the_switch_drops_a_one_time_message(sqlite_material: Material) -> None:
    """A flash (msg, sig) is shown once: the page in the other language does not repeat it;
    the rest of the address stays."""
    c = signed_in(sqlite_material.vault, "informatyk")
    here = flash_url("/requests?state=open", "Zapisano wniosek.")
    href = _switch_link(c.get(here).text)
    went = urlsplit(unquote(href.split("next=", 1)[1]))
    assert went.path == "/requests" and parse_qsl(went.query) == [("state", "open")]


# What an attacker may put in the switch's `next` to lead an office worker off the site,
# each as the query carries it: another host, a scheme, the slashes and backslashes a
# browser reads alike, the tab and newline it strips, an encoded slash.
ATTACKS = ["//evil.example/x", "https://evil.example/", "javascript:alert(1)",
           "/\\evil.example", "\\\\evil.example", "/\\/evil.example", "/\t/evil.example",
           "/\n/evil.example", "/\r\n/evil.example", " //evil.example", "http:/evil.example",
           "//%0d%0aevil.example", "/\u3000/evil.example", "", "requests"]
# still encoded once the query is read: a browser keeps them as they are in the path, so
# they are paths of this site (a page that does not exist), never another host
ENCODED = ["/%5Cevil.example", "/%09/evil.example", "/%2F/evil.example", "/%2f%2fevil.example"]


def test_the_switch_never_leads_off_the_site(sqlite_material: Material) -> None:
    c = signed_in(sqlite_material.vault, "informatyk")
    for bad in ATTACKS:
        answer = c.get("/lang/en", params={"next": bad}, follow_redirects=False)
        assert answer.headers["location"] == "/", bad
    for odd in ENCODED:
        answer = c.get("/lang/en", params={"next": odd}, follow_redirects=False)
        assert answer.headers["location"] == odd, odd
    # the login's and the session's "next" obey the same rule
    from kustosz.web.next_target import safe_next
    assert all(safe_next(bad) == "/" for bad in ATTACKS)


PATHS = st.lists(st.text(alphabet="abcżółć-_0123456789", min_size=1, max_size=8),
                 min_size=1, max_size=3).map(lambda parts: "/" + "/".join(parts))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_target_is_a_path_of_this_site_or_the_start(target: str) -> None:
    from kustosz.web.next_target import safe_next
    went = safe_next(target)
    parts = urlsplit(went)
    assert went == "/" or went == target
    assert went.startswith("/") and not went.startswith("//") and not parts.netloc \
        and not parts.scheme
    assert not any(c == "\\" or c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in went)


@settings(max_examples=100, deadline=None)
@given(PATHS, st.lists(st.tuples(st.sampled_from(["number", "person", "day", "q"]),
                                 st.text(max_size=12)), max_size=4))
def test_a_path_of_this_site_comes_back_as_it_was(path: str, query: list[tuple[str, str]]
                                                  ) -> None:
    """What the switch writes for a page (back_here) goes through /lang (safe_next) and
    back to the same path and query."""
    from kustosz.web.next_target import safe_next, written
    target = written(path, query)
    assert safe_next(target) == target
    parts = urlsplit(target)
    assert unquote(parts.path) == path
    assert parse_qsl(parts.query, keep_blank_values=True) == query
