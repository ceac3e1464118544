"""Where one H.264 picture ends and the next begins (ITU-T H.264 §7.4.1.2.4), read from the
slice headers — not from the NAL units between the slices. Cameras encode a picture in
several slices, and some send the parameter sets (SPS, PPS) again between them (§7.4.1.2.3
allows them anywhere before the picture's last slice; GStreamer's RTP payloader puts them
before every slice of a key frame). ffmpeg's H.264 parser ends the picture there: a copied
stream came out with every key frame cut in two samples, a decoder drew the first as a
picture of its own and the rest over nothing, and the P-frames built on it kept the hole
green until the next key frame (issue 65 item 2).

A slice begins a new primary coded picture when any of §7.4.1.2.4's values differs from the
previous slice's: frame_num, the PPS, field_pic_flag, bottom_field_flag, nal_ref_idc being 0
or not, the picture order count's fields, IdrPicFlag, idr_pic_id. The slice headers are read
only as far as those, with the parameter sets they refer to."""

from __future__ import annotations

from dataclasses import dataclass

SLICE, PARTITION_A, IDR, SPS, PPS = 1, 2, 5, 7, 8
VCL = (SLICE, PARTITION_A, IDR)  # the NAL units that begin with a slice header
HIGH_PROFILES = (100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135)


class Bits:
    """Exp-Golomb reading of an RBSP (§9.1); past its end reads fail with ValueError."""

    def __init__(self, rbsp: bytes) -> None:
        self._data, self._pos = rbsp, 0

    def u(self, n: int) -> int:
        value = 0
        for _ in range(n):
            byte = self._pos >> 3
            if byte >= len(self._data):
                raise ValueError("an H.264 header ends early")
            value = value << 1 | (self._data[byte] >> (7 - (self._pos & 7))) & 1
            self._pos += 1
        return value

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError("an H.264 Exp-Golomb code longer than 32 bits")
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        k = self.ue()
        return (k + 1) // 2 if k & 1 else -(k // 2)


def rbsp(nal: bytes, limit: int = 64) -> bytes:
    """The first ``limit`` bytes of the NAL unit's payload, emulation prevention removed
    (§7.4.1: every 0x03 after two zero bytes); the header byte left out."""
    out = bytearray()
    zeros = 0
    for byte in nal[1:]:
        if zeros >= 2 and byte == 3:
            zeros = 0
            continue
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
        if len(out) >= limit:
            break
    return bytes(out)


@dataclass(frozen=True)
class Sps:
    frame_num_bits: int
    poc_type: int
    poc_lsb_bits: int
    delta_poc_always_zero: bool
    frame_mbs_only: bool
    separate_colour_planes: bool


@dataclass(frozen=True)
class Pps:
    sps_id: int
    bottom_field_poc_present: bool
    redundant_pic_cnt_present: bool


def _skip_scaling_list(b: Bits, size: int) -> None:
    last = scale = 8
    for _ in range(size):
        if scale:
            scale = (last + b.se() + 256) % 256
        last = scale or last


def parse_sps(nal: bytes) -> tuple[int, Sps]:
    """(seq_parameter_set_id, what a slice header needs of it): §7.3.2.1.1."""
    b = Bits(rbsp(nal, 512))
    profile = b.u(8)
    b.u(16)  # constraint flags, level
    sps_id = b.ue()
    separate = False
    if profile in HIGH_PROFILES:
        chroma = b.ue()
        if chroma == 3:
            separate = bool(b.u(1))
        b.ue()
        b.ue()  # bit depths
        b.u(1)
        if b.u(1):  # seq_scaling_matrix_present_flag
            for i in range(8 if chroma != 3 else 12):
                if b.u(1):
                    _skip_scaling_list(b, 16 if i < 6 else 64)
    frame_num_bits = b.ue() + 4
    poc_type = b.ue()
    poc_lsb_bits, always_zero = 0, False
    if poc_type == 0:
        poc_lsb_bits = b.ue() + 4
    elif poc_type == 1:
        always_zero = bool(b.u(1))
        b.se()
        b.se()
        for _ in range(b.ue()):
            b.se()
    b.ue()  # max_num_ref_frames
    b.u(1)
    b.ue()
    b.ue()  # picture size in macroblocks
    frame_mbs_only = bool(b.u(1))
    return sps_id, Sps(frame_num_bits, poc_type, poc_lsb_bits, always_zero, frame_mbs_only,
                       separate)


