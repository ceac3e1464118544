"""What the documents can print, and how a text someone wrote is printed where they cannot.

One rule at both ends. An office's own text (the policy file) holding a character the
documents cannot print is refused when the policy is loaded (kustosz.policy.texts). A text a
person or a peer gave at run time — a requester's name, a caller's name from a CDR, a zone's
name, a reason — is kept exactly in the record and printed with each character the documents
cannot print shown as MARKER (render.py passes every document's data through `shown_in`), so
no field can stop a document: typst refuses a whole PDF/UA-1 document for one glyph its fonts
lack, an emoji in a name left the office without the form (issue 64).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

# The documents' font (templates/common.typ, label.typ, sign.typ); typst falls back to its other
# embedded fonts (New Computer Modern, DejaVu Sans Mono) for a character this one lacks. No
# system font is used, so a document is the same on every machine.
DOCUMENT_FONT = "Libertinus Serif"
# U+FFFD REPLACEMENT CHARACTER: Unicode's sign for "a character stood here that cannot be
# shown". Visible in print, found by a text search and read out by a screen reader; a person
# hardly types it, so it does not pass for their own text.
MARKER = "\ufffd"

# Unicode's Bidi_Control characters (PropList.txt). Invisible, and they reorder what follows:
# an override in a name would print the rest of the template's line backwards, so a document
# would say something its data do not. Shown as MARKER, refused in an office's text.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                          "\u2066\u2067\u2068\u2069")
# Known without asking typst (tests/test_documents_any_text.py checks it against typst): Latin
# letters with Polish, Latin-1 and Latin Extended-A, and the typographic punctuation of Polish
# texts. Not all of General Punctuation: the fonts lack U+2041, U+2043 and U+2053.
_PLAIN = re.compile("[\t\n\x20-\x7e\xa0-\u017f\u2010-\u2027\u2030-\u203a]*")
# The faces the templates print data in: regular, *bold*, _italic_ and both. The faces' glyphs
# differ (U+20A5 is in each but the bold italic).
_FACES = ("{}", "*{}*", "_{}_", "*_{}_*")
# Unassigned, private use (a font's glyph there means what the font maker chose) and
# surrogates (no character at all) are never printed.
_NEVER = frozenset({"Cn", "Co", "Cs"})

# The probe's head (templates/common.typ's font and language) and where typst's diagnostic
# names a line of it.
_HEAD = '#set document(title: "t")\n#set text(font: "{font}", lang: "pl")\n= t\n'
_LINE = re.compile(r"\.typ:(\d+):\d+")

# What typst said of each character (or letter with marks), asked once a process: the wheel's
# fonts decide, never a table here that could fall out of step with them.
_known: dict[str, bool] = {}


def typst_failed(exc: BaseException) -> bool:
    """Whether ``exc`` is typst's refusal or its panic. A panic inside typst (seen on a line
    of Arabic marks it could not shape) reaches Python as pyo3's PanicException, a
    BaseException, which no ``except Exception`` catches."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


def _escaped(item: str) -> str:
    return "".join(f"\\u{{{ord(c):x}}}" for c in item)


