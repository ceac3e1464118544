"""Issue 27 item 7(c): a clock that was wrongly ahead, corrected, and the two-person undo that
alone shortens what the wrong jump forward lengthened (kustosz.clock.undo).

Segments are recorded through the camera intake under a wall clock of the test's own,
shifted (tests/clock_helpers.py; the steady clock is left alone); the real watch, the real
sweep (with its audit-log record check) and the real CLI run. Each case checks both ways:
nothing deleted before its true end, and — once two people approved — nothing kept past it
(invariant 1, R2.1)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from kustosz.access.users import add_user
from kustosz.clock.undo import approve, propose
from kustosz.clock.watch import ClockWatch
from kustosz.db.clock import ClockJump, ClockRebased
from kustosz.db.models import AuditEntry, Recording, Source
from kustosz.errors import KustoszError
from kustosz.index.expiry import expiry_of
from kustosz.retention import run_sweep
from kustosz.vault import Vault
from tests.clock_helpers import DAY, Camera, ShiftedClock, camera_source
from tests.conftest import Cli, make_vault, snapshot
from tests.test_clock_restart import BOOT, _alerts, _rows, behind_from_the_start, started

AHEAD = 40 * DAY


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> ShiftedClock:
    c = ShiftedClock()
    c.install(monkeypatch)
    return c


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def people(vault: Vault) -> None:
    with vault.transaction() as s:
        add_user(s, "anna", "Anna Nowak", ["administrator"], "test")
        add_user(s, "jan", "Jan Kowalski", ["approver"], "test")
        add_user(s, "ewa", "Ewa Lis", ["administrator", "approver"], "test")


def take(feed: Camera, n: int, seconds: float = 10) -> list[tuple[int, float]]:
    for _ in range(n):
        feed.record(seconds)
    return feed.take()


def true_end(vault: Vault, true_start: float) -> datetime:
    with vault.reading() as s:
        source = s.execute(select(Source)).scalars().first()
        return expiry_of(source, _at(true_start), vault.policy)


def ends(vault: Vault, taken: list[tuple[int, float]]) -> dict[int, tuple[datetime, datetime]]:
    """Each recording's end in the index and its true end."""
    rows = _rows(vault)
    return {rid: (rows[rid].expires_at, true_end(vault, t)) for rid, t in taken}


def wrong_ahead(vault: Vault, clock: ShiftedClock, watch: ClockWatch
                ) -> tuple[list[tuple[int, float]], list[tuple[int, float]], int]:
    """Recorded right, the clock set 40 days ahead (the watch sees a jump forward and
    re-bases), recorded, set right again by NTP (a correction). Returns the rows recorded
    before and during the ahead period, and the forward jump's id."""
    cam = camera_source(vault)
    feed = Camera(vault, cam, clock, "20261122T100000-und")
    before = take(feed, 3)
    clock.advance(1)
    clock.error_s = AHEAD
    forward = watch.sample()
    assert forward is not None and forward.delta_s > 0 and forward.rebased == 3
    ahead = take(feed, 3)
    clock.advance(1)
    clock.error_s = 0.0
    fix = watch.sample()
    assert fix is not None and fix.corrected and fix.correction is not None
    assert fix.correction.corrects == forward.id
    return before, ahead, forward.id  # type: ignore[return-value]


def sweep_at(vault: Vault, when: datetime) -> set[int]:
    report = run_sweep(vault, now=when)
    assert report.refused == [], "the audit log's record disagrees with the index"
    return {d["id"] for d in report.deleted}


def deleted_exactly_at_true_ends(vault: Vault, taken: list[tuple[int, float]]) -> None:
    """Swept a second before and a second after each distinct true end: each recording goes
    in the sweep right after its true end, not before, not later."""
    wanted = {rid: true_end(vault, t) for rid, t in taken}
    gone: set[int] = set()
    for end in sorted(set(wanted.values())):
        gone |= sweep_at(vault, end - timedelta(seconds=1))
        assert gone == {rid for rid, e in wanted.items() if e < end}, "deleted early"
        gone |= sweep_at(vault, end + timedelta(seconds=1))
        assert gone >= {rid for rid, e in wanted.items() if e <= end}, "kept late"
    assert gone == set(wanted)


# -- the scenario -------------------------------------------------------------------------

