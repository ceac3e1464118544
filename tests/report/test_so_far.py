"""Issue 65 item 4: the report from the first day. A report of the month so far is a draft —
"wstępne, niepełne — stan na …" on every page of its PDF, its own format in report.json and
its own kind in the signed manifest — and never verifies as a final report (`report verify`
says so; `--draft` checks it as a draft); the monthly job still makes the month's report once
it is over, and the drafts go. The CLI makes one with --so-far, says how when a running month
is asked for without it, and refuses a month before the vault Polish first, saying from when
reports exist. The dates are parametrised (the 1st, the last day, 29 February, the night
summer time ends), never "today" alone."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from kustosz.custody.bundles import write_zip
from kustosz.errors import InputError
from kustosz.jobs import records
from kustosz.report import build, bundle, monthly, period, schedule, store, verify
from kustosz.vault import Vault
from tests.conftest import Cli
from tests.office_day import office_today
from tests.report.report_helpers import Month, month_of_activity
from tests.web.web_helpers import both_vault

WARSAW = ZoneInfo("Europe/Warsaw")
# Written out here, not taken from the program: the Polish the report must say.
NOMINATIVE = ("styczeń", "luty", "marzec", "kwiecień", "maj", "czerwiec", "lipiec", "sierpień",
              "wrzesień", "październik", "listopad", "grudzień")
GENITIVE = ("stycznia", "lutego", "marca", "kwietnia", "maja", "czerwca", "lipca", "sierpnia",
            "września", "października", "listopada", "grudnia")
MARK = "SPRAWOZDANIE WSTĘPNE, NIEPEŁNE"


def _local(y: int, m: int, d: int, h: int = 12, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=WARSAW)


@pytest.fixture
def sqlite_vault(tmp_path: Path) -> Iterator[Vault]:
    """Pleszew's rules with periods for calls, mail and IT events: a month of every kind."""
    v = both_vault(tmp_path / "vault")
    yield v
    v.close()


@pytest.fixture
def month(sqlite_vault: Vault, tmp_path: Path) -> Month:
    return month_of_activity(sqlite_vault, tmp_path, every_kind=True)


def _as_of(month: Month, vault: Vault) -> datetime:
    """A moment of the running month after its activity: the month's own, so a run that
    crosses midnight at the month's end still asks about the month it made. Never within two
    seconds of the vault's first entry: the CI run of 30.11.2026 read the wall clock here
    earlier than that entry's own time, and a draft a second before it was refused as made
    before the vault existed (as it should be: that is the product's rule, not the test's)."""
    floor = build.began(vault)
    assert floor is not None
    return min(max(datetime.now(UTC), floor + timedelta(seconds=2)),
               month.period.hi - timedelta(microseconds=1))


def _pages(pdf: Path) -> list[str]:
    return [" ".join((page.extract_text() or "").split())
            for page in PdfReader(io.BytesIO(pdf.read_bytes())).pages]


def test_a_draft_is_marked_in_its_json_its_manifest_and_on_every_pdf_page(
        sqlite_vault: Vault, month: Month, tmp_path: Path) -> None:
    vault = sqlite_vault
    as_of = _as_of(month, vault)
    report = build.build(vault, month.period, as_of, draft=True)
    assert report["format"] == build.DRAFT_FORMAT != build.FORMAT
    assert report["draft"] == {"as_of": as_of.isoformat(),
                               "period_last_day": month.period.last.isoformat(),
                               "final_from": month.period.after.isoformat()}
    # its facts stand at the moment it was made, its days end today
    assert report["period"]["to_utc"] == as_of.isoformat()
    assert report["period"]["last_day"] == as_of.astimezone(WARSAW).date().isoformat()
    assert report["recorded"]["sources"], "the month so far has its recordings"
    out = bundle.write(vault, report, tmp_path / "draft", as_of)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == bundle.DRAFT_KIND and manifest["draft_as_of"] == as_of.isoformat()
    assert manifest["report_format"] == build.DRAFT_FORMAT
    pages = _pages(out / "sprawozdanie.pdf")
    assert len(pages) >= 2, "a month of every kind fills more than a page"
    stamp = as_of.astimezone(WARSAW).strftime("%d.%m.%Y %H:%M")
    for n, text in enumerate(pages, 1):
        assert MARK in text and f"stan na {stamp}" in text, f"page {n} is not marked"
    assert "Sprawozdanie wstępne z rozliczalności" in pages[0]
    # the final report of the same month: no mark anywhere
    final = bundle.write(vault, build.build(vault, month.period, month.now), tmp_path / "final",
                         month.now)
    assert not any("WSTĘPNE" in text for text in _pages(final / "sprawozdanie.pdf"))
    assert json.loads((final / "manifest.json").read_text())["kind"] == bundle.KIND


