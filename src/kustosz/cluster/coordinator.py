"""One node's lease keeper: registers the node, beats, renews at a third of the lease, claims
its fair share of free resources, marks what it holds beyond its share for hand-over, and
drops — so that its work stops — every lease it could not renew before `until - margin`.

The local deadline of a lease is reckoned on the node's steady clock from the database's
answer (until minus the database's now at renewal), so a node whose wall clock is wrong still
stops in time. A wall clock off the database's by more than the margin makes the node refuse
leases altogether (and give back those it holds): the segments it would record carry its wall
clock's times and would overlap another node's. The clock is injectable (tests simulate a
node whose clock is off).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from kustosz.cluster import balance, nodes
from kustosz.cluster.alerts import clock_skew
from kustosz.cluster.settings import ClusterSettings
from kustosz.db.leases import Held, Leases
from kustosz.vault import Vault
from kustosz.watchdog import progress_of

log = logging.getLogger(__name__)
TICK_S = 1.0  # how often free resources are looked for (a hand-over waits at most this)
# serve's watchdog (kustosz.watchdog): a lease pass is a few statements, each bounded by the
# database's deadline (db.deadline), and the stopping of what a lost lease ran.
LEASES_ALLOWANCE_S = 300.0
DEADLINES_ALLOWANCE_S = 120.0  # dropping leases past their deadline: memory and stop hooks


class Coordinator:
    def __init__(self, vault: Vault, settings: ClusterSettings,
                 wanted: Callable[[], list[str]],
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 backlog: Callable[[], tuple[int, int]] = lambda: (0, 0)) -> None:
        assert settings.node
        self.vault, self.settings, self.node = vault, settings, settings.node
        self.leases = Leases(vault.engine, self.node, settings.lease_seconds)
        self.wanted, self.clock, self.backlog = wanted, clock, backlog
        self.token: str | None = None
        self._held: dict[str, Held] = {}
        self._deadline: dict[str, float] = {}  # steady clock: stop the work by then
        self._releasing: set[str] = set()
        # Every term this node held a lease under, by (resource, epoch): when it was taken
        # and the last `until` the database confirmed (both the database's clock). Kept
        # after the lease is dropped: a segment recorded inside the term is still admitted
        # when its indexing comes later (a stalled connection, a slow disk).
        self._terms: dict[tuple[str, int], tuple[datetime, datetime]] = {}
        self._lock = threading.Lock()
        self._last_renew = 0.0
        self.skew_s: float | None = None
        self.skew_refused = False
        self.changed = threading.Event()  # what this node should work on changed
        # Called with the resources dropped at their local deadline, on the thread that
        # noticed (often `watch_deadlines`, while the lease pass hangs on the database):
        # they must not touch the database nor wait on anything that does.
        self.on_expire: list[Callable[[list[str]], None]] = []
        self.taken_over = False  # another process registered under this node's name

    # -- start and stop ------------------------------------------------------------------
    def register(self) -> None:
        self.token = nodes.register(self.vault.engine, self.node, self.settings.lease_seconds)
        log.info("node %s registered (lease %.0f s, margin %.0f s)", self.node,
                 self.settings.lease_seconds, self.settings.margin_seconds)

    def close(self) -> None:
        """After the node's work stopped: give everything back and say so."""
        if self.token is None or self.taken_over:  # the leases under the name are not ours
            return
        try:
            self.leases.release_all()
            nodes.stopped(self.vault.engine, self.node, self.token)
        except Exception:  # the leases run out by themselves
            log.exception("node %s: could not give its leases back", self.node)

    # -- what the work asks --------------------------------------------------------------
    def holding(self) -> dict[str, Held]:
        """The leases whose work may run now (not past their local deadline, not being
        handed over)."""
        now = time.monotonic()
        with self._lock:
            return {r: h for r, h in self._held.items()
                    if self._deadline.get(r, 0.0) > now and r not in self._releasing}

    def releasing(self) -> set[str]:
        with self._lock:
            return set(self._releasing)

    def fence(self, resource: str, epoch: int, start: datetime, end: datetime) -> bool:
        """Was material spanning start..end (this node's wall clock) recorded while this node
        held the resource under this epoch? Judged by when it was recorded, not when it is
        indexed: inside the term's confirmed span, less the margin (the bound on the clock
        skew between nodes; a node further off takes no leases), and, if the database
        answers, before anyone else took the lease or it was released. Another node can
        claim the lease only once its confirmed `until` has passed, so what passes here
        never overlaps what the next holder records."""
        margin = timedelta(seconds=self.settings.margin_seconds)
        with self._lock:
            term = self._terms.get((resource, epoch))
        if term is None:
            return False
        began, until = term
        if start < began - margin or end > until - margin:
            return False
        try:
            ended = self.leases.term_ended(resource, epoch, self.settings.margin_seconds)
        except Exception:
            # The database does not answer: the confirmed span alone decides (no other node
            # can have taken the lease before it ended).
            log.warning("node %s: cannot read its lease of %s; judging a segment by the "
                        "lease's confirmed span", self.node, resource)
            return True
        return ended is None or end <= ended - margin

    def _note_term(self, held: Held, began: datetime | None = None) -> None:
        key = (held.resource, held.epoch)
        if began is None:
            if key not in self._terms:
                return
            began = self._terms[key][0]
        self._terms[key] = (began, held.until)
        # Terms long over judge nothing any more (a segment is indexed within minutes).
        horizon = held.until - timedelta(hours=1)
        for old in [k for k, (_b, u) in self._terms.items() if u < horizon]:
            del self._terms[old]

    def done_with(self, resource: str) -> None:
        """Its work stopped: the lease is given up for another node."""
        with self._lock:
            held = self._held.pop(resource, None)
            self._deadline.pop(resource, None)
            self._releasing.discard(resource)
        if held is not None:
            try:
                self.leases.release(resource, held.epoch)
                log.info("node %s: released %s", self.node, resource)
            except Exception:  # it runs out by itself
                log.exception("node %s: could not release %s", self.node, resource)

    # -- the loop ------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        loop = progress_of(self.vault).loop("leases", LEASES_ALLOWANCE_S)
        try:
            while not stop.is_set():
                loop.beat()
                try:
                    self.tick()
                except Exception:
                    log.exception("node %s: lease pass failed; trying again", self.node)
                    self._expire()
                if self.taken_over:
                    stop.set()  # the node stops its work and exits (cli.serve.run_node)
                    return
                loop.wait(stop, TICK_S)
        finally:
            loop.forget()

    def watch_deadlines(self, stop: threading.Event) -> None:
        """Apart from the lease pass, which may hang on the database: a lease whose local
        deadline passed is dropped at once, so its work stops before the lease runs out."""
        loop = progress_of(self.vault).loop("lease-deadlines", DEADLINES_ALLOWANCE_S)
        try:
            while not loop.wait(stop, 0.2):
                loop.beat()
                self._expire()
        finally:
            loop.forget()

    def _expire(self) -> None:
        now = time.monotonic()
        with self._lock:
            gone = [r for r, d in self._deadline.items() if d <= now]
            for resource in gone:
                self._held.pop(resource, None)
                self._deadline.pop(resource, None)
                self._releasing.discard(resource)
        for resource in gone:
            log.warning("node %s: could not renew %s in time; its work stops", self.node,
                        resource)
        if gone:
            self._stop_work(gone)

    def _stop_work(self, resources: list[str]) -> None:
        for hook in self.on_expire:
            try:
                hook(resources)
            except Exception:
                log.exception("node %s: stopping the work of %s failed", self.node,
                              ", ".join(resources))
        self.changed.set()

    def tick(self) -> None:
        assert self.token is not None
        started = time.monotonic()
        self.skew_s = nodes.skew_seconds(self.vault.engine, self.clock)
        if not nodes.beat(self.vault.engine, self.node, self.token, round(self.skew_s, 3),
                          self.backlog()):
            log.error("node %s: its row was taken over by another process (started with the "
                      "same name while this one did not answer); it stops its work and exits",
                      self.node)
            self.taken_over = True
            with self._lock:
                gone = list(self._held)
                self._held.clear()
                self._deadline.clear()
                self._releasing.clear()
            self._stop_work(gone)
            return
        self._note_skew()
        if started - self._last_renew >= self.settings.renew_seconds:
            renewed, db_now = self.leases.renew()
            self._last_renew = started
            lost: list[str] = []
            strays: list[Held] = []
            with self._lock:
                for resource in list(self._held):
                    if resource not in renewed:
                        self._held.pop(resource)
                        self._deadline.pop(resource, None)
                        self._releasing.discard(resource)
                        log.warning("node %s: lost its lease of %s", self.node, resource)
                        lost.append(resource)
                for resource, held in renewed.items():
                    if resource not in self._held:
                        strays.append(held)
                        continue
                    self._held[resource] = held
                    self._note_term(held)
                    self._deadline[resource] = self._local_deadline(started, held, db_now)
            if lost:
                self._stop_work(lost)
            # A lease this node dropped (its local deadline passed while the database was
            # slow) but the database still shows as its own: its work stopped here, and every
            # renewal would push it out again, so nobody would ever record that camera. Give
            # it back now; the claim below (or another node) takes it under a new epoch.
            for held in strays:
                if self.leases.release(held.resource, held.epoch):
                    log.warning("node %s: gave back %s, whose work had stopped here when its "
                                "renewal came late", self.node, held.resource)
        self._expire()
        if self.skew_refused:
            self._give_up_all()
            return
        wanted = self.wanted()
        # A node refusing leases (its clock is off) takes no share.
        live = sum(1 for n in nodes.nodes(self.vault.engine, self.settings.lease_seconds)
                   if n.live and (n.clock_skew_s is None
                                  or abs(n.clock_skew_s) <= self.settings.margin_seconds))
        with self._lock:
            held_now = list(self._held)
        claims, release = balance.plan(wanted, held_now, live)
        with self._lock:
            fresh = set(release) - self._releasing
            self._releasing |= set(release)
        if fresh:
            log.info("node %s: over its share; handing over %s", self.node,
                     ", ".join(sorted(fresh)))
            self.changed.set()
        free = [r for r in wanted if r not in held_now]
        if free and any(claims.values()):
            self.leases.ensure(free)
            for kind, limit in claims.items():
                if limit <= 0:
                    continue
                began = time.monotonic()
                got, db_now = self.leases.claim(
                    [r for r in free if balance.kind_of(r) == kind], limit)
                with self._lock:
                    for held in got:
                        self._held[held.resource] = held
                        self._note_term(held, began=db_now)
                        self._deadline[held.resource] = self._local_deadline(began, held,
                                                                             db_now)
                if got:
                    log.info("node %s: took %s", self.node,
                             ", ".join(f"{h.resource} (epoch {h.epoch})" for h in got))
                    self.changed.set()

    def _local_deadline(self, asked_at: float, held: Held, db_now: datetime) -> float:
        left = (held.until - db_now).total_seconds()
        return asked_at + left - self.settings.margin_seconds

    def _note_skew(self) -> None:
        assert self.skew_s is not None
        refused = abs(self.skew_s) > self.settings.margin_seconds
        if refused != self.skew_refused:
            if refused:
                log.error("node %s: its clock is %+.1f s off the database's (margin %.0f s): "
                          "it takes no leases until that is fixed", self.node, self.skew_s,
                          self.settings.margin_seconds)
            else:
                log.info("node %s: its clock agrees with the database's again (%+.1f s)",
                         self.node, self.skew_s)
            self.skew_refused = refused
        try:
            clock_skew(self.vault, self.node, self.skew_s if refused else None,
                       self.settings.margin_seconds)
        except Exception:
            log.exception("node %s: could not note its clock's skew", self.node)

    def _give_up_all(self) -> None:
        with self._lock:
            fresh = set(self._held) - self._releasing
            self._releasing |= set(self._held)
        if fresh:
            self.changed.set()
