"""The camera verbs of the command line, and bad input: a one-line error and nothing changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import Cli, snapshot
from tests.support.cli_words import polish_first

from kustosz.vault import Vault

URL = "rtsp://operator@10.1.1.20:554/stream1"


@pytest.fixture
def ready(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> tuple[Cli, Vault]:
    # The password never comes on the command line (issue 11, data at rest): from a file
    # here, from a variable for the bad input below.
    (cli.data.parent / "haslo.txt").write_text("Sekret123\n")
    monkeypatch.setenv("KAMERA_HASLO", "Sekret123")
    monkeypatch.setenv("PUSTE_HASLO", "")
    cli("init", "--preset", "miedziana-gora")
    cli("sites", "add", "Urząd Gminy", "--address", "ul. Urzędnicza 18")
    cli("zones", "add", "korytarz parter, strona wschodnia", "--site", "Urząd Gminy",
        "--kind", "corridor")
    cli("zones", "add", "palarnia", "--site", "Urząd Gminy", "--kind", "smoking_room")
    cli("cameras", "add", "korytarz-1", "--site", "Urząd Gminy", "--zone",
        "korytarz parter, strona wschodnia", "--url", URL, "--purpose", "employee_safety",
        "--notice-date", "2026-01-01", "--signage-date", "2026-01-10",
        "--password-file", str(cli.data.parent / "haslo.txt"))
    return cli, Vault.open(cli.data)


def test_verbs(ready: tuple[Cli, Vault]) -> None:
    cli, _vault = ready
    listed = json.loads(cli("cameras", "list", "--json").output)
    assert [(c["name"], c["url"], c["site"]) for c in listed] == \
        [("korytarz-1", "rtsp://10.1.1.20:554/stream1", "(ukryte — tajemnica pracodawcy)")]
    shown = json.loads(cli("cameras", "list", "--locations", "--json").output)
    assert shown[0]["zone"] == "korytarz parter, strona wschodnia"
    assert "palarnia" in cli("zones", "list").output
    assert "Urząd Gminy" in cli("sites", "list").output
    cli("cameras", "disable", "korytarz-1")
    assert json.loads(cli("cameras", "list", "--json").output)[0]["enabled"] is False
    cli("cameras", "enable", "korytarz-1")
    status = json.loads(cli("recorders", "status", "--json").output)
    assert status[0]["state"] == "never started"
    everything = "".join(cli(*verb).output for verb in (
        ("cameras", "list"), ("cameras", "list", "--locations", "--json"),
        ("recorders", "status"), ("audit", "verify")))
    assert "Sekret123" not in everything and "operator" not in everything


BAD = {
    "url not rtsp": ("--url", "http://10.1.1.21/stream"),
    "url without host": ("--url", "rtsp:///stream"),
    "url with a bad port": ("--url", "rtsp://10.1.1.21:99999/s"),
    "segment length zero": ("--segment-seconds", "0"),
    "segment length negative": ("--segment-seconds", "-10"),
    "purpose not in art. 22² §1": ("--purpose", "work_supervision"),
    "unknown zone": ("--zone", "piwnica"),
    "unknown site": ("--site", "Ratusz"),
    "forbidden zone": ("--zone", "palarnia"),
    "not a date": ("--notice-date", "1 stycznia"),
    "duplicate name": ("--name", "korytarz-1"),
    "bad name": ("--name", "../x"),
    "password in the url": ("--url", "rtsp://u:Sekret123@10.1.1.21/s"),
    "password file that does not exist": ("--password-file", "/nonexistent/haslo.txt"),
    "password in an empty variable": ("--password-env", "PUSTE_HASLO"),
    "password in an unset variable": ("--password-env", "NIE_MA_TAKIEJ_ZMIENNEJ"),
    "password without a user name": ("--url", "rtsp://10.1.1.21/s"),
    "password given twice": ("--password-file", "BOTH"),
    "url with a line break": ("--url", "rtsp://u@10.1.1.21/s\nfile 'x'"),
}


def _camera_args(change: tuple[str, str]) -> list[str]:
    opts = {"--site": "Urząd Gminy", "--zone": "korytarz parter, strona wschodnia",
            "--url": "rtsp://u@10.1.1.21/s", "--purpose": "property",
            "--notice-date": "2026-01-01", "--signage-date": "2026-01-10",
            "--password-env": "KAMERA_HASLO"}
    name = "korytarz-2"
    if change[0] == "--name":
        name = change[1]
    elif change == ("--password-file", "BOTH"):
        opts["--password-file"] = "/etc/hostname"
    elif change[0] == "--password-file":
        del opts["--password-env"]
        opts[change[0]] = change[1]
    else:
        opts[change[0]] = change[1]
    return ["cameras", "add", name, *[x for kv in opts.items() for x in kv]]


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_camera_changes_nothing(case: str, ready: tuple[Cli, Vault]) -> None:
    cli, vault = ready
    before = snapshot(vault)
    result = cli(*_camera_args(BAD[case]), ok=False)
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert polish_first(lines), result.output
    assert "Sekret123" not in result.output
    assert snapshot(vault) == before


BAD_OTHER = {
    "zone of unknown kind": ("zones", "add", "x", "--site", "Urząd Gminy", "--kind", "garaż"),
    "zone on unknown site": ("zones", "add", "x", "--site", "Ratusz", "--kind", "corridor"),
    "duplicate zone": ("zones", "add", "palarnia", "--site", "Urząd Gminy", "--kind",
                       "smoking_room"),
    "duplicate site": ("sites", "add", "Urząd Gminy"),
    "empty site name": ("sites", "add", "  "),
    "enable unknown camera": ("cameras", "enable", "brama"),
    "disable unknown camera": ("cameras", "disable", "brama"),
    "override without reason": ("cameras", "override-start", "korytarz-1", "--reason", ""),
}


@pytest.mark.parametrize("case", sorted(BAD_OTHER))
def test_bad_register_input_changes_nothing(case: str, ready: tuple[Cli, Vault]) -> None:
    cli, vault = ready
    before = snapshot(vault)
    result = cli(*BAD_OTHER[case], ok=False)
    assert result.exit_code == 2, result.output
    assert polish_first(result.output.split("\n")), result.output
    assert snapshot(vault) == before


def test_serve_refuses_an_unknown_ffmpeg(ready: tuple[Cli, Vault], tmp_path: Path) -> None:
    cli, vault = ready
    before = snapshot(vault)
    result = cli("serve", "--ffmpeg", str(tmp_path / "no-ffmpeg"), ok=False)
    assert result.exit_code == 2 and "does not exist" in result.output
    assert snapshot(vault) == before


@pytest.mark.parametrize(("args", "says"), [
    (("--password-file", "/nonexistent/haslo.txt"),
     "cannot read the camera password file /nonexistent/haslo.txt: No such file or directory"),
    (("--password-env", "PUSTE_HASLO"),
     "the environment variable PUSTE_HASLO (--password-env) is not set or empty"),
    ((), "give the new password: --password-file FILE or --password-env VARIABLE"),
])
def test_bad_password_input_says_why_and_changes_nothing(
        ready: tuple[Cli, Vault], args: tuple[str, ...], says: str) -> None:
    """Issue 11 item 6: the password comes from a file or a variable, and a bad one of
    either is a clear error before anything is written."""
    cli, vault = ready
    before = snapshot(vault)
    result = cli("cameras", "password", "korytarz-1", *args, ok=False)
    assert result.exit_code == 2 and says in " ".join(result.output.split()), result.output
    assert snapshot(vault) == before


def test_password_is_replaced_sealed_and_audited_without_it(ready: tuple[Cli, Vault]) -> None:
    from sqlalchemy import select

    from kustosz.cameras.register import address_of, get_camera
    from kustosz.db.models import AuditEntry

    cli, vault = ready
    (cli.data.parent / "nowe.txt").write_text("Nowe!Haslo7\n")
    cli("cameras", "password", "korytarz-1", "--password-file",
        str(cli.data.parent / "nowe.txt"))
    with vault.reading() as s:
        camera, _ = get_camera(s, "korytarz-1")
        assert "Nowe" not in camera.rtsp_password
        assert address_of(camera, vault.secrets).password == "Nowe!Haslo7"
        entries = [(e.action, e.details) for e in s.execute(select(AuditEntry)).scalars()]
    assert ("camera.password", '{"credentials":true}') in entries
    assert not any("Nowe" in d or "Sekret123" in d for _a, d in entries)
