"""A copy of mail and IT-event material (issue 7 item 3): a request points at mailbox and
endpoint sources with its window and, optionally, a person or host; its copy carries the
chunks byte for byte plus the request's rows as JSONL, and the bundle verifies."""

from __future__ import annotations

import json
import smtplib
import socket
from datetime import UTC, datetime, timedelta

import pytest
from monitoring_helpers import (
    endpoint,
    events_listener,
    mail_listener,
    mailbox,
    message,
    wait_for,
)
from sqlalchemy import select
from tests.office_day import office_today

from kustosz.access.users import add_user
from kustosz.custody.bundles import sha256_file, verify_bundle
from kustosz.custody.copies import make_copy
from kustosz.custody.decisions import decide
from kustosz.custody.requests import RequestSpec, register_request
from kustosz.db.models import Hold, Recording
from kustosz.errors import InputError, NotFound
from kustosz.vault import Vault


def syslog(port: int, at: datetime, host: str, text: str) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"<38>1 {at.isoformat()} {host} sshd 77 - - {text}\n".encode())


def approve_and_copy(vault: Vault, spec: RequestSpec, at: datetime | None = None
                     ) -> tuple[object, dict[str, object]]:
    with vault.transaction() as s:
        if not s.execute(select(Hold)).first():
            add_user(s, "prezydent", "Jan Kowalski", ["approver"], "t",
                     title=vault.policy.approver_title)
            add_user(s, "informatyk", "Piotr Wiśniewski", ["custodian"], "t")
        req = register_request(s, vault.policy, spec, "t")
        assert req.status == "registered" and req.hold_id is not None
        rid = req.id
        decide(s, vault.policy, rid, by="prezydent", agree=True,
               on=office_today(), actor="t", keyed_by="prezydent")
    copy = make_copy(vault, rid, "informatyk", "t", now=at)
    bundle = vault.root / copy.bundle
    verdict = verify_bundle(bundle)
    assert verdict.ok, verdict.problems
    manifest = json.loads((bundle / "manifest.json").read_text("utf-8"))
    return copy, manifest


def ready_at_the_end(end: datetime) -> datetime:
    """When a copy of mail or events of a period ending at ``end`` may be made: once the
    hourly chunk holding the period's end has closed (custody.copies.SETTLE_S after it)."""
    from kustosz.custody.copy_material import SETTLE_S
    from kustosz.policy.periods import chunk_window

    closes = chunk_window(end - timedelta(microseconds=1), "hour")[1]
    return closes + timedelta(seconds=SETTLE_S + 1)


def spec(vault: Vault, material: str, sources: list[str], who: str | None,
         now: datetime) -> RequestSpec:
    """A police request for the hour up to ``now`` (a copy covers only the past: made once
    that is over, issue 29 item 1)."""
    local = now.astimezone(vault.policy.timezone)
    return RequestSpec(kind="authority", material=material, requester="Policja KMP Elbląg",
                       received_on=local.date(), event_date=local.date(), purpose="dochodzenie",
                       start=now - timedelta(hours=1), end=now,
                       margin_minutes=0, sources=sources, who=who, case_ref="RSD-1/26")


def test_events_copy_has_chunks_and_the_request_rows(elblag: Vault) -> None:
    endpoint(elblag, syslog_udp="", http="")
    now = datetime.now(UTC).replace(microsecond=0)
    bg = events_listener(elblag)
    try:
        port = bg.service.addresses["syslog_tcp"][1]
        syslog(port, now - timedelta(minutes=10), "pc-042", "Failed password for jkowalski")
        syslog(port, now - timedelta(minutes=9), "pc-017", "Failed password for anowak")
        syslog(port, now - timedelta(hours=5), "pc-042", "older than the window")
        wait_for(lambda: bg.service.counters.totals["events"] == 3)
        bg.flush()
    finally:
        bg.stop()
    end = datetime.now(UTC)  # after the events arrived: a chunk's span is their receipt
    copy, manifest = approve_and_copy(elblag, spec(elblag, "events", ["siem"], "PC-042", end),
                                      at=ready_at_the_end(end))
    bundle = elblag.root / copy.bundle  # type: ignore[attr-defined]
    [entry] = manifest["media"]  # type: ignore[index]
    rows = [json.loads(x) for x in (bundle / entry["path"]).read_text("utf-8").splitlines()]
    assert [(r["host"], r["message"]) for r in rows] == [("pc-042",
                                                          "Failed password for jkowalski")]
    with elblag.reading() as s:
        [chunk] = s.execute(select(Recording).where(Recording.kind == "endpoint")).scalars()
    # The chunk itself, byte for byte: its hash is the vault's, and the manifest lists it.
    [chunk_file] = entry["chunks"]
    assert sha256_file(bundle / chunk_file) == chunk.sha256
    listed = {f["path"]: f["sha256"] for f in manifest["files"]}  # type: ignore[index]
    assert listed[chunk_file] == chunk.sha256 and entry["path"] in listed


