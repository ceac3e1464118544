"""One cache of compiled SQL for all of a test process's engines of the same kind (issue 52
item 7).

SQLAlchemy keeps the SQL it compiled from each statement in a cache of the engine's own,
keyed by the engine's dialect object. A program opens its vault once and keeps the engine,
so it compiles each statement once; the test process opens a new vault, with a new engine
and an empty cache, for nearly every test, and compiled the same few hundred statements
again each time (compiling was 8-11 % of the web and custody tests' CPU).

Here every engine's cache is a view of one store, keyed by what the compiled SQL depends on
in the dialect (its class, the server's version, the parameter style, the driver) instead of
by the dialect object: two engines of the same kind then share what either compiled. The
compiled object keeps the dialect it was made with; an equivalent one (same class, same
settings) gives the same bind and result processing. Schemas differ between test vaults only
by the connection's search_path, never in the SQL. KUSTOSZ_TEST_COMPILE_EACH=1 turns it off;
tests/test_compile_cache.py checks that engines share it and that rows come back right on
both backends.
"""

from __future__ import annotations

import os
import weakref
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.orm import Mapper
from sqlalchemy.util import LRUCache

# Each test's statements are a few hundred; the whole suite's, some thousands.
SIZE = 20_000
_stores: dict[tuple[Any, ...], LRUCache[Any, Any]] = {}


def kind_of(dialect: Dialect) -> tuple[Any, ...]:
    """What compiled SQL depends on in a dialect, beyond the statement itself."""
    return (type(dialect), dialect.server_version_info, dialect.paramstyle,
            dialect.positional, getattr(dialect, "use_insertmanyvalues", None),
            getattr(dialect, "insertmanyvalues_page_size", None),
            getattr(dialect, "_json_serializer", None),
            getattr(dialect, "_json_deserializer", None),
            getattr(dialect, "isolation_level", None))


class SharedCompiled:
    """A compiled cache as SQLAlchemy calls it (``get``, ``[key] =``), the key's dialect
    replaced by its kind; ``owner``: whose store (the engines', or one ORM mapper's)."""

    def __init__(self, owner: Any = "engines") -> None:
        self.owner = owner
        self.hits = 0

    def _where(self, key: tuple[Any, ...]) -> tuple[LRUCache[Any, Any], tuple[Any, ...]]:
        where = (self.owner, kind_of(key[0]))
        store = _stores.get(where)
        if store is None:
            store = _stores[where] = LRUCache(SIZE)
        return store, key[1:]

    def get(self, key: tuple[Any, ...], default: Any = None) -> Any:
        store, rest = self._where(key)
        found = store.get(rest, default)
        if found is not default:
            self.hits += 1
        return found

    def __setitem__(self, key: tuple[Any, ...], value: Any) -> None:
        store, rest = self._where(key)
        store[rest] = value

    def __len__(self) -> int:
        return sum(len(s) for (owner, _), s in _stores.items() if owner == self.owner)

    def clear(self) -> None:  # Engine.clear_compiled_cache
        for (owner, _), store in _stores.items():
            if owner == self.owner:
                store.clear()


def install() -> None:
    """Every Engine made after this in the process uses the shared store."""
    if os.environ.get("KUSTOSZ_TEST_COMPILE_EACH") or getattr(Engine, "_kt_shared", False):
        return
    original = Engine.__init__

    def shared_init(self: Engine, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        if self._compiled_cache is not None:
            self._compiled_cache = SharedCompiled()  # type: ignore[assignment]

    Engine.__init__ = shared_init  # type: ignore[method-assign]
    Engine._kt_shared = True  # type: ignore[attr-defined]
    # The ORM's flush compiles its INSERTs and UPDATEs into a cache of each mapper's (100
    # entries, keyed by the dialect too): one store per mapper, shared the same way.
    # Keyed by the mapper itself, not its id(): a test module's mapper that is collected
    # could hand its id, and so its store, to another.
    per_mapper: weakref.WeakKeyDictionary[Mapper[Any], SharedCompiled] = \
        weakref.WeakKeyDictionary()

    def mapper_cache(mapper: Mapper[Any]) -> SharedCompiled:
        found = per_mapper.get(mapper)
        if found is None:
            found = per_mapper[mapper] = SharedCompiled(("mapper", weakref.ref(mapper)))
        return found

    Mapper._compiled_cache = property(mapper_cache)  # type: ignore[assignment,method-assign]
