"""The Debian package's drop-in that keeps /etc/kustosz/kustosz.toml.last-good (issue 64 item
6, packaging/deb/kustosz.service.d-last-good.conf): `systemd-analyze verify` accepts the unit
with it; root keeps the copy before each start and each reload, with the file named (never
through the data folder's link), never stopping the start or the reload ("-"), and the reload
still sends serve its signal afterwards; the package installs it for serve's unit alone, and
its wrapper leaves the command root's."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
UNIT = REPO / "deploy" / "systemd" / "kustosz.service"
DROP_IN = REPO / "packaging" / "deb" / "kustosz.service.d-last-good.conf"
SHIPPED_EXEC = "/opt/kustosz/.venv/bin/kustosz"
KEEP = (f"{SHIPPED_EXEC} --data /var/lib/kustosz config keep-last-good "
        "--config /etc/kustosz/kustosz.toml")
ANALYZE = shutil.which("systemd-analyze")


def _values(text: str, key: str) -> list[str]:
    return [line.split("=", 1)[1] for line in text.splitlines()
            if line.startswith(f"{key}=")]


def test_root_keeps_the_copy_before_each_start_and_reload_then_serve_reloads() -> None:
    text = DROP_IN.read_text()
    assert _values(text, "ExecStartPre") == [f"-+{KEEP}"]
    assert _values(text, "ExecReload") == ["", f"-+{KEEP}", "/bin/sh -c 'kill -HUP $MAINPID'"]
    build = (REPO / "packaging" / "deb" / "build.py").read_text()
    assert re.search(r'"kustosz\.service\.d-last-good\.conf", units / "kustosz\.service\.d/'
                     r'last-good\.conf"', build)
    wrapper = (REPO / "packaging" / "deb" / "kustosz-wrapper").read_text()
    assert '"keep-last-good" in args' in wrapper
    assert 'rm -f "$ETC.last-good"' in (REPO / "packaging" / "deb" / "postrm").read_text()


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_accepts_the_unit_with_the_drop_in(tmp_path: Path) -> None:
    here = str(Path(sys.executable).parent / "kustosz")
    unit = tmp_path / "kustosz.service"
    unit.write_text(UNIT.read_text().replace(SHIPPED_EXEC, here))
    (tmp_path / "kustosz.service.d").mkdir()
    (tmp_path / "kustosz.service.d" / "last-good.conf").write_text(
        DROP_IN.read_text().replace(SHIPPED_EXEC, here))
    assert ANALYZE is not None
    done = subprocess.run([ANALYZE, "verify", "--man=no", str(unit)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and done.stdout + done.stderr == "", done.stdout + done.stderr
