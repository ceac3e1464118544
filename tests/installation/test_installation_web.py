"""The web of an installation (issue 67): one server, each office at /o/<slug>/ with its own
session cookie (Path=/o/<slug>/), / naming the offices and nothing else. The attacks a
browser or a person with a copied cookie can make across offices: office A's session is no
session in office B, A's media token opens nothing under B, no address of B answers A's user
with B's data. Real HTTP against the real server, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest
from sqlalchemy import func, select
from tests.custody.custody_helpers import people, record, setup_camera
from tests.installation.install_helpers import Install, installation
from tests.installation.web_install import (
    GMINA,
    MOPS,
    TOWN,
    Served,
    addresses,
    cookie_of,
    csrf_in,
    login,
    served,
)
from tests.web.web_helpers import PASSWORD, authorise, user

from kustosz.db.access import AccessEntry
from kustosz.web.common import SESSION_COOKIE


@pytest.fixture
def web(inst: Install) -> Iterator[Served]:
    with served(inst) as made:
        yield made


def test_the_root_names_the_offices_and_nothing_of_theirs(web: Served) -> None:
    with web.client() as c:
        r = c.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert GMINA in r.text and TOWN in r.text and MOPS in r.text  # as the presets write them
    assert f'href="/o/{web.a}/login"' in r.text and f'href="/o/{web.b}/login"' in r.text
    assert "Anna" not in r.text and "Bartłomiej" not in r.text  # no office's people
    assert r.headers["content-security-policy"].startswith("default-src 'self'")
    assert not r.headers.get_list("set-cookie")
    with web.client() as c:
        assert c.get("/static/kustosz.css").status_code == 200  # shared by every office
        bare = c.get(f"/o/{web.a}")
        assert bare.status_code == 308 and bare.headers["location"] == f"/o/{web.a}/"
        unknown = c.get("/o/nie-ma-takiego/login")
        assert unknown.status_code == 404 and "Nie ma takiej strony" in unknown.text
        assert TOWN not in unknown.text and MOPS not in unknown.text


def test_an_office_signs_in_under_its_prefix_and_its_pages_stay_there(web: Served) -> None:
    with web.client() as c:
        page = c.get(f"/o/{web.a}/login")
        assert f'action="/o/{web.a}/login"' in page.text
        _pre, line = cookie_of(page, "kustosz_pre")
        assert f"Path=/o/{web.a}/" in line
        r = login(c, web.a, "anna")
        assert r.status_code == 303 and r.headers["location"] == f"/o/{web.a}/"
        _token, line = cookie_of(r, SESSION_COOKIE)
        assert f"Path=/o/{web.a}/" in line and "HttpOnly" in line and "SameSite=strict" in line
        home = c.get(f"/o/{web.a}/")
        assert home.status_code == 200
        # which office the person acts for, by the preset's name, and the way to the other
        assert f'Urząd: <strong lang="pl">{TOWN}</strong>' in home.text
        assert "Przełącz urząd" in home.text and f'href="/o/{web.b}/"' in home.text
        assert f'data-root="/o/{web.a}"' in home.text
        for address in addresses(home.text):  # no link leaves the office but the two shared
            assert address.startswith((f"/o/{web.a}/", "/static/", f"/o/{web.b}/")) \
                or address in ("/", f"/o/{web.a}"), address  # all offices; data-root
        # a page that needs a sign-in sends back to the office's own login, the path inside
        # the office as next=, and the login sends back there
        c.cookies.clear()
        r = c.get(f"/o/{web.a}/holds")
        assert r.status_code == 303
        assert unquote(r.headers["location"]) == f"/o/{web.a}/login?next=/holds"
        # the language switch comes back to the same page of the same office
        r = c.get(f"/o/{web.a}/lang/en", params={"next": "/holds"})
        assert r.status_code == 303 and r.headers["location"] == f"/o/{web.a}/holds"


def test_office_a_session_is_no_session_in_office_b(web: Served) -> None:
    with web.client() as c:
        token, _line = cookie_of(login(c, web.a, "anna"), SESSION_COOKIE)
        # the browser's own jar: A's cookie is not even sent to B
        r = c.get(f"/o/{web.b}/copies")
        assert r.status_code == 303 and r.headers["location"].startswith(f"/o/{web.b}/login")
    # IDOR with A's cookie copied under B's path by hand: B's login page, never B's register
    with httpx_client(web, token) as stolen:
        year = datetime.now(UTC).year
        for path in (f"/copies/1/{year}/get", f"/copies/1/{year}/destruction.pdf", "/copies",
                     "/requests/1", "/holds", "/", "/registers", "/access-log", "/calls",
                     "/authorisations", "/employees", "/cameras", "/admin/users"):
            r = stolen.get(f"/o/{web.b}{path}")
            assert r.status_code == 303, (path, r.status_code)
            assert r.headers["location"].startswith(f"/o/{web.b}/login"), path
        for api in ("/api/requests", "/api/jobs/1"):
            r = stolen.get(f"/o/{web.b}{api}")
            assert r.status_code == 401 and r.json() == {"detail": "not authenticated"}, api
        r = stolen.get(f"/o/{web.b}/alarms/live", headers={"Accept": "application/json"})
        assert r.status_code == 303  # the page's own poll: B's login, as a page would
        assert r.headers["location"] == f"/o/{web.b}/login?next=/alarms/live"
        r = stolen.post(f"/o/{web.b}/logout", data={"csrf": "x"})
        assert r.status_code in (303, 403)
        # and the same cookie is still A's: nothing above touched A's session
        assert stolen.get(f"/o/{web.a}/").status_code == 200


def test_a_user_of_b_signing_in_at_a_is_refused(web: Served) -> None:
    with web.client() as c:
        r = login(c, web.a, "bartek")  # B's user, A's login form: no such account in A
        assert r.status_code == 401 and "Bartłomiej" not in r.text
        assert not [h for h in r.headers.get_list("set-cookie")
                    if h.startswith(f"{SESSION_COOKIE}=")]


def test_a_media_token_of_a_opens_nothing_under_b(web: Served, tmp_path: Path) -> None:
    a = web.vaults[web.a]
    people(a)  # the witness, zastepca
    setup_camera(a, "cam-hol")
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    record(a, "cam-hol", start, 2, tmp_path / "seg")
    window = (start - timedelta(seconds=10), start + timedelta(seconds=30))
    user(a, "ola", ["viewer"], display="Ola Źdźbło")
    authorise(a, "ola", ["playback"], sources=["cam-hol"])
    tz = a.policy.timezone
    with web.client() as c:
        login(c, web.a, "ola")
        page = c.get(f"/o/{web.a}/media/start", params={"action": "playback",
                                                         "source": "cam-hol"})
        r = c.post(f"/o/{web.a}/media/start", data={
            "csrf": csrf_in(page.text), "action": "playback", "source": "cam-hol",
            "from": window[0].astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S"),
            "to": window[1].astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S"),
            "purpose": "wyjaśnienie kradzieży", "case_ref": "OR.1", "witness": "user:zastepca"})
        assert r.status_code == 303, r.text
        view = r.headers["location"]
        assert view.startswith(f"/o/{web.a}/view/")
        token = view.rsplit("/", 1)[1]
        playlist = c.get(f"/o/{web.a}/media/{token}/vod.m3u8")
        assert playlist.status_code == 200 and playlist.text.startswith("#EXTM3U")
        segment = next(line for line in playlist.text.splitlines()
                       if line.startswith("segment/"))  # relative: under the office's prefix
        assert c.get(f"/o/{web.a}/media/{token}/{segment}").status_code == 200
        a_cookie = c.cookies.get(SESSION_COOKIE)
    served_before = _served_count(web, web.b)
    # A's token and A's cookie, under B: not signed in there
    with httpx_client(web, a_cookie) as stolen:
        for tail in ("vod.m3u8", segment):
            r = stolen.get(f"/o/{web.b}/media/{token}/{tail}")
            assert r.status_code == 401 and b"#EXTM3U" not in r.content
            assert r.headers["content-type"].startswith("application/json")
    # A's token with B's own signed-in user: B knows no such viewing session
    with web.client() as c:
        login(c, web.b, "bartek")
        for tail in ("vod.m3u8", segment):
            r = c.get(f"/o/{web.b}/media/{token}/{tail}")
            assert r.status_code == 403 and r.json()["reason"] == "session_unknown"
            assert b"#EXTM3U" not in r.content and len(r.content) < 2000
    assert _served_count(web, web.b) == served_before  # nothing served in B's register


def _served_count(web: Served, slug: str) -> int:
    with web.vaults[slug].reading() as s:
        return int(s.execute(select(func.count()).select_from(AccessEntry)).scalar_one())


def httpx_client(web: Served, session: str | None) -> object:
    """A client that sends ``session`` as the session cookie to every path (a person who
    copied it by hand), the jar's path rules left out."""
    headers = {"Cookie": f"{SESSION_COOKIE}={session}"} if session else {}
    return httpx.Client(base_url=web.base, follow_redirects=False, timeout=60,
                        headers=headers)


