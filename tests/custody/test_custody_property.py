"""Issue 30, the property: over random sequences of requests, decisions, copies, handovers,
destructions and days passing, on every preset's rules —

* no material outlives its period unless an active hold covers it (swept at every step);
* a data subject's request keeps its material until a copy is handed over on it;
* every hold ends: from any state the ordinary steps (decide, copy, hand over, destroy when
  due) release every request's hold that still covers material, and what cannot be copied any
  more is shown overdue (custody.requests.overdue_since);
* every copy due can be destroyed once no request waits for its answer (and a refusal before
  that names only such requests: item 1's deadlock is gone).

Calls are the material (a byte copy is fast): the video offices get a phone line with their
camera period ([policy.retention] phone), so their request, hold and copy rules are the
ones exercised. A shifted clock: every step takes ``now``.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from tests.conftest import make_vault
from tests.custody.custody_helpers import call, people, setup_phone

from kustosz.custody.copies import is_due, make_copy
from kustosz.custody.decisions import decide
from kustosz.custody.destruction import confirm, other_holds
from kustosz.custody.handover import hand_over
from kustosz.custody.requests import RequestSpec, overdue_since, register_request
from kustosz.db.custody import Copy, Handover, Request
from kustosz.db.models import Hold, Recording
from kustosz.errors import KustoszError
from kustosz.holds.coverage import held_map
from kustosz.retention.sweep import run_sweep
from kustosz.states import CopyState, RequestStatus
from kustosz.vault import Vault

PRESETS = ["elblag", "boleslawiec", "pleszew", "miedziana-gora", "walbrzych"]
CALLERS = ["+48600100200", "+48600300400"]
KINDS = ["interested", "interested", "authority", "data_subject"]
WAITING = (RequestStatus.REGISTERED, RequestStatus.APPROVED)

Op = tuple  # ("request", kind, caller, delay_days) | ("decide", i, agree) | ("copy", i)
#             | ("handover", copy_i, request_i | None) | ("destroy", copy_i) | ("wait", days)
OPS = st.one_of(
    st.tuples(st.just("request"), st.sampled_from(KINDS), st.integers(0, 1),
              st.integers(0, 20)),
    st.tuples(st.just("decide"), st.integers(0, 5), st.booleans()),
    st.tuples(st.just("copy"), st.integers(0, 5)),
    st.tuples(st.just("handover"), st.integers(0, 5), st.one_of(st.none(), st.integers(0, 5))),
    st.tuples(st.just("destroy"), st.integers(0, 5)),
    st.tuples(st.just("wait"), st.sampled_from([1, 7, 20, 40, 100])),
)


@dataclass
class World:
    vault: Vault
    event: datetime
    now: datetime
    requests: list[int] = field(default_factory=list)
    copies: list[str] = field(default_factory=list)


def _vault(root: Path, preset: str) -> Vault:
    vault = make_vault(root, preset=preset)
    if vault.policy.retention.get("phone") is None:
        period = vault.policy.retention.get("camera") or "30 days"
        vault.close()
        config = root / "kustosz.toml"
        config.write_text(config.read_text() + f'\n[policy.retention]\nphone = "{period}"\n')
        vault = Vault.open(root)
    return vault


def _world(root: Path, preset: str) -> World:
    vault = _vault(root / "vault", preset)
    people(vault)
    setup_phone(vault, root / "pbx")
    (root / "calls").mkdir()
    tz = vault.policy.timezone
    # A fixed past day: the clock is shifted by every step's own `now`.
    event = datetime(2026, 3, 2, 10, 0, tzinfo=tz)
    for caller in CALLERS:
        call(vault, root / "calls", event, caller)
    return World(vault, event, event + timedelta(hours=2))


def _apply(w: World, op: Op) -> None:
    v, tz = w.vault, w.vault.policy.timezone
    today = w.now.astimezone(tz).date()
    if op[0] == "request":
        _o, kind, caller, delay = op
        w.now = max(w.now, w.event + timedelta(days=delay))
        today = w.now.astimezone(tz).date()
        spec = RequestSpec(kind=kind, material="calls", requester=f"osoba {len(w.requests)}",
                           received_on=today, event_date=w.event.astimezone(tz).date(),
                           purpose="sprawa", caller=CALLERS[caller],
                           approx_time=w.event.astimezone(tz).strftime("%H:%M"))
        with v.transaction() as s:
            w.requests.append(register_request(s, v.policy, spec, "test", now=w.now).id)
    elif op[0] == "decide" and op[1] < len(w.requests):
        with v.transaction() as s:
            decide(s, v.policy, w.requests[op[1]], by="burmistrz", agree=op[2], on=today,
                   actor="test", keyed_by="burmistrz", now=w.now)
    elif op[0] == "copy" and op[1] < len(w.requests):
        w.copies.append(make_copy(v, w.requests[op[1]], "informatyk", "test", now=w.now)
                        .number)
    elif op[0] == "handover" and op[1] < len(w.copies):
        rid = w.requests[op[2]] if op[2] is not None and op[2] < len(w.requests) else None
        hand_over(v, w.copies[op[1]], receiver="odbiorca", by="informatyk", actor="test",
                  request_id=rid, now=w.now)
    elif op[0] == "destroy" and op[1] < len(w.copies):
        number = w.copies[op[1]]
        try:
            confirm(v, number, "komisja1", "test", now=w.now, reason="decyzja komisji")
        except KustoszError:
            _refusal_is_a_wait(w, number)
            raise
        confirm(v, number, "komisja2", "test", now=w.now)
    elif op[0] == "wait":
        w.now += timedelta(days=op[1])


def _refusal_is_a_wait(w: World, number: str) -> None:
    """A refused destruction is refused only for an authority's request that still waits for
    its answer (no evidence hold is placed in this test)."""
    with w.vault.reading() as s:
        copy = s.execute(select(Copy).where(Copy.number == number)).scalar_one()
        if copy.state != CopyState.KEPT:
            return
        for hold in other_holds(s, copy):
            req = s.execute(select(Request).where(Request.hold_id == hold.id)).scalar_one()
            assert req.kind == "authority" and req.status in WAITING, (req.id, req.status)


def _check(w: World) -> None:
    """Swept at `now`: nothing stored past its period without an active hold over it; a data
    subject's request that was not answered keeps its hold."""
    run_sweep(w.vault, now=w.now)
    with w.vault.reading() as s:
        recs = list(s.execute(select(Recording).where(Recording.state == "stored")).scalars())
        held = held_map(s, [r.id for r in recs])
        for r in recs:
            assert r.expires_at > w.now or held.get(r.id), (r.id, r.expires_at, w.now)
        for req in s.execute(select(Request).where(Request.kind == "data_subject")).scalars():
            handed = s.execute(select(Handover.id).where(Handover.request_id == req.id)).first()
            if req.status in (RequestStatus.APPROVED, RequestStatus.COPIED) and not handed \
                    and req.hold_id is not None:
                hold = s.get(Hold, req.hold_id)
                destroyed = s.execute(select(Copy.id).where(
                    Copy.request_id == req.id, Copy.state == CopyState.DESTROYED,
                    Copy.review_state.is_distinct_from("sent_back"))).first()
                assert hold.released_at is None or destroyed, req.id


