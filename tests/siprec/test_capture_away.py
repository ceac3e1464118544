"""The capture process away while calls are recorded off a mirrored port (issue 64: away 75 s,
its call's metadata said `lost: 0`, the call was stored only at serve's stop, and nobody was
told). Serve's own recorder and loop, the capture process's side played through capture.sock
(tests.support.capture.FakeCaptureProcess), which the test closes and opens again as a
killed and restarted `kustosz capture` does:

- a call whose end fell in the absence is closed once the process is back and the call is
  not heard (`ended: capture_away`), stored while serve runs, its unheard stretch recorded;
- a call that goes on after the absence counts the packets its sequence numbers prove lost,
  and records the stretch;
- the absence past its bound is `phone.capture_away`, raised at the moment it went away,
  cleared when it is back, and the alert recipients are told (a 75 s absence too);
- what the recorder refused in its last second is told at its stop."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from tests.alerts_helpers import WebhookSink, write_alerts
from tests.cameras.camera_helpers import wait_for
from tests.conftest import make_vault
from tests.siprec.capture_helpers import add_capture, capture_recorder
from tests.siprec.siprec_helpers import calls_of, wait_for_calls
from tests.siprec.test_capture_bad_input import IFACE, PHONE, TRUNK, Wire
from tests.support.capture import FakeCaptureProcess

from kustosz.alerts.notifier import Notifier
from kustosz.config import read_config
from kustosz.db.models import Alert
from kustosz.ingest import refusals
from kustosz.ingest.phone.capture import run as capture_run
from kustosz.ingest.phone.capture.away import Absences
from kustosz.ingest.phone.capture.recorder import Recorder
from kustosz.ingest.phone.capture.wire import socket_path
from kustosz.states import AlertRow
from kustosz.vault import Vault


@pytest.fixture
def line(tmp_path: Path) -> Iterator[Vault]:
    vault = make_vault(tmp_path / "v", "boleslawiec")
    add_capture(vault, IFACE)
    yield vault
    vault.close()


def _connect(vault: Vault, recorder: Recorder) -> Wire:
    wire = Wire(FakeCaptureProcess(socket_path(vault.root), [IFACE]))
    wait_for(lambda: recorder.connected and recorder.interfaces.get(IFACE) == "", 30,
             "the capture process connected")
    return wire


def _away(recorder: Recorder, wire: Wire) -> float:
    """The capture process killed: its connection gone, as serve sees it."""
    wire.fake.close()
    wait_for(lambda: not recorder.connected and recorder.absences.away, 30,
             "serve to see the capture process gone")
    return time.time()


def _alerts(vault: Vault, kind: AlertRow) -> list[Alert]:
    with vault.reading() as s:
        rows = list(s.execute(select(Alert).where(Alert.kind == kind)
                              .order_by(Alert.id)).scalars())
        s.expunge_all()
        return rows


def test_a_call_that_ended_while_the_capture_process_was_away_is_stored_with_its_gap(
        line: Vault) -> None:
    with capture_recorder(line, watch_s=0.2, resume_s=1.0) as recorder:
        wire = _connect(line, recorder)
        wire.call("przerwany")
        wire.rtp((PHONE, 30000), 50)
        wait_for(lambda: recorder.calls and next(iter(recorder.calls.values())).received()
                 == 50, 30, "the call's sound read")
        went = _away(recorder, wire)
        # its BYE would come now: the port is not read
        wait_for(lambda: _alerts(line, AlertRow.PHONE_LOSS), 30, "the cut call told")
        wire = _connect(line, recorder)
        back = time.time()
        # not heard since the process came back: ended while it was away, stored now — not
        # at serve's stop, not after the 10 minutes' silence
        ((_call, rec),) = wait_for_calls(line, 1)
        assert recorder.calls == {}
        wire.fake.close()
    assert rec.meta["ended"] == "capture_away" and rec.meta["received"] == 50
    (gap,) = rec.meta["unheard"]
    start, end = (datetime.fromisoformat(gap[k]).timestamp() for k in ("from", "to"))
    assert went - 5 < start <= went and back - 5 < end <= back + 0.5
    assert gap["seconds"] == pytest.approx(end - start, abs=0.01) and gap["seconds"] > 0
    (loss,) = _alerts(line, AlertRow.PHONE_LOSS)
    assert "the capture process went away" in loss.message and "port" in loss.message


def test_a_call_going_on_after_the_absence_counts_what_its_sequence_numbers_lost(
        line: Vault) -> None:
    with capture_recorder(line, watch_s=0.2, resume_s=30.0) as recorder:
        wire = _connect(line, recorder)
        wire.call("dalej")
        wire.rtp((PHONE, 30000), 50)
        wait_for(lambda: recorder.calls and next(iter(recorder.calls.values())).received()
                 == 50, 30, "the call's sound read")
        _away(recorder, wire)
        wire = _connect(line, recorder)
        wire.rtp((PHONE, 30000), 50, start=100)  # 50 packets said while nobody read
        wire.bye("dalej")
        ((_call, rec),) = wait_for_calls(line, 1)
        wire.fake.close()
    assert rec.meta["ended"] == "bye"
    assert rec.meta["received"] == 100 and rec.meta["lost"] == 50
    (gap,) = rec.meta["unheard"]
    assert gap["seconds"] > 0


def test_a_call_without_an_absence_records_none(line: Vault) -> None:
    with capture_recorder(line, watch_s=0.2) as recorder:
        wire = _connect(line, recorder)
        wire.call("zwykla")
        wire.rtp((PHONE, 30000), 20)
        wire.bye("zwykla")
        ((_call, rec),) = wait_for_calls(line, 1)
        wire.fake.close()
    assert "unheard" not in rec.meta and rec.meta["lost"] == 0


def test_the_capture_process_away_past_its_bound_is_alerted_and_cleared_when_back(
        line: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    monkeypatch.setattr(capture_run, "ABSENT_S", 1.0)
    stop = threading.Event()
    loop = threading.Thread(target=capture_run.run_capture, args=(line, stop), daemon=True)
    loop.start()
    fake = None
    try:
        wait_for(lambda: socket_path(line.root).exists(), 30, "the socket")
        fake = FakeCaptureProcess(socket_path(line.root), [IFACE])
        fake.close()
        went = datetime.now(UTC)
        wait_for(lambda: _alerts(line, AlertRow.PHONE_CAPTURE_AWAY), 60,
                 "phone.capture_away raised")
        (row,) = _alerts(line, AlertRow.PHONE_CAPTURE_AWAY)
        assert row.cleared_at is None and row.source_id is None
        # raised at the moment it went away, not when the bound passed: its grace counts
        # from then
        assert went - timedelta(seconds=5) <= row.raised_at.replace(tzinfo=UTC) <= went + \
            timedelta(seconds=1)
        assert row.message.startswith("Proces przechwytywania rozmów (kustosz capture, usługa "
                                      "kustosz-capture) nie jest połączony z usługą Kustosz "
                                      "od ")
        assert "rozmowy linii „port” z portu lustrzanego nie są nagrywane" in row.message
        # the line itself is not alerted a second time for the same cause
        assert _alerts(line, AlertRow.PHONE_UNREACHABLE) == []
        fake = FakeCaptureProcess(socket_path(line.root), [IFACE])
        wait_for(lambda: _alerts(line, AlertRow.PHONE_CAPTURE_AWAY)[0].cleared_at, 30,
                 "phone.capture_away cleared")
        (row,) = _alerts(line, AlertRow.PHONE_CAPTURE_AWAY)
        assert "nie był połączony z usługą Kustosz od " in row.message
        assert "rozmów linii „port” z tego czasu nie nagrano" in row.message
    finally:
        stop.set()
        loop.join(60)
        if fake is not None:
            fake.close()
    assert not loop.is_alive()


def test_an_absence_of_75_seconds_reaches_the_alert_recipients(line: Vault) -> None:
    """The finding's own absence, its times given: the row raised at the moment the process
    went away once the bound (60 s) passed, cleared 75 s after it went — the recipients hear
    of it when it has lasted the grace (1 min), and again when it ends."""
    with WebhookSink() as hook:
        write_alerts(line.root, f'[alerts]\ndigest_at = ""\n[alerts.webhook]\n'
                                f'url = "{hook.url}"\n')
        notifier = Notifier(line, read_config(line.root).alerts, retry_s=30)
        went = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=75)
        capture_run.check_away(line, went, ["port"], now=went + timedelta(seconds=61))
        notifier.tick(went + timedelta(seconds=61))
        capture_run.check_away(line, None, ["port"], now=went + timedelta(seconds=75))
        notifier.tick(went + timedelta(seconds=76))
        events = [p["json"]["event"] for p in hook.posts]
        assert events == ["start", "clear"], hook.posts
        start, clear = (p["json"] for p in hook.posts)
        assert start["kind"] == "capture_away" and start["alert_kind"] == "phone.capture_away"
        assert start["subject"].startswith("Nagrywanie rozmów z portu lustrzanego nie działa "
                                           "od ")
        assert clear["subject"] == ("Nagrywanie rozmów z portu lustrzanego znów działa "
                                    "(przerwa 1 min 15 s)")


def test_an_absence_that_ended_before_the_notifier_looked_is_told_as_past(
        line: Vault) -> None:
    with WebhookSink() as hook:
        write_alerts(line.root, f'[alerts]\ndigest_at = ""\n[alerts.webhook]\n'
                                f'url = "{hook.url}"\n')
        notifier = Notifier(line, read_config(line.root).alerts, retry_s=30)
        notifier.tick()  # the notifier's first pass: what clears after it is looked at
        went = datetime.now(UTC) - timedelta(seconds=75)
        capture_run.check_away(line, went, ["port"], now=went + timedelta(seconds=61))
        capture_run.check_away(line, None, ["port"], now=datetime.now(UTC))
        notifier.tick()
        assert [p["json"]["event"] for p in hook.posts] == ["past"]
        assert hook.posts[0]["json"]["subject"].startswith(
            "Rozmowy z portu lustrzanego nie były nagrywane przez 1 min 15 s (od ")


def test_what_the_last_second_refused_is_told_at_the_recorders_stop(line: Vault) -> None:
    """Issue 64 (the suite's capture corpus failure): refusals are gathered and handed on
    once a second by the recorder's watch; a recorder stopped within that second lost them.
    The watch here looks once a minute: only the stop can tell it."""
    with capture_recorder(line, watch_s=60.0) as recorder:
        wire = _connect(line, recorder)
        wire.sip(TRUNK, PHONE, b"INVITE sip:x SIP/2.0\r\nContent-Length: bad\r\n\r\n")
        wait_for(lambda: recorder.refusals.total == 1, 30, "the message read and refused")
        wire.fake.close()
    # a sender's address can be forged: the vault's writer folds it under its class and
    # writes it on its own thread (issue 64 item 4); flushed here as serve's checks do
    refusals.flush(line)
    (row,) = _alerts(line, AlertRow.INPUT_REFUSED)
    assert row.message.startswith("Odrzucono dane z adresu 10.1.0.10 (nadawca SIP na porcie "
                                  "lustrzanym linii port): wiadomość SIP")
    assert calls_of(line) == []


def test_an_absence_shorter_than_a_millisecond_is_still_in_the_record() -> None:
    """CI, 2026-11-30: the process came back 0.4 ms after it went (a fast reconnection), and
    the call's record said it was heard throughout; its times tell microseconds apart."""
    absences = Absences()
    wall = 1_796_000_000.0  # a wall-clock moment of 2026, where a float still holds a µs
    absences.went(100.0)
    absences.came_back(100.0004)
    (gap,) = absences.during(90.0, 120.0, lambda t: datetime.fromtimestamp(wall + t, UTC))
    assert gap["seconds"] == pytest.approx(0.0004, abs=2e-6)
    assert datetime.fromisoformat(str(gap["to"])) > datetime.fromisoformat(str(gap["from"]))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1000), st.floats(0, 200)), max_size=8),
       st.floats(0, 1200), st.floats(0, 600))
def test_the_unheard_stretches_are_exactly_the_absences_within_the_call(
        gaps: list[tuple[float, float]], start: float, length: float) -> None:
    """Any absences (went, came back), any call: its record's stretches lie within the call,
    in order, never overlap, and add up to the time the two share."""
    absences, at = Absences(), 0.0
    for offset, lasted in gaps:
        at += offset + 0.001
        absences.went(at)
        at += lasted
        absences.came_back(at)
    end = start + length
    said = absences.during(start, end)
    spans = [(datetime.fromisoformat(str(g["from"])).timestamp(),
              datetime.fromisoformat(str(g["to"])).timestamp()) for g in said]
    assert all(start - 1e-3 <= a < b <= end + 1e-3 for a, b in spans)
    assert all(b1 <= a2 + 1e-3 for (_, b1), (a2, _) in pairwise(spans))
    shared = sum(max(0.0, min(b, end) - max(a, start)) for a, b in absences.spans
                 if b is not None)
    assert sum(float(str(g["seconds"])) for g in said) == pytest.approx(shared, abs=0.01)
