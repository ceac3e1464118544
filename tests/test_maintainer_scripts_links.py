"""No maintainer script follows a link in a folder the service account can write (issue 48
item 2): the package's postrm, run as root against a data folder where a hostile `kustosz`
account planted links, leaves every file the links point at as it was.

The script is the packaged one with its two folders moved into a scratch folder (the data
folder and /etc/kustosz), run in a private mount namespace whose /etc/passwd, group and
shadow carry a `kustosz` account (uid 64999): nothing of this machine's own accounts or
folders is touched. The victims stand for /etc/shadow and /etc/cron.d.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "packaging" / "deb"
UID = 64999
SETTINGS = "database_url = \"postgresql://kustosz:s3cret@db/kustosz\"\n"
SECRET = "root:$y$j9T$secret:19000:0:99999:7:::\n"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("runuser") is None,
    reason="needs root, unshare and runuser (util-linux) to run a maintainer script")


@pytest.fixture
def box() -> Iterator[Path]:
    """A scratch root the kustosz account can walk into (pytest's folders are root's 0700)."""
    root = Path(tempfile.mkdtemp(prefix="kustosz-maint-", dir="/tmp"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        shutil.rmtree(root)


def _prepare(box: Path, script: str) -> tuple[Path, Path, Path]:
    data, etc = box / "data", box / "etc-kustosz"
    data.mkdir(mode=0o700)
    os.chown(data, UID, UID)
    etc.mkdir(mode=0o755)
    (etc / "kustosz.toml").write_text(SETTINGS)
    os.chown(etc / "kustosz.toml", 0, UID)
    (etc / "kustosz.toml").chmod(0o640)
    text = (SCRIPTS / script).read_text("utf-8")
    text = text.replace("/var/lib/kustosz-witness", str(box / "witness"))
    text = text.replace("/var/lib/kustosz", str(data)).replace("/etc/kustosz", str(etc))
    runnable = box / script
    runnable.write_text(text)
    for name, line in (("passwd", f"kustosz:x:{UID}:{UID}::{data}:/usr/sbin/nologin\n"),
                       ("group", f"kustosz:x:{UID}:\n"), ("shadow", "kustosz:!:19000::::::\n")):
        copy = box / name
        copy.write_text(Path(f"/etc/{name}").read_text("utf-8") + line)
        copy.chmod(0o644 if name != "shadow" else 0o640)
    return data, etc, runnable


def _run(box: Path, runnable: Path, *args: str) -> subprocess.CompletedProcess[str]:
    inner = (f"mount --bind {box}/passwd /etc/passwd && mount --bind {box}/group /etc/group "
             f"&& mount --bind {box}/shadow /etc/shadow && exec sh {runnable} \"$@\"")
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                           inner, "maint", *args], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})


def _victim(box: Path) -> Path:
    victim = box / "shadow-victim"
    victim.write_text(SECRET)
    victim.chmod(0o600)
    return victim


def _unchanged(victim: Path) -> None:
    st = victim.lstat()
    assert victim.read_text() == SECRET
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0, 0o600)


def test_remove_does_not_follow_a_planted_link(box: Path) -> None:
    data, etc, runnable = _prepare(box, "postrm")
    victim = _victim(box)
    (data / "kustosz.toml").symlink_to(etc / "kustosz.toml")
    for name in ("kustosz.toml.dpkg-removed", "kustosz.toml.dpkg-removed.new"):
        (data / name).symlink_to(victim)
        os.lchown(data / name, UID, UID)
    done = _run(box, runnable, "remove")
    assert done.returncode == 0, done.stderr
    _unchanged(victim)
    kept = data / "kustosz.toml.dpkg-removed"
    st = kept.lstat()
    assert stat.S_ISREG(st.st_mode) and kept.read_text() == SETTINGS  # still kept, safely
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (UID, 0o600)


def test_remove_keeps_the_settings_as_before(box: Path) -> None:
    """Nothing planted: the copy is made as it always was."""
    data, etc, runnable = _prepare(box, "postrm")
    (data / "kustosz.toml").symlink_to(etc / "kustosz.toml")
    done = _run(box, runnable, "remove")
    assert done.returncode == 0, done.stderr
    kept = data / "kustosz.toml.dpkg-removed"
    assert kept.read_text() == SETTINGS and kept.stat().st_uid == UID


def test_purge_does_not_move_into_a_linked_folder(box: Path) -> None:
    """kustosz.toml planted as a link to a root folder (cron.d): the kept settings replace
    the link; nothing lands in the folder."""
    data, _etc, runnable = _prepare(box, "postrm")
    folder = box / "cron.d"
    folder.mkdir(mode=0o755)
    (data / "kustosz.toml").symlink_to(folder)
    os.lchown(data / "kustosz.toml", UID, UID)
    (data / "kustosz.toml.dpkg-removed").write_text("* * * * * root id > /tmp/owned\n")
    os.chown(data / "kustosz.toml.dpkg-removed", UID, UID)
    done = _run(box, runnable, "purge")
    assert done.returncode == 0, done.stderr
    assert list(folder.iterdir()) == []
    assert not (data / "kustosz.toml").is_symlink()
    assert (data / "kustosz.toml").lstat().st_uid == UID
