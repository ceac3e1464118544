"""Finding cameras (issue 34 item 1) with a real WS-Discovery probe on loopback, answered by
two third-party virtual ONVIF cameras (ipycam) at two loopback addresses, one of them already in
the register: `kustosz cameras discover` lists both by address, says which is registered and
as what, and with credentials each one's make, model, serial and firmware — a camera that
refuses them is that camera's line, not the end of the command. Bad input: an interface that
is no address or not this machine's, a time out of range. Other tests' virtual cameras may
answer the same probe (the suite runs in parallel): only these two are looked for."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from tests.conftest import Cli, make_vault
from tests.support.onvif_camera import OnvifCamera, cameras_on_loopback, ipycam_available

from kustosz.cameras.register import CameraSpec, add_camera, add_site, add_zone

pytestmark = pytest.mark.skipif(not ipycam_available(), reason="ipycam is not installed")
PASSWORD = "tajne-haslo-1"


@pytest.fixture
def office(tmp_path: Path) -> Iterator[tuple[Cli, OnvifCamera, OnvifCamera]]:
    vault = make_vault(tmp_path / "vault")
    cameras_on_loopback(vault)
    with vault.transaction() as s:
        add_site(s, "Ratusz", "test", "Rynek 1")
        add_zone(s, "Ratusz", "hol parter", "corridor", "test")
        add_camera(s, vault.policy, CameraSpec(
            "cam-hol", "Ratusz", "hol parter", "rtsp://admin@127.0.0.3:554/cam1", "property",
            notice_date=date(2020, 1, 1), signage_date=date(2020, 1, 1)), "test")
    vault.close()
    with OnvifCamera(8554, host="127.0.0.3", serial="PL-HOL-1", password=PASSWORD,
                     discovery=True) as known, \
            OnvifCamera(8554, host="127.0.0.4", serial="PL-NOWA-2", password="inne-haslo-2",
                        discovery=True) as new:
        yield Cli(tmp_path / "vault"), known, new


def test_discover_lists_the_cameras_and_says_which_are_registered(
        office: tuple[Cli, OnvifCamera, OnvifCamera], tmp_path: Path) -> None:
    cli, known, new = office
    secret = tmp_path / "haslo.txt"
    secret.write_text(PASSWORD)
    rows = json.loads(cli("cameras", "discover", "--interface", "127.0.0.1", "--timeout", "2",
                          "--user", "admin", "--password-file", str(secret), "--json").output)
    by_host = {r["address"]: r for r in rows}
    ours = {f"http://{c.host}:{c.port}/onvif/device_service": c for c in (known, new)}
    assert set(ours) <= set(by_host), rows
    hol = by_host[f"http://{known.host}:{known.port}/onvif/device_service"]
    assert hol["registered_as"] == "cam-hol"
    assert hol["device"]["serial"] == "PL-HOL-1" and hol["device"]["make"] == "PythonCam"
    other = by_host[f"http://{new.host}:{new.port}/onvif/device_service"]
    assert other["registered_as"] is None
    assert "device" not in other and "refused" in other["device_error"]  # its own password
    assert PASSWORD not in json.dumps(rows)
    table = cli("cameras", "discover", "--interface", "127.0.0.1", "--timeout", "2").output
    assert f"{known.host}:{known.port}" in table and "cam-hol" in table


@pytest.mark.parametrize("args,said", [
    (["--interface", "eth0"], "is not an IPv4 address"),
    (["--interface", "10.99.99.99"], "this machine has no interface 10.99.99.99"),
    (["--timeout", "0.1"], "the probe's time must be from 0.5 to 30 s"),
    (["--timeout", "99"], "the probe's time must be from 0.5 to 30 s"),
])
def test_discover_refuses_what_cannot_be_probed(
        office: tuple[Cli, OnvifCamera, OnvifCamera], args: list[str], said: str) -> None:
    cli, _known, _new = office
    refused = cli("cameras", "discover", *args, ok=False)
    assert refused.exit_code != 0 and said in refused.output, refused.output


def test_an_answer_from_outside_the_office_networks_is_not_offered(
        office: tuple[Cli, OnvifCamera, OnvifCamera]) -> None:
    """A discovery answer names the address the credentials would go to: outside the office's
    networks ([cameras] networks) it is listed apart and never asked, even with a password."""
    cli, known, new = office
    config = cli.data / "kustosz.toml"
    config.write_text(config.read_text().replace('networks = ["127.0.0.0/8"]',
                                                 f'networks = ["{known.host}/32"]'))
    result = cli("cameras", "discover", "--interface", "127.0.0.1", "--timeout", "2", "--json")
    rows = json.loads(result.stdout)
    hosts = {r["address"].split("//")[1].split(":")[0] for r in rows}
    assert known.host in hosts and new.host not in hosts
    # another test's cameras may answer the same probe (the suite runs in parallel) and be
    # listed beside this one: this camera's address is looked for, not its place in the line
    said = " ".join(result.stderr.split())
    assert "outside the office's networks ([cameras] networks):" in said
    assert f"http://{new.host}:{new.port}/onvif/device_service" in said


def test_office_networks_that_are_no_networks_are_refused(
        office: tuple[Cli, OnvifCamera, OnvifCamera]) -> None:
    cli, _known, _new = office
    config = cli.data / "kustosz.toml"
    config.write_text(config.read_text().replace('networks = ["127.0.0.0/8"]',
                                                 'networks = ["biuro"]'))
    refused = cli("cameras", "discover", "--timeout", "1", ok=False)
    assert refused.exit_code != 0 and "cameras.networks" in refused.output, refused.output
    assert "'biuro' is not a network" in refused.output
