"""The rules a bundle's ZIP is judged by, each with the words of its refusal (Polish for the
person who received the bundle, English for the log and the command line)."""

from __future__ import annotations

from pathlib import Path

from kustosz.zipread import names
from kustosz.zipread.names import q, r
from kustosz.zipread.refusal import ZipRefused, refused

STORED, DEFLATED, AES_METHOD = 0, 8, 99
ENCRYPTED, STRONG = 0x0001, 0x0040
# Bits a bundle may carry: encrypted, deflate's options, data descriptor, UTF-8 names.
ALLOWED_FLAGS = 0x0001 | 0x0002 | 0x0004 | 0x0008 | 0x0800
# Extra fields giving an entry another name or comment, which unzip shows instead.
RENAMING = {0x7075: "Info-ZIP Unicode path", 0x6375: "Info-ZIP Unicode comment"}
S_IFMT, S_IFREG, S_IFLNK, S_IFDIR = 0o170000, 0o100000, 0o120000, 0o040000
DOS_DIRECTORY = 0x10
AES_MAC = 10
AES_SALT = {1: 8, 2: 12, 3: 16}  # by the strength's number: 128, 192, 256 bits

_FIELD_PL = {"signature": "nie ma sygnatury nagłówka lokalnego",
             "name": "podaje inną nazwę",
             "flags": "podaje inne flagi",
             "method": "podaje inną metodę kompresji",
             "encryption": "podaje inne szyfrowanie",
             "sizes": "podaje inny rozmiar",
             "crc": "podaje inną sumę kontrolną CRC-32",
             "descriptor": "ma deskryptor danych niezgodny z katalogiem"}


def not_a_zip(path: Path, why: str) -> ZipRefused:
    return refused(path, f"not a readable ZIP ({why})", "nie jest czytelnym archiwum ZIP.")


def nothing_after(path: Path, comment: int, after: int) -> None:
    if after < 0:
        raise not_a_zip(path, "the end record's comment runs past the file")
    if after:
        raise refused(path, f"{after} bytes after the end of the archive",
                      f"po końcu archiwum jest {after} B dodatkowych danych.")
    if comment:
        raise refused(path, f"an archive comment of {comment} bytes (unzip prints it; a "
                      "bundle has none)",
                      f"ma komentarz archiwum ({comment} B), który unzip wyświetla; pakiet "
                      "Kustosza go nie ma.")


def multi_disk(path: Path) -> ZipRefused:
    return refused(path, "an archive split over several disks",
                   "jest archiwum podzielonym na kilka części (dysków).")


def bad_zip64(path: Path, name: str | None = None) -> ZipRefused:
    where = f" of entry {r(name)}" if name else ""
    where_pl = f" pozycji {q(name)}" if name else ""
    return refused(path, f"inconsistent ZIP64 fields{where}",
                   f"ma niespójne pola ZIP64{where_pl}.")


def name_encoding(path: Path, shown: str) -> ZipRefused:
    return refused(path, f"entry {r(shown)}: a name not marked UTF-8 (tools would read it "
                   "differently)",
                   f"pozycja {q(shown)} ma nazwę nieoznaczoną jako UTF-8; różne programy "
                   "odczytałyby ją różnie.")


def too_many(path: Path, count: int, limit: int) -> ZipRefused:
    return refused(path, f"{count} entries, more than the {limit} a bundle may have",
                   f"ma {count} pozycji, więcej niż {limit} dopuszczalnych w pakiecie.")


def central_too_big(path: Path, size: int) -> ZipRefused:
    return refused(path, f"a central directory of {size} bytes (too large)",
                   f"ma katalog centralny o rozmiarze {size} B (za duży).")


def central_damaged(path: Path) -> ZipRefused:
    return refused(path, "a damaged central directory", "ma uszkodzony katalog centralny.")


def count_differs(path: Path, declared: int, found: int) -> ZipRefused:
    return refused(path, f"the end record declares {declared} entries, the directory holds "
                   f"{found} or more bytes",
                   f"rekord końcowy deklaruje {declared} pozycji, a katalog centralny zawiera "
                   f"{found} lub więcej danych.")


