"""Data at rest (issue 11, item 6): the data folder is closed to every other local account,
and the passwords Kustosz keeps (RTSP, IMAP) are sealed with the vault's key.

Invariant 2 (DESIGN.md: every byte served is authorised and recorded) is only as strong as
the folder: a local account that can read it bypasses the web app's checks and its access
log entirely. R3.5: recordings are kept where only authorised persons reach them, and the
recorder is protected by a password; R1.7: camera locations and credentials are the
employer's secret.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import select

from kustosz.atrest.sealing import KEY_FILE, PREFIX
from kustosz.cameras.register import (
    CameraSpec,
    add_camera,
    add_site,
    add_zone,
    address_of,
)
from kustosz.cameras.register import get_camera as camera_named
from kustosz.db.migrate import alembic_config, upgrade
from kustosz.db.models import AuditEntry
from kustosz.errors import ConfigError
from kustosz.ingest.mail.settings import MailSettings, add_mail_source
from kustosz.vault import Vault
from tests.conftest import make_vault, snapshot

RTSP_SECRET = "Kamera!Tajne#2026"
IMAP_SECRET = "Dziennik$Poczty%77"
ROOT = os.geteuid() == 0
NOT_ROOT = "needs root: files of another account (chown) and the immutable flag (chattr)"


def _loose(root: Path) -> list[str]:
    """Everything under ``root`` (itself included) with a group or other permission bit."""
    out = [] if not os.stat(root).st_mode & 0o077 else ["."]
    for dirpath, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            path = Path(dirpath, name)
            if not path.is_symlink() and path.lstat().st_mode & 0o077:
                out.append(path.relative_to(root).as_posix())
    return out


def _open_up(root: Path) -> None:
    """What an older Kustosz (umask 022) left: 0755 folders, 0644 files."""
    for dirpath, _dirs, files in os.walk(root):
        os.chmod(dirpath, 0o755)
        for name in files:
            os.chmod(Path(dirpath, name), 0o644)


def _kustosz(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real entry point (`python -m kustosz`), started with a permissive umask: the
    entry point must set its own."""
    return subprocess.run([sys.executable, "-m", "kustosz", "--data", str(data), *args],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "KUSTOSZ_ACTOR": "tester"},
                          preexec_fn=lambda: os.umask(0o022))


@pytest.fixture
def secret_vault(tmp_path: Path, backend_url: str) -> Iterator[Vault]:
    """A vault with a camera and an IMAP journal mailbox, each with its password."""
    vault = make_vault(tmp_path / "vault", "elblag", backend_url)
    with vault.transaction() as s:
        add_site(s, "Ratusz", "test")
        add_zone(s, "Ratusz", "hol", "corridor", "test")
        add_camera(s, vault.policy, CameraSpec(
            "hol-1", "Ratusz", "hol", "rtsp://kamera@10.0.0.7/live", "property",
            password=RTSP_SECRET), "test")
        add_mail_source(s, vault.policy, "dziennik", "test", MailSettings(
            imap_host="127.0.0.1", imap_user="journal", imap_password=IMAP_SECRET,
            imap_tls="none"))
    yield vault
    vault.close()


def _rows_as_text(vault: Vault) -> str:
    """The rows that hold passwords, as the database returns them (no ORM, no decoding)."""
    with vault.engine.connect() as conn:
        cams = conn.execute(sa.text("SELECT * FROM cameras")).all()
        sources = conn.execute(sa.text("SELECT * FROM sources")).all()
    return repr(cams) + repr(sources)


def _clear_in_db(vault: Vault, *secrets: str) -> list[str]:
    found = [x for x in secrets if x in _rows_as_text(vault)]
    if vault.engine.dialect.name == "sqlite":  # the file's bytes, the WAL included
        raw = b"".join(p.read_bytes() for p in vault.root.glob("kustosz.db*"))
        found += [f"{x} (file)" for x in secrets if x.encode() in raw]
    return found


