"""Bad inputs of `kustosz backup` and `kustosz restore` (issue 14 item 5): each is refused
with one clear message in Polish and English that names what is wrong, and nothing is
written — not into the backup folder, not into --data, not into the vault."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from kustosz.backup.layout import JOURNAL, MANIFEST, SQLITE_DB
from kustosz.vault import Vault
from tests.conftest import Cli, snapshot
from tests.test_backup import PASSPHRASE, fill, passphrase_file, pg_target  # noqa: F401


@pytest.fixture
def made(tmp_path: Path) -> tuple[Cli, Path, Path]:
    """A vault with two items, a finished backup of it, and the passphrase file."""
    cli = Cli(tmp_path / "vault")
    cli("init", "--preset", "pleszew")
    vault = Vault.open(cli.data)
    try:
        fill(vault, tmp_path, 2)
    finally:
        vault.close()
    pp = passphrase_file(tmp_path)
    cli("backup", "--to", str(tmp_path / "b"), "--passphrase-file", str(pp))
    return cli, tmp_path / "b", pp


def refused(result: object, *words: str) -> str:
    out = result.output  # type: ignore[attr-defined]
    assert result.exit_code == 2, out  # type: ignore[attr-defined]
    assert "błąd:" in out and "error:" in out, out
    assert out.index("błąd:") < out.index("error:"), out  # one order: Polish first
    for word in words:
        assert word in out, out
    return out


def restore(cli: Cli, src: Path, new: Path, pp: Path | None, *more: str) -> object:
    args = ["restore", "--from", str(src), "--data", str(new), *more]
    if pp is not None:
        args += ["--passphrase-file", str(pp)]
    return Cli(cli.data)(*args, ok=False)


def tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() if p.is_file() else b"/"
            for p in sorted(path.rglob("*"))}


# -- backup ------------------------------------------------------------------------------------
def test_backup_into_a_folder_that_is_not_empty(made: tuple[Cli, Path, Path],
                                                tmp_path: Path) -> None:
    cli, _b, pp = made
    target = tmp_path / "kopia [1]"  # rich markup must not eat the brackets
    target.mkdir()
    (target / "notatka.txt").write_text("nie ruszać")
    vault = Vault.open(cli.data)
    before = snapshot(vault)
    vault.close()
    out = refused(cli("backup", "--to", str(target), "--passphrase-file", str(pp), ok=False),
                  "nie jest pusty", "is not empty", str(target))
    assert "niczego nie zapisano" in out
    assert tree(target) == {"notatka.txt": "nie ruszać".encode()}
    vault = Vault.open(cli.data)
    assert snapshot(vault) == before  # not even an audit entry
    vault.close()


def test_backup_into_a_folder_that_is_not_writable(made: tuple[Cli, Path, Path],
                                                   tmp_path: Path) -> None:
    cli, _b, pp = made
    target = tmp_path / "locked"
    target.mkdir()
    if os.geteuid() == 0:  # root writes through modes: an immutable folder refuses even root
        if subprocess.run(["chattr", "+i", str(target)], capture_output=True).returncode:
            pytest.skip("chattr +i is not possible on this file system")
    else:
        target.chmod(0o500)
    try:
        refused(cli("backup", "--to", str(target), "--passphrase-file", str(pp), ok=False),
                "nie może w nim zapisywać", "is not writable", str(target))
        assert list(target.iterdir()) == []
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(target)], check=True)
        else:
            target.chmod(0o700)


def test_backup_without_a_passphrase(made: tuple[Cli, Path, Path], tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    cli, _b, _pp = made
    monkeypatch.delenv("KUSTOSZ_BACKUP_PASSPHRASE", raising=False)
    refused(cli("backup", "--to", str(tmp_path / "x"), ok=False),
            "Brak hasła kopii", "no passphrase", "KUSTOSZ_BACKUP_PASSPHRASE")
    assert not (tmp_path / "x").exists()
    refused(cli("backup", "--to", str(tmp_path / "x"), "--passphrase-file",
                str(tmp_path / "nope"), ok=False), "nie istnieje", "does not exist")
    assert not (tmp_path / "x").exists()


def test_backup_refuses_a_passphrase_file_others_can_read(made: tuple[Cli, Path, Path],
                                                          tmp_path: Path) -> None:
    cli, _b, pp = made
    pp.chmod(0o644)
    refused(cli("backup", "--to", str(tmp_path / "x"), "--passphrase-file", str(pp), ok=False),
            "chmod 600", "readable by other accounts")
    assert not (tmp_path / "x").exists()


def test_backup_refuses_a_short_passphrase(made: tuple[Cli, Path, Path],
                                           tmp_path: Path) -> None:
    cli, _b, _pp = made
    short = tmp_path / "short"
    short.mkdir()
    pp = passphrase_file(short, "krótkie")
    refused(cli("backup", "--to", str(tmp_path / "x"), "--passphrase-file", str(pp), ok=False),
            "krótsze niż 12 znaków", "shorter than 12")
    assert not (tmp_path / "x").exists()


# -- restore -----------------------------------------------------------------------------------
def _media(b: Path) -> Path:
    return next(p for p in sorted((b / "media").rglob("*")) if p.is_file())


def test_restore_from_a_backup_with_an_altered_media_file(made: tuple[Cli, Path, Path],
                                                          tmp_path: Path) -> None:
    cli, b, pp = made
    victim = _media(b)
    data = bytearray(victim.read_bytes())
    data[100] ^= 0xFF
    victim.write_bytes(bytes(data))
    refused(restore(cli, b, tmp_path / "new", pp), "Kopia jest uszkodzona", "damaged",
            str(victim), "SHA-256", "niczego nie zapisano")
    assert not (tmp_path / "new").exists()
    # `--check` finds the same without a place to restore to.
    before = tree(tmp_path)
    refused(Cli(cli.data)("restore", "--from", str(b), "--check", "--passphrase-file",
                          str(pp), ok=False), str(victim), "SHA-256")
    assert tree(tmp_path) == before
    assert not [p for p in tmp_path.iterdir() if "restoring" in p.name]


def test_restore_from_a_backup_with_a_missing_media_file(made: tuple[Cli, Path, Path],
                                                         tmp_path: Path) -> None:
    cli, b, pp = made
    victim = _media(b)
    victim.unlink()
    refused(restore(cli, b, tmp_path / "new", pp), str(victim), "is missing", "brak pliku")
    assert not (tmp_path / "new").exists()


def test_restore_from_a_backup_whose_manifest_was_altered(made: tuple[Cli, Path, Path],
                                                          tmp_path: Path) -> None:
    cli, b, pp = made
    manifest = json.loads((b / MANIFEST).read_text())
    # Someone hides a damaged file by rewriting its hash in the manifest.
    victim = _media(b)
    victim.write_bytes(b"podmieniony")
    for m in manifest["media"]:
        if (b / "media" / m["key"]) == victim:
            m["sha256"] = __import__("hashlib").sha256(b"podmieniony").hexdigest()
            m["size"] = len(b"podmieniony")
    (b / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    refused(restore(cli, b, tmp_path / "new", pp), str(b / MANIFEST), "HMAC",
            "zmieniono po wykonaniu kopii")
    assert not (tmp_path / "new").exists()


def test_restore_from_a_backup_with_a_truncated_database(made: tuple[Cli, Path, Path],
                                                         tmp_path: Path) -> None:
    cli, b, pp = made
    db = b / SQLITE_DB
    size = db.stat().st_size
    with db.open("r+b") as f:
        f.truncate(size // 2)
    refused(restore(cli, b, tmp_path / "new", pp), str(db), f"where the manifest says {size}")
    assert not (tmp_path / "new").exists()


def test_restore_from_an_unfinished_backup(made: tuple[Cli, Path, Path],
                                           tmp_path: Path) -> None:
    cli, b, pp = made
    (b / MANIFEST).unlink()
    refused(restore(cli, b, tmp_path / "new", pp), "nie jest ukończoną kopią",
            "not a finished Kustosz backup")
    assert not (tmp_path / "new").exists()


def test_restore_into_a_folder_that_is_not_empty(made: tuple[Cli, Path, Path],
                                                 tmp_path: Path) -> None:
    cli, b, pp = made
    new = tmp_path / "new"
    new.mkdir()
    (new / "stare.txt").write_text("zostaje")
    refused(restore(cli, b, new, pp), "nie jest pusty", "is not empty", str(new))
    assert tree(new) == {"stare.txt": b"zostaje"}
    # Not into the live vault either.
    refused(restore(cli, b, cli.data, pp), "is not empty")


def test_restore_with_the_wrong_passphrase(made: tuple[Cli, Path, Path],
                                           tmp_path: Path) -> None:
    cli, b, _pp = made
    other = tmp_path / "other"
    other.mkdir()
    wrong = passphrase_file(other, PASSPHRASE + "!")
    refused(restore(cli, b, tmp_path / "new", wrong), "Błędne hasło kopii", "wrong passphrase",
            "keys.enc")
    assert not (tmp_path / "new").exists()


def test_restore_refuses_a_deletion_line_the_office_did_not_sign(
        made: tuple[Cli, Path, Path], tmp_path: Path) -> None:
    """Lines appended by anyone but the vault (to make a restore delete material) are
    refused: each line is signed with the office's key."""
    cli, b, pp = made
    manifest = json.loads((b / MANIFEST).read_text())
    forged = {"backup": manifest["id"], "id": 99, "recording_id": manifest["media"][0]["id"],
              "source_id": 1, "start_at": "2026-11-20T09:00:00+00:00",
              "end_at": "2026-11-20T09:05:00+00:00", "size": 1, "sha256": None,
              "rule": "retention", "deleted_at": "2026-11-21T00:00:00+00:00",
              "sig": "AAAA"}
    (b / JOURNAL).write_text(json.dumps(forged) + "\n")
    refused(restore(cli, b, tmp_path / "new", pp), f"{b / JOURNAL}", "line 1",
            "niepodpisany kluczem tego urzędu")
    assert not (tmp_path / "new").exists()


