"""Issue 29 item 4: the first start with a witness set as the README says raised "audit log
violated" — the daily check runs 1.5 s after `serve` starts, before its first checkpoint has
written the witness file, and said "wykazało naruszenie: witness … does not exist" (English
inside the Polish alert), e-mailed at once and open for a day.

A witness the vault has never written to is not a violation: the check stays quiet, checks
the log without it, and checks it against the witness as soon as the first checkpoint wrote
it. Absence is not trusted once the witness was written (the chained `audit.witness` entry
and a root-pinned identity both say it was): a witness removed, emptied, cut short or changed
afterwards raises the alarm at once, in Polish.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from kustosz.alerts import checks as checks_module
from kustosz.alerts.checks import LAST_VERIFY_KEY, STATE_KEY, Checks
from kustosz.alerts.notifier import Notifier
from kustosz.audit import append, identity
from kustosz.audit.polish import UNWORDED, problem_pl
from kustosz.audit.verifier import not_yet_written, vault_report
from kustosz.audit.verifier import verify as dashboard_verify
from kustosz.audit.witness import ALERT_KIND, WITNESSED, checkpoint, run_checkpoints
from kustosz.db.models import Alert, AuditEntry, Setting
from kustosz.vault import Vault
from tests.alerts_helpers import wait_until
from tests.audit_helpers import sql, with_witness
from tests.conftest import Cli

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
FAILED = "audit_verify_failed"
# Words of the verifier's English that must not reach the Polish alert.
ENGLISH = ("witness", "does not exist", "entry", "checkpoint", "the log", " is ", "empty",
           "missing")


@pytest.fixture
def fresh(sqlite_vault: Vault, tmp_path: Path) -> Iterator[tuple[Vault, Path]]:
    """The README's set-up: a vault made by `init`, then `[audit] witness` set in kustosz.toml
    (a folder of its own outside the data folder) and the service started — nothing has been
    written to the witness yet."""
    folder = tmp_path / "kustosz-witness"
    folder.mkdir()
    path = folder / "kustosz-witness.jsonl"
    v = with_witness(sqlite_vault, path)
    assert not path.exists()
    yield v, path
    v.close()


def rows(vault: Vault, kind: str = FAILED, open_only: bool = False) -> list[Alert]:
    with vault.reading() as s:
        q = select(Alert).where(Alert.kind == kind)
        if open_only:
            q = q.where(Alert.cleared_at.is_(None))
        return list(s.execute(q).scalars())


def last_verify(vault: Vault) -> dict | None:
    with vault.reading() as s:
        row = s.get(Setting, LAST_VERIFY_KEY)
        return json.loads(row.value) if row is not None else None


def state(vault: Vault) -> dict:
    with vault.reading() as s:
        row = s.get(Setting, STATE_KEY)
        return json.loads(row.value) if row is not None else {}


def assert_polish_alarm(vault: Vault, witness: Path, *said: str) -> str:
    """The one open alarm, each problem in Polish (the witness's path and the command named in
    it are what they are)."""
    (row,) = rows(vault, open_only=True)
    message = row.message
    assert message.startswith("Sprawdzenie dziennika zdarzeń (audit verify, zaplanowane) "
                              "wykazało naruszenie: "), message
    for words in said:
        assert words in message, (words, message)
    assert UNWORDED not in message, message  # each problem in its own Polish words
    polish_part = message.replace("(audit verify, ", "(").replace(str(witness), "…") \
        .replace("kustosz audit checkpoint", "…")
    for word in ENGLISH:
        assert word not in polish_part, (word, message)
    return message


def test_the_first_start_with_a_witness_is_quiet(fresh: tuple[Vault, Path],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """`serve`'s two loops, as it starts them: the notifier (whose first pass runs the daily
    verification) and the checkpoint loop. The verification comes first, the witness not yet
    written: no alarm, the log checked without it. Once the checkpoint has written it, the
    next pass verifies against it at once (not a day later) — still no alarm."""
    vault, witness = fresh
    monkeypatch.setattr(checks_module, "EVERY_S", 0.2)
    stop, sealing = threading.Event(), threading.Event()
    notifier = threading.Thread(target=Notifier(vault, poll_s=0.05).run, args=(stop,),
                                daemon=True)
    notifier.start()
    try:
        wait_until(lambda: last_verify(vault) is not None, 30, "the first verification")
        assert not witness.exists()  # it ran before any checkpoint: the race of the issue
        first = last_verify(vault)
        assert first is not None and first["problem"] is None, first
        assert state(vault)["witness_pending"] == str(witness)
        assert rows(vault) == []
        sealer = threading.Thread(target=run_checkpoints, args=(vault, sealing), daemon=True)
        sealer.start()
        wait_until(lambda: state(vault).get("witness_pending") is None, 30,
                   "the verification against the witness once it was written")
        assert witness.read_text().strip()  # written by the first checkpoint
        again = last_verify(vault)
        assert again is not None and again["problem"] is None and again["at"] > first["at"]
    finally:
        stop.set()
        sealing.set()
        notifier.join(20)
    assert rows(vault) == []  # never raised, not even for a moment
    # …and the witness was really checked: one changed line now fails the same check.
    lines = witness.read_text().splitlines()
    lines[0] = lines[0].replace('"n":1', '"n":7')
    witness.write_text("\n".join(lines) + "\n")
    Checks(vault).verify_if_due(datetime.now(UTC) + timedelta(days=2), in_thread=False)
    assert_polish_alarm(vault, witness, "wiersz 1 pliku-świadka")


def test_a_check_before_the_witness_is_written_says_nothing_false(
        fresh: tuple[Vault, Path]) -> None:
    """The check loop alone, step by step: pending at the first check (no alarm; the dashboard
    button agrees), verified against the witness at the next check after the first
    checkpoint, not a day later."""
    vault, witness = fresh
    now = datetime.now(UTC)
    checks = Checks(vault, started=now)
    checks.run(now + timedelta(seconds=1.5), verify_in_thread=False)
    assert rows(vault) == [] and last_verify(vault)["problem"] is None
    with vault.reading() as s:
        assert not_yet_written(s, witness)
        assert dashboard_verify(s, vault.head_file)[1] is None
    # An empty file (created, its first line not yet written) is the same: nothing written.
    witness.write_text("")
    checks.run(now + timedelta(seconds=30), verify_in_thread=False)  # not due: a day apart
    assert last_verify(vault)["at"] == (now + timedelta(seconds=1.5)).isoformat()
    assert rows(vault) == []
    assert checkpoint(vault).problem is None
    checks.run(now + timedelta(minutes=1), verify_in_thread=False)  # written: due at once
    assert last_verify(vault)["at"] == (now + timedelta(minutes=1)).isoformat()
    assert state(vault)["witness_pending"] is None and rows(vault) == []
    with vault.reading() as s:
        assert not not_yet_written(s, witness)
    checks.run(now + timedelta(minutes=2), verify_in_thread=False)  # and then daily again
    assert last_verify(vault)["at"] == (now + timedelta(minutes=1)).isoformat()


def test_the_command_says_the_witness_is_still_to_be_written(fresh: tuple[Vault, Path]) -> None:
    vault, witness = fresh
    out = Cli(vault.root)("audit", "verify")
    assert "audit log intact" in out.output
    assert f"plik-świadek {witness} nie został jeszcze zapisany" in out.output
    assert rows(vault) == []
    assert checkpoint(vault).problem is None
    out = Cli(vault.root)("audit", "verify")
    assert "signed checkpoints agree with the log" in out.output
    assert "nie został jeszcze zapisany" not in out.output
    witness.unlink()
    out = Cli(vault.root)("audit", "verify", ok=False)
    assert out.exit_code == 1 and "does not exist" in out.output
    (row,) = rows(vault, open_only=True)
    assert f"plik-świadek {witness} nie istnieje" in row.message
    assert "uruchomione ręcznie" in row.message


def written(fresh: tuple[Vault, Path]) -> tuple[Vault, Path]:
    """The witness after three checkpoints, the daily check once passed."""
    vault, witness = fresh
    for _ in range(3):
        with vault.transaction() as s:
            append(s, "test", "test.event", "coś się stało")
        assert checkpoint(vault, force=True).problem is None
    assert len(witness.read_text().splitlines()) == 3
    with vault.reading() as s:
        assert vault_report(s, vault.head_file).ok
    return vault, witness


@pytest.mark.parametrize(("cut", "said"), [
    ("removed", "plik-świadek {w} nie istnieje, choć punkty kontrolne już do niego zapisano"),
    ("emptied", "plik-świadek {w} jest pusty, choć punkty kontrolne już do niego zapisano"),
    ("last two lines cut", "punktu kontrolnego nr 2 nie ma w pliku-świadku"),
    ("a line changed", "wiersz 2 pliku-świadka: jego podpis nie jest podpisem urzędu"),
])
def test_a_witness_cut_after_it_was_written_raises_the_alarm(fresh: tuple[Vault, Path],
                                                             cut: str, said: str) -> None:
    """After the first write, absence (or less) is a cut: the next start's first check — a
    fresh check loop, as after a restart — raises it at once, in Polish."""
    vault, witness = written(fresh)
    lines = witness.read_text().splitlines()
    if cut == "removed":
        witness.unlink()
    elif cut == "emptied":
        witness.write_text("")
    elif cut == "last two lines cut":
        witness.write_text(lines[0] + "\n")
    else:
        witness.write_text("\n".join([lines[0], lines[1].replace('"seq":', '"seq":1'),
                                      lines[2]]) + "\n")
    Checks(vault).run(T0 + timedelta(seconds=1.5), verify_in_thread=False)
    message = assert_polish_alarm(vault, witness, said.format(w=witness))
    assert "powiadom inspektora ochrony danych" in message
    with vault.reading() as s:
        assert not not_yet_written(s, witness)
    assert last_verify(vault)["problem"]  # the English, for the dashboard's details


@pytest.mark.parametrize("cut", ["removed", "emptied", "last two lines cut"])
def test_a_checkpoint_does_not_refill_a_cut_witness(fresh: tuple[Vault, Path],
                                                    cut: str) -> None:
    """`serve` checkpoints at its start and every few minutes: filling a cut witness anew with
    the log's history (as it fills a new one) would erase the evidence of the cut before the
    daily check saw it. It is left as it is, and the log is verified at once."""
    vault, witness = written(fresh)
    lines = witness.read_text().splitlines()
    if cut == "removed":
        witness.unlink()
    elif cut == "emptied":
        witness.write_text("")
    else:
        witness.write_text(lines[0] + "\n")
    left = witness.read_bytes() if witness.exists() else None
    with vault.transaction() as s:
        append(s, "test", "test.event", "po przecięciu")
    outcome = checkpoint(vault)
    assert outcome.problem is not None and outcome.written == []
    assert (witness.read_bytes() if witness.exists() else None) == left  # untouched
    message = assert_polish_alarm(vault, witness)  # raised at once, by the checkpoint
    assert "wykazało naruszenie" in message
    assert rows(vault, ALERT_KIND, open_only=True)  # and the checkpoint's own alert
    # A new witness (another path, the change audited) receives the whole history again.
    fresh_path = witness.parent / "kustosz-witness.2.jsonl"
    config = vault.root / "kustosz.toml"
    config.write_text(config.read_text().replace(str(witness), str(fresh_path)))
    moved = Vault.open(vault.root)
    try:
        assert checkpoint(moved).problem is None
        assert len(fresh_path.read_text().splitlines()) == 4
    finally:
        moved.close()


def test_the_absence_is_not_trusted_when_the_setting_is_erased(
        fresh: tuple[Vault, Path]) -> None:
    """Whoever removes the witness and the vault's setting that remembers it still leaves the
    chained `audit.witness` entry: the alarm is raised."""
    vault, witness = written(fresh)
    witness.unlink()
    sql(vault, f"DELETE FROM vault_settings WHERE key = '{WITNESSED}'")
    with vault.reading() as s:
        assert s.execute(select(AuditEntry).where(AuditEntry.action == "audit.witness")).first()
    Checks(vault).run(T0 + timedelta(seconds=1.5), verify_in_thread=False)
    assert_polish_alarm(vault, witness, f"plik-świadek {witness} nie istnieje")


def test_a_pinned_witness_is_never_waited_for(fresh: tuple[Vault, Path], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Root pinned it (which needs its first line): its absence is a cut even when the log's
    record of the first write was erased with it."""
    vault, witness = written(fresh)
    pin = tmp_path / "etc" / "kustosz" / "audit-witness.json"
    monkeypatch.setattr(identity, "DEFAULT_PATH", pin)
    assert "witness pinned" in Cli(vault.root)("audit", "pin-witness").output
    witness.unlink()
    sql(vault, f"DELETE FROM vault_settings WHERE key = '{WITNESSED}'",
        "UPDATE audit_log SET action = 'test.renamed' WHERE action = 'audit.witness'")
    with vault.reading() as s:
        pinned = identity.read(pin)
        assert not not_yet_written(s, witness, pinned)
    Checks(vault).run(T0 + timedelta(seconds=1.5), verify_in_thread=False)
    (row,) = rows(vault, open_only=True)
    assert f"plik-świadek {witness} nie istnieje" in row.message


