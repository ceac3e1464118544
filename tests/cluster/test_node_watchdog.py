"""Issue 27: a node of several (`run_node`) is watched like one machine's serve — its own
loops (the lease pass, the lease deadlines, the phone lines it holds) beat serve's watchdog
(kustosz.watchdog), so a lease pass hung on the database stops the pings to systemd, and
they resume when it moves again."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from kustosz.cli.serve import run_node
from kustosz.cluster import coordinator as coordinator_module
from kustosz.cluster.coordinator import Coordinator
from kustosz.cluster.settings import ClusterSettings
from kustosz.vault import Vault
from kustosz.watchdog import progress_of
from tests.cameras.camera_helpers import wait_for

NODE_LOOPS = {"leases", "lease-deadlines", "phones", "clock", "database-watch", "main"}


@pytest.fixture
def node(pg_vault: Vault, monkeypatch: pytest.MonkeyPatch) -> Iterator[Vault]:
    monkeypatch.setattr(coordinator_module, "LEASES_ALLOWANCE_S", 3.0)
    stop = threading.Event()
    thread = threading.Thread(target=run_node, args=(pg_vault, stop, ClusterSettings("a")),
                              name="node-a", daemon=True)
    thread.start()
    try:
        wait_for(lambda: set(progress_of(pg_vault).names()) >= NODE_LOOPS, 60,
                 "the node's loops registered with its watchdog")
        yield pg_vault
    finally:
        stop.set()
        thread.join(60)
    assert not thread.is_alive()


def test_a_hung_lease_pass_is_a_stalled_loop_until_it_moves(
        node: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    progress = progress_of(node)
    assert "leases" not in progress.stalled()
    release = threading.Event()
    hung = threading.Event()
    tick = Coordinator.tick

    def hanging(self: Coordinator) -> None:  # a pass stuck on the database
        hung.set()
        release.wait(120)
        tick(self)

    monkeypatch.setattr(Coordinator, "tick", hanging)
    try:
        wait_for(hung.is_set, 30, "the lease pass to hang")
        wait_for(lambda: "leases" in progress.stalled(), 30, "the hung pass to be stalled")
        assert set(progress.stalled()) == {"leases"}  # the others go on
    finally:
        monkeypatch.setattr(Coordinator, "tick", tick)
        release.set()
    wait_for(lambda: "leases" not in progress.stalled(), 30, "the pass to beat again")
