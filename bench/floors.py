"""Benchmark: the floors — what this machine itself allows, measured in the same run as the
benchmarks whose targets it bounds (issue 68 item 8).

A target of `docs/benchmarks.md` that is missed is either Kustosz's to close or the
machine's bound. This says which, with the machine's own figures:

* **hashes** — bytes per second of SHA-256 (Python's `hashlib`, OpenSSL, one thread, the
  digest every segment gets at intake) and of BLAKE3 (`b3sum --num-threads 1`, the reference
  implementation, Debian's `b3sum`), beside `sha256sum` run the same way, BLAKE2b and a plain
  memory copy; with the time each takes for one 10 s camera segment (5.25 MB) and the CPU's
  SHA and vector extensions. The recorders' target (≤ 1.05 of bare ffmpeg's CPU) leaves
  ~2.1–3.2 ms a segment: the SHA-256 line says whether the hash alone fits.
* **sendfile** — the kernel's own ceiling for serving files: one process answering
  ``--viewers`` connections on loopback with `sendfile(2)` of a 5.6 MB segment per request,
  the clients in another process reading into one buffer; bytes per second and segments per
  second. nginx in `bench/playback.py` cannot pass it, nor can anything else on this machine.
* **creates** — small files made durable: ``--files`` files of 3.2 kB written by
  ``--threads`` threads into one folder of ``--dir``'s disk, one `syncfs` per ``--batch``;
  files per second. The calls intake's
  target (5 000 files/s) is bounded by it.

PostgreSQL's `DROP TABLE` of a day, the sweep's floor, is measured by
`bench/partition_floor.py` beside the sweep's statements. Output: a table on stderr,
``--json`` one line on stdout.

Run: `.venv/bin/python bench/floors.py [--hash-mb 512] [--seconds 10] [--viewers 50]
[--files 30000] [--dir /var/tmp]`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import resource
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import _smoke  # bench/ is the script's folder
from kustosz.fsutil import syncfs

SEGMENT = 5_250_000  # a 10 s camera segment at ~4 Mbit/s (bench/recorders.py's material)
SERVED = 5_600_000  # an HLS segment of bench/playback.py's material
TINY = 3_200  # a tiny call recording of bench/calls.py
ROUNDS = 3  # best of: the floor is what the machine can do, not what it did once
Figures = dict[str, float | int | str]


def _cpu_flags() -> str:
    """The CPU's model and the extensions the hashes use (SHA-NI, AVX2, AVX-512)."""
    text = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    model = next((line.split(":", 1)[1].strip() for line in text.splitlines()
                  if line.startswith("model name")), "unknown")
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines()
                  if line.startswith("flags")), [])
    have = [name for name in ("sha_ni", "avx2", "avx512f") if name in flags]
    return f"{model} ({', '.join(have) or 'no SHA or vector extensions'})"


def _best_rate(work: Callable[[], int]) -> float:
    """Bytes per CPU-second of ``work`` (which returns the bytes it did) in this thread, best
    of ROUNDS: CPU, not wall time, so that other work on the machine does not count."""
    best = 0.0
    for _ in range(ROUNDS):
        started = time.thread_time()
        done = work()
        best = max(best, done / max(time.thread_time() - started, 1e-6))
    return best


