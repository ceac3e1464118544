"""Every call to the object store has a deadline for the whole call (issue 48, "every call has
a deadline"): a store that answers one byte every half second (a proxy in front of the real
SeaweedFS, tests/storage/trickle.py) kept one HEAD, GET, LIST, DELETE or PUT alive for as long
as it kept dribbling — botocore bounds each read, never the answer. Now each ends within its
deadline (storage.s3_deadline: a floor, plus the size at the least rate) and a little slack,
its connection closed, as `Unavailable` naming the store and the reason; a PUT cut so is
never reported as stored. A store that answers in time is never cut, however slowly the
reader of a streamed body reads."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from tests.conftest import make_vault
from tests.monitoring.imap_helpers import self_signed
from tests.opaque import opaque_bytes
from tests.storage.conftest import SMALL_PARTS, S3Server
from tests.storage.test_spool_buffer import rows, s3_vault, take_segments
from tests.storage.trickle import TrickleProxy

from kustosz.config import read_config
from kustosz.db.models import Alert
from kustosz.errors import ConfigError
from kustosz.index.sources import add_source
from kustosz.ingest.upload_queue import Drained, UploadQueue, note_alerts, queue_of
from kustosz.states import AlertRow, RecordingState
from kustosz.storage.base import Unavailable
from kustosz.storage.s3 import Credentials, S3Storage, limits_of
from kustosz.storage.s3_deadline import CallLimits
from kustosz.vault import Vault

FLOOR = 2.0  # [storage] deadline_seconds for these tests
RATE = 5_000_000  # deadline_min_rate: bytes a second
SLACK = 4.0  # past the deadline: the alarm's wake-up, the connection's close, a busy machine



def via(proxy: TrickleProxy, seaweed: S3Server, bucket: str, scratch: Path) -> S3Storage:
    store = S3Storage(proxy.endpoint, bucket, seaweed.sweep, scratch, region=seaweed.region,
                      deleting=True, attempts=3, connect_timeout=2, read_timeout=20,
                      limits=CallLimits(FLOOR, RATE), **SMALL_PARTS)
    store.prepare()  # through the proxy, before it trickles
    return store


def ended_in_time(call: Callable[[], Any], limit: float) -> tuple[BaseException | None, float]:
    """Run ``call``; it must end within ``limit`` seconds. Its error and how long it took."""
    box: dict[str, Any] = {}

    def run() -> None:
        began = time.monotonic()
        try:
            box["value"] = call()
        except BaseException as exc:  # handed to the test
            box["error"] = exc
        box["took"] = time.monotonic() - began

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(limit)
    assert not worker.is_alive(), f"the call was still waiting on the store after {limit} s"
    return box.get("error"), box["took"]


def _file(tmp_path: Path, name: str, size: int) -> Path:
    path = tmp_path / name
    path.write_bytes(opaque_bytes(name, size))
    return path


OPERATIONS: dict[str, tuple[set[str], Callable[[S3Storage, str, str, Path], Any]]] = {
    "HEAD": ({"HEAD"}, lambda s, key, _v, _p: s.stat(key)),
    "GET": ({"GET"}, lambda s, key, _v, _p: s.checksum(key)),
    "LIST": ({"GET"}, lambda s, _k, _v, _p: list(s.iterate("cam/"))),
    "DELETE": ({"DELETE"}, lambda s, key, version, _p: s.delete_version(key, version)),
    "PUT": ({"PUT"}, lambda s, _k, _v, path: s.put("cam/new.ts", path)),
    "local_path": ({"GET"}, lambda s, key, _v, _p: s.local_path(key).__enter__()),
}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_a_call_to_a_trickling_store_ends_by_its_deadline(
        operation: str, tmp_path: Path, seaweed: S3Server, proxy: TrickleProxy) -> None:
    bucket = seaweed.make_bucket()
    store = via(proxy, seaweed, bucket, tmp_path / "scratch")
    stored = store.put("cam/seg.ts", _file(tmp_path, "seg.ts", 50_000))
    methods, call = OPERATIONS[operation]
    proxy.methods, proxy.trickling = methods, True

    error, took = ended_in_time(
        lambda: call(store, stored.key, stored.version_id or "", _file(tmp_path, "new.ts",
                                                                       40_000)),
        FLOOR + SLACK)

    assert isinstance(error, Unavailable), error
    said = str(error)
    assert "deadline" in said and proxy.endpoint in said and bucket in said, said
    assert error.pl is not None and "wyznaczonym czasie" in error.pl and \
        proxy.endpoint in error.pl
    assert took >= FLOOR * 0.9  # the store was given its time, not refused at once
    # abandoned: the connection is closed, not left to dribble on
    assert proxy.wait_dropped(1, 5.0), "the trickling connection was not closed"
    if operation == "PUT":
        proxy.trickling = False
        # the store may hold what it was sent, but it was never reported as stored; the next
        # call on the same store answers as before
        assert store.exists("cam/seg.ts")


def test_a_streamed_body_that_trickles_is_cut_per_read_not_the_readers_pauses(
        tmp_path: Path, seaweed: S3Server, proxy: TrickleProxy) -> None:
    bucket = seaweed.make_bucket()
    store = via(proxy, seaweed, bucket, tmp_path / "scratch")
    source = _file(tmp_path, "clip.ts", 3_000_000)
    data = source.read_bytes()
    key = store.put("cam/clip.ts", source).key

    # in time: a reader pausing longer than the floor between reads is not the store's delay
    with store.open(key) as body:
        first = body.read(1 << 20)
        paused = threading.Event()
        paused.wait(FLOOR + 0.5)  # the reader's own pause (a slow browser), not an assertion
        rest = body.read()
    assert first + rest == data

    proxy.methods, proxy.trickling, proxy.after_headers = {"GET"}, True, True
    body = store.open(key)  # the headers come at once
    error, _took = ended_in_time(lambda: body.read(1 << 20), FLOOR + 1 + SLACK)
    assert isinstance(error, Unavailable) and "deadline" in str(error), error
    assert proxy.wait_dropped(1, 5.0)


def test_a_multipart_upload_in_time_is_not_cut_and_one_past_it_is(
        tmp_path: Path, seaweed: S3Server, proxy: TrickleProxy) -> None:
    bucket = seaweed.make_bucket()
    store = via(proxy, seaweed, bucket, tmp_path / "scratch")
    big = _file(tmp_path, "big.ts", 12 << 20)  # three parts of 5 MiB at most
    done = store.put("cam/big.ts", big)
    assert store.checksum(done.key).sha256 == done.sha256

    proxy.methods, proxy.trickling = {"PUT"}, True  # each part's answer trickles
    error, took = ended_in_time(lambda: store.put("cam/big2.ts", big),
                                store.limits.for_size(12 << 20) + SLACK)
    assert isinstance(error, Unavailable) and "deadline" in str(error), error
    assert took >= store.limits.for_size(12 << 20) * 0.9
    proxy.trickling = False
    assert not store.exists("cam/big2.ts")  # aborted: no object, no part left behind
    uploads = [u for page in store._pages("list_multipart_uploads", "list", Bucket=bucket)
               for u in page.get("Uploads", [])]
    assert [u for u in uploads if u["Key"] == "cam/big2.ts"] == []


def test_an_upload_past_its_deadline_stays_queued_and_the_alert_names_the_store(
        tmp_path: Path, seaweed: S3Server, proxy: TrickleProxy) -> None:
    bucket = seaweed.make_bucket()
    root = s3_vault(tmp_path / "vault", seaweed.raw, bucket,
                    extra=f'deadline_seconds = {FLOOR}\ndeadline_min_rate = "5 MB"')
    config = root / "kustosz.toml"
    config.write_text(config.read_text().replace(seaweed.endpoint, proxy.endpoint))
    vault = Vault.open(root, actor="test")
    try:
        with vault.transaction() as s:
            cam = add_source(s, vault.policy, "hall", "camera", "test").id
        proxy.methods, proxy.trickling = {"PUT"}, True
        # the segment's upload is cut at its deadline: kept in the spool, not stored
        error, _took = ended_in_time(lambda: take_segments(vault, cam, 1), 3 * FLOOR + SLACK)
        assert error is None, error
        assert [r.state for r in rows(vault)] == [RecordingState.PENDING], rows(vault)
        queue = queue_of(vault)
        assert queue.backlog()[0] == 1, queue.backlog()

        proxy.methods = None  # now every answer trickles: the pass fails by its deadline
        queue.away = False
        result = _drain_in_time(queue)
        assert result.error is not None and result.uploaded == 0, result
        note_alerts(vault, queue, result)
        with vault.reading() as s:
            alert = s.execute(sa.select(Alert).where(
                Alert.kind == AlertRow.STORAGE_UNREACHABLE)).scalar_one()
        assert f"{proxy.endpoint}/{bucket}" in alert.message, alert.message
        assert "wyznaczonym czasie" in alert.message and "deadline" in alert.message, \
            alert.message
        assert alert.message.index("Magazyn") < alert.message.index("The object store")

        proxy.trickling = False  # the store answers in time again
        result = _drain_in_time(queue)
        assert result.error is None and result.uploaded == 1, result
        note_alerts(vault, queue, result)
        [row] = rows(vault)
        assert row.state == RecordingState.STORED and queue.backlog()[0] == 0, \
            (row.state, queue.backlog())
        # what the cut PUT had sent was found and marked, not uploaded a second time
        assert len(vault.storage.versions(row.storage_key)) == 1, \
            vault.storage.versions(row.storage_key)
        with vault.reading() as s:
            assert s.execute(sa.select(Alert.cleared_at).where(
                Alert.kind == AlertRow.STORAGE_UNREACHABLE)).scalar_one() is not None
    finally:
        vault.close()


def _drain_in_time(queue: UploadQueue) -> Drained:
    box: list[Drained] = []
    error, _took = ended_in_time(lambda: box.append(queue.drain()), 3 * FLOOR + SLACK)
    assert error is None, error
    return box[0]


def test_the_deadline_is_read_from_kustosz_toml_and_a_rate_without_a_unit_refused(
        tmp_path: Path) -> None:
    vault = make_vault(tmp_path / "vault")
    vault.close()
    config = vault.root / "kustosz.toml"
    original = config.read_text()

    def with_lines(lines: str) -> None:
        config.write_text(original.replace(
            "\n[storage]\n", '\n[storage]\nkind = "s3"\nendpoint = "http://127.0.0.1:9"\n'
            f'bucket = "media"\n{lines}\n', 1))

    with_lines("")
    settings = read_config(vault.root).s3
    assert settings is not None and limits_of(settings) == CallLimits(60.0, 256_000)
    assert limits_of(settings).for_size(32_000_000) == 60.0 + 125.0
    with_lines('deadline_seconds = 20\ndeadline_min_rate = "1 MiB"')
    settings = read_config(vault.root).s3
    assert settings is not None and limits_of(settings) == CallLimits(20.0, 1 << 20)
    for bad in ('deadline_min_rate = "256"', "deadline_seconds = 0"):
        with_lines(bad)
        with pytest.raises(ConfigError, match=bad.split(" ")[0]) as exc:
            read_config(vault.root)
        assert exc.value.pl and bad.split(" ")[0] in exc.value.pl


def test_a_trickling_store_over_tls_is_cut_by_the_deadline_too(tmp_path: Path) -> None:
    """The TLS socket is shut under the TLS layer reading it: a store on https ends alike."""
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    dropped = threading.Event()
    stop = threading.Event()

    def serve() -> None:
        with contextlib.suppress(OSError):
            raw, _ = listener.accept()
            with context.wrap_socket(raw, server_side=True) as conn:
                request = b""
                while b"\r\n\r\n" not in request:
                    request += conn.recv(4096)
                answer = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nx-amz-meta-x: " + \
                    b"y" * 200 + b"\r\n\r\n"
                for i in range(len(answer)):
                    try:
                        conn.sendall(answer[i:i + 1])
                    except OSError:
                        dropped.set()
                        return
                    if stop.wait(0.5):
                        return

    threading.Thread(target=serve, daemon=True).start()
    store = S3Storage(f"https://127.0.0.1:{listener.getsockname()[1]}", "media",
                      Credentials("app", "secret", "the test"), tmp_path / "scratch",
                      ca_file=cert, attempts=3, connect_timeout=2, read_timeout=20,
                      limits=CallLimits(FLOOR, RATE))
    try:
        error, took = ended_in_time(lambda: store.stat("cam/seg.ts"), FLOOR + SLACK)
        assert isinstance(error, Unavailable) and "deadline" in str(error), error
        assert took >= FLOOR * 0.9
        assert dropped.wait(5.0), "the trickling TLS connection was not closed"
    finally:
        stop.set()
        listener.close()
