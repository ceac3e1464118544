"""Fragmented MP4 (ISO 14496-12), as far as the live relay needs it: the boxes of ffmpeg's
output read back into samples (a time, a duration, flags and the bytes), and samples
written out again as one fragment each (moof + mdat) — so that the relay can join the
pieces of a picture ffmpeg cut apart (whole_pictures.py) before anyone receives them."""

from __future__ import annotations

import struct
from dataclasses import dataclass

NON_SYNC = 0x10000  # sample_is_non_sync_sample (§8.8.3.1)
NOT_KEY_FLAGS = 0x01010000  # depends on others, not a sync sample: a P/B frame
KEY_FLAGS = 0x02000000  # depends on no other: a key frame


def boxes(data: bytes) -> list[tuple[bytes, bytes]]:
    """The child boxes of a box's payload: (type, payload)."""
    out, i = [], 0
    while i + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[i:i + 8])
        if size < 8 or i + size > len(data):
            break
        out.append((kind, data[i + 8:i + size]))
        i += size
    return out


def child(data: bytes, *path: bytes) -> bytes | None:
    """The payload of the first box down ``path`` (sample entries are skipped into by the
    caller), or None."""
    for kind in path:
        found = next((body for k, body in boxes(data) if k == kind), None)
        if found is None:
            return None
        data = found
    return data


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


@dataclass(frozen=True)
class Track:
    """What the initialisation (moov) says of the one video track."""

    track_id: int
    default_duration: int
    default_size: int
    default_flags: int
    nal_length: int  # bytes before each NAL unit in a sample (avcC), 0: not H.264
    parameter_sets: tuple[bytes, ...]  # the avcC's SPS and PPS


def _avcc(stsd: bytes) -> bytes | None:
    """The avcC of the first sample entry, if it is H.264 (avc1/avc3)."""
    if len(stsd) < 16:
        return None
    entry_kind = stsd[12:16]
    if entry_kind not in (b"avc1", b"avc3"):
        return None
    size = struct.unpack(">I", stsd[8:12])[0]
    # a visual sample entry: 8 header + 78 bytes of fields, then its boxes
    return child(stsd[8 + 8 + 78:8 + size], b"avcC")


def _parameter_sets(avcc: bytes) -> tuple[int, tuple[bytes, ...]]:
    """(NAL length size, SPS and PPS) of an AVCDecoderConfigurationRecord (14496-15 §5.3.3)."""
    length = (avcc[4] & 3) + 1
    sets, i = [], 5
    for count_mask in (0x1F, 0xFF):
        if i >= len(avcc):
            break
        count, i = avcc[i] & count_mask, i + 1
        for _ in range(count):
            n = struct.unpack(">H", avcc[i:i + 2])[0]
            sets.append(avcc[i + 2:i + 2 + n])
            i += 2 + n
    return length, tuple(sets)


def track_of(moov: bytes) -> Track:
    """The first track of an initialisation's moov payload, and its fragment defaults."""
    tkhd = child(moov, b"trak", b"tkhd")
    if tkhd is None:
        raise ValueError("an MP4 initialisation without a track")
    track_id = struct.unpack(">I", tkhd[12:16] if tkhd[0] == 0 else tkhd[20:24])[0]
    trex = child(moov, b"mvex", b"trex")
    duration = size = flags = 0
    if trex is not None and len(trex) >= 24:
        duration, size, flags = struct.unpack(">III", trex[12:24])
    stsd = child(moov, b"trak", b"mdia", b"minf", b"stbl", b"stsd")
    avcc = _avcc(stsd) if stsd is not None else None
    nal_length, sets = _parameter_sets(avcc) if avcc else (0, ())
    return Track(track_id, duration, size, flags, nal_length, sets)


@dataclass
class Sample:
    decode_time: int
    duration: int
    flags: int
    composition_offset: int
    data: bytes

    @property
    def key(self) -> bool:
        return not self.flags & NON_SYNC


