"""The witness of the audit log (issue 11 item 7; DESIGN invariants 3 and 6): its
configuration, bad witness files, an unreachable witness that must never block custody,
the syslog copy, the periodic checkpoint of `serve`, the checkpoint carried by bundles and
printed registers, and migration 0010 (access records chained, backfilled, up and down)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select, text

from kustosz.audit.witness import ALERT_KIND, checkpoint, public_key_of, run_checkpoints
from kustosz.audit.witness import signature_ok as line_signature_ok
from kustosz.db.models import Alert, AuditEntry
from kustosz.errors import ConfigError
from kustosz.vault import Vault
from tests.audit_helpers import History, make_history, verify, with_witness, witness_lines
from tests.conftest import Cli, make_vault, snapshot
from tests.office_day import office_today


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    folder = tmp_path / "share"
    folder.mkdir()
    return folder


@pytest.fixture
def history(sqlite_vault: Vault, elsewhere: Path) -> Iterator[History]:
    v = with_witness(sqlite_vault, elsewhere / "witness.jsonl")
    yield make_history(v, elsewhere / "witness.jsonl")
    v.close()


def cli_for(vault: Vault) -> Cli:
    return Cli(vault.root)


def open_alerts(vault: Vault) -> list[Alert]:
    with vault.reading() as s:
        return list(s.execute(select(Alert).where(Alert.kind == ALERT_KIND,
                                                  Alert.cleared_at.is_(None))).scalars())


# -- configuration -------------------------------------------------------------------------
def test_witness_inside_the_data_folder_is_refused(sqlite_vault: Vault) -> None:
    """Inside the folder the witness would be cut together with the log."""
    root = sqlite_vault.root
    before = (root / "kustosz.toml").read_text()
    for inside in ("witness.jsonl", f"{root}/sub/w.jsonl", "./media/../w.jsonl"):
        (root / "kustosz.toml").write_text(before.replace(
            "[audit]\n", f'[audit]\nwitness = "{inside}"\n'))
        with pytest.raises(ConfigError, match="inside the data folder"):
            Vault.open(root)
        result = cli_for(sqlite_vault)("audit", "verify", ok=False)
        assert result.exit_code == 2 and "inside the data folder" in result.output
    (root / "kustosz.toml").write_text(before.replace(
        "[audit]\n", '[audit]\nwitness = "../outside/w.jsonl"\n'))
    again = Vault.open(root)  # a relative path that leads out of the folder is fine
    assert again.config.audit.witness == (root.parent / "outside" / "w.jsonl").resolve()
    again.close()


@pytest.mark.parametrize("setting, message", [
    ("checkpoint_minutes = 0", "checkpoint_minutes"),
    ('checkpoint_minutes = "often"', "checkpoint_minutes"),
    ('syslog = "nohost"', "`audit.syslog`: must be host:port"),
    ('syslog = "host:99999"', "`audit.syslog`: must be host:port"),
    ("witness = 5", "`audit.witness`: must be text"),
    ('colour = "red"', "`audit.colour`: unknown key"),
])
def test_bad_audit_settings_are_refused(sqlite_vault: Vault, setting: str,
                                        message: str) -> None:
    config = sqlite_vault.root / "kustosz.toml"
    body = config.read_text().replace("checkpoint_minutes = 15\n", "")
    config.write_text(body.replace("[audit]\n", f"[audit]\n{setting}\n"))
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Vault.open(sqlite_vault.root)


# -- bad witness files: clear error, verify fails, nothing changed ------------------------
@pytest.mark.parametrize("case", ["missing", "a folder", "binary", "not ours", "empty"])
def test_bad_witness_file_fails_clearly_and_changes_nothing(history: History, case: str,
                                                            elsewhere: Path) -> None:
    bad = elsewhere / "bad.jsonl"
    if case == "a folder":
        bad.mkdir()
    elif case == "binary":
        bad.write_bytes(b"\xff\xfe\x00garbage")
    elif case == "not ours":
        bad.write_text("2026-11-22 kopia zapasowa OK\n")
    elif case == "empty":
        bad.write_text("")
    before = snapshot(history.vault)
    witness_before = history.witness.read_bytes()
    result = cli_for(history.vault)("audit", "verify", "--witness", str(bad), ok=False)
    assert result.exit_code == 2
    assert f"witness {bad}" in result.output
    assert "Traceback" not in result.output
    assert snapshot(history.vault) == before
    assert history.witness.read_bytes() == witness_before


def test_witness_of_another_vault_fails(history: History, tmp_path: Path) -> None:
    other_witness = tmp_path / "other-share" / "w.jsonl"
    other_witness.parent.mkdir()
    other = with_witness(make_vault(tmp_path / "other"), other_witness)
    make_history(other, other_witness)
    other.close()
    result = cli_for(history.vault)("audit", "verify", "--witness", str(other_witness), ok=False)
    assert result.exit_code == 1
    assert "witness line 1:" in result.output and "not the office's" in result.output


def test_verify_reports_the_witness_it_used(history: History) -> None:
    result = cli_for(history.vault)("audit", "verify")
    assert "3 signed checkpoints agree with the log" in result.stdout
    assert "4 access records verified" in result.stdout


def test_verify_without_a_witness_says_what_it_cannot_see(sqlite_vault: Vault) -> None:
    result = cli_for(sqlite_vault)("audit", "verify")
    assert "no witness: a log cut together with audit.head" in result.output


# -- the witness unreachable: custody goes on, an alert is raised, the next one catches up -
def test_unreachable_witness_never_blocks_custody(sqlite_vault: Vault, tmp_path: Path) -> None:
    share = tmp_path / "unmounted-share"
    v = with_witness(sqlite_vault, share / "witness.jsonl")
    history = make_history(v, share / "witness.jsonl")  # a viewing, two custody actions
    with v.reading() as s:
        done = s.execute(select(AuditEntry.action).where(
            AuditEntry.action.in_(["hold.place", "hold.release"]))).scalars().all()
    assert sorted(done) == ["hold.place", "hold.release"]  # both actions were committed
    alerts = open_alerts(v)
    assert len(alerts) == 1 and "pliku-świadku poza katalogiem danych" in alerts[0].message
    share.mkdir()  # the share is back
    outcome = checkpoint(v)
    assert outcome.problem is None
    assert [line["n"] for line in witness_lines(history.witness)] == [1, 2, 3, 4]
    assert open_alerts(v) == []
    assert verify(v, history.witness).ok
    v.close()


def test_hung_witness_does_not_hang_custody(sqlite_vault: Vault, elsewhere: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A share that stops answering (here: another process holds the witness's lock) delays a
    custody action by at most WAIT_S; the checkpoint finishes once the witness answers."""
    import fcntl
    import time

    from kustosz.audit import witness as witness_mod
    from kustosz.custody.holds import place_hold
    from kustosz.db.models import Source
    from kustosz.index.sources import add_source

    monkeypatch.setattr(witness_mod, "WAIT_S", 0.5)
    path = elsewhere / "witness.jsonl"
    v = with_witness(sqlite_vault, path)
    with v.transaction() as s:
        add_source(s, v.policy, "cam-hol", "camera", "test")
    with path.open("a") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        started = time.monotonic()
        with v.transaction() as s:
            now = datetime.now(UTC)
            place_hold(s, sources=list(s.execute(select(Source)).scalars()),
                       start=now - timedelta(hours=1), end=now, basis="sprawa", actor="test")
        assert time.monotonic() - started < 5
        assert "did not answer" in open_alerts(v)[0].message
        assert path.read_text() == ""
    deadline = time.monotonic() + 20  # the lock is released: the checkpoint completes
    while (not path.read_text() or open_alerts(v)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [line["n"] for line in witness_lines(path)] == [1]
    assert open_alerts(v) == []
    v.close()


def test_foreign_file_at_the_witness_path_is_left_untouched(sqlite_vault: Vault,
                                                            elsewhere: Path) -> None:
    path = elsewhere / "witness.jsonl"
    path.write_text("someone else's log\n")
    v = with_witness(sqlite_vault, path)
    make_history(v, path)
    assert path.read_text() == "someone else's log\n"
    assert "is not a Kustosz audit witness" in open_alerts(v)[0].message
    v.close()


def test_a_new_witness_receives_the_whole_history(history: History, elsewhere: Path) -> None:
    """An office that moves its witness (a new disk) gets every earlier checkpoint in it."""
    v = history.vault
    v.close()
    new = elsewhere / "new-disk.jsonl"
    config = v.root / "kustosz.toml"
    config.write_text(config.read_text().replace(str(history.witness), str(new)))
    again = Vault.open(v.root)
    assert checkpoint(again).problem is None
    assert [line["n"] for line in witness_lines(new)] == [1, 2, 3, 4]
    assert verify(again, new).ok
    again.close()


def test_cli_checkpoint_writes_now(history: History) -> None:
    result = cli_for(history.vault)("audit", "checkpoint")
    assert "checkpoint no. 4 made; 1 line(s) written" in result.stdout
    assert len(witness_lines(history.witness)) == 4


# -- syslog: a real UDP receiver -----------------------------------------------------------
def test_checkpoints_reach_the_syslog_server(sqlite_vault: Vault, elsewhere: Path) -> None:
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(5)
    port = receiver.getsockname()[1]
    v = with_witness(sqlite_vault, elsewhere / "w.jsonl", f'syslog = "127.0.0.1:{port}"\n')
    make_history(v, elsewhere / "w.jsonl")
    got = [receiver.recv(65535).decode() for _ in range(3)]  # viewing opened, two custody
    receiver.close()
    key = public_key_of(v.root)
    assert key is not None
    for message, line in zip(got, witness_lines(elsewhere / "w.jsonl"), strict=True):
        assert message.startswith("<110>1 ")  # RFC 5424, facility log audit, info
        assert " kustosz - audit-checkpoint - " in message
        sent = json.loads(message.split(" - audit-checkpoint - ", 1)[1])
        assert sent == line and line_signature_ok(sent, key)
    v.close()


# -- serve's periodic checkpoint -----------------------------------------------------------
def test_periodic_checkpoint_seals_new_access_records(history: History) -> None:
    from kustosz.access.records import served
    from kustosz.db.access import ViewingSession

    v = history.vault
    v.config.audit = type(v.config.audit)(history.witness, 0.002, None)  # 0.12 s
    with v.transaction() as s:
        served(s, s.get(ViewingSession, history.viewing_id), "segment 5", "127.0.0.1", 10)
    stop = threading.Event()
    thread = threading.Thread(target=run_checkpoints, args=(v, stop))
    thread.start()
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=20)
        while len(witness_lines(history.witness)) < 3 and datetime.now(UTC) < deadline:
            stop.wait(0.05)
    finally:
        stop.set()
        thread.join(timeout=20)
    lines = witness_lines(history.witness)
    assert lines[3]["access_seq"] == 5
    assert len(lines) == 4  # an idle vault does not grow its log with empty checkpoints
    assert verify(v, history.witness).ok


