"""A long pass's format checks made ahead in the side process (issue 68 item 5,
`ingest/phone/format_checks.py`): what the intake stores, skips and refuses is the same as
when its own threads check each batch, for every kind of file a spool holds (FreePBX names
paired with Master.csv, sidecars, names no form knows, Polish letters and emoji, files that
are not audio, links leaving the spool); a helper that dies mid-pass leaves the rest of the
pass to the threads, and nothing is lost."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from concurrent.futures import Future
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from calls_pbx import OFFICE_DID, Pbx, PhoneCall, add_line, stored_calls, utc, write_wav
from sqlalchemy import select
from tests.conftest import make_vault

from kustosz import side_process
from kustosz.db.calls import PhoneProblem
from kustosz.ingest.phone import format_checks
from kustosz.ingest.phone.intake import scan
from kustosz.vault import Vault

START = datetime(2026, 11, 20, 8, 0, 0)
CALLS = format_checks.FROM_FILES + 2 * format_checks.CHUNK_FILES  # past the threshold


def no_sleep(_: float) -> None:
    pass


def busy_day(root: Path) -> Pbx:
    """A day of calls, each a different file, and a few of every kind the checks refuse."""
    pbx = Pbx(root)
    for i in range(CALLS):
        call = PhoneCall("in", OFFICE_DID, f"60010{i:04d}", START + timedelta(minutes=i),
                         f"1763625600.{i}", 0.2)
        pbx.record(call, pitch=200.0 + i)
        pbx.log(call, src=f"60010{i:04d}", dst="201", clid=f'"Józef Żółć {i} 📞" <600>')
    day = pbx.spool / f"{START:%Y/%m/%d}"
    for i in range(3):  # a generic exchange's sidecars beside the FreePBX names
        audio = day / f"rozmowa-źdźbło-{i}.wav"
        write_wav(audio, 0.3, 500.0 + i)
        audio.with_name(audio.name + ".json").write_text(json.dumps({
            "call_id": f"sidecar-{i}", "start": f"2026-11-20T15:0{i}:00+01:00",
            "direction": "incoming", "caller": "600 999 000", "callee": OFFICE_DID}),
            encoding="utf-8")
    (day / "nagranie rozmowy Józefa 🙂.wav").write_bytes(b"RIFF")  # no form, not audio
    late = PhoneCall("in", OFFICE_DID, "600100200", START + timedelta(hours=9), "1763658000.1")
    (pbx.spool / late.relpath).write_text("<html>404 Nie znaleziono</html>\n")
    pbx.log(late, src="600100200", dst="201", clid="600100200")
    outside = root / "elsewhere" / "tajne.wav"
    outside.parent.mkdir()
    outside.write_bytes(b"RIFF\x24\x00\x00\x00WAVE" + b"\x00" * 32)
    link = PhoneCall("in", OFFICE_DID, "600100201", START + timedelta(hours=10), "1763661600.1")
    (pbx.spool / link.relpath).symlink_to(outside)
    pbx.log(link, src="600100201", dst="201", clid="600100201")
    return pbx


def outcome(vault: Vault) -> tuple[dict[str, tuple[object, ...]], list[tuple[str, str]]]:
    """What a pass came to: each stored call's facts and bytes' digest, and each problem."""
    calls = {uid: (call.caller, call.callee, call.direction, call.start_at, call.caller_written,
                   rec.sha256, rec.size) for uid, (call, rec) in stored_calls(vault).items()}
    with vault.reading() as s:
        problems = sorted((p.item, p.message) for p in s.execute(select(PhoneProblem)).scalars())
    return calls, problems


def scanned(tmp_path: Path, name: str, url: str) -> tuple[Vault, Pbx]:
    vault = make_vault(tmp_path / name / "vault", "boleslawiec", url)
    pbx = busy_day(tmp_path / name)
    add_line(vault, pbx)
    scan(vault, "centrala", sleep=no_sleep, now=utc(START) + timedelta(days=1))
    return vault, pbx


def test_checks_ahead_in_the_side_process_are_the_threads_checks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # on SQLite: the checks touch no database, and the two vaults compared are two files
    sent: list[int] = []
    real = side_process.submit

    def counted(kind: str, *args: Any) -> Future[Any]:
        if kind == "phone-facts":
            sent.append(len(args[3]))
        return real(kind, *args)

    monkeypatch.setattr(side_process, "submit", counted)
    ahead, _ = scanned(tmp_path, "ahead", "")
    # every file the look found, but the link it refused and the sidecars
    assert sum(sent) == CALLS + 5 and side_process.pids("phone-facts"), sent
    monkeypatch.setattr(format_checks, "FROM_FILES", 10 ** 9)
    sent.clear()
    here, _ = scanned(tmp_path, "here", "")
    assert sent == []
    try:
        calls, problems = outcome(ahead)
        assert (calls, problems) == outcome(here)
        assert len(calls) == CALLS + 3
        reasons = "\n".join(message for _, message in problems)
        assert "symbolic link" in reasons and "not a WAV file" in reasons, reasons
        assert any("Józefa 🙂" in item for item, _ in problems), problems
    finally:
        ahead.close()
        here.close()


def test_a_helper_killed_mid_pass_leaves_the_rest_to_the_threads(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
        ) -> None:
    real = side_process.submit
    chunks = [0]

    def killing(kind: str, *args: Any) -> Future[Any]:
        future = real(kind, *args)
        if kind == "phone-facts":
            chunks[0] += 1
            if chunks[0] == 2:  # the first chunk sent, the second on its way: killed
                [pid] = side_process.pids(kind)
                os.kill(pid, signal.SIGKILL)
        return future

    monkeypatch.setattr(side_process, "submit", killing)
    vault, _ = scanned(tmp_path, "killed", "")
    try:
        calls, problems = outcome(vault)
        assert len(calls) == CALLS + 3
        assert len(problems) == 3, problems  # the unknown name, the page, the link
    finally:
        vault.close()
    assert chunks[0] >= 2
    assert "the rest of the pass is checked by threads" in caplog.text


def test_a_helper_that_stops_answering_is_ended_and_the_threads_go_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
        ) -> None:
    """A helper stopped (SIGSTOP: a debugger, the kernel's freezer) never answers; the pass
    waits for it no longer than the chunk's deadline, ends it, and checks the rest itself."""
    monkeypatch.setattr(format_checks, "CHUNK_DEADLINE_S", 0.5)
    real = side_process.submit
    stopped: list[int] = []

    def stopping(kind: str, *args: Any) -> Future[Any]:
        future = real(kind, *args)
        if kind == "phone-facts" and not stopped:
            [pid] = side_process.pids(kind)
            os.kill(pid, signal.SIGSTOP)
            stopped.append(pid)
        return future

    monkeypatch.setattr(side_process, "submit", stopping)
    try:
        vault, _ = scanned(tmp_path, "stopped", "")
    finally:
        for pid in stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    try:
        calls, problems = outcome(vault)
        assert len(calls) == CALLS + 3
        assert len(problems) == 3, problems
    finally:
        vault.close()
    assert "no answer in 0.5 s" in caplog.text
    assert "the rest of the pass is checked by threads" in caplog.text
    deadline = time.monotonic() + 30  # the reader sees the killed child's pipe close
    while stopped[0] in side_process.pids("phone-facts") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stopped and stopped[0] not in side_process.pids("phone-facts")
