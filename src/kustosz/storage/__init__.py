"""Where media bytes live, behind the `Storage` interface (kustosz.storage.base). Local folder
by default; an in-memory store for tests (kustosz.storage.memory). Nothing outside this
package builds a media path (tests/test_storage_interface.py greps for it)."""

from kustosz.storage.base import Stat, Storage, StoredFile, copy_out, read_line
from kustosz.storage.local import LocalStorage

__all__ = ["LocalStorage", "Stat", "Storage", "StoredFile", "copy_out", "read_line"]
