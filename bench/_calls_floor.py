"""The calls intake's floor (issue 68 item 8): what any intake keeping the calls' promises must
do for each file, written as plainly as Python allows — `os`, `hashlib`, `csv` and `sqlite3`,
none of Kustosz — and timed on the same spool in the same run as the scan (`bench/calls.py`).

Per file, what a promise asks and nothing more:

* the spool walked once (`os.scandir` of each day folder) and each file's `lstat` (a regular
  file, not a link: the path checks);
* its Master.csv line parsed (cdr_csv's quoting, `csv`) and paired by the uniqueid in the
  file's name: the caller, the callee and the time the index searches by (R4);
* its bytes read once, the WAV header checked from them, SHA-256, and written under a new
  name that refuses an existing one (`O_EXCL`), by ``threads`` threads; one `syncfs` a batch
  (R1.1: the bytes durable before the index says "stored");
* one SQLite transaction a batch, committed durably (WAL, `synchronous=FULL`): a row a file
  (the spool path unique, so a file is never taken twice; key, size, hash, times, caller,
  callee, uniqueid) and one audit row naming the batch's list by its SHA-256 (R6).

Left out, though the scan does them: the pending rows written before the copies (a crash
between the copies and the commit leaves files without rows here, which a recovery would
have to find by listing), the sidecars, retention's expiry, the spool marks of files not
taken, the audit chain's head file. So the floor is below any real intake: if it does not
reach a target, the machine does not allow it; if it does, the rest is Kustosz's to close.
"""

from __future__ import annotations

import csv
import hashlib
import os
import sqlite3
import stat
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

from kustosz.fsutil import syncfs

SCHEMA = """
CREATE TABLE recordings (id INTEGER PRIMARY KEY, spool_path TEXT NOT NULL UNIQUE,
    storage_key TEXT NOT NULL UNIQUE, size INTEGER NOT NULL, sha256 TEXT NOT NULL,
    start_at TEXT NOT NULL, end_at TEXT NOT NULL, caller TEXT, callee TEXT, uniqueid TEXT);
CREATE INDEX recordings_start ON recordings (start_at);
CREATE INDEX recordings_caller ON recordings (caller, start_at);
CREATE TABLE audit (id INTEGER PRIMARY KEY, at TEXT NOT NULL, what TEXT NOT NULL,
    list_sha256 TEXT NOT NULL);
"""
# Master.csv columns (cdr_csv with loguniqueid and newcdrcolumns): src, dst, start, billsec
# and uniqueid are what the pairing and the index need.
SRC, DST, START, BILLSEC, UNIQUEID = 1, 2, 9, 13, 16


def _records(master: Path) -> dict[str, tuple[str, str, datetime, int]]:
    with master.open(newline="", encoding="utf-8") as f:
        return {row[UNIQUEID]: (row[SRC], row[DST], datetime.fromisoformat(row[START]),
                                int(row[BILLSEC]))
                for row in csv.reader(f) if len(row) > UNIQUEID}


def _walk(spool: Path) -> list[tuple[str, str]]:
    """(relative path, day folder) of every regular file, folders listed once."""
    out: list[tuple[str, str]] = []
    stack = [""]
    while stack:
        rel = stack.pop()
        with os.scandir(os.path.join(spool, rel)) as it:
            for entry in it:
                path = f"{rel}/{entry.name}" if rel else entry.name
                if entry.is_dir(follow_symlinks=False):
                    stack.append(path)
                elif entry.is_file(follow_symlinks=False):
                    out.append((path, rel))
    out.sort()
    return out


def _copy(spool: Path, store: Path, rel: str) -> tuple[int, str]:
    with open(os.path.join(spool, rel), "rb") as f:
        data = f.read()
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError(f"{rel}: not a WAV file")
    fd = os.open(os.path.join(store, rel), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    return len(data), hashlib.sha256(data).hexdigest()


def floor_scan(spool: Path, master: Path, work: Path, threads: int = 4,
               batch: int = 2048) -> int:
    """Take every file of ``spool`` into ``work`` the floor's way; the files taken."""
    store = work / "store"
    db = sqlite3.connect(work / "index.sqlite", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.executescript(SCHEMA)
    records = _records(master)
    files = _walk(spool)
    for day in {folder for _, folder in files}:
        (store / day).mkdir(parents=True, exist_ok=True)
    taken = 0
    with ThreadPoolExecutor(threads) as pool:
        for first in range(0, len(files), batch):
            part = files[first:first + batch]
            for rel, _ in part:  # the path checks: a regular file, not a link (one lstat)
                if not stat.S_ISREG(os.lstat(os.path.join(spool, rel)).st_mode):
                    raise ValueError(f"{rel}: not a regular file")
            copied = list(pool.map(lambda rel: _copy(spool, store, rel),
                                   [rel for rel, _ in part]))
            syncfs(store)
            rows = []
            for (rel, _), (size, sha) in zip(part, copied, strict=True):
                uniqueid = rel.rsplit("-", 1)[1].removesuffix(".wav")
                src, dst, start, billsec = records[uniqueid]
                rows.append((rel, rel, size, sha, start.isoformat(),
                             (start + timedelta(seconds=billsec)).isoformat(), src, dst,
                             uniqueid))
            listed = hashlib.sha256("\n".join(f"{r[1]} {r[3]}" for r in rows).encode())
            db.execute("BEGIN")
            db.executemany("INSERT INTO recordings (spool_path, storage_key, size, sha256, "
                           "start_at, end_at, caller, callee, uniqueid) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            db.execute("INSERT INTO audit (at, what, list_sha256) VALUES (?, ?, ?)",
                       (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                        f"recordings {first + 1}..{first + len(rows)}", listed.hexdigest()))
            db.execute("COMMIT")
            taken += len(rows)
    db.close()
    return taken
