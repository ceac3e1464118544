"""Security of the web app: CSRF, session rotation, escaping, role walls, cookies,
the first administrator's one-time password."""

from __future__ import annotations

from sqlalchemy import select
from tests.conftest import snapshot
from web_helpers import PASSWORD, client, csrf_in, csrf_of, login, session_for, user

from kustosz.access.bootstrap import first_admin
from kustosz.db.access import WebSession
from kustosz.vault import Vault
from kustosz.web import create_app
from kustosz.web.app import iter_routes


def test_post_without_csrf_is_refused_and_changes_nothing(sqlite_vault: Vault) -> None:
    user(sqlite_vault, "ania", ["custodian"])
    c = client(sqlite_vault)
    assert login(c, "ania").status_code == 303
    before = snapshot(sqlite_vault)
    form = {"sources": "x", "from": "2026-01-01T10:00", "to": "2026-01-01T11:00",
            "basis": "test"}
    assert c.post("/holds", data=form).status_code == 403
    assert c.post("/holds", data={**form, "csrf": "forged"}).status_code == 403
    assert c.post("/api/holds", json={"sources": ["x"], "from": "2026-01-01T10:00:00Z",
                                      "to": "2026-01-01T11:00:00Z", "basis": "t"}
                  ).status_code == 403
    assert snapshot(sqlite_vault)["tables"] == before["tables"]
    # the login form too needs its token
    fresh = client(sqlite_vault)
    assert fresh.post("/login", data={"username": "ania", "password": PASSWORD}
                      ).status_code == 403


def test_session_id_changes_at_login_and_old_one_dies(sqlite_vault: Vault) -> None:
    user(sqlite_vault, "ania", ["viewer"])
    user(sqlite_vault, "bartek", ["viewer"])
    c = client(sqlite_vault)
    session_for(sqlite_vault, c, "bartek")
    planted = c.cookies.get("kustosz_session")
    assert c.get("/").status_code == 200
    assert login(c, "ania").status_code == 303
    new = c.cookies.get("kustosz_session")
    assert new and new != planted
    other = client(sqlite_vault)
    other.cookies.set("kustosz_session", planted, domain="testserver.local")
    assert other.get("/").status_code == 303  # the presented session was ended
    with sqlite_vault.reading() as s:
        assert len(list(s.execute(select(WebSession)).scalars())) == 2


def test_cookie_flags(sqlite_vault: Vault) -> None:
    user(sqlite_vault, "ania", ["viewer"])
    c = client(sqlite_vault)
    r = login(c, "ania")
    cookie = next(v for k, v in r.headers.multi_items()
                  if k == "set-cookie" and v.startswith("kustosz_session="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    secure = create_app(sqlite_vault, secure_cookies=True)
    from fastapi.testclient import TestClient

    sc = TestClient(secure, base_url="https://testserver", client=("127.0.0.1", 1),
                    follow_redirects=False)
    r = login(sc, "ania")
    cookie = next(v for k, v in r.headers.multi_items()
                  if k == "set-cookie" and v.startswith("kustosz_session="))
    assert "Secure" in cookie


def test_script_in_names_renders_as_text(sqlite_vault: Vault) -> None:
    evil = "<script>alert('x')</script>"
    user(sqlite_vault, "admin1", ["administrator"])
    user(sqlite_vault, "zly", ["viewer"], display=evil)
    c = client(sqlite_vault)
    session_for(sqlite_vault, c, "admin1")
    page = c.get("/admin/users").text
    assert evil not in page
    assert "&lt;script&gt;" in page
    c2 = client(sqlite_vault)
    session_for(sqlite_vault, c2, "zly")
    assert evil not in c2.get("/").text


def test_viewer_cannot_reach_admin_routes_by_url(sqlite_vault: Vault) -> None:
    user(sqlite_vault, "ania", ["viewer"])
    c = client(sqlite_vault)
    session_for(sqlite_vault, c, "ania")
    csrf = csrf_of(sqlite_vault, c)
    app = create_app(sqlite_vault)
    admin = [r for r in iter_routes(app.routes) if getattr(r, "path", "").startswith("/admin")]
    assert admin
    before = snapshot(sqlite_vault)["tables"]
    for r in admin:
        path = r.path.replace("{name}", "ania")
        for method in r.methods:
            resp = c.request(method, path, data={"csrf": csrf, "allowlist": "0.0.0.0/0",
                                                 "name": "x", "display_name": "x",
                                                 "roles": "administrator"})
            assert resp.status_code == 403, (method, path, resp.status_code)
    for method, path in (("GET", "/holds"), ("GET", "/requests"), ("GET", "/access-log"),
                         ("POST", "/authorisations"), ("POST", "/holds")):
        resp = c.request(method, path, data={"csrf": csrf})
        assert resp.status_code == 403, (method, path)
    assert snapshot(sqlite_vault)["tables"] == before


def test_first_admin_one_time_password(sqlite_vault: Vault) -> None:
    password = first_admin(sqlite_vault)
    assert password and len(password) >= 16
    assert first_admin(sqlite_vault) is None  # shown once
    c = client(sqlite_vault)
    r = login(c, "admin", password)
    assert r.headers["location"] == "/account/password"
    assert c.get("/admin/users").headers["location"] == "/account/password"
    page = c.get("/account/password")
    r = c.post("/account/password", data={"csrf": csrf_in(page.text), "current": password,
                                           "new": "krótkie", "again": "krótkie"})
    assert r.status_code == 422 and "co najmniej 12 znaków" in r.text
    r = c.post("/account/password", data={"csrf": csrf_in(page.text), "current": password,
                                           "new": "Nowe-hasło-123", "again": "Nowe-hasło-123"})
    assert r.status_code == 303
    assert c.get("/admin/users").status_code == 200
    assert login(client(sqlite_vault), "admin", password).status_code == 401


def test_demo_banner_prints_address_and_password_once(sqlite_vault: Vault) -> None:
    from kustosz.web.server import demo_banner

    first = demo_banner(sqlite_vault, "127.0.0.1", 8470)
    assert "http://127.0.0.1:8470/" in first and "hasło jednorazowe" in first
    again = demo_banner(sqlite_vault, "127.0.0.1", 8470)
    assert "hasło" not in again


def test_totp_second_factor(sqlite_vault: Vault) -> None:
    import pyotp

    user(sqlite_vault, "ania", ["viewer"])
    c = client(sqlite_vault)
    login(c, "ania")
    page = c.get("/account/totp").text
    secret = page.split('name="secret" value="')[1].split('"')[0]
    assert c.post("/account/totp", data={"csrf": csrf_in(page), "secret": secret,
                                         "password": PASSWORD,
                                         "code": "000000"}).status_code == 422
    assert c.post("/account/totp", data={"csrf": csrf_in(page), "secret": secret,
                                         "password": PASSWORD,
                                         "code": pyotp.TOTP(secret).now()}).status_code == 303
    fresh = client(sqlite_vault)
    r = login(fresh, "ania")
    assert r.status_code == 401 and "kod" in r.text.lower()
    form = fresh.get("/login").text
    # the code that switched TOTP on is spent; the next one (±1 step of drift) is good
    import time

    following = pyotp.TOTP(secret).at(int(time.time()) + 30)
    r = fresh.post("/login", data={"username": "ania", "password": PASSWORD,
                                   "totp": following, "csrf": csrf_in(form)})
    assert r.status_code == 303