def test_serve_checkpoints_at_start_and_at_stop(history: History) -> None:
    """The real `kustosz serve` loop (no web app): a checkpoint at start seals what came
    before, and one at stop seals what happened while it ran."""
    import time

    from kustosz.access.records import served
    from kustosz.cli.serve import run_serve
    from kustosz.db.access import ViewingSession

    v = history.vault
    stop, ready = threading.Event(), threading.Event()
    t = threading.Thread(target=run_serve, args=(v, stop),
                         kwargs={"web": None, "on_ready": lambda _pool: ready.set()})
    t.start()
    try:
        assert ready.wait(30), "serve did not get ready"
        deadline = time.monotonic() + 20
        while len(witness_lines(history.witness)) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(witness_lines(history.witness)) == 4  # at start
        with v.transaction() as s:
            served(s, s.get(ViewingSession, history.viewing_id), "segment 9", "127.0.0.1", 1)
    finally:
        stop.set()
        t.join(60)
    assert not t.is_alive()
    lines = witness_lines(history.witness)
    assert len(lines) == 5 and lines[4]["access_seq"] == 5  # at stop
    assert verify(v, history.witness).ok


# -- bundles and printed registers carry the latest checkpoint -----------------------------
def test_evidence_bundle_carries_the_latest_checkpoint(tmp_path: Path) -> None:
    from kustosz.custody.copies import get_copy
    from tests.web.web_helpers import both_vault, make_material

    vault = both_vault(tmp_path / "vault")
    material = make_material(vault, tmp_path / "m")
    with vault.reading() as s:
        copy = get_copy(s, material.copy_number)
    manifest = json.loads((vault.root / copy.bundle / "manifest.json").read_text())
    line = manifest["audit_checkpoint"]
    key = public_key_of(vault.root)
    assert key is not None and line_signature_ok(line, key)
    with vault.reading() as s:
        sealed = s.get(AuditEntry, line["seq"])
        made = s.execute(select(AuditEntry).where(AuditEntry.action == "copy.make")).scalar_one()
    assert sealed.hash == line["hash"] and sealed.seq < made.seq
    vault.close()


