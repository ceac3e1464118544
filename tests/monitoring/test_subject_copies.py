"""Issue 17 item 3 (R6.2): a data subject's copy of mail and IT-event monitoring holds only
the rows concerning them, every other person's address, name, computer and account replaced
by a pseudonym stable within the copy; neither the stored chunks (everyone's mail) nor full
messages go with it. Real SMTP journal and syslog intake; the bundle verifies."""

from __future__ import annotations

import json
import re
import smtplib
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from monitoring_helpers import endpoint, events_listener, mail_listener, mailbox, message, wait_for
from test_monitoring_copies import approve_and_copy, ready_at_the_end, syslog
from tests.conftest import snapshot
from tests.support.bundles import bundle_text

from kustosz.custody.pseudonyms import DOMAIN, Pseudonyms, subject_row
from kustosz.custody.requests import RequestSpec, register_request
from kustosz.errors import FieldError
from kustosz.vault import Vault

OTHERS = ("e.lis@elblag.eu", "m.kot@elblag.eu", "Ewa Lis", "Marek Kot")


def _subject(vault: Vault, material: str, sources: list[str], who: str | None,
             now: datetime) -> RequestSpec:
    local = now.astimezone(vault.policy.timezone)
    return RequestSpec(kind="data_subject", material=material,
                       requester="Anna Nowak, ul. Ogólna 5, Elbląg", received_on=local.date(),
                       event_date=local.date(), purpose="dostęp do moich danych (art. 15 RODO)",
                       start=now - timedelta(hours=1), end=now + timedelta(minutes=5),
                       margin_minutes=0, sources=sources, who=who)


def test_mail_rows_of_the_subject_with_everyone_else_pseudonymised(elblag: Vault) -> None:
    mailbox(elblag, keep_bodies=True, bodies_legal_basis="art. 22³ §1 Kp, zarządzenie 7/2026")
    bg = mail_listener(elblag)
    letters = (("Uchwała — pytanie od Ewy Lis", "Ewa Lis <e.lis@elblag.eu>",
                ["Anna Nowak <a.nowak@elblag.eu>", "Marek Kot <m.kot@elblag.eu>"]),
               ("Odp: uchwała", "Anna Nowak <a.nowak@elblag.eu>", ["Ewa Lis <e.lis@elblag.eu>"]),
               ("Budżet", "Ewa Lis <e.lis@elblag.eu>", ["Marek Kot <m.kot@elblag.eu>"]))
    try:
        port = bg.service.addresses["smtp"][1]
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            for subject, sender, to in letters:
                smtp.send_message(message(subject, sender, to),
                                  to_addrs=["journal@kustosz.elblag.eu"])
        wait_for(lambda: bg.service.counters.totals["messages"] == 3)
        bg.flush()
    finally:
        bg.stop()
    now = datetime.now(UTC)
    copy, manifest = approve_and_copy(elblag, _subject(elblag, "mail", [], "a.nowak", now),
                                      at=ready_at_the_end(now + timedelta(minutes=5)))
    bundle = elblag.root / copy.bundle  # type: ignore[attr-defined]
    [entry] = manifest["media"]  # type: ignore[index]
    assert entry["chunks"] == [] and entry["eml"] == []  # everyone's mail stays in the vault
    assert not list(bundle.rglob("*.eml")) and not (bundle / "media" / "poczta" / "chunks").exists()
    # Ewa Lis, Marek Kot and the journal's envelope address: everyone but her
    assert entry["pseudonymised"]["people_and_hosts"] == 3
    text = (bundle / entry["path"]).read_text("utf-8")
    rows = [json.loads(x) for x in text.splitlines()]
    assert len(rows) == 2, rows  # "Budżet" between the other two is not hers
    everything = bundle_text(bundle).lower()  # the whole bundle: manifest, label, files
    for other in OTHERS:
        assert other.lower() not in text.lower(), other
        assert other.lower() not in everything, other
    first, reply = rows
    lis = first["from"][0]["address"]
    assert re.fullmatch(rf"osoba-\d@{re.escape(DOMAIN)}", lis)
    assert reply["to"][0]["address"] == lis  # one person, one pseudonym, across rows
    assert first["from"][0]["name"] == f"Osoba {lis[6]}"
    # Free text keeps its words (the subject line of her own mail is hers); only identifiers
    # the copy replaced elsewhere are replaced in it — a declined name is not recognised.
    assert first["subject"] == "Uchwała — pytanie od Ewy Lis"
    assert {"address": "a.nowak@elblag.eu", "name": "Anna Nowak"} in [
        {k: p[k] for k in ("address", "name")} for p in first["to"]]
    assert reply["env_from"] in ("a.nowak@elblag.eu", "")
    kot = [p["address"] for p in first["to"] if p["address"] != "a.nowak@elblag.eu"]
    assert kot and kot[0] != lis and kot[0].endswith(DOMAIN)
    listed = {f["path"] for f in manifest["files"]}  # type: ignore[index]
    assert entry["path"] in listed and not any("chunks/" in p for p in listed)


