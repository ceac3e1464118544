"""`kustosz --data INSTALL serve` without --office, the real command in its own process: every
office's web on one port, and one office whose kustosz.toml is refused is that office's
outage alone — said at start in words, listed on / as not served, its addresses 503 — while
the others sign in as ever (on SQLite and on PostgreSQL, each office opened as its own
role). A port of 0 (no web) is refused in words."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tests.installation.install_helpers import installation
from tests.installation.web_install import GMINA, MOPS, TOWN
from tests.support.onvif_camera import free_port
from tests.test_serve_watchdog import cli_env

SCHOOL = "Szkoła Podstawowa nr 1 im. Marii Skłodowskiej-Curie w Żółkiewce"


def _wait_up(base: str, proc: subprocess.Popen[bytes], log: Path) -> httpx.Response:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve ended ({proc.returncode}):\n{log.read_text('utf-8')}")
        try:
            return httpx.get(base + "/", timeout=5)
        except httpx.TransportError:
            time.sleep(0.3)
    raise AssertionError(f"serve did not answer:\n{log.read_text('utf-8')}")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_serve_of_an_installation_serves_every_office_and_one_refused_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: str) -> None:
    with installation(tmp_path, backend, monkeypatch) as inst:
        inst.init(GMINA)
        town, mops = inst.add("urzad", TOWN), inst.add("mops", MOPS)
        school = inst.add("szkola", SCHOOL)
        with (inst.root / "offices" / school / "kustosz.toml").open("a", encoding="utf-8") as f:
            f.write('\nklucz_nieznany = "Zażółć gęślą jaźń 🏫"\n')  # refused by the schema
        port, log = free_port(), tmp_path / "serve.log"
        env = {**cli_env(), "PYTHONPATH": os.pathsep.join(sys.path), "KUSTOSZ_OFFICE": ""}
        env.pop("KUSTOSZ_OFFICE")
        with log.open("ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "kustosz", "--data", str(inst.root), "serve", "--port",
                 str(port), "--log-format", "text"], env=env, stdin=subprocess.DEVNULL,
                stdout=out, stderr=out)
        try:
            base = f"http://127.0.0.1:{port}"
            root = _wait_up(base, proc, log)
            assert root.status_code == 200
            assert TOWN in root.text and MOPS in root.text and SCHOOL not in root.text
            assert f'href="/o/{town}/login"' in root.text
            assert f'id="office-{school}">{school}</span>' in root.text  # no preset, no name
            assert f'href="/o/{mops}/login"' in root.text
            assert "niedostępny" in root.text and "not served" in root.text
            for office in (town, mops):
                page = httpx.get(f"{base}/o/{office}/login", timeout=30)
                assert page.status_code == 200 and f'action="/o/{office}/login"' in page.text
            down = httpx.get(f"{base}/o/{school}/login", timeout=30)
            assert down.status_code == 503 and "Urząd niedostępny" in down.text
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            code = proc.wait(60)
        said = log.read_text("utf-8")
        assert code == 0, said
        assert f"urząd {school}: NIE URUCHOMIONY" in said and "klucz_nieznany" in said
        # what this process does not run for an office is said, office by office
        # whole, to be copied into a unit file: the installation's folder named
        assert f"kustosz --data {inst.root} --office {town} serve --port 0" in said
        assert f"kustosz --data {inst.root} --office {mops} serve --port 0" in said
        # each new office's first administrator, once, on the console (as a vault's serve)
        assert said.count("Pierwszy administrator urzędu") == 2
        assert f"Pierwszy administrator urzędu {town}: admin / hasło jednorazowe:" in said


def test_serve_of_an_installation_without_a_web_port_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with installation(tmp_path, "sqlite", monkeypatch) as inst:
        inst.init(GMINA)
        inst.add("urzad", TOWN)
        inst.add("mops", MOPS)
        result = inst("serve", "--port", "0", ok=False)
        assert result.exit_code != 0
        assert "--port 0 wyłącza WWW" in result.output
        assert f"kustosz --data {inst.root} --office SLUG serve --port 0" in result.output
