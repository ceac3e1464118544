"""The rule for a bundle file's name (kustosz.zipread.names, issue 64 item 5), over many names:
every name it lets through lands inside the bundle's folder on Linux and on Windows and shows
what it holds; every name an office's files really carry (Polish letters, emoji, spaces,
folders) passes; and names it lets through together are distinct files everywhere."""

from __future__ import annotations

import ntpath
import posixpath
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from kustosz.zipread import names

TRICKY = st.sampled_from(["/", "\\", ".", "..", ":", " ", "\x00", "\n", "\x1b", "\u202e",
                          "\u2028", "C:", "ż", "Ż", "ó", "🎥", "👨‍👩‍👧", "a", "ß", "SS", "nul",
                          "COM1", "con"])
GOOD_CHARS = st.sampled_from([*"aąbcćdeęfghijklłmnńoóprsśtuwyzźżAĄĆĘŁŃÓŚŹŻ0123456789-_ ",
                              "🎥", "🙂", "👨‍👩‍👧", "Józef Żółć"])


@st.composite
def any_name(draw: st.DrawFn) -> str:
    return "".join(draw(st.lists(st.one_of(TRICKY, st.text(max_size=3)), max_size=12)))


@st.composite
def good_name(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        part = "".join(draw(st.lists(GOOD_CHARS, min_size=1, max_size=8))).strip() or "x"
        part = f"x{part}" if len(part) in (3, 4) else part  # never "con" or "com1"
        parts.append(part + draw(st.sampled_from(["", ".mp4", ".pdf", ".json"])))
    return "/".join(parts)


def _inside(name: str) -> bool:
    """Joined under a folder, on Linux and on Windows, it stays within the folder."""
    linux = posixpath.normpath(posixpath.join("/srv/pakiet", name))
    windows = ntpath.normpath(ntpath.join("C:\\pakiet", name))
    return linux.startswith("/srv/pakiet/") and windows.startswith("C:\\pakiet\\")


@settings(max_examples=2000)
@given(any_name())
def test_a_name_let_through_stays_inside_and_shows_what_it_holds(name: str) -> None:
    if names.problem(name) is not None:
        return
    assert _inside(name), name
    assert not any(unicodedata.category(c) == "Cc" for c in name)
    assert "\u202e" not in name and "\u2028" not in name
    parts = name.split("/")
    assert all(p not in ("", ".", "..") and p[-1] not in ". " for p in parts), name
    assert not ntpath.splitdrive(name)[0] and ":" not in name
    assert not any(p.split(".")[0].strip().upper() in ("CON", "NUL", "AUX", "PRN", "COM1")
                   for p in parts), name


@settings(max_examples=500)
@given(good_name())
def test_the_names_an_office_gives_pass(name: str) -> None:
    assert names.problem(name) is None, (name, names.problem(name))


@settings(max_examples=500)
@given(st.lists(st.one_of(good_name(), any_name()), max_size=6))
def test_names_let_through_together_are_distinct_files_everywhere(found: list[str]) -> None:
    if names.clash(found) is not None:
        return
    folded = [unicodedata.normalize("NFC", n).casefold() for n in found]
    assert len(set(folded)) == len(folded)
    for a in folded:
        for b in folded:
            assert not b.startswith(a + "/"), (a, b)


def test_the_words_name_each_problem() -> None:
    cases = {"../x": "człon „..”", "/etc/passwd": "ścieżkę bezwzględną",
             "a\\b": "ukośnik wsteczny", "C:x": "dwukropek", "a/": "jest folderem",
             "a//b": "pusty człon", "raport.": "kropką lub spacją",
             "a\u202eb": "kierunek tekstu", "a\nb": "znak sterujący", "": "nie ma nazwy",
             "x" * 1025: "dłuższą niż 1024", "media/NUL.mp4": "jak urządzenie",
             "com1": "jak urządzenie"}
    for name, words in cases.items():
        why = names.problem(name)
        assert why is not None and words in why[1], (name, why)
    assert names.clash(["Żółć.txt", unicodedata.normalize("NFD", "ŻÓŁĆ.TXT")]) is not None
    assert names.clash(["a", "a/b"]) == ("a", "a/b")
    assert names.q("a\u202eb\x1b") == "„a\\u202eb\\u001b”"
