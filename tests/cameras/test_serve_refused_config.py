"""Issue 64 item 6: serve never starts into nothing. A kustosz.toml refused on reload followed by
a crash used to leave every start exiting with status 2 (9 starts in 60 s, 0 segments) and
nobody told. Here the real `kustosz serve` records a real camera (the GStreamer RTSP server of
tests/support), a refused edit is reloaded (SIGHUP) and its alert says what the next start
will do, serve is killed (SIGKILL) with the refused file in place and started again: it
records on the last configuration it accepted (kustosz.toml.last-good), with a high alert
naming the file's line and reason, and `config check` and `doctor` say what it runs on. With
no last good copy it records on defaults for what the vault holds, and says so."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.cameras.camera_helpers import register_camera, stored, wait_for
from tests.conftest import Cli
from tests.support.rtsp import RtspServer, gst_available, gst_skip_reason
from tests.test_serve_watchdog import cli_env

from kustosz.alert_kinds import kind_of
from kustosz.alerts.messages import ERRORS
from kustosz.config_keep import read_kept
from kustosz.db.models import Alert, AuditEntry
from kustosz.states import AlertRow
from kustosz.vault import Vault

pytestmark = pytest.mark.skipif(not gst_available(), reason=gst_skip_reason())
GOOD_LINE = "interval_minutes = 15"
BAD_LINE = 'interval_minutes = "co kwadrans — Józef Żółć 🎥"'


def _start(root: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "kustosz", "--data", str(root), "serve",
                                 "--port", "0"], env=cli_env(), stdin=subprocess.DEVNULL,
                                stdout=out, stderr=out)


def _stop(proc: subprocess.Popen[bytes]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    return proc.wait(60)


def _open(vault: Vault) -> list[Alert]:
    with vault.reading() as s:
        return list(s.execute(select(Alert).where(
            Alert.kind == AlertRow.CONFIG_RELOAD_FAILED, Alert.cleared_at.is_(None))).scalars())


def _entries(vault: Vault, action: str) -> list[dict[str, object]]:
    with vault.reading() as s:
        return [json.loads(d or "{}") for d in s.execute(
            select(AuditEntry.details).where(AuditEntry.action == action)
            .order_by(AuditEntry.seq)).scalars()]


def _line(text: str, starts: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith(starts))


def _more_segments(vault: Vault, source_id: int, than: int, log: Path,
                   proc: subprocess.Popen[bytes]) -> None:
    def grown() -> bool:
        assert proc.poll() is None, f"serve exited {proc.returncode}: {log.read_text()[-3000:]}"
        return len(stored(vault, source_id)) >= than + 3
    wait_for(grown, 60, f"three segments more than {than}", lambda: log.read_text()[-2000:])


def test_a_refused_file_and_a_kill_leave_serve_recording_on_the_last_good_one(
        site_vault: Vault, tmp_path: Path) -> None:
    root, log = site_vault.root, tmp_path / "serve.log"
    config = root / "kustosz.toml"
    good = config.read_text("utf-8")
    assert good.count(GOOD_LINE) == 1
    bad = good.replace(GOOD_LINE, BAD_LINE)
    line = _line(bad, "interval_minutes")
    kept = root / "kustosz.toml.last-good"
    with RtspServer(audio=False, shared=False) as srv:
        cam = register_camera(site_vault, "hol", srv.url())
        proc = _start(root, log)
        try:
            _more_segments(site_vault, cam.source_id, 0, log, proc)
            # what serve accepted, kept beside the file, owned and moded like it
            wait_for(kept.exists, 30, "kustosz.toml.last-good")
            assert read_kept(kept) == good.encode()
            assert os.stat(kept).st_mode == os.stat(config).st_mode
            # A refused edit, reloaded: nothing changes, and the alert says what a start
            # would do now.
            config.write_text(bad, "utf-8")
            proc.send_signal(signal.SIGHUP)
            (alert,) = wait_for(lambda: _open(site_vault), 30, "the refused reload's alert")
            assert alert.message.startswith("Nie wczytano zmian pliku kustosz.toml")
            assert f"(wiersz {line})" in alert.message and "interval_minutes" in alert.message
            assert "wystartuje z ostatnich zaakceptowanych ustawień" in alert.message
            assert str(kept) in alert.message
            (refused,) = _entries(site_vault, "config.reload_failed")
            assert refused["next_start"] == "last-good", refused
            assert "starts on the last configuration accepted" in log.read_text()
            # The crash, with the refused file in place; then the start systemd makes.
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
            before = len(stored(site_vault, cam.source_id))
            proc = _start(root, log)
            _more_segments(site_vault, cam.source_id, before, log, proc)
            (alert,) = _open(site_vault)
            assert kind_of(alert.kind).key in ERRORS  # told as an error: high
            assert alert.message.startswith(
                "Usługa Kustosz uruchomiła się z ostatnich zaakceptowanych ustawień"), \
                alert.message
            assert f"(wiersz {line})" in alert.message and str(kept) in alert.message
            (started,) = _entries(site_vault, "config.start_fallback")
            assert started["in_force"] == "last-good" and started["file"] == str(kept)
            assert started["refused"][0]["line"] == line  # type: ignore[index]
            # config check and doctor say that serve does not run on the file
            checked = Cli(root)("config", "check", ok=False)
            assert checked.exit_code == 1
            assert "nie działa według tego pliku" in checked.output
            assert str(kept) in checked.output and f"wiersz {line}" in checked.output
            doctor = Cli(root)("doctor", "--json", ok=False)
            (check,) = [c for c in json.loads(doctor.stdout)["checks"]
                        if c["check"] == "config"]
            assert check["status"] == "FAIL" and str(kept) in check["detail"], check
            assert str(kept) in check["pl"], check
            # The file mended and reloaded: in force, kept, the alert cleared.
            mended = good.replace(GOOD_LINE, "interval_minutes = 20")
            config.write_text(mended, "utf-8")
            proc.send_signal(signal.SIGHUP)
            wait_for(lambda: not _open(site_vault), 30, "the alert cleared by the reload")
            wait_for(lambda: read_kept(kept) == mended.encode(), 30, "the mended file kept")
            assert "nie działa według" not in Cli(root)("config", "check").output
            _more_segments(site_vault, cam.source_id, len(stored(site_vault, cam.source_id)),
                           log, proc)
        finally:
            code = _stop(proc)
    said = log.read_text()
    assert code == 0, said[-3000:]
    assert "Traceback" not in said, said[-3000:]


def test_without_a_last_good_copy_serve_records_on_defaults_and_says_so(
        site_vault: Vault, tmp_path: Path) -> None:
    root, log = site_vault.root, tmp_path / "serve.log"
    config = root / "kustosz.toml"
    good = config.read_text("utf-8")
    with RtspServer(audio=False, shared=False) as srv:
        cam = register_camera(site_vault, "hol", srv.url())
        proc = _start(root, log)  # serve ran once on the file: the database notes its rules
        try:
            _more_segments(site_vault, cam.source_id, 0, log, proc)
        finally:
            assert _stop(proc) == 0, log.read_text()[-3000:]
        (root / "kustosz.toml.last-good").unlink()
        broken = good.replace("[retention]", "[retention", 1)  # not TOML at all
        config.write_text(broken, "utf-8")
        line = _line(broken, "[retention")
        before = len(stored(site_vault, cam.source_id))
        proc = _start(root, log)
        try:
            _more_segments(site_vault, cam.source_id, before, log, proc)
            (alert,) = _open(site_vault)
            assert alert.message.startswith("Usługa Kustosz uruchomiła się bez pliku "
                                            "kustosz.toml"), alert.message
            assert f"(wiersz {line})" in alert.message
            assert "ustawieniami domyślnymi" in alert.message
            assert "jak przy ostatnim uruchomieniu (zestawu „pleszew”" in alert.message
            (started,) = _entries(site_vault, "config.start_fallback")
            assert started["in_force"] == "defaults" and started["rules"] == "noted"
            assert site_vault.policy.preset == "pleszew"
        finally:
            code = _stop(proc)
    said = log.read_text()
    assert code == 0, said[-3000:]
    assert "Traceback" not in said, said[-3000:]
