"""Helpers of the web tests: users with roles, logged-in clients, camera and call material."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.conftest import make_vault
from tests.custody.custody_helpers import call, people, record, setup_camera, setup_phone

from kustosz.access import accounts
from kustosz.access.authorisations import issue
from kustosz.access.users import add_user
from kustosz.custody.copies import make_copy
from kustosz.custody.decisions import decide
from kustosz.custody.requests import RequestSpec, register_request
from kustosz.db.access import WebSession
from kustosz.db.calls import Call
from kustosz.db.custody import User
from kustosz.db.models import Recording
from kustosz.index.sources import add_source
from kustosz.vault import Vault
from kustosz.web import create_app

OFFICE_PC = ("127.0.0.1", 50000)  # in the default allow-list
STRANGER = ("10.9.9.9", 50000)  # not in it
PASSWORD = "Bardzo-tajne-hasło-1"


def user(vault: Vault, name: str, roles: list[str], password: str | None = PASSWORD,
         display: str | None = None) -> User:
    with vault.transaction() as s:
        u = add_user(s, name, display or name.capitalize(), roles, "test")
        if password:
            accounts.set_password(s, u, password, "test")
        return u


def client(vault: Vault, address: tuple[str, int] = OFFICE_PC) -> TestClient:
    return TestClient(create_app(vault), client=address, follow_redirects=False)


def csrf_in(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF field in the page"
    return m.group(1)


def login(c: TestClient, name: str, password: str = PASSWORD) -> Any:
    page = c.get("/login")
    return c.post("/login", data={"username": name, "password": password,
                                  "csrf": csrf_in(page.text), "next": "/"})


def session_for(vault: Vault, c: TestClient, name: str) -> str:
    """Log ``name`` in without the password round trip (fast, for big matrices); returns
    the session's CSRF token."""
    with vault.transaction() as s:
        u = s.execute(select(User).where(User.name == name)).scalar_one()
        token, row = accounts.start_session(s, u, "test")
        csrf = row.csrf
    c.cookies.set("kustosz_session", token, domain="testserver.local")
    return csrf


def csrf_of(vault: Vault, c: TestClient) -> str:
    token = c.cookies.get("kustosz_session")
    with vault.reading() as s:
        return s.get(WebSession, accounts.digest(token)).csrf


def authorise(vault: Vault, holder: str, actions: list[str], sources: list[str] | None = None,
              kinds: list[str] | None = None, by: str = "burmistrz",
              days: tuple[int, int] = (-1, 30)) -> int:
    now = datetime.now(UTC)
    with vault.transaction() as s:
        a = issue(s, holder=holder, actions=actions, sources=sources or [],
                  source_kinds=kinds or [], valid_from=now + timedelta(days=days[0]),
                  valid_to=now + timedelta(days=days[1]), by=by, actor="test")
        return a.id


@dataclass
class Material:
    vault: Vault
    old: list[Recording]  # two hours ago, three 2-second segments with a gap after the 2nd
    live: Recording  # a few seconds ago
    call: Recording
    copy_number: str
    window: tuple[datetime, datetime]


