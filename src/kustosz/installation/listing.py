"""What `kustosz offices list` says of each office."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from kustosz.db.custody import User
from kustosz.db.models import AuditEntry
from kustosz.installation.registry import slugs
from kustosz.installation_layout import offices_folder
from kustosz.vault import Vault


@dataclass
class OfficeRow:
    slug: str
    name: str  # the office's name, as its preset gives it
    scope: str  # where its database lies: its schema and role, or its SQLite file
    users: int
    created_at: datetime | None  # its first audit entry (vault.init)
    vault: Vault  # closed: its policy says the office's zone to show times in


def scope_of(vault: Vault) -> str:
    url = vault.config.database_url
    if not url:
        return f"SQLite: {Path(vault.root.parent.name) / vault.root.name / 'kustosz.db'}"
    parsed = make_url(url)
    options = parsed.query.get("options", "")
    options = " ".join(options) if isinstance(options, tuple) else options
    path = options.partition("search_path=")[2].split()[0] if "search_path=" in options \
        else "?"
    return f"PostgreSQL: schemat/schema {path}, rola/role {parsed.username}"


def row_of(vault: Vault, slug: str) -> OfficeRow:
    with vault.reading() as s:
        users = s.execute(select(func.count()).select_from(User)).scalar_one()
        created = s.execute(select(AuditEntry.at).order_by(AuditEntry.seq).limit(1)).scalar()
    return OfficeRow(slug, vault.policy.office_name, scope_of(vault), users, created, vault)


def rows(root: Path, actor: str) -> list[OfficeRow]:
    """One row an office, by slug; each office's vault opened as its own role."""
    out = []
    for slug in slugs(root):
        vault = Vault.open(offices_folder(root) / slug, actor=actor)
        try:
            out.append(row_of(vault, slug))
        finally:
            vault.close()
    return out
