"""The accountability report (issue 53): a month of varied activity made through the product's
own functions, with a late deletion and a late request planted, gives findings that name
exactly those; counts equal the registers'; the bundle verifies offline and fails naming the
file on any change; a report made again gives the same report.json bytes."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from kustosz.access import records
from kustosz.custody import registers
from kustosz.custody.bundles import public_pem
from kustosz.custody.requests import get_request, overdue_since
from kustosz.db.calls import Call
from kustosz.db.custody import Copy
from kustosz.db.events import MailMessage, MonitoringEvent
from kustosz.db.models import AlertDelivery, Deletion, Recording, Source
from kustosz.errors import InputError
from kustosz.report import build, bundle, period, verify
from kustosz.states import RequestKind
from kustosz.vault import Vault
from tests.conftest import Cli
from tests.report.report_helpers import CALLS, TOLD_TO, Month, month_of_activity, this_month
from tests.web.web_helpers import both_vault


@pytest.fixture
def vault(tmp_path: Path, backend_url: str) -> Iterator[Vault]:
    """Pleszew's rules with periods for calls, mail and IT events: a month of every kind."""
    v = both_vault(tmp_path / "vault", backend_url)
    yield v
    v.close()


@pytest.fixture
def sqlite_vault(tmp_path: Path) -> Iterator[Vault]:
    v = both_vault(tmp_path / "vault")
    yield v
    v.close()


@pytest.fixture
def month(sqlite_vault: Vault, tmp_path: Path) -> Month:
    return month_of_activity(sqlite_vault, tmp_path, every_kind=True)


@pytest.fixture
def both(vault: Vault, tmp_path: Path) -> Month:
    """The month on SQLite and on PostgreSQL (the fixture ``vault`` is both)."""
    return month_of_activity(vault, tmp_path, every_kind=True)


def test_findings_name_exactly_the_planted_departures(vault: Vault, both: Month) -> None:
    month = both
    report = build.build(vault, month.period, month.now)
    found = sorted((f["kind"], f["register"], f["row"]) for f in report["findings"])
    assert found == sorted([*[("late_decision", "custody_requests", r)
                              for r in month.late_decisions],
                            *[("late_deletion", "deletions", d) for d in month.late_deletions]])
    assert len(month.late_deletions) == 1
    late = report["deleted"]["late"][0]
    # a day late, and by how much: 24 h and up to 10 min, an hour less or more when the
    # clocks changed between the two days' ends (the days are local ones)
    assert 23 * 3600 <= late["late_seconds"] <= 25 * 3600 + 600
    assert report["integrity"]["verified"]
    words = {f["kind"]: f["pl"] for f in report["findings"]}
    assert "h po upływie okresu przechowywania" in words["late_deletion"]
    assert "," in words["late_deletion"].split(" h po")[0]  # 24,2 h: the decimal comma
    assert "bez decyzji po terminie" in words["late_decision"]


