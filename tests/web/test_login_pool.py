"""The login pool's rules (issue 28 item 7), each on its own: a bounded queue per address and
in all, round-robin between addresses, lower CPU priority, and the page a refused login gets
(429/503, Retry-After, Polish words, nothing counted or audited)."""

from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import Future

import pytest
from sqlalchemy import func, select
from web_helpers import client, csrf_in, user

from kustosz.db.access import LoginThrottle
from kustosz.db.models import AuditEntry
from kustosz.vault import Vault
from kustosz.web import login_pool
from kustosz.web.login_pool import Busy, LoginPool

WAIT_S = 60  # a bound for a loaded machine, never a sleep


def blocked(pool: LoginPool, source: str, gate: threading.Event, order: list[str],
            label: str) -> Future[str]:
    def job() -> str:
        gate.wait(WAIT_S)
        order.append(label)
        return label

    return pool.submit(source, job)


def test_one_address_queues_at_most_its_share_and_all_at_most_the_queue() -> None:
    pool = LoginPool(workers=1, per_source=2, queue=3, nice=0)
    gate, order = threading.Event(), []
    futures = [blocked(pool, "10.0.0.1", gate, order, f"a{i}") for i in range(2)]
    with pytest.raises(Busy) as refused:
        blocked(pool, "10.0.0.1", gate, order, "a2")
    assert refused.value.status == 429 and refused.value.retry_after >= 1
    futures.append(blocked(pool, "10.0.0.2", gate, order, "b0"))
    with pytest.raises(Busy) as full:
        blocked(pool, "10.0.0.3", gate, order, "c0")
    assert full.value.status == 503 and full.value.retry_after >= 1
    gate.set()
    assert [f.result(WAIT_S) for f in futures] == ["a0", "a1", "b0"]
    assert pool.held() == 0 and pool.held("10.0.0.1") == 0  # every slot given back


def test_addresses_take_turns() -> None:
    """A flood from one address delays another's login by one check, not by the flood."""
    pool = LoginPool(workers=1, per_source=5, queue=20, nice=0)
    gate, order = threading.Event(), []
    flood = [blocked(pool, "flood", gate, order, f"f{i}") for i in range(5)]
    other = blocked(pool, "desk", gate, order, "desk")
    gate.set()
    for f in [*flood, other]:
        f.result(WAIT_S)
    # behind the check already running and at most one more of the flood's
    assert order.index("desk") <= 2 and len(order) == 6, order


def test_one_offices_flood_leaves_the_others_their_turn() -> None:
    """An installation (issue 67): a flood from many addresses at office A's sign-in takes
    A's share of the queue only, and B's login runs behind at most one check of A's."""
    pool = LoginPool(workers=1, per_source=3, queue=12, per_office=6, nice=0)
    gate, order = threading.Event(), []

    def at(office: str, source: str, label: str) -> Future[str]:
        def job() -> str:
            gate.wait(WAIT_S)
            order.append(label)
            return label
        return pool.submit(source, job, office=office)

    flood = [at("/srv/instalacja/offices/urzad", f"10.0.{i}.1", f"a{i}") for i in range(6)]
    with pytest.raises(Busy) as share:  # A's share is full; the queue is not
        at("/srv/instalacja/offices/urzad", "10.0.9.1", "a-more")
    assert share.value.status == 503 and pool.held() == 6
    assert pool.held_by_office("/srv/instalacja/offices/urzad") == 6
    desk = at("/srv/instalacja/offices/mops", "10.1.0.7", "mops")  # B still gets in
    gate.set()
    for f in [*flood, desk]:
        f.result(WAIT_S)
    assert order.index("mops") <= 2 and len(order) == 7, order
    assert pool.held() == 0 and pool.held_by_office("/srv/instalacja/offices/urzad") == 0
    # the same address at two offices holds a share in each, not one between them
    gate.clear()
    both = [at(office, "10.2.0.1", office) for office in ("a", "b") for _ in range(3)]
    assert pool.held("10.2.0.1", office="a") == 3 and pool.held("10.2.0.1", office="b") == 3
    gate.set()
    for f in both:
        f.result(WAIT_S)


def test_a_failing_check_answers_its_request_and_frees_its_slot() -> None:
    pool = LoginPool(workers=1, per_source=1, queue=5, nice=0)

    def boom() -> None:
        raise RuntimeError("directory gone")

    with pytest.raises(RuntimeError, match="directory gone"):
        pool.submit("10.0.0.1", boom).result(WAIT_S)
    assert pool.submit("10.0.0.1", lambda: "again").result(WAIT_S) == "again"


def test_a_request_gone_before_its_turn_frees_its_slot() -> None:
    pool = LoginPool(workers=1, per_source=2, queue=5, nice=0)
    gate, order = threading.Event(), []
    running = blocked(pool, "x", gate, order, "running")
    waiting = blocked(pool, "x", gate, order, "gone")
    assert waiting.cancel()
    gate.set()
    running.result(WAIT_S)
    assert pool.submit("x", lambda: "next").result(WAIT_S) == "next"
    assert order == ["running"] and pool.held() == 0


@pytest.mark.skipif(sys.platform != "linux", reason="a thread's own nice value is Linux's")
def test_checks_run_at_a_lower_priority_than_pages() -> None:
    pool = LoginPool(workers=1, nice=7)
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    theirs = pool.submit("x", lambda: os.getpriority(
        os.PRIO_PROCESS, threading.get_native_id())).result(WAIT_S)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine  # untouched
    assert theirs == min(19, mine + 7) or theirs == mine  # mine: a container refusing it


@pytest.mark.parametrize("whole, status, words", [
    (False, 429, "Z tego adresu sprawdzanych jest już kilka haseł naraz"),
    (True, 503, "Serwer sprawdza teraz zbyt wiele haseł naraz"),
])
def test_a_refused_login_says_when_to_come_back_and_counts_nothing(
        sqlite_vault: Vault, monkeypatch: pytest.MonkeyPatch, whole: bool, status: int,
        words: str) -> None:
    user(sqlite_vault, "ania", ["viewer"])

    class Full(LoginPool):
        def submit(self, source, call, office=""):  # type: ignore[no-untyped-def]
            raise Busy(4, whole)

    monkeypatch.setattr(login_pool, "_POOL", Full())
    c = client(sqlite_vault)
    page = c.get("/login")
    with sqlite_vault.reading() as s:
        audited = s.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    r = c.post("/login", data={"username": "ania", "password": "cokolwiek-123",
                               "csrf": csrf_in(page.text), "next": "/"})
    assert r.status_code == status and r.headers["retry-after"] == "4"
    assert words in r.text and "za 4 sekundy" in r.text and 'value="ania"' in r.text
    with sqlite_vault.reading() as s:
        assert s.execute(select(func.count()).select_from(AuditEntry)).scalar_one() == audited
        assert s.execute(select(LoginThrottle)).first() is None
