"""The web app with its database away (issue 27): a real uvicorn server (kustosz.web.server)
on a real PostgreSQL of the test's own behind a TCP proxy the test controls
(tests/support/pg_outage.py). Cut or silenced, every request answers 503 with Retry-After
within the engine's bounds, never hangs: a person gets the Polish page "Baza danych jest
niedostępna", the API an RFC 9457 problem, /media no byte of material (the gate: no media
without its access record); the log holds one warning, no traceback. Restored, the same
requests work again. The page is screenshotted in Chromium and looked at."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from tests.support import pg_outage
from tests.support.pg_outage import PrivatePostgres, Proxy
from web_helpers import Material, both_vault, make_material, playback_of, signed_in

from kustosz.db import deadline
from kustosz.web.outage import RETRY_AFTER_S
from kustosz.web.server import WebServer

pytestmark = [pytest.mark.pg, pytest.mark.skipif(not pg_outage.available(),
                                                 reason="no PostgreSQL server binaries")]
ANSWER_S = 3.0  # the deadline of every wait for the database here (60 s in serve)
CONNECT_S = 3  # libpq's connect_timeout here (10 s in serve)
BOUND_S = 2 * ANSWER_S + CONNECT_S + 5  # a pooled connection's ping, a new one, slack


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[PrivatePostgres, Proxy]]:
    import tempfile

    pg = PrivatePostgres(Path(tempfile.gettempdir()))
    proxy = Proxy(pg.port)
    try:
        yield pg, proxy
    finally:
        proxy.close()
        pg.stop()


@pytest.fixture
def setup(server: tuple[PrivatePostgres, Proxy], tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Material, WebServer, Proxy]]:
    pg, proxy = server
    proxy.restore()
    monkeypatch.setattr(deadline, "DEFAULT_S", ANSWER_S)
    name = f"kt_{os.urandom(5).hex()}"
    with psycopg.connect(pg.admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    vault = both_vault(tmp_path / "vault", f"postgresql://postgres@127.0.0.1:{proxy.port}/"
                                           f"{name}?connect_timeout={CONNECT_S}")
    m = make_material(vault, tmp_path)
    web = WebServer(vault, "127.0.0.1", pg_outage.free_port())
    web.start()
    try:
        yield m, web, proxy
    finally:
        proxy.restore()
        web.stop()
        vault.close()


def _get(c: httpx.Client, path: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    r = c.get(path)
    return r, time.monotonic() - started


def _clients(m: Material, web: WebServer) -> tuple[httpx.Client, httpx.Client, httpx.Client,
                                                   str]:
    """Ola's browser with a playback session open (its segment's path), the custodian's
    browser, and an API client with a token."""
    tc, token, _ = playback_of(m)
    ola = httpx.Client(base_url=web.url, cookies=dict(tc.cookies), timeout=120)
    custodian = httpx.Client(base_url=web.url, cookies=dict(signed_in(m.vault,
                                                                       "informatyk").cookies),
                             timeout=120)
    from sqlalchemy import select

    from kustosz.access import tokens as api_tokens
    from kustosz.db.custody import User
    from kustosz.web.gate import SCOPES

    with m.vault.transaction() as s:
        u = s.execute(select(User).where(User.name == "informatyk")).scalar_one()
        made, _ = api_tokens.create(s, u, "skrypt", ["read"], 30, SCOPES)
    api = httpx.Client(base_url=web.url, timeout=120,
                       headers={"Authorization": f"Bearer {made}"})
    return ola, custodian, api, f"/media/{token}/segment/{m.old[0].id}.ts"


def _answers_503(ola: httpx.Client, custodian: httpx.Client, api: httpx.Client,
                 segment: str) -> None:
    r, took = _get(custodian, "/")
    assert r.status_code == 503 and took < BOUND_S, (r.status_code, took)
    assert r.headers["retry-after"] == str(RETRY_AFTER_S)
    assert "text/html" in r.headers["content-type"]
    assert "Baza danych jest niedostępna" in r.text and "Spróbuj ponownie" in r.text
    assert r.headers["content-security-policy"]  # the app's headers, as on every page
    r, took = _get(api, "/api/holds")
    assert r.status_code == 503 and took < BOUND_S
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["status"] == 503 and problem["detail_pl"].startswith("Baza danych")
    r, took = _get(ola, segment)  # the gate: no access record, no media
    assert r.status_code == 503 and took < BOUND_S
    assert r.headers["content-type"].startswith("application/problem+json")
    assert b"G@" not in r.content[:4] and len(r.content) < 1000  # no MPEG-TS packet


def _works(ola: httpx.Client, custodian: httpx.Client, api: httpx.Client,
           segment: str) -> None:
    deadline_at = time.monotonic() + 60
    while (r := custodian.get("/")).status_code != 200:  # the pool drops what the cut broke
        assert time.monotonic() < deadline_at, r.status_code
        time.sleep(0.2)
    assert api.get("/api/holds").status_code == 200
    r = ola.get(segment)
    assert r.status_code == 200 and r.content[:1] == b"G"  # MPEG-TS sync byte


@pytest.mark.parametrize("how", ["cut", "silence"])
def test_pages_answer_503_while_the_database_is_away_and_work_after(
        setup: tuple[Material, WebServer, Proxy], how: str,
        caplog: pytest.LogCaptureFixture) -> None:
    m, web, proxy = setup
    ola, custodian, api, segment = _clients(m, web)
    _works(ola, custodian, api, segment)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        getattr(proxy, how)()
        for _ in range(2):  # and again: no hang, no traceback per request
            _answers_503(ola, custodian, api, segment)
        proxy.restore()
        _works(ola, custodian, api, segment)
    said = [r for r in caplog.records if r.levelno >= logging.WARNING
            and r.name.startswith(("kustosz.web", "uvicorn"))]
    assert [r.name for r in said] == ["kustosz.web.outage"], [r.getMessage() for r in said]
    assert not any(r.exc_info for r in said) and "Traceback" not in caplog.text


def test_the_page_in_chromium(setup: tuple[Material, WebServer, Proxy], tmp_path: Path) -> None:
    """The page as an office worker sees it: Polish, the site's header, no broken layout;
    in English after the language switch. Screenshots kept for a person to look at."""
    playwright = pytest.importorskip("playwright.sync_api")
    chromium = "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.skip("no Chromium")
    m, web, proxy = setup
    shots = Path(os.environ.get("KUSTOSZ_SCREENSHOTS") or tmp_path)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--lang=pl-PL"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 600})
            session = signed_in(m.vault, "informatyk").cookies  # signed in before the cut
            page.context.add_cookies([{"name": k, "value": v, "url": web.url}
                                      for k, v in session.items()])
            assert page.goto(web.url + "requests").status == 200  # type: ignore[union-attr]
            proxy.cut()
            answer = page.goto(web.url + "requests")
            assert answer is not None and answer.status == 503
            assert page.locator("h1").inner_text() == "Baza danych jest niedostępna"
            assert page.title().startswith("Baza danych jest niedostępna")
            page.screenshot(path=str(shots / "database-away-pl.png"), full_page=True)
            page.context.add_cookies([{"name": "kustosz_lang", "value": "en",
                                       "url": web.url}])
            page.goto(web.url + "requests")
            assert page.locator("h1").inner_text() == "The database is unavailable"
            page.screenshot(path=str(shots / "database-away-en.png"), full_page=True)
        finally:
            browser.close()
