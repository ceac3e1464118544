"""Fixtures of the camera tests: a vault with a site and its zones."""

from __future__ import annotations

import pytest
from camera_helpers import register_camera

from kustosz.cameras.register import add_site, add_zone
from kustosz.vault import Vault


@pytest.fixture
def site_vault(sqlite_vault: Vault) -> Vault:
    with sqlite_vault.transaction() as s:
        add_site(s, "Ratusz", "test", "Rynek 1")
        add_zone(s, "Ratusz", "hol parter", "corridor", "test")
        add_zone(s, "Ratusz", "łazienka", "sanitary", "test")
        add_zone(s, "Ratusz", "szatnia", "changing_room", "test")
    return sqlite_vault


@pytest.fixture
def cam(site_vault: Vault) -> int:
    """A camera "hol" in the site vault (its URL answers nothing); its source id."""
    return register_camera(site_vault, "hol", "rtsp://127.0.0.1:9/cam1").source_id
