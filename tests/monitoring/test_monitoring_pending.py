"""Events and mail are searchable before their chunk closes: rows read from the open chunk come
back marked pending, with the index's filters and order; once the chunk is stored the same
items come back indexed, once. A chunk that closes in the middle of a search is neither
returned twice nor missed."""

from __future__ import annotations

import json
import smtplib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from monitoring_helpers import (
    endpoint,
    events_listener,
    logger,
    mail_listener,
    mailbox,
    message,
    needs_logger,
    post,
    wait_for,
)
from pending_helpers import close, event, open_chunk, shown
from tests.conftest import Cli

from kustosz.ingest.chunks import pending
from kustosz.ingest.chunks import spool as chunks_mod
from kustosz.ingest.events.search import search_events
from kustosz.ingest.mail.search import search_mail
from kustosz.vault import Vault

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def found(vault: Vault, **kw: Any) -> list[dict[str, Any]]:
    with vault.reading() as s:
        return search_events(s, **kw)


@needs_logger
def test_events_before_and_after_their_chunk_closes(elblag: Vault) -> None:
    token = endpoint(elblag)
    bg = events_listener(elblag)
    queries: list[dict[str, Any]] = [
        {}, {"user": "ANowak"}, {"host": "PC-042"}, {"category": "malware"},
        {"text": "Emotet"}, {"source": "siem", "user": "jkowalski"},
        # The JSON events carry their own (past) time: found by it although the open chunk
        # is this hour's.
        {"start": datetime(2026, 11, 20, tzinfo=UTC), "end": datetime(2026, 11, 21, tzinfo=UTC)},
        {"limit": 2}]
    try:
        tcp, http = bg.service.addresses["syslog_tcp"][1], bg.service.addresses["http"][1]
        logger(tcp, "--rfc5424", "-t", "sshd", "--sd-id", "auth@32473", "--sd-param",
               'user="jkowalski"', "Failed password for jkowalski from 10.1.2.3 port 22")
        logger(tcp, "--rfc5424", "-t", "suricata", "ET MALWARE Win32/Emotet CnC Beacon")
        status, _ = post(f"http://127.0.0.1:{http}/events", json.dumps([
            {"time": "2026-11-20T09:15:00+01:00", "host": "PC-042", "user": "ANowak",
             "app": "glpi-agent", "message": "software added: LibreOffice 24.8"},
            {"time": "2026-11-20T09:16:00+01:00", "host": "proxy", "user": "anowak",
             "category": "website_threat", "message": "https://bad.example blocked"},
        ]).encode(), token)
        assert status == 202
        wait_for(lambda: len(found(elblag)) == 4)  # on disk within a tick (1 s)
        before = {json.dumps(q, default=str): found(elblag, **q) for q in queries}
        everything = before["{}"]
        assert all(e["pending"] and e["id"] is None and e["recording_id"] is None
                   for e in everything)
        assert sorted(e["line"] for e in everything) == [1, 2, 3, 4]
        assert [e["app"] for e in everything[:2]] == ["glpi-agent", ""]  # by their own time
        by_app = {e["app"]: e for e in everything}
        assert by_app["sshd"]["user"] == "jkowalski"
        assert by_app["glpi-agent"]["host"] == "pc-042"  # lower case, as the index keeps it
        assert by_app["suricata"]["category"] == "malware"
        assert [e["app"] for e in before[json.dumps({"user": "ANowak"})]] == ["glpi-agent", ""]
        assert [e["app"] for e in before[json.dumps({"text": "Emotet"})]] == ["suricata"]
        assert found(elblag, include_open=False) == []
        bg.flush()
    finally:
        bg.stop()
    for q in queries:
        after = found(elblag, **q)
        assert shown(after) == shown(before[json.dumps(q, default=str)]), q
        assert all(not e["pending"] and e["id"] is not None and e["recording_id"] is not None
                   for e in after)
    assert len({e["id"] for e in found(elblag)}) == 4