def _tfhd(body: bytes, track: Track) -> tuple[int, int, int, int | None]:
    """(default duration, size, flags, base data offset or None for the moof's start)."""
    flags = int.from_bytes(body[1:4], "big")
    at, base = 8, None
    if flags & 0x1:
        base = struct.unpack(">Q", body[at:at + 8])[0]
        at += 8
    at += 4 if flags & 0x2 else 0
    duration, size, sample_flags = (track.default_duration, track.default_size,
                                    track.default_flags)
    for bit in (0x8, 0x10, 0x20):
        if flags & bit:
            value = struct.unpack(">I", body[at:at + 4])[0]
            at += 4
            if bit == 0x8:
                duration = value
            elif bit == 0x10:
                size = value
            else:
                sample_flags = value
    return duration, size, sample_flags, base


def samples(fragment: bytes, track: Track) -> list[Sample]:
    """The samples of one fragment (a moof box and the mdat after it, as read)."""
    moof_size = struct.unpack(">I", fragment[:4])[0]
    out: list[Sample] = []
    for kind, traf in boxes(fragment[8:moof_size]):
        if kind != b"traf":
            continue
        defaults = (track.default_duration, track.default_size, track.default_flags)
        time, base = 0, None
        for sub, body in boxes(traf):
            if sub == b"tfhd":
                *d, base = _tfhd(body, track)
                defaults = (d[0], d[1], d[2])
            elif sub == b"tfdt":
                time = struct.unpack(">Q" if body[0] == 1 else ">I",
                                     body[4:12] if body[0] == 1 else body[4:8])[0]
            elif sub == b"trun":
                if base is not None:
                    raise ValueError("an MP4 fragment with an absolute data offset")
                time = _trun(body, defaults, time, fragment, out)
    return out


def _trun(body: bytes, defaults: tuple[int, int, int], time: int, fragment: bytes,
          out: list[Sample]) -> int:
    """Append the run's samples to ``out``; the decode time after them."""
    version, flags = body[0], int.from_bytes(body[1:4], "big")
    count = struct.unpack(">I", body[4:8])[0]
    at, offset = 8, 0
    if flags & 0x1:
        offset = struct.unpack(">i", body[at:at + 4])[0]
        at += 4
    first_flags = None
    if flags & 0x4:
        first_flags = struct.unpack(">I", body[at:at + 4])[0]
        at += 4
    for i in range(count):
        duration, size, sample_flags = defaults
        cto = 0
        for bit in (0x100, 0x200, 0x400, 0x800):
            if not flags & bit:
                continue
            value = struct.unpack(">i" if bit == 0x800 and version else ">I",
                                  body[at:at + 4])[0]
            at += 4
            if bit == 0x100:
                duration = value
            elif bit == 0x200:
                size = value
            elif bit == 0x400:
                sample_flags = value
            else:
                cto = value
        if i == 0 and first_flags is not None:
            sample_flags = first_flags
        if offset + size > len(fragment):
            raise ValueError("an MP4 sample past its fragment's end")
        out.append(Sample(time, duration, sample_flags, cto,
                          fragment[offset:offset + size]))
        time, offset = time + duration, offset + size
    return time


def fragment(sequence: int, track_id: int, sample: Sample) -> bytes:
    """One sample as a fragment of its own: moof (its time, duration, size, flags and
    composition offset written out in full) and mdat."""
    version = 1 if sample.composition_offset < 0 else 0
    cto = struct.pack(">i" if version else ">I", sample.composition_offset)

    def moof(data_offset: int) -> bytes:
        trun = (bytes([version]) + (0x000F01).to_bytes(3, "big")
                + struct.pack(">Ii", 1, data_offset)
                + struct.pack(">III", sample.duration, len(sample.data), sample.flags) + cto)
        traf = (box(b"tfhd", b"\x00\x02\x00\x00" + struct.pack(">I", track_id))
                + box(b"tfdt", b"\x01\x00\x00\x00" + struct.pack(">Q", sample.decode_time))
                + box(b"trun", trun))
        return box(b"moof", box(b"mfhd", struct.pack(">II", 0, sequence)) + box(b"traf", traf))
    head = moof(0)
    return moof(len(head) + 8) + box(b"mdat", sample.data)
