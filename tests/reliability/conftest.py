"""Fixtures of the reliability tests: a private PostgreSQL behind a proxy, three RTSP cameras,
a webhook sink for alerts, and the rig that runs `kustosz serve` among them (rig.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.rig import CAMERAS, Rig, WebhookSink
from tests.support import pg_outage
from tests.support.pg_outage import PrivatePostgres, Proxy
from tests.support.rtsp import RtspServer, gst_available, gst_skip_reason, pre_encoded_clip

needs_the_world = [
    pytest.mark.skipif(not gst_available(), reason=gst_skip_reason()),
    pytest.mark.skipif(not pg_outage.available(),
                       reason="PostgreSQL's initdb/pg_ctl are not installed (Debian postgresql)"),
]


@pytest.fixture
def private_pg(tmp_path: Path) -> Iterator[PrivatePostgres]:
    pg = PrivatePostgres(tmp_path)
    try:
        yield pg
    finally:
        pg.stop()


@pytest.fixture
def proxy(private_pg: PrivatePostgres) -> Iterator[Proxy]:
    with Proxy(private_pg.port) as p:
        yield p


@pytest.fixture
def cameras() -> Iterator[RtspServer]:
    # A pre-encoded clip, packetised only: three live x264 encoders would take most of the
    # 2-core test machine from serve. Not shared: a serve killed without TEARDOWN must not
    # leave a mount refusing the next start.
    clip = pre_encoded_clip(width=320, height=180, fps=10, kbps=300, seconds=10)
    with RtspServer(mounts=len(CAMERAS), clip=clip, shared=False) as srv:
        yield srv


@pytest.fixture
def webhook() -> Iterator[WebhookSink]:
    sink = WebhookSink()
    try:
        yield sink
    finally:
        sink.close()


@pytest.fixture
def rig(tmp_path: Path, private_pg: PrivatePostgres, proxy: Proxy, cameras: RtspServer,
        webhook: WebhookSink) -> Iterator[Rig]:
    r = Rig(tmp_path, private_pg, proxy, cameras, webhook)
    try:
        yield r
    finally:
        r.close()
        proxy.restore()
