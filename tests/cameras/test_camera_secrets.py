"""While cameras record under `kustosz serve`, another local account can neither read the
data folder nor see a camera's or a mailbox's password in any process's command line
(issue 11, item 6).

Invariant 2 (DESIGN.md: every byte served is authorised and recorded) would mean nothing if
any local account could read the media, the database or the `.eml` files directly. R3.5:
recordings kept where only authorised persons reach them; R1.7: camera credentials are the
employer's secret. The attacker here is real: the `nobody` account, through `runuser`,
reading files and /proc as any local user can.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from camera_helpers import WAIT_SCALE
from tests.support.rtsp import RtspServer, gst_available, gst_skip_reason

RTSP_SECRET = "Kamera!Tajne#2026"
IMAP_SECRET = "Dziennik$Poczty%77"
SECRETS = (RTSP_SECRET, quote(RTSP_SECRET, safe=""), IMAP_SECRET)

pytestmark = [
    pytest.mark.skipif(not gst_available(), reason=gst_skip_reason()),
    pytest.mark.skipif(os.geteuid() != 0,
                       reason="the attacker is another local account: `runuser -u nobody` "
                              "needs root"),
]

# Run as nobody with Debian's python: lists what that account can read. Paths come on
# stdin (collected by root), so the probe needs no access to find them.
PROBE = r"""
import json, os, sys
readable = []
for path in json.load(sys.stdin):
    try:
        if os.path.isdir(path):
            os.listdir(path)
        else:
            with open(path, "rb") as f:
                f.read(1)
        readable.append(path)
    except OSError:
        pass
cmdlines = []
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdlines.append(f.read().replace(b"\0", b" ").decode("utf-8", "replace"))
        except OSError:
            pass
print(json.dumps({"readable": readable, "cmdlines": cmdlines}))
"""


def kustosz(data: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([sys.executable, "-m", "kustosz", "--data", str(data), *args],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "KUSTOSZ_ACTOR": "tester", **(env or {})},
                          preexec_fn=lambda: os.umask(0o022))
    assert done.returncode == 0, f"kustosz {' '.join(args)}: {done.stderr}"
    return done.stdout


@pytest.fixture
def open_parent() -> Iterator[Path]:
    """A folder every account may pass through (pytest's own tmp is 0700, which would make
    the attack fail for the wrong reason)."""
    base = Path(tempfile.mkdtemp(prefix="kustosz-atrest-", dir="/tmp"))
    os.chmod(base, 0o755)
    try:
        yield base
    finally:
        subprocess.run(["rm", "-rf", str(base)], check=False)


def stored_per_camera(data: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{data / 'kustosz.db'}?mode=ro", uri=True, timeout=30) as db:
        return dict(db.execute(
            "SELECT s.name, count(*) FROM recordings r JOIN sources s ON s.id = r.source_id "
            "WHERE r.state = 'stored' GROUP BY s.name").fetchall())


def everything_under(root: Path) -> list[str]:
    out = [str(root)]
    for dirpath, dirs, files in os.walk(root):
        out += [str(Path(dirpath, n)) for n in (*dirs, *files)]
    return out


def loose(root: Path) -> list[str]:
    return [p for p in everything_under(root)
            if not Path(p).is_symlink() and os.lstat(p).st_mode & 0o077]


def test_no_local_account_reads_the_vault_or_sees_a_password_while_cameras_record(
        open_parent: Path) -> None:
    data = open_parent / "vault"
    control = open_parent / "ogloszenie.txt"  # proves the probe can read what is readable
    control.write_text("jawne")
    os.chmod(control, 0o644)
    secret_file = open_parent / "imap-haslo"
    secret_file.write_text(IMAP_SECRET + "\n")
    os.chmod(secret_file, 0o600)
    with RtspServer(mounts=2, audio=False, user="kamera", password=RTSP_SECRET) as srv:
        kustosz(data, "init", "--preset", "elblag")
        kustosz(data, "sites", "add", "Ratusz")
        kustosz(data, "zones", "add", "hol", "--site", "Ratusz", "--kind", "corridor")
        for name, mount in (("hol-1", 1), ("hol-2", 2)):
            kustosz(data, "cameras", "add", name, "--site", "Ratusz", "--zone", "hol",
                    "--url", f"rtsp://kamera@127.0.0.1:{srv.port}/cam{mount}",
                    "--purpose", "property", "--notice-date", "2026-01-01",
                    "--signage-date", "2026-01-01", "--segment-seconds", "2",
                    "--password-env", "KAMERA_HASLO", env={"KAMERA_HASLO": RTSP_SECRET})
        kustosz(data, "mail", "add", "dziennik", "--imap-host", "127.0.0.1", "--imap-port",
                "9", "--imap-tls", "none", "--imap-user", "journal",
                "--imap-password-file", str(secret_file))
        serve = subprocess.Popen(
            [sys.executable, "-m", "kustosz", "--data", str(data), "serve", "--port", "0"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True, preexec_fn=lambda: os.umask(0o022))
        try:
            deadline = time.monotonic() + 40 * WAIT_SCALE
            while not (len(counts := stored_per_camera(data)) == 2
                       and min(counts.values()) >= 2):
                assert serve.poll() is None, serve.stderr.read() if serve.stderr else ""
                assert time.monotonic() < deadline, f"segments so far: {counts}"
                time.sleep(0.5)
            ffmpegs = [c for c in _cmdlines() if "ffmpeg" in c and str(data) in c]
            probe = subprocess.run(
                ["runuser", "-u", "nobody", "--", "/usr/bin/python3", "-c", PROBE],
                input=json.dumps([*everything_under(data), str(control)]),
                capture_output=True, text=True, timeout=60, check=True)
            seen = json.loads(probe.stdout)
            assert serve.poll() is None  # all of this while it records
        finally:
            serve.send_signal(signal.SIGTERM)
            serve.wait(60)
    # The recorders really ran, one ffmpeg per camera, and the address went through stdin.
    assert len(ffmpegs) == 2 and all("-i pipe:0" in c for c in ffmpegs), ffmpegs
    # nobody: only the control file beside the vault, nothing inside it
    assert seen["readable"] == [str(control)]
    # nobody saw no password in any command line (nor does root: every process checked)
    for text in (*seen["cmdlines"], *_cmdlines()):
        assert not any(s in text for s in SECRETS), text
    assert loose(data) == []  # 0700 / 0600 although every command ran with umask 022
    raw = b"".join(p.read_bytes() for p in data.glob("kustosz.db*"))
    assert not any(s.encode() in raw for s in SECRETS)


def _cmdlines() -> list[str]:
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            with contextlib.suppress(OSError):  # the process ended meanwhile
                out.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
                           .decode("utf-8", "replace"))
    return out