def test_printed_register_carries_the_latest_checkpoint(history: History) -> None:
    from kustosz.custody import registers
    from kustosz.documents import render

    v = history.vault
    today = office_today()
    with v.reading() as s:
        reg = registers.build(s, v.policy, "actions", date(2026, 1, 1), today)
    data = registers.pdf_data(reg, v.policy, date(2026, 1, 1), today)
    last = witness_lines(history.witness)[-1]
    assert f"punkt kontrolny nr {last['n']}" in data["checkpoint"]
    assert str(last["sig"]) in data["checkpoint"]
    pdf = render("register", data, data_root=v.root)
    printed = "".join(p.extract_text() for p in PdfReader(BytesIO(pdf)).pages)
    assert f"punkt kontrolny nr {last['n']}" in printed
    assert str(last["hash"])[:16] in printed.replace("\n", "")


# -- migration 0010 ------------------------------------------------------------------------
def test_0010_chains_existing_access_records_and_goes_down(vault: Vault,
                                                          elsewhere: Path) -> None:
    """Up: rows written before 0010 are chained in the order they were written and verify;
    down: the columns go away again (SQLite and PostgreSQL)."""
    import sqlalchemy as sa
    from alembic import command

    from kustosz.db.migrate import alembic_config, upgrade

    v = with_witness(vault, elsewhere / "w.jsonl")
    history = make_history(v, elsewhere / "w.jsonl")
    cfg = alembic_config(v.engine)
    query = text("SELECT id, seq, prev_hash, hash FROM access_log ORDER BY id")
    with v.engine.connect() as conn:
        before = [tuple(r) for r in conn.execute(query).all()]
    command.downgrade(cfg, "0009")
    with v.engine.connect() as conn:
        cols = {c["name"] for c in sa.inspect(conn).get_columns("access_log")}
        assert not cols & {"seq", "prev_hash", "hash"}
        assert conn.execute(text("SELECT count(*) FROM access_log")).scalar() == 4
    upgrade(v.engine)
    with v.engine.connect() as conn:
        after = [tuple(r) for r in conn.execute(query).all()]
    assert after == before and len(after) == 4
    assert verify(v, history.witness).ok
    v.close()


