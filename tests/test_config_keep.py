"""kustosz.toml.last-good (issue 64 item 6, kustosz.config_keep): the last configuration serve
accepted, beside the file, owned and moded like it, written atomically, never through a link.

The two installs, each as it is set up: the README's (the data folder's own kustosz.toml, the
service account's 0600: serve keeps the copy itself) and the Debian package's (the file is
root's, root:kustosz 0640 in /etc/kustosz: the service account may not write there, and root's
`kustosz config keep-last-good --config FILE` keeps it). The service account is a real other
uid (nobody), with only the right to read and search folders added so that it can start this
machine's Python (which lives under /root): what it may write, the kernel decides. The attacks:
a link the account plants at the copy's name or at its temporary name, a copy root would write
into a folder the account holds, and root following the data folder's link."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from kustosz.config_keep import NotOurs, keep, last_good, read_kept
from tests.conftest import Cli

SRC = Path(__file__).resolve().parents[1] / "src"
ACCOUNT = 65534  # nobody: the service account here
GOOD = ('# Ustawienia urzędu — Józef Żółć 🎥\npreset = "pleszew"\n'
        '[retention]\ninterval_minutes = 15\n').encode()

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root and setpriv (util-linux) to act as another account")


@pytest.fixture
def shared() -> Iterator[Path]:
    """A folder both root and the account reach (/dev/shm: root's, sticky, 1777)."""
    folder = Path(tempfile.mkdtemp(dir="/dev/shm", prefix="kt-keep-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def as_account(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``code`` (Python; ``sys.argv[1:]`` are ``args``) run as the service account."""
    return subprocess.run(
        ["setpriv", f"--reuid={ACCOUNT}", f"--regid={ACCOUNT}", "--clear-groups",
         "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search",
         sys.executable, "-c", f"import sys; sys.path.insert(0, {str(SRC)!r})\n{code}", *args],
        capture_output=True, text=True, timeout=120)


KEEP = """
from pathlib import Path
from kustosz.config_keep import NotOurs, keep
try:
    print("kept", keep(Path(sys.argv[1]), Path(sys.argv[1]).read_bytes()))
except NotOurs as exc:
    print("not ours:", exc)
"""


def _account_folder(shared: Path) -> tuple[Path, Path]:
    data = shared / "data"
    data.mkdir(mode=0o700)
    os.chown(data, ACCOUNT, ACCOUNT)
    file = data / "kustosz.toml"
    file.write_bytes(GOOD)
    file.chmod(0o600)
    os.chown(file, ACCOUNT, ACCOUNT)
    return data, file


def test_the_service_keeps_its_own_file_owned_and_moded_like_it(shared: Path) -> None:
    _data, file = _account_folder(shared)
    done = as_account(KEEP, str(file))
    assert done.returncode == 0 and done.stdout.startswith("kept"), done.stdout + done.stderr
    copy = last_good(file)
    st = os.lstat(copy)
    assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    assert (st.st_uid, st.st_gid) == (ACCOUNT, ACCOUNT)
    assert read_kept(copy) == GOOD
    assert [p.name for p in file.parent.iterdir() if p.name.endswith(".tmp")] == []
    again = as_account(KEEP, str(file))  # the same bytes: nothing written again
    assert again.stdout.strip() == "kept None", again.stdout + again.stderr


def test_a_link_the_account_plants_is_replaced_never_followed(shared: Path) -> None:
    data, file = _account_folder(shared)
    victim = shared / "victim.txt"  # the account's own file elsewhere: it must stay as it is
    victim.write_text("nie ruszać\n")
    os.chown(victim, ACCOUNT, ACCOUNT)
    planted = [last_good(file), data / f".{last_good(file).name}.{os.getpid()}.tmp"]
    for link in planted:
        os.symlink(victim, link)
        os.lchown(link, ACCOUNT, ACCOUNT)
    done = as_account(KEEP, str(file))
    assert done.returncode == 0 and done.stdout.startswith("kept"), done.stdout + done.stderr
    assert victim.read_text() == "nie ruszać\n"
    assert stat.S_ISREG(os.lstat(last_good(file)).st_mode)
    assert read_kept(last_good(file)) == GOOD
    # and a link left there is never read through
    last_good(file).unlink()
    os.symlink(victim, last_good(file))
    with pytest.raises(OSError):
        read_kept(last_good(file))


def _root_file(shared: Path) -> Path:
    """The Debian package's layout: /etc/kustosz (root's, 0755), the file root:kustosz 0640."""
    etc = shared / "etc-kustosz"
    etc.mkdir(mode=0o755)
    file = etc / "kustosz.toml"
    file.write_bytes(GOOD)
    file.chmod(0o640)
    os.chown(file, 0, ACCOUNT)
    return file


def test_the_service_cannot_keep_a_root_file_and_root_does(shared: Path, cli: Cli) -> None:
    file = _root_file(shared)
    done = as_account(KEEP, str(file))
    assert done.stdout.startswith("not ours:"), done.stdout + done.stderr
    assert not os.path.lexists(last_good(file))
    # even called the service's way, the kernel would not let it (root's folder)
    tried = as_account("open(sys.argv[1], 'w')", str(last_good(file)))
    assert tried.returncode != 0 and "Permission denied" in tried.stderr
    kept = cli("config", "keep-last-good", "--config", str(file))
    assert "zapisano / kept" in kept.output
    st = os.lstat(last_good(file))
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, ACCOUNT, 0o640)
    assert read_kept(last_good(file)) == GOOD
    # the service reads its copy (group kustosz), as serve does at a start
    read = as_account("sys.stdout.buffer.write(open(sys.argv[1], 'rb').read())",
                      str(last_good(file)))
    assert read.returncode == 0 and read.stdout.encode() == GOOD


def test_root_keeps_nothing_from_a_refused_file(shared: Path, cli: Cli) -> None:
    file = _root_file(shared)
    cli("config", "keep-last-good", "--config", str(file))
    file.write_text(GOOD.decode() + 'interval_minutes = "co kwadrans"\n', "utf-8")
    done = cli("config", "keep-last-good", "--config", str(file), ok=False)
    assert done.exit_code == 1 and "wiersz 5" in done.output and "line 5" in done.output
    assert read_kept(last_good(file)) == GOOD  # the last good one stays


def test_root_never_writes_where_the_account_could_plant(shared: Path, cli: Cli) -> None:
    data, file = _account_folder(shared)
    victim = shared / "root-victim"
    victim.write_text("root's\n")
    os.symlink(victim, last_good(file))
    os.lchown(last_good(file), ACCOUNT, ACCOUNT)
    done = cli("config", "keep-last-good", "--config", str(file), ok=False)
    assert done.exit_code == 2 and "not kept" in done.output and "uid 65534" in done.output
    assert victim.read_text() == "root's\n" and os.path.islink(last_good(file))
    with pytest.raises(NotOurs):
        keep(file, GOOD)
    # nor does root follow the data folder's kustosz.toml, a link the account owns
    file.unlink()
    os.symlink(_root_file(shared), file)
    os.lchown(file, ACCOUNT, ACCOUNT)
    refused = Cli(data)("config", "keep-last-good", ok=False)
    assert refused.exit_code == 2 and "--config" in refused.output
    assert not os.path.lexists(last_good(shared / "etc-kustosz" / "kustosz.toml"))
