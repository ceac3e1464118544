"""What a camera's probe found of its pictures (issue 65's PictureCheck) is kept in the
database (migration 0061): the recorder a node makes after a hand-over, or a restart, gets it
with its job and does not ask the camera again; a change of the stream's codec forgets it;
learning it restarts no recorder (the job compares equal)."""

from __future__ import annotations

from camera_helpers import register_camera

from kustosz.ingest.camera import health
from kustosz.ingest.camera.supervisor import decide
from kustosz.vault import Vault


def _known(vault: Vault) -> dict[str, bool | None]:
    return {d.job.name: d.job.pictures_cut for d in decide(vault)}


def test_the_answer_reaches_the_next_recorders_job_until_the_codec_changes(
        site_vault: Vault) -> None:
    vault = site_vault
    hol = register_camera(vault, "hol", "rtsp://127.0.0.1:9/cam1").source_id
    register_camera(vault, "wejscie", "rtsp://127.0.0.1:9/cam2")
    before = {d.job.name: d.job for d in decide(vault)}
    assert _known(vault) == {"hol": None, "wejscie": None}  # never asked: the probe runs

    health.remember_pictures(vault, hol, True)  # before any status row: the probe comes first
    assert _known(vault) == {"hol": True, "wejscie": None}
    assert {d.job.name: d.job for d in decide(vault)} == before  # no restart for it

    health.set_status(vault, hol, "recording", "recording h264", codec="h264")
    health.remember_pictures(vault, hol, False)
    health.set_status(vault, hol, "recording", "recording h264", codec="h264")
    assert _known(vault)["hol"] is False  # the same stream: kept

    health.set_status(vault, hol, "recording", "recording hevc", codec="hevc")
    assert _known(vault)["hol"] is None  # another stream: asked again