def test_an_approved_undo_ends_each_recording_at_its_true_end(vault: Vault,
                                                              clock: ShiftedClock) -> None:
    people(vault)
    watch = started(vault, clock)
    try:
        before, ahead, jump_id = wrong_ahead(vault, clock, watch)
        after = take(Camera(vault, camera_source(vault, "wejscie"), clock,
                            "20261122T100100-und"), 2)
        # the correction's alert: how much, how long too long, the two-person step
        said = _alerts(vault)[-1]
        assert "(razem 6 nagrań) będą przechowywane nawet o 40 dni dłużej, niż pozwala ich " \
            "okres przechowywania" in said
        assert f"kustosz clock undo propose {jump_id} --reason" in said
        assert "dwuosobowa procedura" in said and "inna osoba z rolą zatwierdzającego" in said
        # until two people agree, the rows before and during the ahead period are kept late
        for rid, (got, due) in ends(vault, before + ahead).items():
            assert got - due >= timedelta(days=39), rid
        number = propose(vault, jump_id, "zegar ustawiony ręcznie o 40 dni do przodu", "anna",
                         "test")
        done = approve(vault, number, "jan", "test")
        assert done["restored"] == 3 and done["recounted"] == 3
        rows = _rows(vault)
        for rid, _ in before:  # the base they had before the jump: none
            assert rows[rid].retain_from is None
        for rid, true_start in ahead:  # stamped 40 days ahead, counted from the true time
            assert rows[rid].retain_from == pytest.approx(_at(true_start), abs=timedelta(
                seconds=3))
            assert rows[rid].retain_from < rows[rid].start_at
        for rid, (got, due) in ends(vault, before + ahead + after).items():
            assert got == due, rid
        with vault.reading() as s:
            actions = list(s.execute(select(AuditEntry.action).order_by(AuditEntry.seq))
                           .scalars())
        assert actions.index("clock.undo.propose") < actions.index("clock.undo.approve")
        deleted_exactly_at_true_ends(vault, before + ahead + after)
    finally:
        watch.close()


def test_other_kinds_taken_in_while_the_mark_was_ahead_end_at_their_true_end_after_an_undo(
        clock: ShiftedClock, tmp_path: Path, backend_url: str) -> None:
    """Issue 27 item 7 c, for what is not a camera: calls taken in with their own (right)
    times while the clock was 40 days ahead — during the ahead period, and in the second
    between the correction and the watch's reading of it — were counted from the ahead mark
    (the clock is taken never to be ahead), 40 days late; a call taken in before was raised
    by the jump. The correction's alert counts them all; until two people agree, none ends
    earlier; after the approved undo each ends at its true end."""
    from kustosz.ingest.files import ingest_file

    vault = make_vault(tmp_path / "vault", "walbrzych", backend_url)  # its calls kept 30 days
    people(vault)
    with vault.transaction() as s:
        s.add(Source(name="centrala", kind="phone", created_at=_at(clock.wall())))
    watch = started(vault, clock)
    calls: list[tuple[int, float]] = []

    def call(n: int) -> None:
        """A call of a minute that ended a minute ago, by the PBX's own (right) clock."""
        path = tmp_path / f"call{n}.wav"
        path.write_bytes(b"RIFF" + bytes(40 + n))
        start = clock.true - 120
        rec = ingest_file(vault, "centrala", path, _at(start), _at(start + 60))
        calls.append((rec.id, start))

    def end_of(true_start: float) -> datetime:
        with vault.reading() as s:
            source = s.execute(select(Source).where(Source.name == "centrala")).scalar_one()
            return expiry_of(source, _at(true_start), vault.policy)

    try:
        call(0)  # the clock right
        clock.advance(1)
        clock.error_s = AHEAD
        forward = watch.sample()
        assert forward is not None and forward.delta_s > 0
        call(1)
        clock.advance(3600)
        watch.sample()
        call(2)
        clock.advance(1)
        clock.error_s = 0.0
        call(3)  # after the correction, before the watch has read it
        fix = watch.sample()
        assert fix is not None and fix.corrected and fix.correction is not None
        # the first call by the forward jump's raise, the others by their intake
        assert fix.correction.kept_late == 4
        rows = _rows(vault)
        for rid, true_start in calls:  # 40 days late until two people agree
            assert rows[rid].expires_at - end_of(true_start) >= timedelta(days=39), rid
        run_sweep(vault, now=_at(clock.true))
        assert set(_rows(vault)) >= {rid for rid, _ in calls}
        done = approve(vault, propose(vault, forward.id, "zegar ustawiony o 40 dni do "  # type: ignore[arg-type]
                                      "przodu", "anna", "test"), "jan", "test")
        assert (done["intake"], done["restored"], done["recounted"]) == (3, 1, 0)
        rows = _rows(vault)
        for rid, true_start in calls:
            assert rows[rid].retain_from is None, rid  # counted from the call's own time
            assert abs(rows[rid].expires_at - end_of(true_start)) < timedelta(seconds=1), rid
        # and the sweep agrees with the record: each goes right after its true end
        ends = sorted({end_of(t) for _, t in calls})
        assert sweep_at(vault, ends[0] - timedelta(seconds=5)) == set()
        assert sweep_at(vault, ends[-1] + timedelta(seconds=5)) == {rid for rid, _ in calls}
    finally:
        watch.close()
        vault.close()


