"""Issue 28 item 10: whoever holds the data folder rewrote the audit log, re-signed checkpoints
with the office key kept there, wrote them to a forged witness and pointed `[audit] witness` at
it: `kustosz audit verify` (no options) said "intact"; only `--witness <original>` caught it.

The witness's identity (path, signing key, vault) is now pinned by root outside the data folder
(`kustosz audit pin-witness`, /etc/kustosz/audit-witness.json), and verify uses it by default.

The tests run as root. Production: the identity is root:root 0644 in /etc/kustosz and the
service runs as `kustosz`; here "the service account" is played by `nobody` (uid 65534) — a
file or folder chowned to it is one the service account could rewrite.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kustosz.audit import identity
from kustosz.audit.verifier import verify as dashboard_verify
from kustosz.audit.witness import WITNESSED, append_to_witness
from kustosz.cli.doctor import FAIL, OK, WARN, check_witness_identity
from kustosz.config import read_config
from kustosz.keys import KEY_FILE, office_key
from kustosz.vault import Vault
from tests.audit_helpers import History, make_history, rechain, sql, with_witness
from tests.conftest import Cli

NOBODY = 65534  # stands for the service account (see the module's docstring)


@pytest.fixture
def history(sqlite_vault: Vault, tmp_path: Path) -> Iterator[History]:
    share = tmp_path / "share"
    share.mkdir()
    v = with_witness(sqlite_vault, share / "witness.jsonl")
    yield make_history(v, share / "witness.jsonl")
    v.close()


@pytest.fixture
def pinned(history: History, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The identity pinned the way the README says (as root), at a test's /etc."""
    path = tmp_path / "etc" / "kustosz" / "audit-witness.json"
    monkeypatch.setattr(identity, "DEFAULT_PATH", path)
    out = Cli(history.vault.root)("audit", "pin-witness")
    assert "witness pinned" in out.output
    st = path.stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (0, 0, 0o644)
    return path


def attack(history: History, tmp_path: Path) -> Path:
    """What the holder of the data folder and its database does: rewrite an entry, recompute
    the chain, re-sign every checkpoint with keys/ into a new file, point kustosz.toml (and the
    database's record of the witness) at it. The original witness is left as it was."""
    v = history.vault
    rechain(v, {3: "nic się nie stało"})
    forged = tmp_path / "forged" / "witness.jsonl"
    forged.parent.mkdir()
    with v.reading() as s:
        append_to_witness(s, forged, office_key(v.root))
    config = v.root / "kustosz.toml"
    config.write_text(config.read_text().replace(str(history.witness), str(forged)))
    sql(v, f"UPDATE vault_settings SET value = '{forged}' WHERE key = '{WITNESSED}'")
    return forged


def verify_cli(history: History) -> object:
    return Cli(history.vault.root)("audit", "verify", ok=False)


def test_the_honest_set_up_verifies(history: History, pinned: Path) -> None:
    result = verify_cli(history)
    out = " ".join(result.output.split())  # type: ignore[attr-defined]
    assert result.exit_code == 0, out  # type: ignore[attr-defined]
    assert "audit log intact" in out and "pinned by root" in out
    with history.vault.reading() as s:
        assert dashboard_verify(s, history.vault.head_file)[1] is None
    check = check_witness_identity(read_config(history.vault.root), history.vault.root)
    assert check.status == OK, check