def test_a_draft_never_verifies_as_a_final_report(sqlite_vault: Vault, month: Month,
                                                   tmp_path: Path) -> None:
    vault = sqlite_vault
    as_of = _as_of(month, vault)
    out = bundle.write(vault, build.build(vault, month.period, as_of, draft=True),
                       tmp_path / "draft", as_of)
    packed = tmp_path / "draft.zip"
    write_zip(out, packed, None)
    for path in (out, packed):
        verdict = verify.verify(path)
        assert not verdict.ok and verdict.problems == [verify.DRAFT_PROBLEM], path
        as_draft = verify.verify(path, draft=True)
        assert as_draft.ok and as_draft.kind == bundle.DRAFT_KIND, path
    # the kind is under the signature: a draft relabelled final fails, naming the manifest
    forged = tmp_path / "forged"
    shutil.copytree(out, forged)
    manifest = json.loads((forged / "manifest.json").read_text())
    manifest["kind"] = bundle.KIND
    (forged / "manifest.json").write_text(json.dumps(manifest))
    verdict = verify.verify(forged)
    assert not verdict.ok and any("signature" in p for p in verdict.problems), verdict
    # and report.json made to look final fails its hash
    shutil.rmtree(forged)
    shutil.copytree(out, forged)
    body = json.loads((forged / "report.json").read_text())
    body["format"] = build.FORMAT
    del body["draft"]
    (forged / "report.json").write_bytes(build.to_bytes(body))
    verdict = verify.verify(forged, draft=True)
    assert not verdict.ok and any(p.startswith("report.json") for p in verdict.problems)


def test_the_cli_makes_the_month_so_far_and_never_verifies_it_as_final(cli: Cli) -> None:
    cli("init", "--preset", "pleszew")
    made = cli("report", "accountability", "--so-far")
    said = " ".join(made.output.split())
    assert said.startswith("Sprawozdanie WSTĘPNE") and "NOT a final report" in said, said
    [folder] = (cli.data / "reports" / "drafts").iterdir()
    assert folder.name.startswith("accountability-")
    vault = Vault.open(cli.data)
    try:
        assert store.made(vault) == [] and [d.folder for d in store.drafts(
            vault, f"{office_today():%Y-%m}")] == [folder]
    finally:
        vault.close()
    refused = cli("report", "verify", str(folder), ok=False)
    lines = refused.output.splitlines()
    assert refused.exit_code == 1 and lines[0].startswith("NIE ZWERYFIKOWANO"), refused.output
    assert "WSTĘPNE" in lines[0] and "not a final report" in refused.output
    assert "does NOT verify" in refused.output
    checked = cli("report", "verify", "--draft", str(folder))
    assert "Sprawozdanie WSTĘPNE" in checked.output and "DRAFT report" in checked.output
    assert cli("bundle", "verify", str(folder), ok=False).exit_code == 1
    # the running month without --so-far: refused, Polish first, saying how
    result = cli("report", "accountability", "--month", f"{office_today():%Y-%m}", ok=False)
    lines = [x for x in result.output.splitlines() if x.strip()]
    assert result.exit_code == 2 and lines[0].startswith("błąd:"), result.output
    assert "nie skończył" in lines[0] and "--so-far" in " ".join(result.output.split())


def test_the_cli_refuses_a_month_before_the_vault_saying_from_when(cli: Cli) -> None:
    cli("init", "--preset", "pleszew")
    began = office_today()  # the vault was made just now, today in the office
    result = cli("report", "accountability", "--month", "2020-01", ok=False)
    said = " ".join(result.output.split())
    assert result.exit_code == 2 and said.startswith("błąd: Okres 2020-01 skończył się, zanim "
                                                     "powstał ten skarbiec"), said
    month = f"{GENITIVE[began.month - 1]} {began.year} r."
    assert f"Sprawozdania obejmują okresy od {month}" in said, said
    assert said.index("błąd:") < said.index("error:")
    assert "reports cover" in said
    result = cli("report", "accountability", "--month", "2020-01", "--so-far", ok=False)
    assert result.exit_code == 2 and "już się skończył" in result.output


