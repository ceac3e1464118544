"""Issue 66 item 1 through the JSON API: a zone and a camera are registered by the same rule as
the CLI and the pages, so a camera in a residents' room, a school toilet or a room the office
excludes is refused here too — 422 naming the field, the reason in Polish, nothing saved —
and only an administrator's token with the "cameras" scope registers anything. Polish names
and emoji throughout."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.conftest import snapshot
from web_helpers import signed_in, user

from kustosz.cameras.register import add_site
from kustosz.vault import Vault

SITE = "Dom Pomocy Społecznej „Zacisze” 🌳"
PASSWORD = "Józef-Żółć-7"


def token(c: TestClient, scopes: list[str]) -> dict[str, str]:
    r = c.post("/api/tokens", json={"name": "rejestr 📷", "scopes": scopes})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def office(vault: Vault) -> tuple[TestClient, dict[str, str]]:
    with vault.transaction() as s:
        add_site(s, SITE, "test")
    user(vault, "adm", ["administrator"])
    user(vault, "ola", ["viewer"])
    c = signed_in(vault, "adm", api=True)
    return c, token(c, ["cameras", "read"])


def test_a_camera_in_a_closed_room_is_refused_by_the_api(sqlite_web_vault: Vault) -> None:
    vault = sqlite_web_vault
    c, auth = office(vault)
    kinds = {k["kind"]: k for k in c.get("/api/zone-kinds", headers=auth).json()}
    assert kinds["resident_room"]["statutes"][0]["outright"] is True
    assert "entrance" not in kinds and {"entrance_inside", "entrance_outside"} <= set(kinds)

    before = snapshot(vault)
    named = c.post("/api/zones", headers=auth, json={"site": SITE, "kind": "ordinary",
                                                    "name": "pokój mieszkalny 12 🛏️"})
    assert named.status_code == 422 and named.json()["detail"][0]["field"] == "name"
    assert "wskazuje na rodzaj „pokój mieszkalny”" in named.json()["detail"][0]["msg_pl"]
    assert snapshot(vault) == before

    for name, kind in (("pokój mieszkalny 12 🛏️", "resident_room"),
                       ("toaleta 🚻 parter", "sanitary"), ("korytarz — skrzydło Ż", "corridor")):
        r = c.post("/api/zones", headers=auth, json={"site": SITE, "name": name, "kind": kind})
        assert r.status_code == 201, r.text
    camera = {"name": "kamera-1", "site": SITE, "url": "rtsp://operator@10.1.1.20/s",
              "password": PASSWORD, "purposes": ["property"], "notice_date": "2026-01-01",
              "signage_date": "2026-01-10",
              "unrecognisable_reason": "maska prywatności na całym kadrze 🔒",
              "representatives_consent": "porozumienie z 10.01.2026"}
    before = snapshot(vault)
    r = c.post("/api/cameras", headers=auth, json={**camera, "zone": "pokój mieszkalny 12 🛏️"})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"][0]
    assert detail["field"] == "zone" and "bez wyjątków" in detail["msg_pl"]
    assert PASSWORD not in r.text
    r = c.post("/api/cameras", headers=auth, json={**camera, "zone": "toaleta 🚻 parter",
                                                   "representatives_consent": None})
    assert r.status_code == 422 and "uprzedniej zgody" in r.json()["detail"][0]["msg_pl"]
    r = c.post("/api/cameras", headers=auth, json={**camera, "zone": "korytarz — skrzydło Ż",
                                                   "purposes": ["spying_on_staff"]})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "purposes"
    assert snapshot(vault) == before

    r = c.post("/api/cameras", headers=auth,
               json={**camera, "zone": "korytarz — skrzydło Ż",
                     "purposes": ["public_order", "property"]})
    assert r.status_code == 201, r.text
    assert r.json() == {"name": "kamera-1", "url": "rtsp://10.1.1.20/s",
                        "purposes": ["public_order", "property"]}


def test_registering_needs_the_administrator_and_the_cameras_scope(
        sqlite_web_vault: Vault) -> None:
    vault = sqlite_web_vault
    c, _ = office(vault)
    zone = {"site": SITE, "name": "hol 🏛️", "kind": "corridor"}
    read_only = token(c, ["read"])
    assert c.post("/api/zones", headers=read_only, json=zone).status_code == 403
    viewer = signed_in(vault, "ola", api=True)
    assert viewer.post("/api/zones", json=zone).status_code == 403
    assert c.post("/api/zones", json=zone).status_code == 201  # the administrator's session
