"""A simulated camera for `kustosz demo`: the demo's picture of two people (kustosz/demo)
with a tone, recorded by the same recorder as a real camera (the tone shows that audio is
dropped)."""

from __future__ import annotations

import threading

from sqlalchemy import select

from kustosz.cameras.register import add_simulated_camera, add_site, add_zone
from kustosz.db.cameras import Site, Zone
from kustosz.db.models import Source
from kustosz.ingest.camera.recorder import RecorderOptions
from kustosz.ingest.camera.supervisor import RecorderPool
from kustosz.vault import Vault

DEMO_SITE, DEMO_ZONE = "Budynek demonstracyjny", "hol parter"


def start_simulated_camera(vault: Vault, name: str = "kamera-demo",
                           segment_seconds: float = 4.0, actor: str = "demo",
                           start: bool = True) -> RecorderPool | None:
    """Register the simulated camera (once) and, if `start`, record it in this process.

    Returns the running pool (call `.stop_all()` to stop) or None when `start` is False, e.g.
    when `kustosz serve` is to pick the camera up instead.
    """
    with vault.transaction() as s:
        if s.execute(select(Site.id).where(Site.name == DEMO_SITE)).first() is None:
            add_site(s, DEMO_SITE, actor)
        site_id = s.execute(select(Site.id).where(Site.name == DEMO_SITE)).scalar_one()
        if s.execute(select(Zone.id).where(Zone.site_id == site_id,
                                           Zone.name == DEMO_ZONE)).first() is None:
            add_zone(s, DEMO_SITE, DEMO_ZONE, "corridor", actor, vault.policy)
        if s.execute(select(Source.id).where(Source.name == name)).first() is None:
            add_simulated_camera(s, vault.policy, name, DEMO_SITE, DEMO_ZONE, segment_seconds,
                                 actor)
    if not start:
        return None
    pool = RecorderPool(vault, options=RecorderOptions(measure_clock=False))
    pool.recover()
    pool.reconcile()
    return pool


def run_until(stop: threading.Event, vault: Vault, **kw: object) -> None:
    """Record the simulated camera until `stop` is set (for a demo running in a thread)."""
    pool = start_simulated_camera(vault, **kw)  # type: ignore[arg-type]
    assert pool is not None
    try:
        stop.wait()
    finally:
        pool.stop_all()
