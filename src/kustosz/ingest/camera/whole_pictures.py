"""The live relay's samples joined back into whole pictures (issue 65 item 2): ffmpeg hands
on a camera's picture in two or more samples when parameter sets come between its slices
(h264_pictures.py says why); a sample whose first slice continues the picture before it is
appended to that one's sample, with its duration, so that every viewer and the HLS fallback
receive each picture whole, as one sample, at the time of its first part.

A sample is held until the next one shows that it is complete: one frame's interval (67 ms
at 15 frames a second) more on the way to the viewer. The live view (``eager``) holds only key
frames, the pictures cameras cut (their parameter sets come again before each slice), and
passes every other picture on as it comes (issue 68: the relay's share of glass to glass); a
stream that cuts another picture is held whole from then on, that one picture left as cut."""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterator
from typing import IO

from kustosz.ingest.camera import fmp4
from kustosz.ingest.camera.fmp4 import Sample, Track
from kustosz.ingest.camera.h264_pictures import VCL, Pictures

log = logging.getLogger(__name__)

MAX_BOX = 32 * 1024 * 1024  # a key frame of a main stream is ~0.1-2 MB; a box past this is junk


class WholePictures:
    """Samples in, in decoding order; whole pictures out, each sample once."""

    def __init__(self, track: Track, eager: bool = False) -> None:
        self._length = track.nal_length
        self._pictures = Pictures()
        for nal in track.parameter_sets:
            self._learn(nal)
        self._held: Sample | None = None
        self._eager = eager  # pictures other than key frames passed on at once

    def _learn(self, nal: bytes) -> bool:
        try:
            return self._pictures.learn(nal)
        except ValueError:  # a parameter set not read: its slices begin pictures (as cut)
            return False

    def _read(self, sample: Sample) -> tuple[bool, bytes]:
        """Whether the sample's first slice continues the picture of the sample before, and
        the sample's bytes without the parameter sets that only repeat those in force: left
        between a picture's slices, they would cut it again for every reader after this one
        (ffmpeg's HLS muxer, a player's demuxer)."""
        first: bool | None = None
        kept, i, n = [], 0, self._length
        data = sample.data
        while i + n <= len(data):
            size = int.from_bytes(data[i:i + n], "big")
            unit = data[i:i + n + size]
            nal = unit[n:]
            i += n + size
            if not nal:
                continue
            if nal[0] & 0x1F in VCL:
                begins = self._pictures.begins(nal)
                first = begins if first is None else first
            elif self._learn(nal):
                continue
            kept.append(unit)
        return first is False, b"".join(kept)

    def push(self, sample: Sample) -> Iterator[Sample]:
        """The pictures this sample completes: the one held, unless it continues it."""
        if not self._length:  # not H.264: passed on as ffmpeg cut it
            yield sample
            return
        held = self._held
        continues, data = self._read(sample)
        if held is not None and continues:
            held.data += data
            held.duration += sample.duration
            return
        if continues and self._eager:  # the picture before went on already: cut once
            log.warning("live view: a camera cut a picture other than a key frame; its "
                        "pictures are held whole from now on")
            self._eager = False
        self._held = None if self._eager and not sample.key else sample
        if held is not None:
            yield held
        if self._held is None:
            yield sample

    def flush(self) -> Iterator[Sample]:
        """The picture held at the stream's end."""
        if self._held is not None:
            yield self._held
            self._held = None


def fragments(pipe: IO[bytes], eager: bool = False) -> Iterator[tuple[bytes, bool | None]]:
    """ffmpeg's fragmented MP4 read from ``pipe`` and written again with every picture whole,
    as a fragment of its own: the initialisation (ftyp + moov) first, its key None, then each
    picture's fragment and whether it is a key frame. Boxes nobody downstream needs (styp,
    sidx, free, mfra) are passed over; what cannot be read raises ValueError (or IndexError,
    struct.error) — the caller drains the pipe. ``eager``: WholePictures'."""
    head: list[bytes] = []
    moof: bytes | None = None
    track: Track | None = None
    whole: WholePictures | None = None
    sequence = 0
    while (box := read_box(pipe)) is not None:
        kind = box[4:8]
        if kind in (b"ftyp", b"moov"):
            head.append(box)
            if kind == b"moov":
                track = fmp4.track_of(box[8:])
                whole = WholePictures(track, eager)
                yield b"".join(head), None
        elif kind == b"moof":
            moof = box
        elif kind == b"mdat" and moof is not None and track and whole:
            for sample in fmp4.samples(moof + box, track):
                for picture in whole.push(sample):
                    sequence += 1
                    yield fmp4.fragment(sequence, track.track_id, picture), picture.key
            moof = None
    if track and whole:
        for picture in whole.flush():
            sequence += 1
            yield fmp4.fragment(sequence, track.track_id, picture), picture.key


def read_box(pipe: IO[bytes]) -> bytes | None:
    """The next whole box, or None at the pipe's end (a box cut by it is dropped)."""
    header = pipe.read(8)
    if len(header) < 8:
        return None
    size = struct.unpack(">I", header[:4])[0]
    if size < 8 or size > MAX_BOX:
        raise ValueError(f"an MP4 box of {size} bytes: not ffmpeg's fragmented MP4")
    body = pipe.read(size - 8)
    return header + body if len(body) == size - 8 else None