@pytest.mark.parametrize(("began", "now", "pl", "en"), [
    (_local(2026, 11, 5, 10), _local(2026, 11, 20),
     "Sprawozdania obejmują okresy od listopada 2026 r.: pierwsze, za listopad 2026 r., "
     "powstanie 1.12.2026.", "the first, for November 2026, will be made on 1.12.2026"),
    (_local(2026, 11, 5, 10), _local(2027, 1, 3),
     "Sprawozdania obejmują okresy od listopada 2026 r. (pierwsze jest za listopad 2026 r.).",
     "(the first is for November 2026)"),
    (_local(2028, 2, 29, 23, 59), _local(2028, 2, 29, 23, 59),
     "Sprawozdania obejmują okresy od lutego 2028 r.: pierwsze, za luty 2028 r., powstanie "
     "1.03.2028.", "for February 2028, will be made on 1.03.2028"),
    (_local(2026, 12, 31, 23, 30), _local(2026, 12, 31, 23, 45),
     "od grudnia 2026 r.: pierwsze, za grudzień 2026 r., powstanie 1.01.2027.",
     "for December 2026, will be made on 1.01.2027"),
    (_local(2026, 10, 25, 2, 30), _local(2026, 10, 31, 23, 59),  # the night summer time ends
     "od października 2026 r.: pierwsze, za październik 2026 r., powstanie 1.11.2026.",
     "for October 2026"),
])
def test_a_refusal_before_the_vault_says_from_when_in_correct_polish(
        began: datetime, now: datetime, pl: str, en: str) -> None:
    with pytest.raises(InputError) as exc:
        period.check_within(period.parse("2020-01", None, None, WARSAW), began.astimezone(UTC),
                            now.astimezone(UTC), WARSAW)
    assert pl in (exc.value.pl or ""), exc.value.pl
    assert en in str(exc.value), str(exc.value)
    assert "r.." not in (exc.value.pl or "")


@pytest.mark.parametrize("m", range(1, 13))
def test_every_month_is_declined(m: int) -> None:
    began = _local(2027, m, 1, 9)
    with pytest.raises(InputError) as exc:
        period.check_within(period.parse("2020-01", None, None, WARSAW), began, began, WARSAW)
    said = exc.value.pl or ""
    assert f"od {GENITIVE[m - 1]} 2027 r." in said and f"za {NOMINATIVE[m - 1]} 2027 r." in said


INSTANTS = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2031, 12, 31),
                        timezones=st.just(UTC))
EDGES = [_local(2026, 11, 1, 0, 0), _local(2026, 11, 30, 23, 59), _local(2028, 2, 29, 12),
         _local(2027, 2, 28, 23, 59), _local(2026, 10, 25, 2, 30), _local(2026, 3, 29, 3, 0),
         _local(2026, 12, 31, 23, 59), _local(2026, 11, 15, 12)]  # 15.11.2026: a Sunday


def _so_far_rules(now: datetime) -> None:
    local = now.astimezone(WARSAW)
    p = period.parse(f"{local:%Y-%m}", None, None, WARSAW)
    began = p.lo - timedelta(days=40)
    draft = period.so_far(p, began, now, WARSAW)
    assert (draft.label, draft.first, draft.lo) == (p.label, p.first, p.lo)
    assert draft.hi == now and draft.last == local.date() and draft.after <= p.after
    with pytest.raises(InputError, match="has not ended"):
        period.check_within(p, began, now, WARSAW)  # a final report of it: not yet
    before = period.parse(f"{(p.first - timedelta(days=1)):%Y-%m}", None, None, WARSAW)
    with pytest.raises(InputError, match="is over"):
        period.so_far(before, began, now, WARSAW)
    after = period.parse(f"{p.after:%Y-%m}", None, None, WARSAW)
    with pytest.raises(InputError, match="not begun"):
        period.so_far(after, began, now, WARSAW)


@pytest.mark.parametrize("now", EDGES, ids=lambda d: d.isoformat())
def test_the_part_gone_by_on_the_edge_days(now: datetime) -> None:
    _so_far_rules(now.astimezone(UTC))


@settings(max_examples=300, deadline=None)
@given(INSTANTS)
def test_the_part_gone_by_on_any_day(now: datetime) -> None:
    _so_far_rules(now)


def _outlook_rules(began: datetime, now: datetime) -> None:
    o = schedule.outlook(began, now, WARSAW)
    today, first = now.astimezone(WARSAW).date(), began.astimezone(WARSAW).date()
    assert o.running == f"{today:%Y-%m}" and o.due.day == 1 and o.due > today
    assert (o.due - today).days <= 31 and o.due.month != today.month
    assert o.first == ((first.year, first.month) == (today.year, today.month))
    months = [date(y, m, 1) for y, m in (map(int, label.split("-")) for label in o.past)]
    assert months == sorted(months, reverse=True) and len(set(months)) == len(months)
    if o.past:  # the month before, back to the vault's first, none left out
        assert months[0] == (today.replace(day=1) - timedelta(days=1)).replace(day=1)
        assert months[-1] == first.replace(day=1)
        assert len(months) == (today.year - first.year) * 12 + today.month - first.month
    else:
        assert o.first
    assert o.since == datetime.combine(today.replace(day=1), time(0), WARSAW)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(INSTANTS, st.integers(min_value=0, max_value=24 * 3600 * 800))
