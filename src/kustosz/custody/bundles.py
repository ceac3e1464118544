"""Evidence bundles: the files of a copy, `manifest.json` with each file's SHA-256, and an
Ed25519 signature over the manifest with the office's key (R4.3, DESIGN "Evidence bundles").

A bundle is checked offline with nothing but itself and the office's public key. The office's
key is made on first use under `keys/` in the data folder (0600); its public half is exported
with `kustosz bundle key` and published by the office, so a receiver can pin it with --key.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kustosz import zipread
from kustosz.errors import InputError
from kustosz.fsutil import file_sha256, replace

# The key lives below custody (the audit log signs with it too); re-exported for callers.
from kustosz.keys import KEY_FILE, fingerprint, load_public, office_key, public_pem

__all__ = ["FORMAT", "KEY_FILE", "Verdict", "fingerprint", "load_public", "office_key",
           "public_pem", "seal", "sha256_file", "verify_bundle", "write_zip"]

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PUBLIC_KEY = "office_public_key.pem"
FORMAT = "kustosz-evidence-bundle/1"


# A bundle's files are hashed through this name (its tests and bench/export.py count the
# calls by replacing it); the hash itself is fsutil's.
sha256_file = file_sha256


# -- writing -------------------------------------------------------------------------------
def canonical_manifest(manifest: dict[str, Any]) -> bytes:
    return (json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n") \
        .encode("utf-8")


def file_entries(folder: Path, known: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Every file under ``folder`` but the manifest and signature, with size and SHA-256
    (taken from ``known`` where the caller already hashed it while writing)."""
    out = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = PurePosixPath(path.relative_to(folder)).as_posix()
        if rel in (MANIFEST, SIGNATURE):
            continue
        digest = (known or {}).get(rel) or sha256_file(path)
        out.append({"path": rel, "size": path.stat().st_size, "sha256": digest})
    return out


def seal(folder: Path, manifest: dict[str, Any], key: Ed25519PrivateKey,
         known: dict[str, str] | None = None) -> str:
    """Write the public key, then manifest.json listing every file, then manifest.sig;
    return the manifest's SHA-256. ``known``: hashes already taken while writing."""
    (folder / PUBLIC_KEY).write_bytes(public_pem(key.public_key()))
    manifest = {**manifest, "format": FORMAT,
                "public_key_fingerprint": fingerprint(key.public_key()),
                "files": file_entries(folder, known)}
    body = canonical_manifest(manifest)
    (folder / MANIFEST).write_bytes(body)
    digest = hashlib.sha256(body).hexdigest()
    sig = {"algorithm": "Ed25519", "manifest_sha256": digest,
           "public_key_fingerprint": fingerprint(key.public_key()),
           "signature": base64.b64encode(key.sign(body)).decode()}
    (folder / SIGNATURE).write_text(json.dumps(sig, indent=2) + "\n", "utf-8")
    return digest


def write_zip(folder: Path, out: Path, password: str | None) -> None:
    """The bundle as one ZIP; AES-256 encrypted when a password is given (for removable media;
    the password reaches the receiver separately)."""
    import pyzipper  # noqa: PLC0415 - heavy; the stdlib's zipfile cannot write encrypted archives

    if out.exists():
        raise InputError(f"{out} already exists; refusing to overwrite it",
                         pl=f"Plik {out.name} już istnieje; nie zostanie nadpisany.")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.part")
    kwargs: dict[str, Any] = {"compression": pyzipper.ZIP_STORED}
    if password:
        kwargs["encryption"] = pyzipper.WZ_AES
    try:
        with pyzipper.AESZipFile(tmp, "w", **kwargs) as z:
            if password:
                z.setpassword(password.encode("utf-8"))
                z.setencryption(pyzipper.WZ_AES, nbits=256)
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                z.write(path, PurePosixPath(path.relative_to(folder)).as_posix())
        replace(tmp, out)  # on a removable disk pulled out after "done": the whole ZIP
    finally:
        tmp.unlink(missing_ok=True)


# -- verifying -----------------------------------------------------------------------------
MAX_MANIFEST = 64 << 20  # a copy of many segments lists each; far past any honest one
MAX_SMALL = 64 << 10  # the signature, the public key


@dataclass
class Verdict:
    ok: bool
    number: str | None = None
    problems: list[str] = field(default_factory=list)
    key_source: str = ""
    fingerprint: str = ""
    files: int = 0
    kind: str | None = None  # the manifest's "kind" (a report's), as read: the signature decides


class _Folder:
    """A bundle's folder, read as the archive is (kustosz.zipread.Archive): by name."""

    def __init__(self, path: Path) -> None:
        self.path = path
        found = {PurePosixPath(p.relative_to(path)).as_posix(): p for p in path.rglob("*")}
        # A link may show any file as one of the bundle's: named, never followed.
        self.links = sorted(rel for rel, p in found.items() if p.is_symlink())
        self.files = {rel: p for rel, p in sorted(found.items())
                      if p.is_file() and not p.is_symlink()}

    def __contains__(self, name: str) -> bool:
        return name in self.files

    def read(self, name: str, limit: int) -> bytes:
        with open(self.files[name], "rb") as f:
            return f.read(limit + 1)  # one past the limit: unreadable, never read whole

    def size(self, name: str) -> int:
        return self.files[name].stat().st_size

    def sha256(self, name: str) -> str:
        return sha256_file(self.files[name])


_Files = _Folder | zipread.Archive


