"""`kustosz demo`'s past (issue 65 item 4): the demo office set up on the 1st of last month at
08:00 and that month lived through, up to now — a clip of each camera every day, the sweep
every night, a police request registered, decided, copied and handed over, the viewer's
playback for it, a camera that stopped for three quarters of an hour — so that last month's
accountability report is there on the first open, with something in it.

The past is lived by the product's own functions, on a clock set back: while `Travel` is on,
`datetime.now` in Kustosz's modules reads the demo's moment, and each step moves it forward
(never back: the audit log's times rise with its entries). Only the demo does this, before
anything else runs in the process (serve starts after it); everything after it, and the
report itself, runs on the real clock."""

from __future__ import annotations

import heapq
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

from sqlalchemy import select

from kustosz.access import records
from kustosz.alert_rows import clear_rows, raise_row
from kustosz.custody.copy_making import make_copy
from kustosz.custody.decisions import decide
from kustosz.custody.handover import hand_over
from kustosz.custody.holds import place_hold
from kustosz.custody.requests import RequestSpec, register_request
from kustosz.db.custody import User
from kustosz.db.models import Source
from kustosz.ingest.files import ingest_file
from kustosz.report import monthly, store
from kustosz.report.common import utc
from kustosz.retention import run_sweep
from kustosz.states import AlertRow
from kustosz.vault import Vault

_REAL = datetime
CAMERAS = ("hol-parter", "wejscie-glowne")
CLIP_AT = time(10, 0)  # each camera's clip of the day, office time
EVERY = timedelta(days=2)  # a clip every other day: the start stays short (~30 each)
SWEEP_AFTER = timedelta(minutes=3)  # a clip's expiry to the sweep that deletes it
SLACK = timedelta(minutes=5)  # the past ends this long before the real now


class _Moment(type):
    """The travelling class is `datetime` to whoever asks: a real datetime is an instance."""

    def __instancecheck__(cls, obj: object) -> bool:
        return isinstance(obj, _REAL)

    def __subclasscheck__(cls, sub: type) -> bool:
        return issubclass(sub, _REAL)


class _Travelling(_REAL, metaclass=_Moment):
    offset: ClassVar[timedelta] = timedelta(0)

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        moment = _REAL.now(UTC) + cls.offset
        return moment.astimezone(tz) if tz else moment.astimezone().replace(tzinfo=None)

    @classmethod
    def utcnow(cls) -> datetime:  # type: ignore[override]
        return (_REAL.now(UTC) + cls.offset).replace(tzinfo=None)


class Travel:
    """The demo's clock, set back to ``start`` while on; ``to`` moves it forward."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.patched: dict[str, ModuleType] = {}

    def now(self) -> datetime:
        return _Travelling.now(UTC)

    def to(self, moment: datetime) -> None:
        if moment < self.now():
            raise ValueError(f"the demo's past runs forward: {moment} is before {self.now()}")
        _Travelling.offset = moment - _REAL.now(UTC)
        self._patch()  # a module imported since: its clock too

    def _patch(self) -> None:
        for name, module in list(sys.modules.items()):
            if (name == "kustosz" or name.startswith("kustosz.")) and name != __name__ \
                    and getattr(module, "datetime", None) is _REAL:
                module.datetime = _Travelling  # type: ignore[attr-defined]
                self.patched[name] = module

    def __enter__(self) -> Travel:
        _Travelling.offset = self.start - _REAL.now(UTC)
        self._patch()
        return self

    def __exit__(self, *_exc: object) -> None:
        for module in self.patched.values():
            module.datetime = _REAL  # type: ignore[attr-defined]
        self.patched.clear()
        _Travelling.offset = timedelta(0)


def began(now: datetime, tz: tzinfo) -> datetime:
    """The demo office's first moment: 08:00 on the 1st of last month, office time."""
    first = now.astimezone(tz).date().replace(day=1)
    last_month = (first - timedelta(days=1)).replace(day=1)
    return datetime.combine(last_month, time(8), tzinfo=tz).astimezone(UTC)


def _at(day: date, clock: time, tz: tzinfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=tz).astimezone(UTC)


@dataclass(order=True)
class Step:
    at: datetime
    run: Callable[[datetime], datetime | None] = field(compare=False)


