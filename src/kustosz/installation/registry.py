"""The offices of an installation, and which one a command means (--office)."""

from __future__ import annotations

from pathlib import Path

from kustosz.config import CONFIG_NAME
from kustosz.errors import InputError
from kustosz.installation_layout import (
    INSTALLATION_NAME,
    is_installation,
    office_slugs,
    offices_folder,
)
from kustosz.words import count_pl


def slugs(root: Path) -> list[str]:
    """The offices, by slug: the folders of offices/ that hold a vault (its kustosz.toml)."""
    return office_slugs(root, CONFIG_NAME)


def _listed(names: list[str]) -> str:
    return ", ".join(names) if names else "—"


def resolve(root: Path, office: str | None) -> Path:
    """The data folder a command works in. A folder without installation.toml is a single
    office's vault, as before installations (``office`` is refused there). In an
    installation: the office named, or the only one; never a default among several."""
    if not is_installation(root):
        if office is not None:
            raise InputError(
                f"--office {office}: {root} is not an installation (it has no "
                f"{INSTALLATION_NAME}); leave --office out for a single office's vault",
                pl=f"--office {office}: {root} nie jest instalacją wielu urzędów (nie ma "
                   f"pliku {INSTALLATION_NAME}); dla skarbca jednego urzędu pomiń --office.")
        return root
    names = slugs(root)
    if office is not None:
        if office in names:
            return offices_folder(root) / office
        raise InputError(
            f"no office {office!r} in the installation {root}; its offices: {_listed(names)}",
            pl=f"W instalacji {root} nie ma urzędu „{office}”; jej urzędy: {_listed(names)}.")
    if len(names) == 1:
        return offices_folder(root) / names[0]
    if not names:
        raise InputError(
            f"the installation {root} has no offices yet: add one with "
            "`kustosz offices add NAME --preset-file FILE`",
            pl=f"Instalacja {root} nie ma jeszcze urzędów: dodaj urząd poleceniem "
               "`kustosz offices add NAZWA --preset-file PLIK`.")
    raise InputError(
        f"--office is needed: this installation has {len(names)} offices: {_listed(names)}",
        pl=f"Podaj --office NAZWA (albo KUSTOSZ_OFFICE): ta instalacja ma "
           f"{count_pl(len(names), 'urząd', 'urzędy', 'urzędów')}: {_listed(names)}; żaden "
           "nie jest domyślny.")
