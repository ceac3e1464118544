"""A month of varied activity made through the product's own functions, with two departures
planted: a deletion a day late and a request left undecided past the office's 14 days. Requests
of every kind (RequestKind: an authority's, an interested person's, a data subject's, an
internal case) and copies through their whole life: made, handed over, destroyed by the
commission; made, sent back at review (returned: destroyed, never handed over). With
``every_kind`` (a vault with periods for calls, mail and IT events: web_helpers.both_vault) the
month also has calls of a phone line, journal mail and IT events, each reviewed once."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import select

from kustosz.access import records
from kustosz.access.authorisations import issue
from kustosz.access.users import add_user
from kustosz.alert_rows import clear_rows, raise_row
from kustosz.alerts.notifier import Notifier
from kustosz.config import read_config
from kustosz.custody.copies import make_copy
from kustosz.custody.decisions import decide
from kustosz.custody.destruction import confirm
from kustosz.custody.handover import hand_over
from kustosz.custody.requests import RequestSpec, register_request
from kustosz.db.custody import User
from kustosz.db.models import Alert, Deletion, Source
from kustosz.report.period import ReportPeriod, parse
from kustosz.retention.sweep import run_sweep
from kustosz.states import AlertRow
from kustosz.vault import Vault
from tests.alerts_helpers import SmtpSink, write_alerts
from tests.custody.custody_helpers import call, people, record, setup_camera, setup_phone


@dataclass
class Month:
    period: ReportPeriod
    now: datetime  # the report's "now": just after the period ended
    late_deletions: list[int]  # deletion row ids
    late_request: int
    # the requests the report finds still undecided past the office's reminder: the planted
    # late one, and the data subject's of today too when today is that long before the
    # month's end (a run in the first half of a month)
    late_decisions: list[int]
    copy_number: str
    returned: str  # the data subject's masked copy sent back at review
    calls: list[int] = field(default_factory=list)  # recording ids of the phone line's calls
    told: int = 0  # the alert the notifier told over e-mail (to TOLD_TO)
    untold: int = 0  # the alert nobody was told of (it came and went with no channel set)


TOLD_TO = ("it@um.example.pl", "iod@um.example.pl")


def _told_alert(vault: Vault, now: datetime) -> int:
    """A sweep that failed, told over e-mail by the notifier itself (the SMTP relay on
    loopback, the channel set in kustosz.toml as an office sets it) and cleared; the
    [alerts.email] table is taken out again, so the rest of the month has no channel."""
    with vault.transaction() as s:
        raise_row(s, AlertRow.SWEEP_FAILED, "Usuwanie nagrań po terminie nie powiodło się.",
                  now)
    toml = vault.root / "kustosz.toml"
    before = toml.read_text("utf-8")
    with SmtpSink() as smtp:
        write_alerts(vault.root, f'[alerts.email]\nhost = "127.0.0.1"\nport = {smtp.port}\n'
                     f'from = "kustosz@um.example.pl"\nto = {json.dumps(list(TOLD_TO))}\n')
        try:
            notifier = Notifier(vault, read_config(vault.root).alerts)
        finally:
            toml.write_text(before, "utf-8")
        notifier.tick(now + timedelta(minutes=10))  # past the sweep's grace of 5 minutes
        assert len(smtp.mails) == 1, smtp.subjects()
    with vault.transaction() as s:
        clear_rows(s, AlertRow.SWEEP_FAILED, now + timedelta(minutes=20))
        return int(s.execute(select(Alert.id).where(Alert.kind == AlertRow.SWEEP_FAILED))
                   .scalar_one())


def this_month(vault: Vault) -> ReportPeriod:
    today = datetime.now(UTC).astimezone(vault.policy.timezone)
    return parse(f"{today:%Y-%m}", None, None, vault.policy.timezone)


def _spec(kind: str, received: datetime, **kw: object) -> RequestSpec:
    base: dict[str, object] = dict(
        kind=kind, material="video", requester="Komenda Powiatowa Policji w Pleszewie",
        # the event the day before it was received: "12:00" of the same day would lie in
        # the future for a run before noon (a run just after midnight refused it)
        received_on=received.date(), event_date=received.date() - timedelta(days=1),
        approx_time="12:00",
        place="Ratusz/hol parter", margin_minutes=1, purpose="postępowanie przygotowawcze",
        description="kradzież roweru przy wejściu")
    base.update(kw)
    return RequestSpec(**base)  # type: ignore[arg-type]


def plant_late_deletion(vault: Vault, tmp: Path) -> list[int]:
    """One segment of a day 33 days ago and one of the day after; a sweep as of ten minutes
    after the second day's period ended: the first is deleted a day late, the second in time.
    The deletions are recorded at the real moment they are made (today, in this month on any
    day, the 1st too); the sweep's own moment (as_of) is what the lateness is measured by."""
    tz = vault.policy.timezone
    day = datetime.now(UTC).astimezone(tz).date() - timedelta(days=33)
    first = datetime.combine(day, time(10), tzinfo=tz)
    old = record(vault, "cam-parking", first, 1, tmp / "old")
    on_time = record(vault, "cam-parking", first + timedelta(days=1), 1, tmp / "old")
    assert on_time[0].expires_at is not None
    run_sweep(vault, now=on_time[0].expires_at + timedelta(minutes=10))
    with vault.reading() as s:
        return list(s.execute(select(Deletion.id).where(
            Deletion.recording_id == old[0].id)).scalars())


