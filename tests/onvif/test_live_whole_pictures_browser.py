"""Whole pictures from every camera, as Chromium shows them (issue 65 item 2). The finding: the
tests' own camera sends each picture in two slices, with the SPS and PPS again before the
second slice of a key frame; the fMP4 live view showed 55 % of every frame pure green. Here the
camera's sub-stream is, in turn, x264 with 1, 2, 4 and 8 slices a picture, with B-frames and
without, in the Baseline, Main and High profiles, GStreamer's x264enc as the tests' camera
encodes, and a conformance stream of another encoder (tests/corpus/h264), each served over
RTSP by GStreamer. Through the whole path — the ONVIF camera's live view, the relay, the web
app's gate, player.js and Media Source Extensions (or hls.js for the HLS fallback) — the
frames Chromium presents are read back from a canvas and each must be one of the encoder's
own pictures (ffmpeg's decode of the clip), by PSNR: a frame with half of it green fails by
15 dB and more. The codec MSE is asked for is the stream's own profile and level, read from
its SPS."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select
from tests.onvif.test_onvif_live_stream import chromium
from tests.onvif.test_onvif_live_view import camera, office_at  # noqa: F401 - fixture
from tests.support.h264_clips import (
    SVA_CL1_E,
    WHOLE_DB,
    Encoding,
    best_match,
    clip,
    codec_of,
    decoded,
    reference,
    sent,
)
from tests.support.live_page import sign_in, start_live_view
from tests.support.onvif_camera import OnvifCamera, free_port, ipycam_available
from tests.support.rtsp import RtspServer, gst_available, gst_skip_reason
from tests.web.web_helpers import PASSWORD

from kustosz.db.cameras import CameraDevice
from kustosz.vault import Vault
from kustosz.web.server import WebServer

pytestmark = [pytest.mark.skipif(not ipycam_available(), reason="ipycam is not installed"),
              pytest.mark.skipif(not gst_available(), reason=gst_skip_reason())]

TWO = Encoding(2, 0, "baseline")  # the finding's: two slices a picture
CASES = [(e, "stream") for e in (
    Encoding(1, 0, "baseline"), TWO, Encoding(2, 0, "baseline", "gst"),
    Encoding(2, 2, "high"), Encoding(4, 2, "main"), Encoding(4, 0, "high"),
    Encoding(8, 2, "high"), Encoding(8, 0, "main"), SVA_CL1_E)] + [
    (e, "hls") for e in (TWO, Encoding(8, 2, "high"))]
# Frames read back from the first one shown, this far apart: a viewer's first seconds,
# from the key frame it joined at (where a picture cut in two showed first).
FRAMES, GAP_MS = 6, 200

# Every MediaSource buffer the page opens, with the type it asked for (player.js: from the
# stream's avcC; hls.js: from its SPS).
WATCH_TYPES = """(() => {
  const add = MediaSource.prototype.addSourceBuffer;
  MediaSource.prototype.addSourceBuffer = function (type) {
    (window.kustoszTypes = window.kustoszTypes || []).push(type);
    return add.call(this, type);
  };
})();"""

# FRAMES frames as presented, drawn on a canvas from requestVideoFrameCallback (the frame
# being shown), GAP_MS apart; RGBA, base64. Bounded: rejected after 30 s.
CAPTURE = """([count, gap]) => new Promise((resolve, reject) => {
  const v = document.getElementById("player");
  const c = document.createElement("canvas");
  c.width = v.videoWidth; c.height = v.videoHeight;
  const g = c.getContext("2d", { willReadFrequently: true });
  const out = [];
  let last = -1e9;
  const timer = setTimeout(() => reject(new Error("frames: " + out.length)), 30000);
  const take = (now, meta) => {
    if (now - last >= gap) {
      last = now;
      g.drawImage(v, 0, 0, c.width, c.height);
      const d = g.getImageData(0, 0, c.width, c.height).data;
      let s = "";
      for (let i = 0; i < d.length; i += 0x8000) {
        s += String.fromCharCode.apply(null, d.subarray(i, i + 0x8000));
      }
      out.push({ w: c.width, h: c.height, t: meta.mediaTime, rgba: btoa(s) });
    }
    if (out.length >= count) { clearTimeout(timer); resolve(out); return; }
    v.requestVideoFrameCallback(take);
  };
  v.requestVideoFrameCallback(take);
})"""


@pytest.fixture(scope="module")
def clips() -> RtspServer:
    return RtspServer(mounts=len(CASES), clip=[sent(e) for e, _ in CASES], shared=False,
                      start=False)


@pytest.fixture(scope="module")
def served(camera: tuple[OnvifCamera, RtspServer], clips: RtspServer,  # noqa: F811
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Vault, WebServer]]:
    vault = office_at(camera[0], tmp_path_factory.mktemp("whole") / "vault")
    server = WebServer(vault, "127.0.0.1", free_port())
    server.start()
    try:
        with clips:
            yield vault, server
    finally:
        server.stop()
        vault.close()


@pytest.fixture(scope="module")
def signed_in(served: tuple[Vault, WebServer]) -> Iterator[Any]:
    """A browser context signed in as `ola`, who may watch the camera live."""
    with chromium() as browser:
        context = browser.new_context()
        context.add_init_script(WATCH_TYPES)
        page = context.new_page()
        sign_in(page, served[1].url.rstrip("/"), "ola", PASSWORD)
        page.close()
        yield context
        context.close()


def _watch(vault: Vault, web: WebServer, url: str) -> None:
    """The camera's live view now comes from ``url``; its running relay stopped."""
    with vault.transaction() as s:
        device = s.execute(select(CameraDevice)).scalar_one()
        device.live_url = url
        source_id = device.source_id
    web.relays.drop(source_id)