def _refused(items: list[str]) -> set[int] | None:
    """Which of ``items`` (a character, or one with its marks) typst cannot print in every
    face under PDF/UA-1, which refuses a missing glyph: their indexes, as its diagnostic names
    their lines; None when it failed without naming one (a panic). Each face of each item is
    a paragraph of its own: a mark after a space is drawn on the space, alone it may not be."""
    import typst  # noqa: PLC0415 - a heavy library, only for a character out of the ordinary

    head = _HEAD.format(font=DOCUMENT_FONT)
    body = "\n\n".join(face.format(f'#"{_escaped(item)}"') for item in items for face in _FACES)
    try:
        typst.compile((head + body + "\n").encode(), pdf_standards=["ua-1"],
                      ignore_system_fonts=True)
    except BaseException as exc:
        if not typst_failed(exc):
            raise
        first = head.count("\n") + 1  # paragraph k is on line first + 2k
        lines = {int(n) - first for n in _LINE.findall(str(getattr(exc, "diagnostic", "")))}
        named = {n // (2 * len(_FACES)) for n in lines if n >= 0 and n % 2 == 0}
        return {i for i in named if i < len(items)} or None
    return set()


def _learn(items: Iterable[str]) -> None:
    """Ask typst about each item not yet known, all at once: those it names are refused, the
    rest asked again to be sure; a set it refuses without naming is halved. A Chinese text of
    a thousand characters costs two compilations, not a thousand."""
    todo = sorted({i for i in items if i not in _known and not _PLAIN.fullmatch(i)})
    _known.update((i, False) for i in todo if any(
        c in BIDI_CONTROLS or unicodedata.category(c) in _NEVER for c in i))
    todo = [i for i in todo if i not in _known]
    pending = [todo] if todo else []
    while pending:
        part = pending.pop()
        refused = _refused(part)
        if refused == set():
            _known.update(dict.fromkeys(part, True))
        elif len(part) == 1:
            _known[part[0]] = False
        elif refused:
            _known.update((part[i], False) for i in refused)
            rest = [item for i, item in enumerate(part) if i not in refused]
            pending += [rest] if rest else []
        else:
            pending += [part[: len(part) // 2], part[len(part) // 2:]]


def printable(char: str) -> bool:
    """Whether the documents print ``char`` (or a character with its marks) as itself: a
    glyph in the documents' fonts in each face, no bidi control, nothing unassigned, private
    or a surrogate."""
    if _PLAIN.fullmatch(char):
        return True
    if char not in _known:
        _learn([char])
    return _known[char]


def _mark(char: str) -> bool:
    return unicodedata.category(char) in ("Mn", "Mc", "Me")  # a variation selector is one


def _extends(char: str) -> bool:
    """A character that only modifies the one before it: a combining mark, an emoji skin
    tone, a tag of a flag's sequence."""
    code = ord(char)
    return _mark(char) or 0x1F3FB <= code <= 0x1F3FF or 0xE0020 <= code <= 0xE007F


def _unprintable_end(text: str, start: int) -> int:
    """Where the character at ``start`` that cannot be printed ends as a person sees it: with
    what modifies it, a second regional indicator (a flag is a pair), and a character a ZWJ
    joins to it that cannot be printed either (👨‍👩‍👧 is one character to a reader)."""
    end = start + 1
    if 0x1F1E6 <= ord(text[start]) <= 0x1F1FF and end < len(text) and \
            0x1F1E6 <= ord(text[end]) <= 0x1F1FF:
        end += 1
    while end < len(text):
        if _extends(text[end]):
            end += 1
        elif text[end] == "\u200d" and end + 1 < len(text) and not printable(text[end + 1]):
            end += 2
        elif text[end] == "\u200d":
            end += 1
        else:
            break
    return end


def _printed(text: str) -> str:
    """What the documents print: NFC (the same text, in fewer marks), a line separator as a
    line break (typst justifies the line a U+2028 ends, spread over the page)."""
    return unicodedata.normalize("NFC", text.replace("\u2028", "\n"))


def _kept(piece: str) -> str:
    """A letter with the marks each of which prints on it alone."""
    return piece[0] + "".join(m for m in piece[1:] if _known.get(piece[0] + m, False))


def _pieces(text: str) -> list[tuple[str, bool]]:
    """``text`` cut where a reader sees characters: each one the fonts lack with what goes with
    it (False), and each they print with the marks after it (True); what typst must be asked
    about them asked in three sets (a thousand at once cost what one does)."""
    _learn(text)
    out: list[tuple[str, bool]] = []
    at = 0
    while at < len(text):
        end = at + 1
        if not printable(text[at]):
            end = _unprintable_end(text, at)
        else:
            while end < len(text) and _mark(text[end]) and printable(text[end]):
                end += 1
        out.append((text[at:end], printable(text[at])))
        at = end
    marked = [piece for piece, prints in out if prints and len(piece) > 1]
    _learn(marked)
    failed = [piece for piece in marked if not _known[piece]]
    _learn(piece[0] + mark for piece in failed for mark in piece[1:])
    _learn(_kept(piece) for piece in failed)
    return out


def _cluster(piece: str) -> str:
    """A letter and its marks as printed. Each prints alone, together they may not: typst
    shapes a mark with its letter's font (a Latin "a" with an Arabic fathatan U+064B is
    refused). The letter is kept with the marks that print on it, then a MARKER."""
    if len(piece) == 1 or printable(piece):
        return piece
    kept = _kept(piece)
    return (kept if kept != piece and printable(kept) else piece[0]) + MARKER


def shown(text: str) -> str:
    """``text`` as the documents print it: each character (with what modifies it) the fonts
    cannot print becomes one MARKER, everything else is kept as written."""
    text = _printed(text)
    if _PLAIN.fullmatch(text):
        return text
    return "".join(_cluster(piece) if prints else MARKER for piece, prints in _pieces(text))


def unprintable(text: str) -> list[str]:
    """The characters (each with its marks) of ``text`` that `shown` would not print as
    written, each once: what an office's own text may not hold (kustosz.policy.texts)."""
    text = _printed(text)
    if _PLAIN.fullmatch(text):
        return []
    return list(dict.fromkeys(piece for piece, prints in _pieces(text)
                              if not prints or _cluster(piece) != piece))


def shown_in(data: Any) -> Any:
    """``data`` with every text in it (not the keys, which the templates look up) `shown`."""
    if isinstance(data, str):
        return shown(data)
    if isinstance(data, dict):
        return {key: shown_in(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [shown_in(value) for value in data]
    return data