def _sent_back(vault: Vault, now: datetime) -> str:
    """A data subject's request for cam-hol's last minutes, granted; its masked copy is sent
    back at review by a second custodian: destroyed there, never handed over."""
    from kustosz.custody import subject_review
    from tests.web.web_helpers import request_of

    with vault.transaction() as s:
        add_user(s, "przeglad", "Maria Wrona", ["custodian"], "test")
    rid = request_of(vault, now - timedelta(minutes=2), ["cam-hol"], 4)
    copy = make_copy(vault, rid, "informatyk", "test")
    with vault.transaction() as s:
        _c, folder = subject_review.send_back(s, copy.number, "przeglad",
                                              "maska nie zakrywa tablicy", "test")
    subject_review.remove_bundle(vault.root, folder)
    return copy.number


def _viewing(vault: Vault, now: datetime) -> None:
    with vault.transaction() as s:
        add_user(s, "ochrona", "Adam Stróż", ["viewer"], "test")
    with vault.transaction() as s:
        issue(s, holder="ochrona", actions=["playback"], sources=[],
              source_kinds=["camera"], valid_from=now - timedelta(days=1),
              valid_to=now + timedelta(days=30), by="burmistrz", actor="test")
    with vault.transaction() as s:
        user = s.execute(select(User).where(User.name == "ochrona")).scalar_one()
        cam = s.execute(select(Source).where(Source.name == "cam-hol")).scalar_one()
        token = records.try_open(s, user=user, action="playback", client="127.0.0.1",
                                 purpose="sprawdzenie zdarzenia", witness="user:zastepca",
                                 case_ref="RSD-1/26",
                                 source=cam, window=(now - timedelta(hours=1), now))
        assert isinstance(token, str), token
        other = s.execute(select(User).where(User.name == "komisja1")).scalar_one()
        refused = records.try_open(s, user=other, action="playback", client="127.0.0.1",
                                   purpose="ciekawość", case_ref="RSD-1/26", source=cam,
                                   witness="user:zastepca",
                                   window=(now - timedelta(hours=1), now))
        assert not isinstance(refused, str)


CALLS = ((1, "+48601100200"), (2, "+48602300400"), (3, "+48603500600"))  # (seconds, caller)


def _calls(vault: Vault, tmp: Path, now: datetime, period: ReportPeriod) -> list[int]:
    """Three calls of the line "centrala" in the last half hour, or — a run in the first
    minutes of the month — in the part of the month already gone: inside the period always."""
    setup_phone(vault, tmp / "phone")
    step = min(timedelta(minutes=10), (now - period.lo) / (len(CALLS) + 1))
    return [call(vault, tmp / "phone", max(period.lo, now - step * (len(CALLS) - i)
                                           - timedelta(seconds=secs)),
                 caller, seconds=secs).id for i, (secs, caller) in enumerate(CALLS)]


