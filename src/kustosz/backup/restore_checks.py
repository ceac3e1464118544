"""A backup checked whole before a restore writes anything (kustosz.backup.restore, step 1).

The passphrase (it opens the keys), the manifest (its HMAC), every file against the manifest
(size and SHA-256) and the deletion journal (the office's signature on each line, the chain of
its lines against the manifest and its signed head: a journal cut short is refused). A problem
is named with its file and nothing is written.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kustosz.backup import journal
from kustosz.backup.crypto import BackupKeys, mac_ok, open_keys, sha256_file
from kustosz.backup.layout import CONFIG, FILES, FORMAT, KEYS, MAC, MANIFEST, Progress, media_name
from kustosz.errors import InputError
from kustosz.keys import KEY_FILE as OFFICE_KEY
from kustosz.policy import load_policy


@dataclass
class Opened:
    """A backup checked whole: what a restore builds the vault from."""
    manifest: dict[str, Any]
    backup_id: str
    key_files: dict[str, bytes]
    items: list[tuple[str, dict[str, Any]]]  # the media held in the backup, the extra files
    where: Any  # the manifest's "media_in": "backup", or the object store's bucket
    in_backup: bool
    journal: journal.Checked
    journal_note: tuple[str, str]  # (Polish, English): what the journal proves


def damaged(path: Path, why_en: str, why_pl: str) -> InputError:
    return InputError(f"the backup is damaged: {path} {why_en} (nothing was written)",
                      pl=f"Kopia jest uszkodzona: {path} {why_pl} (niczego nie zapisano).")


def check_file(path: Path, sha: str, size: int) -> None:
    try:
        got_sha, got_size = sha256_file(path)
    except FileNotFoundError:
        raise damaged(path, "is missing", "— brak pliku") from None
    except OSError as exc:
        raise damaged(path, f"cannot be read ({exc.strerror})",
                      f"— nie można odczytać ({exc.strerror})") from None
    if got_size != size:
        raise damaged(path, f"has {got_size} bytes where the manifest says {size}",
                      f"ma {got_size} B, a według spisu powinien mieć {size} B")
    if got_sha != sha:
        raise damaged(path, "differs from the manifest (SHA-256)",
                      "różni się od spisu (SHA-256)")


def read_manifest(src: Path) -> dict[str, Any]:
    path = src / MANIFEST
    try:
        manifest: dict[str, Any] = json.loads(path.read_text("utf-8"))
        if manifest.get("format") != FORMAT:
            raise ValueError
    except FileNotFoundError:
        raise InputError(f"{src} is not a finished Kustosz backup: {MANIFEST} is missing "
                         "(nothing was written)",
                         pl=f"{src} nie jest ukończoną kopią Kustosza: brak pliku {MANIFEST} "
                            "(niczego nie zapisano).") from None
    except (OSError, ValueError, UnicodeError):
        raise damaged(path, "is not a Kustosz backup manifest",
                      "nie jest spisem kopii Kustosza") from None
    return manifest


def open_backup(src: Path, passphrase: str, progress: Progress) -> Opened:
    """The manifest, the keys it seals (the passphrase), its HMAC, every file it lists and
    the deletion journal, in this order; the first problem is raised."""
    manifest = read_manifest(src)
    backup_id = manifest["id"]
    key_files, keys = _open_keys(src, passphrase, backup_id)
    _check_manifest_mac(src, keys)
    for name, info in sorted(manifest["files"].items()):
        check_file(src / name, info["sha256"], info["size"])
    where = manifest.get("media_in", "backup")
    in_backup = where == "backup"
    items = [(media_name(m["key"]), m) for m in manifest["media"] if in_backup] + \
            [(f"{FILES}/{m['path']}", m) for m in manifest["extra"]]
    progress.start("sprawdzanie kopii / checking the backup", len(items),
                   sum(int(info["size"]) for _, info in items))
    for rel, info in items:
        check_file(src / rel, info["sha256"], info["size"])
        progress.advance(1, int(info["size"]))
    public = office_public(key_files, src)
    checked = journal.read(src, backup_id, public, manifest)
    return Opened(manifest, backup_id, key_files, items, where, in_backup, checked,
                  journal_note(checked, src))


def _open_keys(src: Path, passphrase: str, backup_id: str) -> tuple[dict[str, bytes], BackupKeys]:
    try:
        sealed = (src / KEYS).read_bytes()
    except FileNotFoundError:
        raise damaged(src / KEYS, "is missing", "— brak pliku") from None
    return open_keys(sealed, passphrase, backup_id, src / KEYS)


def _check_manifest_mac(src: Path, keys: BackupKeys) -> None:
    try:
        mac = (src / MAC).read_text("ascii")
    except (OSError, UnicodeError):
        raise damaged(src / MAC, "is missing or unreadable", "— brak pliku albo nieczytelny") \
            from None
    if not mac_ok((src / MANIFEST).read_bytes(), mac, keys):
        raise damaged(src / MANIFEST, "was changed after the backup was made (its HMAC does "
                      "not match)", "zmieniono po wykonaniu kopii (HMAC się nie zgadza)")


def unchained(src: Path) -> InputError:
    """A backup made before the deletion journal was chained, refused unless accepted."""
    return InputError(
        f"the backup {src} was made by an earlier Kustosz: its deletion journal is not "
        "chained, so a journal with lines removed cannot be told from a whole one, and "
        "material deleted after the backup could come back. If this is the backup you "
        "mean to restore, give --accept-unchained-journal and compare the deletions "
        "applied with the old vault's records (nothing was written)",
        pl=f"Kopię {src} wykonała wcześniejsza wersja Kustosza: jej dziennik usunięć nie "
           "jest łańcuchem, więc dziennika z usuniętymi wierszami nie da się odróżnić od "
           "całego, a materiał usunięty po kopii mógłby wrócić. Jeśli to właśnie tę "
           "kopię chcesz odtworzyć, dodaj --accept-unchained-journal i porównaj "
           "zastosowane usunięcia z zapisami starego skarbca (niczego nie zapisano).")


def journal_note(checked: journal.Checked, src: Path) -> tuple[str, str]:
    """What the deletion journal proves, for the administrator (Polish, English)."""
    if not checked.chained:
        return ("UWAGA: kopia z wcześniejszej wersji Kustosza — jej dziennik usunięć nie jest "
                "łańcuchem, więc nie da się wykryć usuniętych z niego wierszy; materiał "
                "usunięty po kopii mógł wrócić. Porównaj zastosowane usunięcia z zapisami "
                "starego skarbca.",
                "WARNING: a backup made by an earlier Kustosz — its deletion journal is not "
                "chained, so lines removed from it cannot be detected; material deleted after "
                "the backup may have come back. Compare the deletions applied with the old "
                "vault's records.")
    if checked.confirmed_at is None:
        return ("dziennik usunięć jest cały", "the deletion journal is whole")
    when = for_people(checked.confirmed_at, src)
    return (f"dziennik usunięć jest cały; stary skarbiec potwierdził go ostatnio {when} — "
            "usunięcia z późniejszego czasu w nim nie figurują",
            f"the deletion journal is whole; the old vault last confirmed it at {when} — "
            "deletions after that time are not in it")


def for_people(at: str, src: Path) -> str:
    """The backup's time in the office's zone (its policy, from the backed-up kustosz.toml)."""

    when = datetime.fromisoformat(at).replace(microsecond=0)
    try:
        cfg = tomllib.loads((src / CONFIG).read_text("utf-8"))
        when = when.astimezone(load_policy(cfg.get("preset"), cfg.get("policy", {})).timezone)
    except Exception:  # shown in UTC then; the check itself does not depend on it
        return f"{when:%Y-%m-%d %H:%M:%S} UTC"
    return f"{when:%Y-%m-%d %H:%M:%S} {when.isoformat()[19:]}"


def office_public(key_files: dict[str, bytes], src: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_private_key(key_files[OFFICE_KEY], password=None)
    except (KeyError, ValueError):
        raise damaged(src / KEYS, "holds no office key", "nie zawiera klucza urzędu") \
            from None
    public = key.public_key()
    assert isinstance(public, Ed25519PublicKey)
    return public
