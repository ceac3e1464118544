"""IT-activity events from real clients: util-linux `logger` over TCP and UDP, JSON over HTTP.
They are categorised, stored in chunks as material, searchable, and deleted by the sweep."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from monitoring_helpers import endpoint, events_listener, logger, needs_logger, post, wait_for
from sqlalchemy import select

from kustosz.db.events import IntakeCounter, MonitoringEvent
from kustosz.db.models import Deletion, Recording
from kustosz.ingest.events.search import search_events
from kustosz.retention import run_sweep
from kustosz.vault import Vault


@needs_logger
def test_syslog_and_json_are_categorised_stored_and_searchable(elblag: Vault) -> None:
    token = endpoint(elblag)
    bg = events_listener(elblag)
    try:
        tcp = bg.service.addresses["syslog_tcp"][1]
        udp = bg.service.addresses["syslog_udp"][1]
        http = bg.service.addresses["http"][1]
        logger(tcp, "--rfc5424", "-t", "sshd", "--sd-id", "auth@32473", "--sd-param",
               'user="jkowalski"', "Failed password for jkowalski from 10.1.2.3 port 22")
        logger(tcp, "--rfc5424", "--octet-count", "-t", "suricata",
               "ET MALWARE Win32/Emotet CnC Beacon src=10.1.2.7")
        logger(udp, "--rfc3164", "-t", "dhcpd",
               "DHCPACK on 10.1.2.99 to aa:bb:cc:dd:ee:ff (laptop-17) via eth0", tcp=False)
        logger(udp, "--rfc5424", "-t", "dlp", "USB copy blocked: data leak policy", tcp=False)
        status, answer = post(f"http://127.0.0.1:{http}/events", json.dumps([
            {"time": "2026-11-20T09:15:00+01:00", "host": "PC-042", "user": "ANowak",
             "app": "glpi-agent", "message": "software added: LibreOffice 24.8"},
            {"time": "2026-11-20T09:16:00+01:00", "host": "proxy", "user": "anowak",
             "category": "website_threat", "message": "https://bad.example blocked",
             "url": "https://bad.example/x"},
        ]).encode(), token)
        assert (status, answer["accepted"], answer["refused"]) == (202, 2, [])
        wait_for(lambda: bg.service.counters.totals["events"] == 6)
        bg.flush()
    finally:
        bg.stop()

    with elblag.reading() as s:
        everything = search_events(s, limit=100)
        assert len(everything) == 6
        by_app = {e["app"]: e for e in everything}
        assert by_app["sshd"]["category"] == "device_security"
        assert by_app["sshd"]["user"] == "jkowalski"
        assert by_app["suricata"]["category"] == "malware"
        assert by_app["dhcpd"]["category"] == "device_connected"
        assert by_app["dlp"]["category"] == "data_leak"
        assert by_app["glpi-agent"]["category"] == "inventory_change"
        assert by_app[""]["category"] == "website_threat"  # the sender's own category
        # Search by user is case-insensitive (AD names), by host, by category and by time.
        assert {e["app"] for e in search_events(s, user="anowak")} == {"glpi-agent", ""}
        assert [e["app"] for e in search_events(s, host="pc-042")] == ["glpi-agent"]
        assert [e["app"] for e in search_events(s, category="malware")] == ["suricata"]
        day = datetime(2026, 11, 20, tzinfo=UTC)
        assert len(search_events(s, start=day, end=day + timedelta(days=1))) == 2
        chunks = list(s.execute(select(Recording).where(Recording.kind == "endpoint")).scalars())
        assert len(chunks) == 1 and chunks[0].meta["lines"] == 6 and chunks[0].state == "stored"
        counts = {c.name: c.value for c in s.execute(select(IntakeCounter)).scalars()}
        assert counts["events"] == 6
    stored = elblag.storage.path(chunks[0].storage_key).read_text("utf-8").splitlines()
    assert json.loads(stored[0])["received"]
    assert not list((elblag.root / "spool" / "monitoring" / "siem").iterdir())

    # Retained for the policy's 3 calendar months, then deleted like any other material.
    report = run_sweep(elblag, now=datetime.now(UTC) + timedelta(days=40))
    assert report.deleted == []
    report = run_sweep(elblag, now=datetime.now(UTC) + timedelta(days=95))
    assert [d["id"] for d in report.deleted] == [chunks[0].id]
    with elblag.reading() as s:
        assert s.execute(select(MonitoringEvent)).first() is None  # the index goes too
        assert s.execute(select(Deletion.recording_id)).scalars().all() == [chunks[0].id]
    assert not elblag.storage.exists(chunks[0].storage_key)