def _drain(w: World) -> None:
    """The ordinary steps, from wherever the sequence stopped: every request decided and
    copied (or shown overdue when there is nothing left to copy), every copy handed to whom
    asked, then every copy destroyed once due; every request's hold ends."""
    v, tz = w.vault, w.vault.policy.timezone
    with v.reading() as s:
        waiting = [r.id for r in s.execute(select(Request).where(
            Request.status == RequestStatus.REGISTERED)).scalars()]
    for rid in waiting:
        with v.transaction() as s:
            decide(s, v.policy, rid, by="burmistrz", agree=True,
                   on=w.now.astimezone(tz).date(), actor="test", keyed_by="burmistrz",
                   now=w.now)
    stuck = []
    with v.reading() as s:
        approved = [r.id for r in s.execute(select(Request).where(
            Request.status == RequestStatus.APPROVED)).scalars()]
    for rid in approved:
        try:
            w.copies.append(make_copy(v, rid, "informatyk", "test", now=w.now).number)
        except KustoszError:
            stuck.append(rid)  # its material is gone: nothing to copy
    with v.reading() as s:
        unhanded = [(c.number, c.request_id) for c in s.execute(select(Copy).where(
            Copy.state == CopyState.KEPT)).scalars()
            if not s.execute(select(Handover.id).where(Handover.copy_id == c.id)).first()]
        kinds = {r.id: r.kind for r in s.execute(select(Request)).scalars()}
    for number, rid in unhanded:
        if kinds[rid] in ("authority", "data_subject"):
            hand_over(v, number, receiver="odbiorca", by="informatyk", actor="test", now=w.now)
    _check(w)
    # Every copy, due at last, is destroyed: nothing waits for an answer any more.
    with v.reading() as s:
        kept = list(s.execute(select(Copy).where(Copy.state == CopyState.KEPT)).scalars())
        latest = max([c.expires_at for c in kept], default=w.now)
    w.now = max(w.now, latest) + timedelta(hours=1)
    for c in kept:
        assert is_due(c, w.now)
        confirm(v, c.number, "komisja1", "test", now=w.now)
        confirm(v, c.number, "komisja2", "test", now=w.now)
    # Every hold has ended, but those of requests with nothing left to copy — shown overdue.
    with v.reading() as s:
        last = s.execute(select(func.max(Recording.expires_at))).scalar()
    later = max(w.now, last or w.now) + timedelta(days=30)
    with v.reading() as s:
        for req in s.execute(select(Request)).scalars():
            hold = s.get(Hold, req.hold_id) if req.hold_id is not None else None
            if hold is not None and hold.released_at is None:
                assert req.id in stuck, (req.id, req.kind, req.status)
                assert overdue_since(s, v.policy, req, now=later) is not None
    w.now = later
    _check(w)
    with v.reading() as s:
        # what is left is held by a request that cannot be copied, and its period is over
        left = list(s.execute(select(Recording).where(Recording.state == "stored")).scalars())
        assert all(held_map(s, [r.id]).get(r.id) for r in left)


