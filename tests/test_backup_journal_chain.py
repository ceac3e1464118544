"""Issue 28 item 8: a backup's deletion journal cut short must not bring deleted material back,
and keys.enc cannot make a restore spend minutes and gigabytes before it fails.

Before the fix each journal line was signed alone: an emptied journal restored 6 recordings
instead of 2, one with its last 2 lines cut restored 4, both exiting 0. Now the lines are
chained, the manifest (under the passphrase's HMAC) records the lines written at the backup,
and a signed head `deletions.head` records all of them; a restore refuses any journal that does
not match, with one message in Polish and English, and writes nothing.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from kustosz.backup import crypto, journal
from kustosz.backup.layout import JOURNAL, JOURNAL_HEAD, KEYS, MAC, MANIFEST
from kustosz.db.models import Recording
from kustosz.errors import InputError
from kustosz.keys import office_key
from kustosz.retention.sweep import run_sweep
from kustosz.vault import Vault
from tests.conftest import Cli
from tests.test_backup import PASSPHRASE, fill, hold_first, passphrase_file
from tests.test_backup_bad_input import refused, restore, tree

SWEEP_AT = datetime(2027, 6, 1, tzinfo=UTC)


@pytest.fixture
def swept(tmp_path: Path) -> tuple[Cli, Path, Path, list[int]]:
    """Six recordings, two of them held; a backup; then the sweep deletes the other four and
    the vault ships their deletions into the backup's journal (what serve does each minute).
    Returns the CLI, the backup, the passphrase file and the ids that must stay."""
    cli = Cli(tmp_path / "vault")
    cli("init", "--preset", "pleszew")
    vault = Vault.open(cli.data)
    try:
        recs = fill(vault, tmp_path, 6)
        hold_first(vault, recs[0])
        hold_first(vault, recs[3])
    finally:
        vault.close()
    pp = passphrase_file(tmp_path)
    cli("backup", "--to", str(tmp_path / "b"), "--passphrase-file", str(pp))
    vault = Vault.open(cli.data)
    try:
        report = run_sweep(vault, now=SWEEP_AT, actor="test")
        assert len(report.deleted) == 4
        assert journal.ship(vault) == 4
    finally:
        vault.close()
    return cli, tmp_path / "b", pp, [recs[0].id, recs[3].id]


def lines_of(b: Path) -> list[str]:
    return (b / JOURNAL).read_text("utf-8").splitlines()


def kept(new: Path) -> list[int]:
    vault = Vault.open(new)
    try:
        with vault.reading() as s:
            return sorted(s.execute(select(Recording.id)).scalars())
    finally:
        vault.close()


def test_the_intact_journal_restores_exactly_what_is_left(
        swept: tuple[Cli, Path, Path, list[int]], tmp_path: Path) -> None:
    cli, b, pp, left = swept
    result = restore(cli, b, tmp_path / "new", pp)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "dziennik usunięć jest cały" in result.output  # type: ignore[attr-defined]
    assert "last confirmed it at" in " ".join(result.output.split())  # type: ignore[attr-defined]
    assert kept(tmp_path / "new") == left


# Each way of shortening or disturbing the journal an attacker who can write the backup's
# folder (but does not hold the office's key) has; every one was restored before the fix.
def _emptied(lines: list[str]) -> list[str]:
    return []


def _last_two_cut(lines: list[str]) -> list[str]:
    return lines[:-2]


def _first_cut(lines: list[str]) -> list[str]:
    return lines[1:]


def _reordered(lines: list[str]) -> list[str]:
    return [lines[1], lines[0], *lines[2:]]


def _duplicated(lines: list[str]) -> list[str]:
    return [*lines, lines[-1]]


def _edited(lines: list[str]) -> list[str]:
    data = json.loads(lines[2])
    data["recording_id"] = 999_999  # keeps its signature: the signed body changed
    return [*lines[:2], json.dumps(data, sort_keys=True), *lines[3:]]


@pytest.mark.parametrize("damage", [_emptied, _last_two_cut, _first_cut, _reordered,
                                    _duplicated, _edited])
def test_a_journal_disturbed_is_refused_and_nothing_written(
        swept: tuple[Cli, Path, Path, list[int]], tmp_path: Path,
        damage: Callable[[list[str]], list[str]]) -> None:
    cli, b, pp, _left = swept
    changed = damage(lines_of(b))
    (b / JOURNAL).write_text("".join(line + "\n" for line in changed), "utf-8")
    before = tree(b)
    out = refused(restore(cli, b, tmp_path / "new", pp), str(b / JOURNAL))
    if damage is _edited:
        assert "niepodpisany kluczem tego urzędu" in out and "not signed" in out
    else:
        assert "Dziennik usunięć" in out and "niczego nie zapisano" in out, out
        assert "could bring back material the vault deleted" in out, out
    assert not (tmp_path / "new").exists()
    assert not list(tmp_path.glob(".new.restoring-*"))
    assert tree(b) == before  # the backup itself untouched
    # --check refuses it too (an administrator checking backups learns it before the day)
    check = Cli(cli.data)("restore", "--from", str(b), "--check", "--passphrase-file",
                          str(pp), ok=False)
    assert check.exit_code == 2, check.output


def test_the_journal_file_removed_is_refused(swept: tuple[Cli, Path, Path, list[int]],
                                             tmp_path: Path) -> None:
    cli, b, pp, _left = swept
    (b / JOURNAL).unlink()
    refused(restore(cli, b, tmp_path / "new", pp), "liczy 4 wiersze", "counts 4 line(s)")
    assert not (tmp_path / "new").exists()


def test_the_head_removed_or_forged_is_refused(swept: tuple[Cli, Path, Path, list[int]],
                                               tmp_path: Path) -> None:
    cli, b, pp, _left = swept
    head = json.loads((b / JOURNAL_HEAD).read_text())
    (b / JOURNAL).write_text("")
    (b / JOURNAL_HEAD).unlink()
    refused(restore(cli, b, tmp_path / "new", pp), "brak jego podpisanego nagłówka",
            "its signed head")
    # A head claiming 0 lines, signed with a key that is not the office's.
    fake = Ed25519PrivateKey.generate()
    head.update(lines=0, hash=journal.anchor(head["backup"]).hash)
    head["sig"] = base64.b64encode(fake.sign(journal._body(head))).decode()
    (b / JOURNAL_HEAD).write_text(json.dumps(head))
    refused(restore(cli, b, tmp_path / "new", pp), "niepodpisany kluczem tego urzędu",
            "not signed by this office's key")
    assert not (tmp_path / "new").exists()


def test_lines_past_the_head_are_applied(swept: tuple[Cli, Path, Path, list[int]],
                                         tmp_path: Path) -> None:
    """A crash between appending lines and rewriting the head leaves the head behind the file:
    the extra lines are chained and signed, so they count (deleting more is the safe side)."""
    cli, b, pp, left = swept
    vault = Vault.open(cli.data)
    try:
        chain = journal.anchor(json.loads((b / MANIFEST).read_text())["id"])
        for line in lines_of(b)[:2]:
            chain = journal._link(chain, line)
        journal.write_head(b, chain_id(b), chain, office_key(vault.root))
    finally:
        vault.close()
    result = restore(cli, b, tmp_path / "new", pp)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert kept(tmp_path / "new") == left


def chain_id(b: Path) -> str:
    return str(json.loads((b / MANIFEST).read_text())["id"])


# -- backups made before the chain ----------------------------------------------------------
def _make_old(b: Path, pp: Path, vault_root: Path) -> None:
    """Turn a backup into one as the previous version made it: unchained lines, no head, no
    "journal" in the manifest (its HMAC recomputed with the passphrase, as that version's was)."""
    key = office_key(vault_root)
    old = []
    for line in lines_of(b):
        data = json.loads(line)
        data.pop("n"), data.pop("prev"), data.pop("sig")
        data["sig"] = base64.b64encode(key.sign(journal._body(data))).decode()
        old.append(json.dumps(data, sort_keys=True))
    (b / JOURNAL).write_text("".join(line + "\n" for line in old))
    (b / JOURNAL_HEAD).unlink()
    manifest = json.loads((b / MANIFEST).read_text())
    del manifest["journal"]
    body = crypto.as_json(manifest)
    _files, keys = crypto.open_keys((b / KEYS).read_bytes(), crypto.read_passphrase(pp),
                                    manifest["id"], b / KEYS)
    (b / MANIFEST).write_bytes(body)
    (b / MAC).write_text(crypto.mac_of(body, keys) + "\n")


def test_a_backup_of_the_previous_version_needs_consent_and_warns(
        swept: tuple[Cli, Path, Path, list[int]], tmp_path: Path) -> None:
    cli, b, pp, left = swept
    _make_old(b, pp, cli.data)
    out = refused(restore(cli, b, tmp_path / "new", pp), "--accept-unchained-journal",
                  "wcześniejsza wersja Kustosza", "earlier Kustosz")
    assert not (tmp_path / "new").exists()
    done = restore(cli, b, tmp_path / "new", pp, "--accept-unchained-journal")
    out = done.output  # type: ignore[attr-defined]
    assert done.exit_code == 0, out  # type: ignore[attr-defined]
    assert "UWAGA: kopia z wcześniejszej wersji Kustosza" in out
    assert "WARNING: a backup made by an earlier Kustosz" in out
    assert kept(tmp_path / "new") == left


def test_the_upgraded_vault_chains_an_old_backups_journal_from_then_on(
        swept: tuple[Cli, Path, Path, list[int]], tmp_path: Path) -> None:
    """After the upgrade the vault gives an old backup a head over its journal at the next
    shipping: from then on cutting it is refused even there."""
    cli, b, pp, _left = swept
    _make_old(b, pp, cli.data)
    vault = Vault.open(cli.data)
    try:
        journal.ship(vault, now=datetime.now(UTC) + timedelta(hours=2))
    finally:
        vault.close()
    assert (b / JOURNAL_HEAD).exists()
    (b / JOURNAL).write_text("".join(line + "\n" for line in lines_of(b)[:-2]))
    refused(restore(cli, b, tmp_path / "new", pp, "--accept-unchained-journal"),
            "counts 4 line(s)")


# -- the scrypt cost ---------------------------------------------------------------------------
@pytest.mark.parametrize("change", [
    {"n": 2 ** 22}, {"n": 2 ** 20}, {"n": 2 ** 15 + 1}, {"n": 2 ** 10}, {"n": "32768"},
    {"n": True}, {"r": 0}, {"r": 1000}, {"p": 0}, {"p": 64}, {"salt": b"1234"},
    {"salt": b"x" * 1000}, {"name": "pbkdf2"}])
def test_a_key_derivation_out_of_range_is_refused_without_deriving(
        swept: tuple[Cli, Path, Path, list[int]], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, change: dict[str, Any]) -> None:
    """keys.enc names its own scrypt cost; n = 2**22 made a restore take 59 s and ~4 GiB
    before failing. Refused before the KDF runs (asserted by counting its calls, not by a
    clock: the machine is shared)."""
    cli, b, pp, _left = swept
    doc = json.loads((b / KEYS).read_text())
    for name, value in change.items():
        doc["kdf"][name] = base64.b64encode(value).decode() if name == "salt" else value
    (b / KEYS).write_text(json.dumps(doc))
    calls: list[int] = []
    real = crypto.derive

    def counted(*args: Any, **kwargs: Any) -> crypto.BackupKeys:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(crypto, "derive", counted)
    result = restore(cli, b, tmp_path / "new", pp)
    if "name" in change:
        refused(result, "jest uszkodzony", "is damaged")
    else:
        refused(result, "odrzucono bez próby", "refused without trying", str(b / KEYS))
    assert calls == []
    assert not (tmp_path / "new").exists()


def test_the_default_cost_is_within_the_bounds(tmp_path: Path) -> None:
    sealed, _keys = crypto.seal_keys({"a": b"b"}, PASSPHRASE, "id-1")
    files, _ = crypto.open_keys(sealed, PASSPHRASE, "id-1", tmp_path / KEYS)
    assert files == {"a": b"b"}


# -- property: every truncation or edit is refused -------------------------------------------
KEY = Ed25519PrivateKey.generate()
BACKUP = "b7a1c2d3-0000-4000-8000-000000000001"


def _row(i: int) -> SimpleNamespace:
    at = datetime(2027, 1, 1, tzinfo=UTC) + timedelta(minutes=i)
    return SimpleNamespace(id=100 + i, recording_id=i, source_id=1, start_at=at, end_at=at,
                           size=10 + i, sha256=f"{i:064x}", rule="retention", deleted_at=at)


def _folder(base: Path, total: int, at_backup: int) -> tuple[Path, list[str], dict[str, Any],
                                                              list[str]]:
    """A backup folder's journal of ``total`` lines, ``at_backup`` of them written with the
    backup (in its manifest); also every genuine head the vault wrote on the way."""
    folder = base / f"j{time.monotonic_ns()}"
    folder.mkdir()
    lines, chain = journal.chained([_row(i) for i in range(total)], BACKUP, KEY,
                                   journal.anchor(BACKUP))
    prefix = journal.anchor(BACKUP)
    heads = []
    for n in range(total + 1):
        (folder / JOURNAL).write_text("".join(x + "\n" for x in lines[:n]))
        journal.write_head(folder, BACKUP, prefix, KEY)
        heads.append((folder / JOURNAL_HEAD).read_text())
        if n == at_backup:
            stated = {"lines": prefix.lines, "hash": prefix.hash}
        if n < total:
            prefix = journal._link(prefix, lines[n])
    assert prefix == chain
    manifest = {"journal": {"format": journal.CHAIN_FORMAT, **stated}}
    return folder, lines, manifest, heads


edits = st.one_of(
    st.tuples(st.just("cut_tail"), st.integers(1, 20)),
    st.tuples(st.just("remove"), st.integers(0, 19)),
    st.tuples(st.just("repeat"), st.integers(0, 19)),
    st.tuples(st.just("swap"), st.integers(0, 19), st.integers(0, 19)),
    st.tuples(st.just("edit"), st.integers(0, 19), st.sampled_from(
        ["recording_id", "id", "n", "prev", "backup", "deleted_at"])),
    st.tuples(st.just("drop_head"), st.integers(0, 20)),
)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(total=st.integers(1, 12), at_backup_share=st.floats(0, 1), edit=edits)
def test_property_every_truncation_or_edit_is_refused(
        tmp_path: Path, total: int, at_backup_share: float, edit: tuple[Any, ...]) -> None:
    at_backup = int(total * at_backup_share)
    folder, lines, manifest, _heads = _folder(tmp_path, total, at_backup)
    # the intact journal passes, in full
    assert [d["id"] for d in journal.read(folder, BACKUP, KEY.public_key(), manifest)
            .lines] == [100 + i for i in range(total)]
    kind = edit[0]
    changed = list(lines)
    if kind == "cut_tail":
        changed = lines[:max(0, total - edit[1])]
    elif kind == "remove":
        del changed[edit[1] % total]
    elif kind == "repeat":
        i = edit[1] % total
        changed.insert(i, lines[i])
    elif kind == "swap":
        i, j = edit[1] % total, edit[2] % total
        if i == j:
            j = (i + 1) % total
        if i == j:  # one line: swapping is repeating it
            changed.append(lines[i])
        else:
            changed[i], changed[j] = changed[j], changed[i]
    elif kind == "edit":
        i = edit[1] % total
        data = json.loads(lines[i])
        data[edit[2]] = data[edit[2]] + 1 if isinstance(data[edit[2]], int) else "x"
        changed[i] = json.dumps(data, sort_keys=True)
    (folder / JOURNAL).write_text("".join(x + "\n" for x in changed))
    if kind == "drop_head":
        # the journal cut anywhere and its head removed with it
        (folder / JOURNAL).write_text("".join(x + "\n" for x in lines[:edit[1] % total]))
        (folder / JOURNAL_HEAD).unlink()
    with pytest.raises(InputError):
        journal.read(folder, BACKUP, KEY.public_key(), manifest)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(total=st.integers(1, 10), at_backup_share=st.floats(0, 1), cut=st.integers(1, 10))
def test_property_what_a_rolled_back_head_can_and_cannot_hide(
        tmp_path: Path, total: int, at_backup_share: float, cut: int) -> None:
    """The one thing left (README): the journal cut back together with a genuine older head
    (kept by whoever can write the folder) is accepted if it still holds every line written
    with the backup — and shows its older confirmation; cut below those, it is refused."""
    at_backup = int(total * at_backup_share)
    folder, lines, manifest, heads = _folder(tmp_path, total, at_backup)
    n = max(0, total - cut)
    (folder / JOURNAL).write_text("".join(x + "\n" for x in lines[:n]))
    (folder / JOURNAL_HEAD).write_text(heads[n])
    if n < at_backup:
        with pytest.raises(InputError):
            journal.read(folder, BACKUP, KEY.public_key(), manifest)
    else:
        checked = journal.read(folder, BACKUP, KEY.public_key(), manifest)
        assert len(checked.lines) == n and checked.confirmed_at is not None


def test_a_second_shipper_with_a_stale_mark_adds_nothing(
        swept: tuple[Cli, Path, Path, list[int]], tmp_path: Path) -> None:
    """serve's shipping and a `kustosz backup` each read the vault's mark before appending: the
    one that comes second finds the lines in the journal already and writes none (a repeated
    line would leave a journal the restore refuses)."""
    from kustosz.backup import state as backup_state

    cli, b, pp, left = swept
    before = lines_of(b)
    vault = Vault.open(cli.data)
    try:
        def stale(state: dict[str, Any]) -> None:
            for t in state.get("targets", []):
                t["shipped"] = 0

        backup_state.update(vault, stale)
        assert journal.ship(vault) == 0
    finally:
        vault.close()
    assert lines_of(b) == before
    result = restore(cli, b, tmp_path / "new", pp)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert kept(tmp_path / "new") == left
