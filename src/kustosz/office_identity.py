"""Which installation's office a vault is, kept in the vault's own database (issue 67).

A folder can be named in many ways — a link to it, a copy of it, a second `kustosz.toml`
pointing at its database, a backup of it restored — and each opens the same office's
material. So what the office is must be a fact of the office itself: the `vault_settings`
row `installation_office` ({"installation": …, "slug": …}), written when the office is made,
adopted or restored in an installation's offices/, at the installation's `serve` and at a
command on it there (an office from before this row), and carried by its backups. The support gate
(kustosz.cli.office_gate), a backup's manifest and `kustosz restore` ask it; a path is only
where it is first learned.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.db.models import Setting
from kustosz.db.settings import put_setting
from kustosz.installation_layout import office_of

if TYPE_CHECKING:
    from kustosz.vault import Vault

KEY = "installation_office"


def of(session: Session) -> dict[str, str] | None:
    """The office this vault is, or None for a single office's vault."""
    value = session.execute(select(Setting.value).where(Setting.key == KEY)).scalar_one_or_none()
    if not value:
        return None
    found = json.loads(value)
    return {"installation": str(found.get("installation", "")), "slug": str(found.get("slug", ""))}


def learn(session: Session, root: Path) -> None:
    """Record that the vault at ``root`` is an installation's office, when its folder says so
    (the first opening in offices/<slug>/, made by `offices add`, `adopt` or `restore`, or
    an installation from before this record). A vault outside an installation keeps what
    its row says: a link, a copy or a restored backup of an office is that office still."""
    where = office_of(root.resolve())
    if where is None or of(session) == where:
        return
    # The folder in an installation is what the office is now (restored into another
    # installation, it is that installation's): it replaces what the row said.
    put_setting(session, KEY, json.dumps(where, ensure_ascii=False, sort_keys=True))


def settle(vault: Vault) -> None:
    """``learn`` in a transaction of its own, for a vault just made, adopted, restored or
    opened by the installation's `serve`."""
    with vault.transaction() as s:
        learn(s, vault.root)
