"""`kustosz tls self-signed` (issue 14 item 1): bad --out, --owner for the service account
(R3.5: only the service reads the key). Each bad input: a clear bilingual error, nothing
written."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.conftest import Cli


def _error(result) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("błąd:") and lines[1].startswith("error:"), result.output
    return " ".join(result.output.split())


def test_out_that_cannot_be_a_folder(cli: Cli, tmp_path: Path) -> None:
    said = _error(cli("tls", "self-signed", "--out", "/proc/x", ok=False))
    assert "cannot make the folder" in said and "nie można utworzyć folderu" in said
    assert not Path("/proc/x").exists()

    a_file = tmp_path / "plik"
    a_file.write_text("zostaje")
    said = _error(cli("tls", "self-signed", "--out", str(a_file), ok=False))
    assert "is a file, not a folder" in said and "to plik, nie folder" in said
    assert a_file.read_text() == "zostaje"


def test_an_existing_pair_is_kept_and_the_polish_says_what_to_do(cli: Cli, tmp_path: Path
                                                                  ) -> None:
    out = tmp_path / "tls"
    cli("tls", "self-signed", "--out", str(out))
    before = (out / "kustosz.key").read_bytes()
    said = _error(cli("tls", "self-signed", "--out", str(out), ok=False))
    assert "już istnieje; usuń go albo wskaż inny folder w --out" in said
    assert (out / "kustosz.key").read_bytes() == before


def test_a_bad_host_writes_no_folder(cli: Cli, tmp_path: Path) -> None:
    _error(cli("tls", "self-signed", "--out", str(tmp_path / "x"), "--host", "zła nazwa!",
               ok=False))
    assert not (tmp_path / "x").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="--owner needs root")
def test_owner_gives_the_key_to_the_service_account(cli: Cli, tmp_path: Path) -> None:
    """As root with --owner: the account can read its key, no one else can; the service
    account then starts HTTPS with it (the key check passes as that account)."""
    user = "kustosz-tls-test"
    subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--shell",
                    "/usr/sbin/nologin", user], check=True)
    # the account must reach the folder: not below pytest's root-only tmp folder
    base = Path(tempfile.mkdtemp(prefix="kustosz-etc-", dir="/tmp"))
    base.chmod(0o755)
    try:
        entry = pwd.getpwnam(user)
        out = base / "etc-kustosz" / "tls"
        r = cli("tls", "self-signed", "--out", str(out), "--owner", user)
        assert f"owner {user}" in r.output
        for path in (out, out / "kustosz.key", out / "kustosz.crt"):
            st = path.stat()
            assert (st.st_uid, st.st_gid) == (entry.pw_uid, entry.pw_gid), path
        assert oct((out / "kustosz.key").stat().st_mode & 0o777) == "0o600"
        assert oct(out.stat().st_mode & 0o777) == "0o700"
        (base / "etc-kustosz").chmod(0o755)
        read = subprocess.run(["runuser", "-u", user, "--", "cat", str(out / "kustosz.key")],
                              capture_output=True, text=True)
        assert read.returncode == 0 and "PRIVATE KEY" in read.stdout, read.stderr
        # an existing folder (like /etc) is not given away, only the files
        shared = tmp_path / "shared"
        shared.mkdir()
        cli("tls", "self-signed", "--out", str(shared), "--owner", f"{user}:{user}")
        assert shared.stat().st_uid == 0
        assert (shared / "kustosz.key").stat().st_uid == entry.pw_uid
    finally:
        subprocess.run(["userdel", user], check=True)
        shutil.rmtree(base)

    said = _error(cli("tls", "self-signed", "--out", str(tmp_path / "n"), "--owner",
                      "nie-ma-takiego", ok=False))
    assert "there is no user" in said and "nie ma użytkownika „nie-ma-takiego”" in said
    said = _error(cli("tls", "self-signed", "--out", str(tmp_path / "n"), "--owner",
                      "nobody:nie-ma-grupy", ok=False))
    assert "nie ma grupy" in said
    assert not (tmp_path / "n").exists()


def test_owner_needs_root(tmp_path: Path) -> None:
    """Not root: --owner is refused before anything is written. The command runs with the
    effective user `nobody` (the program loaded as root first: nobody cannot read this
    checkout)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to become nobody")
    import sys
    nobody = pwd.getpwnam("nobody")
    code = ("import os, sys\n"
            "from kustosz.cli import app\n"
            "import kustosz.cli.tls, kustosz.web.tls, pwd, grp\n"
            f"os.setegid({nobody.pw_gid}); os.seteuid({nobody.pw_uid})\n"
            f"sys.argv=['kustosz','tls','self-signed','--out','{tmp_path}/n','--owner','root']\n"
            "app()\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200"}, timeout=60)
    assert done.returncode == 2, done.stderr
    first, second = done.stderr.splitlines()[:2]
    assert first.startswith("błąd:") and "tylko root" in first
    assert second.startswith("error:") and "only root can give files" in second
    assert not (tmp_path / "n").exists()