SKIP = ("/logout", "/lang/", "/media/", "/view/", ".pdf", ".csv", ".zip", "/get", "/api/")


def _crawl(web: Served, c: httpx.Client, limit: int = 80) -> dict[str, list[str]]:
    """Every page of office A reachable by GET links from its dashboard (up to ``limit``):
    page -> the addresses on it that leave office A's prefix (none is allowed but /static/,
    the installation's / and the other office's root)."""
    mine, seen, queue = f"/o/{web.a}", set(), [f"/o/{web.a}/"]
    wrong: dict[str, list[str]] = {}
    while queue and len(seen) < limit:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        r = c.get(path)
        if "text/html" not in r.headers.get("content-type", ""):
            continue
        bad = [a for a in addresses(r.text)
               if not a.startswith((f"{mine}/", "/static/", f"/o/{web.b}/"))
               and a not in ("/", mine)]
        if bad:
            wrong[path] = bad
        for a in addresses(r.text):
            link = a.split("#")[0]
            if link.startswith(f"{mine}/") and not any(x in link for x in SKIP):
                queue.append(link)
    assert len(seen) > 15, seen  # the crawl really walked the app
    return wrong


def test_no_page_of_an_office_links_outside_its_prefix(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    with installation(tmp_path, "sqlite", monkeypatch) as inst, served(inst) as web:
        a = web.vaults[web.a]
        people(a)
        setup_camera(a, "cam-hol")
        record(a, "cam-hol", datetime.now(UTC) - timedelta(hours=1), 2, tmp_path / "seg")
        user(a, "admin", ["administrator"], display="Zenon Żak")
        wrong: dict[str, list[str]] = {}
        for name in ("admin", "anna", "burmistrz"):
            if name == "burmistrz":
                with a.transaction() as s:
                    from kustosz.access import accounts
                    from kustosz.db.custody import User
                    accounts.set_password(s, s.execute(select(User).where(
                        User.name == name)).scalar_one(), PASSWORD, "test")
            with web.client() as c:
                assert login(c, web.a, name).status_code == 303
                wrong |= _crawl(web, c)
        assert wrong == {}


def test_the_root_lists_the_offices_by_name_in_polish_order() -> None:
    """By the names a person reads, in the Polish alphabet — not by short name."""
    from starlette.testclient import TestClient

    from kustosz.web.installation_app import Office, create_installation_app

    offices = [Office("aa", None, "Żarów — urząd"), Office("bb", None, "Ćmielów — urząd"),
               Office("cc", None, "Cedynia — urząd"), Office("dd", None, "Łódź — MOPS 🏠")]
    with TestClient(create_installation_app(GMINA, offices)) as c:
        page = c.get("/").text
    at = [page.index(name) for name in ("Cedynia", "Ćmielów", "Łódź", "Żarów")]
    assert at == sorted(at), page

