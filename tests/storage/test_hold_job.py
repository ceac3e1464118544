"""A hold's legal holds on the object store are set by a job (issue 16 leftovers): the hold is
committed in the database first — the sweep respects it from then on — and the job then puts
every object version it covers under legal hold, a page at a time, its progress on the job
page; a release clears the legal hold only where no other hold covers. Real SeaweedFS on
loopback, SQLite and PostgreSQL. The worker is a runner that only queues (the public
`kustosz.jobs.use`), so the test decides when the job runs: the sweep runs in between."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from tests.conftest import make_vault
from tests.storage.conftest import S3Server
from tests.web.web_helpers import client, session_for, user

from kustosz import jobs
from kustosz.custody.holds import place_hold, release_hold
from kustosz.db.models import Recording, Source
from kustosz.holds.object_lock import PAGE, jobs_queued
from kustosz.index.sources import add_source
from kustosz.ingest.files import ingest_file
from kustosz.jobs import records
from kustosz.jobs.attempt import attempt
from kustosz.retention import run_sweep
from kustosz.vault import Vault


class QueueOnly:
    """serve's worker as far as the caller sees it: the job is queued, nothing runs it."""

    def submit(self, vault: Vault, kind: str, args: dict[str, Any], by: str) -> int:
        with vault.transaction() as s:
            return records.create(s.connection(), kind, args, by)

    def stop(self, timeout: float) -> None:
        return None


@pytest.fixture
def s3vault(tmp_path: Path, backend_url: str, seaweed: S3Server) -> Iterator[Vault]:
    vault = make_vault(tmp_path / "vault", url=backend_url)
    bucket = seaweed.make_bucket()
    app = seaweed.storage(bucket, vault.root / "tmp", deleting=False)
    sweep = seaweed.storage(bucket, vault.root / "tmp-sweep", deleting=True)
    app.prepare()
    vault.storage = app
    vault.deleting_storage = lambda: sweep  # type: ignore[method-assign]
    vault.bucket = bucket  # type: ignore[attr-defined]
    try:
        yield vault
    finally:
        jobs.use(vault, None)
        vault.close()


def _ingest(vault: Vault, tmp_path: Path, starts: list[datetime]) -> list[Recording]:
    with vault.transaction() as s:
        add_source(s, vault.policy, "hall", "camera", "test")
    out = []
    for i, at in enumerate(starts):
        seg = tmp_path / f"seg{i}.ts"
        seg.write_bytes(b"\x47" * 188 * (i + 1))
        out.append(ingest_file(vault, "hall", seg, at, at + timedelta(seconds=10)))
    return out


def _legal(vault: Vault, seaweed: S3Server, rec: Recording) -> bool:
    """As the store reports it to the sweep's credentials (S3Storage.lock_of: a HEAD of the
    version; no legal hold configuration at all is off)."""
    return vault.deleting_storage().lock_of(rec.storage_key, rec.version_id).legal_hold  # type: ignore[attr-defined]


def _place(vault: Vault, start: datetime, end: datetime) -> tuple[int, list[int]]:
    with vault.transaction() as s:
        hold = place_hold(s, sources=list(s.execute(sa.select(Source)).scalars()),
                          start=start, end=end, basis="wniosek policji", actor="anna")
        hold_id = hold.id
    return hold_id, jobs_queued(s)


