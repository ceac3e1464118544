"""The backup's passphrase: read from a file or an environment variable (never the command
line), stretched with scrypt into an AES-256-GCM key for the keys and an HMAC-SHA256 key for
the manifest."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TypeGuard

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from kustosz.errors import InputError

PASSPHRASE_ENV = "KUSTOSZ_BACKUP_PASSPHRASE"
MIN_LENGTH = 12
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 15, 8, 1
KEYS_FORMAT = "kustosz-backup-keys/1"
# What a restore accepts from keys.enc before it derives anything (issue 28 item 8): the cost
# is read from the backup, so a file asking for n = 2**22 made a restore spend a minute and
# 4 GiB before failing. Kustosz makes n = 2**15, r = 8, p = 1 (32 MiB); the bounds leave room
# for a later, costlier default (up to 256 MiB, 128 * n * r * p bytes) and no more.
SCRYPT_MAX_MEMORY = 256 * 2 ** 20
SCRYPT_N_RANGE = (2 ** 14, 2 ** 20)
SCRYPT_R_RANGE = (1, 32)
SCRYPT_P_RANGE = (1, 4)
SALT_RANGE = (16, 64)


class PassphraseError(InputError):
    """The passphrase is missing, too short, or not the backup's."""


def read_passphrase(path: Path | None) -> str:
    """From ``path`` (a file only its owner can read) or else $KUSTOSZ_BACKUP_PASSPHRASE."""
    if path is not None:
        try:
            st = os.stat(path)
            text = Path(path).read_text("utf-8")
        except FileNotFoundError:
            raise PassphraseError(
                f"the passphrase file {path} does not exist",
                pl=f"Plik z hasłem kopii {path} nie istnieje.") from None
        except (OSError, UnicodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) else "not text"
            raise PassphraseError(
                f"the passphrase file {path} cannot be read ({why})",
                pl=f"Nie można odczytać pliku z hasłem kopii {path} ({why}).") from None
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise PassphraseError(
                f"the passphrase file {path} is readable by other accounts; chmod 600 it",
                pl=f"Plik z hasłem kopii {path} mogą czytać inne konta; ustaw chmod 600.")
        passphrase = text.strip("\r\n")
    else:
        passphrase = os.environ.get(PASSPHRASE_ENV, "")
    if not passphrase:
        raise PassphraseError(
            f"no passphrase: give --passphrase-file FILE (chmod 600) or set {PASSPHRASE_ENV}; "
            "the keys are never backed up without one",
            pl=f"Brak hasła kopii: podaj --passphrase-file PLIK (chmod 600) albo ustaw "
               f"{PASSPHRASE_ENV}; klucze nigdy nie trafiają do kopii bez hasła.")
    if len(passphrase) < MIN_LENGTH:
        raise PassphraseError(
            f"the passphrase is shorter than {MIN_LENGTH} characters",
            pl=f"Hasło kopii jest krótsze niż {MIN_LENGTH} znaków.")
    return passphrase


@dataclass(frozen=True)
class BackupKeys:
    aead: bytes
    mac: bytes


def derive(passphrase: str, salt: bytes, n: int = SCRYPT_N, r: int = SCRYPT_R,
           p: int = SCRYPT_P) -> BackupKeys:
    raw = Scrypt(salt=salt, length=64, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))
    return BackupKeys(raw[:32], raw[32:])


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def seal_keys(files: dict[str, bytes], passphrase: str, backup_id: str) -> tuple[bytes,
                                                                                   BackupKeys]:
    """The vault's keys/ folder as one encrypted JSON document (bound to this backup)."""
    salt = os.urandom(16)
    keys = derive(passphrase, salt)
    nonce = os.urandom(12)
    plain = json.dumps({name: b64(body) for name, body in sorted(files.items())}).encode()
    sealed = AESGCM(keys.aead).encrypt(nonce, plain, backup_id.encode())
    doc = {"format": KEYS_FORMAT, "backup": backup_id,
           "kdf": {"name": "scrypt", "salt": b64(salt), "n": SCRYPT_N, "r": SCRYPT_R,
                   "p": SCRYPT_P},
           "nonce": b64(nonce), "sealed": b64(sealed)}
    return (json.dumps(doc, indent=1) + "\n").encode(), keys