@pytest.mark.slow
@pytest.mark.parametrize("preset", PRESETS)
def test_holds_end_and_due_copies_are_destroyed(preset: str) -> None:
    @settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(OPS, min_size=3, max_size=14))
    def run(ops: list[Op]) -> None:
        root = Path(tempfile.mkdtemp(prefix="kustosz-prop30-"))
        w = _world(root, preset)
        try:
            for op in ops:
                # a step the state refuses does nothing (the refusals are checked where they
                # matter: _refusal_is_a_wait)
                with contextlib.suppress(KustoszError):
                    _apply(w, op)
                _check(w)
            _drain(w)
        finally:
            w.vault.close()
            shutil.rmtree(root, ignore_errors=True)

    run()


def test_the_deadlock_of_item_1_is_found_by_the_property() -> None:
    """The sequence the issue found, run through the property's steps: two interested
    persons on one call in Wałbrzych, both copied, then the drain."""
    root = Path(tempfile.mkdtemp(prefix="kustosz-prop30-"))
    w = _world(root, "walbrzych")
    try:
        for op in [("request", "interested", 0, 1), ("request", "interested", 0, 1),
                   ("decide", 0, True), ("decide", 1, True), ("copy", 0), ("copy", 1),
                   ("wait", 100)]:
            _apply(w, op)
            _check(w)
        _drain(w)
    finally:
        w.vault.close()
        shutil.rmtree(root, ignore_errors=True)