def test_without_approval_nothing_is_deleted_early(vault: Vault, clock: ShiftedClock) -> None:
    """Corrected, proposed by one person, never approved: the sweep keeps the material of the
    ahead period and before until the later end (up to 40 days late; said in the alert),
    while what is recorded after the correction goes at its true end."""
    people(vault)
    watch = started(vault, clock)
    try:
        before, ahead, jump_id = wrong_ahead(vault, clock, watch)
        after = take(Camera(vault, camera_source(vault, "wejscie"), clock,
                            "20261122T100100-unw"), 2)
        propose(vault, jump_id, "zegar się spieszył", "anna", "test")
        last_true = max(true_end(vault, t) for _, t in before + ahead)
        gone = sweep_at(vault, last_true + timedelta(days=1))
        assert gone == {rid for rid, _ in after}
        kept = _rows(vault)
        for rid, (got, due) in ends(vault, before + ahead).items():
            assert kept[rid].expires_at == got and got > due
        # ... until their later end, 40 days on
        assert sweep_at(vault, last_true + timedelta(days=41)) == \
            {rid for rid, _ in before + ahead}
    finally:
        watch.close()


def test_one_person_staging_a_correction_cannot_delete_early(vault: Vault,
                                                             clock: ShiftedClock) -> None:
    """The attack the watch cannot see through: a clock behind by 40 days is set right by
    NTP (a correct jump forward: what it stamped is re-based), then set back by as much by
    someone who controls it — which looks exactly like a wrong-ahead clock corrected. One
    person, an administrator who is an approver too, proposes the undo; neither she nor an
    administrator who is no approver can approve it, and without a second approver nothing
    is shortened and nothing goes before its true end."""
    people(vault)
    cam = camera_source(vault)
    behind_from_the_start(clock, AHEAD)
    watch = started(vault, clock)
    try:
        feed = Camera(vault, cam, clock, "20261122T100000-att")
        behind = take(feed, 3)
        clock.advance(1)
        clock.error_s = 0.0  # NTP: right
        ntp = watch.sample()
        assert ntp is not None and ntp.delta_s > 0
        right = take(feed, 3)
        clock.advance(1)
        clock.error_s = -AHEAD  # the staged "correction"
        staged = watch.sample()
        assert staged is not None and staged.corrected
        number = propose(vault, ntp.id, "zegar się spieszył", "ewa", "test")  # type: ignore[arg-type]
        before = snapshot(vault)
        with pytest.raises(KustoszError, match="another person must approve"):
            approve(vault, number, "ewa", "test")
        with pytest.raises(KustoszError, match="approver role"):
            approve(vault, number, "anna", "test")
        with pytest.raises(KustoszError, match="waits for approval"):  # one waits already
            propose(vault, ntp.id, "r", "anna", "test")  # type: ignore[arg-type]
        assert snapshot(vault) == before
        # the sweep by the true time: nothing before its true end
        taken = behind + right
        for rid, (got, due) in ends(vault, taken).items():
            assert got >= due, rid
        first = min(true_end(vault, t) for _, t in taken)
        assert sweep_at(vault, first - timedelta(seconds=1)) == set()
        assert len(_rows(vault)) == 6
    finally:
        watch.close()


