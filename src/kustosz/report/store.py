"""The reports a vault has made: each a signed bundle folder under reports/ in the data folder
(accountability-2026-11, as `kustosz report accountability` writes by default), read back
from its manifest for the page that lists them; and the one way a report of a month is made
for the vault's own shelf (serve's monthly job, the page's button), recorded in the audit log."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kustosz.audit.log import append as audit
from kustosz.custody.bundles import MANIFEST
from kustosz.errors import InputError
from kustosz.keys import office_key
from kustosz.report import build, bundle, period, verify
from kustosz.report.pdf import PDF_FILE
from kustosz.vault import Vault

FOLDER = "reports"
PREFIX = "accountability-"


@dataclass(frozen=True)
class Made:
    label: str  # 2026-11
    folder: Path
    made_at: datetime
    audit_head: dict[str, object] | None
    audit_verified: bool  # the chain verified when the report was made
    verified: bool  # the bundle verifies now (files and signature)
    findings: int

    @property
    def pdf(self) -> Path:
        return self.folder / PDF_FILE


def folder_of(vault: Vault, label: str) -> Path:
    return vault.root / FOLDER / f"{PREFIX}{label}"


def exists(vault: Vault, label: str) -> bool:
    """A report of ``label`` is made: its folder is there with its manifest (bundle.write
    moves a whole folder into place, so a half-made one never has this name)."""
    return (folder_of(vault, label) / MANIFEST).is_file()


def _read(vault: Vault, folder: Path) -> Made | None:
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        report = json.loads((folder / build.REPORT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ok = verify.verify(folder, office_key(vault.root).public_key()).ok
    return Made(folder.name[len(PREFIX):], folder,
                datetime.fromisoformat(manifest.get("made_at")), manifest.get("audit_head"),
                bool(manifest.get("audit_verified")), ok,
                len(report.get("findings", [])) if isinstance(report, dict) else 0)


def made(vault: Vault) -> list[Made]:
    """Every report of the shelf, the newest period first."""
    root = vault.root / FOLDER
    if not root.is_dir():
        return []
    found = [_read(vault, f) for f in root.iterdir()
             if f.is_dir() and f.name.startswith(PREFIX) and (f / MANIFEST).is_file()]
    return sorted((m for m in found if m is not None), key=lambda m: m.label, reverse=True)


def one(vault: Vault, label: str) -> Made | None:
    return _read(vault, folder_of(vault, label)) if exists(vault, label) else None


def make(vault: Vault, label: str, actor: str, now: datetime | None = None,
         progress: Callable[[float, str], None] | None = None) -> Path:
    """The report of the month ``label`` on the shelf; one already made is refused."""
    now = now or datetime.now(UTC)
    p = period.parse(label, None, None, vault.policy.timezone)
    if exists(vault, p.label):
        raise InputError(f"the report {p.label} is made already",
                         pl=f"Sprawozdanie za {p.label} już sporządzono.")
    say = progress or (lambda _f, _n: None)
    say(0.05, "Zbieranie danych z rejestrów i indeksu")
    report = build.build(vault, p, now)
    say(0.6, "Składanie dokumentu PDF i podpisywanie")
    out = bundle.write(vault, report, folder_of(vault, p.label), now)
    with vault.transaction() as s:
        audit(s, actor, "report.made", p.label, {
            "folder": str(out), "findings": len(report["findings"]),
            "audit_head": report["integrity"]["covered_head"]})
    say(1.0, "Sprawozdanie gotowe")
    return out
