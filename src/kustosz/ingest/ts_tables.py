"""Whether an MPEG-TS file carries picture alone, read off its own tables (issue 68 item 4).

R1.3's check of a camera file (`sound_strip`) asked ffmpeg (`av.open`: 10-25 ms of CPU a
segment, the largest part of an S3 intake's own work). A camera's segment as the recorder's
ffmpeg writes it says the answer in its first packets: the PAT names one program, its PMT
lists its elementary streams by type. `video_alone` reads them and every packet's PID, and
answers only when the file is plainly picture alone:

- whole 188-byte packets, each beginning with the sync byte;
- one program; the PAT and PMT each in one packet, and every copy of them in the file the
  same as the first (a PMT that changes mid-file could add a sound track later);
- every stream the PMT lists of a video type (`VIDEO_TYPES`);
- no packet carrying a payload on a PID other than the PAT's, the PMT's, the listed video
  streams', the SDT's and the null packets' (ffmpeg may find a stream the PMT does not name).

Anything else — sound, private data, another layout, a broken table — is None: the caller
asks ffmpeg as before. So this never says "no sound" where ffmpeg would have found some in
the file's tables; it only spares asking when the tables leave no doubt."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

PACKET = 188
SYNC = 0x47
PAT_PID, SDT_PID, NULL_PID = 0x0000, 0x0011, 0x1FFF
# ISO/IEC 13818-1 table 2-34: MPEG-1 and MPEG-2 video, MPEG-4 part 2, H.264, HEVC
VIDEO_TYPES = frozenset({0x01, 0x02, 0x10, 0x1B, 0x24})
# A segment is seconds of picture; a longer file goes to ffmpeg rather than into memory whole.
MAX_BYTES = 256 * 1024 * 1024


def _section(packet: bytes, table_id: int) -> bytes | None:
    """The one section a packet starting it holds whole (without its CRC), else None."""
    if not packet[1] & 0x40:  # payload_unit_start_indicator
        return None
    control = (packet[3] >> 4) & 0x3
    start = 4
    if control & 0x2:
        start += 1 + packet[4]
    if not control & 0x1 or start >= PACKET:
        return None
    start += 1 + packet[start]  # pointer_field
    if start + 3 > PACKET or packet[start] != table_id:
        return None
    length = ((packet[start + 1] & 0x0F) << 8) | packet[start + 2]
    end = start + 3 + length
    if length < 9 or end > PACKET:
        return None
    return packet[start:end - 4]


def _pmt_pid(pat: bytes) -> int | None:
    programs = [(pat[i] << 8 | pat[i + 1], (pat[i + 2] & 0x1F) << 8 | pat[i + 3])
                for i in range(8, len(pat) - 3, 4)]
    real = [pid for number, pid in programs if number != 0]  # 0: the network's PID
    return real[0] if len(real) == 1 else None


def _video_pids(pmt: bytes) -> set[int] | None:
    info = ((pmt[10] & 0x0F) << 8) | pmt[11]
    i, pids = 12 + info, set()
    while i + 5 <= len(pmt):
        kind, pid = pmt[i], ((pmt[i + 1] & 0x1F) << 8) | pmt[i + 2]
        if kind not in VIDEO_TYPES:
            return None
        pids.add(pid)
        i += 5 + (((pmt[i + 3] & 0x0F) << 8) | pmt[i + 4])
    return pids if i == len(pmt) and pids else None


def video_alone(path: Path) -> int | None:
    """The number of video streams when the file is plainly picture alone (above), else
    None. Errors of the system (no such file, an I/O error) are raised."""
    import numpy as np  # noqa: PLC0415 - a heavy library, loaded by the work that needs it

    with path.open("rb") as f:
        size = os.fstat(f.fileno()).st_size
        if not size or size > MAX_BYTES or size % PACKET:
            return None
        data = f.read(size)
    if len(data) != size:  # it changed while read: ffmpeg is asked
        return None
    rows = np.frombuffer(data, np.uint8).reshape(-1, PACKET)
    if not (rows[:, 0] == SYNC).all():
        return None
    pids = (((rows[:, 1].astype(np.uint16) & 0x1F) << 8) | rows[:, 2]).astype(np.uint16)
    carries = ((rows[:, 3] >> 4) & 0x1).astype(bool)
    tables = _tables(data, rows, pids, carries)
    if tables is None:
        return None
    pmt_pid, videos = tables
    allowed = np.array(sorted({PAT_PID, SDT_PID, NULL_PID, pmt_pid, *videos}), np.uint16)
    if not np.isin(pids[carries], allowed).all():
        return None
    return len(videos)


def _tables(data: bytes, rows: NDArray[np.uint8], pids: NDArray[np.uint16],
            carries: NDArray[np.bool_]) -> tuple[int, set[int]] | None:
    """The PMT's PID and the video streams it lists, when the PAT and PMT are one each, whole
    in one packet and the same in every copy."""
    import numpy as np  # noqa: PLC0415 - a heavy library, loaded by the work that needs it

    found: list[bytes] = []
    pmt_pid: int | None = PAT_PID
    for table_id in (0x00, 0x02):
        where = np.flatnonzero((pids == pmt_pid) & carries)
        if not len(where):
            return None
        first = int(where[0])
        packet = data[first * PACKET:(first + 1) * PACKET]
        section = _section(packet, table_id)
        if section is None:
            return None
        # every copy the same as the first, but for the continuity counter (byte 3's low bits)
        same = rows[where, 4:] == rows[first, 4:]
        if not same.all() or len(set((rows[where, 3] & 0xF0).tolist())) != 1:
            return None
        found.append(section)
        if table_id == 0x00:
            pmt_pid = _pmt_pid(section)
            if pmt_pid is None or pmt_pid in (PAT_PID, SDT_PID, NULL_PID):
                return None
    videos = _video_pids(found[1])
    return None if videos is None or pmt_pid is None else (pmt_pid, videos)