def make_material(vault: Vault, tmp: Path, playable: bool = False) -> Material:
    """``playable``: the copy gets its playable file too, as an authority's copy does by
    default. Off here: it is half the material's CPU (an encode), some 280 tests make the
    material, and none of them reads that file; tests/custody/test_playable.py tests it, and
    the copies a page or a job makes itself are made as the product makes them."""
    people(vault)  # burmistrz, zastepca (approvers), informatyk (custodian), komisja1/2
    setup_camera(vault, "cam-hol")
    setup_camera(vault, "cam-inne")
    setup_phone(vault, tmp / "pbx")
    with vault.transaction() as s:
        add_source(s, vault.policy, "centrala-2", "phone", "test")
    now = datetime.now(UTC).replace(microsecond=0)
    base = now - timedelta(hours=2)
    tz = vault.policy.timezone
    if base.astimezone(tz).fold:  # the repeated hour of October's change: forms typed in
        base -= timedelta(hours=1)  # wall-clock time name its first pass, so this one
    old = record(vault, "cam-hol", base, 2, tmp / "seg")
    old += record(vault, "cam-hol", base + timedelta(seconds=20), 1, tmp / "seg")
    live = record(vault, "cam-hol", now - timedelta(seconds=8), 1, tmp / "seg")[0]
    (tmp / "calls").mkdir(parents=True, exist_ok=True)
    rec = call(vault, tmp / "calls", now - timedelta(hours=1), "+48600100200")
    with vault.transaction() as s:
        req = register_request(s, vault.policy, RequestSpec(
            kind="authority", material="video", requester="KPP Pleszew",
            received_on=now.astimezone(tz).date(), event_date=base.astimezone(tz).date(),
            purpose="postępowanie", description="kradzież", cameras=["cam-hol"],
            start=base, end=base + timedelta(seconds=30), margin_minutes=0), "test")
        req_id = req.id
    with vault.transaction() as s:
        decide(s, vault.policy, req_id, by="burmistrz", agree=True,
               on=now.astimezone(tz).date(), actor="test", keyed_by="burmistrz")
    copy = make_copy(vault, req_id, by="informatyk", actor="test", playable=playable)
    with vault.reading() as s:
        assert s.get(Call, rec.id) is not None
    return Material(vault, old, live, rec, copy.number,
                    (base - timedelta(seconds=5), base + timedelta(seconds=40)))


def both_vault(root: Path, url: str = "") -> Vault:
    """Pleszew's rules (cameras) plus periods for calls, mail and IT events, which its
    regulation leaves open (an office whose own regulation covers them)."""
    vault = make_vault(root, url=url)
    vault.close()
    config = root / "kustosz.toml"
    config.write_text(config.read_text() + '\n[policy.retention]\nphone = "3 months"\n'
                      'mailbox = "30 days"\nendpoint = "30 days"\n')
    return Vault.open(root)


@dataclass
class Monitoring:
    mail_id: int  # a message whose full text the policy keeps (source "dziennik")
    private_id: int  # one to an outside address: metadata only
    event_id: int  # an event of source "siem"
    window: tuple[datetime, datetime]


def make_monitoring(vault: Vault) -> Monitoring:
    """Journal mail through the real SMTP listener (smtplib) and events over the real HTTP
    intake: sources "dziennik" (bodies kept, with a legal basis), "dziennik-2", "siem",
    "siem-2"."""
    import json
    import smtplib

    from tests.monitoring.monitoring_helpers import (
        endpoint,
        events_listener,
        mail_listener,
        mailbox,
        message,
        post,
    )

    from kustosz.ingest.events.search import search_events
    from kustosz.ingest.mail.search import search_mail

    mailbox(vault, "dziennik", office_domains=["pleszew.pl"], keep_bodies=True,
            bodies_legal_basis="regulamin monitoringu §5 ust. 2 (test)")
    mailbox(vault, "dziennik-2", office_domains=["pleszew.pl"])
    token = endpoint(vault, "siem")
    endpoint(vault, "siem-2")
    now = datetime.now(UTC).replace(microsecond=0)
    bg = mail_listener(vault, "dziennik")
    try:
        host, port = bg.service.addresses["smtp"]
        with smtplib.SMTP(host, port, timeout=10) as smtp:
            smtp.send_message(message(
                "Zamówienie nr 17/2026 — łóżka", "Jan Nowak <jan.nowak@pleszew.pl>",
                ["anna.kowalska@pleszew.pl"], attachments=[
                    ("oferta.pdf", "application/pdf", b"%PDF-1.4 oferta")]),
                from_addr="jan.nowak@pleszew.pl", to_addrs=["dziennik@pleszew.pl"])
            smtp.send_message(message(
                "Sprawy rodzinne", "Jan Nowak <jan.nowak@pleszew.pl>", ["siostra@gmail.com"]),
                from_addr="jan.nowak@pleszew.pl", to_addrs=["dziennik@pleszew.pl"])
        bg.flush()
    finally:
        bg.stop()
    ev = events_listener(vault, "siem")
    try:
        h, p = ev.service.addresses["http"]
        status, _ = post(f"http://{h}:{p}/events", json.dumps([
            {"time": now.isoformat(), "host": "PC-KADRY-01", "user": "jnowak",
             "app": "edr", "message": "USB mass storage connected: Kingston 32GB"},
            {"time": now.isoformat(), "host": "pc-ksiegowosc-02", "user": "akowalska",
             "app": "proxy", "message": "blocked malware download from example.test"},
        ]).encode(), token)
        assert status == 202, status
        ev.flush()
    finally:
        ev.stop()
    with vault.reading() as s:
        mails = {m["subject"]: m for m in search_mail(s, source="dziennik")}
        events = search_events(s, source="siem", host="pc-kadry-01")
    assert mails["Zamówienie nr 17/2026 — łóżka"]["body_kept"]
    assert mails["Sprawy rodzinne"]["private"] and not mails["Sprawy rodzinne"]["body_kept"]
    return Monitoring(mails["Zamówienie nr 17/2026 — łóżka"]["id"], mails["Sprawy rodzinne"]["id"],
                      events[0]["id"], (now - timedelta(hours=1), now + timedelta(hours=1)))