def test_restore_of_a_sqlite_backup_refuses_a_database_option(
        made: tuple[Cli, Path, Path], tmp_path: Path) -> None:
    cli, b, pp = made
    refused(restore(cli, b, tmp_path / "new", pp, "--database",
                    "postgresql://postgres@127.0.0.1:5432/test"), "dotyczy tylko PostgreSQL")
    assert not (tmp_path / "new").exists()


# -- PostgreSQL ---------------------------------------------------------------------------------
@pytest.fixture
def pg_made(tmp_path: Path, pg_url: str) -> tuple[Path, Path, str]:
    """A PostgreSQL vault's backup, the passphrase file, and the vault's schema."""
    from tests.conftest import make_vault

    vault = make_vault(tmp_path / "vault", url=pg_url)
    try:
        fill(vault, tmp_path, 1)
        from kustosz.backup.snapshot import make_backup

        make_backup(vault, tmp_path / "b", PASSPHRASE)
    finally:
        vault.close()
    return tmp_path / "b", passphrase_file(tmp_path), pg_url.split("%3D", 1)[1]


def test_restore_of_a_postgresql_backup_needs_a_new_empty_database(
        pg_made: tuple[Path, Path, str], tmp_path: Path, pg_url: str,
        pg_target: tuple[str, str] | None) -> None:  # noqa: F811
    b, pp, schema = pg_made
    cli = Cli(tmp_path / "unused")
    refused(restore(cli, b, tmp_path / "new", pp), "--database", "PostgreSQL")
    assert not (tmp_path / "new").exists()
    # The live vault's own database is not empty: refused, nothing written.
    out = refused(restore(cli, b, tmp_path / "new", pp, "--database", pg_url),
                  "nie jest pusta", "is not empty")
    assert schema in out
    assert not (tmp_path / "new").exists()
    # A new database whose search path misses the backup's schema: told how to fix it.
    assert pg_target is not None
    server, name = pg_target
    import sqlalchemy as sa

    plain = sa.engine.make_url(server).set(database=name).render_as_string(hide_password=False)
    refused(restore(cli, b, tmp_path / "new", pp, "--database", plain),
            f"options=-csearch_path%3D{schema}")
    assert not (tmp_path / "new").exists()
    engine = sa.create_engine(plain.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM pg_tables WHERE schemaname "
                                    "NOT IN ('pg_catalog', 'information_schema')").scalar() == 0
    engine.dispose()
    # And with the right search path it restores.
    done = restore(cli, b, tmp_path / "new", pp, "--database",
                   f"{plain}?options=-csearch_path%3D{schema}")
    assert done.exit_code == 0, done.output  # type: ignore[attr-defined]


