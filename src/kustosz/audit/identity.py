"""The witness's identity, kept where the data folder's owner cannot change it (issue 28 item 10).

The checkpoints are signed with the office's key, which lives in the data folder, and the
witness's path is set in the data folder's kustosz.toml. Whoever holds the data folder could
therefore rewrite the log, re-sign new checkpoint lines, write them to a new file and point
`[audit] witness` at it: `audit verify` followed the repointed setting and said "intact"; only
`--witness <original>` caught it.

So the witness's identity — its path, the public key that signs its checkpoints, the vault it
belongs to — is pinned by root in a file outside the data folder (`/etc/kustosz/
audit-witness.json`, `kustosz audit pin-witness`). `audit verify` (the command, the web page,
the periodic check) uses it by default: the pinned path instead of kustosz.toml's, the pinned
key instead of keys/'s, and it fails when kustosz.toml, keys/ or the log's first entry disagree
with it, and when the file itself could have been written by someone other than root (not
root's, writable by group or others, or in a folder that is).

What it cannot do: protect the witness file's own lines from an account that can write them
(the service writes the witness: keep it append-only, on another machine or a share with
append rights — README); nor anything root does.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kustosz import fsutil as durable
from kustosz.errors import InputError
from kustosz.keys import fingerprint, load_public

DEFAULT_PATH = Path("/etc/kustosz/audit-witness.json")
FORMAT = "kustosz-audit-witness-identity/1"


@dataclass(frozen=True)
class Identity:
    path: Path  # where it was read from
    data: Path  # the data folder it pins the witness of
    vault: str  # the vault's id: the hash of its first audit entry
    witness: Path
    key: Ed25519PublicKey

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.key)


def untrusted(path: Path) -> list[str]:
    """Why ``path`` could have been written by someone other than root: the file, and every
    folder above it, must be root's and not writable by group or others (a root-owned folder
    with the sticky bit, like /tmp, keeps others from replacing root's entries)."""
    problems = []
    try:
        st = os.lstat(path)
    except OSError as exc:
        return [f"{path} cannot be examined ({exc.strerror or exc})"]
    if stat.S_ISLNK(st.st_mode):
        problems.append(f"{path} is a symbolic link (whoever owns its target can change it)")
    elif not stat.S_ISREG(st.st_mode):
        problems.append(f"{path} is not a file")
    if st.st_uid != 0:
        problems.append(f"{path} is owned by uid {st.st_uid}, not root: that account can "
                        "rewrite it (chown root:root)")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        problems.append(f"{path} is writable by its group or by others (chmod 644)")
    folder = path.parent
    while True:
        try:
            fst = os.stat(folder)
        except OSError as exc:
            problems.append(f"{folder} cannot be examined ({exc.strerror or exc})")
            break
        sticky = bool(fst.st_mode & stat.S_ISVTX)
        if fst.st_uid != 0:
            problems.append(f"the folder {folder} is owned by uid {fst.st_uid}, not root: "
                            "that account can replace the file")
        elif fst.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not sticky:
            problems.append(f"the folder {folder} is writable by its group or by others: "
                            "they can replace the file (chmod 755)")
        if folder.parent == folder:
            break
        folder = folder.parent
    return problems


