"""What a device's text field (make, model, serial, firmware) really says, apart from the ONVIF
client so that the camera register can use the rule without loading the client."""

from __future__ import annotations


def said(value: str | None) -> str:
    """Firmware that has nothing to give writes a placeholder such as "--" (a DVC recorder,
    tests/corpus/onvif/dvc-drn-3282r): no letter or digit names nothing — a make of dashes,
    or a placeholder serial that would make every such camera a twin of the first."""
    text = " ".join((value or "").split())
    return text if any(c.isalnum() for c in text) else ""