def version_allowed(path: Path, need: int, name: str | None = None) -> None:
    """The ZIP version needed to read it: past 6.3, the last the format defines, a tool
    refuses it (Python's zipfile does) where another may read it."""
    if need & 0xFF > 63:
        of, of_pl = (f"entry {r(name)}", f"pozycja {q(name)}") if name else ("it", "archiwum")
        raise refused(path, f"{of} needs ZIP version {(need & 0xFF) / 10:.1f} (past 6.3)",
                      f"{of_pl} wymaga wersji ZIP {(need & 0xFF) / 10:.1f}, której format nie "
                      "zna (najnowsza to 6.3).")


def bad_extra(path: Path, name: str) -> ZipRefused:
    return refused(path, f"entry {r(name)}: malformed or repeated extra fields",
                   f"pozycja {q(name)} ma uszkodzone lub powtórzone pola dodatkowe.")


def extra_allowed(kind: int, path: Path, name: str) -> None:
    if kind in RENAMING:
        raise refused(path, f"entry {r(name)}: an extra field ({RENAMING[kind]}, 0x{kind:04x}) "
                      "that unzip shows in place of its name",
                      f"pozycja {q(name)} ma pole dodatkowe 0x{kind:04x} z inną nazwą, którą "
                      "unzip pokazuje zamiast nazwy pozycji.")


def local_differs(path: Path, name: str, field: str, other: str | None = None) -> ZipRefused:
    said = f" ({r(other)})" if other is not None else ""
    said_pl = f" ({q(other)})" if other is not None else ""
    return refused(path, f"entry {r(name)}: its local header says another {field}{said} than "
                   "the central directory (tools would show different files)",
                   f"nagłówek lokalny pozycji {q(name)} {_FIELD_PL[field]}{said_pl} niż katalog "
                   "centralny; różne programy pokazałyby różne pliki.")


def not_tiled(path: Path, before: str | None, name: str | None, gap: int,
              central: bool = False) -> ZipRefused:
    """Bytes between the parts of the archive (``gap`` > 0) or parts overlapping (< 0)."""
    if gap < 0:
        if name:
            return refused(path, f"entry {r(name)} overlaps what comes before it",
                           f"pozycja {q(name)} nachodzi na dane przed nią.")
        return refused(path, "the central directory overlaps what comes before it",
                       "katalog centralny nachodzi na dane przed nim.")
    if central:
        where, where_pl = "between the central directory and its end record", \
            "między katalogiem centralnym a rekordem końcowym"
    elif before is None:
        where, where_pl = "before the first entry", "przed pierwszą pozycją"
    elif name is None:
        where, where_pl = f"after the last entry {r(before)}", f"po ostatniej pozycji {q(before)}"
    else:
        where, where_pl = f"between entries {r(before)} and {r(name)}", \
            f"między pozycjami {q(before)} i {q(name)}"
    return refused(path, f"{gap} bytes {where} that belong to no entry (they may hide one)",
                   f"{where_pl} jest {gap} B nienależących do żadnej pozycji (mogą ukrywać "
                   "inną pozycję).")


def entry_allowed(path: Path, name: str, made_by: int, external: int, flags: int,
                  comment: bytes) -> None:
    """A plain file: no link, folder or device (by the Unix mode or the DOS attribute), no
    flags a bundle never carries, no comment."""
    kind = (external >> 16) & S_IFMT
    if kind == S_IFLNK:
        raise refused(path, f"entry {r(name)} is a symbolic link",
                      f"pozycja {q(name)} jest dowiązaniem symbolicznym; pakiet zawiera tylko "
                      "zwykłe pliki.")
    if kind == S_IFDIR or external & DOS_DIRECTORY:
        raise refused(path, f"entry {r(name)} is a folder",
                      f"pozycja {q(name)} jest folderem; pakiet zawiera tylko zwykłe pliki.")
    if kind not in (0, S_IFREG):
        raise refused(path, f"entry {r(name)} is a special file (mode {kind:o})",
                      f"pozycja {q(name)} jest plikiem specjalnym (typ {kind:o}); pakiet zawiera "
                      "tylko zwykłe pliki.")
    if flags & ~ALLOWED_FLAGS:
        raise refused(path, f"entry {r(name)}: flags 0x{flags:04x} a bundle never carries",
                      f"pozycja {q(name)} ma flagi 0x{flags:04x}, których pakiet nie używa.")
    if comment:
        raise refused(path, f"entry {r(name)} has a comment (unzip prints it)",
                      f"pozycja {q(name)} ma komentarz, który unzip wyświetla; pakiet go nie ma.")


