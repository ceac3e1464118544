"""The signed bundle of a report: report.json, the same report as a PDF for people
(EXTRA_FILES: sprawozdanie.pdf), and the manifest listing each file's SHA-256 and the audit
head the report covers, signed Ed25519 with the office's key — custody.bundles.seal, the same
signature the copies' bundles carry, so one `openssl pkeyutl -verify` checks both
(docs/operations/accountability.md)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from kustosz.custody.bundles import office_key, seal, write_zip
from kustosz.errors import InputError
from kustosz.fsutil import replace, sync_tree
from kustosz.report.build import FORMAT, REPORT_FILE, to_bytes
from kustosz.report.pdf import write_pdf
from kustosz.vault import Vault

KIND = "accountability-report"
# The other forms of the same content (the PDF): each gets the vault, the report and the
# folder, writes its file there before the manifest is sealed, and returns its name.
EXTRA_FILES: list[Callable[[Vault, dict[str, Any], Path], str]] = [write_pdf]


def manifest_of(report: dict[str, Any], made_at: datetime) -> dict[str, Any]:
    head = report["integrity"]["covered_head"]
    return {"kind": KIND, "report_format": FORMAT, "office": report["office"]["name"],
            "vault": report["office"]["vault"], "period": report["period"]["label"],
            "audit_head": head, "audit_verified": report["integrity"]["verified"],
            "made_at": made_at.isoformat()}


def write(vault: Vault, report: dict[str, Any], out: Path, made_at: datetime) -> Path:
    """Write the bundle as the folder ``out``, or as a ZIP when ``out`` ends in .zip; never
    over something already there."""
    if out.exists():
        raise InputError(f"{out} already exists; refusing to overwrite it",
                         pl=f"{out.name} już istnieje; nie zostanie nadpisany.")
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".kustosz-report-", dir=out.parent))
    try:
        folder = work / "bundle"
        folder.mkdir()
        (folder / REPORT_FILE).write_bytes(to_bytes(report))
        for extra in EXTRA_FILES:
            extra(vault, report, folder)
        seal(folder, manifest_of(report, made_at), office_key(vault.root))
        if out.suffix.lower() == ".zip":
            write_zip(folder, out, None)
        else:
            sync_tree(folder)  # the files on disk before the folder appears, whole
            replace(folder, out, sync_source=False)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out