def test_event_rows_of_the_subjects_computer(elblag: Vault) -> None:
    endpoint(elblag, syslog_udp="", http="")
    now = datetime.now(UTC).replace(microsecond=0)
    bg = events_listener(elblag)
    try:
        port = bg.service.addresses["syslog_tcp"][1]
        syslog(port, now - timedelta(minutes=10), "pc-042", "Accepted password for anowak")
        syslog(port, now - timedelta(minutes=9), "pc-042", "session opened for user mkot by anowak")
        syslog(port, now - timedelta(minutes=8), "pc-017", "Failed password for elis")
        wait_for(lambda: bg.service.counters.totals["events"] == 3)
        bg.flush()
    finally:
        bg.stop()
    copy, manifest = approve_and_copy(elblag, _subject(elblag, "events", ["siem"], "pc-042", now),
                                      at=ready_at_the_end(now + timedelta(minutes=5)))
    bundle = elblag.root / copy.bundle  # type: ignore[attr-defined]
    [entry] = manifest["media"]  # type: ignore[index]
    rows = [json.loads(x) for x in (bundle / entry["path"]).read_text("utf-8").splitlines()]
    assert [r["host"] for r in rows] == ["pc-042", "pc-042"]  # their computer, kept
    assert entry["chunks"] == [] and "pc-017" not in bundle_text(bundle)
    assert "mkot" not in bundle_text(bundle)  # another account in their session's message


def test_a_subjects_mail_request_must_say_whom_it_concerns(elblag: Vault) -> None:
    mailbox(elblag)
    before = snapshot(elblag)
    with pytest.raises(FieldError, match="whom it concerns") as caught, \
            elblag.transaction() as s:
        register_request(s, elblag.policy, _subject(elblag, "mail", [], None,
                                                    datetime.now(UTC)), "t")
    assert caught.value.field == "who" and "kogo dotyczy" in (caught.value.pl or "")
    assert snapshot(elblag) == before


_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=8)


@given(st.lists(st.tuples(_names, _names), min_size=1, max_size=12), _names)
def test_pseudonyms_are_stable_and_leave_no_other_identifier(people: list[tuple[str, str]],
                                                            subject: str) -> None:
    """Whatever the people in the rows: the subject's own address survives, every other
    address is a pseudonym in .invalid, one per person, the same in every row."""
    table = Pseudonyms(f"{subject}.self")
    me = {"name": "", "address": f"{subject}.self@urzad.pl"}
    rows = [{"from": [{"name": f"{a} {b}", "address": f"{a}.{b}@x.pl"}], "to": [me],
             "cc": [], "bcc": [], "sender": [], "env_from": f"{a}.{b}@x.pl", "env_rcpt": [],
             "subject": f"list od {a}.{b}@x.pl"} for a, b in people]
    for r in rows:
        subject_row(r, "mailbox", table)
    out = [subject_row(r, "mailbox", table) for r in rows]
    seen: dict[str, str] = {}
    for (a, b), row in zip(people, out, strict=True):
        real = f"{a}.{b}@x.pl"
        got = row["from"][0]["address"]
        if table.is_subject(real):
            assert got == real
            continue
        assert got.endswith("@" + DOMAIN) and real not in json.dumps(row)
        assert seen.setdefault(real, got) == got and row["env_from"] == got
        assert row["to"] == [me]
    assert len(set(seen.values())) == len(seen)