def test_counts_equal_the_registers(vault: Vault, both: Month) -> None:
    month, p = both, both.period
    report = build.build(vault, p, month.now)
    with vault.reading() as s:
        disclosures = registers.disclosures(s, vault.policy, p.first, p.last)
        copies = registers.copies(s, vault.policy, p.first, p.last)
        accesses = [r for r in records.register(s, vault.policy.timezone, "access")
                    if p.lo <= r.at.replace(tzinfo=UTC) < p.hi]
        refusals = records.register(s, vault.policy.timezone, "refused")
        deleted = s.execute(select(func.count()).select_from(Deletion)).scalar_one()
        late = overdue_since(s, vault.policy, get_request(s, month.late_request),
                             now=p.hi - timedelta(microseconds=1))
    requests = report["requests"]
    assert requests["received"] == len(disclosures.rows)
    with vault.reading() as s:  # the register's rows, by kind (its "wniosek nr N" remark)
        ids = [int(row[-1].split("wniosek nr ")[1].split(";")[0].split(",")[0])
               for row in disclosures.rows]
        kinds = [get_request(s, i).kind for i in ids]
        earlier = get_request(s, month.late_request).received_on < p.first
    assert requests["by_kind"] == {k: kinds.count(k) for k in sorted(set(kinds))}
    assert set(requests["by_kind"]) == set(RequestKind)  # every kind of request planted
    assert requests["by_kind"] == {"authority": 1, "data_subject": 2, "internal": 1,
                                   "interested": 1 if earlier else 2}
    # the police, the refused person, the internal case, the granted data subject
    assert requests["decided_in_time"] == 4 and requests["decided_late"] == 0
    assert requests["data_subjects"] == 2
    assert [r["reason"] for r in requests["refused"]] == ["brak interesu prawnego"]
    # copies through their life: made, handed over, destroyed by the commission; made, sent
    # back at review (destroyed there, never handed over) — the copy register's rows
    made = [row[0] for row in copies.rows]
    assert [x["copy"] for x in report["copies"]["made"]] == made == [month.copy_number,
                                                                      month.returned]
    assert all(p.lo.isoformat() <= x["at"] < p.hi.isoformat()
               for key in ("made", "handed_over", "returned_at_review", "destroyed")
               for x in report["copies"][key])
    fates = {row[0]: row[-1] for row in copies.rows}
    assert [h["copy"] for h in report["copies"]["handed_over"]] == [
        n for n in made if "udostępniono" in fates[n]] == [month.copy_number]
    assert [d["copy"] for d in report["copies"]["destroyed"]] == [
        n for n in made if fates[n].startswith("udostępniono") and "zniszczono" in fates[n]
    ] == [month.copy_number]
    assert [x["copy"] for x in report["copies"]["returned_at_review"]] == [
        n for n in made if "zwrócona po przeglądzie i zniszczona" in fates[n]] == [month.returned]
    assert report["copies"]["due_not_destroyed"] == []
    assert report["access"]["sessions"] == len(accesses) == 4
    assert report["access"]["with_witness"] == 4
    assert report["access"]["refused"] == len(refusals) >= 1
    assert report["deleted"]["count"] == deleted == 2
    assert late is not None  # the register's own rule says the planted request is overdue
    assert report["alerts"]["raised"] == 2
    assert not any(a["too_long"] for a in report["alerts"]["alerts"])
    _who_was_told(vault, report, month)
    hol = next(r for r in report["recorded"]["sources"] if r["source"] == "cam-hol")
    assert hol["items"] == 3 and hol["hours"] == pytest.approx(6 / 3600, abs=1e-3)


def _who_was_told(vault: Vault, report: dict[str, Any], month: Month) -> None:
    """The sweep's alert was told over e-mail once, to the two addresses set; the camera's
    to nobody; the delivery register holds exactly that one message."""
    told = {a["alert"]: a["told"] for a in report["alerts"]["alerts"]}
    assert set(told) == {month.told, month.untold}
    [mail] = told[month.told]
    assert mail["channel"] == mail["channel_kind"] == "email"
    assert mail["recipients"] == ", ".join(TOLD_TO) and mail["event"] == "start"
    assert not mail["from_memory"] and month.period.lo.isoformat() <= mail["at"]
    assert told[month.untold] == []
    assert (report["alerts"]["told"], report["alerts"]["not_told"]) == (1, 1)
    with vault.reading() as s:
        rows = s.execute(select(AlertDelivery.alert_ids, AlertDelivery.outcome)).all()
    assert [(list(r[0]), r[1]) for r in rows] == [([month.told], "sent")]


