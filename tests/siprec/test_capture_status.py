"""What a person hears of a line read off a mirrored port (issue 35 items 2 and 5): the capture
process missing or not reading the line's interface raises `phone.unreachable` (Polish, with
the reason), cleared when it reads again — run by serve's own capture loop; `/metrics` and
the dashboard count the calls recorded now (never who) and say whether the capture process is
connected. The capture process's side of capture.sock is played by the test (FakeCaptureProcess)
so that it can come and go on cue."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.cameras.camera_helpers import wait_for
from tests.conftest import make_vault
from tests.siprec.capture_helpers import add_capture, capture_recorder, open_unreachable
from tests.siprec.siprec_helpers import wait_for_calls
from tests.siprec.test_capture_bad_input import IFACE, PHONE, Wire
from tests.siprec.test_siprec_status import scrape
from tests.support.capture import FakeCaptureProcess
from tests.web.web_helpers import signed_in, user

from kustosz.db.models import Alert
from kustosz.ingest.phone.capture import run as capture_run
from kustosz.ingest.phone.capture.wire import socket_path
from kustosz.ingest.phone.siprec import status
from kustosz.vault import Vault


@pytest.fixture
def line(tmp_path: Path) -> Iterator[Vault]:
    vault = make_vault(tmp_path / "v", "boleslawiec")
    add_capture(vault, IFACE)
    yield vault
    vault.close()


def _open_away(vault: Vault) -> list[str]:
    with vault.reading() as s:
        return list(s.execute(select(Alert.message).where(
            Alert.kind == "phone.capture_away", Alert.cleared_at.is_(None))).scalars())


def test_the_capture_process_missing_or_not_reading_is_alerted_and_cleared_when_it_reads(
        line: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(capture_run, "ABSENT_S", 1.0)
    stop = threading.Event()
    loop = threading.Thread(target=capture_run.run_capture, args=(line, stop), daemon=True)
    loop.start()
    fake = None
    try:
        # nobody captures: one alert of its own for all the lines (issue 64), not the line's
        wait_for(lambda: _open_away(line), 60, "phone.capture_away: nobody captures")
        (message,) = _open_away(line)
        assert message.startswith("Proces przechwytywania rozmów (kustosz capture, usługa "
                                  "kustosz-capture) nie jest połączony")
        assert "rozmowy linii „port” z portu lustrzanego nie są nagrywane" in message
        assert open_unreachable(line) == []
        wait_for(lambda: socket_path(line.root).exists(), 30, "the socket")
        fake = FakeCaptureProcess(socket_path(line.root), [IFACE])
        wait_for(lambda: not _open_away(line), 30, "the alert cleared")
        fake.send_raw(fake.wire.control({"opened": {IFACE: "interface lo: down"}}))
        wait_for(lambda: open_unreachable(line), 30, "phone.unreachable: the interface down")
        (message,) = open_unreachable(line)
        assert "nie czyta interfejsu (interface lo: down)" in message
        fake.send_raw(fake.wire.control({"opened": {IFACE: ""}}))
        wait_for(lambda: not open_unreachable(line), 30, "cleared again")
    finally:
        stop.set()
        loop.join(60)
        if fake is not None:
            fake.close()
    assert not loop.is_alive()
    with line.reading() as s:
        kinds = s.execute(select(Alert.kind, Alert.cleared_at.is_(None))).all()
    assert sorted(k for k, _ in kinds) == ["phone.capture_away", "phone.unreachable"]


def test_metrics_and_the_dashboard_count_the_calls_recorded_now_and_name_nobody(
        line: Vault) -> None:
    metrics = scrape(line)
    assert "kustosz_capture_calls_active" not in metrics
    user(line, "admin", ["administrator"])
    page = signed_in(line, "admin")
    assert 'id="capture"' not in page.get("/").text
    with capture_recorder(line) as recorder:
        metrics = scrape(line)
        assert metrics["kustosz_capture_process_connected"] == {(): 0.0}
        assert [v for labels, v in metrics["kustosz_source_up"].items()
                if ("kind", "phone") in labels] == [0.0]
        html = page.get("/").text
        assert "Proces przechwytywania (kustosz capture) nie jest połączony" in html
        wire = Wire(FakeCaptureProcess(socket_path(line.root), [IFACE]))
        wait_for(lambda: recorder.interfaces.get(IFACE) == "", 30, "the interface read")
        for n in range(2):
            wire.call(f"c{n}", phone_port=30000 + 2 * n)
        wait_for(lambda: status.current("capture").active == {"port": 2}, 10, "two calls")
        metrics = scrape(line)
        assert metrics["kustosz_capture_calls_active"] == {(): 2.0}
        assert metrics["kustosz_capture_process_connected"] == {(): 1.0}
        assert metrics["kustosz_capture_calls_total"][(("outcome", "recorded"),)] == 2.0
        assert [v for labels, v in metrics["kustosz_source_up"].items()
                if ("kind", "phone") in labels] == [1.0]
        html = page.get("/").text
        assert 'id="capture"' in html and "Teraz nagrywane są 2 rozmowy." in html
        assert "<li>port: 2</li>" in html and "nie jest połączony" not in html
        assert "581112233" not in html and "581112233" not in str(metrics)
        assert PHONE not in html
        for n in range(2):
            wire.bye(f"c{n}")
        wait_for(lambda: status.current("capture").active == {}, 10, "the calls' end")
        wire.fake.close()
    wait_for_calls(line, 2)
    assert not status.current("capture").listening
