"""Password hashes (argon2id, argon2-cffi's defaults) and one-time passwords."""

from __future__ import annotations

import base64
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from kustosz.errors import InputError
from kustosz.words import plural

_HASHER = PasswordHasher()  # argon2id, RFC 9106 low-memory profile
MIN_LENGTH = 12
_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/l/I


def dummy_of(hasher: PasswordHasher) -> str:
    """What `verify` checks against when the user does not exist, so that the answer takes as
    long either way: a well-formed hash with ``hasher``'s own cost parameters (verifying costs
    what the parameters say; no password gives it). Written out rather than hashed at import,
    which cost every `kustosz` process 0.2 s of CPU (0.6-0.9 s wall on a busy 2-core machine)
    before it began."""
    return (f"$argon2id$v=19$m={hasher.memory_cost},t={hasher.time_cost},"
            f"p={hasher.parallelism}$"
            + base64.b64encode(b"kustosz-no-user!"[:hasher.salt_len].ljust(hasher.salt_len, b"."))
            .decode().rstrip("=")
            + "$" + base64.b64encode(bytes(hasher.hash_len)).decode().rstrip("="))


_DUMMY = dummy_of(_HASHER)


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify(stored: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(stored or _DUMMY, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _HASHER.check_needs_rehash(stored)


def check_new(password: str, name: str = "") -> None:
    if len(password or "") < MIN_LENGTH:
        raise InputError(f"the password must have at least {MIN_LENGTH} characters",
                         pl=f"Hasło musi mieć co najmniej {MIN_LENGTH} "
                            f"{plural(MIN_LENGTH, 'znak', 'znaki', 'znaków')}.")
    if name and name.lower() in password.lower():
        raise InputError("the password must not contain the user name",
                         pl="Hasło nie może zawierać nazwy użytkownika.")


def one_time_password(length: int = 16) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))