def read(path: Path) -> Identity:
    """The pinned identity; InputError when it is damaged (trust is checked apart)."""
    try:
        data = json.loads(path.read_text("utf-8"))
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError
        key = load_public(str(data["key"]).encode(), str(path))
        return Identity(path, Path(str(data["data"])), str(data["vault"]),
                        Path(str(data["witness"])), key)
    except (OSError, UnicodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not text"
        raise InputError(f"the witness identity {path} cannot be read ({why})",
                         pl=f"Nie można odczytać tożsamości świadka {path} ({why}).") from None
    except (ValueError, KeyError, TypeError):
        raise InputError(f"the witness identity {path} is damaged (not a Kustosz witness "
                         "identity)",
                         pl=f"Tożsamość świadka {path} jest uszkodzona (to nie jest plik "
                            "tożsamości świadka Kustosza).") from None


def find(path: Path | None = None) -> Path | None:
    """The identity file to use: ``path`` (`--identity`), else the default if it exists."""
    if path is not None:
        return path
    return DEFAULT_PATH if os.path.lexists(DEFAULT_PATH) else None


def body(data_root: Path, vault_id: str, witness: Path, key: Ed25519PublicKey) -> bytes:
    pem = key.public_bytes(serialization.Encoding.PEM,
                           serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
    doc: dict[str, Any] = {
        "format": FORMAT, "data": str(data_root), "vault": vault_id, "witness": str(witness),
        "key": pem, "fingerprint": fingerprint(key),
        "pinned_at": datetime.now(UTC).isoformat(timespec="seconds")}
    return (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode()


def pin(path: Path, data_root: Path, vault_id: str, witness: Path,
        key: Ed25519PublicKey) -> None:
    """Write the identity, root's and readable by all (the service verifies with it too)."""
    if os.geteuid() != 0:
        raise InputError("the witness identity is pinned by root (run as root: sudo kustosz "
                         "--data … audit pin-witness)",
                         pl="Tożsamość świadka zapisuje root (uruchom jako root: sudo kustosz "
                            "--data … audit pin-witness).")
    if path.resolve().is_relative_to(data_root.resolve()):
        raise InputError(f"the witness identity {path} would be inside the data folder",
                         pl=f"Tożsamość świadka {path} znalazłaby się w katalogu danych.")
    path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as f:
        # absolute: `--data ./vault` would name another folder from wherever doctor runs
        f.write(body(data_root.resolve(), vault_id, witness.resolve(), key))
        f.flush()
    os.chown(tmp, 0, 0)
    os.chmod(tmp, 0o644)
    durable.replace(tmp, path)


@dataclass
class Pinned:
    """What verify uses: the witness and key to check against, and what disagrees."""
    witness: Path | None
    key: Ed25519PublicKey | None
    identity: Identity | None
    problems: list[str]  # each one fails the verification
    note: str | None = None  # no identity at all: said, not failed


def resolve(data_root: Path, configured: Path | None, keys_public: Ed25519PublicKey | None,
            vault_id: str | None, identity_path: Path | None = None) -> Pinned:
    """The witness and key `audit verify` must use for the vault at ``data_root``."""
    path = find(identity_path)
    if path is None:
        note = (f"no witness identity outside the data folder ({DEFAULT_PATH}): whoever holds "
                "the data folder can point [audit] witness at a forged file; pin it as root "
                "with `kustosz audit pin-witness`") if configured is not None else None
        return Pinned(configured, keys_public, None, [], note)
    problems = [f"witness identity: {p}" for p in untrusted(path)] if os.path.lexists(path) \
        else []
    try:
        ident = read(path)
    except InputError as exc:
        return Pinned(configured, keys_public, None, [*problems, str(exc)])
    if ident.data.resolve() != data_root.resolve():
        problems.append(f"witness identity {path} pins the witness of the data folder "
                        f"{ident.data}, not {data_root} (give this vault's with --identity)")
    if configured is not None and configured != ident.witness:
        problems.append(f"kustosz.toml's [audit] witness {configured} is not the pinned "
                        f"witness {ident.witness} (the setting was changed: the pinned one "
                        "is checked)")
    elif configured is None:
        problems.append(f"kustosz.toml names no [audit] witness, but {ident.witness} is "
                        "pinned (the setting was removed: the pinned one is checked)")
    if keys_public is not None and fingerprint(keys_public) != ident.fingerprint:
        problems.append(f"the office key in keys/ ({fingerprint(keys_public)}) is not the "
                        f"pinned key {ident.fingerprint} (the key was replaced)")
    if vault_id is not None and vault_id != ident.vault:
        problems.append("the audit log's first entry is not the pinned vault's (the log was "
                        "rewritten from its start, or this is another vault)")
    return Pinned(ident.witness, ident.key, ident, problems)
