"""How a refusal on the command line reads (cli.common.fails_cleanly): the Polish words first,
for the office's people, then the English. Every InputError, ConfigError, NotFound and
KustoszError raised in src/ has its Polish (tests/test_error_polish.py); an error without one
(some subclasses' still) is one English line."""

from __future__ import annotations


def polish_first(lines: list[str]) -> bool:
    """Whether the refusal's first line is its Polish one — or, for an error with no Polish,
    its English one, with no Polish line anywhere after it."""
    said = [line.strip() for line in lines if line.strip()]
    if not said:
        return False
    if said[0].startswith("błąd:"):
        return True
    return said[0].startswith("error:") and not any(s.startswith("błąd:") for s in said)