def test_a_later_change_wins_over_the_restore(vault: Vault, clock: ShiftedClock) -> None:
    """A row whose retention base changed after the wrong jump moved it (here: by hand, as a
    later jump's raise would) keeps the later value: the undo restores only what still holds
    the value the jump set."""
    people(vault)
    watch = started(vault, clock)
    try:
        before, _ahead, jump_id = wrong_ahead(vault, clock, watch)
        changed = before[0][0]
        later = _rows(vault)[changed].retain_from + timedelta(days=2)  # type: ignore[operator]
        with vault.transaction() as s:
            s.get(Recording, changed).retain_from = later  # type: ignore[union-attr]
        number = propose(vault, jump_id, "r", "anna", "test")
        assert approve(vault, number, "jan", "test")["restored"] == 2
        rows = _rows(vault)
        assert rows[changed].retain_from == later
        assert all(rows[rid].retain_from is None for rid, _ in before[1:])
    finally:
        watch.close()


def test_an_approval_cut_short_and_made_again_counts_nothing_twice(
        vault: Vault, clock: ShiftedClock, monkeypatch: pytest.MonkeyPatch) -> None:
    import kustosz.clock.undo as undo_mod

    people(vault)
    watch = started(vault, clock)
    try:
        before, ahead, jump_id = wrong_ahead(vault, clock, watch)
        number = propose(vault, jump_id, "r", "anna", "test")
        with monkeypatch.context() as m, pytest.raises(OSError):
            m.setattr(undo_mod._Undo, "restore_pass",
                      lambda self: (_ for _ in ()).throw(OSError("cut")))
            approve(vault, number, "jan", "test")
        done = approve(vault, number, "jan", "test")
        assert done["recounted"] == 3
        for rid, (got, due) in ends(vault, before + ahead).items():
            assert got == due, rid
    finally:
        watch.close()


# -- bad inputs: a clear error, nothing changed -----------------------------------------------