def _in_process(total: int) -> dict[str, float]:
    """SHA-256, BLAKE2b and a copy over a segment-sized buffer, ``total`` bytes each."""
    block = os.urandom(SEGMENT)
    times = max(1, total // SEGMENT)

    def digest(name: str) -> Callable[[], int]:
        def work() -> int:
            for _ in range(times):
                hashlib.new(name, block).digest()
            return times * SEGMENT
        return work

    target = bytearray(SEGMENT)

    def copy() -> int:
        for _ in range(times):
            target[:] = block
        return times * SEGMENT

    return {"sha256": _best_rate(digest("sha256")), "blake2b": _best_rate(digest("blake2b")),
            "copy": _best_rate(copy)}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _command_rate(argv: list[str], path: Path) -> float:
    """Bytes per CPU-second of a hashing command over ``path`` (in the page cache), best of
    ROUNDS; its start-up (~1 ms) is in it, negligible beside hundreds of megabytes."""
    size = path.stat().st_size
    best = 0.0
    for _ in range(ROUNDS):
        before = _children_cpu()
        subprocess.run([*argv, str(path)], check=True, stdout=subprocess.DEVNULL)
        best = max(best, size / max(_children_cpu() - before, 1e-6))
    return best


def hashes(folder: Path, total: int) -> Figures:
    rates = _in_process(total)
    data = folder / "hashed.bin"
    with data.open("wb") as out:
        for _ in range(max(1, total // SEGMENT)):
            out.write(os.urandom(SEGMENT))
    data.read_bytes()  # into the page cache: the floor is the hash, not the disk
    rates["sha256sum"] = _command_rate(["sha256sum"], data)
    b3sum = shutil.which("b3sum")
    if b3sum:
        rates["b3sum, 1 thread"] = _command_rate([b3sum, "--num-threads", "1"], data)
    data.unlink()
    figures: Figures = {"cpu": _cpu_flags()}
    for name, rate in rates.items():
        figures[f"{name} GB/CPU-s"] = round(rate / 1e9, 3)
        figures[f"{name} ms a segment"] = round(SEGMENT / rate * 1000, 3)
    if not b3sum:
        figures["b3sum, 1 thread"] = "not installed (Debian's b3sum)"
    return figures


def _serve(listener: socket.socket, path: str, stop: float) -> None:
    """Each connection's byte asks for the file; it goes out whole by sendfile, non-blocking.
    Runs in its own process, as a server does."""
    listener.setblocking(False)
    size = os.stat(path).st_size
    fd = os.open(path, os.O_RDONLY)
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ, None)
    left: dict[socket.socket, int] = {}
    while time.monotonic() < stop:
        for key, _ in sel.select(timeout=0.2):
            conn = key.fileobj
            assert isinstance(conn, socket.socket)
            if key.data is None:
                new, _addr = listener.accept()
                new.setblocking(False)
                sel.register(new, selectors.EVENT_READ, "asked")
            elif key.data == "asked":
                if not conn.recv(1):
                    sel.unregister(conn)
                    conn.close()
                    continue
                left[conn] = size
                sel.modify(conn, selectors.EVENT_WRITE, "sending")
            else:
                try:
                    left[conn] -= os.sendfile(conn.fileno(), fd, size - left[conn], left[conn])
                except BlockingIOError:
                    continue
                if left[conn] == 0:
                    sel.modify(conn, selectors.EVENT_READ, "asked")


def _viewers(port: int, viewers: int, size: int, seconds: float,
             out: multiprocessing.Queue[tuple[int, float]]) -> None:
    """``viewers`` connections asking for the file back to back, reading into one buffer;
    puts how many files they received whole and in how many seconds."""
    sel = selectors.DefaultSelector()
    buffer = memoryview(bytearray(1 << 20))
    for _ in range(viewers):
        conn = socket.create_connection(("127.0.0.1", port))
        conn.setblocking(False)
        conn.send(b"?")
        sel.register(conn, selectors.EVENT_READ, [size])
    served = 0
    started = time.monotonic()
    stop = started + seconds
    while time.monotonic() < stop:
        for key, _ in sel.select(timeout=0.2):
            reader = key.fileobj
            assert isinstance(reader, socket.socket)
            try:
                got = reader.recv_into(buffer)
            except BlockingIOError:
                continue
            key.data[0] -= got
            if key.data[0] == 0:
                served += 1
                key.data[0] = size
                reader.send(b"?")
    out.put((served, time.monotonic() - started))


def sendfile_ceiling(folder: Path, seconds: float, viewers: int) -> Figures:
    path = folder / "served.ts"
    path.write_bytes(os.urandom(SERVED))
    listener = socket.create_server(("127.0.0.1", 0), backlog=viewers)
    port = listener.getsockname()[1]
    ctx = multiprocessing.get_context("fork")
    served: multiprocessing.Queue[tuple[int, float]] = ctx.Queue()
    server = ctx.Process(target=_serve, args=(listener, str(path), time.monotonic() + seconds + 30))
    server.start()
    listener.close()
    client = ctx.Process(target=_viewers, args=(port, viewers, SERVED, seconds, served))
    client.start()
    count, spent = served.get(timeout=seconds + 60)
    client.join(30)
    server.terminate()
    server.join(30)
    path.unlink()
    return {"viewers": viewers, "segments/s": round(count / spent, 1),
            "GB/s": round(count * SERVED / spent / 1e9, 3)}


def _create(target: Path, names: range, body: bytes, batch: int) -> None:
    for n in names:
        fd = os.open(target / f"{n:06d}.wav", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, body)
        finally:
            os.close(fd)
        if (n + 1) % batch == 0:
            syncfs(target)


def creates(folder: Path, files: int, batch: int, threads: int) -> Figures:
    """Files a second made durable, the calls intake's way: written by ``threads`` threads into
    one folder, one syncfs every ``batch`` files (of each thread) and one at the end."""
    target = folder / "creates"
    target.mkdir()
    body = os.urandom(TINY)
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        share = -(-files // threads)
        done = [pool.submit(_create, target, range(i * share, min(files, (i + 1) * share)),
                            body, batch) for i in range(threads)]
        for each in done:
            each.result()
    syncfs(target)
    spent = time.perf_counter() - started
    shutil.rmtree(target)
    return {"files": files, "threads": threads, "batch": batch,
            "files/s": round(files / spent)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hash-mb", type=int, default=512, help="bytes hashed a round, MB")
    parser.add_argument("--seconds", type=float, default=10, help="the sendfile run")
    parser.add_argument("--viewers", type=int, default=50)
    parser.add_argument("--files", type=int, default=30_000)
    parser.add_argument("--batch", type=int, default=500, help="files per syncfs")
    parser.add_argument("--threads", type=int, default=4, help="threads creating files")
    parser.add_argument("--dir", type=Path, default=None,
                        help="a folder on the disk to measure (default: $TMPDIR)")
    parser.add_argument("--json", action="store_true")
    args = _smoke.parse(parser, {"hash_mb": 16, "seconds": 1, "viewers": 4, "files": 300,
                                 "batch": 100})
    with tempfile.TemporaryDirectory(prefix="kustosz-floors-", dir=args.dir) as tmp:
        folder = Path(tmp)
        result = {
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "load": round(os.getloadavg()[0], 2),
            "hashes": hashes(folder, args.hash_mb * 1_000_000),
            "sendfile": sendfile_ceiling(folder, args.seconds, args.viewers),
            "creates": creates(folder, args.files, args.batch, args.threads),
        }
    for part in ("hashes", "sendfile", "creates"):
        section = result[part]
        assert isinstance(section, dict)
        for name, value in section.items():
            print(f"{part:9} {name:28} {value}", file=sys.stderr)
    print(f"date {result['date']}, load {result['load']}", file=sys.stderr)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