def open_keys(blob: bytes, passphrase: str, backup_id: str,
              where: Path) -> tuple[dict[str, bytes], BackupKeys]:
    try:
        doc = json.loads(blob)
        if doc.get("format") != KEYS_FORMAT:
            raise ValueError
        kdf = doc["kdf"]
        if kdf.get("name") != "scrypt":
            raise ValueError
        salt = base64.b64decode(kdf["salt"], validate=True)
        n, r, p = kdf["n"], kdf["r"], kdf["p"]
        nonce, sealed = base64.b64decode(doc["nonce"]), base64.b64decode(doc["sealed"])
    except (ValueError, KeyError, TypeError, AttributeError):
        raise InputError(f"{where} is damaged (not a Kustosz backup's keys file)",
                         pl=f"Plik {where} jest uszkodzony (to nie są klucze kopii "
                            "Kustosza).") from None
    _check_cost(salt, n, r, p, where)
    keys = derive(passphrase, salt, n, r, p)
    try:
        plain = AESGCM(keys.aead).decrypt(nonce, sealed, backup_id.encode())
    except InvalidTag:
        raise PassphraseError(
            f"wrong passphrase: {where} cannot be opened with it (or the file was changed)",
            pl=f"Błędne hasło kopii: nie otwiera pliku {where} (albo plik zmieniono).") from None
    files = {name: base64.b64decode(body) for name, body in json.loads(plain).items()}
    return files, keys


def _check_cost(salt: bytes, n: object, r: object, p: object, where: Path) -> None:
    """Refuse, before any work, a key-derivation cost Kustosz never makes."""
    def whole(v: object, bounds: tuple[int, int]) -> TypeGuard[int]:
        return isinstance(v, int) and not isinstance(v, bool) and bounds[0] <= v <= bounds[1]

    if not (whole(n, SCRYPT_N_RANGE) and n & (n - 1) == 0 and whole(r, SCRYPT_R_RANGE)
            and whole(p, SCRYPT_P_RANGE) and whole(len(salt), SALT_RANGE)
            and 128 * n * r * p <= SCRYPT_MAX_MEMORY):
        raise InputError(
            f"{where} asks for a key derivation Kustosz never makes (scrypt n={n!s:.20}, "
            f"r={r!s:.20}, p={p!s:.20}, salt of {len(salt)} bytes; at most n={SCRYPT_N_RANGE[1]}, "
            f"r={SCRYPT_R_RANGE[1]}, p={SCRYPT_P_RANGE[1]}, {SCRYPT_MAX_MEMORY >> 20} MiB): "
            "refused without trying (the file was changed or is not a Kustosz backup's)",
            pl=f"Plik {where} żąda wyprowadzenia klucza, jakiego Kustosz nigdy nie stosuje "
               f"(scrypt n={n!s:.20}, r={r!s:.20}, p={p!s:.20}, sól {len(salt)} B; najwyżej "
               f"n={SCRYPT_N_RANGE[1]}, r={SCRYPT_R_RANGE[1]}, p={SCRYPT_P_RANGE[1]}, "
               f"{SCRYPT_MAX_MEMORY >> 20} MiB): odrzucono bez próby (plik zmieniono albo nie "
               "pochodzi z kopii Kustosza).")


def mac_of(data: bytes, keys: BackupKeys) -> str:
    return hmac.new(keys.mac, data, hashlib.sha256).hexdigest()


def mac_ok(data: bytes, expected: str, keys: BackupKeys) -> bool:
    return hmac.compare_digest(mac_of(data, keys), expected.strip())


def sha256_file(path: Path) -> tuple[str, int]:
    with path.open("rb") as f:
        digest = hashlib.file_digest(f, "sha256")
        return digest.hexdigest(), f.tell()


def as_json(data: object) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode()
