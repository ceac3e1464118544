"""Object storage in parallel (issue 68 item 4): uploads run several at once, at most
[storage] uploads_in_flight in the process, whichever intake asks; a store that stalls holds a
batch up for one upload's deadline, not one per file; an upload cut in the middle of the
spool's draining loses nothing and none goes up twice. Against SeaweedFS, the real store, and
the trickling proxy of issue 48 in front of it."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.opaque import opaque_bytes
from tests.storage.conftest import S3Server
from tests.storage.test_s3_deadline import FLOOR, SLACK, ended_in_time
from tests.storage.test_spool_buffer import assert_all_stored, rows, s3_vault
from tests.storage.trickle import TrickleProxy

from kustosz.index.sources import add_source
from kustosz.ingest.files import Item, ingest_batch
from kustosz.ingest.upload_queue import queue_of
from kustosz.states import RecordingState
from kustosz.storage.s3 import S3Storage
from kustosz.vault import Vault

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
# The stalling store's deadline: uploads the store answers must fit in it whole (a PUT, and
# the first ones' verifying HEAD). CI saw the second upload's HEAD, which never trickles here,
# cut at FLOOR's 2 s (4 workers and SeaweedFS on 2 cores); the bounds below are in deadlines.
DEADLINE = 2 * FLOOR


def _files(folder: Path, count: int, size: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for n in range(count):
        path = folder / f"clip{n:03d}.ts"
        path.write_bytes(opaque_bytes(str(path), size))
        made.append(path)
    return made


def test_uploads_at_once_are_as_many_as_the_setting_allows_and_no_more(
        tmp_path: Path, seaweed: S3Server) -> None:
    bucket = seaweed.make_bucket()
    store = S3Storage(seaweed.endpoint, bucket, seaweed.app, tmp_path / "scratch",
                      region=seaweed.region, uploads=2)
    store.prepare()
    lock, running, most = threading.Lock(), [0], [0]
    # Each PUT waits for a second one to begin: with one upload at a time the pair never
    # meets and the barrier breaks; with more than two at once `most` says so.
    pair = threading.Barrier(2, timeout=30)

    def began(**_kwargs: Any) -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        pair.wait()

    def ended(**_kwargs: Any) -> None:
        with lock:
            running[0] -= 1

    store._s3.meta.events.register("before-call.s3.PutObject", began)
    store._s3.meta.events.register("after-call.s3.PutObject", ended)
    until = datetime.now(UTC) + timedelta(days=1)
    files = _files(tmp_path / "in", 6, 300_000)
    with ThreadPoolExecutor(6) as pool:
        stored = list(pool.map(lambda p: store.put(f"par/{p.name}", p, retain_until=until),
                               files))
    assert most[0] == 2
    for path, got in zip(files, stored, strict=True):
        assert got.version_id and got.size == path.stat().st_size
        assert [v for v, _marker in store.versions(got.key)] == [got.version_id]
        assert store.lock_of(got.key, got.version_id).retain_until is not None



def test_a_stalling_store_holds_a_batch_for_one_deadline_and_a_cut_drain_loses_nothing(
        tmp_path: Path, seaweed: S3Server, proxy: TrickleProxy, backend_url: str) -> None:
    bucket = seaweed.make_bucket()
    root = s3_vault(tmp_path / "vault", seaweed.raw, bucket, url=backend_url,
                    extra=f'deadline_seconds = {DEADLINE}\ndeadline_min_rate = "5 MB"\n'
                          "uploads_in_flight = 2")
    config = root / "kustosz.toml"
    config.write_text(config.read_text().replace(seaweed.endpoint, proxy.endpoint))
    vault = Vault.open(root, actor="test")
    try:
        with vault.transaction() as s:
            add_source(s, vault.policy, "hall", "camera", "test")
        files = _files(tmp_path / "in", 10, 60_000)
        items = [Item(p, T0 + timedelta(seconds=10 * n)) for n, p in enumerate(files)]
        proxy.methods, proxy.trickling = {"PUT"}, True
        # Two uploads at once, each cut at its deadline; the eight not begun go to the local
        # spool at once: one deadline in all, not five rounds of two.
        error, _took = ended_in_time(lambda: ingest_batch(vault, "hall", items),
                                    2 * DEADLINE + SLACK)
        assert error is None, error
        assert [r.state for r in rows(vault)] == [RecordingState.PENDING] * 10
        queue = queue_of(vault)
        assert queue.backlog()[0] == 10

        # The store answers again; after three uploads it stalls, in the middle of the pass.
        proxy.trickling = False
        queue.away = False
        answered = [0]

        def stall_after_three(**_kwargs: Any) -> None:
            answered[0] += 1
            if answered[0] == 3:
                proxy.trickling = True

        # counted from the uploads: asked once whether the store keeps conditional writes,
        # by a PUT of its own (S3Upload.conditional_writes)
        vault.storage.conditional_writes()  # type: ignore[attr-defined]
        vault.storage._s3.meta.events.register("after-call.s3.PutObject",  # type: ignore[attr-defined]
                                               stall_after_three)
        box: list[Any] = []
        error, _took = ended_in_time(lambda: box.append(queue.drain()), 3 * DEADLINE + SLACK)
        assert error is None, error
        first = box[0]
        # the proxy's account of every request if not: a CI run saw a verifying HEAD time
        # out after one upload, not a stalled PUT (tests/storage/trickle.py)
        assert first.error is not None and 3 <= first.uploaded < 10, \
            f"{first}\n{proxy.describe()}"
        stored = [r for r in rows(vault) if r.state == RecordingState.STORED]
        assert len(stored) == first.uploaded
        assert queue.backlog()[0] == 10 - first.uploaded

        proxy.trickling = False
        queue.away = False
        second = queue.drain()
        assert second.error is None and second.uploaded == 10 - first.uploaded
        # every file once, at its row's version, with its hash and lock: what the cut PUTs
        # had sent was found and marked, none uploaded twice
        assert_all_stored(vault, seaweed.raw, bucket, 10, tmp_path / "scratch")
    finally:
        vault.close()
