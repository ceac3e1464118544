"""Where media bytes live, behind the `Storage` interface (kustosz.storage.base). Local folder
by default; an in-memory store for tests (kustosz.storage.memory). Nothing outside this
package builds a media path (tests/test_storage_interface.py greps for it)."""

from pathlib import Path

from kustosz.storage.base import Stat, Storage, StoredFile, copy_out, read_line
from kustosz.storage.local import LocalStorage

__all__ = ["LocalStorage", "Stat", "Storage", "StoredFile", "copy_out", "data_folder_store",
           "read_line"]


def data_folder_store(root: Path) -> Storage:
    """The store on the data folder ``root``'s own disk (`media/`): the vault's, unless its
    settings name an object store, and a restore's target (the folder being rebuilt). Nobody
    else makes a LocalStorage (tests/test_storage_interface.py)."""
    return LocalStorage(root)