def test_mail_before_and_after_its_chunk_closes(elblag: Vault) -> None:
    mailbox(elblag)
    bg = mail_listener(elblag)
    queries: list[dict[str, Any]] = [
        {}, {"address": "A.Nowak@elblag.eu"}, {"person": "kowalski"},
        {"person": "wiśniewska", "role": "cc"}, {"person": "wiśniewska", "role": "to"},
        {"subject": "Uchwała"}, {"source": "journal", "subject": "budżet"},
        {"start": datetime.now(UTC) - timedelta(hours=1)}, {"end": T0}]
    try:
        port = bg.service.addresses["smtp"][1]
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.send_message(message("Uchwała nr 15/2026", "Jan Kowalski <j.kowalski@elblag.eu>",
                                      ["a.nowak@elblag.eu"], Cc="Ewa Wiśniewska <e.w@elblag.eu>",
                                      attachments=[("uchwala.pdf", "application/pdf", b"%PDF")]),
                              from_addr="j.kowalski@elblag.eu",
                              to_addrs=["journal@kustosz.elblag.eu"])
            smtp.send_message(message("Projekt budżetu", "a.nowak@elblag.eu",
                                      ["j.kowalski@elblag.eu"]),
                              from_addr="a.nowak@elblag.eu",
                              to_addrs=["journal@kustosz.elblag.eu"])
        # "250" comes only once the line is on disk: searchable at once.
        with elblag.reading() as s:
            before = {json.dumps(q, default=str): search_mail(s, **q) for q in queries}
        (first, second) = before["{}"]
        assert first["pending"] and first["id"] is None and first["recording_id"] is None
        assert (first["line"], second["line"]) == (1, 2)
        assert first["from"] == "j.kowalski@elblag.eu" and first["to"] == ["a.nowak@elblag.eu"]
        assert first["cc"] == ["e.w@elblag.eu"] and first["subject"] == "Uchwała nr 15/2026"
        assert [a["name"] for a in first["attachments"]] == ["uchwala.pdf"]
        assert first["body_kept"] is False and first["private"] is False
        assert [len(before[json.dumps(q, default=str)]) for q in queries] == \
            [2, 2, 2, 1, 0, 1, 1, 2, 0]
        bg.flush()
    finally:
        bg.stop()
    with elblag.reading() as s:
        for q in queries:
            after = search_mail(s, **q)
            strip = [{k: v for k, v in m.items() if k not in ("id", "recording_id", "pending")}
                     for m in after]
            assert strip == [{k: v for k, v in m.items()
                              if k not in ("id", "recording_id", "pending")}
                             for m in before[json.dumps(q, default=str)]], q
            assert all(not m["pending"] and m["id"] is not None for m in after)


def test_a_torn_last_line_and_a_broken_one_are_left_out(elblag: Vault) -> None:
    endpoint(elblag)
    records = [event(T0 + timedelta(minutes=1), message="first"),
               event(T0 + timedelta(minutes=2), message="second")]
    folder = open_chunk(elblag, "siem", T0, records[:1],
                        tail=b"not json at all\n" + json.dumps(records[1]).encode() + b"\n"
                        + b'{"received": "2026-11-20T09:03:00+00:00", "mess')
    before = found(elblag)
    assert [(e["message"], e["line"], e["pending"]) for e in before] == \
        [("first", 1, True), ("second", 3, True)]
    close(elblag, "siem", folder)  # what a restart does: cuts the torn line off, indexes 2
    assert shown(found(elblag)) == shown(before)


@pytest.fixture
def half_open(elblag: Vault) -> Iterator[tuple[Vault, Any]]:
    """An endpoint source with one closed chunk and one open one."""
    endpoint(elblag)
    closed = open_chunk(elblag, "siem", T0, [event(T0 + timedelta(minutes=5), message="old")],
                        tag="closed00")
    close(elblag, "siem", closed)
    folder = open_chunk(elblag, "siem", T0 + timedelta(hours=1), [
        event(T0 + timedelta(hours=1, minutes=m), message=f"new {m}") for m in (1, 2, 3)])
    yield elblag, folder


def _once(vault: Vault, stored: bool = True) -> None:
    rows = found(vault)
    assert [e["message"] for e in rows] == ["old", "new 1", "new 2", "new 3"]
    assert [e["pending"] for e in rows] == [False, *[not stored] * 3]
    assert len({e["id"] for e in rows if not e["pending"]}) == (4 if stored else 1)


