"""Issue 66 item 2: every statutory cap is the calendar rule it is (k.c. art. 111-112), checked
for the longest a period can run from any start day — not as a number of days. "93 days" was
accepted for video because 3 months counted as 93 days (31 a month): a recording of 28.11.2026
was kept until 2.03.2027, while art. 22² §3 k.p. ends it with 28.02.2027.

The oracle here is the calendar itself: every start day of a common year (2027) and of a leap
year (2028), each period's last day against the cap's."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from kustosz.config_schema.policy_file import check_preset_file
from kustosz.db.models import Recording, Source
from kustosz.errors import ConfigError
from kustosz.index.expiry import check_override, expiry_of, redate_all
from kustosz.index.sources import add_source
from kustosz.ingest.files import ingest_file
from kustosz.policy import Period, load_policy
from kustosz.policy.periods import never_longer, overrun
from kustosz.retention import run_sweep
from tests.conftest import make_vault

WARSAW = ZoneInfo("Europe/Warsaw")
CAP = Period(3, "months")
EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples" / "presets"
# Every day of a common and of a leap year, and the day after each (a start on 31 December).
STARTS = [date(2027, 1, 1) + timedelta(days=i) for i in range(366 + 365)]


def outlives_somewhere(period: Period, cap: Period) -> bool:
    return any(period.last_day(s) > cap.last_day(s) for s in STARTS)


periods = st.builds(Period, st.integers(1, 130),
                    st.sampled_from(["days", "weeks", "months", "years"]))


@settings(max_examples=300, deadline=None)
@given(periods)
def test_the_video_cap_takes_exactly_the_periods_the_calendar_keeps_within_it(
        period: Period) -> None:
    """`policy check` (the policy's rule) refuses a video period iff from some start day of
    2027 or 2028 it would keep a recording past the 3 months of art. 22² §3."""
    bad = outlives_somewhere(period, CAP)
    assert never_longer(period, CAP) is not bad
    if bad:
        with pytest.raises(ConfigError, match="statutory maximum") as exc:
            load_policy("pleszew", {"retention": {"camera": str(period)}})
        assert "Kodeks pracy art. 22² §3" in (exc.value.pl or "")
    else:
        assert load_policy("pleszew", {"retention": {"camera": str(period)}}) \
            .retention_for("camera") == period


@settings(max_examples=300, deadline=None)
@given(periods, periods)
def test_never_longer_is_the_calendar_over_every_start_day(period: Period, cap: Period) -> None:
    """Sound for any two periods: where the rule says "never longer", no start day of a common
    or a leap year ends the period later; where it says "longer", its witness is a real one."""
    if never_longer(period, cap):
        assert not outlives_somewhere(period, cap)
    else:
        start, kept, last = overrun(period, cap) or pytest.fail("no witness")
        assert kept == period.last_day(start) > cap.last_day(start) == last


@pytest.mark.parametrize(("text", "accepted"), [
    ("89 days", True), ("90 days", False), ("91 days", False), ("92 days", False),
    ("93 days", False), ("12 weeks", True), ("13 weeks", False), ("3 months", True),
    ("1 year", False)])
def test_ninety_to_ninety_three_days_of_video_are_refused(text: str, accepted: bool) -> None:
    """89 days is the longest day count 3 calendar months always hold: from 31 January of a
    common year they end with 30 April (89 days later)."""
    if accepted:
        load_policy("pleszew", {"retention": {"camera": text}})
        return
    with pytest.raises(ConfigError, match="statutory maximum") as exc:
        load_policy("pleszew", {"retention": {"camera": text}})
    assert re.search(r"nagranie z \d\d\.\d\d\.\d{4} byłoby przechowywane do", exc.value.pl or "")


def test_the_finding_28_november_93_days(tmp_path: Path) -> None:
    assert Period(93, "days").last_day(date(2026, 11, 28)) == date(2027, 3, 1)
    assert CAP.last_day(date(2026, 11, 28)) == date(2027, 2, 28)
    assert overrun(Period(90, "days"), CAP) == (date(2026, 1, 31), date(2026, 5, 1),
                                               date(2026, 4, 30))


@pytest.mark.parametrize("text", ["93 days", "90 days"])
def test_policy_check_refuses_the_file_with_the_line_and_a_polish_reason(
        tmp_path: Path, text: str) -> None:
    source = (EXAMPLES / "rawicz.toml").read_text("utf-8")
    changed = re.sub(r'(?m)^camera = "3 months"$', f'camera = "{text}"', source)
    assert changed != source
    path = tmp_path / "starostwo.toml"
    path.write_text(changed, "utf-8")
    (problem,) = check_preset_file(path)
    line = next(i for i, ln in enumerate(changed.splitlines(), 1)
                if ln == f'camera = "{text}"')
    assert problem.line == line and problem.where == "retention.camera"
    assert "przekracza ustawowe maksimum 3 miesiące liczone według kalendarza" in problem.pl


def test_a_source_period_is_checked_by_the_calendar_too() -> None:
    """A source may keep shorter than the office's rule, never longer from any day: 31 days
    outlive 1 month from 31 January; 28 days never do."""
    policy = load_policy("pleszew", {"retention": {"camera": "1 month"}})
    check_override("camera", Period(28, "days"), policy)
    with pytest.raises(ConfigError, match="longer than the office's rule"):
        check_override("camera", Period(31, "days"), policy)


def test_the_sweep_never_keeps_video_past_three_calendar_months(tmp_path: Path) -> None:
    """A recording of 28.11.2026 (Warsaw) is gone when 28.02.2027 ends — even where its
    source's own period was written past the rules ("93 days" straight into the database)."""
    vault = make_vault(tmp_path / "v")
    try:
        with vault.transaction() as s:
            add_source(s, vault.policy, "cam-93", "camera", "test")
        sample = tmp_path / "seg.mp4"
        sample.write_bytes(b"\x00" * 2048)
        start = datetime(2026, 11, 28, 12, 0, tzinfo=WARSAW).astimezone(UTC)
        ingest_file(vault, "cam-93", sample, start, start + timedelta(seconds=10), actor="test")
        gone_at = datetime(2027, 3, 1, 0, 0, tzinfo=WARSAW).astimezone(UTC)
        with vault.transaction() as s:
            s.execute(sa.update(Source).where(Source.name == "cam-93")
                      .values(retention="93 days"))
            source = s.execute(sa.select(Source).where(Source.name == "cam-93")).scalar_one()
            assert expiry_of(source, start, vault.policy) == gone_at
            redate_all(s, vault.policy)
            assert s.execute(sa.select(Recording.expires_at)).scalar_one() == gone_at
        stored = sa.select(sa.func.count()).select_from(Recording) \
            .where(Recording.state == "stored")
        run_sweep(vault, gone_at - timedelta(seconds=1), actor="test")
        with vault.reading() as s:
            assert s.execute(stored).scalar_one() == 1
        run_sweep(vault, gone_at, actor="test")
        with vault.reading() as s:
            assert s.execute(stored).scalar_one() == 0
    finally:
        vault.close()