def verify_bundle(path: Path, public_key: Ed25519PublicKey | None = None,
                  password: str | None = None, rules: zipread.Rules | None = None) -> Verdict:
    """Check a bundle folder or ZIP; name every file changed, added or removed. A ZIP is read
    as kustosz.zipread reads it (``rules``: a copy's by default, which may be encrypted),
    never extracted."""
    if not path.exists():
        raise InputError(f"{path} does not exist", pl=f"{path.name} nie istnieje.")
    if path.is_file():
        with zipread.open_archive(path, rules or zipread.Rules(encrypted=True,
                                                               password=password)) as z:
            return _judge(z, list(z.entries), path, public_key)
    folder = _Folder(path)
    verdict = _judge(folder, list(folder.files), path, public_key)
    verdict.problems.extend(f"{rel}: a symbolic link, not a file of the bundle"
                            for rel in folder.links)
    verdict.ok = not verdict.problems
    return verdict


def _manifest(files: _Files, path: Path) -> tuple[bytes, dict[str, Any]]:
    if MANIFEST not in files:
        raise InputError(f"{path} is not an evidence bundle (no {MANIFEST})",
                         pl=f"{path.name} nie jest pakietem dowodowym (brak pliku {MANIFEST}).")
    body = files.read(MANIFEST, MAX_MANIFEST)
    try:
        manifest = json.loads(body)
        assert isinstance(manifest, dict) and manifest.get("format") == FORMAT
        assert all(isinstance(f["path"], str) for f in manifest["files"])
    except (ValueError, AssertionError, KeyError, TypeError):
        raise InputError(f"{path} is not an evidence bundle ({MANIFEST} is not a Kustosz "
                         "manifest)",
                         pl=f"{path.name} nie jest pakietem dowodowym ({MANIFEST} nie jest "
                            "manifestem systemu Kustosz).") from None
    return body, manifest


def _judge(files: _Files, names: list[str], path: Path,
           public_key: Ed25519PublicKey | None) -> Verdict:
    body, manifest = _manifest(files, path)
    listed = {f["path"]: f for f in manifest["files"]}
    kind = manifest.get("kind")
    verdict = Verdict(ok=True, number=manifest.get("number"),
                      kind=kind if isinstance(kind, str) else None)
    if public_key is None:
        if PUBLIC_KEY not in files:
            verdict.problems.append(f"{PUBLIC_KEY}: removed (and no --key given)")
        else:
            public_key = load_public(files.read(PUBLIC_KEY, MAX_SMALL), PUBLIC_KEY)
            verdict.key_source = "the key inside the bundle (pin it with --key)"
    else:
        verdict.key_source = "the key given with --key"
    if public_key is not None:
        verdict.fingerprint = fingerprint(public_key)
        sig = files.read(SIGNATURE, MAX_SMALL) if SIGNATURE in files else None
        verdict.problems.extend(_check_signature(sig, body, public_key))
    present = set(names) - {MANIFEST, SIGNATURE}
    for rel in sorted(set(listed) - present):
        verdict.problems.append(f"{rel}: removed")
    for rel in sorted(present - set(listed)):  # named, never read
        verdict.problems.append(f"{rel}: added (not in the manifest)")
    for rel in sorted(set(listed) & present):
        size = listed[rel].get("size")
        # Another size is another file: judged without reading what it holds.
        if (isinstance(size, int) and files.size(rel) != size) or \
                files.sha256(rel) != listed[rel].get("sha256"):
            verdict.problems.append(f"{rel}: changed (SHA-256 differs from the manifest)")
    verdict.problems.extend(_playable(manifest, listed))
    verdict.files = len(present)
    verdict.ok = not verdict.problems
    return verdict


def _playable(manifest: dict[str, Any], listed: dict[str, Any]) -> list[str]:
    """The playable files (playable.py) are listed twice: among the files and with their
    note; the two must name the same bytes."""
    out = []
    extra = manifest.get("playable") if isinstance(manifest.get("playable"), dict) else {}
    for entry in extra.get("files") or []:
        rel = entry.get("path") if isinstance(entry, dict) else None
        if rel not in listed:
            out.append(f"{rel}: playable file not listed among the files")
        elif listed[rel].get("sha256") != entry.get("sha256"):
            out.append(f"{rel}: the playable file's SHA-256 differs between the manifest's "
                       "lists")
    return out


def _check_signature(raw_sig: bytes | None, body: bytes, key: Ed25519PublicKey) -> list[str]:
    if raw_sig is None:
        return [f"{SIGNATURE}: removed"]
    try:
        sig = json.loads(raw_sig.decode("utf-8"))
        raw = base64.b64decode(sig["signature"], validate=True)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return [f"{SIGNATURE}: changed (unreadable)"]
    try:
        key.verify(raw, body)
    except InvalidSignature:
        pass
    else:
        # The signature holds; what the file states beside it must too, or a byte changed
        # there (a digit of the fingerprint) would pass unnoticed.
        stated = (sig.get("algorithm"), sig.get("manifest_sha256"),
                  sig.get("public_key_fingerprint"))
        if stated != ("Ed25519", hashlib.sha256(body).hexdigest(), fingerprint(key)):
            return [f"{SIGNATURE}: changed (what it states beside the signature is not what "
                    "was signed)"]
        return []
    # The signature does not fit: say which side moved. The digest recorded beside the
    # signature tells a changed manifest from a changed signature (or a foreign key).
    if sig.get("manifest_sha256") != hashlib.sha256(body).hexdigest():
        return [f"{MANIFEST}: changed (the signature no longer matches it)"]
    if sig.get("public_key_fingerprint") != fingerprint(key):
        return [f"{SIGNATURE}: made with another key ({sig.get('public_key_fingerprint')}, "
                f"expected {fingerprint(key)})"]
    return [f"{SIGNATURE}: changed (the signature is not valid)"]
