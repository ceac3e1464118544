"""Fixtures of the web tests: a vault with people, a camera with segments, a call and a copy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from web_helpers import Material, both_vault, make_material

from kustosz.vault import Vault


@pytest.fixture
def web_vault(tmp_path: Path, backend_url: str) -> Iterator[Vault]:
    v = both_vault(tmp_path / "vault", backend_url)
    yield v
    v.close()


@pytest.fixture
def sqlite_web_vault(tmp_path: Path) -> Iterator[Vault]:
    v = both_vault(tmp_path / "vault")
    yield v
    v.close()


@pytest.fixture
def material(web_vault: Vault, tmp_path: Path) -> Material:
    return make_material(web_vault, tmp_path)


@pytest.fixture
def sqlite_material(sqlite_web_vault: Vault, tmp_path: Path) -> Material:
    return make_material(sqlite_web_vault, tmp_path)