# -- the dashboard's check (web) uses the same witness -------------------------------------
def test_dashboard_verify_holds_the_log_to_the_witness(history: History) -> None:
    """`kustosz.audit.verify()` as the web dashboard calls it (session and audit.head only)
    reads `[audit] witness` itself, so a recomputed chain fails there too."""
    from kustosz.audit import verify as dashboard_verify
    from tests.audit_helpers import rechain

    v = history.vault
    with v.reading() as s:
        assert dashboard_verify(s, v.head_file)[1] is None
    rechain(v, edit={3: "user nobody"})
    with v.reading() as s:
        problem = dashboard_verify(s, v.head_file)[1]
    assert problem is not None and "differs from witnessed checkpoint 1" in str(problem)
    history.witness.unlink()
    with v.reading() as s:
        problem = dashboard_verify(s, v.head_file)[1]
    assert problem is not None and str(problem) == f"witness: witness {history.witness} " \
                                                   "does not exist"


# -- the access chain under concurrent media requests --------------------------------------
def test_concurrent_media_requests_keep_one_access_chain(vault: Vault, tmp_path: Path) -> None:
    """Segments are served by many requests at once; the chain gets one writer at a time
    (SQLite's write lock, PostgreSQL's advisory lock) and stays whole."""
    from kustosz.access.records import served
    from kustosz.db.access import ViewingSession

    (tmp_path / "share").mkdir()
    v = with_witness(vault, tmp_path / "share" / "w.jsonl")
    h = make_history(v, tmp_path / "share" / "w.jsonl")
    errors: list[BaseException] = []

    def serve_many(worker: int) -> None:
        try:
            for i in range(10):
                with v.transaction() as s:
                    served(s, s.get(ViewingSession, h.viewing_id), f"segment {worker}-{i}",
                           "127.0.0.1", 100)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=serve_many, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert checkpoint(v).problem is None
    report = verify(v, h.witness)
    assert report.ok, report.problems
    assert report.access_records == 44
    v.close()


