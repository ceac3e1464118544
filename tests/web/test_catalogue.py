"""The interface's English is a gettext catalogue read with Babel (issue 51 item 5): the file
parses strictly, every entry is translated and keeps its placeholders, nothing is written twice,
and what the file says is what the pages say."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.pofile import PoFileError, read_po

from kustosz.web import i18n

PLACEHOLDER = re.compile(r"\{(\w*)\}")


Entry = tuple[str | tuple[str, ...], str | tuple[str, ...], bool, set[str]]


def entries() -> list[Entry]:
    """Each message: its id, its translation, whether fuzzy, and the placeholders its
    translator comment says the code also gives ("also given: title")."""
    with i18n.CATALOGUE.open("rb") as f:
        catalog = read_po(f, abort_invalid=True)
    return [(m.id, m.string or "", m.fuzzy,  # type: ignore[misc]
             {w.strip() for c in m.auto_comments if c.startswith("also given:")
              for w in c.split(":", 1)[1].split("(")[0].split(",")})
            for m in catalog if m.id]


def test_the_catalogue_reads_strictly_and_every_entry_is_translated() -> None:
    found = entries()
    assert len(found) > 1000
    untranslated = [i for i, s, _, _ in found if not s or (isinstance(s, tuple) and not all(s))]
    fuzzy = [i for i, _, f, _ in found if f]
    assert untranslated == [] and fuzzy == [], (untranslated[:5], fuzzy[:5])


def test_each_translation_keeps_the_placeholders_of_its_polish() -> None:
    # translate() fills {names} after the lookup: one lost or misspelt is a KeyError on a page
    wrong = []
    for mid, string, _, given in entries():
        ids = mid if isinstance(mid, tuple) else (mid,)
        strings = string if isinstance(string, tuple) else (string,)
        polish = set(PLACEHOLDER.findall(ids[0]))
        # a sentence whose comment names other values the code gives may word it with those
        # instead; any other must keep exactly the Polish ones
        must = set() if given else polish
        wrong += [(ids[0], s) for s in strings
                  if not must <= set(PLACEHOLDER.findall(s)) <= polish | given]
    assert wrong == [], wrong[:5]


def test_no_message_is_written_twice() -> None:
    # Babel keeps the last of two equal msgids without a word: the first translation is lost
    text = i18n.CATALOGUE.read_text(encoding="utf-8")
    keys = re.findall(r'^(?:msgctxt "([^"]*)"\n)?msgid "(.*(?:\n".*")*)"$', text, re.M)
    twice = [k for k, n in Counter(keys).items() if n > 1 and k[1]]
    assert twice == [], twice[:5]


def test_the_pages_say_what_the_file_says(tmp_path: Path) -> None:
    # a catalogue made from the shipped one with one entry changed and one marked fuzzy: the
    # loader reads the change and skips the fuzzy entry (a translator's "not checked yet")
    text = i18n.CATALOGUE.read_text(encoding="utf-8")
    text = text.replace('msgid "Pulpit"\nmsgstr "Dashboard"',
                        'msgid "Pulpit"\nmsgstr "Overview"', 1)
    text = text.replace('msgid "Wyloguj"\nmsgstr "Log out"',
                        '#, fuzzy\nmsgid "Wyloguj"\nmsgstr "Sign off"', 1)
    changed = tmp_path / "kustosz.po"
    changed.write_text(text, encoding="utf-8")
    words, counted = i18n._tables(i18n._load(changed))
    assert words["Pulpit"] == "Overview"
    assert "Wyloguj" not in words
    assert counted["plik"] == ("file", "files")
    assert i18n.english("Pulpit") == "Dashboard"  # the shipped file, as the app reads it
    assert i18n.plural_in("en", 2, "plik", "pliki", "plików") == "files"
    assert i18n.plural_in("pl", 5, "plik", "pliki", "plików") == "plików"


def test_a_broken_catalogue_is_refused_at_load(tmp_path: Path) -> None:
    bad = tmp_path / "kustosz.po"
    bad.write_text('msgid "Pulpit"\nnot a keyword\nmsgstr "Dashboard"\n', encoding="utf-8")
    with pytest.raises(PoFileError, match="misformatted keyword"):
        i18n._load(bad)


def test_no_catalogue_is_written_in_python() -> None:
    # the translations live in the .po only: i18n.py keeps counts and value patterns (code)
    source = Path(i18n.__file__).read_text(encoding="utf-8")
    assert "EN: dict[str, str] = {" not in source
    assert len(source.splitlines()) < 400