def test_mail_copy_narrowed_to_a_person(elblag: Vault) -> None:
    mailbox(elblag, keep_bodies=True, bodies_legal_basis="art. 22³ §1 Kp, zarządzenie 7/2026")
    bg = mail_listener(elblag)
    try:
        port = bg.service.addresses["smtp"][1]
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            for subject, sender, to in (("Uchwała", "j.kowalski@elblag.eu", "a.nowak@elblag.eu"),
                                        ("Budżet", "e.lis@elblag.eu", "m.kot@elblag.eu")):
                smtp.send_message(message(subject, sender, [to]), from_addr=sender,
                                  to_addrs=["journal@kustosz.elblag.eu"])
        wait_for(lambda: bg.service.counters.totals["messages"] == 2)
        bg.flush()
    finally:
        bg.stop()
    now = datetime.now(UTC)
    copy, manifest = approve_and_copy(elblag, spec(elblag, "mail", [], "a.nowak", now),
                                      at=ready_at_the_end(now))
    bundle = elblag.root / copy.bundle  # type: ignore[attr-defined]
    [entry] = manifest["media"]  # type: ignore[index]
    rows = [json.loads(x) for x in (bundle / entry["path"]).read_text("utf-8").splitlines()]
    assert [r["subject"] for r in rows] == ["Uchwała"]
    assert len(entry["eml"]) == 1  # the full message of that row only (bodies kept here)
    assert b"To: a.nowak@elblag.eu" in (bundle / entry["eml"][0]).read_bytes()


def test_mail_request_refuses_an_endpoint_source(elblag: Vault) -> None:
    endpoint(elblag, syslog_udp="", http="")
    with elblag.transaction() as s, pytest.raises(InputError, match="mailbox"):
        register_request(s, elblag.policy, spec(elblag, "mail", ["siem"], None,
                                                datetime.now(UTC)), "t")


def test_a_mail_copy_waits_for_the_chunk_that_holds_the_periods_end(elblag: Vault) -> None:
    """Mail and events are stored an hour's chunk at a time: a copy asked for after the
    period's end but before that hour's chunk closed would leave out what the open chunk
    holds, so it is refused, naming when it can be made, and nothing is made (issue 29)."""
    mailbox(elblag)
    end = datetime(2026, 11, 24, 10, 20, tzinfo=UTC)  # 11:20 in Warsaw; its chunk: to 12:00
    with elblag.transaction() as s:
        add_user(s, "prezydent", "Jan Kowalski", ["approver"], "t",
                 title=elblag.policy.approver_title)
        add_user(s, "informatyk", "Piotr Wiśniewski", ["custodian"], "t")
        req = register_request(s, elblag.policy, spec(elblag, "mail", [], "a.nowak", end), "t")
        rid = req.id
        decide(s, elblag.policy, rid, by="prezydent", agree=True, on=office_today(),
               actor="t", keyed_by="prezydent")
    with elblag.reading() as s:
        before = s.execute(select(Recording.id)).all()
    for at in (end + timedelta(minutes=5), datetime(2026, 11, 24, 11, 0, 29, tzinfo=UTC)):
        with pytest.raises(InputError, match=r"can be made from 24\.11\.2026 12:00:30") as caught:
            make_copy(elblag, rid, "informatyk", "t", now=at)
        assert "można ją sporządzić od 24.11.2026 12:00:30" in (caught.value.pl or "")
    with elblag.reading() as s:
        assert s.execute(select(Recording.id)).all() == before
    # Once the chunk has closed, the time no longer stands in the way (this vault received
    # no mail then: what refuses now is the material, not the time).
    with pytest.raises(NotFound, match="no stored material"):
        make_copy(elblag, rid, "informatyk", "t", now=ready_at_the_end(end))
