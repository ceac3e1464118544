"""What the modules below `kustosz.vault` need of an open vault: its folder, its settings and
its database sessions. The vault calls down into them (opening the secrets key, writing an
audit checkpoint after a custody action), so they are typed against this protocol rather
than importing the `Vault` class above them."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from kustosz.config import VaultConfig


class VaultHandle(Protocol):
    root: Path
    config: VaultConfig
    engine: Engine

    def transaction(self) -> AbstractContextManager[Session]: ...

    def reading(self) -> AbstractContextManager[Session]: ...
