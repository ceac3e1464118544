"""The browser's floor for the live view (bench/live_latency.py, issue 68 item 8): the same
camera read by the relay's own ffmpeg command (`live_relay.relay_command`), its bytes passed on
as they leave the pipe by a bare HTTP server — no gate, no access record, no joining of
pictures, no relay — into a bare Media Source Extensions page in the same Chromium, which
appends each chunk as it comes and stays at the live edge with the player's own constants
(`CHASE_S`, `JUMP_S`, read from player.js). What this watcher shows late is the browser's MSE
path (its demuxing, decoding, play position and compositing) plus ffmpeg's fragmenting: the
part of the live view no server can take away."""

from __future__ import annotations

import re
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from kustosz.ffmpeg import ffmpeg_exe
from kustosz.ingest.camera.live_relay import relay_command

PLAYER_JS = Path(__file__).resolve().parents[1] / "src" / "kustosz" / "web" / "static" / \
    "player.js"


def edge_constants() -> tuple[float, float]:
    """CHASE_S and JUMP_S as player.js defines them: one definition, read, not copied."""
    m = re.search(r"var CHASE_S = ([0-9.]+), JUMP_S = ([0-9.]+);", PLAYER_JS.read_text())
    if m is None:
        raise SystemExit("player.js no longer defines CHASE_S and JUMP_S as this bench reads "
                         "them: update bench/_mse_floor.py")
    return float(m.group(1)), float(m.group(2))


PAGE = """<!doctype html><html lang="en"><meta charset="utf-8"><title>MSE floor</title>
<video id="player" muted playsinline></video>
<script>
(function () {
  var CHASE_S = %(chase)s, JUMP_S = %(jump)s;
  var video = document.getElementById("player"), ms = new MediaSource(), sb = null;
  var pending = [], head = new Uint8Array(0);
  var state = window.__floor = {bytes: 0, appends: 0, fetches: 0, error: null};
  function joined(a, b) { var c = new Uint8Array(a.length + b.length); c.set(a);
                          c.set(b, a.length); return c; }
  function codecOf(bytes) {
    for (var i = 4; i + 7 < bytes.length; i++) {
      if (bytes[i] === 0x61 && bytes[i + 1] === 0x76 && bytes[i + 2] === 0x63 &&
          bytes[i + 3] === 0x43) {
        var hex = function (b) { return ("0" + b.toString(16)).slice(-2); };
        return "avc1." + hex(bytes[i + 5]) + hex(bytes[i + 6]) + hex(bytes[i + 7]);
      }
    }
    return null;
  }
  function edge() {
    if (!sb || !video.buffered.length) { return; }
    var end = video.buffered.end(video.buffered.length - 1), behind = end - video.currentTime;
    if (behind > JUMP_S) { video.currentTime = Math.max(end - CHASE_S, 0); }
    video.playbackRate = behind > CHASE_S ? 1 + Math.min(behind - CHASE_S, 0.25) : 1;
  }
  function pump() {
    if (!sb || sb.updating || !pending.length) { return; }
    var chunk = pending.reduce(joined, new Uint8Array(0));
    pending = [];
    try { sb.appendBuffer(chunk); state.appends++; } catch (e) { state.error = String(e); }
  }
  function got(chunk) {
    state.bytes += chunk.length;
    if (sb) { pending.push(chunk); pump(); return; }
    head = joined(head, chunk);
    var codec = codecOf(head);
    if (!codec) { return; }
    sb = ms.addSourceBuffer('video/mp4; codecs="' + codec + '"');
    sb.mode = "segments";
    sb.addEventListener("updateend", function () { edge(); pump(); });
    pending.push(head);
    pump();
  }
  // A camera slow to answer (a busy machine) can end the first reading before its first
  // picture: asked again then, as the live page would, while nothing has been appended.
  function again() { if (!sb) { window.setTimeout(open, 500); } }
  function open() {
    state.fetches++;
    fetch("/stream", {cache: "no-store"}).then(function (r) {
      var reader = r.body.getReader();
      var read = function () {
        return reader.read().then(function (part) {
          if (part.done) { again(); return null; }
          got(part.value);
          return read();
        });
      };
      return read();
    }).catch(function (e) { state.error = String(e); again(); });
  }
  ms.addEventListener("sourceopen", open);
  window.setInterval(edge, 500);
  video.src = URL.createObjectURL(ms);
})();
</script></html>
"""


class _Handler(BaseHTTPRequestHandler):
    url = ""  # the camera's RTSP address, set on the server's own subclass

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        if self.path == "/":
            chase, jump = edge_constants()
            body = (PAGE % {"chase": chase, "jump": jump}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path == "/stream":
            self._stream()
        else:
            self.send_error(404)

    def _stream(self) -> None:
        argv, script = relay_command(ffmpeg_exe(), self.url)
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)
        assert proc.stdin is not None and proc.stdout is not None
        if script is not None:
            proc.stdin.write(script)
        proc.stdin.close()
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            while chunk := proc.stdout.read1(1 << 16):
                self.wfile.write(chunk)
                self.wfile.flush()
        except OSError:
            pass  # the page went away: the watcher's window is over
        finally:
            proc.kill()
            proc.wait()


@contextmanager
def bare_server(rtsp_url: str) -> Iterator[str]:
    """The floor's page and stream on a free port of 127.0.0.1: its address."""
    handler = type("Handler", (_Handler,), {"url": rtsp_url, "protocol_version": "HTTP/1.0"})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="mse-floor", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
