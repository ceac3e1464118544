"""Bytes served by the kernel (issue 68 item 2): over `kustosz serve`'s own web server a stored
file's bytes go out by sendfile(2) (the ASGI zero-copy extension, web/zerocopy.py), never
copied through Python — after the gate said yes and the access record was committed, which
holds every byte sent. Ranges, a viewer who leaves mid-way and `kustosz audit verify`
afterwards behave as before. The calls are counted by wrapping os.sendfile (asyncio's
sendfile calls it); no speed is asserted."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from tests.cameras.camera_helpers import wait_for
from tests.conftest import Cli
from tests.support.onvif_camera import free_port
from tests.web.test_download_access_ends import big_call
from tests.web.web_helpers import Material, authorise, both_vault, make_material, user

from kustosz.access import accounts, records
from kustosz.access.users import get_user
from kustosz.db.access import AccessEntry
from kustosz.db.custody import Copy
from kustosz.db.models import Recording, Source
from kustosz.vault import Vault
from kustosz.web.server import WebServer


@dataclass
class Sent:
    """What os.sendfile sent, and how many access records were committed at its first call."""

    calls: int = 0
    bytes: int = 0
    records_at_first: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Site:
    vault: Vault
    material: Material
    call: Recording
    base: str
    cookies: dict[str, dict[str, str]]
    sent: Sent

    def viewing(self, action: str, who: str = "ola", **what: Any) -> str:
        with self.vault.transaction() as s:
            kw: dict[str, Any] = {}
            if action == "playback":
                kw["source"] = s.execute(select(Source).where(Source.name == "cam-hol")
                                         ).scalar_one()
                kw["window"], kw["witness"] = self.material.window, "user:zastepca"
            if "recording" in what:
                kw["recording"] = s.get(Recording, what["recording"])
            if "copy" in what:
                kw["copy"] = s.execute(select(Copy).where(Copy.number == what["copy"])
                                       ).scalar_one()
            token = records.try_open(s, user=get_user(s, who), action=action,
                                     client="127.0.0.1", purpose="skarga — Józef Żółć 🎥",
                                     case_ref="OR.68.1", **kw)
        assert isinstance(token, str), token
        return token

    def client(self, who: str = "ola") -> httpx.Client:
        return httpx.Client(base_url=self.base, cookies=self.cookies[who], timeout=60)


def _sent(site: Site, n: int) -> None:
    """The kernel's count reaches ``n`` bytes (the client may have them before the server's
    thread counts the call that sent them)."""
    wait_for(lambda: site.sent.bytes >= n, 10, f"{n} bytes sent by sendfile",
             lambda: site.sent.bytes)
    assert site.sent.bytes == n


def _records(vault: Vault) -> int:
    with vault.reading() as s:
        return int(s.execute(select(func.count()).select_from(AccessEntry)).scalar_one())


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    vault = both_vault(tmp_path / "vault")
    m = make_material(vault, tmp_path)
    call = big_call(vault, tmp_path / "long", datetime.now(UTC) - timedelta(hours=3), 600)
    user(vault, "ola", ["viewer"], display="Józef Żółć 🎥")
    authorise(vault, "ola", ["playback"], sources=["cam-hol"])
    authorise(vault, "ola", ["listening"], sources=["centrala"])
    authorise(vault, "informatyk", ["export"], sources=["cam-hol"])
    sent = Sent()
    real = os.sendfile

    def counted(out_fd: int, in_fd: int, offset: int | None, count: int) -> int:
        with sent.lock:
            if sent.records_at_first is None:
                sent.records_at_first = _records(vault)
        n = real(out_fd, in_fd, offset, count)
        with sent.lock:
            sent.calls += 1
            sent.bytes += n
        return n

    monkeypatch.setattr(os, "sendfile", counted)
    server = WebServer(vault, "127.0.0.1", free_port())
    server.start()
    with vault.transaction() as s:
        cookies = {who: {"kustosz_session": accounts.start_session(
            s, get_user(s, who), "127.0.0.1")[0]} for who in ("ola", "informatyk")}
    try:
        yield Site(vault, m, call, server.url.rstrip("/"), cookies, sent)
    finally:
        server.stop()
        vault.close()


def test_a_segment_goes_out_by_sendfile_after_its_access_record(site: Site) -> None:
    rec = site.material.old[0]
    token = site.viewing("playback")
    before = _records(site.vault)
    with site.client() as h:
        r = h.get(f"/media/{token}/segment/{rec.id}.ts")
    assert r.status_code == 200, r.text
    assert r.content == site.vault.storage.path(rec.storage_key).read_bytes()
    assert r.headers["content-length"] == str(rec.size)
    assert r.headers["cache-control"] == "no-store"  # the app's headers still go with it
    assert r.headers["x-frame-options"] == "DENY"
    _sent(site, rec.size)
    # the record holding these bytes was committed before the kernel sent the first of them
    assert site.sent.records_at_first == before + 1 == _records(site.vault)


def test_a_left_download_ends_and_the_next_one_is_whole(site: Site) -> None:
    token = site.viewing("listening", recording=site.call.id)
    got = 0
    with site.client() as h, h.stream("GET", f"/media/{token}/audio") as r:
        assert r.status_code == 200
        for chunk in r.iter_bytes():
            got += len(chunk)
            if got >= 1 << 20:
                break  # the viewer leaves: the connection is closed under the server
    # the server thread counts a sendfile call when it returns, after its bytes reached the
    # viewer: waited for, not read at once (it failed twice on a loaded machine)
    wait_for(lambda: site.sent.calls >= 1, 10, "the first download by sendfile")

    def held() -> int:
        with site.vault.reading() as s:
            return sum(e.bytes for e in s.execute(select(AccessEntry)).scalars())
    wait_for(lambda: held() >= got, 10, "the access record of the bytes sent")
    # the server goes on: the whole call, again by sendfile, on a new connection
    calls = site.sent.calls
    with site.client() as h:
        whole = h.get(f"/media/{token}/audio")
    assert whole.status_code == 200 and len(whole.content) == site.call.size
    assert whole.content == site.vault.storage.path(site.call.storage_key).read_bytes()
    wait_for(lambda: site.sent.calls > calls, 10, "the second download by sendfile")
    Cli(site.vault.root)("audit", "verify")


def test_several_viewers_at_once_each_get_their_bytes(site: Site) -> None:
    token = site.viewing("playback")
    segments = site.material.old
    results: list[tuple[int, bytes]] = []

    def fetch(rec: Recording) -> None:
        with site.client() as h:
            for _ in range(3):  # keep-alive: several answers on one connection
                r = h.get(f"/media/{token}/segment/{rec.id}.ts")
                results.append((rec.id, r.content if r.status_code == 200 else b""))

    threads = [threading.Thread(target=fetch, args=(rec,)) for rec in segments * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    stored = {rec.id: site.vault.storage.path(rec.storage_key).read_bytes()
              for rec in segments}
    assert len(results) == len(threads) * 3
    assert all(body == stored[rid] for rid, body in results)
    _sent(site, sum(len(b) for _rid, b in results))
    Cli(site.vault.root)("audit", "verify")


def test_a_range_of_a_copy_goes_out_by_sendfile_and_is_recorded_as_that_range(
        site: Site) -> None:
    token = site.viewing("export", who="informatyk", copy=site.material.copy_number)
    with site.client("informatyk") as h:
        whole = h.get(f"/media/{token}/copy.zip")
        assert whole.status_code == 200
        _sent(site, len(whole.content))
        part = h.get(f"/media/{token}/copy.zip", headers={"Range": "bytes=100-4999"})
    assert part.status_code == 206, part.text
    assert part.content == whole.content[100:5000]
    assert part.headers["content-range"] == f"bytes 100-4999/{len(whole.content)}"
    _sent(site, len(whole.content) + 4900)
    with site.vault.reading() as s:
        last = s.execute(select(AccessEntry).order_by(AccessEntry.seq.desc())).scalars().first()
    assert last is not None and last.bytes == 4900
    Cli(site.vault.root)("audit", "verify")
