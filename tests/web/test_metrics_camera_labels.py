"""/metrics labels say no camera's whereabouts (issue 28 item 9, R1.7).

The label filter kept a camera's name unless it looked like a phone number or a person's
name, so `gabinet-burmistrza-ratusz-p1` — where the mayor's office camera hangs — went to the
office's Prometheus and every dashboard built on it. A camera is now labelled by kind and id;
its name only for a token whose owner holds the camera locations right, and that scrape is
recorded as a view of camera locations."""

from __future__ import annotations

from sqlalchemy import select
from tests.custody.custody_helpers import setup_camera
from web_helpers import STRANGER, client, user

from kustosz.access import tokens
from kustosz.db.custody import User
from kustosz.db.models import AuditEntry, Source
from kustosz.vault import Vault
from kustosz.web.gate import SCOPES

PLACE = "gabinet-burmistrza-ratusz-p1"
PLACE_WORDS = ("gabinet", "burmistrza", "ratusz")


def token(vault: Vault, name: str, scopes: list[str]) -> dict[str, str]:
    with vault.transaction() as s:
        u = s.execute(select(User).where(User.name == name)).scalar_one()
        made, _ = tokens.create(s, u, "prometheus", scopes, 30, SCOPES)
    return {"Authorization": f"Bearer {made}"}


def camera_id(vault: Vault) -> int:
    with vault.reading() as s:
        return s.execute(select(Source.id).where(Source.name == PLACE)).scalar_one()


def views(vault: Vault) -> list[str]:
    with vault.reading() as s:
        return list(s.execute(select(AuditEntry.subject).where(
            AuditEntry.action == "camera_locations.view")).scalars())


def test_a_camera_is_labelled_by_id_unless_the_scraper_may_see_locations(
        sqlite_vault: Vault) -> None:
    setup_camera(sqlite_vault, PLACE)
    user(sqlite_vault, "admin", ["administrator"])  # holds the locations right
    user(sqlite_vault, "informatyk", ["viewer"])  # does not
    cid = camera_id(sqlite_vault)
    here = client(sqlite_vault)
    for c, headers, who in [(here, {}, "the allow-listed address"),
                            (client(sqlite_vault, STRANGER),
                             token(sqlite_vault, "informatyk", ["metrics"]),
                             "a token without the locations right")]:
        r = c.get("/metrics", headers=headers)
        assert r.status_code == 200, (who, r.text)
        assert f'source="camera-{cid}"' in r.text, who
        assert not [w for w in PLACE_WORDS if w in r.text.lower()], who
    assert views(sqlite_vault) == []  # nothing of a location was shown
    allowed = token(sqlite_vault, "admin", ["metrics"])
    for _ in range(2):
        r = here.get("/metrics", headers=allowed)
        assert r.status_code == 200 and f'source="{PLACE}"' in r.text
        assert f'source="camera-{cid}"' not in r.text
    # recorded as a view of camera locations, once for a run of scrapes
    assert views(sqlite_vault) == ["metrics: camera names"]
    # and the names stay with that scraper: the address's scrape is still by id
    r = here.get("/metrics")
    assert PLACE not in r.text and f'source="camera-{cid}"' in r.text


def test_a_token_without_the_metrics_scope_reads_no_names(sqlite_vault: Vault) -> None:
    """Bad input: the locations right does not stand in for the scope."""
    setup_camera(sqlite_vault, PLACE)
    user(sqlite_vault, "admin", ["administrator"])
    for scopes in (["read"], ["media"]):
        r = client(sqlite_vault).get("/metrics", headers=token(sqlite_vault, "admin", scopes))
        assert r.status_code == 403 and PLACE not in r.text
    r = client(sqlite_vault).get("/metrics", headers={"Authorization": "Bearer ksz_nope"})
    assert r.status_code == 403 and PLACE not in r.text
    assert views(sqlite_vault) == []