def _index_of(vault: Vault, month: Month) -> dict[str, tuple[int, float]]:
    """Per source: the index's stored files of the period and their seconds."""
    p = month.period
    with vault.reading() as s:
        rows = s.execute(select(Source.name, Recording.start_at, Recording.end_at).join(
            Source, Source.id == Recording.source_id).where(
            Recording.start_at < p.hi, Recording.end_at > p.lo)).all()
    out: dict[str, tuple[int, float]] = {}
    for name, a, b in rows:
        n, secs = out.get(name, (0, 0.0))
        out[name] = (n + 1, secs + (b - a).total_seconds())
    return out


def test_calls_mail_and_events_are_recorded_and_reviewed(vault: Vault, both: Month) -> None:
    """Issue 53's month has calls, mail and IT events: each source is under "recorded" with
    the index's count, its listening and reviews under access by purpose, and none of them
    adds a finding (test_findings_name_exactly_the_planted_departures holds the rest)."""
    month, p = both, both.period
    report = build.build(vault, p, month.now)
    recorded = {r["source"]: r for r in report["recorded"]["sources"]}
    index = _index_of(vault, month)
    with vault.reading() as s:
        calls = s.execute(select(Call).where(Call.start_at >= p.lo, Call.start_at < p.hi)
                          .order_by(Call.start_at)).scalars().all()
        messages = s.execute(select(func.count()).select_from(MailMessage)).scalar_one()
        events = s.execute(select(func.count()).select_from(MonitoringEvent)).scalar_one()
    assert [c.recording_id for c in calls] == month.calls and len(calls) == len(CALLS)
    line = recorded["centrala"]
    assert (line["kind"], line["items"]) == ("phone", index["centrala"][0]) == ("phone", 3)
    seconds = sum(secs for secs, _ in CALLS)
    assert index["centrala"][1] == pytest.approx(seconds)
    assert line["hours"] == round(seconds / 3600, 3) and not line["gaps"]
    # Mail and events: an item is a stored file (a chunk of lines, a kept message body) of
    # the index; the entries are the messages and events those files held (the index's rows
    # of each message and event), not the files: one chunk of 2 messages, one of 2 events.
    assert (messages, events) == (2, 2)
    for name, kind, entries in (("dziennik", "mailbox", messages),
                                ("siem", "endpoint", events)):
        assert recorded[name]["kind"] == kind
        assert recorded[name]["items"] == index[name][0] >= 1
        assert recorded[name]["entries"] == entries
    assert recorded["siem"]["items"] == 1  # one file, two events: counted 2, not 1
    for name in ("dziennik-2", "siem-2"):  # set up, nothing received: listed with nothing
        assert recorded[name]["items"] == recorded[name]["entries"] == 0 and name not in index
    assert line["entries"] is None and recorded["cam-hol"]["entries"] is None
    by_kind = report["recorded"]["by_kind"]
    assert by_kind["phone"]["items"] == 3 and by_kind["phone"]["sources"] == 1
    assert by_kind["phone"]["entries"] is None
    assert by_kind["mailbox"]["sources"] == by_kind["endpoint"]["sources"] == 2
    assert by_kind["mailbox"]["items"] == index["dziennik"][0]
    assert by_kind["endpoint"]["items"] == index["siem"][0]
    assert (by_kind["mailbox"]["entries"], by_kind["endpoint"]["entries"]) == (2, 2)

    access = report["access"]
    assert access["by_action"] == {"playback": 1, "listening": 1, "mail": 1, "events": 1}
    assert access["by_purpose"] == {"sprawdzenie zdarzenia": 1,
                                    "skarga na obsługę interesanta": 1,
                                    "kontrola wycieku danych": 2}
    assert access["by_person"] == {"ochrona": 1, "iod": 3}
    reviews = [v for v in access["viewings"] if v["action"] != "playback"]
    assert all(v["case_ref"] == "BI.0123.4.2026" and v["witness"] for v in reviews)
    assert not any(f["kind"] == "access_without_purpose" for f in report["findings"])
    assert all(not k["past_period"] for k in report["kept"])