@dataclass
class Story:
    """What happened last month, and the moment each happened."""

    vault: Vault
    clip: Path
    tz: tzinfo
    month: date  # the 1st of last month
    request: int | None = None

    def day(self, n: int, clock: time) -> datetime:
        return _at(self.month + timedelta(days=n - 1), clock, self.tz)

    def clips(self, now: datetime) -> datetime | None:
        """A clip of each camera; when the last of them expires."""
        kept = [ingest_file(self.vault, name, self.clip, now, now + timedelta(seconds=2),
                            actor="demo").expires_at for name in CAMERAS]
        return max((utc(k) for k in kept if k is not None), default=None)

    def sweep(self, now: datetime) -> None:
        run_sweep(self.vault, now, actor="system")

    def police(self, now: datetime) -> None:
        """The door of the ground-floor hall damaged on the 5th at 10:00; the police ask."""
        incident = self.day(5, CLIP_AT)
        with self.vault.transaction() as s:
            spec = RequestSpec(
                kind="authority", material="video", received_on=now.astimezone(self.tz).date(),
                requester="Komenda Powiatowa Policji, asp. Jan Nowak", event_date=incident
                .astimezone(self.tz).date(), purpose="postępowanie w sprawie o wykroczenie",
                description="Uszkodzenie drzwi wejściowych w holu na parterze",
                case_ref="RSD-118/26", cameras=["hol-parter"], start=incident,
                end=incident + timedelta(seconds=2), margin_minutes=0)
            self.request = register_request(s, self.vault.policy, spec, "sekretariat", now).id
            # the police also ask the original kept until the case ends: past its period,
            # the sweep keeps it (the report's "kept", not a departure)
            camera = s.execute(select(Source).where(Source.name == "hol-parter")).scalar_one()
            place_hold(s, sources=[camera], start=incident - timedelta(minutes=30),
                       end=incident + timedelta(minutes=30), case_ref="RSD-118/26",
                       basis="Wniosek Komendy Powiatowej Policji: zabezpieczenie do "
                             "zakończenia postępowania", actor="sekretariat", at=now)

    def decided(self, now: datetime) -> None:
        assert self.request is not None
        with self.vault.transaction() as s:
            decide(s, self.vault.policy, self.request, by="kierownik", agree=True,
                   on=now.astimezone(self.tz).date(), actor="kierownik", keyed_by="kierownik",
                   now=now)

    def copied(self, now: datetime) -> None:
        assert self.request is not None
        copy = make_copy(self.vault, self.request, "sekretariat", "sekretariat", now=now)
        hand_over(self.vault, copy.number, receiver="asp. Jan Nowak, Komenda Powiatowa Policji",
                  by="sekretariat", actor="sekretariat", request_id=self.request,
                  medium="pendrive szyfrowany", now=now + timedelta(minutes=20))

    def viewed(self, now: datetime) -> None:
        """The viewer plays the incident in the presence of a witness, for the request."""
        with self.vault.transaction() as s:
            viewer = s.execute(select(User).where(User.name == "przegladajacy")).scalar_one()
            camera = s.execute(select(Source).where(Source.name == "hol-parter")).scalar_one()
            token = records.try_open(
                s, user=viewer, action="playback", client="127.0.0.1",
                purpose="wyjaśnienie uszkodzenia drzwi w holu (wniosek Policji)",
                request_id=self.request, witness="user:kierownik", source=camera,
                window=(self.day(5, CLIP_AT), self.day(5, CLIP_AT) + timedelta(seconds=2)),
                now=now)
            assert isinstance(token, str), token
            session = records.viewing_of(s, token)
            assert session is not None
            records.end_viewing(s, session, now + timedelta(minutes=6))

    def outage(self, now: datetime) -> None:
        with self.vault.transaction() as s:
            raise_row(s, AlertRow.CAMERA_DOWN, "Kamera „wejscie-glowne” nie nagrywa od "
                      f"{now.astimezone(self.tz):%H:%M} (przyczyna: brak zasilania).", now)
            clear_rows(s, AlertRow.CAMERA_DOWN, now + timedelta(minutes=45))


def _plan(story: Story, start: datetime, until: datetime) -> list[Step]:
    """The steps known from the start: a clip every `EVERY` days, and the story's events."""
    steps = [Step(story.day(6, time(9, 30)), story.police),
             Step(story.day(7, time(11)), story.decided),
             Step(story.day(8, time(10, 30)), story.copied),
             Step(story.day(9, time(12)), story.viewed),
             Step(story.day(13, time(3, 10)), story.outage)]
    day = start.astimezone(story.tz).date()
    while _at(day, CLIP_AT, story.tz) < until:
        steps.append(Step(_at(day, CLIP_AT, story.tz), story.clips))
        day += EVERY
    return [s for s in steps if start < s.at < until]


def live(setup: Callable[[], tuple[Vault, Any]], clip: Path, now: datetime,
         tz: tzinfo) -> tuple[Vault, Any]:
    """The vault ``setup`` makes, made at `began` and lived through to ``now``: what setup
    returns, with the vault as it stands now. A clip's expiry brings a sweep right after it,
    as serve's sweep every few minutes would: no deletion of the past is late."""
    start, until = began(now, tz), now - SLACK
    # the past's own alerts and warnings went by weeks ago: not news on the console today
    logging.disable(logging.WARNING)
    with Travel(start) as clock:
        vault, made = setup()
        story = Story(vault, clip, tz, start.astimezone(tz).date())
        steps = _plan(story, clock.now(), until)
        heapq.heapify(steps)
        while steps:
            step = heapq.heappop(steps)
            clock.to(step.at)
            expires = step.run(step.at)
            if expires is not None and expires + SWEEP_AFTER < until:
                heapq.heappush(steps, Step(expires + SWEEP_AFTER, story.sweep))
    logging.disable(logging.NOTSET)
    return vault, made


def last_months_report(vault: Vault, now: datetime) -> Path | None:
    """Last month's report on the shelf, as serve makes it on the 1st: there on first open."""
    label = monthly.last_month(now, vault)
    if store.exists(vault, label):
        return None
    return store.make(vault, label, "system", now)
