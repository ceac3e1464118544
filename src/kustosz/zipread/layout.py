"""The structure of a ZIP read from its headers alone, and judged: the end record, the central
directory, and each entry's local header, which must say what the directory says (name,
flags, method, sizes, CRC). The entries must follow each other with nothing before, between
or after them, so a reader that walks the local headers (a streaming unzip) and one that
trusts the directory (unzip, Python's zipfile) see the same files. ZIP64 is read as Python's
zipfile writes it (a copy's video may pass 4 GiB); a comment, a second disk and the fields
that give an entry another name (Info-ZIP's Unicode path) are refused.

Only headers are read here: at most the central directory (bounded) and 30 bytes plus a
name and its extra fields per entry."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from kustosz.zipread import checks
from kustosz.zipread.refusal import refused

END = b"PK\x05\x06"
END64 = b"PK\x06\x06"
LOCATOR = b"PK\x06\x07"
CENTRAL = b"PK\x01\x02"
LOCAL = b"PK\x03\x04"
DESCRIPTOR = b"PK\x07\x08"
FULL16, FULL32 = 0xFFFF, 0xFFFFFFFF
MAX_CENTRAL = 64 << 20  # 64 MiB: some 300 000 entries of long names
ZIP64_EXTRA, AES_EXTRA = 0x0001, 0x9901
DATA_DESCRIPTOR = 0x0008


@dataclass(frozen=True)
class Entry:
    """One file of the archive, as its headers (which agree) say."""

    name: str
    start: int  # its local header
    data_at: int  # its stored bytes
    end: int  # after its stored bytes and data descriptor
    csize: int  # stored bytes (with AES's salt, check and MAC)
    usize: int  # the file's bytes
    crc: int
    method: int  # 0 stored or 8 deflated (under AES: the method inside it)
    aes: int | None  # WinZip AES strength 1-3, or None
    aes_version: int


@dataclass
class _Central:
    raw_name: bytes
    name: str
    flags: int
    method: int
    crc: int
    csize: int
    usize: int
    offset: int
    made_by: int
    external: int
    extras: dict[int, bytes]
    comment: bytes


def _read_at(f: BinaryIO, at: int, n: int, path: Path) -> bytes:
    try:
        f.seek(at)
        data = f.read(n)
    except (OverflowError, ValueError):  # an offset past any file (ZIP64's 64 bits)
        data = b""
    if len(data) != n:
        raise refused(path, "it ends inside a header (cut short)",
                      "kończy się w środku nagłówka (plik jest ucięty).")
    return data


def extras_of(raw: bytes, path: Path, name: str) -> dict[int, bytes]:
    """An entry's extra fields by id; malformed, repeated or renaming ones are refused."""
    out: dict[int, bytes] = {}
    at = 0
    while at < len(raw):
        if at + 4 > len(raw):
            raise checks.bad_extra(path, name)
        kind, size = struct.unpack_from("<HH", raw, at)
        body = raw[at + 4:at + 4 + size]
        if len(body) != size or kind in out:
            raise checks.bad_extra(path, name)
        checks.extra_allowed(kind, path, name)
        out[kind] = body
        at += 4 + size
    return out


def _end_record(f: BinaryIO, size: int, path: Path) -> tuple[int, int, int, int]:
    """(entries, central directory's size, its offset, where it must end)."""
    tail_at = max(0, size - (FULL16 + 22))
    tail = _read_at(f, tail_at, size - tail_at, path)
    at = tail.rfind(END)
    if at < 0 or at + 22 > len(tail):
        raise checks.not_a_zip(path, "no end of central directory record")
    (disk, cd_disk, here, total, cd_size, cd_off, comment) = struct.unpack_from(
        "<HHHHIIH", tail, at + 4)
    end_at = tail_at + at
    checks.nothing_after(path, comment, size - (end_at + 22 + comment))
    if disk or cd_disk or here != total:
        raise checks.multi_disk(path)
    # Python's zipfile writes the ZIP64 records from 2 GiB on, the short fields then holding
    # the true values below their maximum: the locator before the end record decides.
    if end_at >= 20 and _read_at(f, end_at - 20, 4, path) == LOCATOR:
        return _zip64_end(f, end_at, (total, cd_size, cd_off), path)
    return total, cd_size, cd_off, end_at  # a lie here fails where the directory must be


