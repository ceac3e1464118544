"""The recorder pool follows the camera register while serve runs: a camera added is started
on the next pass, one disabled is stopped, one whose address changed is restarted with it,
and an unchanged one is left alone. (No camera answers here: the recorders only need to be
running, not recording.)"""

from __future__ import annotations

from camera_helpers import register_camera
from sqlalchemy import update

from kustosz.cameras.register import set_enabled
from kustosz.db.cameras import Camera
from kustosz.ingest.camera.recorder import RecorderOptions
from kustosz.ingest.camera.supervisor import RecorderPool
from kustosz.vault import Vault


def test_pool_follows_added_changed_and_disabled_cameras(site_vault: Vault) -> None:
    hol = register_camera(site_vault, "hol", "rtsp://127.0.0.1:9/cam1")
    pool = RecorderPool(site_vault, options=RecorderOptions(measure_clock=False,
                                                            stop_timeout_s=2.0))
    try:
        pool.reconcile()
        first = pool.recorders[hol.source_id]
        pool.reconcile()
        assert pool.recorders[hol.source_id] is first, "an unchanged camera keeps its recorder"

        wejscie = register_camera(site_vault, "wejscie", "rtsp://127.0.0.1:9/cam2")
        pool.reconcile()
        assert set(pool.recorders) == {hol.source_id, wejscie.source_id}

        with site_vault.transaction() as s:
            s.execute(update(Camera).where(Camera.source_id == hol.source_id)
                      .values(url="rtsp://127.0.0.1:9/cam1-new"))
        pool.reconcile()
        second = pool.recorders[hol.source_id]
        assert second is not first and not first.alive
        assert second.job.shown_url.endswith("/cam1-new")

        with site_vault.transaction() as s:
            set_enabled(s, "wejscie", False, "test")
        pool.reconcile()
        assert set(pool.recorders) == {hol.source_id}
    finally:
        pool.stop_all()
