"""The SeaweedFS harness (tests/support/seaweedfs.py) picks free ports and then `weed mini`
checks and binds them; another worker's connection took one in between on a fresh clone's
run ("bind: address already in use", a test failed in its set-up). It tries again on fresh
ports, whichever of weed's two messages says the port is taken. Real weed; the taken port is
a socket listening on it, which weed's own check finds."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from tests.support import seaweedfs


def test_a_port_taken_before_weed_binds_it_is_tried_again_on_fresh_ones(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    picked = seaweedfs.free_ports
    calls: list[list[int]] = []

    def first_with_a_taken_port(count: int) -> list[int]:
        ports = picked(count)
        if not calls:  # the S3 port (the fourth) is the one in use
            ports[3] = taken.getsockname()[1]
        calls.append(ports)
        return ports

    monkeypatch.setattr(seaweedfs, "free_ports", first_with_a_taken_port)
    try:
        server = seaweedfs.start(tmp_path / "weed")
        try:
            assert len(calls) == 2
            assert server.endpoint == f"http://127.0.0.1:{calls[1][3]}"
            server.client().list_buckets()
        finally:
            server.stop()
    finally:
        taken.close()
