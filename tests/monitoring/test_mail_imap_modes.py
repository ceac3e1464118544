"""The IMAP journal mailbox's ways of working against a real Dovecot: imaps and STARTTLS
with the office's CA, keeping messages on the server (\\Seen or moved), a message over the
size limit, a full folder taken in several rounds, full messages with a legal basis, and a
prompt stop."""

from __future__ import annotations

import logging
import time

import pytest
from imap_helpers import Dovecot, bg_poll, delivered, imap_poller, imap_source
from monitoring_helpers import message, wait_for
from sqlalchemy import select

from kustosz.db.models import Recording
from kustosz.ingest.mail.search import search_mail
from kustosz.vault import Vault


def test_imaps_and_starttls_with_the_office_ca(elblag_sqlite: Vault, dovecot: Dovecot,
                                               caplog: pytest.LogCaptureFixture) -> None:
    vault = elblag_sqlite
    user = dovecot.add_user()
    ca = str(dovecot.cert)
    imap_source(vault, dovecot, user, name="imaps", imap_tls="imaps",
                imap_port=dovecot.imaps_port, imap_ca_file=ca)
    imap_source(vault, dovecot, user, name="starttls", imap_tls="starttls", imap_ca_file=ca)
    imap_source(vault, dovecot, user, name="nieznany", imap_tls="imaps",
                imap_port=dovecot.imaps_port)  # the system's CAs do not know this server
    caplog.set_level(logging.WARNING, logger="kustosz")
    for i, name in enumerate(("imaps", "starttls")):
        dovecot.append(user, delivered(message(f"Szyfrowane {i}", "a@elblag.eu",
                                               ["b@elblag.eu"]), "a@elblag.eu"))
        bg = imap_poller(vault, name)
        try:
            assert bg_poll(bg).ok and dovecot.messages(user) == []
            bg.flush()
        finally:
            bg.stop()
    bg = imap_poller(vault, "nieznany")
    try:
        assert not bg_poll(bg).ok
        assert bg.service.counters.totals["imap_connect_failed"] >= 1
    finally:
        bg.stop()
    assert any("nieznany" in r.getMessage() and "CERTIFICATE_VERIFY_FAILED" in r.getMessage()
               for r in caplog.records)
    with vault.reading() as s:
        assert sorted((m["source"], m["subject"]) for m in search_mail(s)) == [
            ("imaps", "Szyfrowane 0"), ("starttls", "Szyfrowane 1")]


def test_keep_on_server_marks_seen_or_moves(elblag_sqlite: Vault, dovecot: Dovecot) -> None:
    vault = elblag_sqlite
    seen_user, move_user = dovecot.add_user(), dovecot.add_user()
    for u in (seen_user, move_user):
        dovecot.append(u, delivered(message(f"Zostaje {u[-4:]}", "a@elblag.eu",
                                            ["b@elblag.eu"]), "a@elblag.eu"))
    imap_source(vault, dovecot, seen_user, name="seen", imap_keep_on_server=True)
    imap_source(vault, dovecot, move_user, name="moved", imap_keep_on_server=True,
                imap_move_to="Kustosz pobrane")
    for name in ("seen", "moved"):
        bg = imap_poller(vault, name)
        try:
            bg_poll(bg)
            bg_poll(bg)  # taken once: a second round finds nothing new
            assert bg.service.counters.totals["messages"] == 1
            assert bg.service.counters.totals["imap_duplicates"] == 0
            bg.flush()
        finally:
            bg.stop()
    (kept,) = dovecot.messages(seen_user)
    assert "\\Seen" in kept["flags"] and "\\Deleted" not in kept["flags"]
    assert dovecot.messages(move_user) == []
    assert len(dovecot.messages(move_user, "Kustosz pobrane")) == 1
    with vault.reading() as s:
        assert len(search_mail(s)) == 2


def test_a_message_over_the_limit_stays_and_is_counted_once(
        elblag_sqlite: Vault, dovecot: Dovecot) -> None:
    vault = elblag_sqlite
    user = dovecot.add_user()
    dovecot.append(user, delivered(message("Za duży", "a@elblag.eu", ["b@elblag.eu"],
                                           attachments=[("x.bin", "application/octet-stream",
                                                         b"x" * 8192)]), "a@elblag.eu"))
    dovecot.append(user, delivered(message("Mały", "a@elblag.eu", ["b@elblag.eu"]),
                                   "a@elblag.eu"))
    imap_source(vault, dovecot, user, max_message_bytes=4096)
    bg = imap_poller(vault)
    try:
        bg_poll(bg)
        bg_poll(bg)
        totals = bg.service.counters.totals
        assert totals["too_large"] == 1 and totals["messages"] == 1
        assert len(dovecot.messages(user)) == 1
    finally:
        bg.stop()


def test_many_messages_take_several_rounds(elblag_sqlite: Vault, dovecot: Dovecot,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    vault = elblag_sqlite
    monkeypatch.setattr("kustosz.ingest.mail.imap.BATCH", 4)
    user = dovecot.add_user()
    client = dovecot.client(user)
    try:
        for i in range(10):
            raw = delivered(message(f"Nr {i}", "a@elblag.eu", ["b@elblag.eu"]), "a@elblag.eu")
            client.append("INBOX", None, None, raw)
    finally:
        client.logout()
    imap_source(vault, dovecot, user)
    bg = imap_poller(vault)
    try:
        # The first round takes 4 and, finding more, the next ones follow at once.
        wait_for(lambda: bg.service.counters.totals["messages"] == 10)
        bg_poll(bg)
        assert dovecot.messages(user) == [] and bg.service.counters.totals["imap_polls"] >= 3
    finally:
        bg.stop()


def test_stop_while_waiting_is_prompt(elblag_sqlite: Vault, dovecot: Dovecot) -> None:
    imap_source(elblag_sqlite, dovecot, dovecot.add_user())
    bg = imap_poller(elblag_sqlite)
    bg_poll(bg)
    started = time.monotonic()
    bg.stop()  # the poller sleeps for an hour: stop wakes it
    assert time.monotonic() - started < 10


def test_full_messages_with_a_legal_basis_spare_private_ones(elblag_sqlite: Vault,
                                                            dovecot: Dovecot) -> None:
    vault = elblag_sqlite
    user = dovecot.add_user()
    dovecot.append(user, delivered(message("Sprawa urzędowa", "a@elblag.eu", ["b@elblag.eu"],
                                           body="SLUZBOWA"), "a@elblag.eu"))
    dovecot.append(user, delivered(message("Prywatne: urlop", "a@elblag.eu", ["b@elblag.eu"],
                                           body="OSOBISTA"), "a@elblag.eu"))
    imap_source(vault, dovecot, user, keep_bodies=True,
                bodies_legal_basis="Regulamin pracy zał. 2 §2; zarządzenie nr 12/2026")
    bg = imap_poller(vault)
    try:
        bg_poll(bg)
        assert dovecot.messages(user) == []
        bg.flush()
    finally:
        bg.stop()
    with vault.reading() as s:
        found = {m["subject"]: (m["body_kept"], m["private"]) for m in search_mail(s)}
        emls = list(s.execute(select(Recording).where(
            Recording.meta["format"].as_string() == "eml")).scalars())
    assert found == {"Sprawa urzędowa": (True, False), "Prywatne: urlop": (False, True)}
    (eml,) = emls
    assert b"SLUZBOWA" in vault.storage.path(eml.storage_key).read_bytes()
    assert not [p for p in vault.root.rglob("*") if p.is_file() and b"OSOBISTA" in p.read_bytes()]
