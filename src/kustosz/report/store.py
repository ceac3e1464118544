"""The reports a vault has made: each a signed bundle folder under reports/ in the data folder
(accountability-2026-11, as `kustosz report accountability` writes by default), read back
from its manifest for the page that lists them; and the one way a report of a month is made
for the vault's own shelf (serve's monthly job, the page's button), recorded in the audit log.

Drafts — the running month so far (build's ``draft``) — lie apart, under reports/drafts/,
one folder per moment (accountability-2026-11-20261115T130500.000000Z): never on the shelf of
reports, the newest of a month kept, all of them removed once the month's report is made."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kustosz import staging
from kustosz.audit.log import append as audit
from kustosz.custody.bundles import MANIFEST
from kustosz.errors import InputError
from kustosz.keys import office_key
from kustosz.report import build, bundle, period, verify
from kustosz.report.pdf import PDF_FILE
from kustosz.vault import Vault

FOLDER = "reports"
PREFIX = "accountability-"
DRAFTS = "drafts"  # under FOLDER
STAMP = "%Y%m%dT%H%M%S.%fZ"


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


@dataclass(frozen=True)
class Draft:
    label: str  # 2026-11
    folder: Path
    as_of: datetime  # the moment its facts stand at
    verified: bool  # the bundle verifies now as a draft (files and signature)
    findings: int

    @property
    def pdf(self) -> Path:
        return self.folder / PDF_FILE


def clean_leftovers(vault: Vault) -> list[Path]:
    """Remove what a report's making killed mid-way left on the shelf (its staging folder,
    maybe holding a whole signed bundle that is not the shelf's report): serve's start does
    this, and every making does it first (bundle.write)."""
    return [*staging.clean(vault.root / FOLDER, bundle.STAGING),
            *staging.clean(vault.root / FOLDER / DRAFTS, bundle.STAGING)]


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
    forget_drafts(vault, p.label)  # the month's report is made: its drafts say less
    say(1.0, "Sprawozdanie gotowe")
    return out


def draft_folder(vault: Vault, label: str, as_of: datetime) -> Path:
    return vault.root / FOLDER / DRAFTS / f"{PREFIX}{label}-{as_of.astimezone(UTC):{STAMP}}"


def _draft(vault: Vault, folder: Path, label: str) -> Draft | None:
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        report = json.loads((folder / build.REPORT_FILE).read_text(encoding="utf-8"))
        as_of = datetime.fromisoformat(manifest["draft_as_of"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    verdict = verify.verify(folder, office_key(vault.root).public_key(), draft=True)
    return Draft(label, folder, as_of, verdict.ok and verdict.kind == bundle.DRAFT_KIND,
                 len(report.get("findings", [])) if isinstance(report, dict) else 0)


def drafts(vault: Vault, label: str) -> list[Draft]:
    """The drafts of ``label`` there are, the newest first."""
    root = vault.root / FOLDER / DRAFTS
    mark = f"{PREFIX}{label}-"
    if not root.is_dir():
        return []
    found = [_draft(vault, f, label) for f in root.iterdir()
             if f.is_dir() and f.name.startswith(mark) and (f / MANIFEST).is_file()]
    return sorted((d for d in found if d is not None), key=lambda d: d.as_of, reverse=True)


def latest_draft(vault: Vault, label: str) -> Draft | None:
    found = drafts(vault, label)
    return found[0] if found else None


def forget_drafts(vault: Vault, label: str, keep: Path | None = None) -> None:
    for d in drafts(vault, label):
        if d.folder != keep:
            shutil.rmtree(d.folder, ignore_errors=True)


def make_draft(vault: Vault, label: str, actor: str, now: datetime | None = None,
               progress: Callable[[float, str], None] | None = None) -> Path:
    """A draft of the running month ``label`` as of ``now``, beside (never on) the shelf;
    the month's older drafts are removed once it is there."""
    now = now or datetime.now(UTC)
    p = period.parse(label, None, None, vault.policy.timezone)
    say = progress or (lambda _f, _n: None)
    say(0.05, "Zbieranie danych z rejestrów i indeksu")
    report = build.build(vault, p, now, draft=True)
    say(0.6, "Składanie dokumentu PDF i podpisywanie")
    target = draft_folder(vault, p.label, now)
    target.parent.mkdir(parents=True, exist_ok=True)
    out = bundle.write(vault, report, target, now)
    with vault.transaction() as s:
        audit(s, actor, "report.draft_made", p.label, {
            "folder": str(out), "as_of": report["draft"]["as_of"],
            "findings": len(report["findings"]),
            "audit_head": report["integrity"]["covered_head"]})
    forget_drafts(vault, p.label, keep=out)
    say(1.0, "Sprawozdanie wstępne gotowe")
    return out
