"""/metrics counts refused input (issue 47 item 5) without naming a device: a source's
refusals are its intake counter `input_refused`, a device that is no source only adds to
`kustosz_input_refused_unattributed` — an SBC's address or a camera's name never a label."""

from __future__ import annotations

from test_web_metrics import camera_labels, scrape
from tests.custody.custody_helpers import setup_camera
from web_helpers import client

from kustosz.ingest.refusals import refused
from kustosz.vault import Vault


def test_refusals_counted_by_source_and_unattributed(sqlite_web_vault: Vault) -> None:
    vault = sqlite_web_vault
    setup_camera(vault, "wejscie-ratusz")
    for _ in range(3):
        refused(vault, device="kamera wejscie-ratusz (192.0.2.7)", source="wejscie-ratusz",
                reason_pl="odpowiedź kamery nie jest poprawnym XML", detail="not XML")
    refused(vault, device="SBC 198.51.100.9:5060", reason_pl="treść INVITE nieczytelna")
    m = scrape(client(vault))
    labels = camera_labels(vault, "wejscie-ratusz")
    assert m["kustosz_intake_items_total"][(("counter", "input_refused"), *labels)] == 3
    assert m["kustosz_input_refused_unattributed_total"][()] == 1
    text = repr(m)
    assert "198.51.100.9" not in text and "192.0.2.7" not in text