def test_backup_onto_a_disk_that_fills_up_keeps_nothing(tmp_path: Path) -> None:
    """The backup disk runs full half-way (a real 1 MiB tmpfs): the command fails in both
    languages, the unfinished folder is removed (it must never look like a backup), and the
    failure is remembered for doctor."""
    from tests.full_disk_helpers import tmpfs

    cli = Cli(tmp_path / "vault")
    cli("init", "--preset", "pleszew")
    vault = Vault.open(cli.data)
    try:
        fill(vault, tmp_path, 3)
        big = tmp_path / "big.wav"
        big.write_bytes(os.urandom(1_500_000))
        from datetime import UTC, datetime

        from kustosz.ingest.files import ingest_file

        ingest_file(vault, "kamera-wejscie", big, datetime(2026, 11, 21, 9, tzinfo=UTC),
                    datetime(2026, 11, 21, 9, 5, tzinfo=UTC))
    finally:
        vault.close()
    pp = passphrase_file(tmp_path)
    with tmpfs(tmp_path / "small", 1) as disk:
        out = refused(cli("backup", "--to", str(disk / "b"), "--passphrase-file", str(pp),
                          ok=False), "nie powiodła się", "failed", "niczego nie zachowano")
        assert "No space left on device" in out
        assert list(disk.iterdir()) == []
    found = Cli(cli.data)("doctor", "--json", ok=False)
    backup = next(c for c in json.loads(found.output)["checks"] if c["check"] == "backup")
    assert "the last attempt failed" in backup["detail"] and "No space left" in backup["detail"]


def test_restore_needs_a_new_folder_or_check(made: tuple[Cli, Path, Path]) -> None:
    cli, b, pp = made
    refused(Cli(cli.data)("restore", "--from", str(b), "--passphrase-file", str(pp), ok=False),
            "--data NOWY", "--check")


def test_backup_into_the_data_folder_and_restore_into_the_backup_are_refused(
        made: tuple[Cli, Path, Path]) -> None:
    cli, b, pp = made
    inside = cli.data / "kopia"
    refused(cli("backup", "--to", str(inside), "--passphrase-file", str(pp), ok=False),
            "leży w katalogu danych", "inside the data folder")
    assert not inside.exists()
    before = tree(b)
    refused(restore(cli, b, b / "nowy", pp), "leży w katalogu kopii", "inside the backup")
    assert tree(b) == before