def test_chunk_stored_after_the_spool_was_read(half_open: tuple[Vault, Any],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    vault, folder = half_open
    real = pending.fresh_reading

    def closing_first(session: Any) -> Any:
        close(vault, "siem", folder)  # the listener closes it just now
        return real(session)

    monkeypatch.setattr(pending, "fresh_reading", closing_first)
    _once(vault)


def test_chunk_stored_between_the_index_query_and_the_check(
        half_open: tuple[Vault, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    vault, folder = half_open
    real = pending.taken_in

    def closing_first(session: Any, chunks: Any) -> Any:
        close(vault, "siem", folder)
        return real(session, chunks)

    monkeypatch.setattr(pending, "taken_in", closing_first)
    # PostgreSQL gives the check a newer snapshot than the index query: it sees the chunk
    # stored and fetches its rows again. SQLite's read transaction keeps the index query's
    # snapshot: the chunk is not stored yet as far as this search knows.
    _once(vault, stored=vault.engine.dialect.name == "postgresql")


def test_chunk_stored_but_its_folder_not_yet_removed(half_open: tuple[Vault, Any],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    vault, folder = half_open
    with monkeypatch.context() as m:
        m.setattr(chunks_mod.shutil, "rmtree", lambda *_a, **_k: None)
        close(vault, "siem", folder)
    assert (folder / "chunk.jsonl").exists()
    _once(vault)


def test_limit_keeps_the_order_stored_before_pending(elblag: Vault) -> None:
    endpoint(elblag)
    t = [T0 + timedelta(minutes=m) for m in range(5)]
    closed = open_chunk(elblag, "siem", T0, [event(t[1], message="s1"),
                                             event(t[2], message="s2"),
                                             event(t[3], message="s3")], tag="closed00")
    close(elblag, "siem", closed)
    # Received now, but reported for the times above: the open chunk's bounds widen.
    now = datetime.now(UTC)
    open_chunk(elblag, "siem", now.replace(minute=0, second=0, microsecond=0),
               [event(now, at=t[0], message="p0"), event(now, at=t[2], message="p2"),
                event(now, at=t[4], message="p4")])
    for limit, expected in ((1, ["p0"]), (3, ["p0", "s1", "s2"]),
                            (4, ["p0", "s1", "s2", "p2"]),
                            (10, ["p0", "s1", "s2", "p2", "s3", "p4"])):
        assert [e["message"] for e in found(elblag, limit=limit)] == expected, limit
    assert [e["message"] for e in found(elblag, start=t[2], end=t[3], limit=2)] == ["s2", "p2"]
    assert [e["message"] for e in found(elblag, end=t[0])] == ["p0"]


def test_a_caller_snapshot_older_than_the_close_misses_nothing(
        half_open: tuple[Vault, Any]) -> None:
    vault, folder = half_open
    with vault.reading() as s:
        assert len(search_events(s, include_open=False)) == 1  # SQLite: snapshot taken here
        close(vault, "siem", folder)  # stored and its folder removed meanwhile
        rows = search_events(s)
    assert [(e["message"], e["pending"]) for e in rows] == \
        [("old", False), ("new 1", False), ("new 2", False), ("new 3", False)]


def test_cli_marks_rows_not_yet_stored(half_open: tuple[Vault, Any]) -> None:
    vault, _ = half_open
    cli = Cli(vault.root)
    out = cli("events", "search", "--source", "siem").output
    assert "4 event(s); * 3 not yet stored (open chunk)" in out
    assert sum(1 for line in out.splitlines() if "│ *" in line and "new" in line) == 3
    rows = json.loads(cli("events", "search", "--json").output)
    assert [(r["message"], r["pending"], r["id"] is None) for r in rows] == [
        ("old", False, False), ("new 1", True, True), ("new 2", True, True),
        ("new 3", True, True)]


def test_letter_case_is_matched_as_the_index_matches_it(elblag: Vault) -> None:
    """Text and subject match in any letter case, Polish letters too, on both databases — and
    the same before and after the chunk closes."""
    endpoint(elblag)
    folder = open_chunk(elblag, "siem", T0, [
        event(T0 + timedelta(minutes=1), host="PC-Łódź", user="ŻANETA",
              message="Blokada USB: ŁÓDŹ, Żółć"),
        event(T0 + timedelta(minutes=2), message="usb 50% off_line \\ done")])
    queries = [{"text": "usb"}, {"text": "łódź"}, {"text": "ŁÓDŹ"}, {"text": "50%"},
               {"text": "f_l"}, {"text": "\\ d"}, {"host": "pc-łódź"}, {"user": "żaneta"}]
    before = [found(elblag, **q) for q in queries]
    close(elblag, "siem", folder)
    after = [found(elblag, **q) for q in queries]
    assert [shown(rows) for rows in after] == [shown(rows) for rows in before]
    assert [len(rows) for rows in after] == [2, 1, 1, 1, 1, 1, 1, 1]
