"""The capture process's own word on an interface (issue 35 item 2): one that is down, or up
without a link (a cable out, the switch's mirror not set), is said so steadily at every ask —
never opened, failed and opened again (which would raise and clear `phone.unreachable` every
few seconds) — and read as soon as it carries frames. A veth pair made by the test, its ends
brought up one by one (needs root and iproute2). And the crash promise's part that is the
capture loop's: what a killed run left is stored though its line was disabled since."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.cameras.camera_helpers import wait_for

from kustosz.ingest.phone.capture.helper import Capture
from kustosz.ingest.phone.capture.wire import read_control

needs_root = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None,
                                reason="needs root and iproute2")


def _ip(*argv: str) -> None:
    subprocess.run(["ip", *argv], check=True, capture_output=True, timeout=30)


@pytest.fixture
def pair() -> Iterator[tuple[str, str]]:
    tag = f"{os.getpid() % 100000:05d}"
    a, b = f"kzp{tag}a", f"kzp{tag}b"
    _ip("link", "add", a, "type", "veth", "peer", "name", b)
    try:
        yield a, b
    finally:
        subprocess.run(["ip", "link", "del", a], capture_output=True, timeout=30)


def _asked(capture: Capture, serve_side: socket.socket, names: list[str]) -> dict[str, str]:
    capture.asked(names)
    return dict(read_control(serve_side.recv(65536))["opened"])


@needs_root
def test_an_interface_down_or_without_a_link_is_said_so_steadily_and_read_once_it_is_up(
        pair: tuple[str, str]) -> None:
    a, b = pair
    serve_side, ours = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    capture = Capture(ours)
    try:
        for _ in range(3):  # every ask the same answer, nothing opened
            assert _asked(capture, serve_side, [a]) == {a: f"interface {a}: down (ip link "
                                                           f"set {a} up)"}
            assert capture.open == {}
        _ip("link", "set", a, "up")  # up, but its peer is down: no carrier
        for _ in range(3):
            assert _asked(capture, serve_side, [a]) == {
                a: f"interface {a}: no link (the cable, or the switch's mirrored port)"}
            assert capture.open == {}
        # The kernel tells a carrier's change to the interface's flags a moment later (its
        # link watch runs asynchronously, up to a second), so each change is waited for.
        _ip("link", "set", b, "up")
        wait_for(lambda: _asked(capture, serve_side, [a]) == {a: ""}, 30, "the link up")
        assert set(capture.open) == {a}
        _ip("link", "set", b, "down")  # the link lost while it is read
        wait_for(lambda: (capture.links(), capture.open == {})[1], 30, "the link lost seen")
        assert read_control(serve_side.recv(65536))["opened"] == {
            a: f"interface {a}: no link (the cable, or the switch's mirrored port)"}
    finally:
        capture.close()
        serve_side.close()
        ours.close()


def test_a_call_a_killed_run_left_is_stored_though_its_line_was_disabled_since(
        tmp_path: Path) -> None:
    """The crash promise does not wait for a line to be enabled again: serve's capture loop
    stores what a killed run left even when no line is read off a port now."""
    from datetime import UTC, datetime

    from tests.conftest import make_vault
    from tests.siprec.capture_helpers import add_capture
    from tests.siprec.siprec_helpers import OFFICE, calls_of

    from kustosz.ingest.phone.capture.run import capture_root, run_capture
    from kustosz.ingest.phone.lines import disable_phone_source
    from kustosz.ingest.phone.siprec.session import CallFacts, SessionFolder, StreamFacts

    vault = make_vault(tmp_path / "v", "boleslawiec")
    add_capture(vault, "lo")
    with vault.transaction() as s:
        disable_phone_source(s, "port", "test", "the mirror moved")
    facts = CallFacts("port", "left", ["left"], datetime.now(UTC).isoformat(), "+48581112233",
                      OFFICE, "", "", "incoming", "", [StreamFacts("caller", "PCMA", 0)],
                      intake="capture")
    folder = SessionFolder.create(capture_root(vault), facts)
    folder.stream_path("caller").write_bytes(bytes(range(256)) * 40)
    stop = threading.Event()
    loop = threading.Thread(target=run_capture, args=(vault, stop), daemon=True)
    loop.start()
    try:
        wait_for(lambda: calls_of(vault), 60, "the call left by the kill, stored")
    finally:
        stop.set()
        loop.join(60)
    ((call, rec),) = calls_of(vault)
    assert rec.meta["ended"] == "crash" and rec.meta["intake"] == "capture"
    assert call.caller == "+48581112233" and not folder.path.exists()
    vault.close()