def test_the_job_sets_every_legal_hold_and_the_sweep_in_between_deletes_nothing_held(
        s3vault: Vault, seaweed: S3Server, tmp_path: Path) -> None:
    vault = s3vault
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
    recs = _ingest(vault, tmp_path, [t0 + timedelta(minutes=10 * i) for i in range(6)])
    jobs.use(vault, QueueOnly())
    held, free = recs[:4], recs[4:]
    hold_id, queued = _place(vault, t0 - timedelta(minutes=1), recs[3].end_at)
    assert len(queued) == 1
    job = jobs.get(vault, queued[0])
    assert (job.kind, job.state, job.args) == ("hold.legal_holds", "queued",
                                               {"hold_id": hold_id, "on": True})
    # Committed, job not run: nothing near its end, so no legal hold yet ...
    assert not any(_legal(vault, seaweed, r) for r in recs)
    # ... and a sweep now (everything long expired by its clock) never chooses the held
    # ones; the free ones the store refuses it until their retain-until (no bypass, issue 28).
    report = run_sweep(vault, t0 + timedelta(days=400))
    assert report.deleted == [] and sorted(report.refused) == sorted(r.id for r in free)
    with vault.reading() as s:
        left = set(s.execute(sa.select(Recording.id)).scalars())
    assert left == {r.id for r in recs}
    versions = seaweed.client(seaweed.sweep).list_object_versions(Bucket=vault.bucket)  # type: ignore[attr-defined]
    assert {v["VersionId"] for v in versions.get("Versions", [])} == \
        {r.version_id for r in recs}
    assert attempt(vault, queued[0]) is None
    view = jobs.get(vault, queued[0])
    assert view.state == "done" and view.progress == 1.0
    assert view.result == {"hold": hold_id, "on": True, "objects": 4, "covered": 4}
    assert view.note == "Ustawianie blokady prawnej w magazynie obiektów: 4 z 4 nagrań"
    assert all(_legal(vault, seaweed, r) for r in held)


def test_a_release_clears_only_where_no_other_hold_covers(
        s3vault: Vault, seaweed: S3Server, tmp_path: Path) -> None:
    vault = s3vault
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
    recs = _ingest(vault, tmp_path, [t0 + timedelta(minutes=10 * i) for i in range(4)])
    first, _ = _place(vault, t0 - timedelta(minutes=1), recs[3].end_at)  # inline: all four
    _place(vault, recs[2].start_at, recs[3].end_at)  # the last two again
    assert all(_legal(vault, seaweed, r) for r in recs)
    jobs.use(vault, QueueOnly())
    with vault.transaction() as s:
        release_hold(s, first, "sprawa zakończona", "anna")
    queued = jobs_queued(s)
    assert len(queued) == 1
    assert all(_legal(vault, seaweed, r) for r in recs)  # cleared by the job, not the commit
    assert attempt(vault, queued[0]) is None
    assert [_legal(vault, seaweed, r) for r in recs] == [False, False, True, True]
    assert jobs.get(vault, queued[0]).result["objects"] == 2


def test_material_a_running_sweep_may_have_chosen_is_held_at_once(
        s3vault: Vault, seaweed: S3Server, tmp_path: Path) -> None:
    """Rows already `deleting` (a sweep marked them before the hold committed) get the legal
    hold in the placing transaction: the store refuses that sweep's delete."""
    vault = s3vault
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
    recs = _ingest(vault, tmp_path, [t0, t0 + timedelta(minutes=10)])
    with vault.transaction() as s:
        s.execute(sa.update(Recording).where(Recording.id == recs[0].id)
                  .values(state="deleting"))
    jobs.use(vault, QueueOnly())
    _place(vault, t0 - timedelta(minutes=1), recs[1].end_at)
    assert [_legal(vault, seaweed, r) for r in recs] == [True, False]


def test_the_hold_page_shows_the_jobs_progress(s3vault: Vault, tmp_path: Path) -> None:
    vault = s3vault
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
    _ingest(vault, tmp_path, [t0])
    jobs.use(vault, QueueOnly())
    user(vault, "anna", ["custodian"])
    c = client(vault)
    csrf = session_for(vault, c, "anna")
    local = t0.astimezone(vault.policy.timezone)
    r = c.post("/holds", data={"csrf": csrf, "basis": "wniosek policji", "sources": "hall",
                               "from": (local - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
                               "to": (local + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")})
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith("/jobs/")
    job_id = int(r.headers["location"].rsplit("/", 1)[1])
    page = c.get(f"/jobs/{job_id}")
    assert "Blokada prawna nagrań w magazynie obiektów" in page.text
    assert "Wróć do listy zabezpieczeń" in page.text
    attempt(vault, job_id)
    done = c.get(f"/jobs/{job_id}")
    assert done.status_code == 303 and done.headers["location"].startswith("/holds")


def test_page_size_is_bounded() -> None:
    assert 0 < PAGE <= 1000
