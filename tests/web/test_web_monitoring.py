"""Mail metadata and IT events in the web app (issue 7 item 4, R1.9, R1.10, R3.2): behind an
individual authorisation for the action and the source, a viewing session with the purpose,
the case and the period; every search an access entry; bad parameters refused with a message
and nothing served; requests for mail and events from the web form."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from tests.conftest import snapshot
from tests.custody.custody_helpers import people
from web_helpers import (
    Monitoring,
    authorise,
    client,
    csrf_of,
    make_monitoring,
    session_for,
    user,
)

from kustosz.db.access import AccessEntry, ViewingSession
from kustosz.db.custody import Request
from kustosz.db.models import AuditEntry, Hold
from kustosz.errors import InputError
from kustosz.vault import Vault


@pytest.fixture
def mon(web_vault: Vault) -> Monitoring:
    people(web_vault)
    return make_monitoring(web_vault)


def _local(vault: Vault, value: datetime) -> str:
    return value.astimezone(vault.policy.timezone).strftime("%Y-%m-%dT%H:%M:%S")


def _entries(vault: Vault) -> int:
    with vault.reading() as s:
        return s.execute(select(func.count()).select_from(AccessEntry)).scalar_one()


def _open(vault: Vault, c, action: str, source: str, window: tuple[datetime, datetime],  # type: ignore[no-untyped-def]
          **extra: str):
    form = {"csrf": csrf_of(vault, c), "action": action, "source": source,
            "from": _local(vault, window[0]), "to": _local(vault, window[1]),
            "purpose": "wyjaśnienie wycieku danych", "case_ref": "BI.0123.4.2026", **extra}
    return c.post("/media/start", data=form)


def _reviewer(v: Vault, name: str, roles: list[str], actions: list[str],  # type: ignore[no-untyped-def]
              **scope: list[str]):
    """A logged-in client of a person holding an authorisation for ``actions``."""
    user(v, name, roles, password=None)
    authorise(v, name, actions, **scope)
    c = client(v)
    session_for(v, c, name)
    return c


def _token(r) -> str:  # type: ignore[no-untyped-def]
    assert r.status_code == 303, r.text
    return r.headers["location"].rsplit("/", 1)[1]


def test_mail_review_shows_metadata_within_the_session_and_records_each_search(
        web_vault: Vault, mon: Monitoring) -> None:
    v = web_vault
    c = _reviewer(v, "iod", ["dpo"], ["mail"], sources=["dziennik"])
    listing = c.get("/mail")
    assert listing.status_code == 200
    assert "dziennik" in listing.text and "tajemnicy korespondencji" in listing.text
    assert "Zamówienie" not in listing.text  # the list of sources shows no material
    form = c.get("/media/start?action=mail&source=dziennik")
    assert form.status_code == 200 and "Podaj okres" in form.text
    # the case is required, like for playback and listening (R3.2)
    r = _open(v, c, "mail", "dziennik", mon.window, case_ref="")
    assert r.status_code == 422 and "Podaj sprawę" in r.text
    before = _entries(v)
    token = _token(_open(v, c, "mail", "dziennik", mon.window))
    view = c.get(f"/view/{token}")
    assert view.status_code == 303 and view.headers["location"] == f"/media/{token}/mail"
    page = c.get(f"/media/{token}/mail")
    assert page.status_code == 200
    assert "Zamówienie nr 17/2026 — łóżka" in page.text  # decoded Polish subject
    assert "Sprawy rodzinne" in page.text and "prywatna — tylko metadane" in page.text
    assert "oferta.pdf" in page.text and "siostra@gmail.com" in page.text
    # the full message link only where the policy kept the text
    assert f"/mail/{mon.mail_id}.eml" in page.text
    assert f"/mail/{mon.private_id}.eml" not in page.text
    assert "Treść listu" not in page.text  # bodies are never in the listing
    assert page.headers["cache-control"] == "no-store"
    assert 'value="None"' not in page.text  # empty fields stay empty for the next search
    assert _entries(v) == before + 1
    # narrowing by person, role and subject; the htmx fragment; JSON
    frag = c.get(f"/media/{token}/mail", params={"person": "kowalska"},
                 headers={"HX-Request": "true"})
    assert frag.status_code == 200 and "<html" not in frag.text
    assert "Zamówienie" in frag.text and "Sprawy rodzinne" not in frag.text
    js = c.get(f"/media/{token}/mail", params={"address": "SIOSTRA@gmail.com", "role": "to",
                                               "format": "json"}).json()
    assert [m["subject"] for m in js["rows"]] == ["Sprawy rodzinne"]
    assert js["rows"][0]["private"] is True and js["rows"][0]["body_kept"] is False
    assert js["rows"][0]["from"] == "jan.nowak@pleszew.pl"
    assert _entries(v) == before + 3
    with v.reading() as s:
        whats = list(s.execute(select(AccessEntry.what).order_by(AccessEntry.id)).scalars())
    assert whats[-1].startswith("mail search") and "address=SIOSTRA@gmail.com" in whats[-1]


def test_the_session_period_bounds_every_search(web_vault: Vault, mon: Monitoring) -> None:
    v = web_vault
    c = _reviewer(v, "iod", ["dpo"], ["mail", "events"], kinds=["mailbox", "endpoint"])
    earlier = (mon.window[0] - timedelta(days=2), mon.window[0] - timedelta(days=1))
    token = _token(_open(v, c, "mail", "dziennik", earlier))
    assert c.get(f"/media/{token}/mail", params={"format": "json"}).json()["rows"] == []
    # a wider from/to in the query narrows nothing open: the session's period stays the bound
    wide = {"from": _local(v, mon.window[0] - timedelta(days=5)),
            "to": _local(v, mon.window[1] + timedelta(days=5)), "format": "json"}
    assert c.get(f"/media/{token}/mail", params=wide).json()["rows"] == []
    token = _token(_open(v, c, "events", "siem", mon.window))
    rows = c.get(f"/media/{token}/events", params=wide).json()["rows"]
    assert {e["host"] for e in rows} == {"pc-kadry-01", "pc-ksiegowosc-02"}
    assert c.get(f"/media/{token}/events/{mon.event_id}").status_code == 200
    token_before = _token(_open(v, c, "events", "siem", earlier))
    assert c.get(f"/media/{token_before}/events/{mon.event_id}").status_code == 403


def test_events_review_filters_and_shows_the_whole_stored_event(
        web_vault: Vault, mon: Monitoring) -> None:
    v = web_vault
    c = _reviewer(v, "przegladajacy", ["viewer"], ["events"], sources=["siem"])
    assert "Kategorie zdarzeń" in c.get("/events").text
    c.get("/lang/en?next=/events")  # the second catalogue
    english = c.get("/events").text
    assert "IT events" in english and "Event categories" in english and ">Review<" in english
    c.get("/lang/pl?next=/events")
    token = _token(_open(v, c, "events", "siem", mon.window))
    page = c.get(f"/media/{token}/events")
    assert page.status_code == 200 and "pc-kadry-01" in page.text
    assert "złośliwe oprogramowanie w ruchu sieciowym" in page.text  # category in Polish
    rows = c.get(f"/media/{token}/events", params={"category": "malware",
                                                   "format": "json"}).json()["rows"]
    assert [e["user"] for e in rows] == ["akowalska"]
    rows = c.get(f"/media/{token}/events", params={"user": "JNOWAK", "text": "Kingston",
                                                   "format": "json"}).json()["rows"]
    assert [e["id"] for e in rows] == [mon.event_id]
    detail = c.get(f"/media/{token}/events/{mon.event_id}")
    assert detail.status_code == 200
    event = detail.json()["event"]
    assert event["message"] == "USB mass storage connected: Kingston 32GB"
    assert event["via"] == "http" and event["app"] == "edr"


def test_the_full_message_only_where_kept_and_only_as_a_download(
        web_vault: Vault, mon: Monitoring) -> None:
    v = web_vault
    c = _reviewer(v, "iod", ["dpo"], ["mail"], sources=["dziennik"])
    token = _token(_open(v, c, "mail", "dziennik", mon.window))
    eml = c.get(f"/media/{token}/mail/{mon.mail_id}.eml")
    assert eml.status_code == 200
    assert eml.headers["content-type"].startswith("message/rfc822")
    assert eml.headers["content-disposition"].startswith("attachment;")
    assert b"Tre" in eml.content and b"oferta.pdf" in eml.content
    before = _entries(v)
    assert c.get(f"/media/{token}/mail/{mon.private_id}.eml").status_code == 403
    assert _entries(v) == before


def test_an_authorisation_for_mail_does_not_open_events_nor_another_mailbox(
        web_vault: Vault, mon: Monitoring) -> None:
    v = web_vault
    c = _reviewer(v, "iod", ["dpo"], ["mail"], sources=["dziennik"])
    with v.reading() as s:
        sessions = s.execute(select(func.count()).select_from(ViewingSession)).scalar_one()
    r = _open(v, c, "events", "siem", mon.window)
    assert r.status_code == 403 and "Próba została zapisana" in r.text
    assert _open(v, c, "mail", "dziennik-2", mon.window).status_code == 403
    # an endpoint is not a mailbox: the form names what is missing
    r = _open(v, c, "mail", "siem", mon.window)
    assert r.status_code == 422 and "Wybierz dziennik poczty" in r.text
    with v.reading() as s:
        assert s.execute(select(func.count()).select_from(ViewingSession)).scalar_one() \
            == sessions
        refused = list(s.execute(select(AuditEntry.subject).where(
            AuditEntry.action == "access.refused")).scalars())
    assert "source siem" in refused and "source dziennik-2" in refused
    # the security operators watching cameras cannot be authorised for correspondence
    user(v, "ochrona", ["operator"], password=None)
    with pytest.raises(InputError, match="nie pozwala"):
        authorise(v, "ochrona", ["mail"], sources=["dziennik"])


@pytest.mark.parametrize("params, field", [
    ({"from": "wczoraj"}, "Nieprawidłowa data"),
    ({"role": "autor"}, "Nieznana rola"),
    ({"person": "x" * 400}, "Za długa wartość"),
    ({"from": "2026-11-21T12:00", "to": "2026-11-21T11:00"}, "przed jego początkiem"),
])
def test_bad_search_parameters_are_refused_and_serve_nothing(
        web_vault: Vault, mon: Monitoring, params: dict[str, str], field: str) -> None:
    v = web_vault
    c = _reviewer(v, "iod", ["dpo"], ["mail", "events"], kinds=["mailbox", "endpoint"])
    token = _token(_open(v, c, "mail", "dziennik", mon.window))
    events = _token(_open(v, c, "events", "siem", mon.window))
    before = _entries(v)
    r = c.get(f"/media/{token}/mail", params=params, headers={"HX-Request": "true"})
    assert r.status_code == 422 and field in r.text
    r = c.get(f"/media/{token}/mail", params={**params, "format": "json"})
    assert r.status_code == 422 and field in r.json()["detail"][0]["msg"]
    if "role" not in params:  # the same rules on the events' fields
        same = {("host" if k == "person" else k): v for k, v in params.items()}
        assert c.get(f"/media/{events}/events", params=same).status_code == 422
    assert c.get(f"/media/{events}/events", params={"category": "plotki"}).status_code == 422
    assert _entries(v) == before
    # a stranger's token gets 403, not the 422 that would tell them the parameters matter
    other = client(v)
    user(v, "obcy", ["viewer"], password=None)
    session_for(v, other, "obcy")
    assert other.get(f"/media/{token}/mail", params=params).status_code == 403


def test_api_opens_a_mail_review_and_answers_json(web_vault: Vault, mon: Monitoring) -> None:
    v = web_vault
    c = _reviewer(v, "iod", ["dpo"], ["mail"], sources=["dziennik"])
    csrf = csrf_of(v, c)
    r = c.post("/api/media/sessions", headers={"X-CSRF-Token": csrf}, json={
        "action": "mail", "source": "dziennik", "from": mon.window[0].isoformat(),
        "to": mon.window[1].isoformat(), "purpose": "skarga", "case_ref": "OR.1"})
    assert r.status_code == 201, r.text
    url = r.json()["urls"]
    rows = c.get(url, params={"format": "json", "subject": "zamówienie"}).json()["rows"]
    assert [m["id"] for m in rows] == [mon.mail_id]
    # any letter case, Polish ones too, on both databases
    rows = c.get(url, params={"format": "json", "subject": "ŁÓŻKA", "person": "NOWAK"}).json()
    assert [m["id"] for m in rows["rows"]] == [mon.mail_id]
    rows = c.get(url, params={"format": "json", "subject": "zamówienie"}).json()["rows"]
    assert rows[0]["attachments"][0]["name"] == "oferta.pdf"
    assert len(rows[0]["attachments"][0]["sha256"]) == 64
    r = c.post("/api/media/sessions", headers={"X-CSRF-Token": csrf}, json={
        "action": "mail", "source": "dziennik", "purpose": "skarga", "case_ref": "OR.1"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "from"


def test_a_mail_request_from_the_web_form_holds_the_mailbox_and_keeps_whom_it_concerns(
        web_vault: Vault, mon: Monitoring) -> None:
    v = web_vault
    c = client(v)
    session_for(v, c, "informatyk")
    tz = v.policy.timezone
    # The office's today, not the window's end: after 23:00 Warsaw time the window ends tomorrow,
    # and a request cannot be received on a future day.
    today = datetime.now(tz).date().isoformat()
    base = {"kind": "authority", "material": "mail", "requester": "KPP Pleszew",
            "received_on": today, "event_date": today, "purpose": "postępowanie karne",
            "monitoring_source": "dziennik", "who": "jan.nowak@pleszew.pl"}
    page = c.get("/requests")
    assert "Źródło (poczta, zdarzenia IT)" in page.text and "dziennik" in page.text
    before = snapshot(v)
    for bad, field, message in [
            ({"camera": "cam-hol"}, "camera", "dotyczy wniosków o nagrania wizyjne"),
            ({"monitoring_source": "siem"}, "monitoring_source", "Wybierz dziennik poczty"),
            ({"material": "calls", "caller": "600100200"}, "who", "z monitoringu poczty"),
    ]:
        r = c.post("/requests", data={"csrf": csrf_of(v, c), **base, **bad})
        assert r.status_code == 422, (field, r.text[:200])
        assert message in r.text
    assert snapshot(v) == before
    r = c.post("/requests", data={"csrf": csrf_of(v, c), **base})
    assert r.status_code == 303, r.text
    with v.reading() as s:
        req = s.execute(select(Request)).scalar_one()
        hold = s.get(Hold, req.hold_id)
    assert req.material == "mail" and req.sources == ["dziennik"]
    assert req.who == "jan.nowak@pleszew.pl" and req.place is None
    assert hold is not None and hold.released_at is None
    detail = c.get(f"/requests/{req.id}")
    assert detail.status_code == 200 and "jan.nowak@pleszew.pl" in detail.text
