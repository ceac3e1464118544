"""Where media bytes live. Local folder by default."""

from kustosz.storage.local import LocalStorage, StoredFile

__all__ = ["LocalStorage", "StoredFile"]
