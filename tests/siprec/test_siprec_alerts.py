"""A person hears of what a SIPREC line did not record (issue 35 item 5): a session refused for
what it offered, a call whose sound never came, a call that lost packets past the limit, an
SBC that opens no session during working hours. Each is an alert row the notifier sends."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.cameras.camera_helpers import wait_for
from tests.siprec.siprec_helpers import (
    calls_of,
    recording_server,
    wait_for_calls,
    wait_received,
)
from tests.support.siprec import (
    SipClient,
    answered_ports,
    metadata,
    multipart,
    offer,
    rtp_packet,
    status_of,
    to_tag_of,
)

from kustosz.alert_kinds import kind_of
from kustosz.db.models import Alert
from kustosz.ingest.phone.siprec.alerts import check_silence, session_opened
from kustosz.ingest.phone.siprec.server import Srs
from kustosz.ingest.refusals import flush
from kustosz.states import AlertRow
from kustosz.vault import Vault


def alerts(vault: Vault, row: AlertRow) -> list[Alert]:
    with vault.reading() as s:
        return list(s.execute(select(Alert).where(Alert.kind == row)).scalars())


def test_a_refused_session_is_alerted_in_polish(office: Vault) -> None:
    with recording_server(office) as srs:
        client = SipClient(srs.port)
        answer = client.request("INVITE", "g729", *multipart(
            ("application/sdp", offer("18", "a=rtpmap:18 G729/8000")),
            ("application/rs-metadata+xml", metadata())))
        assert status_of(answer) == 488
        client.close()
        wait_for(lambda: alerts(office, AlertRow.PHONE_SESSION_REFUSED), 30, "the alert")
    (alert,) = alerts(office, AlertRow.PHONE_SESSION_REFUSED)
    assert alert.message.startswith("Linia telefoniczna sbc: sesja nagrywania")
    assert "G729" in alert.message
    assert kind_of(alert.kind).key == "phone_recording"


def test_a_stranger_and_junk_are_alerted_as_refused_input_folded_per_device(
        office: Vault) -> None:
    """Issue 47: input from a device on no line (403), and a message that is no SIP, are
    `input.refused` alerts naming the device — a flood of them one row, not one a packet.
    Issue 64: an address is what a datagram claims, so the row is the sender's class (on no
    line's list; the SBC of the line whose list holds it) and the address is named in it."""
    with recording_server(office) as srs:
        stranger = SipClient(srs.port, source="127.0.0.2")
        for i in range(5):
            answer = stranger.request("INVITE", f"stranger-{i}", *multipart(
                ("application/sdp", offer()), ("application/rs-metadata+xml", metadata())))
            assert status_of(answer) == 403
        stranger.close()
        known = SipClient(srs.port)
        for _ in range(50):
            known.send_raw(b"\x00\xff" * 300)
        assert status_of(known.request("OPTIONS", "still-there")) == 200
        known.close()
        wait_for(lambda: len(alerts(office, AlertRow.INPUT_REFUSED)) == 2, 30, "two alerts")
    flush(office)
    by_device = {a.message.split(":", 1)[0]: a for a in alerts(office, AlertRow.INPUT_REFUSED)}
    assert set(by_device) == {
        "Odrzucono dane z adresu 127.0.0.2 (nadawca SIP spoza list linii SIPREC)",
        "Odrzucono dane z adresu 127.0.0.1 (SBC linii sbc)"}
    stranger_row = by_device[
        "Odrzucono dane z adresu 127.0.0.2 (nadawca SIP spoza list linii SIPREC)"]
    assert "nie należy do żadnej linii SIPREC" in stranger_row.message
    assert "Powtórzyło się 5 razy" in stranger_row.message
    assert stranger_row.source_id is None  # no line's
    junk = by_device["Odrzucono dane z adresu 127.0.0.1 (SBC linii sbc)"]
    assert "nieczytelna wiadomość SIP" in junk.message
    assert "Powtórzyło się 50 razy" in junk.message
    assert junk.source_id is not None  # the junk came from the line's own SBC


def _call(srs: Srs, client: SipClient, call_id: str, packets: list[int]) -> None:
    answer = client.request("INVITE", call_id, *multipart(
        ("application/sdp", offer()), ("application/rs-metadata+xml", metadata())))
    tag = to_tag_of(answer)
    client.ack(call_id, tag)
    ports = answered_ports(answer)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in packets:
        sender.sendto(rtp_packet(i, i * 160, b"\xd5" * 160), ("127.0.0.1", ports[0]))
        time.sleep(0.002)
    sender.close()
    wait_received(srs, call_id, len(packets))
    assert status_of(client.request("BYE", call_id, to_tag=tag, cseq=2)) == 200


def test_a_call_without_sound_is_kept_and_alerted(office: Vault) -> None:
    with recording_server(office) as srs:
        client = SipClient(srs.port)
        _call(srs, client, "mute", [])
        client.close()
    ((_, rec),) = wait_for_calls(office, 1)
    assert rec.meta["no_sound"] is True  # kept as a call without sound, not dropped
    wait_for(lambda: alerts(office, AlertRow.PHONE_NO_SOUND), 30, "the alert")


def test_a_call_that_lost_packets_past_the_limit_is_alerted(office: Vault) -> None:
    with recording_server(office, loss_percent=5.0) as srs:
        client = SipClient(srs.port)
        _call(srs, client, "whole", list(range(100)))  # nothing lost: no alert
        _call(srs, client, "holes", [i for i in range(100) if i % 10 != 5])  # 10 of 100 lost
        client.close()
    calls = wait_for_calls(office, 2)
    assert sorted(r.meta["lost"] for _, r in calls) == [0, 10]
    wait_for(lambda: alerts(office, AlertRow.PHONE_LOSS), 30, "the alert")
    assert len(alerts(office, AlertRow.PHONE_LOSS)) == 1