def _jumps_of_every_kind(root: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """A vault with a corrected forward jump, a forward jump not corrected and a backward
    jump that is no correction; their ids."""
    clock = ShiftedClock()
    clock.install(monkeypatch)
    vault = make_vault(root)
    try:
        people(vault)
        clock.catch_up()
        watch = ClockWatch(vault, wall=clock.wall, steady=clock.steady,
                           boot=lambda: BOOT).start()
        _before, _ahead, corrected = wrong_ahead(vault, clock, watch)
        clock.advance(1)
        clock.error_s = 600.0
        forward = watch.sample()
        clock.advance(1)
        clock.error_s = -DAY
        backward = watch.sample()
        assert forward is not None and not forward.corrected
        assert backward is not None and not backward.corrected
        watch.close()
        return {"corrected": corrected, "forward": forward.id,  # type: ignore[dict-item]
                "backward": backward.id}  # type: ignore[dict-item]
    finally:
        vault.close()


def _snapshot(root: Path) -> dict[str, object]:
    vault = Vault.open(root, actor="test")
    try:
        return snapshot(vault)
    finally:
        vault.close()


@pytest.mark.parametrize(("case", "words"), [
    ("unknown", "Nie ma przeskoku zegara nr"),
    ("not_corrected", "nic nie skorygowało"),
    ("backward", "był do tyłu"),
    ("no_reason", "wymaga podania przyczyny"),
    ("not_administrator", "nie ma potrzebnej roli"),
    ("no_such_person", "nobody"),
    ("pending", "czeka na zatwierdzenie"),
    ("undone", "został już cofnięty"),
])
def test_bad_proposals_are_refused_and_change_nothing(tmp_path: Path, case: str, words: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "vault"
    ids = _jumps_of_every_kind(root, monkeypatch)
    cli = Cli(root)
    jump, reason, by = ids["corrected"], "zegar się spieszył", "anna"
    if case == "unknown":
        jump = max(ids.values()) + 100
    elif case == "not_corrected":
        jump = ids["forward"]
    elif case == "backward":
        jump = ids["backward"]
    elif case == "no_reason":
        reason = "  "
    elif case == "not_administrator":
        by = "jan"
    elif case == "no_such_person":
        by = "nobody"
    elif case in ("pending", "undone"):
        out = cli("clock", "undo", "propose", str(jump), "--reason", reason, "--by", by).output
        if case == "undone":
            number = out.split("proposal ")[1].split()[0]
            cli("clock", "undo", "approve", number, "--by", "jan")
    before = _snapshot(root)
    result = cli("clock", "undo", "propose", str(jump), "--reason", reason, "--by", by,
                 ok=False)
    assert result.exit_code == 2, result.output
    assert words in result.output
    assert _snapshot(root) == before


@pytest.mark.parametrize(("case", "words"), [
    ("unknown", "Nie ma propozycji cofnięcia przeskoku zegara nr"),
    ("same_person", "zatwierdzić je musi inna osoba"),
    ("not_approver", "nie ma potrzebnej roli"),
    ("approved", "została już zatwierdzona"),
    ("credentials_on_a_folder", "nie są w magazynie obiektów"),
])
def test_bad_approvals_are_refused_and_change_nothing(tmp_path: Path, case: str, words: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "vault"
    ids = _jumps_of_every_kind(root, monkeypatch)
    cli = Cli(root)
    out = cli("clock", "undo", "propose", str(ids["corrected"]), "--reason", "r", "--by",
              "ewa").output
    number = int(out.split("proposal ")[1].split()[0])
    by, extra = "jan", []
    if case == "unknown":
        number += 1000
    elif case == "same_person":
        by = "ewa"
    elif case == "not_approver":
        by = "anna"
    elif case == "approved":
        cli("clock", "undo", "approve", str(number), "--by", "jan")
    elif case == "credentials_on_a_folder":
        creds = tmp_path / "redate.toml"
        creds.write_text('access_key = "a"\nsecret_key = "b"\n')
        creds.chmod(0o600)
        extra = ["--credentials", str(creds)]
    before = _snapshot(root)
    result = cli("clock", "undo", "approve", str(number), "--by", by, *extra, ok=False)
    assert result.exit_code == 2, result.output
    assert words in result.output
    assert _snapshot(root) == before
    listed = cli("clock", "undo", "list").output
    assert ("undone / cofnięty" in listed) == (case == "approved")


# -- the record check honours an approved undo, and only that -----------------------------------

def test_a_database_edit_without_approval_is_refused_by_the_record(
        vault: Vault, clock: ShiftedClock) -> None:
    """Whoever writes the database sets the ahead period's rows to what an undo would: the
    audit log has no approval, so the sweep refuses them (retention_disagrees), deletes
    nothing; after two people approve, the same ends are the record's too."""
    people(vault)
    watch = started(vault, clock)
    try:
        _before, ahead, jump_id = wrong_ahead(vault, clock, watch)
        for rid, t in ahead:
            with vault.engine.begin() as conn:
                conn.execute(text("UPDATE recordings SET retain_from = :b, expires_at = :e "
                                  "WHERE id = :i"),
                             {"b": _at(t).replace(tzinfo=None),
                              "e": true_end(vault, t).astimezone(UTC).replace(tzinfo=None),
                              "i": rid})
        when = max(true_end(vault, t) for _, t in ahead) + timedelta(seconds=1)
        report = run_sweep(vault, now=when)
        assert report.deleted == [] and sorted(report.refused) == sorted(r for r, _ in ahead)
        number = propose(vault, jump_id, "r", "anna", "test")
        approve(vault, number, "jan", "test")
        assert {d["id"] for d in run_sweep(vault, now=when).deleted} >= \
            {rid for rid, _ in ahead}
    finally:
        watch.close()


def test_the_moves_are_kept_and_go_with_their_recordings(vault: Vault,
                                                         clock: ShiftedClock) -> None:
    watch = started(vault, clock)
    try:
        before, _ahead, jump_id = wrong_ahead(vault, clock, watch)
        with vault.reading() as s:
            kept = s.execute(select(ClockRebased.recording_id)
                             .where(ClockRebased.jump_id == jump_id)).scalars().all()
            fix = s.execute(select(ClockJump).where(ClockJump.corrects_id == jump_id)
                            ).scalar_one()
        assert sorted(kept) == sorted(rid for rid, _ in before)
        assert fix.delta_s < 0
        with vault.transaction() as s:
            s.delete(s.get(Recording, before[0][0]))
        with vault.reading() as s:
            assert before[0][0] not in s.execute(select(ClockRebased.recording_id)).scalars()
    finally:
        watch.close()


# -- as a property ------------------------------------------------------------------------------

@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
# a segment closed by the ahead clock and taken in after the correction; an ahead period
# longer than the jump (its readings overlap those after the correction)
@example(ahead_s=AHEAD, period_s=60, n_before=2, n_ahead=2, n_after=1, late_take=True,
         approved=True, seconds=10)
@example(ahead_s=DAY, period_s=2 * DAY, n_before=1, n_ahead=3, n_after=2, late_take=True,
         approved=True, seconds=10)
@given(ahead_s=st.one_of(st.floats(3600, 100 * DAY), st.floats(120, 3600)),
       period_s=st.floats(5, 3 * DAY), n_before=st.integers(0, 3),
       n_ahead=st.integers(1, 4), n_after=st.integers(0, 2), late_take=st.booleans(),
       approved=st.booleans(), seconds=st.floats(1, 30))
def test_after_approval_every_end_is_its_true_end_and_never_earlier_without(
        tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch,
        ahead_s: float, period_s: float, n_before: int, n_ahead: int, n_after: int,
        late_take: bool, approved: bool, seconds: float) -> None:
    """Any size of the wrong jump, any length of the ahead period, segments of the ahead
    period taken in before the correction or just after it: after an approved undo no
    recording ends before its true end nor after it (within a minute of its true start:
    the intake's own seconds); without approval none ends before it."""
    clock = ShiftedClock()
    clock.install(monkeypatch)
    vault = make_vault(Path(tmp_path_factory.mktemp("u")) / "vault")
    clock.catch_up()
    watch = ClockWatch(vault, wall=clock.wall, steady=clock.steady, boot=lambda: BOOT).start()
    try:
        people(vault)
        cam = camera_source(vault)
        feed = Camera(vault, cam, clock, "20261122T100000-prp")
        taken = take(feed, n_before, seconds)
        clock.advance(1)
        clock.error_s = ahead_s
        forward = watch.sample()
        taken += take(feed, max(0, n_ahead - 1), seconds)
        clock.advance(period_s)
        watch.sample()
        feed.record(seconds)
        if not late_take:
            taken += feed.take()
        clock.advance(1)
        clock.error_s = 0.0
        fix = watch.sample()
        assert forward is not None and fix is not None and fix.corrected
        taken += feed.take()  # the segment closed by the ahead clock, if still waiting
        taken += take(Camera(vault, cam, clock, "20261122T100100-prp"), n_after, seconds)
        if approved:
            approve(vault, propose(vault, forward.id, "r", "anna", "test"),  # type: ignore[arg-type]
                    "jan", "test")
        for rid, (got, due) in ends(vault, taken).items():
            assert got >= due, (rid, got, due)
            if approved:
                true_start = dict(taken)[rid]
                assert got <= true_end(vault, true_start + 60), (rid, got, due)
        run_sweep(vault, now=_at(clock.true))
        assert set(_rows(vault)) >= {rid for rid, _ in taken}
    finally:
        watch.close()
        vault.close()


# -- across a restart -----------------------------------------------------------------------

def test_a_correction_after_a_restart_names_the_jump_from_the_kept_frames(
        vault: Vault, clock: ShiftedClock) -> None:
    """Set ahead while serve runs, serve stopped and started again (the same boot), then
    corrected: the frames kept across the stop name the forward jump, so it can be undone."""
    people(vault)
    watch = started(vault, clock)
    feed = Camera(vault, camera_source(vault), clock, "20261122T100000-rst")
    before = take(feed, 2)
    clock.advance(1)
    clock.error_s = AHEAD
    forward = watch.sample()
    ahead = take(feed, 2)
    watch.close()
    clock.advance(30)
    watch = started(vault, clock)
    try:
        assert watch.jumps == []
        clock.advance(1)
        clock.error_s = 0.0
        fix = watch.sample()
        assert forward is not None and fix is not None and fix.correction is not None
        assert fix.correction.corrects == forward.id
        approve(vault, propose(vault, forward.id, "r", "anna", "test"), "jan", "test")  # type: ignore[arg-type]
        for rid, (got, due) in ends(vault, before + ahead).items():
            assert got == due, rid
    finally:
        watch.close()


def test_readings_kept_before_0030_still_load() -> None:
    """Frames persisted without the id of the jump that ended them load with none (such a
    jump cannot be undone); a frame of another shape makes the whole state unread."""
    from kustosz.clock.watch import _state_of

    state = {"boot": "b", "wall": 10.0, "steady": 5.0, "high": 10.0, "frame_start": 1.0}
    old = _state_of(json.dumps({**state, "frames": [[0.0, 1.0, 5.0, 0.0]]}))
    assert old is not None and old["frames"] == [[0.0, 1.0, 5.0, 0.0, None]]
    new = _state_of(json.dumps({**state, "frames": [[0.0, 1.0, 5.0, 0.0, 7]]}))
    assert new is not None and new["frames"] == [[0.0, 1.0, 5.0, 0.0, 7]]
    assert _state_of(json.dumps({**state, "frames": [[0.0, 1.0, 5.0]]})) is None