def test_when_the_reports_come_on_any_day(began: datetime, later_s: int) -> None:
    _outlook_rules(began, began + timedelta(seconds=later_s))


@pytest.mark.parametrize("now", EDGES, ids=lambda d: d.isoformat())
def test_when_the_reports_come_on_the_edge_days(now: datetime) -> None:
    for began in (now, now - timedelta(minutes=1), now - timedelta(days=31),
                  now - timedelta(days=400)):
        _outlook_rules(began.astimezone(UTC), now.astimezone(UTC))


def test_the_monthly_job_makes_the_final_report_after_drafts_and_forgets_them(
        sqlite_vault: Vault, month: Month) -> None:
    vault = sqlite_vault
    label = month.period.label
    as_of = _as_of(month, vault)
    first = store.make_draft(vault, label, "iod", as_of - timedelta(seconds=1))
    second = store.make_draft(vault, label, "iod", as_of)
    assert not first.exists() and second.exists(), "a month keeps its newest draft"
    [draft] = store.drafts(vault, label)
    assert draft.folder == second and draft.verified and draft.as_of == as_of
    assert store.made(vault) == [] and not store.exists(vault, label)
    # a draft queued as a job (still queued: another node's) is not the month's report the
    # loop would follow instead of queuing it
    with vault.engine.begin() as conn:
        records.create(conn, monthly.report_accountability.name,
                       {"month": label, "actor": "iod", "as_of": as_of.isoformat(),
                        "so_far": True}, "iod")
    assert monthly.in_flight(vault, label) is None
    state = monthly.Monthly()
    state.tick(vault, month.period.hi + timedelta(minutes=30))
    assert store.exists(vault, label) and store.drafts(vault, label) == []
    [made] = store.made(vault)
    assert made.verified and made.label == label


def test_the_documented_openssl_steps_stop_a_draft(sqlite_vault: Vault, month: Month,
                                                   tmp_path: Path) -> None:
    """The standard tools' steps of docs/operations/accountability.md, as written: a draft's
    signature and files are sound, and its signed kind stops it (step 3)."""
    import subprocess

    from kustosz.custody.bundles import public_pem
    from kustosz.keys import office_key
    from tests.report.test_accountability import _documented_steps

    vault = sqlite_vault
    as_of = _as_of(month, vault)
    out = bundle.write(vault, build.build(vault, month.period, as_of, draft=True),
                       tmp_path / "draft", as_of)
    (tmp_path / "office.pem").write_bytes(public_pem(office_key(vault.root).public_key()))
    steps = _documented_steps().replace("accountability-2026-11", out.name)
    done = subprocess.run(["bash", "-c", steps], cwd=tmp_path, capture_output=True, text=True)
    assert "Signature Verified Successfully" in done.stdout, done.stdout + done.stderr
    assert "report.json: OK" in done.stdout
    assert done.returncode == 1 and "kind: accountability-report-draft" in done.stdout
    final = bundle.write(vault, build.build(vault, month.period, month.now), tmp_path / "final",
                         month.now)
    done = subprocess.run(["bash", "-c", _documented_steps().replace(
        "accountability-2026-11", final.name)], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0 and "kind: accountability-report\n" in done.stdout, done.stdout


def test_a_draft_reads_the_same_on_both_databases(tmp_path: Path, backend_url: str) -> None:
    """The month so far on SQLite and PostgreSQL: made, marked, on the drafts' side only, and
    the month's report (later) removes it."""
    vault = both_vault(tmp_path / "vault", backend_url)
    try:
        month = month_of_activity(vault, tmp_path / "m")
        as_of = _as_of(month, vault)
        out = store.make_draft(vault, month.period.label, "Józef Żółć 🙂", as_of)
        report = json.loads((out / "report.json").read_text())
        assert report["format"] == build.DRAFT_FORMAT and report["requests"]["received"] >= 4
        assert not verify.verify(out).ok and verify.verify(out, draft=True).ok
        assert store.made(vault) == []
        store.make(vault, month.period.label, "Józef Żółć 🙂", month.now)
        assert store.drafts(vault, month.period.label) == [] and not out.exists()
    finally:
        vault.close()
