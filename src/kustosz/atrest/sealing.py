"""Passwords Kustosz must keep to do its work (a camera's RTSP login, an IMAP journal
mailbox's) are sealed with AES-256-GCM under a key in `keys/secrets.key` (0600).

The database alone — a PostgreSQL dump, a copy of `kustosz.db`, a backup — then shows no
password; the key file is backed up apart from it. The fingerprint of the key is kept in the
database, so a missing or wrong key is named as such instead of failing later as a login
refused by a camera. Each sealed value is bound to what it is (the associated data names the
column), so one cannot be moved into another's place.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.orm import Session

from kustosz.errors import ConfigError
from kustosz.fsutil import fsync_dir, fsync_file

KEY_FILE = "secrets.key"
PREFIX = "kustosz-sealed:1:"
NONCE = 12
RTSP_PASSWORD = "camera.rtsp_password"
IMAP_PASSWORD = "mailbox.imap_password"
# What each sealed value is, as a Polish refusal begins with it.
SEALED_PL = {RTSP_PASSWORD: "Hasło RTSP kamery", IMAP_PASSWORD: "Hasło skrzynki IMAP"}


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


class SecretBox:
    """Seals and opens the vault's stored passwords."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("a secrets key is 32 bytes")
        self._aead = AESGCM(key)
        self.fingerprint = "SHA256:" + hashlib.sha256(b"kustosz-secrets\0" + key).hexdigest()[:32]

    def __repr__(self) -> str:
        return f"SecretBox({self.fingerprint})"

    def seal(self, text: str, what: str) -> str:
        nonce = os.urandom(NONCE)
        sealed = self._aead.encrypt(nonce, text.encode("utf-8"), what.encode())
        return PREFIX + base64.b64encode(nonce + sealed).decode("ascii")

    def open(self, value: str, what: str) -> str:
        if not is_sealed(value):
            # Never taken as a password: a value in clear here was written behind the vault's
            # back, and using it would hide that.
            raise ConfigError(f"a stored {what} is not sealed; start Kustosz once more "
                              "(opening the vault seals it)",
                              pl=f"{SEALED_PL.get(what, what)} zapisane w skarbcu nie jest "
                                 "zaszyfrowane; uruchom Kustosza ponownie (otwarcie skarbca je "
                                 "zaszyfruje).")
        try:
            raw = base64.b64decode(value[len(PREFIX):], validate=True)
            return self._aead.decrypt(raw[:NONCE], raw[NONCE:], what.encode()).decode("utf-8")
        except (binascii.Error, InvalidTag, UnicodeDecodeError):
            raise ConfigError(f"a stored {what} cannot be opened with keys/{KEY_FILE} "
                              f"({self.fingerprint}): it was sealed with another key or "
                              "changed",
                              pl=f"{SEALED_PL.get(what, what)} zapisane w skarbcu nie daje się "
                                 f"odszyfrować kluczem keys/{KEY_FILE} ({self.fingerprint}): "
                                 "zaszyfrowano je innym kluczem albo zostało zmienione.") from None


def secrets_of(session: Session) -> SecretBox:
    """The key of the vault whose session this is."""
    box = session.info.get("secrets")
    if not isinstance(box, SecretBox):
        raise RuntimeError("a session without the vault's secrets key (use Vault.open)")
    return box


def key_path(root: Path) -> Path:
    return root / "keys" / KEY_FILE


def read_key(root: Path) -> SecretBox | None:
    """The vault's key; None if there is no key file. Unreadable or malformed: ConfigError."""
    path = key_path(root)
    try:
        text = path.read_text("ascii")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not a key file"
        raise ConfigError(f"cannot read the vault's secrets key {path}: {why}; nothing was "
                          "changed",
                          pl=f"Nie można odczytać klucza haseł skarbca {path}: {why}; niczego nie "
                             "zmieniono.") from None
    try:
        return SecretBox(base64.b64decode(text.strip(), validate=True))
    except (binascii.Error, ValueError):
        raise ConfigError(f"{path} is not a Kustosz secrets key (32 bytes, base64); "
                          "restore it from the backup; nothing was changed",
                          pl=f"{path} nie jest kluczem haseł Kustosza (32 bajty, base64); odtwórz "
                             "go z kopii zapasowej; niczego nie zmieniono.") from None


def make_key(root: Path) -> SecretBox:
    """Write a new key (0600 in a 0700 folder). Two processes making it at once: the first
    one's is kept and both use it."""
    folder = root / "keys"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    key = os.urandom(32)
    tmp = folder / f".{KEY_FILE}.{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(base64.b64encode(key).decode("ascii") + "\n")
            fsync_file(f)
        with contextlib.suppress(FileExistsError):  # never replace a key another made
            os.link(tmp, key_path(root))
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(folder)
    box = read_key(root)
    assert box is not None
    return box
