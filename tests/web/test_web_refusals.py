"""Refusals say which condition failed, and the DPO sees every refused attempt (issue 12 item
8): no authorisation, one for another source, not yet valid, expired, revoked, a workstation
off the allow-list, a role that is not eligible, a viewing session that is over, unknown or
asked for something outside it. The page says it in Polish with what to do; /api and /media
answer JSON with the English detail and the reason code; the access register (/access-log)
shows each attempt with its reason, filterable. The real app, SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from web_helpers import (
    OFFICE_PC,
    STRANGER,
    Material,
    authorise,
    csrf_of,
    signed_in,
    user,
)

from kustosz.access.authorisations import revoke
from kustosz.db.access import Authorisation, ViewingSession
from kustosz.db.models import AuditEntry
from kustosz.vault import Vault

PLAYBACK = "odtwarzanie (przegląd) nagrań"
HTML = {"Accept": "text/html,application/xhtml+xml"}


def _local(vault: Vault, value: datetime, fmt: str = "%Y-%m-%dT%H:%M:%S") -> str:
    return value.astimezone(vault.policy.timezone).strftime(fmt)


def _form(m: Material, source: str = "cam-hol") -> dict[str, str]:
    return {"action": "playback", "source": source, "from": _local(m.vault, m.window[0]),
            "to": _local(m.vault, m.window[1]), "purpose": "wyjaśnienie szkody",
            "case_ref": "OR.7", "witness": "user:zastepca"}


def _box(page: str) -> tuple[str, str]:
    """The refusal box of a page: its reason code and its text (tags dropped)."""
    found = re.search(r'<div class="error box refusal" role="alert" data-reason="([a-z_]+)">'
                      r"(.*?)</div>", page, re.S)
    assert found, "no refusal box on the page"
    return found.group(1), html.unescape(re.sub(r"<[^>]+>|\s+", " ", found.group(2)))


def _refusals(vault: Vault) -> int:
    with vault.reading() as s:
        return s.execute(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action.in_(("access.refused", "access.blocked_address")))).scalar_one()


def _register_rows(page: str) -> list[tuple[str, str]]:
    """(reason code, row text) of each refused line of the access register."""
    return [(code, html.unescape(re.sub(r"<[^>]+>|\s+", " ", body)))
            for code, body in re.findall(r'<tr class="refused" data-reason="([a-z_]*)">(.*?)</tr>',
                                         page, re.S)]


def _revoked(m: Material, auth_id: int) -> None:
    with m.vault.transaction() as s:
        revoke(s, auth_id, "burmistrz", "zmiana stanowiska", "test")


# Each condition: how to arrange it for "ola" (returns the address she works from), and the
# Polish words her page must carry (a function of the authorisation row, for its dates).
Setup = Callable[[Material], tuple[str, int]]


def _none(m: Material) -> tuple[str, int]:
    user(m.vault, "ola", ["viewer"], password=None)
    # someone else's authorisation for the very same camera opens nothing for her, and her
    # page does not tell her about it
    user(m.vault, "jan", ["viewer"], password=None)
    authorise(m.vault, "jan", ["playback"], sources=["cam-hol"])
    return "no_authorisation", 0


def _other_source(m: Material) -> tuple[str, int]:
    user(m.vault, "ola", ["viewer"], password=None)
    return "other_source", authorise(m.vault, "ola", ["playback"], sources=["cam-inne"])


def _not_yet(m: Material) -> tuple[str, int]:
    user(m.vault, "ola", ["viewer"], password=None)
    return "not_yet_valid", authorise(m.vault, "ola", ["playback"], sources=["cam-hol"],
                                      days=(2, 30))


def _expired(m: Material) -> tuple[str, int]:
    user(m.vault, "ola", ["viewer"], password=None)
    return "expired", authorise(m.vault, "ola", ["playback"], sources=["cam-hol"],
                                days=(-30, -2))


def _revoked_setup(m: Material) -> tuple[str, int]:
    user(m.vault, "ola", ["viewer"], password=None)
    auth_id = authorise(m.vault, "ola", ["playback"], kinds=["camera"])
    _revoked(m, auth_id)
    return "revoked", auth_id


def _role(m: Material) -> tuple[str, int]:
    user(m.vault, "ola", ["operator"], password=None)  # live view only, never recordings
    return "role", 0


def _workstation(m: Material) -> tuple[str, int]:
    user(m.vault, "ola", ["viewer"], password=None)
    return "workstation", authorise(m.vault, "ola", ["playback"], sources=["cam-hol"])


def _expected(m: Material, code: str, auth_id: int) -> list[str]:
    with m.vault.reading() as s:
        a = s.get(Authorisation, auth_id) if auth_id else None
    when = "%d.%m.%Y %H:%M"
    return {
        "no_authorisation": [f"Nie masz upoważnienia do czynności: {PLAYBACK}.",
                             "Poproś kierownika jednostki lub jego zastępcę o upoważnienie"],
        "other_source": [f"Twoje upoważnienie do czynności: {PLAYBACK} nie obejmuje źródła: "
                         "cam-hol.", "o rozszerzenie upoważnienia"],
        "not_yet_valid": [f"Twoje upoważnienie nr {auth_id} obowiązuje dopiero od "
                          f"{_local(m.vault, a.valid_from, when)} "
                          f"(do {_local(m.vault, a.valid_to, when)})." if a else ""],
        "expired": [f"Twoje upoważnienie nr {auth_id} wygasło "
                    f"{_local(m.vault, a.valid_to, when)}" if a else "", "o nowe upoważnienie"],
        "revoked": [f"Twoje upoważnienie nr {auth_id} zostało odwołane "
                    f"{_local(m.vault, a.revoked_at, when)}." if a and a.revoked_at else ""],
        "role": [f"Twoja rola nie pozwala na czynność: {PLAYBACK}."],
        "workstation": ["To stanowisko (adres 10.9.9.9) nie jest na liście stanowisk "
                        "dopuszczonych", "poproś administratora systemu o dopisanie"],
    }[code]


def _in_register(m: Material, code: str, auth_id: int) -> list[str]:
    """What the DPO reads of the refusal: its reason and facts, impersonal."""
    with m.vault.reading() as s:
        a = s.get(Authorisation, auth_id) if auth_id else None
    when = "%d.%m.%Y %H:%M"
    return {
        "no_authorisation": ["brak upoważnienia", "źródło cam-hol"],
        "other_source": ["upoważnienie nie obejmuje źródła", "nie obejmuje: cam-hol"],
        "not_yet_valid": ["upoważnienie jeszcze nie obowiązuje",
                          f"upoważnienie nr {auth_id} obowiązuje od "
                          f"{_local(m.vault, a.valid_from, when)}" if a else ""],
        "expired": ["upoważnienie wygasło", f"upoważnienie nr {auth_id} obowiązywało od "
                    f"{_local(m.vault, a.valid_from, when)} do "
                    f"{_local(m.vault, a.valid_to, when)}" if a else ""],
        "revoked": ["upoważnienie odwołane", f"upoważnienie nr {auth_id} odwołane "
                    f"{_local(m.vault, a.revoked_at, when)}" if a and a.revoked_at else ""],
        "role": ["rola nie uprawnia do czynności"],
        # what was asked for, as typed: the address off the list learns nothing more
        "workstation": ["stanowisko niedopuszczone", "adres 10.9.9.9 spoza listy",
                        "źródło cam-hol"],
    }[code]


@pytest.mark.parametrize("setup", [_none, _other_source, _not_yet, _expired, _revoked_setup,
                                   _role, _workstation],
                         ids=["none", "other_source", "not_yet", "expired", "revoked", "role",
                              "workstation"])
def test_each_refusal_says_its_condition_and_the_dpo_sees_it(material: Material,
                                                              setup: Setup) -> None:
    m = material
    code, auth_id = setup(m)
    address = STRANGER if code == "workstation" else OFFICE_PC
    expected = _expected(m, code, auth_id)
    before = _refusals(m.vault)
    # the page: Polish, the condition and what to do, nothing of anyone else's authorisation
    c = signed_in(m.vault, "ola", address=address)
    r = c.post("/media/start", data={"csrf": csrf_of(m.vault, c), **_form(m)})
    assert r.status_code == 403
    reason, text = _box(r.text)
    assert reason == code
    for words in expected:
        assert words in text, (words, text)
    assert "Próba została zapisana" in text
    # what she chose is kept: the person present stays selected in the list (issue 30)
    assert "anna" not in text.lower() and 'value="user:zastepca" selected' in r.text
    # the API: English detail and the machine-readable reason
    api = signed_in(m.vault, "ola", api=True, address=address)
    r = api.post("/api/media/sessions", json=_form(m))
    assert r.status_code == 403
    assert r.json()["reason"] == code and r.json()["detail"].isascii()
    with m.vault.reading() as s:
        assert s.execute(select(func.count()).select_from(ViewingSession)).scalar_one() == 0
    # both attempts are on record, and the DPO sees them with their reason in Polish
    assert _refusals(m.vault) == before + 2
    user(m.vault, "iod", ["dpo"], password=None)
    dpo = signed_in(m.vault, "iod")
    register = dpo.get("/access-log")
    assert register.status_code == 200
    rows = _register_rows(register.text)
    assert [c for c, _ in rows] == [code, code]
    for _, text in rows:
        assert "Odmowa" in text and "ola" in text and "odtwarzanie" in text
        for words in _in_register(m, code, auth_id):
            assert words in text, (words, text)
    # "only refusals", "only this reason", "only accesses"
    only = dpo.get("/access-log", params={"show": "refused"})
    assert [c for c, _ in _register_rows(only.text)] == [code, code]
    assert [c for c, _ in _register_rows(dpo.get(
        "/access-log", params={"reason": code}).text)] == [code, code]
    other = "expired" if code != "expired" else "revoked"
    assert _register_rows(dpo.get("/access-log", params={"reason": other}).text) == []
    assert _register_rows(dpo.get("/access-log", params={"show": "access"}).text) == []


def test_a_session_that_is_over_unknown_or_asked_beyond_its_scope(material: Material) -> None:
    m = material
    user(m.vault, "ola", ["viewer"], password=None)
    user(m.vault, "ewa", ["viewer"], password=None)
    auth_id = authorise(m.vault, "ola", ["playback"], sources=["cam-hol"])
    authorise(m.vault, "ewa", ["playback"], sources=["cam-hol"])
    c = signed_in(m.vault, "ola")
    r = c.post("/media/start", data={"csrf": csrf_of(m.vault, c), **_form(m)})
    assert r.status_code == 303, r.text
    token = r.headers["location"].rsplit("/", 1)[1]
    assert c.get(f"/media/{token}/vod.m3u8").status_code == 200
    # a segment of the live view is outside this session's period
    r = c.get(f"/media/{token}/segment/{m.live.id}.ts")
    assert r.status_code == 403 and r.json()["reason"] == "outside_scope"
    # someone else's session token opens nothing for another person
    r = signed_in(m.vault, "ewa").get(f"/view/{token}")
    assert r.status_code == 403 and _box(r.text)[0] == "session_unknown"
    assert "nie została otwarta przez Ciebie" in _box(r.text)[1]
    # revoked while the session is open: the player's next request is refused, and so is the
    # page, each saying so
    _revoked(m, auth_id)
    r = c.get(f"/media/{token}/vod.m3u8")
    assert r.status_code == 403 and r.json()["reason"] == "revoked"
    assert "revoked" in r.json()["detail"]
    r = c.get(f"/media/{token}/vod.m3u8", headers=HTML)
    assert r.status_code == 403 and _box(r.text)[0] == "revoked"
    # ended: the session is over
    c.post(f"/view/{token}/end", data={"csrf": csrf_of(m.vault, c)})
    r = c.get(f"/view/{token}")
    assert r.status_code == 403
    reason, text = _box(r.text)
    assert reason == "session_over" and "Sesja przeglądu wygasła" in text \
        and "4 godziny" in text and "Otwórz nową sesję" in text
    assert c.get(f"/media/{token}/vod.m3u8").json()["reason"] == "session_over"
    user(m.vault, "iod", ["dpo"], password=None)
    page = signed_in(m.vault, "iod").get("/access-log").text
    rows = _register_rows(page)
    assert [c for c, _ in rows] == ["session_over", "session_over", "revoked", "revoked",
                                    "session_unknown", "outside_scope"]
    assert all(PLAYBACK in text for c, text in rows if c != "session_unknown")
    assert "Ewa" in rows[4][1]  # the one who tried someone else's session
    assert token not in page  # the register never shows a session's token, but its number
    with m.vault.reading() as s:
        number = s.execute(select(ViewingSession.id)).scalar_one()
    assert f"strona przeglądu (sesja nr {number})" in page
    # what was asked for, in words (issue 12 review item 5), never the address's file name
    assert f"segment nagrania nr {m.live.id} (sesja nr {number})" in page
    assert f"lista odtwarzania nagrania (sesja nr {number})" in page
    assert ".m3u8" not in page and ".ts" not in page
    assert "Dostęp" in page and "wyjaśnienie szkody" in page  # the access itself is there


def test_a_viewer_without_oversight_cannot_read_the_register(material: Material) -> None:
    m = material
    user(m.vault, "ola", ["viewer"], password=None)
    r = signed_in(m.vault, "ola").get("/access-log")
    assert r.status_code == 403 and "Brak uprawnień" in r.text
    assert 'class="refused"' not in r.text and 'href="/access-log"' not in r.text


@pytest.mark.parametrize("params, field", [
    ({"show": "wszystko'; DROP TABLE audit_log; --"}, "Nieznany rodzaj wpisów"),
    ({"reason": "<script>alert(1)</script>"}, "Nieznany powód odmowy"),
    ({"reason": "expired%"}, "Nieznany powód odmowy"),
    ({"show": "x" * 5000}, "Nieznany rodzaj wpisów"),
])
def test_a_forged_register_filter_is_said_and_everything_shown(
        sqlite_material: Material, params: dict[str, str], field: str) -> None:
    m = sqlite_material
    user(m.vault, "ola", ["viewer"], password=None)
    user(m.vault, "iod", ["dpo"], password=None)
    c = signed_in(m.vault, "ola")
    assert c.post("/media/start", data={"csrf": csrf_of(m.vault, c), **_form(m)}) \
        .status_code == 403
    r = signed_in(m.vault, "iod").get("/access-log", params=params)
    assert r.status_code == 422 and field in r.text
    assert "<script>alert(1)</script>" not in r.text
    assert [c for c, _ in _register_rows(r.text)] == ["no_authorisation"]  # all shown


def test_the_call_register_says_why_it_stopped_answering(material: Material) -> None:
    """web/calls.py goes through the same guard: a search after the authorisation expired
    is a Polish page naming it (the browser), JSON with the code (format=json, htmx aside),
    and nothing of the calls is shown."""
    m = material
    user(m.vault, "ola", ["viewer"], password=None)
    auth_id = authorise(m.vault, "ola", ["calls"], sources=["centrala"])
    c = signed_in(m.vault, "ola")
    now = datetime.now(UTC)
    r = c.post("/media/start", data={
        "csrf": csrf_of(m.vault, c), "action": "calls", "source": "centrala",
        "from": _local(m.vault, now - timedelta(hours=3)), "to": _local(m.vault, now),
        "purpose": "skarga", "case_ref": "SK.1"})
    assert r.status_code == 303, r.text
    token = r.headers["location"].rsplit("/", 1)[1]
    assert c.get(f"/media/{token}/calls", headers=HTML).status_code == 200
    with m.vault.transaction() as s:  # the approver shortened it: it ended a minute ago
        s.get(Authorisation, auth_id).valid_to = now - timedelta(minutes=1)
    r = c.get(f"/media/{token}/calls", params={"number": "600100200"}, headers=HTML)
    assert r.status_code == 403 and "600100200" not in r.text.split("<main>")[1]
    reason, text = _box(r.text)
    assert reason == "expired" and f"Twoje upoważnienie nr {auth_id} wygasło" in text
    r = c.get(f"/media/{token}/calls", params={"format": "json"})
    assert r.status_code == 403 and r.json()["reason"] == "expired"
    # the English reader gets the English sentence
    c.cookies.set("kustosz_lang", "en", domain="testserver.local")
    r = c.get(f"/media/{token}/calls", headers=HTML)
    assert _box(r.text)[0] == "expired" and f"authorisation {auth_id} expired" in _box(r.text)[1]


def test_the_register_downloads_as_csv_with_refusals_and_their_reasons(
        material: Material) -> None:
    m = material
    user(m.vault, "ola", ["viewer"], password=None)
    user(m.vault, "iod", ["dpo"], password=None)
    c = signed_in(m.vault, "ola")
    assert c.post("/media/start", data={"csrf": csrf_of(m.vault, c), **_form(m)}) \
        .status_code == 403
    authorise(m.vault, "ola", ["playback"], sources=["cam-hol"])
    typed = {**_form(m), "purpose": '=HYPERLINK("http://zly.example","kliknij")'}
    assert c.post("/media/start", data={"csrf": csrf_of(m.vault, c), **typed}) \
        .status_code == 303
    dpo = signed_in(m.vault, "iod")
    r = dpo.get("/access-log", params={"format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    # the Excel-ready form (issue 29 item 11): a BOM, ";" between cells
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:7] == ["Od", "Do", "Kto", "Czynność", "Co", "Wynik", "Powód odmowy"]
    access, refusal = rows[1], rows[2]  # newest first
    assert access[5].startswith("dostęp (sesja nr") and access[8].startswith("'=HYPERLINK")
    assert refusal[2] == "Ola (ola)" and refusal[4] == "źródło cam-hol" and refusal[5] == "odmowa"
    assert refusal[6] == "brak upoważnienia"
    only = list(csv.reader(io.StringIO(dpo.get(
        "/access-log", params={"format": "csv", "show": "refused", "csv": "rfc4180"}).text)))
    assert [row[5] for row in only[1:]] == ["odmowa"]
    # a forged filter is said on the page, not turned into a file
    r = dpo.get("/access-log", params={"format": "csv", "reason": "=1+1"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    # the viewer cannot download it either
    assert c.get("/access-log", params={"format": "csv"}).status_code == 403


def test_a_copy_destroyed_after_the_session_opened_is_material_gone(material: Material) -> None:
    m = material
    authorise(m.vault, "informatyk", ["export"], kinds=["camera"])
    c = signed_in(m.vault, "informatyk")
    r = c.post("/media/start", data={"csrf": csrf_of(m.vault, c), "action": "export",
                                     "copy": m.copy_number, "purpose": "przekazanie policji"})
    assert r.status_code == 303, r.text
    token = r.headers["location"].rsplit("/", 1)[1]
    from kustosz.db.custody import Copy

    with m.vault.transaction() as s:
        s.execute(select(Copy).where(Copy.number == m.copy_number)).scalar_one().state = \
            "destroyed"
    r = c.get(f"/media/{token}/copy.zip")
    assert r.status_code == 403 and r.json()["reason"] == "material_gone"
    r = c.get(f"/view/{token}")
    assert r.status_code == 403 and _box(r.text)[0] == "material_gone"
    assert "Tego materiału już nie ma" in _box(r.text)[1]