def test_the_bundle_verifies_and_names_an_altered_file(sqlite_vault: Vault, month: Month,
                                                       tmp_path: Path) -> None:
    vault = sqlite_vault
    report = build.build(vault, month.period, month.now)
    out = bundle.write(vault, report, tmp_path / "r", month.now)
    verdict = verify.verify(out, public_key=None)
    assert verdict.ok, verdict.problems
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["audit_head"] == report["integrity"]["covered_head"]
    assert {f["path"] for f in manifest["files"]} >= {"report.json"}

    # openssl alone, as docs/operations/accountability.md says
    sig = json.loads((out / "manifest.sig").read_text())["signature"]
    (tmp_path / "sig.bin").write_bytes(__import__("base64").b64decode(sig))
    done = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey",
                           str(out / "office_public_key.pem"), "-rawin", "-in",
                           str(out / "manifest.json"), "-sigfile", str(tmp_path / "sig.bin")],
                          capture_output=True, text=True)
    assert done.returncode == 0 and "Signature Verified Successfully" in done.stdout

    body = bytearray((out / "report.json").read_bytes())
    body[10] ^= 1
    (out / "report.json").write_bytes(bytes(body))
    verdict = verify.verify(out)
    assert not verdict.ok and verdict.problems == [
        "report.json: changed (SHA-256 differs from the manifest)"]


def test_a_bundle_of_another_vaults_key_is_refused(sqlite_vault: Vault, month: Month,
                                                   tmp_path: Path) -> None:
    vault = sqlite_vault
    out = bundle.write(vault, build.build(vault, month.period, month.now), tmp_path / "r.zip",
                       month.now)
    own = Ed25519PrivateKey.generate().public_key()  # another office's key
    assert verify.verify(out).ok
    verdict = verify.verify(out, own)
    assert not verdict.ok and "made with another key" in verdict.problems[0]
    from kustosz.keys import office_key
    assert verify.verify(out, office_key(vault.root).public_key()).ok
    assert public_pem(own)  # the key exported as PEM is what --key reads


def test_regenerating_gives_the_same_bytes(sqlite_vault: Vault, month: Month,
                                           tmp_path: Path) -> None:
    vault = sqlite_vault
    first = build.to_bytes(build.build(vault, month.period, month.now))
    later = build.to_bytes(build.build(vault, month.period, month.now + timedelta(days=40)))
    assert first == later
    a = bundle.write(vault, build.build(vault, month.period, month.now), tmp_path / "a",
                     month.now)
    assert (a / "report.json").read_bytes() == first


def test_bad_periods_are_refused_in_polish_and_english(sqlite_vault: Vault) -> None:
    vault = sqlite_vault
    tz = vault.policy.timezone
    now = datetime.now(UTC)
    with pytest.raises(InputError) as exc:
        build.build(vault, this_month(vault), now)
    assert "has not ended" in str(exc.value) and "nie skończył" in (exc.value.pl or "")
    future = now.astimezone(tz) + timedelta(days=400)
    with pytest.raises(InputError) as exc:
        build.build(vault, period.parse(None, None, f"{future:%Y}", tz), now)
    assert "nie skończył" in (exc.value.pl or "")
    with pytest.raises(InputError) as exc:
        build.build(vault, period.parse("2020-01", None, None, tz), now)
    assert "before this vault existed" in str(exc.value) and "zanim powstał" in (
        exc.value.pl or "")
    for bad in ("2026-13", "26-11", "listopad"):
        with pytest.raises(InputError, match="is not YYYY-MM"):
            period.parse(bad, None, None, tz)
    with pytest.raises(InputError, match="exactly one"):
        period.parse("2026-11", "2026-Q4", None, tz)
    q = period.parse(None, "2026-Q4", None, tz)
    assert (q.first.isoformat(), q.last.isoformat()) == ("2026-10-01", "2026-12-31")
    assert q.lo == datetime(2026, 9, 30, 22, tzinfo=UTC)  # summer time ends in October
    assert q.hi == datetime(2026, 12, 31, 23, tzinfo=UTC)


