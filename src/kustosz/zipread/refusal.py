"""The refusal of a ZIP from outside: one error naming the archive, the entry and what is
wrong with it, in Polish and English, raised before anything of the archive is believed."""

from __future__ import annotations

from pathlib import Path

from kustosz.errors import InputError


class ZipRefused(InputError):
    """A ZIP judged unsafe to read: nothing of it was extracted, written or trusted."""


def refused(path: Path, en: str, pl: str) -> ZipRefused:
    """``en`` and ``pl`` say what is wrong (``pl`` a sentence, ending with a full stop)."""
    return ZipRefused(f"{path.name}: {en}; the archive is refused, nothing of it extracted",
                      pl=f"{path.name}: {pl} Archiwum odrzucono bez rozpakowywania.")