def signed_in(vault: Vault, name: str, api: bool = False,
              address: tuple[str, int] = OFFICE_PC) -> TestClient:
    """A client with ``name``'s session; ``api``: the CSRF header set for JSON calls."""
    c = client(vault, address)
    session_for(vault, c, name)
    if api:
        c.headers["X-CSRF-Token"] = csrf_of(vault, c)
    return c


def playback_of(m: Material, case_ref: str = "OR.1", **extra: str) -> tuple[TestClient, str, int]:
    """Viewer "ola", authorised to play back cam-hol, with a playback session open over the
    material's window (the start form, the person present named): her client, the session's
    token and the authorisation's id. ``extra``: more form fields."""
    user(m.vault, "ola", ["viewer"], password=None)
    auth_id = authorise(m.vault, "ola", ["playback"], sources=["cam-hol"])
    c = client(m.vault)
    session_for(m.vault, c, "ola")
    tz = m.vault.policy.timezone
    r = c.post("/media/start", data={
        "csrf": csrf_of(m.vault, c), "action": "playback", "source": "cam-hol",
        "from": m.window[0].astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S"),
        "to": m.window[1].astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S"),
        "purpose": "wyjaśnienie kradzieży", "case_ref": case_ref, "witness": "user:zastepca",
        **extra})
    assert r.status_code == 303, r.text
    return c, r.headers["location"].rsplit("/", 1)[1], auth_id


def undecided_request(m: Material) -> int:
    """An authority's video request for the material's camera window, not yet decided."""
    tz = m.vault.policy.timezone
    now = datetime.now(UTC)
    with m.vault.transaction() as s:
        return register_request(s, m.vault.policy, RequestSpec(
            kind="authority", material="video", requester="Prokuratura Rejonowa",
            received_on=now.astimezone(tz).date(), event_date=m.window[0].astimezone(tz).date(),
            purpose="postępowanie", description="szkoda", cameras=["cam-hol"],
            start=m.window[0] + timedelta(seconds=5), end=m.window[0] + timedelta(seconds=30),
            margin_minutes=0), "test").id


def request_of(vault: Vault, base: datetime, cameras: list[str], seconds: int,
               kind: str = "data_subject") -> int:
    """A request for ``cameras`` over ``seconds`` from ``base`` (a data subject's unless
    ``kind`` says otherwise), registered and agreed to by the head of the office."""
    tz = vault.policy.timezone
    now = datetime.now(UTC)
    with vault.transaction() as s:
        rid = register_request(s, vault.policy, RequestSpec(
            kind=kind, material="video", requester="Jan Nowak, ul. Polna 3",
            received_on=now.astimezone(tz).date(), event_date=base.astimezone(tz).date(),
            purpose="dostęp do własnego wizerunku (art. 15 RODO)", description="wizyta w holu",
            cameras=cameras, start=base, end=base + timedelta(seconds=seconds),
            margin_minutes=0), "test").id
    with vault.transaction() as s:
        decide(s, vault.policy, rid, by="burmistrz", agree=True, on=now.astimezone(tz).date(),
               actor="test", keyed_by="burmistrz")
    return rid