def test_a_period_spanning_a_policy_change_names_both_rules(cli: Cli) -> None:
    cli("init", "--preset", "pleszew")
    config = cli.data / "kustosz.toml"
    config.write_text(config.read_text() + '\n[policy.retention]\ncamera = "7 days"\n')
    vault = Vault.open(cli.data)
    try:
        p = this_month(vault)
        report = build.build(vault, p, p.hi + timedelta(seconds=1))
    finally:
        vault.close()
    [change] = report["policy_changes"]
    assert change["before"]["retention"]["camera"] == "30 days"
    assert change["after"]["retention"]["camera"] == "7 days"


def test_a_vault_whose_chain_fails_still_gets_its_report_saying_so_first(
        sqlite_vault: Vault, month: Month) -> None:
    vault = sqlite_vault
    with vault.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE audit_log SET actor = 'ktoś inny' WHERE seq = 2")
    report = build.build(vault, month.period, month.now)
    assert not report["integrity"]["verified"] and report["integrity"]["problems"]
    assert report["findings"][0]["kind"] == "audit_chain_fails"


def test_the_cli_makes_and_verifies_a_report(cli: Cli, tmp_path: Path) -> None:
    cli("init", "--preset", "pleszew")
    result = cli("report", "accountability", "--month", "2020-01", ok=False)
    assert result.exit_code == 2 and "zanim powstał" in result.output
    result = cli("report", "accountability", "--month", "2026-13", ok=False)
    assert result.exit_code == 2 and "RRRR-MM" in result.output
    ahead = datetime.now(UTC) + timedelta(days=40)  # a month in the future
    result = cli("report", "accountability", "--month", f"{ahead:%Y-%m}", ok=False)
    assert result.exit_code == 2 and "nie skończył" in result.output
    # a bundle made here, verified by the command line
    vault = Vault.open(cli.data)
    try:
        p = this_month(vault)
        out = bundle.write(vault, build.build(vault, p, p.hi + timedelta(seconds=1)),
                           tmp_path / "b", datetime.now(UTC))
    finally:
        vault.close()
    assert "verified" in cli("report", "verify", str(out)).output
    (out / "report.json").write_bytes((out / "report.json").read_bytes() + b" ")
    bad = cli("report", "verify", str(out), ok=False)
    assert bad.exit_code == 1 and "report.json: changed" in bad.output


def test_a_copy_sent_back_at_review_is_not_due_for_destruction(sqlite_vault: Vault,
                                                               month: Month) -> None:
    """A copy sent back at review is destroyed there (custody.subject_review.send_back: no
    commission's protocol); when its lifetime would have ended within a period it is neither
    "due, not destroyed" nor a finding, in that report or any later one."""
    vault, p = sqlite_vault, month.period
    with vault.transaction() as s:
        copy = s.execute(select(Copy).where(Copy.number == month.returned)).scalar_one()
        assert (copy.state, copy.review_state) == ("destroyed", "sent_back")
        copy.expires_at = p.hi - timedelta(hours=1)  # a lifetime ending within the period
    report = build.build(vault, p, month.now)
    assert report["copies"]["due_not_destroyed"] == []
    assert not any(f["kind"] == "copy_not_destroyed" for f in report["findings"])


