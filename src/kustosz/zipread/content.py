"""An entry's bytes, straight from the archive a chunk at a time: decrypted (WinZip AES, its
MAC checked), inflated with every step's output bounded, never past the size the headers
declare, and checked against their CRC-32 at the end. Memory stays within a few chunks
whatever the entry holds; nothing is written anywhere."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from kustosz.zipread.checks import AES_MAC, AES_SALT, DEFLATED
from kustosz.zipread.layout import Entry
from kustosz.zipread.names import q, r
from kustosz.zipread.refusal import ZipRefused, refused

CHUNK = 1 << 20


@dataclass(frozen=True)
class _Named:
    """What pyzipper's AES decrypter reads of an entry."""

    filename: str
    wz_aes_strength: int


def _raw(f: BinaryIO, at: int, n: int, path: Path, name: str) -> Iterator[bytes]:
    while n > 0:
        f.seek(at)
        chunk = f.read(min(CHUNK, n))
        if not chunk:
            raise refused(path, f"entry {r(name)} is cut short",
                          f"pozycja {q(name)} jest ucięta.")
        at += len(chunk)
        n -= len(chunk)
        yield chunk


def wrong_password(path: Path, why: str) -> ZipRefused:
    return refused(path, f"cannot open the encrypted ZIP ({why}); give the right --password",
                   "nie można otworzyć zaszyfrowanego archiwum ZIP — podaj poprawne hasło "
                   "(--password).")


def _decrypted(f: BinaryIO, e: Entry, password: str | None, path: Path) -> Iterator[bytes]:
    if e.aes is None:
        yield from _raw(f, e.data_at, e.csize, path, e.name)
        return
    import pyzipper  # noqa: PLC0415 - heavy; only an encrypted entry needs it

    head = AES_SALT[e.aes] + 2
    if e.csize < head + AES_MAC:
        raise refused(path, f"entry {r(e.name)} is cut short", f"pozycja {q(e.name)} jest ucięta.")
    if not password:
        raise wrong_password(path, "no password given")
    header = b"".join(_raw(f, e.data_at, head, path, e.name))
    try:
        decrypter: Any = pyzipper.zipfile_aes.AESZipDecrypter(
            _Named(e.name, e.aes), password.encode("utf-8"), header)
    except RuntimeError:
        raise wrong_password(path, "wrong password") from None
    for chunk in _raw(f, e.data_at + head, e.csize - head - AES_MAC, path, e.name):
        yield decrypter.decrypt(chunk)
    mac = b"".join(_raw(f, e.data_at + e.csize - AES_MAC, AES_MAC, path, e.name))
    if decrypter.hmac.digest()[:AES_MAC] != mac:
        raise refused(path, f"entry {r(e.name)}: its content fails its AES authentication code",
                      f"zawartość zaszyfrowanej pozycji {q(e.name)} nie zgadza się z jej kodem "
                      "uwierzytelniającym (archiwum zmienione lub uszkodzone).")


def _more(path: Path, e: Entry) -> ZipRefused:
    return refused(path, f"entry {r(e.name)} holds more than the {e.usize} bytes it declares",
                   f"pozycja {q(e.name)} zawiera więcej danych niż deklarowane {e.usize} B.")


def _inflated(chunks: Iterator[bytes], e: Entry, path: Path) -> Iterator[bytes]:
    d = zlib.decompressobj(-15)
    try:
        for chunk in chunks:
            if d.eof:
                raise _more(path, e)
            data = d.decompress(chunk, CHUNK)
            while True:
                yield data
                if not d.unconsumed_tail:
                    break
                data = d.decompress(d.unconsumed_tail, CHUNK)
            if d.unused_data:
                raise _more(path, e)
    except zlib.error:
        raise refused(path, f"entry {r(e.name)}: damaged compressed data",
                      f"pozycja {q(e.name)} ma uszkodzone dane skompresowane.") from None
    if not d.eof:
        raise refused(path, f"entry {r(e.name)}: its compressed data ends early",
                      f"dane skompresowane pozycji {q(e.name)} urywają się przed końcem.")


def stream(f: BinaryIO, e: Entry, password: str | None, path: Path) -> Iterator[bytes]:
    """The entry's bytes, checked as they come; refused the moment they pass its size."""
    plain = _decrypted(f, e, password, path)
    data = _inflated(plain, e, path) if e.method == DEFLATED else plain
    got, crc = 0, 0
    for chunk in data:
        got += len(chunk)
        if got > e.usize:
            raise _more(path, e)
        crc = zlib.crc32(chunk, crc)
        yield chunk
    if got != e.usize:
        raise refused(path, f"entry {r(e.name)} holds {got} bytes, not the {e.usize} it declares",
                      f"pozycja {q(e.name)} zawiera {got} B, a deklaruje {e.usize} B.")
    # WinZip AES 2 leaves the CRC out (0): its authentication code stands for it.
    if (e.aes is None or e.aes_version == 1 or e.crc) and crc != e.crc:
        raise refused(path, f"entry {r(e.name)}: its content fails its CRC-32",
                      f"zawartość pozycji {q(e.name)} nie zgadza się z jej sumą kontrolną CRC-32 "
                      "(archiwum zmienione lub uszkodzone).")