def _zip64_end(f: BinaryIO, end_at: int, short: tuple[int, int, int],
               path: Path) -> tuple[int, int, int, int]:
    if end_at < 20:
        raise checks.bad_zip64(path)
    sig, disk, record_at, disks = struct.unpack("<4sIQI", _read_at(f, end_at - 20, 20, path))
    if sig != LOCATOR or disk != 0 or disks != 1 or record_at + 56 != end_at - 20:
        raise checks.bad_zip64(path)  # 56: the record as written, with no extensible data
    (sig, rest, _made, need, disk, cd_disk, here, total, cd_size,
     cd_off) = struct.unpack("<4sQHHIIQQQQ", _read_at(f, record_at, 56, path))
    if sig != END64 or rest != 44 or disk or cd_disk or here != total:
        raise checks.bad_zip64(path)
    checks.version_allowed(path, need)
    if short != (min(total, FULL16), min(cd_size, FULL32), min(cd_off, FULL32)):
        raise checks.bad_zip64(path)
    return total, cd_size, cd_off, record_at


def _zip64_values(c: _Central, path: Path) -> None:
    """The sizes and offset the 32-bit fields hold only as 0xFFFFFFFF, from the ZIP64 extra
    field, in the order the format gives; the field holds exactly those."""
    body = c.extras.get(ZIP64_EXTRA)
    wanted = [n for n, v in (("usize", c.usize), ("csize", c.csize), ("offset", c.offset))
              if v == FULL32]
    if body is None and not wanted:
        return
    if body is None or len(body) != 8 * len(wanted):
        raise checks.bad_zip64(path, c.name)
    for i, field in enumerate(wanted):
        setattr(c, field, struct.unpack_from("<Q", body, 8 * i)[0])


def _decode_name(raw: bytes, flags: int, path: Path) -> str:
    if flags & 0x800:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise checks.name_encoding(path, raw.decode("utf-8", "replace")) from None
    if any(b > 0x7F for b in raw):
        # Without the UTF-8 flag one tool reads CP437, another the local code page.
        raise checks.name_encoding(path, raw.decode("cp437"))
    return raw.decode("ascii")


def _central(f: BinaryIO, count: int, cd_size: int, cd_off: int,
             path: Path, max_entries: int) -> list[_Central]:
    if count > max_entries:
        raise checks.too_many(path, count, max_entries)
    if cd_size > MAX_CENTRAL:
        raise checks.central_too_big(path, cd_size)
    raw = _read_at(f, cd_off, cd_size, path)
    out: list[_Central] = []
    at = 0
    while at < len(raw) and len(out) < count:
        if raw[at:at + 4] != CENTRAL or at + 46 > len(raw):
            raise checks.central_damaged(path)
        (made_by, need, flags, method, _t, _d, crc, csize, usize, nlen, xlen, clen, disk,
         _iattr, external, offset) = struct.unpack_from("<HHHHHHIIIHHHHHII", raw, at + 4)
        if at + 46 + nlen + xlen + clen > len(raw) or disk not in (0, FULL16):
            raise checks.central_damaged(path)
        name_raw = raw[at + 46:at + 46 + nlen]
        name = _decode_name(name_raw, flags, path)
        checks.version_allowed(path, need, name)
        extras = extras_of(raw[at + 46 + nlen:at + 46 + nlen + xlen], path, name)
        comment = raw[at + 46 + nlen + xlen:at + 46 + nlen + xlen + clen]
        c = _Central(name_raw, name, flags, method, crc, csize, usize, offset, made_by,
                     external, extras, comment)
        _zip64_values(c, path)
        out.append(c)
        at += 46 + nlen + xlen + clen
    if len(out) != count or at != len(raw):
        raise checks.count_differs(path, count, len(out))
    return out