def test_the_command_still_insists_on_a_witness_named_explicitly(
        fresh: tuple[Vault, Path]) -> None:
    """`--witness PATH` names a file that must be there: missing, it fails as before."""
    vault, witness = fresh
    out = Cli(vault.root)("audit", "verify", "--witness", str(witness), ok=False)
    assert out.exit_code == 2 and "does not exist" in out.output


def test_every_worded_problem_has_its_polish() -> None:
    """The English of the audit modules as `audit verify` reports it, each in Polish words of
    its own (not the general sentence), with what it names kept."""
    w = "/srv/świadek/kustosz-witness.jsonl"
    cases = {
        "entry 5: missing (the log jumps from 4 to 6)": "wpis nr 5: brak wpisu",
        "entry 5: out of order": "wpis nr 5: nie na swoim miejscu",
        "entry 5: does not follow the entry before it (removed or reordered entries)":
            "nie następuje po poprzednim wpisie",
        "entry 5: its content was changed": "wpis nr 5: jego treść została zmieniona",
        "entry 9: missing: the log ends at 8 but 12 entries were written":
            "dziennik kończy się na wpisie 8, a zapisano ich 12",
        "entry 12: differs from the recorded head": "audit.head",
        "entry 1: missing: the log is empty (its first entry, vault.init, seals the vault's "
        "identity)": "dziennik zdarzeń jest pusty",
        "access record 3: missing (the access records jump from 2 to 4)":
            "rekord dostępu nr 3: brak rekordu",
        "access record 3: does not follow the record before it (removed or reordered "
        "records)": "nie następuje po poprzednim rekordzie",
        "viewing session 2: not in the audit log (inserted, or its entry removed)":
            "sesja przeglądania nr 2: nie ma jej w dzienniku",
        "viewing session 2: removed (the audit log records its opening)": "usunięta",
        "viewing session 2: its counters (3 requests, 10 bytes) differ from its access "
        "records (2, 5)": "jej liczniki (3 żądań, 10 bajtów)",
        "access record 4: checkpoint 2 sealed access record 4, which is gone":
            "punkt kontrolny nr 2 zapieczętował rekord dostępu nr 4, którego już nie ma",
        f"witness: witness {w} does not exist": f"plik-świadek {w} nie istnieje",
        f"witness: witness {w} is empty: it holds no checkpoint": f"plik-świadek {w} jest pusty",
        "witness line 2: its signature is not the office's (the line was forged or changed)":
            "wiersz 2 pliku-świadka: jego podpis nie jest podpisem urzędu",
        "witness line 2: is checkpoint 4 where 2 was due (lines removed, repeated or "
        "reordered)": "to punkt kontrolny nr 4, a powinien być nr 2",
        "entry 30: missing: checkpoint 3 sealed it, but the log ends at 20 (entries were cut "
        "off)": "dziennik kończy się na wpisie 20 (wpisy odcięto)",
        "entry 7: differs from witnessed checkpoint 1 (the log was rewritten and its chain "
        "recomputed)": "dziennik przepisano i przeliczono jego łańcuch",
        f"witness: this vault's checkpoints were written to the witness {w}; verify against it "
        "(--witness PATH, or [audit] witness in kustosz.toml) — without it a cut or recomputed "
        "log cannot be told from an intact one": f"zapisywano w pliku-świadku {w}",
        "entry 14: checkpoint 3 is not in the witness (its line was removed or replaced; if "
        "the witness was unreachable, `kustosz audit checkpoint` writes it)":
            "punktu kontrolnego nr 3 nie ma w pliku-świadku",
        "witness identity: kustosz.toml's [audit] witness /a/w.jsonl is not the pinned "
        "witness /b/w.jsonl (the setting was changed: the pinned one is checked)":
            "plik-świadek /a/w.jsonl z kustosz.toml nie jest przypiętym świadkiem /b/w.jsonl",
        "witness identity: witness identity: /etc/kustosz/audit-witness.json is owned by uid "
        "65534, not root: that account can rewrite it (chown root:root)":
            "tożsamość świadka: /etc/kustosz/audit-witness.json należy do konta o uid 65534",
        "witness identity: the audit log's first entry is not the pinned vault's (the log was "
        "rewritten from its start, or this is another vault)":
            "pierwszy wpis dziennika nie jest wpisem przypiętego skarbca",
    }
    for english, polish in cases.items():
        said = problem_pl(english)
        assert polish in said, (english, said)
        assert UNWORDED not in said, english
    # Words not known here: a plain Polish sentence, never the English.
    assert problem_pl("entry 3: something new went wrong") == f"wpis nr 3: {UNWORDED}"
