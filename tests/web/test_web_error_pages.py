"""Mistyped addresses and the counts on pages (issue 12 item 7): a person in the browser gets
a Polish page, never FastAPI's raw JSON (`{"detail":"Not Found"}`, 422 `int_parsing`); the
JSON API and the media URLs keep FastAPI's JSON answers, which their OpenAPI schema describes
(tests/web/test_web_api_fuzz.py checks them). Counts take the Polish plural form."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI, Form
from fastapi.testclient import TestClient
from tests.conftest import snapshot
from web_helpers import Material, authorise, client, csrf_of, session_for, user

from kustosz.custody.holds import place_hold
from kustosz.custody.requests import RequestSpec, register_request
from kustosz.index.sources import get_source
from kustosz.vault import Vault
from kustosz.web import create_app
from kustosz.web.app import BAD_ADDRESS_PL, BAD_FORM_PL, NO_PAGE_PL


def _html(r) -> str:  # type: ignore[no-untyped-def]
    assert r.headers["content-type"].startswith("text/html"), r.headers["content-type"]
    assert '"detail"' not in r.text and "int_parsing" not in r.text
    return r.text


def test_a_mistyped_page_address_is_a_polish_404_page(sqlite_web_vault: Vault) -> None:
    user(sqlite_web_vault, "iod", ["dpo"], password=None)
    c = client(sqlite_web_vault)
    for path in ("/wnioskii", "/requests/1/nic", "/static/nie-ma.css"):
        r = c.get(path)  # not logged in: the same page, no redirect to the login
        assert r.status_code == 404, path
        page = _html(r)
        assert "<h1>Nie ma takiej strony</h1>" in page and NO_PAGE_PL in page
    session_for(sqlite_web_vault, c, "iod")
    r = c.get("/wnioskii")
    assert r.status_code == 404 and "Wyloguj" in _html(r)  # the usual navigation
    c.cookies.set("kustosz_lang", "en", domain="testserver.local")
    assert "<h1>No such page</h1>" in _html(c.get("/wnioskii"))


def test_the_api_and_media_keep_json_404(sqlite_web_vault: Vault) -> None:
    c = client(sqlite_web_vault)
    for path in ("/api/nothing", "/api/requests/1/nic", "/media/nothing"):
        r = c.get(path)
        assert r.status_code == 404, path
        assert r.json() == {"detail": "Not Found"}, path


def test_a_bad_number_in_a_page_address_is_a_polish_422_page(sqlite_material: Material
                                                             ) -> None:
    m = sqlite_material
    c = client(m.vault)
    session_for(m.vault, c, "informatyk")
    before = snapshot(m.vault)
    for path in ("/requests/abc", "/requests/1.5", "/requests/0", "/employees/x/declaration"):
        r = c.get(path)
        assert r.status_code == 422, (path, r.status_code)
        page = _html(r)
        assert "<h1>Niepoprawna wartość</h1>" in page and BAD_ADDRESS_PL in page, path
        assert "Adres zawiera niepoprawną wartość" in page
    csrf = csrf_of(m.vault, c)
    r = c.post("/requests/abc/decide", data={"csrf": csrf, "agree": "yes"})
    assert r.status_code == 422 and BAD_ADDRESS_PL in _html(r)
    assert snapshot(m.vault) == before


def test_the_api_keeps_fastapis_json_422(sqlite_material: Material) -> None:
    m = sqlite_material
    c = client(m.vault)
    session_for(m.vault, c, "informatyk")
    csrf = csrf_of(m.vault, c)
    before = snapshot(m.vault)
    r = c.post("/api/tokens/abc/revoke", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail[0]["type"] == "int_parsing" and detail[0]["loc"] == ["path", "token_id"]
    r = c.post("/api/requests/abc/decision", json={"agree": True},
               headers={"X-CSRF-Token": csrf})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][0] == "path"
    assert snapshot(m.vault) == before


def test_a_bad_form_value_on_a_page_is_a_polish_422_page(sqlite_web_vault: Vault) -> None:
    """No page of the app declares form fields to FastAPI today (they read the form
    themselves and answer with the form and its errors); a probe route stands in for a
    future one, so its message is not the one about the address."""
    app: FastAPI = create_app(sqlite_web_vault)

    @app.post("/probe-form")
    def probe(n: int = Form()) -> dict[str, int]:
        return {"n": n}

    c = TestClient(app)
    r = c.post("/probe-form", data={"n": "abc"})
    assert r.status_code == 422
    page = _html(r)
    assert BAD_FORM_PL in page and BAD_ADDRESS_PL not in page


def test_counts_on_pages_take_the_polish_plural(sqlite_material: Material) -> None:
    """The dashboard's tiles and a request's listed recordings: "1 aktywne zabezpieczenie",
    "2 aktywne zabezpieczenia", "(1 nagranie)" — not "(1 nagrań)"."""
    m = sqlite_material
    c = client(m.vault)
    session_for(m.vault, c, "burmistrz")
    page = c.get("/").text
    # the request of the material holds its window: one hold
    assert "<b>1</b><span>aktywne zabezpieczenie nagrań</span>" in page
    assert "<b>0</b><span>wniosków czekających na decyzję</span>" in page
    with m.vault.transaction() as s:
        place_hold(s, sources=[get_source(s, "cam-inne")], start=m.window[0],
                   end=m.window[1], basis="art. 22² §3 k.p. (test)", actor="test")
    assert "<b>2</b><span>aktywne zabezpieczenia nagrań</span>" in c.get("/").text
    tz = m.vault.policy.timezone
    at = m.call.start_at
    with m.vault.transaction() as s:
        req = register_request(s, m.vault.policy, RequestSpec(
            kind="authority", material="calls", requester="KPP Pleszew",
            received_on=at.astimezone(tz).date(), event_date=at.astimezone(tz).date(),
            purpose="postępowanie", caller="600 100 200", start=at - timedelta(minutes=1),
            end=at + timedelta(minutes=1), margin_minutes=0), "test")
        req_id = req.id
    page = c.get(f"/requests/{req_id}").text
    assert "(1 nagranie)" in page and "nagrań)" not in page


def test_recorder_states_on_the_dashboard_are_polish(sqlite_material: Material) -> None:
    """English found on the dashboard: the recorder's state and a gap's cause were shown as
    stored ("recording", "stream_stall"); the page names them in Polish (the codes stay
    English inside)."""
    from kustosz.ingest.camera import health

    m = sqlite_material
    with m.vault.reading() as s:
        hol, other = get_source(s, "cam-hol").id, get_source(s, "cam-inne").id
    health.set_status(m.vault, hol, "recording", "recording h264")
    health.set_status(m.vault, other, "down", "kamera nieosiągalna")
    start = m.window[0]
    health.record_gap(m.vault, hol, start, start + timedelta(seconds=3), "stream_stall", "")
    c = client(m.vault)
    session_for(m.vault, c, "burmistrz")
    page = c.get("/").text
    assert '<td class="state-recording">nagrywa</td>' in page
    assert '<td class="state-down">nie nagrywa</td>' in page
    assert "(przerwa w strumieniu z kamery)" in page and "stream_stall" not in page


def test_the_playback_page_counts_its_segments_in_polish(sqlite_material: Material) -> None:
    """The window of the material holds three segments: "3 segmenty" (was "3 segmentów");
    a gap the recorder noted is named in Polish, not by its code."""
    m = sqlite_material
    user(m.vault, "ola", ["viewer"], password=None)
    authorise(m.vault, "ola", ["playback"], sources=["cam-hol"])
    c = client(m.vault)
    session_for(m.vault, c, "ola")
    from kustosz.ingest.camera import health

    with m.vault.reading() as s:
        hol = get_source(s, "cam-hol").id
    start = m.window[0] + timedelta(seconds=1)
    health.record_gap(m.vault, hol, start, start + timedelta(seconds=2), "auth_failed", "")
    tz = m.vault.policy.timezone
    r = c.post("/media/start", data={
        "csrf": csrf_of(m.vault, c), "action": "playback", "source": "cam-hol",
        "from": m.window[0].astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S"),
        "to": m.window[1].astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S"),
        "purpose": "wyjaśnienie kradzieży", "case_ref": "OR.123", "witness": "zastepca"})
    assert r.status_code == 303
    page = c.get(r.headers["location"]).text
    assert " · 3 segmenty · " in page and "segmentów" not in page
    assert "(kamera odrzuciła login lub hasło (401))" in page and "auth_failed" not in page


def test_a_missing_row_is_named_in_polish_under_the_right_heading(sqlite_material: Material
                                                                  ) -> None:
    """A request or an employee that does not exist: "Nie znaleziono", not the heading
    "Brak uprawnień" the error page used to show for everything, and not the domain's
    English ("no request with id …")."""
    m = sqlite_material
    c = client(m.vault)
    session_for(m.vault, c, "informatyk")
    for path in ("/requests/999999", "/employees/999999/declaration"):
        r = c.get(path)
        assert r.status_code == 404, path
        page = _html(r)
        assert "<h1>Nie znaleziono</h1>" in page and "Brak uprawnień" not in page, path
        assert "no request" not in page and "kustosz requests list" not in page
    user(m.vault, "ola", ["viewer"], password=None)
    session_for(m.vault, c, "ola")
    r = c.get("/admin/settings")  # not hers: the heading stays "Brak uprawnień"
    assert r.status_code == 403 and "<h1>Brak uprawnień</h1>" in r.text