def _local(f: BinaryIO, c: _Central, path: Path) -> Entry:
    """The entry as its local header says, which must be what the directory says."""
    (sig, need, flags, method, _t, _d, crc, csize, usize, nlen,
     xlen) = struct.unpack("<4sHHHHHIIIHH", _read_at(f, c.offset, 30, path))
    if sig != LOCAL:
        raise checks.local_differs(path, c.name, "signature")
    checks.version_allowed(path, need, c.name)
    rest = _read_at(f, c.offset + 30, nlen + xlen, path)
    if rest[:nlen] != c.raw_name:
        raise checks.local_differs(path, c.name, "name", rest[:nlen].decode("utf-8", "replace"))
    if flags != c.flags:
        raise checks.local_differs(path, c.name, "flags")
    if method != c.method:
        raise checks.local_differs(path, c.name, "method")
    extras = extras_of(rest[nlen:], path, c.name)
    if extras.get(AES_EXTRA) != c.extras.get(AES_EXTRA):
        raise checks.local_differs(path, c.name, "encryption")
    zip64 = extras.get(ZIP64_EXTRA)
    if zip64 is not None:  # both sizes, as the local header's ZIP64 field always holds them
        if len(zip64) != 16 or FULL32 not in (csize, usize):
            raise checks.bad_zip64(path, c.name)
        usize, csize = struct.unpack("<QQ", zip64)
    data_at = c.offset + 30 + nlen + xlen
    end = data_at + c.csize
    if flags & DATA_DESCRIPTOR:
        if (crc, csize, usize) not in ((0, 0, 0), (c.crc, c.csize, c.usize)):
            raise checks.local_differs(path, c.name, "sizes")
        end = _descriptor(f, c, end, zip64 is not None, path)
    elif (crc, csize, usize) != (c.crc, c.csize, c.usize):
        raise checks.local_differs(path, c.name, "sizes" if crc == c.crc else "crc")
    aes = checks.encryption_of(c.flags, c.method, c.extras.get(AES_EXTRA), path, c.name)
    checks.sizes_agree(path, c.name, aes[0], aes[1], c.csize, c.usize)
    return Entry(c.name, c.offset, data_at, end, c.csize, c.usize, c.crc,
                 aes[0], aes[1], aes[2])


def _descriptor(f: BinaryIO, c: _Central, at: int, zip64: bool, path: Path) -> int:
    fmt = "<4sIQQ" if zip64 else "<4sIII"
    n = struct.calcsize(fmt)
    sig, crc, csize, usize = struct.unpack(fmt, _read_at(f, at, n, path))
    if sig != DESCRIPTOR or (crc, csize, usize) != (c.crc, c.csize, c.usize):
        raise checks.local_differs(path, c.name, "descriptor")
    return at + n


def _tiled(entries: list[Entry], cd_off: int, path: Path) -> None:
    """Each entry begins where the one before it ends, from byte 0 to the directory."""
    expected, before = 0, None
    for e in sorted(entries, key=lambda e: e.start):
        if e.start != expected:
            raise checks.not_tiled(path, before, e.name, e.start - expected)
        expected, before = e.end, e.name
    if expected != cd_off:
        raise checks.not_tiled(path, before, None, cd_off - expected)


def read(f: BinaryIO, size: int, path: Path, max_entries: int,
         allowed: frozenset[str] | None) -> list[Entry]:
    """Every entry of the archive, judged from its headers (see the module's text); its names
    judged before anything else of an entry (``allowed``: the only names it may hold)."""
    count, cd_size, cd_off, cd_end = _end_record(f, size, path)
    if cd_off + cd_size != cd_end:
        raise checks.not_tiled(path, None, None, cd_end - (cd_off + cd_size), central=True)
    central = _central(f, count, cd_size, cd_off, path, max_entries)
    checks.names_allowed(path, [c.name for c in central], allowed)
    for c in central:
        checks.entry_allowed(path, c.name, c.made_by, c.external, c.flags, c.comment)
    entries = [_local(f, c, path) for c in central]
    _tiled(entries, cd_off, path)
    return entries
