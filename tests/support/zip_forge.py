"""ZIP archives built byte by byte, as an attacker builds them: every field of the local header
and of the central directory set on its own, so the two may disagree, and bytes put before,
between and after the entries. Honest values are the default; a test overrides one field.

Used by the attacks on `report verify` and `bundle verify` (issue 64 item 5)."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

LOCAL = 0x04034B50
CENTRAL = 0x02014B50
END = 0x06054B50
UTF8 = 0x800
REGULAR = 0o100644 << 16
SYMLINK = 0o120777 << 16
DIRECTORY = (0o040755 << 16) | 0x10


@dataclass(frozen=True)
class Entry:
    name: str
    data: bytes  # the bytes the entry holds (before compression)
    method: int = 0  # 0 stored, 8 deflated
    flags: int = UTF8
    external: int = REGULAR
    made_by: int = (3 << 8) | 20  # Unix, ZIP 2.0
    needed: int = 20  # the ZIP version needed to read it, both headers
    # the raw bytes stored (compressed): made from ``data`` unless given
    payload: bytes | None = None
    # what each header says, where it says something else than the truth
    local_name: str | None = None
    crc: int | None = None
    size: int | None = None  # uncompressed, both headers
    local_size: int | None = None
    local_method: int | None = None
    local_flags: int | None = None
    extra: bytes = b""  # both headers
    central_extra: bytes | None = None
    comment: bytes = b""
    after: bytes = b""  # bytes put after this entry's data, before the next local header

    def stored(self) -> bytes:
        if self.payload is not None:
            return self.payload
        if self.method == 8:
            c = zlib.compressobj(9, zlib.DEFLATED, -15)
            return c.compress(self.data) + c.flush()
        return self.data


@dataclass
class Forge:
    entries: list[Entry] = field(default_factory=list)
    before: bytes = b""  # bytes before the first entry
    trailer: bytes = b""  # bytes after the end record
    comment: bytes = b""  # the archive's comment
    central_count: int | None = None  # entries the end record declares

    def add(self, *entries: Entry) -> Forge:
        self.entries.extend(entries)
        return self

    def bytes(self) -> bytes:
        out = bytearray(self.before)
        central = bytearray()
        for e in self.entries:
            offset = len(out)
            body = e.stored()
            crc = e.crc if e.crc is not None else zlib.crc32(e.data)
            size = e.size if e.size is not None else len(e.data)
            name = e.name.encode("utf-8")
            local_name = (e.local_name if e.local_name is not None else e.name).encode("utf-8")
            out += struct.pack("<IHHHHHIIIHH", LOCAL, e.needed,
                               e.local_flags if e.local_flags is not None else e.flags,
                               e.local_method if e.local_method is not None else e.method,
                               0, 0x5B21, crc, len(body),
                               e.local_size if e.local_size is not None else size,
                               len(local_name), len(e.extra))
            out += local_name + e.extra + body + e.after
            cextra = e.central_extra if e.central_extra is not None else e.extra
            central += struct.pack("<IHHHHHHIIIHHHHHII", CENTRAL, e.made_by, e.needed, e.flags,
                                   e.method, 0, 0x5B21, crc, len(body), size, len(name),
                                   len(cextra), len(e.comment), 0, 0, e.external, offset)
            central += name + cextra + e.comment
        at = len(out)
        out += central
        n = self.central_count if self.central_count is not None else len(self.entries)
        out += struct.pack("<IHHHHIIH", END, 0, 0, n, n, len(central), at, len(self.comment))
        return bytes(out + self.comment + self.trailer)

    def write(self, path: Path) -> Path:
        path.write_bytes(self.bytes())
        return path


def entries_of(zip_path: Path) -> list[Entry]:
    """The entries of an honest ZIP (the files of a bundle), to be forged from."""
    import zipfile

    with zipfile.ZipFile(zip_path) as z:
        return [Entry(i.filename, z.read(i)) for i in z.infolist()]

