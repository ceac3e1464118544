"""What `kustosz serve` is serving, recorded in the vault at start (vault_settings
"web.serving"): HTTPS given on the command line (`--tls-cert/--tls-key`) is in no file, and
`kustosz doctor` reads it here to check the certificate actually in use."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from kustosz.db.models import Setting
from kustosz.db.settings import put_setting

if TYPE_CHECKING:  # the web package is not loaded for this
    from kustosz.vault import Vault
    from kustosz.web.tls import Network, Tls

KEY = "web.serving"


def record(vault: Vault, host: str, port: int, tls: Tls | None,
           trusted_proxies: tuple[Network, ...]) -> None:
    fact = {"scheme": "https" if tls else "http", "host": host, "port": port,
            "tls_cert": str(tls.cert) if tls else None,
            "tls_key": str(tls.key) if tls else None,
            "trusted_proxies": [str(p) for p in trusted_proxies],
            "pid": os.getpid(), "started_at": datetime.now(UTC).isoformat(),
            "stopped_at": None}
    with vault.transaction() as s:  # nodes of one installation start together: an upsert
        put_setting(s, KEY, json.dumps(fact))


def stopped(vault: Vault) -> None:
    with vault.transaction() as s:
        row = s.get(Setting, KEY)
        if row is not None:
            fact = json.loads(row.value)
            if fact.get("pid") == os.getpid():
                fact["stopped_at"] = datetime.now(UTC).isoformat()
                row.value = json.dumps(fact)


def load(s: Session) -> dict[str, Any] | None:
    row = s.get(Setting, KEY)
    if row is None:
        return None
    try:
        fact = json.loads(row.value)
    except ValueError:
        return None
    return fact if isinstance(fact, dict) else None