def parse_pps(nal: bytes) -> tuple[int, Pps]:
    """(pic_parameter_set_id, what a slice header needs of it): §7.3.2.2, the slice groups
    of the Baseline profile's FMO read past."""
    b = Bits(rbsp(nal, 4096))
    pps_id, sps_id = b.ue(), b.ue()
    b.u(1)  # entropy_coding_mode_flag
    bottom_field_poc = bool(b.u(1))
    groups = b.ue() + 1
    if groups > 1:
        kind = b.ue()
        if kind == 0:
            for _ in range(groups):
                b.ue()
        elif kind == 2:
            for _ in range(2 * (groups - 1)):
                b.ue()
        elif kind in (3, 4, 5):
            b.u(1)
            b.ue()
        elif kind == 6:
            width = (groups - 1).bit_length()
            for _ in range(b.ue() + 1):
                b.u(width)
    b.ue()
    b.ue()  # num_ref_idx defaults
    b.u(1)
    b.u(2)  # weighted prediction
    b.se()
    b.se()
    b.se()  # QP offsets
    b.u(1)
    b.u(1)
    redundant = bool(b.u(1))
    return pps_id, Pps(sps_id, bottom_field_poc, redundant)


@dataclass(frozen=True)
class PictureKey:
    """A slice header's values that §7.4.1.2.4 compares: equal keys, the same picture."""

    pps_id: int
    frame_num: int
    field: int  # 0 frame, 1 top field, 2 bottom field
    reference: bool
    idr: bool
    idr_pic_id: int
    poc: tuple[int, ...]


class Pictures:
    """Reads a stream's NAL units in order and tells which slice begins a new picture."""

    def __init__(self) -> None:
        self._sps: dict[int, Sps] = {}
        self._pps: dict[int, Pps] = {}
        self._raw: dict[tuple[int, int], bytes] = {}  # (NAL type, id) -> the set as sent
        self._last: PictureKey | None = None

    def learn(self, nal: bytes) -> bool:
        """A parameter set (from the stream or its avcC); other NAL units are passed over.
        True when it repeats, byte for byte, the set of its id already in force."""
        kind = nal[0] & 0x1F if nal else 0
        if kind == SPS:
            set_id, sps = parse_sps(nal)
            self._sps[set_id] = sps
        elif kind == PPS:
            set_id, pps = parse_pps(nal)
            self._pps[set_id] = pps
        else:
            return False
        repeated = self._raw.get((kind, set_id)) == nal
        self._raw[(kind, set_id)] = nal
        return repeated

    def begins(self, nal: bytes) -> bool:
        """Whether this slice NAL unit begins a new primary coded picture. A slice whose
        parameter sets are unknown, or whose header cannot be read, is taken to begin one
        (the stream is then cut as its packets came)."""
        try:
            key = self._key(nal)
        except (ValueError, KeyError):
            self._last = None
            return True
        if key is None:  # a redundant coded picture's slice: part of the primary's unit
            return False
        new = key != self._last
        self._last = key
        return new

    def _key(self, nal: bytes) -> PictureKey | None:
        kind, reference = nal[0] & 0x1F, bool(nal[0] & 0x60)
        b = Bits(rbsp(nal))
        b.ue()  # first_mb_in_slice: not one of §7.4.1.2.4's (slices may come in any order)
        b.ue()  # slice_type
        pps_id = b.ue()
        pps = self._pps[pps_id]
        sps = self._sps[pps.sps_id]
        if sps.separate_colour_planes:
            b.u(2)  # colour_plane_id: the three planes' slices are one picture
        frame_num = b.u(sps.frame_num_bits)
        field = 0
        if not sps.frame_mbs_only and b.u(1):
            field = 1 + b.u(1)
        idr_pic_id = b.ue() if kind == IDR else 0
        poc: tuple[int, ...] = ()
        if sps.poc_type == 0:
            poc = (b.u(sps.poc_lsb_bits),)
            if pps.bottom_field_poc_present and not field:
                poc += (b.se(),)
        elif sps.poc_type == 1 and not sps.delta_poc_always_zero:
            poc = (b.se(),)
            if pps.bottom_field_poc_present and not field:
                poc += (b.se(),)
        if pps.redundant_pic_cnt_present and b.ue() > 0:
            return None
        return PictureKey(pps_id, frame_num, field, reference, kind == IDR, idr_pic_id, poc)
