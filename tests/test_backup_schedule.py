"""Scheduled backups under `serve` ([backup] in kustosz.toml) and doctor's backup age
(issue 14 items 5 and 11): daily generations hard-linked from the previous one, `keep`
honoured, "backup_failed" and "backup_missing" alerts raised and cleared by the next
success; doctor says OK / WARN / FAIL against the schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from kustosz.alert_kinds import kind_of
from kustosz.backup.layout import MANIFEST
from kustosz.backup.schedule import FAILED, MISSING, finished, read_settings, tick
from kustosz.cli.doctor import run_checks
from kustosz.db.models import Alert
from kustosz.errors import ConfigError
from kustosz.vault import Vault
from tests.test_backup import fill, passphrase_file

DAY1 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)  # 10:00 in Warsaw, after 02:30


def configure(vault: Vault, tmp: Path, keep: int = 2, extra: str = "") -> Path:
    secret = tmp / "secret"
    secret.mkdir(exist_ok=True)
    pp = passphrase_file(secret)
    (tmp / "kopie").mkdir(mode=0o700, exist_ok=True)
    config = vault.root / "kustosz.toml"
    config.write_text(config.read_text() + f'\n[backup]\nfolder = "{tmp / "kopie"}"\n'
                      f'at = "02:30"\npassphrase_file = "{pp}"\nkeep = {keep}\n{extra}')
    return pp


def open_alerts(vault: Vault) -> dict[str, str]:
    with vault.reading() as s:
        return {a.kind: a.message for a in s.execute(
            select(Alert).where(Alert.cleared_at.is_(None),
                                Alert.kind.in_((FAILED, MISSING)))).scalars()}


def test_daily_generations_linked_and_kept(sqlite_vault: Vault, tmp_path: Path) -> None:
    recs = fill(sqlite_vault, tmp_path, 2)
    configure(sqlite_vault, tmp_path, keep=2)
    settings = read_settings(sqlite_vault.root)
    assert settings is not None and settings.keep == 2
    # What a backup cut short by a stop left behind (no manifest) is cleared away.
    left = tmp_path / "kopie" / "20261121T013000Z"
    (left / "media").mkdir(parents=True)
    (tmp_path / "kopie" / "notatki").mkdir()  # not the schedule's: left alone
    tick(sqlite_vault, settings, DAY1)  # the first start after 02:30: due at once
    assert not left.exists() and (tmp_path / "kopie" / "notatki").is_dir()
    (first,) = finished(tmp_path / "kopie")
    assert first.name == "20261122T090000Z"
    assert (first.stat().st_mode & 0o077) == 0 and (tmp_path / "kopie").stat().st_mode & 0o077 == 0
    tick(sqlite_vault, settings, DAY1 + timedelta(hours=3))  # done for today
    assert len(finished(tmp_path / "kopie")) == 1
    day2 = datetime(2026, 11, 23, 1, 31, tzinfo=UTC)  # 02:31 in Warsaw
    tick(sqlite_vault, settings, day2)
    second = finished(tmp_path / "kopie")[-1]
    key = recs[0].storage_key
    assert (first / "media" / key).stat().st_ino == (second / "media" / key).stat().st_ino
    tick(sqlite_vault, settings, day2 + timedelta(days=1))
    kept = finished(tmp_path / "kopie")
    assert [p.name for p in kept] == ["20261123T013100Z", "20261124T013100Z"]  # keep = 2
    assert (kept[-1] / "media" / key).read_bytes() == sqlite_vault.storage.path(key).read_bytes()
    assert open_alerts(sqlite_vault) == {}


def test_failed_and_missing_backups_raise_alerts_cleared_by_the_next_success(
        sqlite_vault: Vault, tmp_path: Path) -> None:
    fill(sqlite_vault, tmp_path, 1)
    pp = configure(sqlite_vault, tmp_path)
    settings = read_settings(sqlite_vault.root)
    tick(sqlite_vault, settings, DAY1)
    assert len(finished(tmp_path / "kopie")) == 1
    pp.rename(pp.with_suffix(".away"))  # the passphrase file disappears (share not mounted)
    day2 = datetime(2026, 11, 23, 1, 31, tzinfo=UTC)
    tick(sqlite_vault, settings, day2)
    alerts = open_alerts(sqlite_vault)
    assert set(alerts) == {FAILED}
    assert "Kopia zapasowa skarbca nie powiodła się" in alerts[FAILED]
    assert "nie istnieje" in alerts[FAILED]
    assert len(finished(tmp_path / "kopie")) == 1
    assert not [p for p in (tmp_path / "kopie").iterdir() if not (p / MANIFEST).exists()]
    assert kind_of(FAILED).key == kind_of(MISSING).key == "backup"
    # A day and two hours after the last success: missing too.
    tick(sqlite_vault, settings, DAY1 + timedelta(hours=27))
    assert set(open_alerts(sqlite_vault)) == {FAILED, MISSING}
    assert "Brak aktualnej kopii zapasowej" in open_alerts(sqlite_vault)[MISSING]
    pp.with_suffix(".away").rename(pp)
    tick(sqlite_vault, settings, DAY1 + timedelta(hours=28, minutes=30))  # retried
    assert open_alerts(sqlite_vault) == {}
    assert len(finished(tmp_path / "kopie")) == 2


def test_backup_settings_are_checked(sqlite_vault: Vault, tmp_path: Path) -> None:
    config = sqlite_vault.root / "kustosz.toml"
    base = config.read_text()
    for table, words in (
            (f'folder = "{sqlite_vault.root / "kopie"}"', "inside the data folder"),
            (f'folder = "{tmp_path}"\nat = "pół do trzeciej"', "backup.at"),
            (f'folder = "{tmp_path}"\nkeep = 0', "backup.keep"),
            (f'folder = "{tmp_path}"\npassword = "x"', "unknown key")):
        config.write_text(base + f"\n[backup]\n{table}\n")
        with pytest.raises(ConfigError) as caught:
            read_settings(sqlite_vault.root)
        assert words in str(caught.value) and caught.value.pl
    config.write_text(base)
    assert read_settings(sqlite_vault.root) is None


def _backup_check(root: Path, now: datetime) -> dict[str, str]:
    (check,) = [c for c in run_checks(root, now=now) if c.check == "backup"]
    return {"status": check.status, "detail": check.detail}


def test_doctor_reports_backup_age_against_the_schedule(sqlite_vault: Vault,
                                                        tmp_path: Path) -> None:
    root = sqlite_vault.root
    fill(sqlite_vault, tmp_path, 1)
    found = _backup_check(root, DAY1)
    assert found["status"] == "WARN" and "no backup has been made yet" in found["detail"]
    assert "no schedule" in found["detail"]
    pp = configure(sqlite_vault, tmp_path)
    found = _backup_check(root, DAY1)
    assert found["status"] == "FAIL" and "not succeeding" in found["detail"]
    tick(sqlite_vault, read_settings(root), DAY1)
    found = _backup_check(root, DAY1 + timedelta(hours=5))
    assert found["status"] == "OK", found
    assert "5 hours old" in found["detail"] and "daily at 02:30" in found["detail"]
    found = _backup_check(root, DAY1 + timedelta(hours=30))
    assert found["status"] == "WARN" and "30 hours old" in found["detail"]
    found = _backup_check(root, DAY1 + timedelta(days=3))
    assert found["status"] == "FAIL" and "3 days old" in found["detail"]
    (tmp_path / "kopie").rename(tmp_path / "odlaczony")  # the share is not mounted
    found = _backup_check(root, DAY1 + timedelta(hours=1))
    assert found["status"] == "FAIL" and "does not exist" in found["detail"]
    (tmp_path / "odlaczony").rename(tmp_path / "kopie")
    pp.unlink()
    found = _backup_check(root, DAY1 + timedelta(hours=1))
    assert found["status"] == "FAIL" and "cannot run" in found["detail"]


def test_a_backup_folder_that_is_gone_is_not_made_on_the_system_disk(
        sqlite_vault: Vault, tmp_path: Path) -> None:
    fill(sqlite_vault, tmp_path, 1)
    configure(sqlite_vault, tmp_path)
    (tmp_path / "kopie").rmdir()  # e.g. /mnt/kopie with the share not mounted
    tick(sqlite_vault, read_settings(sqlite_vault.root), DAY1)
    assert not (tmp_path / "kopie").exists()
    alerts = open_alerts(sqlite_vault)
    assert set(alerts) == {FAILED} and "nie istnieje (niepodłączony udział" in alerts[FAILED]


def test_the_backup_alert_reaches_a_person_in_polish() -> None:
    from kustosz.alerts.messages import compose

    item = {"kind": "backup", "row_kind": FAILED, "event": "start", "alert": 1,
            "since": "2026-11-23T01:31:00+00:00", "at": "2026-11-23T01:31:00+00:00",
            "text": "Kopia zapasowa skarbca nie powiodła się (2026-11-23 02:31). Przyczyna: …"}
    start = compose(item)
    assert start.subject.startswith("[Kustosz] Kopia zapasowa skarbca nie powiodła się")
    assert "Przyczyna" in start.body
    clear = compose({**item, "event": "clear", "at": "2026-11-23T03:00:00+00:00"})
    assert "Kopia zapasowa skarbca znów się udała" in clear.subject
