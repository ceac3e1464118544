"""A relative data folder (`--data demo-data`, as the README writes it and `make demo` uses it)
works for every verb and in the web app (issue 12 item 1). The vault makes its folder absolute
once, when it is opened; before that, a copy of camera material failed with ffmpeg's
"Impossible to open '…/media/…'" because the concat list named the segments relative to
/tmp. Real ffmpeg, real SQLite, the real `kustosz` command in-process (R4.1, R2.5)."""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time as clock
import urllib.request
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from kustosz.custody.decisions import decide
from kustosz.custody.requests import RequestSpec, register_request
from kustosz.db.custody import Copy
from kustosz.db.models import AuditEntry
from kustosz.vault import Vault
from tests.conftest import Cli
from tests.custody.custody_helpers import people, record, segment_bytes, setup_camera
from tests.office_day import office_today
from tests.web.web_helpers import client, session_for, user

REL = Path("demo-data")


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test's working folder: `demo-data` is relative to it, as under `make demo`."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def _event(cli: Cli) -> datetime:
    vault = Vault.open(cli.data)
    tz = vault.policy.timezone
    vault.close()
    return datetime.combine(datetime.now(UTC).astimezone(tz).date() - timedelta(days=2),
                            time(9, 30), tzinfo=tz)


def test_every_main_verb_with_a_relative_data_folder(here: Path) -> None:
    cli = Cli(REL)
    made = cli("init", "--preset", "pleszew").output
    assert f"Vault created in {here / 'demo-data'}" in made  # the folder, named absolutely
    event = _event(cli)
    cli("sites", "add", "Ratusz", "--address", "Rynek 1")
    cli("zones", "add", "hol parter", "--site", "Ratusz", "--kind", "corridor")
    cli("cameras", "add", "cam-hol", "--site", "Ratusz", "--zone", "hol parter", "--url",
        "rtsp://192.0.2.10/stream", "--purpose", "property", "--notice-date", "2020-01-01",
        "--signage-date", "2020-01-01", "--segment-seconds", "2")
    Path("segs").mkdir()
    for i in range(4):  # real H.264 MPEG-TS segments, taken in by a relative path too
        seg = Path("segs") / f"seg-{i}.ts"
        seg.write_bytes(segment_bytes())
        t = event + timedelta(seconds=2 * i - 4)
        cli("ingest", "file", "cam-hol", str(seg), "--start", t.isoformat(), "--end",
            (t + timedelta(seconds=2)).isoformat())
    rows = json.loads(cli("recordings", "list", "--json").output)
    assert len(rows) == 4
    cli("holds", "place", "--source", "cam-hol", "--from", (event - timedelta(hours=1))
        .isoformat(), "--to", event.isoformat(), "--basis", "pismo KPP")
    holds = json.loads(cli("holds", "list", "--json").output)
    cli("holds", "release", str(holds[0]["id"]), "--reason", "sprawa zamknięta")

    cli("users", "add", "burmistrz", "--display", "Jan Kowalski", "--role", "approver")
    cli("users", "add", "it", "--display", "Piotr Wiśniewski", "--role", "custodian")
    req = json.loads(cli(
        "requests", "add", "--kind", "authority", "--material", "video", "--requester",
        "Komenda Powiatowa Policji w Pleszewie", "--case", "RSD-1/26", "--date",
        event.date().isoformat(), "--time", "09:30", "--margin", "1", "--place",
        "Ratusz/hol parter", "--description", "bójka w holu", "--purpose", "postępowanie",
        "--json").output)
    rid = str(req["id"])
    cli("requests", "decide", rid, "--agree", "--by", "burmistrz", "--paper-ref", "OR.0012.7")
    out = cli("copies", "make", rid, "--by", "it").output  # failed before: ffmpeg error
    assert out.startswith("copy 1/") and str(here / "demo-data" / "copies") in out
    copy = json.loads(cli("copies", "list", "--json").output)[0]
    bundle = Path(copy["bundle"])
    assert bundle.is_absolute() and bundle.is_relative_to(here / "demo-data")
    videos = list((bundle / "media").glob("cam-hol_*.mp4"))
    assert len(videos) == 1 and videos[0].stat().st_size > 1000

    cli("bundle", "key", "--out", "office.pem")
    verified = cli("bundle", "verify", os.path.relpath(bundle), "--key", "office.pem").output
    assert "verified" in verified
    day_lo = (event.date() - timedelta(days=1)).isoformat()
    day_hi = (office_today() + timedelta(days=1)).isoformat()
    cli("registers", "print", "--kind", "copies", "--from", day_lo, "--to", day_hi,
        "--format", "csv", "--out", "kopie.csv")
    printed = list(csv.reader(Path("kopie.csv").read_text("utf-8-sig").splitlines(),
                              delimiter=";"))  # the Excel-ready form (issue 29 item 11)
    assert [r[0] for r in printed[1:]] == [copy["number"]]
    cli("registers", "print", "--kind", "disclosures", "--from", day_lo, "--to", day_hi)
    assert list((here / "demo-data" / "documents").glob("rejestr-disclosures-*.pdf"))

    swept = json.loads(cli("retention", "run", "--now", (datetime.now(UTC) + timedelta(
        days=40)).isoformat(), "--json").output)
    assert swept["deleted_count"] == 0 and swept["kept_by_hold_count"] == 4  # the request's
    assert "audit log intact" in cli("audit", "verify").output
    # Nothing landed beside the data folder, and the audit log names the folder absolutely.
    assert sorted(p.name for p in here.iterdir()) == ["demo-data", "kopie.csv", "office.pem",
                                                      "segs"]
    vault = Vault.open(REL)
    with vault.reading() as s:
        init = s.execute(select(AuditEntry)
                         .where(AuditEntry.action == "vault.init")).scalar_one()
    vault.close()
    assert init.subject == str(here / "demo-data")


