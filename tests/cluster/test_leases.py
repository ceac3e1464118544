"""Leases on a real PostgreSQL: claim, renew, expiry by the database's clock, fencing epochs,
two connections racing for the same rows (SKIP LOCKED), fair shares, a name used twice and a
node whose clock is off (the node's clock is an injected function returning the real time plus
an offset: the machine's own clock cannot be moved by a test)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from kustosz.cluster import balance, nodes
from kustosz.cluster.coordinator import Coordinator
from kustosz.cluster.settings import ClusterSettings
from kustosz.db.leases import Leases
from kustosz.db.models import Alert
from kustosz.errors import ConfigError
from kustosz.states import AlertRow
from kustosz.vault import Vault

CAMS = [f"camera:cam-{i}" for i in range(6)]


def test_claim_renew_release_and_epochs(pg_vault: Vault) -> None:
    a = Leases(pg_vault.engine, "a", lease_seconds=2)
    b = Leases(pg_vault.engine, "b", lease_seconds=2)
    a.ensure(CAMS)
    got, _ = a.claim(CAMS, 2)
    assert [h.resource for h in got] == CAMS[:2] and {h.epoch for h in got} == {1}
    got_b, _ = b.claim(CAMS, 10)
    assert [h.resource for h in got_b] == CAMS[2:]  # a's are not free
    renewed, now = a.renew()
    assert set(renewed) == set(CAMS[:2])
    assert all(h.until - now == timedelta(seconds=2) for h in renewed.values())
    assert a.still_held(CAMS[0], 1, 0.5)
    assert not b.still_held(CAMS[0], 1, 0.5)  # not b's
    assert a.release(CAMS[0], 1)
    assert not a.still_held(CAMS[0], 1, 0.0)
    again, _ = b.claim([CAMS[0]], 1)
    assert again[0].epoch == 2  # a new holder: a new epoch
    assert not a.release(CAMS[0], 1)  # an old epoch cannot give away b's lease


def test_expiry_is_the_databases_and_fences_the_old_holder(pg_vault: Vault) -> None:
    a = Leases(pg_vault.engine, "a", lease_seconds=1)
    b = Leases(pg_vault.engine, "b", lease_seconds=1)
    a.ensure(CAMS[:1])
    (held,), _ = a.claim(CAMS[:1], 1)
    assert b.claim(CAMS[:1], 1)[0] == []
    time.sleep(1.2)  # not renewed: it ran out by the database's clock
    assert a.renew()[0] == {}  # a run-out lease is not renewed
    (taken,), _ = b.claim(CAMS[:1], 1)
    assert taken.epoch == held.epoch + 1
    assert not a.still_held(held.resource, held.epoch, 0.0)  # the old holder is fenced off
    assert b.still_held(taken.resource, taken.epoch, 0.0)
    assert not b.still_held(taken.resource, taken.epoch, 5.0)  # within the margin: no write


def test_racing_claims_never_take_one_row_twice(pg_vault: Vault) -> None:
    """Two connections claim at once, one holding its row locks open: the other passes the
    locked rows by (SKIP LOCKED) instead of waiting, and no row ends with two holders."""
    resources = [f"camera:c{i:02d}" for i in range(40)]
    Leases(pg_vault.engine, "x").ensure(resources)
    with pg_vault.engine.connect() as slow:
        slow.begin()
        locked = slow.execute(text(
            "SELECT resource FROM leases ORDER BY resource LIMIT 10 FOR UPDATE SKIP LOCKED"
        )).scalars().all()
        started = time.monotonic()
        got, _ = Leases(pg_vault.engine, "fast").claim(resources, 40)
        assert time.monotonic() - started < 2  # did not wait for the open transaction
        assert {h.resource for h in got} == set(resources) - set(locked)
        slow.rollback()
    results: dict[str, list[str]] = {}
    barrier = threading.Barrier(4)

    def racer(name: str) -> None:
        leases = Leases(pg_vault.engine, name)
        barrier.wait()
        mine = []
        for _ in range(20):
            batch, _ = leases.claim(resources, 3)
            mine += [h.resource for h in batch]
        results[name] = mine

    Leases(pg_vault.engine, "fast").release_all()
    threads = [threading.Thread(target=racer, args=(f"n{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    claimed = [r for rs in results.values() for r in rs]
    assert sorted(claimed) == sorted(resources)  # each exactly once
    with pg_vault.engine.connect() as conn:
        holders = dict(conn.execute(text("SELECT resource, node FROM leases")).all())
    assert all(holders[r] == name for name, rs in results.items() for r in rs)


def test_fair_share_plan() -> None:
    wanted = [*CAMS, "singleton:sweep", "singleton:scheduler", "singleton:listeners"]
    claims, release = balance.plan(wanted, [], 3)
    assert claims == {"camera": 2, "singleton": 1}
    claims, release = balance.plan(wanted, [*CAMS[:3], "singleton:sweep", "singleton:sweep"], 3)
    assert release == [CAMS[2]] and claims["camera"] == 0
    # singletons stay where they are; resources no longer wanted are given back
    claims, release = balance.plan(CAMS[:1], ["singleton:sweep", CAMS[0]], 2)
    assert release == ["singleton:sweep"]


def test_same_name_twice_is_refused_in_both_languages(pg_vault: Vault) -> None:
    token = nodes.register(pg_vault.engine, "n1", 15, host="host-a", pid=1)
    before = nodes.nodes(pg_vault.engine, 15)
    with pytest.raises(ConfigError) as err:
        nodes.register(pg_vault.engine, "n1", 15, host="host-b", pid=2)
    assert "n1" in str(err.value) and "host-a" in str(err.value)
    assert err.value.pl is not None and "zajęta" in err.value.pl
    assert nodes.nodes(pg_vault.engine, 15) == before  # nothing changed
    assert nodes.beat(pg_vault.engine, "n1", token, 0.0)
    # the first one's process died on this machine: its row is taken over at once
    dead = nodes.register(pg_vault.engine, "n2", 15, pid=2 ** 22 + 12345)
    assert nodes.register(pg_vault.engine, "n2", 15) != dead
    # a clean stop frees the name at once
    nodes.stopped(pg_vault.engine, "n1", token)
    nodes.register(pg_vault.engine, "n1", 15, host="host-b", pid=2)


def _coordinator(vault: Vault, name: str, offset: float = 0.0,
                 lease: float = 3.0) -> Coordinator:
    settings = ClusterSettings(name, lease_seconds=lease, margin_seconds=1.0)
    c = Coordinator(vault, settings, lambda: [*CAMS, "singleton:sweep"],
                    clock=lambda: datetime.now(UTC) + timedelta(seconds=offset))
    c.register()
    return c


def test_coordinators_share_fairly_and_rebalance(pg_vault: Vault) -> None:
    a = _coordinator(pg_vault, "a")
    a.tick()
    assert set(a.holding()) == set(CAMS) | {"singleton:sweep"}  # alone: everything
    b = _coordinator(pg_vault, "b")
    b.tick()
    assert b.holding() == {}  # a holds everything; b waits for a's hand-over
    a.tick()  # two live nodes: a is over its share of cameras (3)
    handed = a.releasing()
    assert handed == set(CAMS[3:])
    for resource in handed:  # the recorders stopped at a segment's end
        a.done_with(resource)
    b.tick()
    assert set(b.holding()) == set(CAMS[3:])
    assert set(a.holding()) == set(CAMS[:3]) | {"singleton:sweep"}
    a.close()
    b.tick()
    assert set(b.holding()) == set(CAMS) | {"singleton:sweep"}


def test_a_node_that_cannot_renew_stops_before_the_lease_runs_out(pg_vault: Vault) -> None:
    a = _coordinator(pg_vault, "a", lease=3.0)
    a.tick()
    held = a.holding()[CAMS[0]]
    early = (datetime.now(UTC) - timedelta(seconds=0.5), datetime.now(UTC))
    assert a.fence(CAMS[0], held.epoch, *early)
    time.sleep(2.1)  # no renewal: past until - margin (3 - 1 s) by the node's steady clock
    assert CAMS[0] not in a.holding()
    late = (datetime.now(UTC) - timedelta(seconds=0.5), datetime.now(UTC))
    assert not a.fence(CAMS[0], held.epoch, *late)  # recorded past the lease's span
    # recorded inside it, judged only now (indexing came late): still admitted
    assert a.fence(CAMS[0], held.epoch, *early)
    assert not a.fence(CAMS[0], held.epoch + 1, *early)  # not a term of this node
    with pg_vault.engine.connect() as conn:  # while the database still shows it held
        until = conn.execute(text("SELECT until > now() AT TIME ZONE 'UTC' FROM leases "
                                  "WHERE resource = :r"), {"r": CAMS[0]}).scalar_one()
    assert until


def test_a_lease_dropped_while_renewal_was_late_is_given_back_not_kept(
        pg_vault: Vault) -> None:
    """A renewal that comes after the node's local deadline (a stalled machine) finds the
    lease still the node's in the database. Its work stopped; the lease must not be pushed out
    by every later renewal with nobody recording the camera: it is given back and taken again
    under a new epoch (found on a fresh clone at load 20: two cameras of a three-node cluster
    went unrecorded for good)."""
    a = _coordinator(pg_vault, "a", lease=3.0)
    a.tick()
    old = a.holding()[CAMS[0]]
    with a._lock:  # the node's steady clock passed until - margin before the renewal came
        a._deadline[CAMS[0]] = time.monotonic() - 0.1
    a._expire()
    assert CAMS[0] not in a.holding()
    deadline = time.monotonic() + 30
    while CAMS[0] not in a.holding() and time.monotonic() < deadline:
        a._last_renew = float("-inf")  # every pass renews (as after a third of the lease)
        a.tick()
    assert CAMS[0] in a.holding(), "the dropped lease was kept renewed with no work on it"
    assert a.holding()[CAMS[0]].epoch == old.epoch + 1


def test_a_node_whose_clock_is_off_takes_no_leases_and_alerts(pg_vault: Vault) -> None:
    """The node's clock is simulated 30 s ahead (injected clock); the margin is 1 s."""
    skewed = _coordinator(pg_vault, "skewed", offset=30.0)
    skewed.tick()
    assert skewed.skew_refused and skewed.holding() == {}
    with pg_vault.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM leases WHERE node IS NOT NULL")
                            ).scalar_one() == 0
    with pg_vault.reading() as s:
        (alert,) = s.execute(select(Alert).where(
            Alert.kind == AlertRow.NODE_CLOCK_SKEW, Alert.cleared_at.is_(None))).scalars()
    assert "skewed" in alert.message and "+30 s" in alert.message
    good = _coordinator(pg_vault, "good")
    good.tick()
    assert set(good.holding()) == set(CAMS) | {"singleton:sweep"}
    skewed.clock = lambda: datetime.now(UTC)  # NTP fixed it
    skewed.tick()
    assert not skewed.skew_refused
    with pg_vault.reading() as s:
        assert s.execute(select(Alert).where(Alert.kind == AlertRow.NODE_CLOCK_SKEW,
                                             Alert.cleared_at.is_(None))).first() is None
