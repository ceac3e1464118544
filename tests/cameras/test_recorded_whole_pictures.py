"""Whole pictures in the recording (issue 65): a camera that sends its SPS and PPS again
between the slices of a key frame, as GStreamer's RTP payloader does, served over RTSP by the
tests' GStreamer camera and recorded by Kustosz's own recorder. ffmpeg's H.264 parser ends a
picture at a parameter set, so the recorder used to store each key frame cut in two: a
picture of its own with its lower part missing (drawn green or grey) and the rest on nothing,
and the P-frames after it built on the hole until the next key frame. Every picture decoded
from every stored segment must be one of the encoder's own pictures, bit for bit."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import av
import pytest
from camera_helpers import index_matches_files, register_camera, stored, wait_for
from tests.support.h264_clips import SVA_CL1_E, Encoding, clip, decoded, sent, y_planes
from tests.support.rtsp import RtspServer, gst_available, gst_skip_reason

from kustosz.ingest.camera.recorder import RecorderOptions
from kustosz.ingest.camera.recorder_pair import RecorderPair
from kustosz.ingest.camera.supervisor import RecorderPool
from kustosz.vault import Vault

pytestmark = pytest.mark.skipif(not gst_available(), reason=gst_skip_reason())
FAST = RecorderOptions(backoff_initial_s=0.5, backoff_max_s=2.0, measure_clock=False)
# One slice a picture (nothing to cut: as before), two (the finding's), four and eight with
# B-frames (the cut broke the time stamps' order: a segment that did not open), the tests' own
# camera's encoder (GStreamer's x264enc) and a conformance stream of another encoder.
CASES = [Encoding(1, 0, "baseline"), Encoding(2, 0, "baseline"), Encoding(4, 2, "main"),
         Encoding(8, 2, "high"), Encoding(2, 0, "baseline", "gst"), SVA_CL1_E]


def _segment(path: Path) -> tuple[int, list[bytes]]:
    """The segment's video packets, and a digest of each picture it decodes to."""
    with av.open(str(path)) as container:
        packets = sum(1 for p in container.demux(video=0) if p.size)
    with av.open(str(path)) as container:
        pictures = [hashlib.sha256(y.tobytes()).digest()
                    for y in y_planes(_frames(container))]
    return packets, pictures


def _frames(container: av.container.InputContainer) -> Iterator[av.VideoFrame]:
    yield from container.decode(video=0)


@pytest.mark.parametrize("encoding", CASES, ids=lambda e: e.name)
def test_every_recorded_picture_is_the_cameras_whole_picture(site_vault: Vault,
                                                             encoding: Encoding) -> None:
    own = {hashlib.sha256(y.tobytes()).digest() for y in y_planes(decoded(clip(encoding)))}
    with RtspServer(clip=sent(encoding), shared=False) as srv:
        cam = register_camera(site_vault, "hol", srv.url(), segment=2.0)
        pool = RecorderPool(site_vault, options=FAST)
        pool.reconcile()
        try:
            wait_for(lambda: len(stored(site_vault)) >= 3, 40, "three segments",
                     shown=lambda: len(stored(site_vault)))
            joined = isinstance(pool.recorders[cam.source_id].proc, RecorderPair)
        finally:
            pool.stop_all()
    # only a camera whose key frames come cut pays for the second ffmpeg
    assert joined == (encoding.slices > 1)
    recs = stored(site_vault)
    shown, packets, strange = 0, 0, []
    for rec in recs:
        count, pictures = _segment(site_vault.storage.path(rec.storage_key))
        packets += count
        shown += len(pictures)
        strange += [(rec.storage_key, i) for i, p in enumerate(pictures) if p not in own]
    # 15 pictures a second: a key frame cut in two is one packet (and one picture) more
    assert shown >= 30 and not strange, (shown, len(strange), strange[:5])
    assert packets == shown
    index_matches_files(site_vault)