def test_web_copy_with_a_relative_data_folder(here: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """`kustosz --data demo-data serve`: the web app's vault is opened from a relative path;
    the working folder then changes under it and the copy is still made."""
    Cli(REL)("init", "--preset", "pleszew")
    vault = Vault.open(REL)
    try:
        assert vault.root == here / "demo-data" and vault.storage.media.is_absolute()
        tz = vault.policy.timezone
        people(vault)
        user(vault, "kustosz", ["custodian"], display="Anna Kustosz")
        setup_camera(vault)
        event = datetime.combine(datetime.now(UTC).astimezone(tz).date() - timedelta(days=1),
                                 time(9, 30), tzinfo=tz)
        record(vault, "cam-hol", event - timedelta(seconds=4), 3, Path("segs"))
        today = datetime.now(UTC).astimezone(tz).date()
        with vault.transaction() as s:
            req_id = register_request(s, vault.policy, RequestSpec(
                kind="authority", material="video", requester="KPP Pleszew",
                received_on=today, event_date=event.date(), purpose="postępowanie",
                description="kradzież", cameras=["cam-hol"], start=event - timedelta(seconds=5),
                end=event + timedelta(seconds=5), margin_minutes=0), "test").id
        with vault.transaction() as s:
            decide(s, vault.policy, req_id, by="burmistrz", agree=True, on=today,
                   actor="burmistrz", keyed_by="burmistrz")
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        monkeypatch.chdir(elsewhere)  # a relative root would now point at nothing
        c = client(vault)
        csrf = session_for(vault, c, "kustosz")
        r = c.post(f"/requests/{req_id}/copy", data={"csrf": csrf})
        assert r.status_code == 303, r.text[:2000]
        with vault.reading() as s:
            copy = s.execute(select(Copy).where(Copy.request_id == req_id)).scalar_one()
        assert copy.made_by == "kustosz"
        videos = list((vault.root / copy.bundle / "media").glob("cam-hol_*.mp4"))
        assert len(videos) == 1 and videos[0].stat().st_size > 1000
        assert list(elsewhere.iterdir()) == []
    finally:
        vault.close()


def test_serve_with_a_relative_data_folder(here: Path) -> None:
    """The real `python -m kustosz --data demo-data serve` in its own process: it names the
    folder absolutely, the web app answers, SIGTERM stops it cleanly, nothing lands beside."""
    Cli(REL)("init", "--preset", "pleszew")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = here.parent / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "kustosz", "--data", str(REL), "serve",
                                 "--port", str(port)], cwd=here, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = clock.monotonic() + 60
        while f"127.0.0.1:{port}" not in log.read_text() and clock.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            clock.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=10) as r:
            assert r.status == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(60)
    said = log.read_text()
    assert code == 0, said
    assert f"kustosz serve: {here / 'demo-data'} " in " ".join(said.split())
    assert sorted(p.name for p in here.iterdir()) == ["demo-data"]


@pytest.mark.parametrize("verb", [
    ("recordings", "list"), ("holds", "list"), ("copies", "make", "1", "--by", "it"),
    ("audit", "verify"), ("retention", "run"), ("bundle", "key"), ("policy", "show"),
    ("ingest", "file", "cam", "x.ts", "--start", "2026-11-01T10:00:00Z"),
    ("secrets", "forget-lost-key", "--yes")])
def test_a_relative_folder_that_does_not_exist(here: Path, verb: tuple[str, ...]) -> None:
    """Bad input (DESIGN invariant 6): one clear line naming the folder and how to make a
    vault, exit 2, and nothing created — only `init` makes the folder."""
    result = Cli(Path("nowhere"))(*verb, ok=False)
    assert result.exit_code == 2
    line = " ".join(result.output.split())
    assert f"{here / 'nowhere'} is not a Kustosz data folder" in line and "init" in line
    assert list(here.iterdir()) == []
    Cli(Path("nowhere"))("init", "--preset", "pleszew")
    assert (here / "nowhere" / "kustosz.toml").is_file()