def test_a_witness_pinned_with_a_relative_data_folder_is_this_vaults(
        history: History, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 50 item 9: `kustosz --data ./vault audit pin-witness` wrote the relative path,
    and `doctor` (the vault opened by its absolute path) said the identity was another's."""
    path = tmp_path / "etc" / "kustosz" / "audit-witness.json"
    monkeypatch.setattr(identity, "DEFAULT_PATH", path)
    monkeypatch.chdir(history.vault.root.parent)
    assert "witness pinned" in Cli(Path(history.vault.root.name))(
        "audit", "pin-witness").output
    assert json.loads(path.read_text())["data"] == str(history.vault.root.resolve())
    monkeypatch.chdir(tmp_path / "share")  # doctor and verify, from anywhere
    check = check_witness_identity(read_config(history.vault.root), history.vault.root)
    assert check.status == OK, check


def test_the_repointed_witness_fails_verify_with_no_options(history: History, pinned: Path,
                                                            tmp_path: Path) -> None:
    attack(history, tmp_path)
    result = verify_cli(history)
    out = " ".join(result.output.split())  # type: ignore[attr-defined]
    assert result.exit_code == 1, out  # type: ignore[attr-defined]
    assert "is not the pinned witness" in out, out
    assert "differs from witnessed checkpoint" in out, out  # checked against the original
    assert "tożsamość świadka" in out
    # the dashboard's check and the periodic one use the pinned witness too
    with history.vault.reading() as s:
        problem = dashboard_verify(s, history.vault.head_file)[1]
    assert problem is not None and "is not the pinned witness" in str(problem)
    check = check_witness_identity(read_config(history.vault.root), history.vault.root)
    assert check.status == FAIL and "is not the pinned witness" in check.detail


def test_without_a_pinned_identity_the_attack_passes_and_verify_says_why(
        history: History, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What remains where root never pinned the witness (the README says so): the forged
    witness is accepted, and verify and doctor say the identity is not pinned."""
    monkeypatch.setattr(identity, "DEFAULT_PATH", tmp_path / "none" / "audit-witness.json")
    attack(history, tmp_path)
    result = verify_cli(history)
    out = " ".join(result.output.split())  # type: ignore[attr-defined]
    assert result.exit_code == 0, out  # type: ignore[attr-defined]
    assert "no witness identity outside the data folder" in out
    check = check_witness_identity(read_config(history.vault.root), history.vault.root)
    assert check.status == WARN and "pin-witness" in check.detail


@pytest.mark.parametrize("weakness", ["file owned by the service account",
                                      "file writable by its group",
                                      "folder owned by the service account",
                                      "folder writable by others",
                                      "a symbolic link"])
def test_an_identity_the_service_account_could_rewrite_fails(
        history: History, pinned: Path, weakness: str) -> None:
    if weakness == "file owned by the service account":
        os.chown(pinned, NOBODY, NOBODY)
        words = "not root"
    elif weakness == "file writable by its group":
        pinned.chmod(0o664)
        words = "writable by its group or by others"
    elif weakness == "folder owned by the service account":
        os.chown(pinned.parent, NOBODY, NOBODY)
        words = f"the folder {pinned.parent} is owned by uid {NOBODY}"
    elif weakness == "folder writable by others":
        pinned.parent.chmod(0o777)
        words = f"the folder {pinned.parent} is writable"
    else:
        real = pinned.with_name("real.json")
        pinned.rename(real)
        pinned.symlink_to(real)
        words = "symbolic link"
    result = verify_cli(history)
    out = " ".join(result.output.split())  # type: ignore[attr-defined]
    assert result.exit_code == 1, out  # type: ignore[attr-defined]
    assert words in out, out
    check = check_witness_identity(read_config(history.vault.root), history.vault.root)
    assert check.status == FAIL and words in check.detail


def test_a_replaced_office_key_fails(history: History, pinned: Path) -> None:
    """A new key in keys/ (to sign a forged witness without the old one) is not the pinned one."""
    key = history.vault.root / "keys" / KEY_FILE
    key.write_bytes(Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    result = verify_cli(history)
    out = " ".join(result.output.split())  # type: ignore[attr-defined]
    assert result.exit_code == 1 and "is not the pinned key" in out, out


def test_a_damaged_identity_fails_clearly(history: History, pinned: Path) -> None:
    pinned.write_text(json.dumps({"format": "something else"}))
    result = verify_cli(history)
    out = " ".join(result.output.split())  # type: ignore[attr-defined]
    assert result.exit_code != 0 and "is damaged" in out, out


def test_pinning_needs_root_and_a_witness(history: History, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "etc2" / "audit-witness.json"
    # The tests run as root; the service account's euid is what cannot run here.
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    result = Cli(history.vault.root)("audit", "pin-witness", "--identity", str(target),
                                     ok=False)
    assert result.exit_code == 2 and "run as root" in result.output, result.output
    assert not target.exists()
    monkeypatch.undo()
    inside = history.vault.root / "audit-witness.json"
    result = Cli(history.vault.root)("audit", "pin-witness", "--identity", str(inside),
                                     ok=False)
    assert result.exit_code == 2 and "inside the data folder" in result.output
    assert not inside.exists()


@pytest.mark.skipif(shutil.which("systemd-sysusers") is None
                    or shutil.which("systemd-tmpfiles") is None,
                    reason="systemd-sysusers / systemd-tmpfiles are not installed")
def test_the_deployed_folder_for_the_identity_is_roots(tmp_path: Path) -> None:
    """deploy/systemd/kustosz.tmpfiles makes /etc/kustosz root's and closed to writers: an
    identity pinned there is trusted; one in the service's own folder is not."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    deploy = Path(__file__).resolve().parent.parent / "deploy" / "systemd"
    subprocess.run(["systemd-sysusers", f"--root={root}", str(deploy / "kustosz.sysusers")],
                   check=True, capture_output=True, timeout=60)  # the account tmpfiles names
    subprocess.run(["systemd-tmpfiles", f"--root={root}", "--create",
                    str(deploy / "kustosz.tmpfiles")], check=True, capture_output=True,
                   timeout=60)
    etc = root / "etc" / "kustosz"
    st = etc.stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (0, 0, 0o755)
    pinned = etc / "audit-witness.json"
    pinned.write_text("{}")
    pinned.chmod(0o644)
    assert identity.untrusted(pinned) == []
