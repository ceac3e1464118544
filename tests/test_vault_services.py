"""One way to reach a vault's services (issue 32 item 2): each is made once per vault, by
type, whichever thread asks first; a node's own replaces the default; the vault lets them go
when it closes; and no module patches an attribute onto the vault or keeps a weak registry
of vaults any more."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

from kustosz import jobs
from kustosz.clock.watch import ClockWatch
from kustosz.clock.watch import watch_of as clock_watch_of
from kustosz.ingest.camera.index_batch import SegmentIndex, index_of
from kustosz.ingest.upload_queue import UploadQueue, queue_of, use_folder
from kustosz.retention.pressure import DiskWatch, watch_of
from kustosz.vault import Vault
from kustosz.vault_services import Services
from kustosz.watchdog import Progress, new_progress, progress_of

SRC = Path(__file__).resolve().parents[1] / "src" / "kustosz"


class Thing:
    made = 0

    def __init__(self) -> None:
        Thing.made += 1


def test_made_once_whichever_thread_asks_first() -> None:
    services, Thing.made = Services(), 0
    got: list[Thing] = []
    start = threading.Barrier(8)

    def ask() -> None:
        start.wait()
        got.append(services.of(Thing, Thing))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert Thing.made == 1 and len(got) == 8 and all(g is got[0] for g in got)
    assert services.get(Thing) is got[0]


def test_put_replaces_drop_forgets_and_a_wrong_type_is_refused() -> None:
    services = Services()
    first = services.of(Thing, Thing)
    other = services.put(Thing, Thing())
    assert services.get(Thing) is other is not first
    services.drop(Thing, first)  # not the one held: nothing happens
    assert services.get(Thing) is other
    services.drop(Thing)
    assert services.get(Thing) is None
    with pytest.raises(TypeError):
        services.put(Thing, object())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        services.of(Thing, object)  # type: ignore[arg-type]
    assert services.get(Thing) is None


def test_the_vaults_services_are_its_own_and_go_when_it_closes(sqlite_vault: Vault,
                                                               tmp_path: Path) -> None:
    index, queue, watch = index_of(sqlite_vault), queue_of(sqlite_vault), watch_of(sqlite_vault)
    assert isinstance(index, SegmentIndex) and index_of(sqlite_vault) is index
    assert isinstance(queue, UploadQueue) and queue_of(sqlite_vault) is queue
    assert isinstance(watch, DiskWatch) and watch_of(sqlite_vault) is watch
    assert sqlite_vault.services.get(SegmentIndex) is index
    progress = progress_of(sqlite_vault)
    assert isinstance(progress, Progress) and progress_of(sqlite_vault) is progress
    assert new_progress(sqlite_vault) is not progress  # serve's fresh one
    assert isinstance(jobs.runner_of(sqlite_vault), jobs.Inline)  # none in use: the caller
    runner = jobs.Inline()
    jobs.use(sqlite_vault, runner)
    assert jobs.runner_of(sqlite_vault) is runner
    jobs.stop(sqlite_vault, 5)
    assert jobs.runner_of(sqlite_vault) is not runner
    assert clock_watch_of(sqlite_vault) is None  # nothing watches until serve registers one
    clock = ClockWatch(sqlite_vault).register()
    assert clock_watch_of(sqlite_vault) is clock
    ClockWatch(sqlite_vault).unregister()  # another watch's leaving does not remove it
    assert clock_watch_of(sqlite_vault) is clock
    clock.unregister()
    assert clock_watch_of(sqlite_vault) is None
    node = use_folder(sqlite_vault, tmp_path / "node-uploads")
    assert queue_of(sqlite_vault) is node is not queue
    sqlite_vault.services.close()
    assert sqlite_vault.services.get(SegmentIndex) is None
    assert sqlite_vault.services.get(UploadQueue) is None


def test_no_module_patches_the_vault_or_keeps_a_registry_of_vaults() -> None:
    patched = re.compile(r"\bvault\._[a-z_]+\s*=(?!=)")
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if path == SRC / "vault.py":
            continue  # the vault setting its own fields (Vault.open)
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if patched.search(code) or "WeakKeyDictionary" in code \
                    or 'info["storage"]' in code:
                found.append(f"{path.relative_to(SRC)}:{number}: {line.strip()}")
    assert found == []
