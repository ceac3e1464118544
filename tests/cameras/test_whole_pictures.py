"""Whole pictures from every camera (issue 65 item 2), without a browser: a camera's stream of
1 to 8 slices a picture, with B-frames and without, in the Baseline, Main and High profiles,
sent as GStreamer's RTP payloader sends it (the SPS and PPS again before every slice of a key
frame), goes through ffmpeg as the live relay runs it and through the relay's reader; each
picture a viewer receives decodes to the very picture the encoder made — none cut in two,
none half green, none lost, none joined to the next."""

from __future__ import annotations

import dataclasses
import functools
import io
import queue
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import av
import imageio_ffmpeg
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.support.h264_clips import (
    SVA_CL1_E,
    Encoding,
    annexb,
    clip,
    decoded,
    decoded_mp4,
    mid_picture_parameter_sets,
    nal_units,
    psnr,
    y_planes,
)

from kustosz.ingest.camera import fmp4
from kustosz.ingest.camera.live_hls import PENDING, HlsFeed, hls_command
from kustosz.ingest.camera.live_relay import MP4_FLAGS, PART_S, PLAYLIST
from kustosz.ingest.camera.live_stream import END, LiveStream
from kustosz.ingest.camera.whole_pictures import WholePictures

MATRIX = [Encoding(slices, bframes, profile) for slices in (1, 2, 4, 8)
          for profile, bframes in (("baseline", 0), ("main", 0), ("main", 2), ("high", 0),
                                   ("high", 2))]
# GStreamer's x264enc as the tests' camera encodes, and a stream of another encoder
OTHERS = [Encoding(2, 0, "baseline", "gst"), SVA_CL1_E]


def relay_mp4(stream: bytes) -> bytes:
    """ffmpeg's fragmented MP4 of an H.264 byte stream, with the live relay's fragmenting."""
    return subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error",
         "-f", "h264", "-r", "15", "-i", "pipe:0", "-c", "copy", "-f", "mp4",
         "-movflags", MP4_FLAGS, "pipe:1"],
        input=stream, check=True, capture_output=True, timeout=60).stdout  # fmt: skip


class Joining(io.BytesIO):
    """ffmpeg's pipe, with a viewer joining the stream as soon as it can (its first key
    frame), as the web app's live.mp4 does."""

    def __init__(self, data: bytes, stream: LiveStream) -> None:
        super().__init__(data)
        self.stream, self.viewer = stream, None

    def read(self, n: int | None = -1) -> bytes:
        if self.viewer is None:
            self.viewer = self.stream.join()
        return super().read(n)


def viewed(mp4: bytes) -> bytes:
    """What a viewer of the relay's stream receives, from the first key frame to the end."""
    stream = LiveStream()
    pipe = Joining(mp4, stream)
    stream.read(pipe)
    assert pipe.viewer is not None, "the viewer never joined"
    got = []
    while True:
        try:
            chunk = pipe.viewer.get_nowait()
        except queue.Empty:
            break
        if chunk == END:
            break
        got.append(chunk)
    return b"".join(got)


@pytest.mark.parametrize("encoding", MATRIX + OTHERS, ids=lambda e: e.name)
def test_every_picture_a_viewer_gets_is_the_encoders_whole_picture(encoding: Encoding) -> None:
    folder = clip(encoding)
    refs = y_planes(decoded(folder))
    shown = decoded_mp4(viewed(relay_mp4(mid_picture_parameter_sets(annexb(folder)))))
    # decoded from the same bytes: each picture exactly the encoder's, in order
    unlike = [(i, round(psnr(a.astype(float), b.astype(float)), 1))
              for i, (a, b) in enumerate(zip(shown, refs, strict=False))
              if not np.array_equal(a, b)]
    assert len(shown) == len(refs) and not unlike, (len(shown), len(refs), unlike[:10])


@functools.cache
def _whole(encoding: Encoding) -> tuple[fmp4.Track, list[fmp4.Sample]]:
    """The encoder's pictures as ffmpeg's samples (no parameter sets mid-picture: whole)."""
    return _samples(relay_mp4(annexb(clip(encoding))))


