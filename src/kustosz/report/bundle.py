"""The signed bundle of a report: report.json, the same report as a PDF for people
(EXTRA_FILES: sprawozdanie.pdf), and the manifest listing each file's SHA-256 and the audit
head the report covers, signed Ed25519 with the office's key — custody.bundles.seal, the same
signature the copies' bundles carry, so one `openssl pkeyutl -verify` checks both
(docs/operations/accountability.md)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from kustosz import staging
from kustosz.custody.bundles import MANIFEST, PUBLIC_KEY, SIGNATURE, office_key, seal, write_zip
from kustosz.errors import InputError
from kustosz.fsutil import replace, sync_tree
from kustosz.report.build import REPORT_FILE, is_draft, to_bytes
from kustosz.report.pdf import PDF_FILE, write_pdf
from kustosz.vault import Vault

KIND = "accountability-report"
# A draft's manifest (build.DRAFT_FORMAT): signed like a report, so that it is known whole and
# whose, but of its own kind — `report verify` says it is no final report, and the kind is
# under the signature, so no one turns a draft into a final report unnoticed.
DRAFT_KIND = "accountability-report-draft"
STAGING = ".kustosz-report-"  # the folder a bundle is built in (kustosz.staging)
# The other forms of the same content (the PDF): each gets the vault, the report and the
# folder, writes its file there before the manifest is sealed, and returns its name.
EXTRA_FILES: list[Callable[[Vault, dict[str, Any], Path], str]] = [write_pdf]
# Every file a report's bundle holds: `report verify` refuses a ZIP with any other name
# (kustosz.zipread), and write() refuses to seal a bundle holding one.
NAMES = frozenset({REPORT_FILE, PDF_FILE, PUBLIC_KEY, MANIFEST, SIGNATURE})


def manifest_of(report: dict[str, Any], made_at: datetime) -> dict[str, Any]:
    head = report["integrity"]["covered_head"]
    draft = is_draft(report)
    manifest = {"kind": DRAFT_KIND if draft else KIND, "report_format": report["format"],
                "office": report["office"]["name"], "vault": report["office"]["vault"],
                "period": report["period"]["label"], "audit_head": head,
                "audit_verified": report["integrity"]["verified"],
                "made_at": made_at.isoformat()}
    if draft:
        manifest["draft_as_of"] = report["draft"]["as_of"]
    return manifest


def write(vault: Vault, report: dict[str, Any], out: Path, made_at: datetime) -> Path:
    """Write the bundle as the folder ``out``, or as a ZIP when ``out`` ends in .zip; never
    over something already there. It is built in a staging folder beside ``out`` and moved
    into place whole; what a killed run left there is removed first (kustosz.staging)."""
    if out.exists():
        raise InputError(f"{out} already exists; refusing to overwrite it",
                         pl=f"{out.name} już istnieje; nie zostanie nadpisany.")
    work = staging.fresh(out.parent, STAGING)
    try:
        folder = work / "bundle"
        folder.mkdir()
        (folder / REPORT_FILE).write_bytes(to_bytes(report))
        for extra in EXTRA_FILES:
            extra(vault, report, folder)
        seal(folder, manifest_of(report, made_at), office_key(vault.root))
        unknown = {p.name for p in folder.iterdir()} - NAMES
        assert not unknown, f"a report's bundle holds {unknown}: add them to NAMES"
        if out.suffix.lower() == ".zip":
            write_zip(folder, work / out.name, None)
            replace(work / out.name, out)
        else:
            sync_tree(folder)  # the files on disk before the folder appears, whole
            replace(folder, out, sync_source=False)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out