def _shown(page: Any) -> list[np.ndarray]:
    """The frames presented, RGB."""
    frames = page.evaluate(CAPTURE, [FRAMES, GAP_MS])
    return [np.frombuffer(base64.b64decode(f["rgba"]), np.uint8).reshape(f["h"], f["w"], 4)
            [..., :3] for f in frames]


@pytest.mark.parametrize(("encoding", "mode"), CASES,
                         ids=[f"{e.name}-{m}" for e, m in CASES])
def test_chromium_shows_the_encoders_whole_pictures(
        encoding: Encoding, mode: str, served: tuple[Vault, WebServer], clips: RtspServer,
        signed_in: Any) -> None:
    vault, web = served
    _watch(vault, web, clips.url(CASES.index((encoding, mode)) + 1))
    page = signed_in.new_page()
    try:
        start_live_view(page, web.url.rstrip("/"), "hol-onvif", "sprawdzenie obrazu",
                        refuse_stream=mode == "hls")
        page.wait_for_function(
            "() => document.getElementById('player').currentTime > 0", timeout=60_000)
        assert page.get_attribute("#player", "data-mode") == (
            "stream" if mode == "stream" else None)
        shown = _shown(page)
        types = page.evaluate("() => window.kustoszTypes || []")
    finally:
        page.close()
    refs = reference(clip(encoding))
    scores = [best_match(frame, refs) for frame in shown]
    assert min(db for _, db in scores) >= WHOLE_DB, scores
    assert len({i for i, _ in scores}) > 1, scores  # it plays: not one picture held
    codec = codec_of(clip(encoding))
    assert any(codec in t for t in types), (codec, types)


def test_a_half_green_frame_fails_the_comparison() -> None:
    """The measure itself: the encoder's picture with half of it green (what the finding
    saw) is far from every picture of the clip."""
    frames = list(decoded(clip(TWO)))
    refs = reference(clip(TWO))
    whole = frames[7].to_ndarray(format="rgb24")
    half = whole.copy()
    half[: half.shape[0] // 2] = (0, 135, 0)  # an empty macroblock (YUV 0, 0, 0) as drawn
    at, db = best_match(whole, refs)
    assert at == 7 and db > WHOLE_DB + 10, (at, db)
    assert best_match(half, refs)[1] < WHOLE_DB - 10, best_match(half, refs)


def test_the_cases_cover_slices_b_frames_and_profiles() -> None:
    x264 = [e for e, _ in CASES if e.encoder == "x264"]
    assert {e.slices for e in x264} == {1, 2, 4, 8}
    assert {e.bframes > 0 for e in x264} == {True, False}
    assert {e.profile for e in x264} == {"baseline", "main", "high"}
    assert {m for _, m in CASES} == {"stream", "hls"}
    assert any(e.encoder == "gst" for e, _ in CASES)
    assert any(Path(e.encoder).suffix == ".264" for e, _ in CASES)