def _samples(mp4: bytes) -> tuple[fmp4.Track, list[fmp4.Sample]]:
    track, out, i = None, [], 0
    moof = b""
    while i < len(mp4):
        size, kind = int.from_bytes(mp4[i:i + 4], "big"), mp4[i + 4:i + 8]
        body = mp4[i:i + size]
        if kind == b"moov":
            track = fmp4.track_of(body[8:])
        elif kind == b"moof":
            moof = body
        elif kind == b"mdat":
            assert track is not None
            out += fmp4.samples(moof + body, track)
        i += size
    assert track is not None
    return track, out


def _units(data: bytes) -> list[bytes]:
    out, i = [], 0
    while i < len(data):
        n = int.from_bytes(data[i:i + 4], "big")
        out.append(data[i + 4:i + 4 + n])
        i += 4 + n
    return out


def _sample(units: list[bytes], like: fmp4.Sample, duration: int) -> fmp4.Sample:
    data = b"".join(len(u).to_bytes(4, "big") + u for u in units)
    return fmp4.Sample(like.decode_time, duration, like.flags, like.composition_offset, data)


@settings(max_examples=60, deadline=None)
@given(encoding=st.sampled_from(MATRIX[5:]), cuts=st.lists(st.booleans(), min_size=400,
                                                            max_size=400))
def test_any_cut_between_slices_is_joined_and_no_two_pictures_are(
        encoding: Encoding, cuts: list[bool]) -> None:
    """The rule itself, over any way of cutting pictures between their slices (and the
    parameter sets written again at each cut): the pictures come out as the encoder made
    them, each whole, none joined to another."""
    track, whole = _whole(encoding)
    pieces, k = [], 0
    for sample in whole:
        units, part = _units(sample.data), []
        for unit in units:
            if unit[0] & 0x1F in (1, 5) and any(u[0] & 0x1F in (1, 5) for u in part):
                k += 1
                if cuts[k % len(cuts)]:
                    pieces.append(_sample(part, sample, 0))
                    part = list(track.parameter_sets)
            part.append(unit)
        pieces.append(_sample(part, sample, sample.duration))
    whole = [dataclasses.replace(w) for w in whole]  # the joining appends to its samples
    joined = WholePictures(track)
    out = [s for p in pieces for s in joined.push(p)] + list(joined.flush())
    assert len(out) == len(whole)
    for got, want in zip(out, whole, strict=True):
        slices = [u for u in _units(got.data) if u[0] & 0x1F in (1, 5)]
        assert slices == [u for u in _units(want.data) if u[0] & 0x1F in (1, 5)]
        assert (got.decode_time, got.duration, got.key) == (want.decode_time, want.duration,
                                                             want.key)


def test_the_parameter_sets_are_written_again_mid_picture() -> None:
    """The helper makes what the finding saw: SPS and PPS between a key frame's slices."""
    stream = mid_picture_parameter_sets(annexb(clip(Encoding(2, 0, "baseline"))))
    kinds = [n[0] & 0x1F for n in nal_units(stream)]
    assert [k for k in kinds if k in (5, 7, 8)][:6] == [7, 8, 5, 7, 8, 5], kinds[:12]


@pytest.mark.parametrize("encoding", [MATRIX[5], MATRIX[19], SVA_CL1_E], ids=lambda e: e.name)
def test_the_hls_fallback_holds_the_same_whole_pictures(encoding: Encoding,
                                                        tmp_path: Path) -> None:
    """The HLS window written from the relay's pictures: every reader of its parts (ffmpeg
    here, hls.js and Safari for a viewer) gets the encoder's pictures, none cut again."""
    folder = clip(encoding)
    feed = HlsFeed(hls_command(imageio_ffmpeg.get_ffmpeg_exe(), PART_S, 100, PLAYLIST),
                   tmp_path, lambda: None)
    stream = LiveStream(sink=feed.feed)
    stream.read(io.BytesIO(relay_mp4(mid_picture_parameter_sets(annexb(folder)))))
    feed.close()
    assert feed.proc.wait(60) == 0
    parts = sorted(tmp_path.glob("live*.ts"), key=lambda p: int(p.stem[4:]))
    assert parts and (tmp_path / PLAYLIST).is_file()
    shown = [y for part in parts for y in y_planes(decoded_part(part))]
    refs = y_planes(decoded(folder))
    assert len(shown) == len(refs)
    assert all(np.array_equal(a, b) for a, b in zip(shown, refs, strict=True))


