"""Refusals a person meets in the browser are Polish pages with the right status (issue 12
item 7): a method the address does not take (405), a body over the cap (413) and a form whose
CSRF token is missing or stale (403). The API and media URLs keep their JSON answers."""

from __future__ import annotations

from tests.conftest import snapshot
from web_helpers import client, csrf_of, session_for, user

from kustosz.vault import Vault
from kustosz.web.app import EXPIRED_FORM_PL, NOT_ALLOWED_PL
from kustosz.web.robust import MAX_BODY, TOO_LARGE_PL

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def _page(r, status: int, heading: str, message: str) -> str:  # type: ignore[no-untyped-def]
    assert r.status_code == status, (r.status_code, r.text[:200])
    assert r.headers["content-type"].startswith("text/html"), r.headers["content-type"]
    assert f"<h1>{heading}</h1>" in r.text and message in r.text
    assert '"detail"' not in r.text and "Method Not Allowed" not in r.text
    return r.text


def test_a_method_the_page_does_not_take_is_a_polish_405_page(sqlite_web_vault: Vault) -> None:
    user(sqlite_web_vault, "iod", ["dpo"], password=None)
    c = client(sqlite_web_vault)
    session_for(sqlite_web_vault, c, "iod")
    r = c.get("/audit/verify", headers=BROWSER)  # a form's address opened directly
    page = _page(r, 405, "Niedozwolona operacja", NOT_ALLOWED_PL)
    assert r.headers["allow"] == "POST"
    assert "Wyloguj" in page  # the usual navigation for the signed-in person
    r = c.delete("/requests", headers=BROWSER)
    _page(r, 405, "Niedozwolona operacja", NOT_ALLOWED_PL)
    c.cookies.set("kustosz_lang", "en", domain="testserver.local")
    assert "<h1>Operation not allowed</h1>" in c.get("/audit/verify", headers=BROWSER).text


def test_the_api_keeps_json_405(sqlite_web_vault: Vault) -> None:
    c = client(sqlite_web_vault)
    r = c.get("/api/tokens/abc/revoke", headers=BROWSER)
    assert r.status_code == 405 and r.json() == {"detail": "Method Not Allowed"}


def test_a_body_over_the_cap_is_a_polish_413_page(sqlite_web_vault: Vault) -> None:
    user(sqlite_web_vault, "iod", ["dpo"], password=None)
    c = client(sqlite_web_vault)
    session_for(sqlite_web_vault, c, "iod")
    csrf = csrf_of(sqlite_web_vault, c)
    before = snapshot(sqlite_web_vault)
    r = c.post("/holds", data={"csrf": csrf, "basis": "x" * (2 * MAX_BODY)}, headers=BROWSER)
    _page(r, 413, "Za duże żądanie", TOO_LARGE_PL)
    r = c.post("/api/holds", content=b"{" + b" " * (2 * MAX_BODY) + b"}",
               headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"})
    assert r.status_code == 413 and r.json() == {"detail": "request body too large (limit 1 MB)"}
    assert snapshot(sqlite_web_vault) == before


def test_a_stale_csrf_token_is_a_polish_403_page_and_changes_nothing(sqlite_web_vault: Vault
                                                                     ) -> None:
    user(sqlite_web_vault, "iod", ["dpo"], password=None)
    c = client(sqlite_web_vault)
    session_for(sqlite_web_vault, c, "iod")
    before = snapshot(sqlite_web_vault)
    for sent in ({}, {"csrf": "z-poprzedniej-sesji"}):
        r = c.post("/audit/verify", data=sent, headers=BROWSER)
        page = _page(r, 403, "Formularz wygasł", EXPIRED_FORM_PL)
        assert "Formularz wygasł — odśwież stronę" in page
    r = c.post("/api/holds", json={}, headers={"X-CSRF-Token": "z-poprzedniej-sesji"})
    assert r.status_code == 403 and r.json() == {"detail": "CSRF token missing or wrong"}
    assert snapshot(sqlite_web_vault) == before