# -- modes -----------------------------------------------------------------------------------
def test_new_vault_is_private_whatever_the_umask(tmp_path: Path) -> None:
    """`kustosz init` and the verbs after it, started with umask 022: the folder 0700,
    every folder and file inside without group or other bits."""
    data = tmp_path / "vault"
    sample = tmp_path / "film.mp4"
    sample.write_bytes(b"\0" * 4096)
    for args in (("init", "--preset", "pleszew"), ("sources", "add", "hol", "--kind", "camera"),
                 ("ingest", "file", "hol", str(sample), "--start", "2026-11-20T10:00:00Z",
                  "--end", "2026-11-20T10:00:10Z")):
        done = _kustosz(data, *args)
        assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert (data / "keys" / KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert any((data / "media").rglob("*.mp4"))
    assert _loose(data) == []


def test_open_repairs_an_open_vault_and_says_so(tmp_path: Path) -> None:
    vault = make_vault(tmp_path / "vault")
    (vault.root / "media" / "x").mkdir()
    (vault.root / "media" / "x" / "seg.ts").write_bytes(b"ts")
    vault.close()
    _open_up(vault.root)
    assert "kustosz.db" in _loose(vault.root)
    done = _kustosz(vault.root, "recordings", "list", "--json")
    assert done.returncode == 0, done.stderr
    assert "readable by other local accounts" in done.stderr
    assert _loose(vault.root) == []
    again = Vault.open(vault.root)
    with again.reading() as s:
        (entry,) = s.execute(select(AuditEntry).where(
            AuditEntry.action == "vault.modes_repaired")).scalars()
    details = json.loads(entry.details)
    assert details["count"] >= 7 and "kustosz.db" in details["examples"]
    again.close()
    # Closed now: the next start has nothing to say and audits nothing more.
    done = _kustosz(vault.root, "recordings", "list", "--json")
    assert done.returncode == 0 and "readable" not in done.stderr


@pytest.mark.skipif(not ROOT, reason=NOT_ROOT)
def test_open_refuses_a_folder_it_cannot_close(tmp_path: Path) -> None:
    """chmod really fails: a file inside is immutable (chattr +i; not even root may change
    its mode). The vault refuses to open, says why, and is left as it was."""
    vault = make_vault(tmp_path / "vault")
    stuck = vault.root / "media" / "stuck.ts"
    stuck.write_bytes(b"ts")
    before = snapshot(vault)
    _open_up(vault.root)
    if subprocess.run(["chattr", "+i", str(stuck)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not possible on this file system")
    try:
        with pytest.raises(ConfigError, match=r"cannot close it: chmod .*stuck\.ts: "
                                              r"Operation not permitted"):
            Vault.open(vault.root)
        done = _kustosz(vault.root, "recordings", "list")
        assert done.returncode == 2 and "cannot close it" in done.stderr
        assert stat.S_IMODE(vault.root.stat().st_mode) == 0o755  # still open: tried again
        assert snapshot(vault) == before
    finally:
        subprocess.run(["chattr", "-i", str(stuck)], check=True)
    done = _kustosz(vault.root, "recordings", "list")  # chmod works again: repaired
    assert done.returncode == 0 and "readable by other local accounts" in done.stderr
    assert _loose(vault.root) == []
    vault.close()


@pytest.mark.skipif(not ROOT, reason=NOT_ROOT)
def test_open_refuses_a_folder_of_another_account(tmp_path: Path) -> None:
    vault = make_vault(tmp_path / "vault")
    before = snapshot(vault)
    os.chown(vault.root, 65534, 65534)  # nobody
    try:
        with pytest.raises(ConfigError, match=r"belongs to nobody \(uid 65534\), but Kustosz "
                                              r"runs as root"):
            Vault.open(vault.root)
        assert snapshot(vault) == before
    finally:
        os.chown(vault.root, 0, 0)
    vault.close()


# -- passwords at rest ------------------------------------------------------------------------
def test_passwords_are_not_in_the_database_in_clear(secret_vault: Vault) -> None:
    """SQLite: the bytes of kustosz.db and its WAL; PostgreSQL: the rows as text."""
    assert _clear_in_db(secret_vault, RTSP_SECRET, IMAP_SECRET) == []
    with secret_vault.reading() as s:
        camera, _ = camera_named(s, "hol-1")
        assert camera.rtsp_password.startswith(PREFIX)
        assert address_of(camera, secret_vault.secrets).password == RTSP_SECRET
    assert PREFIX in _rows_as_text(secret_vault)


def test_a_sealed_password_cannot_be_moved_to_another_column(secret_vault: Vault) -> None:
    """The IMAP password pasted into a camera's row does not open as an RTSP password."""
    with secret_vault.transaction() as s:
        camera, _ = camera_named(s, "hol-1")
        camera.rtsp_password = secret_vault.secrets.seal(IMAP_SECRET, "mailbox.imap_password")
    with secret_vault.reading() as s:
        camera, _ = camera_named(s, "hol-1")
        with pytest.raises(ConfigError, match="sealed with another key or changed"):
            address_of(camera, secret_vault.secrets)


def test_migration_0009_down_opens_them_and_open_seals_clear_ones(secret_vault: Vault) -> None:
    """Down: 0008's code reads clear passwords, so the downgrade opens them (with the key it
    is handed). Up: the column only; `Vault.open` seals what is still clear and audits it."""
    vault = secret_vault
    cfg = alembic_config(vault.engine)
    cfg.attributes["secrets"] = vault.secrets
    command.downgrade(cfg, "0008")
    assert set(_clear_in_db(vault, RTSP_SECRET, IMAP_SECRET)) >= {RTSP_SECRET, IMAP_SECRET}
    upgrade(vault.engine)  # as an older vault meets this version: clear values, no key known
    assert RTSP_SECRET in _rows_as_text(vault)
    again = Vault.open(vault.root, actor="upgrade")
    try:
        # not in the rows, and (SQLite) not in the file's free pages or WAL either
        assert _clear_in_db(vault, RTSP_SECRET, IMAP_SECRET) == []
        with again.reading() as s:
            camera, _ = camera_named(s, "hol-1")
            assert address_of(camera, again.secrets).password == RTSP_SECRET
            (entry,) = s.execute(select(AuditEntry).where(
                AuditEntry.action == "secrets.sealed")).scalars()
        assert json.loads(entry.details) == {"cameras": ["hol-1"], "mailboxes": ["dziennik"]}
        assert entry.actor == "upgrade"
    finally:
        again.close()


def test_downgrade_without_the_key_refuses_and_changes_nothing(secret_vault: Vault) -> None:
    """0009's own downgrade, without the key: refused before it touches a row. (Later
    revisions are taken down first; on SQLite Alembic commits each revision on its own.)"""
    cfg = alembic_config(secret_vault.engine)
    command.downgrade(cfg, "0009")

    def state() -> tuple[str, list[str]]:
        with secret_vault.engine.connect() as conn:
            versions = sorted(conn.exec_driver_sql("SELECT version_num FROM alembic_version")
                              .scalars())
        return _rows_as_text(secret_vault), versions

    before = state()
    with pytest.raises(RuntimeError, match="must open the sealed passwords"):
        command.downgrade(cfg, "0008")
    assert state() == before and "0009" in before[1]
    upgrade(secret_vault.engine)


# -- the key file: bad input -------------------------------------------------------------------
def _broken_key(vault: Vault, how: str, other: Path) -> None:
    key = vault.root / "keys" / KEY_FILE
    if how == "missing":
        key.unlink()
    elif how == "unreadable":
        key.unlink()
        key.mkdir()  # unreadable even for root (mode bits would not stop root)
    elif how == "not a key":
        key.write_text("to nie jest klucz\n")
    elif how == "another vault's":
        shutil.copy(other / "keys" / KEY_FILE, key)


@pytest.mark.parametrize(("how", "says"), [
    ("missing", r"secrets key .* is missing .*restore keys/secrets\.key from the backup"),
    ("unreadable", r"cannot read the vault's secrets key .*: Is a directory"),
    ("not a key", r"is not a Kustosz secrets key"),
    ("another vault's", r"is not this vault's secrets key"),
])
def test_a_bad_key_file_refuses_to_open_and_changes_nothing(
        secret_vault: Vault, tmp_path: Path, how: str, says: str) -> None:
    other = make_vault(tmp_path / "other")
    other.close()
    saved = (secret_vault.root / "keys" / KEY_FILE).read_bytes()
    before = snapshot(secret_vault)
    _broken_key(secret_vault, how, other.root)
    with pytest.raises(ConfigError, match=says):
        Vault.open(secret_vault.root)
    done = _kustosz(secret_vault.root, "cameras", "list")
    assert done.returncode == 2 and "error:" in done.stderr
    assert snapshot(secret_vault) == before
    assert not any(p.name.startswith(".secrets") for p in (secret_vault.root / "keys").iterdir())
    key = secret_vault.root / "keys" / KEY_FILE
    if key.is_dir():
        key.rmdir()
    key.write_bytes(saved)
    Vault.open(secret_vault.root).close()  # the right key back: it opens again


def test_a_key_lost_for_good_is_replaced_only_on_request(secret_vault: Vault) -> None:
    """Without `--yes` nothing changes; with it, a new key, the sealed passwords forgotten
    (never guessed), named in the audit log, and the vault opens again."""
    vault = secret_vault
    (vault.root / "keys" / KEY_FILE).unlink()
    before = snapshot(vault)
    done = _kustosz(vault.root, "secrets", "forget-lost-key")
    assert done.returncode == 2 and "restore" in done.stderr
    assert snapshot(vault) == before
    done = _kustosz(vault.root, "secrets", "forget-lost-key", "--yes")
    assert done.returncode == 0, done.stderr
    again = Vault.open(vault.root)
    try:
        with again.reading() as s:
            camera, _ = camera_named(s, "hol-1")
            assert camera.rtsp_password is None
            (entry,) = s.execute(select(AuditEntry).where(
                AuditEntry.action == "secrets.key_replaced")).scalars()
        assert json.loads(entry.details) == {
            "forgotten": {"cameras": ["hol-1"], "mailboxes": ["dziennik"]}}
        done = _kustosz(vault.root, "secrets", "forget-lost-key", "--yes")
        assert done.returncode == 2 and "exists" in done.stderr  # a working key is kept
    finally:
        again.close()
