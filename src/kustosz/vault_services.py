"""The one way to reach a vault's long-lived services (issue 32 item 2): the segment index's
batch, the upload queue, the disk watch, the job runner — each made on first use by the
module that owns it, kept by type in the vault's `Services`, and let go when the vault
closes. A reader following a camera segment finds `vault.services.of(SegmentIndex, ...)`
where the index is made, instead of an attribute patched onto the vault or a registry of
weak references.

It knows no service's type (they live in the layers above the vault): each is keyed by its
own class, so `of(SegmentIndex, make)` is typed `SegmentIndex` for the type checker and the
reader alike. Stopping a running service stays its owner's work (serve stops the job runner
and the recorders); closing the vault only drops what it holds."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class Services:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._held: dict[type[Any], Any] = {}

    def get(self, kind: type[T]) -> T | None:
        """The service of this type, or None while none was made or put."""
        with self._lock:
            found = self._held.get(kind)
        return found if found is None or isinstance(found, kind) else None

    def of(self, kind: type[T], make: Callable[[], T]) -> T:
        """The service of this type, made by ``make`` the first time (once, whichever thread
        asks first)."""
        with self._lock:
            found = self._held.get(kind)
            if found is None:
                found = make()
                if not isinstance(found, kind):
                    raise TypeError(f"made a {type(found).__name__}, not a {kind.__name__}")
                self._held[kind] = found
            return found

    def put(self, kind: type[T], service: T) -> T:
        """Use ``service`` from now on (a node's own upload folder, a test's runner)."""
        if not isinstance(service, kind):
            raise TypeError(f"a {type(service).__name__} is not a {kind.__name__}")
        with self._lock:
            self._held[kind] = service
        return service

    def drop(self, kind: type[Any], service: object | None = None) -> None:
        """Forget the service of this type (only if it is ``service``, when one is given)."""
        with self._lock:
            if service is None or self._held.get(kind) is service:
                self._held.pop(kind, None)

    def close(self) -> None:
        with self._lock:
            self._held.clear()
