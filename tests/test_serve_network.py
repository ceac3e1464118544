"""`kustosz serve --host …` (issue 14 item 1, R3.5): listening on the network without HTTPS
is said loudly (stderr and the log, Polish and English); the address printed is one a browser
can open, never 0.0.0.0; the banner's lines are not cut at 80 columns (the journal)."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest

from tests.test_logs import _kustosz, _serve

WEB = "Aplikacja WWW:"  # serve has started its web app (under load, well after its banner)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
def test_plain_http_on_the_network_is_warned_and_the_address_is_usable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    data = tmp_path / "vault"
    _kustosz(data, "init", "--preset", "pleszew")
    port = _free_port()
    out, err = _serve(data, 0.5, "--host", "0.0.0.0", "--port", str(port), ready=WEB)
    assert "UWAGA: aplikacja WWW nasłuchuje w sieci (0.0.0.0) bez HTTPS" in err
    assert "WARNING: the web app listens on the network (0.0.0.0) without HTTPS" in err
    warned = [json.loads(line) for line in out.splitlines() if "without HTTPS" in line]
    assert warned and warned[0]["level"] == "WARNING" and warned[0]["port"] == port
    (banner,) = [line for line in err.splitlines() if line.startswith("Aplikacja WWW:")]
    assert "0.0.0.0" not in banner.split("(")[0]
    assert f"http://{socket.gethostname()}:{port}/" in banner
    # the one-time password line whole on one line, at 80 columns
    (first,) = [line for line in err.splitlines() if line.startswith("Pierwszy administrator")]
    assert re.search(r"hasło jednorazowe: \S+ \(pokazane tylko raz; przy logowaniu trzeba "
                     r"ustawić własne\)$", first), err

    # loopback, or HTTPS: nothing to warn about
    _out, err = _serve(data, 0.2, "--host", "127.0.0.1", "--port", str(_free_port()), ready=WEB)
    assert "bez HTTPS" not in err and "without HTTPS" not in _out
    assert "Aplikacja WWW: http://127.0.0.1:" in err
    _kustosz(data, "tls", "self-signed", "--out", str(tmp_path / "tls"))
    _out, err = _serve(data, 0.2, "--host", "0.0.0.0", "--port", str(_free_port()),
                       "--tls-cert", str(tmp_path / "tls" / "kustosz.crt"),
                       "--tls-key", str(tmp_path / "tls" / "kustosz.key"), ready=WEB)
    assert "bez HTTPS" not in err and "without HTTPS" not in _out
    assert f"Aplikacja WWW: https://{socket.gethostname()}:" in err