def test_opening_a_viewing_is_checkpointed_at_once(history: History) -> None:
    """Re-test of issue 11: a viewing's opening was sealed only by the next custody action or
    periodic checkpoint, so someone with the database could erase that it ever happened."""
    from kustosz.access.records import open_viewing
    from kustosz.db.custody import User
    from kustosz.db.models import Source

    v = history.vault
    before = len(witness_lines(history.witness))
    with v.transaction() as s:
        who = s.execute(select(User).where(User.name == "ogladajacy")).scalar_one()
        source = s.execute(select(Source).where(Source.name == "cam-hol")).scalar_one()
        assert open_viewing(s, user=who, action="playback", client="127.0.0.1",
                            purpose="kontrola", case_ref="OR.2", witness="burmistrz",
                            source=source) is not None
    lines = witness_lines(history.witness)
    assert len(lines) == before + 1
    with v.reading() as s:
        opened = s.execute(select(AuditEntry.seq).where(AuditEntry.action == "access.open")
                           .order_by(AuditEntry.seq.desc())).scalars().first()
    assert lines[-1]["seq"] > opened  # the new opening is inside what the line seals
    assert verify(v, history.witness).ok


def test_a_witness_removed_from_the_config_does_not_quietly_end_the_check(history: History
                                                                         ) -> None:
    """Re-test of issue 11: deleting `witness = …` from kustosz.toml turned the dashboard's
    check and `audit verify` into chain-only checks that a cut log passes."""
    v = history.vault
    config = v.root / "kustosz.toml"
    config.write_text("\n".join(line for line in config.read_text().splitlines()
                                if not line.startswith("witness")) + "\n")
    result = cli_for(v)("audit", "verify", ok=False)
    assert result.exit_code == 1 and "were written to the witness" in result.output
    result = cli_for(v)("audit", "verify", "--witness", str(history.witness))
    assert result.exit_code == 0
    with v.reading() as s:
        changes = s.execute(select(AuditEntry.details).where(
            AuditEntry.action == "audit.witness")).scalars().all()
    assert len(changes) == 1 and str(history.witness) in changes[0]
