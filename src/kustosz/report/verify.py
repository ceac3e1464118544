"""`kustosz report verify`: a report bundle checked offline — every file against the manifest,
the manifest against its Ed25519 signature — by custody.bundles.verify_bundle, the copies'
check; and that the bundle is a report. With the office's key given (or the vault's own), a
bundle signed by another vault's key is refused. A ZIP is read as kustosz.zipread reads every
bundle's, never extracted, with a report's own rules: its five files and nothing else, never
encrypted (issue 64 item 5)."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kustosz import zipread
from kustosz.custody.bundles import MANIFEST, PUBLIC_KEY, Verdict, verify_bundle
from kustosz.errors import InputError
from kustosz.report.build import FORMAT
from kustosz.report.bundle import DRAFT_KIND, KIND, NAMES

RULES = zipread.Rules(names=NAMES)


def _unreadable(path: Path, why: str) -> str | None:
    """The problem of a bundle folder whose manifest or key cannot be read, naming the file."""
    if not path.is_dir():
        return None
    if (path / MANIFEST).is_file() and f"{MANIFEST} is not" in why:
        return f"{MANIFEST}: changed (no longer a readable manifest)"
    if (path / PUBLIC_KEY).is_file() and why.startswith(f"{PUBLIC_KEY} is not"):
        return f"{PUBLIC_KEY}: changed (no longer a readable public key)"
    return None


DRAFT_PROBLEM = (f"{MANIFEST}: a draft (kind {DRAFT_KIND!r}): the part of its period gone by "
                 "when it was made, not a final report")


def verify(path: Path, public_key: Ed25519PublicKey | None = None,
           draft: bool = False) -> Verdict:
    """The bundle's verdict; problems name each altered, added or removed file. A draft
    (bundle.DRAFT_KIND) never verifies as a report: only when ``draft`` asks for a draft's
    check (its files and signature; verdict.kind says it is one)."""
    if not path.exists():
        raise InputError(f"{path} does not exist", pl=f"{path.name} nie istnieje.")
    try:
        verdict = verify_bundle(path, public_key, rules=RULES)
    except InputError as exc:
        # A byte changed inside the manifest or the key leaves it unreadable: that is a
        # changed file of this bundle (named, as any other), not a question of input.
        damaged = _unreadable(path, str(exc))
        if damaged is None:
            raise
        return Verdict(ok=False, problems=[damaged])
    kind = verdict.kind
    if kind == DRAFT_KIND:
        if not draft:
            verdict.problems.insert(0, DRAFT_PROBLEM)
            verdict.ok = False
    elif kind != KIND:
        verdict.problems.insert(0, f"{MANIFEST}: not an accountability report "
                                   f"(kind {kind!r}, expected {KIND!r}; {FORMAT})")
        verdict.ok = False
    return verdict
