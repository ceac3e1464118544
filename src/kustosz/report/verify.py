"""`kustosz report verify`: a report bundle checked offline — every file against the manifest,
the manifest against its Ed25519 signature — by custody.bundles.verify_bundle, the copies'
check; and that the bundle is a report. With the office's key given (or the vault's own), a
bundle signed by another vault's key is refused."""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kustosz.custody.bundles import MANIFEST, PUBLIC_KEY, Verdict, verify_bundle
from kustosz.errors import InputError
from kustosz.report.build import FORMAT
from kustosz.report.bundle import KIND


def _kind(path: Path) -> str | None:
    """The manifest's kind, from a folder or a ZIP (read without trusting it: the signature
    check that follows decides)."""
    if path.is_dir():
        body = (path / MANIFEST).read_bytes() if (path / MANIFEST).is_file() else b"{}"
    else:
        import pyzipper  # noqa: PLC0415 - heavy; only a ZIP needs it

        try:
            with pyzipper.AESZipFile(path) as z:
                body = z.read(MANIFEST) if MANIFEST in z.namelist() else b"{}"
        except (pyzipper.BadZipFile, RuntimeError, OSError):
            body = b"{}"
    try:
        manifest = json.loads(body)
    except ValueError:
        return None
    return manifest.get("kind") if isinstance(manifest, dict) else None


def _unreadable(path: Path, why: str) -> str | None:
    """The problem of a bundle folder whose manifest or key cannot be read, naming the file."""
    if not path.is_dir():
        return None
    if (path / MANIFEST).is_file() and f"{MANIFEST} is not" in why:
        return f"{MANIFEST}: changed (no longer a readable manifest)"
    if (path / PUBLIC_KEY).is_file() and why.startswith(f"{PUBLIC_KEY} is not"):
        return f"{PUBLIC_KEY}: changed (no longer a readable public key)"
    return None


def verify(path: Path, public_key: Ed25519PublicKey | None = None) -> Verdict:
    """The bundle's verdict; problems name each altered, added or removed file."""
    if not path.exists():
        raise InputError(f"{path} does not exist", pl=f"{path.name} nie istnieje.")
    try:
        verdict = verify_bundle(path, public_key)
    except InputError as exc:
        # A byte changed inside the manifest or the key leaves it unreadable: that is a
        # changed file of this bundle (named, as any other), not a question of input.
        damaged = _unreadable(path, str(exc))
        if damaged is None:
            raise
        return Verdict(ok=False, problems=[damaged])
    kind = _kind(path)
    if kind != KIND:
        verdict.problems.insert(0, f"{MANIFEST}: not an accountability report "
                                   f"(kind {kind!r}, expected {KIND!r}; {FORMAT})")
        verdict.ok = False
    return verdict