def encryption_of(flags: int, method: int, aes: bytes | None, path: Path,
                  name: str) -> tuple[int, int | None, int]:
    """(compression method, AES strength or None, AES version) of an entry: stored or
    deflated, plain or WinZip AES; ZipCrypto and other methods are refused."""
    encrypted = bool(flags & ENCRYPTED)
    if method == AES_METHOD:
        if not encrypted or aes is None or len(aes) != 7 or aes[2:4] != b"AE":
            raise refused(path, f"entry {r(name)}: a damaged AES header",
                          f"pozycja {q(name)} ma uszkodzony nagłówek szyfrowania AES.")
        version, strength, inner = int.from_bytes(aes[:2], "little"), aes[4], \
            int.from_bytes(aes[5:7], "little")
        if version not in (1, 2) or strength not in (1, 2, 3):
            raise refused(path, f"entry {r(name)}: a damaged AES header",
                          f"pozycja {q(name)} ma uszkodzony nagłówek szyfrowania AES.")
        method_allowed(inner, path, name)
        return inner, strength, version
    if encrypted:
        raise refused(path, f"entry {r(name)} is encrypted with ZipCrypto (Kustosz encrypts "
                      "with AES-256 only)",
                      f"pozycja {q(name)} jest zaszyfrowana słabym szyfrem ZipCrypto; Kustosz "
                      "szyfruje wyłącznie AES-256.")
    if aes is not None:
        raise refused(path, f"entry {r(name)}: an AES header on a plain entry",
                      f"pozycja {q(name)} ma nagłówek AES, choć nie jest zaszyfrowana.")
    method_allowed(method, path, name)
    return method, None, 0


def sizes_agree(path: Path, name: str, method: int, aes: int | None, csize: int,
                usize: int) -> None:
    """A stored entry holds its bytes as they are (with AES's salt, check and MAC around)."""
    extra = 0 if aes is None else AES_SALT[aes] + 2 + AES_MAC
    if method == STORED and csize != usize + extra:
        raise refused(path, f"entry {r(name)} is stored, declaring {usize} bytes in {csize}",
                      f"pozycja {q(name)} jest zapisana bez kompresji, a deklaruje {usize} B "
                      f"przy {csize} B zapisanych.")


def method_allowed(method: int, path: Path, name: str) -> None:
    if method not in (STORED, DEFLATED):
        raise refused(path, f"entry {r(name)}: compression method {method} (a bundle is "
                      "stored or deflated)",
                      f"pozycja {q(name)} jest skompresowana metodą nr {method}; pakiet może "
                      "być tylko bez kompresji albo deflate.")


def names_allowed(path: Path, found: list[str], allowed: frozenset[str] | None) -> None:
    """Each name safe, no two the same file, and (for a report) only the bundle's own."""
    for name in found:
        if (why := names.problem(name)) is not None:
            raise refused(path, f"entry {r(name)}: {why[0]}", f"pozycja {q(name)} {why[1]}")
    if (pair := names.clash(found)) is not None:
        first, second = pair
        if first == second:
            raise refused(path, f"two entries named {r(first)} (unzip would show both, or "
                          "either)",
                          f"dwie pozycje mają tę samą nazwę {q(first)}; programy do "
                          "rozpakowywania pokazałyby jedną z nich albo obie.")
        raise refused(path, f"entries {r(first)} and {r(second)} are one file where letters' "
                      "case or form does not count, or one is the other's folder",
                      f"pozycje {q(first)} i {q(second)} to ten sam plik na systemach, które "
                      "nie rozróżniają wielkości liter lub zapisu znaków, albo jedna jest "
                      "folderem drugiej.")
    if allowed is not None:
        for name in found:
            if name not in allowed:
                raise refused(path, f"entry {r(name)} is not a file of this bundle (expected "
                              f"only {', '.join(sorted(allowed))})",
                              f"pozycja {q(name)} nie należy do pakietu (oczekiwane wyłącznie: "
                              f"{', '.join(sorted(allowed))}).")


def ratio_allowed(path: Path, name: str, csize: int, usize: int, limit: int) -> None:
    """A compression bomb: more than ``limit`` times its stored bytes (past 1 MiB)."""
    if usize > (1 << 20) and usize > limit * max(csize, 1):
        raise refused(path, f"entry {r(name)} would expand from {csize} to {usize} bytes "
                      f"(over {limit} times: a compression bomb)",
                      f"pozycja {q(name)} rozpakowałaby się z {csize} B do {usize} B (ponad "
                      f"{limit} razy więcej) — to bomba kompresyjna.")
