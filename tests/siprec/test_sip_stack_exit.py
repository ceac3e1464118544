"""serve ends with status 0 after its SIP threads have come and gone (sip_stack.py).

sippy's reactor singleton, made on import, keeps a pointer into the importing thread's
thread-local storage; serve imports the SIP code in its SIPREC and capture threads. Each case
here runs a real interpreter that imports in a thread which then ends, lets another thread
reuse the freed memory (small mallocs, as any later thread's work does), and exits. The first
case shows the harness reproduces the fault of sippy imported bare (status -11, SIGSEGV);
should a later sippy fix it, that case fails and says the workaround can go."""

from __future__ import annotations

import ast
import signal
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "kustosz"

EXIT_AFTER_A_THREAD = """
import ctypes, os, threading, time
ids = []
def load():
    ids.append(threading.get_native_id())
    import {module}  # noqa: F401
t = threading.Thread(target=load); t.start(); t.join()
# join returns before the thread has left the kernel: only then are its TLS block and its
# malloc arena given back for the next thread to take (a loaded fresh-clone run raced it)
deadline = time.monotonic() + 30
while os.path.exists(f"/proc/self/task/{{ids[0]}}") and time.monotonic() < deadline:
    time.sleep(0.01)
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
def reuse():  # the ended thread's arena, its freed 16-byte block written over
    for _ in range(2000):
        ctypes.memset(libc.malloc(16), 0x41, 16)
t = threading.Thread(target=reuse); t.start(); t.join()
"""


def _exit_status(module: str) -> int:
    return subprocess.run([sys.executable, "-c", EXIT_AFTER_A_THREAD.format(module=module)],
                          capture_output=True, timeout=60).returncode


def test_the_harness_reproduces_sippy_crashing_at_exit_when_imported_in_a_thread() -> None:
    assert _exit_status("sippy.SipRequest") == -signal.SIGSEGV


@pytest.mark.parametrize("module", [
    "kustosz.ingest.phone.siprec.run",    # serve's SIPREC thread
    "kustosz.ingest.phone.capture.run",   # serve's capture thread
])
def test_a_process_that_loaded_the_sip_code_in_a_thread_exits_cleanly(module: str) -> None:
    assert _exit_status(module) == 0


def test_sippy_is_imported_only_through_sip_stack() -> None:
    """A module importing sippy on its own could load the reactor with no exit hook set."""
    direct = []
    for path in SRC.rglob("*.py"):
        if path.name == "sip_stack.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            direct += [f"{path.relative_to(SRC)}: {n}" for n in names
                       if n == "sippy" or n.startswith("sippy.")]
    assert direct == []