def test_the_bundle_fails_on_a_change_to_any_of_its_files(sqlite_vault: Vault, month: Month,
                                                          tmp_path: Path) -> None:
    """One byte changed in any file of the bundle (the report in both forms, the manifest, its
    signature, the office's key), a file removed or one added: verification fails, naming the
    file; the untouched bundle verifies."""
    import shutil

    vault = sqlite_vault
    out = bundle.write(vault, build.build(vault, month.period, month.now), tmp_path / "r",
                       month.now)
    assert verify.verify(out).ok
    names = sorted(f.name for f in out.iterdir())
    assert names == ["manifest.json", "manifest.sig", "office_public_key.pem", "report.json",
                     "sprawozdanie.pdf"]
    for i, name in enumerate(names):
        copy = shutil.copytree(out, tmp_path / f"changed-{i}")
        body = bytearray((copy / name).read_bytes())
        body[len(body) // 2] ^= 1
        (copy / name).write_bytes(bytes(body))
        verdict = verify.verify(copy)
        assert not verdict.ok, name
        assert any(p.startswith(f"{name}:") for p in verdict.problems), (name, verdict.problems)
    gone = shutil.copytree(out, tmp_path / "removed")
    (gone / "sprawozdanie.pdf").unlink()
    verdict = verify.verify(gone)
    assert not verdict.ok and "sprawozdanie.pdf: removed" in verdict.problems
    more = shutil.copytree(out, tmp_path / "added")
    (more / "notatka.txt").write_text("dopisane")
    verdict = verify.verify(more)
    assert not verdict.ok and any(p.startswith("notatka.txt: added") for p in verdict.problems)


def test_messages_and_events_are_counted_after_their_files_are_deleted(
        vault: Vault, both: Month) -> None:
    """The sweep deletes the month's mail and event chunks: their messages and events leave
    the index (mail_messages, monitoring_events go with the file), and the report of the same
    month still counts them, from the deletion records (deletions.entries, migration 0042)."""
    from kustosz.retention.sweep import run_sweep

    month, p = both, both.period
    before = build.build(vault, p, month.now)["recorded"]
    with vault.transaction() as s:
        chunks = s.execute(select(Recording).join(Source, Source.id == Recording.source_id)
                           .where(Source.name.in_(["dziennik", "siem"]))).scalars().all()
        assert sorted(r.meta.get("lines", 0) for r in chunks if r.meta.get("format") ==
                      "jsonl") == [2, 2]
        ids = [r.id for r in chunks]
        ends = [r.expires_at for r in chunks if r.expires_at is not None]
    assert len(ends) == len(ids)
    run_sweep(vault, now=max(ends) + timedelta(minutes=10))  # 30 days on: their period over
    with vault.reading() as s:
        assert s.execute(select(func.count()).select_from(Recording).where(
            Recording.id.in_(ids))).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(MailMessage)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(MonitoringEvent)).scalar_one() == 0
        entries = sorted(n for n in s.execute(select(Deletion.entries).where(
            Deletion.recording_id.in_(ids))).scalars() if n is not None)
    assert entries == [2, 2]
    after = build.build(vault, p, month.now)["recorded"]
    assert after == before
    by_kind = after["by_kind"]
    assert (by_kind["mailbox"]["entries"], by_kind["endpoint"]["entries"]) == (2, 2)


def test_a_vault_whose_chain_fails_gets_its_bundle_made_and_signed_saying_so_first(
        sqlite_vault: Vault, month: Month) -> None:
    """Bad input "a vault whose audit chain fails verification": the report is still made —
    on the shelf, as serve's monthly job and the page make it — signed and verifying, the
    manifest says the chain failed, and the PDF's first finding says so before any section."""
    import re

    from kustosz.report import store
    from kustosz.report.pdf import PDF_FILE

    vault = sqlite_vault
    with vault.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE audit_log SET actor = 'ktoś inny' WHERE seq = 2")
    out = store.make(vault, month.period.label, "test", month.now)
    assert verify.verify(out).ok
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["audit_verified"] is False
    [made] = store.made(vault)
    assert made.verified and not made.audit_verified
    report = json.loads((out / "report.json").read_text())
    assert report["findings"][0]["kind"] == "audit_chain_fails"
    text = re.sub(r"\s+", " ", subprocess.run(
        ["pdftotext", "-layout", str(out / PDF_FILE), "-"], capture_output=True, text=True,
        check=True).stdout)
    first = text.index("Dziennik zdarzeń NIE przeszedł weryfikacji — dane sprawozdania")
    assert first < text.index("Integralność dziennika zdarzeń") < text.index("Nagrywanie")
    assert "1 Dziennik zdarzeń NIE przeszedł" in text  # Lp. 1 of the findings
    # what the verifier found, in Polish as the alert says it (kustosz.audit.polish)
    assert "wpis nr 2: jego treść została zmieniona" in text
    assert "its content was changed" not in text


