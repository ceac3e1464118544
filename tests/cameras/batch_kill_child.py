"""Child of test_segment_batches: takes the spooled segments of every camera in, one thread a
camera as the recorders do, and SIGKILLs itself at the given point of the first batch."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

from kustosz.ingest.camera import index_batch
from kustosz.ingest.camera.command import LIST_NAME
from kustosz.ingest.camera.segments import parse_rows
from kustosz.ingest.camera.spool import Session, leftover_sessions
from kustosz.vault import Vault


def die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    root, spool, point = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    sources = [int(x) for x in sys.argv[4].split(",")]
    vault = Vault.open(root)
    index = index_batch.index_of(vault)
    index.window_s = 2.0  # every camera's first segment in the first batch
    cls = index_batch.SegmentIndex
    if point == "after_insert":  # rows pending, nothing renamed
        insert = cls._insert

        def after_insert(self, jobs):  # type: ignore[no-untyped-def]
            out = insert(self, jobs)
            die()
            return out
        cls._insert = after_insert  # type: ignore[method-assign]
    elif point == "mid_renames":  # some renamed, some not, nothing synced or marked
        put = cls._put
        calls = [0]

        def mid(self, queue, job, placed):  # type: ignore[no-untyped-def]
            calls[0] += 1
            if calls[0] == 2:
                die()
            return put(self, queue, job, placed)
        cls._put = mid  # type: ignore[method-assign]
    elif point == "after_renames":  # every file renamed and flushed, no row marked stored
        put_all = cls._put_all

        def after_renames(self, placed):  # type: ignore[no-untyped-def]
            out = put_all(self, placed)
            die()
            return out
        cls._put_all = after_renames  # type: ignore[method-assign]
    elif point == "after_batch":  # the first batch committed, the cameras not yet told
        batch = cls._batch

        def after_batch(self, jobs):  # type: ignore[no-untyped-def]
            batch(self, jobs)
            die()
        cls._batch = after_batch  # type: ignore[method-assign]

    def camera(source_id: int) -> None:
        for folder in leftover_sessions(spool, source_id):
            session = Session(vault, source_id, folder.name, folder)
            for seg in parse_rows((folder / LIST_NAME).read_text()):
                session.take(seg)

    threads = [threading.Thread(target=camera, args=(sid,)) for sid in sources]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("finished without a kill", flush=True)


if __name__ == "__main__":
    main()
