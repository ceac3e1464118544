"""The office's Ed25519 signing key under `keys/` in the data folder (made on first use, 0600).

It signs evidence bundles (custody) and the audit log's checkpoints (audit), so it lives below
both. Its public half is exported with `kustosz bundle key` and published by the office.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kustosz.errors import InputError
from kustosz.fsutil import write_atomic

KEY_FILE = "office_ed25519.pem"


def office_key(root: Path) -> Ed25519PrivateKey:
    """The office's signing key; made on first use (0600 in a 0700 folder)."""
    folder = root / "keys"
    path = folder / KEY_FILE
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise InputError(f"{path} does not hold an Ed25519 key",
                             pl=f"{path} nie zawiera klucza Ed25519.")
        return key
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    write_atomic(path, pem)
    return key


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def fingerprint(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "SHA256:" + hashlib.sha256(raw).hexdigest()


def load_public(data: bytes, where: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        raise InputError(f"{where} is not a PEM public key",
                         pl=f"{where} nie jest kluczem publicznym w formacie PEM.") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(f"{where} is not an Ed25519 public key",
                         pl=f"{where} nie jest kluczem publicznym Ed25519.")
    return key
