"""`kustosz demo` as a newcomer runs it, the real process (issue 65 item 5): its camera has a
sub-stream, registered as an ONVIF camera's live-view profile is — the main stream recorded,
a lighter picture watched live — so the demo's live view is the fragmented-MP4 stream into
Media Source Extensions (web/media_live_stream.py), not a 404 and a console error before the
HLS fallback of the recorded stream; and SIGHUP (the documented reload) reloads the running
demo's kustosz.toml exactly as it does serve's, the process living on."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from sqlalchemy import select

from kustosz.db.models import AuditEntry
from kustosz.vault import Vault
from tests.a11y.a11y_site import ARGS, BROWSER_ENV, CHROMIUM
from tests.cameras.camera_helpers import wait_for
from tests.support.live_page import open_live_page
from tests.test_serve_watchdog import cli_env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Demo:
    proc: subprocess.Popen[bytes]
    folder: Path
    log: Path
    base: str

    def said(self) -> str:
        return " ".join(self.log.read_text(errors="replace").split())

    def password(self) -> str:
        return self.said().split("everyone's password: ")[1].split()[0]

    @property
    def data(self) -> Path:
        return self.folder / "demo-data"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    folder = tmp_path_factory.mktemp("demo")
    port = _free_port()
    log = folder / "demo.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "kustosz", "demo", "--port", str(port)],
                                cwd=folder, env={**cli_env(), "COLUMNS": "200"},
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    running = Demo(proc, folder, log, f"http://127.0.0.1:{port}")
    try:
        wait_for(lambda: proc.poll() is not None or f"127.0.0.1:{port}/" in running.said(),
                 240, "the demo's web address", shown=running.said)
        assert proc.poll() is None, running.said()
        wait_for(lambda: _answers(running.base), 60, "the demo's web app")
        yield running
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/login", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS,
                                    env=BROWSER_ENV)
        try:
            yield browser
        finally:
            browser.close()


# The share of the frame the player presents that is pure green (what a decoder shows where a
# slice never arrived), drawn through a canvas.
GREEN_SHARE = """() => {
  const v = document.getElementById('player'), c = document.createElement('canvas');
  c.width = v.videoWidth; c.height = v.videoHeight;
  const x = c.getContext('2d'); x.drawImage(v, 0, 0);
  const d = x.getImageData(0, 0, c.width, c.height).data;
  let g = 0;
  for (let i = 0; i < d.length; i += 4) { if (d[i + 1] > 120 && d[i] < 40 && d[i + 2] < 40) g++; }
  return g / (d.length / 4);
}"""


def _first_frame(body: bytes) -> av.VideoFrame:
    with av.open(io.BytesIO(body), format="mp4") as container:
        assert not container.streams.audio  # R1.3: the sound was never asked for
        frame: av.VideoFrame = next(container.decode(video=0))
        return frame


def test_the_demos_live_view_is_the_fmp4_stream_of_its_sub_stream(demo: Demo) -> None:
    with chromium() as browser:
        page = browser.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        statuses: list[int] = []
        page.on("response", lambda r: statuses.append(r.status)
                if r.url.endswith("/live.mp4") else None)
        open_live_page(page, demo.base, "przegladajacy", demo.password(), "kamera-demo",
                       "sprawdzenie podglądu — Józef Żółć 📹")
        page.wait_for_function("() => document.getElementById('player').currentTime > 2",
                               timeout=90_000)
        # the Media Source Extensions path, never the HLS fallback
        assert page.get_attribute("#player", "data-mode") == "stream", statuses
        assert page.get_attribute("#player", "data-error") is None
        assert statuses and set(statuses) == {200}, statuses
        # played at the live edge of what arrives: the picture is within a second of the
        # newest frame received (HLS of the recorded stream ran ~10 s behind)
        behind = []
        for _ in range(5):
            page.wait_for_timeout(300)
            behind.append(float(page.evaluate(
                "() => { const v = document.getElementById('player');"
                " return v.buffered.end(v.buffered.length - 1) - v.currentTime; }")))
        assert sorted(behind)[2] < 1.0, behind
        # the picture whole: no part of the frame left undecoded (pure green)
        green = float(page.evaluate(GREEN_SHARE))
        assert green < 0.01, green
        # the same stream, read as bytes: fMP4 from a key frame, the lighter sub-stream
        stream = page.get_attribute("#player", "data-stream")
        cookies = {c["name"]: c["value"] for c in page.context.cookies()}
        got = b""
        with httpx.Client(cookies=cookies, timeout=60) as h, \
                h.stream("GET", f"{demo.base}{stream}") as r:
            assert r.status_code == 200 and r.headers["content-type"] == "video/mp4"
            for chunk in r.iter_bytes():
                got += chunk
                if len(got) >= 60_000:
                    break
        assert got[4:8] == b"ftyp"
        frame = _first_frame(got)
        assert frame.key_frame
        assert (frame.width, frame.height) == (320, 180)  # the main stream is 640×360
        page.close()
    assert errors == [], errors


def _audited(data: Path, action: str) -> list[dict[str, Any]]:
    vault = Vault.open(data, actor="test")
    try:
        with vault.reading() as s:
            return [json.loads(d or "{}") for d in s.execute(
                select(AuditEntry.details).where(AuditEntry.action == action)
                .order_by(AuditEntry.seq)).scalars()]
    finally:
        vault.close()


def _alive(demo: Demo) -> bool:
    assert demo.proc.poll() is None, f"the demo ended ({demo.proc.returncode}): {demo.said()}"
    return True


def test_sighup_reloads_the_running_demo_and_it_lives_on(demo: Demo) -> None:
    """The documented reload (`kill -HUP`), tried on the demo as a newcomer would: a changed
    [cameras] table is put in force (what that changes: tests/test_serve_reload.py) and the
    log says so, never "nothing changed" nor "needs a restart"."""
    config = demo.data / "kustosz.toml"
    config.write_text(config.read_text() + '\n[cameras]\nnetworks = ["127.0.0.0/8"]\n'
                      "clock_limit_seconds = 5\n")
    before = len(_audited(demo.data, "config.reloaded"))
    os.kill(demo.proc.pid, signal.SIGHUP)
    reloaded = wait_for(lambda: _alive(demo) and _audited(demo.data, "config.reloaded")[before:],
                        60, "the reload in the audit log", shown=demo.said)
    assert isinstance(reloaded, list)
    assert reloaded[0]["applied"] == ["cameras"] and reloaded[0]["restart"] == []
    said = wait_for(lambda: (lambda t: t if "kustosz.toml reloaded" in t else None)(
        demo.said()), 30, "the reload's line", shown=demo.said)
    assert isinstance(said, str)
    line = said[said.index("kustosz.toml reloaded"):][:200]
    assert "in force now: cameras" in line, line
    assert "nothing changed" not in line and "restart" not in line, line
    assert demo.proc.poll() is None, demo.said()
    assert _answers(demo.base)
