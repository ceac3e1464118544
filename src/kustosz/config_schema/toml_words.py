"""The TOML parser's complaints in Polish (issue 66 item 5): tomllib words them in English
("Illegal character '\\n'"), and a Polish message must not carry them. Each of the parser's
messages (Python 3.11 tomllib._parser) has its Polish here; one it may add later is told in
general Polish words, its English kept for the English line."""

from __future__ import annotations

import re

_CHAR_PL = {"\n": "koniec wiersza", "\r": "znak powrotu karetki", "\t": "tabulator",
            "\x00": "znak NUL"}


def _char(quoted: str) -> str:
    """A character as the parser quotes it (Python's repr), named in Polish."""
    inner = quoted[1:-1]
    char = inner.encode().decode("unicode_escape") if inner.startswith("\\") else inner
    if char in _CHAR_PL:
        return _CHAR_PL[char]
    return f"„{char}” (U+{ord(char):04X})" if len(char) == 1 else f"„{char}”"


_WORDS: list[tuple[re.Pattern[str], str]] = [(re.compile(p), pl) for p, pl in [
    (r"^Illegal character (?P<c>'.*'|\".*\")$",
     "niedozwolony znak w tekście: {c} — tekst w cudzysłowie musi się skończyć w tym samym "
     "wierszu (tekst wielowierszowy ujmij w potrójny cudzysłów \"\"\")"),
    (r"^Found invalid character (?P<c>'.*'|\".*\")$", "niedozwolony znak: {c}"),
    (r"^Unterminated string$", "niezamknięty cudzysłów: tekst się nie kończy"),
    (r"^Unescaped '\\' in a string$",
     "ukośnik wsteczny \\ w tekście bez poprawnej sekwencji (napisz \\\\)"),
    (r"^Invalid hex value$", "błędny kod szesnastkowy znaku"),
    (r"^Escaped character is not a Unicode scalar value$", "kod znaku spoza Unicode"),
    (r"^Invalid statement$", "wiersz nie jest ani kluczem z wartością, ani nagłówkiem tabeli"),
    (r"^Invalid value$", "błędna wartość: tekst ujmij w cudzysłów"),
    (r"^Invalid date or datetime$", "błędna data lub godzina"),
    (r"^Invalid initial character for a key part$", "klucz zaczyna się od niedozwolonego znaku"),
    (r"^Expected '=' after a key in a key/value pair$", "po kluczu brak znaku „=”"),
    (r"^Expected ']' at the end of a table declaration$",
     "nagłówek tabeli nie kończy się znakiem „]”"),
    (r"^Expected ']]' at the end of an array declaration$",
     "nagłówek tablicy tabel nie kończy się znakami „]]”"),
    (r"^Expected (?P<c>'.*'|\".*\")$", "brak oczekiwanego {c}"),
    (r"^Unclosed array$", "niezamknięta lista: brak „]”"),
    (r"^Unclosed inline table$", "niezamknięta tabela w wierszu: brak „}}”"),
    (r"^Cannot overwrite a value$", "klucz albo tabela podana dwa razy"),
    (r"^Cannot declare .* twice$", "klucz albo tabela podana dwa razy"),
    (r"^Duplicate inline table key .*$", "klucz podany dwa razy w tabeli w wierszu"),
    (r"^Cannot (mutate immutable namespace|redefine namespace) .*$",
     "tabela zdefiniowana już wcześniej w inny sposób"),
]]


def toml_pl(message: str) -> str:
    """The parser's ``message`` (without its "(at line …)") in Polish."""
    for pattern, pl in _WORDS:
        found = pattern.match(message)
        if found:
            named = {k: _char(v) for k, v in found.groupdict().items()}
            return pl.format(**named)
    return "błąd składni pliku (szczegóły po angielsku poniżej)"
