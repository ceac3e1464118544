"""What the ONVIF tests share: an office with a site and a zone, and the virtual camera
(tests/support/onvif_camera.py) added to its register over ONVIF as an administrator would."""

from __future__ import annotations

from datetime import date

from tests.support.onvif_camera import OnvifCamera

from kustosz.cameras.onvif_register import ProfileChoice, add_onvif_camera
from kustosz.cameras.register import CameraSpec, add_site, add_zone
from kustosz.onvif.address import parse_address
from kustosz.onvif.device import read_camera
from kustosz.vault import Vault


def with_zone(vault: Vault, site: str = "Ratusz", zone: str = "hol parter") -> Vault:
    with vault.transaction() as s:
        add_site(s, site, "test")
        add_zone(s, site, zone, "corridor", "test")
    return vault


def add_virtual(vault: Vault, cam: OnvifCamera, name: str = "hol-onvif",
                site: str = "Ratusz", zone: str = "hol parter") -> None:
    """The camera read over ONVIF and registered (the profiles Kustosz picks by default)."""
    facts = read_camera(parse_address(f"{cam.host}:{cam.port}"), cam.user, cam.password)
    with vault.transaction() as s:
        add_onvif_camera(s, vault.policy, CameraSpec(
            name, site, zone, "", vault.policy.video.purposes[0], date(2026, 1, 1),
            date(2026, 1, 2)), facts, cam.user, cam.password, ProfileChoice(), "test")