def test_the_cli_refuses_a_bundle_signed_by_another_vaults_key(tmp_path: Path) -> None:
    """Bad input "a bundle signed by another vault's key": checked against this vault's key
    (--data) or the key this office published (--key), it is refused, naming the key; the
    office's own key verifies it. The bundle alone (no key given) only proves it is whole."""
    from tests.conftest import Cli

    ours, theirs = Cli(tmp_path / "ours"), Cli(tmp_path / "theirs")
    ours("init", "--preset", "pleszew")
    theirs("init", "--preset", "boleslawiec")
    vault = Vault.open(theirs.data)
    try:
        p = this_month(vault)
        out = bundle.write(vault, build.build(vault, p, p.hi + timedelta(seconds=1)),
                           tmp_path / "theirs.zip", datetime.now(UTC))
    finally:
        vault.close()
    refused = ours("report", "verify", str(out), ok=False)
    assert refused.exit_code == 1 and "another key" in refused.output
    assert "does NOT verify" in refused.output
    pem = tmp_path / "ours.pem"
    ours("bundle", "key", "--out", str(pem))
    refused = ours("report", "verify", "--key", str(pem), str(out), ok=False)
    assert refused.exit_code == 1 and "another key" in refused.output
    theirs("bundle", "key", "--out", str(tmp_path / "theirs.pem"))
    assert "verified" in ours("report", "verify", "--key", str(tmp_path / "theirs.pem"),
                              str(out)).output
    assert "verified" in theirs("report", "verify", str(out)).output


def _documented_steps() -> str:
    """The shell block of docs/operations/accountability.md's "With standard tools only"."""
    doc = (Path(__file__).parents[2] / "docs" / "operations" / "accountability.md").read_text()
    part = doc.split("With standard tools only", 1)[1]
    return part.split("```", 2)[1].strip("\n")


def test_the_documented_openssl_steps_verify_and_catch_a_change(
        sqlite_vault: Vault, month: Month, tmp_path: Path) -> None:
    """The steps the documentation gives, run as written (bash, openssl, python3, sha256sum)
    beside the office's published key: the signature verifies and every file is OK; they
    leave nothing in the bundle (kustosz report verify still passes); a byte changed in the
    PDF fails its line, naming it."""
    from kustosz.keys import office_key

    vault = sqlite_vault
    label = month.period.label
    out = bundle.write(vault, build.build(vault, month.period, month.now),
                       tmp_path / f"accountability-{label}", month.now)
    (tmp_path / "office.pem").write_bytes(public_pem(office_key(vault.root).public_key()))
    steps = _documented_steps().replace("accountability-2026-11", out.name)

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", "-c", steps], cwd=tmp_path, capture_output=True,
                              text=True)

    done = run()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Signature Verified Successfully" in done.stdout
    for name in ("office_public_key.pem", "report.json", "sprawozdanie.pdf"):
        assert f"{name}: OK" in done.stdout, done.stdout
    assert verify.verify(out).ok, verify.verify(out).problems  # nothing left inside

    body = bytearray((out / "sprawozdanie.pdf").read_bytes())
    body[len(body) // 2] ^= 1
    (out / "sprawozdanie.pdf").write_bytes(bytes(body))
    done = run()
    assert done.returncode != 0 and "sprawozdanie.pdf: FAILED" in done.stdout, done.stdout
