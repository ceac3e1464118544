"""The job kind "masking.period": a stored camera period masked into the job's own file, run
in the caller (no serve worker: the Inline runner); bad input refused before anything is
queued."""

from __future__ import annotations

import shutil
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av
import pytest

from kustosz import jobs
from kustosz.errors import InputError, KustoszError, NotFound
from kustosz.ingest.files import ingest_file
from kustosz.jobs.catalogue import masking_period
from kustosz.vault import Vault
from tests.custody.custody_helpers import setup_camera
from tests.masking.scene import make_clip


def job_count(vault: Vault) -> int:
    with vault.engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM jobs").scalar_one())


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return make_clip(tmp_path_factory.mktemp("job") / "src", seconds=1.2, segment_s=0.6)


@pytest.fixture
def stored(sqlite_vault: Vault, tmp_path: Path, clip: list[Path]) -> tuple[Vault, datetime]:
    setup_camera(sqlite_vault, "cam-hol")
    start = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    for i, p in enumerate(clip):
        copy = tmp_path / p.name  # the intake takes the file in: a copy of the shared clip
        shutil.copyfile(p, copy)
        ingest_file(sqlite_vault, "cam-hol", copy, start + timedelta(seconds=i * 0.6),
                    start + timedelta(seconds=(i + 1) * 0.6))
    return sqlite_vault, start


def test_job_masks_the_period_into_its_own_file(stored: tuple[Vault, datetime]) -> None:
    vault, start = stored
    mask = {"x": 10, "y": 10, "w": 50, "h": 40, "from_s": 0, "to_s": 0.5, "note": "ekran"}
    job_id = masking_period.defer(vault, "anna", source="cam-hol", start=start.isoformat(),
                                  end=(start + timedelta(seconds=1.2)).isoformat(),
                                  masks=[mask], keep=[], threshold=0.3, every=5)
    view = jobs.get(vault, job_id)
    assert view.state == jobs.JobState.DONE, view.error
    assert view.progress == 1.0
    path = vault.root / view.result["path"]
    assert path.name == f"job-{job_id}.mp4" and path.parent == vault.root / "masked"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    d = view.result["description"]
    assert d["source"] == "cam-hol" and d["detector"]["threshold"] == 0.3
    assert d["manual_masks"][0]["note"] == "ekran" and d["video"]["frames"] == 30
    with av.open(str(path)) as c:
        assert not c.streams.audio and c.streams.video[0].frames == 30


@pytest.mark.parametrize(("args", "err", "en", "pl"), [
    ({"threshold": 1.2}, InputError, "threshold", "Próg wykrywania twarzy"),
    ({"every": 0}, InputError, "every 1 to 25 frames", "co 1 do 25 klatek"),
    ({"start": "2026-11-23T10:00:00"}, InputError, "needs a time zone", "strefę czasową"),
    ({"end": "wczoraj"}, InputError, "not a date and time", "nie jest datą"),
    ({"end": "START"}, InputError, "period is empty", "Okres jest pusty"),
    ({"end": "+5h"}, InputError, "at most 4 h", "najwyżej 4 godz."),
    ({"start": "-3h", "end": "-2h"}, NotFound, "no stored recording", "nie ma przechowywanych"),
    ({"masks": [{"x": 1, "y": 1, "w": 5, "h": 5, "from_s": 2, "to_s": 1}]}, InputError,
     "empty or negative", "pusty lub ujemny"),
    ({"source": "nie-ma"}, NotFound, "no source named", "Nie ma źródła"),
])
def test_bad_input_is_refused_before_queueing(stored: tuple[Vault, datetime],
                                              args: dict[str, Any], err: type[KustoszError],
                                              en: str, pl: str) -> None:
    vault, start = stored
    full: dict[str, Any] = {"source": "cam-hol", "start": start.isoformat(),
                            "end": (start + timedelta(seconds=1)).isoformat()}
    for key, value in args.items():
        if value == "START":
            value = start.isoformat()
        elif isinstance(value, str) and value[:1] in "+-" and value.endswith("h"):
            value = (start + timedelta(hours=int(value[:-1]))).isoformat()
        full[key] = value
    before = job_count(vault)
    with pytest.raises(err) as e:
        masking_period.defer(vault, jobs.SYSTEM, **full)
    assert en in str(e.value) and pl in (e.value.pl or "")
    assert job_count(vault) == before
    assert not (vault.root / "masked").exists()