def test_an_sbc_silent_in_working_hours_is_alerted_and_cleared_by_its_next_session(
        office: Vault) -> None:
    tuesday_10 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # 10:00 in Warsaw
    session_opened(office, "sbc", now=tuesday_10 - timedelta(hours=3))
    assert check_silence(office, "sbc", now=tuesday_10)
    assert check_silence(office, "sbc", now=tuesday_10)  # one alert, not two
    (alert,) = alerts(office, AlertRow.PHONE_SILENT)
    assert "nie otworzyła żadnej sesji nagrywania" in alert.message
    sunday = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    session_opened(office, "sbc", now=sunday - timedelta(hours=30))
    assert not check_silence(office, "sbc", now=sunday)  # not in working hours
    session_opened(office, "sbc", now=tuesday_10)
    assert not check_silence(office, "sbc", now=tuesday_10 + timedelta(minutes=1))
    (alert,) = alerts(office, AlertRow.PHONE_SILENT)
    assert alert.cleared_at is not None


def test_a_call_not_stored_when_it_ended_is_stored_once_it_can_be_without_a_restart(
        office: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    """The database (or the object store) away when a call ends: its folder stays, and the
    running server stores it as soon as it can — not only at the next start. The outage is
    injected into the store step (a real database cut is tests/reliability's): the first two
    tries fail as a database away does, with a KustoszError."""
    from kustosz.errors import KustoszError
    from kustosz.ingest.phone.siprec import run
    real, tries = run.store_session, {"n": 0}

    def away_twice(vault: Vault, folder: object, **kw: object) -> int | None:
        tries["n"] += 1
        if tries["n"] <= 2:
            raise KustoszError("the database does not answer")
        return real(vault, folder, **kw)  # type: ignore[arg-type]
    monkeypatch.setattr(run, "store_session", away_twice)
    with recording_server(office, retry_s=0.5) as srs:
        client = SipClient(srs.port)
        _call(srs, client, "during-outage", list(range(20)))
        client.close()
        ((_, rec),) = wait_for_calls(office, 1, timeout=30)
        assert tries["n"] == 3 and rec.meta["received"] == 20


def test_a_call_that_cannot_be_made_into_a_recording_is_alerted_once_and_kept(
        office: Vault) -> None:
    """Issue 35's left-over: a finished call whose recording cannot be made (here a stream
    of a codec ffmpeg is not asked for) stays in its folder and is tried again — and a
    person hears of it once (phone.not_stored), not only the log; mended, it is stored by
    the next try."""
    from kustosz.ingest.phone.siprec.run import siprec_root
    from kustosz.ingest.phone.siprec.session import CallFacts, SessionFolder, StreamFacts

    now = datetime.now(UTC).isoformat()
    facts = CallFacts("sbc", "broken", ["broken"], now, "+48581112233", "+48221234567", "",
                      "", "incoming", "127.0.0.1", [StreamFacts("1", "G729", 0)], end=now,
                      ended="bye", received=1)
    folder = SessionFolder.create(siprec_root(office), facts)
    folder.stream_path("1").write_bytes(b"\xd5" * 1600)
    with recording_server(office, retry_s=0.3) as srs:
        wait_for(lambda: alerts(office, AlertRow.PHONE_NOT_STORED), 30, "the alert")
        wait_for(lambda: srs.handover.failures >= 4, 30, "several tries more")
        (alert,) = alerts(office, AlertRow.PHONE_NOT_STORED)  # still one
        assert folder.path.is_dir() and kind_of(alert.kind).key == "phone_recording"
        message = alert.message
        assert message.startswith("Linia telefoniczna sbc: rozmowa została nagrana, ale nie "
                                  "udało się zapisać jej w systemie")
        assert folder.path.name in message
        facts.streams = [StreamFacts("1", "PCMA", 0)]
        folder.save(facts)
        wait_for(lambda: calls_of(office), 30, "the mended call stored")
    assert not folder.path.exists()


def test_a_call_not_stored_is_said_in_polish_and_never_cut_mid_word(tmp_path: Path) -> None:
    """Issue 50 item 8: a call on a line whose kind the running policy sets no period for was
    alerted in English inside the Polish mail, cut mid-word at 300 characters. The reason is
    the error's Polish words, whole; a reason with none (a library's own error) is cut at a
    word's end and marked so."""
    from kustosz.errors import ConfigError
    from kustosz.ingest.phone.siprec.handover import told
    from kustosz.ingest.phone.siprec.session import CallFacts, SessionFolder

    now = datetime.now(UTC).isoformat()
    folder = SessionFolder.create(tmp_path / "siprec", CallFacts(
        "sbc", "s1", ["s1"], now, "+48581112233", "+48221234567", "", "", "incoming",
        "127.0.0.1"))
    said: list[tuple[str, str]] = []
    failed = told(lambda line, text: said.append((line, text)))
    assert failed is not None
    pl = ("Zasady urzędu nie określają okresu przechowywania dla materiału typu „rozmowa "
          "telefoniczna” (retention.phone): regulamin go nie obejmuje. " * 4).strip()
    failed(folder, ConfigError("the policy sets no retention period for phone material " * 6,
                               pl=pl))
    line, text = said[-1]
    assert line == "sbc" and pl.rstrip(".") in text and "the policy" not in text
    assert text.startswith(f"rozmowa {folder.path.name}: ")
    failed(folder, RuntimeError(" ".join(["przechowywania"] * 60)))
    text = said[-1][1]
    assert text.endswith("…") and len(text) <= 400
    assert text.removesuffix("…").rstrip().endswith("przechowywania")
