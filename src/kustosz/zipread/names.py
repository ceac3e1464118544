"""What a file of a bundle may be called: a relative path of plain parts that lands inside the
bundle's folder on every system a receiver may unpack it on, and means one file there.

A name that escapes the folder (absolute, `..`, a drive letter), that Windows reads as another
name or as a device (a backslash, a colon, a part ending in a dot or a space, NUL, COM1), that
shows other text than it holds (control and direction characters) or that names a folder is
refused; so are two names that are one file where letters' case or their Unicode form does not
count (Windows, macOS), and a name that is a file and another's folder at once."""

from __future__ import annotations

import unicodedata

MAX_NAME_BYTES = 1024

# Characters that make a name display as something else: the controls, and those that turn
# the text's direction ("raport\u202enosj.exe" shows as "raportexe.json").
_DIRECTION = {0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}


def _hidden(ch: str) -> bool:
    code = ord(ch)
    return (code < 0x20 or 0x7F <= code < 0xA0 or code in _DIRECTION
            or unicodedata.category(ch) in ("Zl", "Zp"))


# Names Windows gives to devices, with any extension: "nul.txt" is no file there.
_DEVICES = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
            *(f"LPT{i}" for i in range(1, 10))}
SHOWN_CHARS = 200  # of a name in a message; the rest is "…"


def q(name: str) -> str:
    """A name from the archive quoted for a Polish message: its hidden characters shown as
    escapes (never sent to a terminal as they are), a long one cut."""
    text = "".join(f"\\u{ord(ch):04x}" if _hidden(ch) else ch for ch in name[:SHOWN_CHARS])
    return f"„{text}{'…' if len(name) > SHOWN_CHARS else ''}”"


def r(name: str) -> str:
    """The same for an English message (Python's quoting escapes what is not printable)."""
    return repr(name[:SHOWN_CHARS]) + ("…" if len(name) > SHOWN_CHARS else "")


def _part_problem(part: str) -> tuple[str, str] | None:
    if part in ("", ".", ".."):
        shown = part or "pusty"
        return (f"a part {part!r} (an empty part, '.' or '..' leads elsewhere)",
                f"zawiera człon „{shown}” (pusty człon, „.” albo „..” prowadzi gdzie indziej).")
    if part[-1] in ". ":
        return ("a part ending in a dot or a space (Windows would write another name)",
                "zawiera człon zakończony kropką lub spacją (Windows zapisałby inną nazwę).")
    if part.split(".")[0].strip().upper() in _DEVICES:
        return (f"a part {part!r} that Windows takes for a device",
                f"zawiera człon „{part}”, który Windows traktuje jak urządzenie.")
    return None


def problem(name: str) -> tuple[str, str] | None:
    """Why ``name`` cannot be a file of a bundle, in English and Polish; None when it can."""
    if not name:
        return "has no name", "nie ma nazwy."
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        return (f"a name longer than {MAX_NAME_BYTES} bytes",
                f"ma nazwę dłuższą niż {MAX_NAME_BYTES} bajtów.")
    if any(_hidden(ch) for ch in name):
        return ("a control or text-direction character in its name",
                "ma w nazwie znak sterujący albo zmieniający kierunek tekstu.")
    if name.startswith("/"):
        return ("an absolute path (outside the bundle)",
                "ma ścieżkę bezwzględną (wskazuje miejsce poza pakietem).")
    if "\\" in name:
        return ("a backslash in its name (a folder on Windows, leading anywhere)",
                "ma w nazwie ukośnik wsteczny „\\” (na Windows to folder, także poza pakietem).")
    if ":" in name:
        return ("a colon in its name (a drive letter or another stream on Windows)",
                "ma w nazwie dwukropek (na Windows litera dysku albo inny strumień pliku).")
    if name.endswith("/"):
        return "a folder (a bundle holds files only)", "jest folderem (pakiet zawiera tylko pliki)."
    for part in name.split("/"):
        if (why := _part_problem(part)) is not None:
            return why
    return None


def folded(name: str) -> str:
    """The name as a system that ignores letters' case and Unicode forms sees it."""
    return unicodedata.normalize("NFC", name).casefold()


def clash(names: list[str]) -> tuple[str, str] | None:
    """Two of ``names`` that are one file somewhere, or a file that is another's folder."""
    seen: dict[str, str] = {}
    for name in names:
        key = folded(name)
        if key in seen:
            return seen[key], name
        seen[key] = name
    for name in names:
        parts = folded(name).split("/")
        for i in range(1, len(parts)):
            folder = "/".join(parts[:i])
            if folder in seen:
                return seen[folder], name
    return None
