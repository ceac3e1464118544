"""The whole custody flow (request → hold → sweep → decision → copy → verify → handover →
destruction, tests/custody/test_custody_flow.py) on the in-memory store, on SQLite and
PostgreSQL: the storage interface is all the flow needs (issue 15 item 2) — nothing reaches
the data folder's media by path, or it would find nothing there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from test_custody_flow import test_video_request_to_destruction  # noqa: F401 - run here

from kustosz.storage.local import LocalStorage
from kustosz.storage.memory import MemoryStorage
from kustosz.vault import Vault


@pytest.fixture
def vault(vault: Vault) -> Vault:
    """The same vault with its media in memory (the local store is made unusable below)."""
    # The flow sweeps as of days ahead: the store's lock is judged by the same time
    # (issue 28: no one deletes before retain-until, the memory store included).
    vault.storage = MemoryStorage(vault.root / "tmp",
                                  clock=lambda: datetime.now(UTC) + timedelta(days=3650))
    return vault


@pytest.fixture(autouse=True)
def _no_local_media(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("put", "put_file", "put_stream", "open", "stat", "exists", "path", "fs_path",
                 "local_path", "checksum", "hash_of", "delete", "delete_many", "iterate"):
        monkeypatch.setattr(LocalStorage, name, _forbidden(name))


def _forbidden(name: str):  # type: ignore[no-untyped-def]
    def call(*_args: object, **_kw: object) -> None:
        raise AssertionError(f"LocalStorage.{name} was used with the in-memory store in place")
    return call


def test_media_lives_only_in_memory(vault: Vault) -> None:
    assert isinstance(vault.storage, MemoryStorage)
    assert not any(p.is_file() for p in (vault.root / "media").rglob("*"))