def _reviews(vault: Vault, now: datetime, period: ReportPeriod) -> None:
    """A listening of the line, a review of the journal mail and one of the IT events, each
    with its purpose and case (R3.2): the access record of the kinds other than cameras."""
    with vault.transaction() as s:
        add_user(s, "iod", "Ewa Kamińska", ["viewer"], "test")
    with vault.transaction() as s:
        issue(s, holder="iod", actions=["listening", "mail", "events"], sources=[],
              source_kinds=["phone", "mailbox", "endpoint"], valid_from=now - timedelta(days=1),
              valid_to=now + timedelta(days=30), by="burmistrz", actor="test")
    window = (max(now - timedelta(hours=1), period.lo), now)
    with vault.transaction() as s:
        user = s.execute(select(User).where(User.name == "iod")).scalar_one()
        for action, source, purpose in (
                ("listening", "centrala", "skarga na obsługę interesanta"),
                ("mail", "dziennik", "kontrola wycieku danych"),
                ("events", "siem", "kontrola wycieku danych")):
            src = s.execute(select(Source).where(Source.name == source)).scalar_one()
            token = records.try_open(s, user=user, action=action, client="127.0.0.1",
                                     purpose=purpose, witness="user:zastepca",
                                     case_ref="BI.0123.4.2026", source=src, window=window)
            assert isinstance(token, str), token


def month_of_activity(vault: Vault, tmp: Path, every_kind: bool = False) -> Month:
    tz = vault.policy.timezone
    people(vault)
    setup_camera(vault)
    setup_camera(vault, "cam-parking", zone="parking")
    late_deletions = plant_late_deletion(vault, tmp)
    now = datetime.now(UTC).replace(microsecond=0)
    record(vault, "cam-hol", now - timedelta(minutes=2), 3, tmp / "segs")
    today = now.astimezone(tz)
    with vault.transaction() as s:  # the police: approved, copied, handed over, destroyed
        police = register_request(s, vault.policy, _spec(
            "authority", today, case_ref="RSD-1/26", approx_time=None, place=None,
            cameras=["cam-hol"], start=now - timedelta(minutes=3),
            end=now - timedelta(minutes=1),
            margin_minutes=0), "test")
        decide(s, vault.policy, police.id, by="burmistrz", agree=True, on=today.date(),
               actor="t", keyed_by="burmistrz")
        person = register_request(s, vault.policy, _spec(
            "interested", today, requester="Jan Żółkiewski, ul. Łąkowa 5",
            purpose="dowód w sprawie o kradzież roweru"), "test")
        decide(s, vault.policy, person.id, by="burmistrz", agree=False, on=today.date(),
               actor="t", keyed_by="burmistrz", reason="brak interesu prawnego")
        subject = register_request(s, vault.policy, _spec(
            "data_subject", today, requester="Maria Kos", purpose=""), "test")
        late = register_request(s, vault.policy, _spec(
            "interested", today - timedelta(days=20), requester="Ewa Lis",
            event_date=(today - timedelta(days=21)).date()), "test")
        internal = register_request(s, vault.policy, _spec(
            "internal", today, requester="Sekretarz Gminy", purpose="kontrola wewnętrzna",
            case_ref="OR.1431.2.2026"), "test")
        decide(s, vault.policy, internal.id, by="burmistrz", agree=True, on=today.date(),
               actor="t", keyed_by="burmistrz")
        police_id, late_id, subject_id = police.id, late.id, subject.id
    copy = make_copy(vault, police_id, "informatyk", "test")
    hand_over(vault, copy.number, receiver="st. asp. Ewa Łęcka, KPP Pleszew",
              by="informatyk", actor="t")
    confirm(vault, copy.number, "komisja1", "t", reason="sprawa zakończona")
    confirm(vault, copy.number, "komisja2", "t")
    returned = _sent_back(vault, now)
    _viewing(vault, now)
    told = _told_alert(vault, now)
    with vault.transaction() as s:  # an alert raised and cleared within the hour, no channel
        raise_row(s, AlertRow.CAMERA_DOWN, "Kamera cam-parking nie nagrywa.", now)
        clear_rows(s, AlertRow.CAMERA_DOWN, now + timedelta(minutes=30))
        untold = int(s.execute(select(Alert.id).where(Alert.kind == AlertRow.CAMERA_DOWN))
                     .scalar_one())
    period = this_month(vault)
    calls: list[int] = []
    if every_kind:
        from tests.web.web_helpers import make_monitoring

        calls = _calls(vault, tmp, now, period)
        make_monitoring(vault)
        _reviews(vault, now, period)
    # the report counts a request overdue from the day after its reminder's last day, up to
    # the period's last day
    reminder = vault.policy.custody.decision_overdue_after.last_day(today.date())
    late_decisions = sorted([late_id, *([subject_id] if reminder < period.last else [])])
    return Month(period, period.hi + timedelta(seconds=1), late_deletions, late_id,
                 late_decisions, copy.number, returned, calls, told, untold)