def decoded_part(part: Path) -> Iterator[av.VideoFrame]:
    with av.open(str(part)) as container:
        yield from container.decode(video=0)


def test_a_stalled_hls_writer_never_holds_the_viewers(tmp_path: Path) -> None:
    """An HLS ffmpeg that stops reading (here one that never does) is given up once its
    queue is full: feeding never blocks the relay's reader, and the process is ended."""
    feed = HlsFeed(["sleep", "60"], tmp_path, lambda: None)
    started = time.monotonic()
    for _ in range(PENDING + 50):
        feed.feed(b"\0" * 65536)
    assert time.monotonic() - started < 5
    assert feed.proc.wait(10) != 0  # killed, not left hanging
    feed.stop()


def _cut(track: fmp4.Track, whole: list[fmp4.Sample], cut: list[bool]) -> list[fmp4.Sample]:
    """Each picture of ``whole`` cut between its slices where ``cut`` says (one flag a
    picture), the parameter sets written again at each cut, as ffmpeg hands them on."""
    pieces = []
    for sample, cutting in zip(whole, cut, strict=True):
        units, part = _units(sample.data), []
        for unit in units:
            if cutting and unit[0] & 0x1F in (1, 5) and any(u[0] & 0x1F in (1, 5)
                                                             for u in part):
                pieces.append(_sample(part, sample, 0))
                part = list(track.parameter_sets)
            part.append(unit)
        pieces.append(_sample(part, sample, sample.duration))
    return pieces


def _slices(sample: fmp4.Sample) -> list[bytes]:
    return [u for u in _units(sample.data) if u[0] & 0x1F in (1, 5)]


@pytest.mark.parametrize("encoding", [MATRIX[5], MATRIX[19]], ids=lambda e: e.name)
def test_the_live_view_passes_a_picture_on_as_it_comes_and_holds_key_frames(
        encoding: Encoding) -> None:
    """Eager (the live view, issue 68): a picture other than a key frame goes on at the push
    that brings it, not one frame later; a key frame, the picture cameras cut, waits for the
    next push and comes out whole. Every picture as the encoder made it, in order."""
    track, whole = _whole(encoding)
    whole = [dataclasses.replace(w) for w in whole]
    assert any(w.key for w in whole) and any(not w.key for w in whole)
    pieces = _cut(track, [dataclasses.replace(w) for w in whole], [w.key for w in whole])
    joined = WholePictures(track, eager=True)
    out: list[fmp4.Sample] = []
    for piece in pieces:
        came = list(joined.push(piece))
        if not piece.key:  # (only key frames are cut here: every other piece is a picture)
            assert came and came[-1] is piece, "a picture other than a key frame was held"
        out += came
    out += joined.flush()
    assert [_slices(s) for s in out] == [_slices(w) for w in whole]
    assert [(s.decode_time, s.duration, s.key) for s in out] == [
        (w.decode_time, w.duration, w.key) for w in whole]


def test_a_camera_that_cuts_other_pictures_is_held_whole_after_the_first() -> None:
    """A stream that cuts a picture other than a key frame loses that one picture's wholeness
    in the live view (it went on before its rest came) and no other: from then on every
    picture is held until the next shows it complete, as the recorder does."""
    track, whole = _whole(MATRIX[5])  # 2 slices a picture, Main, no B-frames
    whole = [dataclasses.replace(w) for w in whole]
    first_p = next(i for i, w in enumerate(whole) if not w.key)
    cut = [w.key or i >= first_p for i, w in enumerate(whole)]
    joined = WholePictures(track, eager=True)
    out = [s for p in _cut(track, [dataclasses.replace(w) for w in whole], cut)
           for s in joined.push(p)] + list(joined.flush())
    want = [_slices(w) for w in whole]
    got = [_slices(s) for s in out]
    # the one cut picture comes out as its two pieces, every other whole
    assert got[:first_p] == want[:first_p]
    assert got[first_p] + got[first_p + 1] == want[first_p]
    assert got[first_p + 2:] == want[first_p + 1:]
