"""The attacks on a bundle's ZIP (issue 64 item 5), each built from the honest entries of a
bundle by tests.support.zip_forge, with the words its refusal must say. One list for every
verifier that reads a ZIP: `report verify` and `bundle verify` (tests/report/
test_report_zip_attacks.py, tests/custody/test_bundle_zip_attacks.py)."""

from __future__ import annotations

import os
import struct
import unicodedata
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from tests.support.zip_forge import DIRECTORY, SYMLINK, Entry, Forge

FORGED = "Józef Żółć sfałszował ten plik 🙂\n".encode()
BOMB_BYTES = 300 * 1000 * 1000  # 300 MB of zeros: about 0.3 MB deflated
WRITE_BOUND = 256 * 1024  # what a refused (or verified) ZIP may cost in written bytes


def _deflated_zeros(n: int) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = bytes(1 << 20)
    parts = [c.compress(block) for _ in range(n // len(block))]
    parts.append(c.compress(bytes(n % len(block))))
    return b"".join(parts) + c.flush()


@dataclass(frozen=True)
class Attack:
    id: str
    build: Callable[[list[Entry], str], Forge]  # (honest entries, the file forged) -> ZIP
    pl: str  # what the Polish refusal says (with {name}: the file forged)

    def write(self, honest: list[Entry], target: str, path: Path) -> Path:
        return self.build(honest, target).write(path)


def _swap(honest: list[Entry], target: str, **changes: object) -> Forge:
    return Forge([replace(e, **changes) if e.name == target else e  # type: ignore[arg-type]
                  for e in honest])


def _with(honest: list[Entry], *extra: Entry, first: bool = False) -> Forge:
    return Forge([*extra, *honest] if first else [*honest, *extra])


def _hidden_between(honest: list[Entry], target: str) -> Forge:
    """A whole local entry of a forged file hidden after the first entry's data, where a
    reader walking local headers finds it and the central directory does not list it."""
    hidden = Forge([Entry(target, FORGED)]).bytes()
    hidden = hidden[:hidden.index(struct.pack("<I", 0x02014B50))]
    first, *rest = honest
    return Forge([replace(first, after=hidden), *rest])


def _unicode_path(honest: list[Entry], target: str) -> Forge:
    """Info-ZIP's Unicode path field: unzip shows the name it holds, not the header's."""
    name = target.encode()
    field = struct.pack("<BI", 1, zlib.crc32(b"notatka.txt")) + name
    extra = struct.pack("<HH", 0x7075, len(field)) + field
    return _with(honest, Entry("notatka.txt", FORGED, extra=extra))


def _bomb(honest: list[Entry], target: str) -> Forge:
    """300 MB of zeros deflated to 0.3 MB, its size declared honestly."""
    return _swap(honest, target, data=b"", payload=_deflated_zeros(BOMB_BYTES), method=8,
                 size=BOMB_BYTES, crc=0)


def _bomb_declared_small(honest: list[Entry], target: str) -> Forge:
    """The same stream declared as the honest file's size and CRC: only reading finds it."""
    return _swap(honest, target, payload=_deflated_zeros(BOMB_BYTES), method=8)


def _aes(honest: list[Entry], target: str) -> Forge:
    """A WinZip AES entry (a report's bundle is never encrypted)."""
    aes = struct.pack("<HHH2sBH", 0x9901, 7, 2, b"AE", 3, 0)
    data = next(e.data for e in honest if e.name == target)
    return _swap(honest, target, method=99, flags=0x801, extra=aes,
                 payload=os.urandom(16 + 2) + data + os.urandom(10), crc=0)


_NFD = unicodedata.normalize("NFD", "Żółć.txt")

ATTACKS: list[Attack] = [
    Attack("duplicate-forged-last", lambda h, t: _with(h, Entry(t, FORGED)),
           "dwie pozycje mają tę samą nazwę „{name}”"),
    Attack("duplicate-forged-first", lambda h, t: _with(h, Entry(t, FORGED), first=True),
           "dwie pozycje mają tę samą nazwę „{name}”"),
    Attack("duplicate-by-case", lambda h, t: _with(h, Entry(t.upper(), FORGED)),
           "to ten sam plik na systemach, które nie rozróżniają wielkości liter"),
    Attack("duplicate-by-unicode-form", lambda h, t: _with(
        h, Entry("Żółć.txt", FORGED), Entry(_NFD, FORGED)), "to ten sam plik"),
    Attack("file-and-folder", lambda h, t: _with(h, Entry(f"{t}/x", FORGED)),
           "albo jedna jest folderem drugiej"),
    Attack("symlink", lambda h, t: _swap(h, t, data=b"/etc/passwd", external=SYMLINK),
           "pozycja „{name}” jest dowiązaniem symbolicznym"),
    Attack("folder-entry", lambda h, t: _with(h, Entry("pakiet/", b"", external=DIRECTORY)),
           "pozycja „pakiet/” jest folderem"),
    Attack("folder-by-dos-attribute", lambda h, t: _swap(h, t, external=0x10, made_by=20),
           "pozycja „{name}” jest folderem"),
    Attack("fifo", lambda h, t: _swap(h, t, external=0o010644 << 16),
           "jest plikiem specjalnym"),
    Attack("dot-dot", lambda h, t: _with(h, Entry(f"../{t}", FORGED)), "zawiera człon „..”"),
    Attack("dot-dot-inside", lambda h, t: _with(h, Entry(f"a/../../{t}", FORGED)),
           "zawiera człon „..”"),
    Attack("absolute", lambda h, t: _with(h, Entry(f"/tmp/{t}", FORGED)),
           "ma ścieżkę bezwzględną"),
    Attack("backslash", lambda h, t: _with(h, Entry(f"..\\{t}", FORGED)),
           "ukośnik wsteczny"),
    Attack("drive-letter", lambda h, t: _with(h, Entry(f"C:/{t}", FORGED)),
           "dwukropek"),
    Attack("drive-relative", lambda h, t: _with(h, Entry(f"C:{t}", FORGED)), "dwukropek"),
    Attack("empty-part", lambda h, t: _with(h, Entry(f"a//{t}", FORGED)), "pusty człon"),
    Attack("trailing-dot", lambda h, t: _with(h, Entry(f"{t}.", FORGED)),
           "zakończony kropką lub spacją"),
    Attack("direction-override", lambda h, t: _with(h, Entry("raport\u202enosj.exe", FORGED)),
           "zmieniający kierunek tekstu"),
    Attack("newline-in-name", lambda h, t: _with(h, Entry(f"{t}\nmanifest.json", FORGED)),
           "znak sterujący"),
    Attack("name-not-marked-utf8", lambda h, t: _with(h, Entry("Żółć.txt", FORGED, flags=0)),
           "nieoznaczoną jako UTF-8"),
    Attack("unicode-path-field", _unicode_path, "pole dodatkowe 0x7075"),
    Attack("local-name-differs", lambda h, t: _swap(h, t, local_name="notatka.txt",
                                                    data=FORGED),
           "nagłówek lokalny pozycji „{name}” podaje inną nazwę („notatka.txt”)"),
    Attack("local-size-differs", lambda h, t: _swap(h, t, local_size=3),
           "nagłówek lokalny pozycji „{name}” podaje inny rozmiar"),
    Attack("local-method-differs", lambda h, t: _swap(h, t, local_method=8),
           "nagłówek lokalny pozycji „{name}” podaje inną metodę kompresji"),
    Attack("local-flags-differ", lambda h, t: _swap(h, t, local_flags=0x808),
           "nagłówek lokalny pozycji „{name}” podaje inne flagi"),
    Attack("data-before", lambda h, t: replace(Forge(list(h)), before=b"MZ" + bytes(510)),
           "przed pierwszą pozycją jest 512 B"),
    Attack("entry-hidden-between", _hidden_between, "nienależących do żadnej pozycji"),
    Attack("data-after-end", lambda h, t: replace(Forge(list(h)), trailer=b"PK-junk"),
           "po końcu archiwum jest 7 B"),
    Attack("archive-comment", lambda h, t: replace(
        Forge(list(h)), comment="Zweryfikowano: wszystko w porządku".encode()),
        "ma komentarz archiwum"),
    Attack("entry-comment", lambda h, t: _swap(h, t, comment=b"OK"), "ma komentarz"),
    Attack("entry-count-lies", lambda h, t: replace(Forge(list(h)), central_count=len(h) + 1),
           "rekord końcowy deklaruje"),
    Attack("zipcrypto", lambda h, t: _swap(h, t, flags=0x801), "ZipCrypto"),
    Attack("bzip2", lambda h, t: _swap(h, t, method=12), "metodą nr 12"),
    Attack("version-past-6.3", lambda h, t: _swap(h, t, needed=84),
           "pozycja „{name}” wymaga wersji ZIP 8.4"),
    Attack("stored-size-lies", lambda h, t: _swap(
        h, t, size=len(next(e.data for e in h if e.name == t)) + 1000),
        "jest zapisana bez kompresji"),
    Attack("crc-wrong", lambda h, t: _swap(h, t, crc=0x12345678),
           "nie zgadza się z jej sumą kontrolną CRC-32"),
    Attack("bomb-300-mb", _bomb, "bomba kompresyjna"),
    Attack("bomb-declared-as-the-file", _bomb_declared_small,
           "pozycja „{name}” zawiera więcej danych niż deklarowane"),
]
AES_ATTACK = Attack("aes-in-a-report", _aes, "jest zaszyfrowana, a ten pakiet nigdy nie jest")


def wchar() -> int:
    """Bytes this process has written through write(2) and the like, so far."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise AssertionError("no wchar in /proc/self/io")
