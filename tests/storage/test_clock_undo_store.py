"""Issue 27 item 7(c) on an object store with Object Lock (SeaweedFS): the two-person undo of
a wrong-ahead clock re-dates the objects the wrong jump locked too long, with the re-dating
identity's credentials only — the sweep's keys and missing or bad credentials are refused and
change nothing (kustosz.clock.undo, `kustosz clock undo approve --credentials`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.clock_helpers import ShiftedClock
from tests.conftest import Cli, snapshot
from tests.storage.conftest import S3Server
from tests.storage.test_s3_vault import write_credentials
from tests.storage.test_separate_sweep import s3_vault
from tests.test_clock_restart import started
from tests.test_clock_undo import people, true_end, wrong_ahead

from kustosz.db.models import Recording
from kustosz.vault import Vault


def _locks(server: S3Server, bucket: str, rows: list[Recording]) -> dict[int, datetime]:
    app = server.client(server.app)
    return {r.id: app.head_object(Bucket=bucket, Key=r.storage_key, VersionId=r.version_id)[
        "ObjectLockRetainUntilDate"] for r in rows}


def _state(root: Path, server: S3Server, bucket: str) -> tuple[dict[str, object],
                                                                dict[int, datetime]]:
    vault = Vault.open(root, actor="test")
    try:
        with vault.reading() as s:
            from sqlalchemy import select

            rows = list(s.execute(select(Recording)).scalars())
        return snapshot(vault), _locks(server, bucket, rows)
    finally:
        vault.close()


def test_an_approved_undo_redates_the_objects_with_the_redating_identity_only(
        tmp_path: Path, seaweed: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    bucket = seaweed.make_bucket()
    vault, _sweep = s3_vault(tmp_path, seaweed, bucket, separate=True)
    clock = ShiftedClock()
    clock.install(monkeypatch)
    try:
        people(vault)
        watch = started(vault, clock)
        try:
            before, ahead, jump_id = wrong_ahead(vault, clock, watch)
        finally:
            watch.close()
        due = {rid: true_end(vault, t) for rid, t in before + ahead}
    finally:
        vault.close()
    state, locks = _state(vault.root, seaweed, bucket)
    for rid, end in due.items():  # locked as long as the wrong jump made them: 40 days late
        assert locks[rid] - end >= timedelta(days=39), rid
    cli = Cli(vault.root)
    out = cli("clock", "undo", "propose", str(jump_id), "--reason", "zegar się spieszył",
              "--by", "anna").output
    number = out.split("proposal ")[1].split()[0]
    state, locks = _state(vault.root, seaweed, bucket)

    missing = cli("clock", "undo", "approve", number, "--by", "jan", ok=False)
    assert missing.exit_code == 2 and "--credentials" in missing.output
    absent = cli("clock", "undo", "approve", number, "--by", "jan", "--credentials",
                 str(tmp_path / "none.toml"), ok=False)
    assert absent.exit_code == 2 and "nie istnieje" in absent.output
    bad = tmp_path / "bad.toml"
    bad.write_text("access_key = 1\n")
    bad.chmod(0o600)
    garbled = cli("clock", "undo", "approve", number, "--by", "jan", "--credentials",
                  str(bad), ok=False)
    assert garbled.exit_code == 2 and "access_key" in garbled.output
    # the sweep's keys hold no bypass: the store refuses them, nothing is changed
    sweep_file = write_credentials(tmp_path / "as-redate.toml", seaweed.sweep.access_key,
                                   seaweed.sweep.secret_key)
    refused = cli("clock", "undo", "approve", number, "--by", "jan", "--credentials",
                  str(sweep_file), ok=False)
    assert refused.exit_code != 0
    assert _state(vault.root, seaweed, bucket) == (state, locks)

    assert seaweed.redate is not None
    redate = write_credentials(tmp_path / "s3-redate.toml", seaweed.redate.access_key,
                               seaweed.redate.secret_key)
    done = cli("clock", "undo", "approve", number, "--by", "jan", "--credentials",
               str(redate), "--json").output
    assert '"objects": 6' in done
    _, locks = _state(vault.root, seaweed, bucket)
    for rid, end in due.items():  # each object locked to its true end, no longer
        assert locks[rid] == end.astimezone(UTC), rid
    assert cli("audit", "verify").exit_code == 0
