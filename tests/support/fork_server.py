"""A fork server for tests that start one Python helper many times (issue 52 item 7).

A helper script started with ``python script.py`` pays the interpreter's start and the
imports of Kustosz (SQLAlchemy, the vault, the camera intake) anew every time: on the 2-core
machine 0.8–1.3 s of CPU a start, and the recovery test starts fifty. The server is one
Python process that imports the script's module once and then, for each run asked of it,
forks: the child takes its arguments, its own stdout and stderr files and the default signal
handlers, runs the module's ``main()`` and exits; the server waits for it and reports its
exit status as ``subprocess`` would (``-9`` for a SIGKILL). The server itself never runs
``main()`` and holds no thread, database connection or open vault, so every child starts from
the state a fresh start of the script reaches after its imports.

Only the start is shared: what the helper does and how it dies (killed at a point, stopped by
SIGTERM) is the child's own, a real process with its own pid.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import IO, Any

# The server's side: runs as ``python fork_server.py MODULE_PATH``.


def _child(module: Any, argv: list[str], out: str, err: str) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
    for fd, path in ((1, out), (2, err)):
        f = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(f, fd)
        os.close(f)
    os.close(0)
    sys.argv = argv
    code = 0
    try:
        module.main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # reported as Python reports it, then exit 1
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def _serve(path: str) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("forked_helper", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    answers = sys.stdout
    for line in sys.stdin:
        ask = json.loads(line)
        answers.flush()
        pid = os.fork()
        if pid == 0:
            _child(module, ask["argv"], ask["out"], ask["err"])
        _, status = os.waitpid(pid, 0)
        answers.write(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}) + "\n")
        answers.flush()


# The tests' side.


class ForkServer:
    """``with ForkServer(script, env) as fs: fs.run(args)`` — a `CompletedProcess` for each
    run of ``script``'s ``main()`` with ``sys.argv = [script, *args]``."""

    def __init__(self, script: Path, env: dict[str, str]) -> None:
        self.script = script
        self._dir = tempfile.TemporaryDirectory(prefix="forks-")
        self._lock = threading.Lock()
        self._runs = 0
        self._proc = subprocess.Popen(
            [sys.executable, __file__, str(script)], env=env, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, start_new_session=True)

    def run(self, args: list[str], timeout: float = 300.0) -> subprocess.CompletedProcess[str]:
        with self._lock:
            self._runs += 1
            out = Path(self._dir.name) / f"{self._runs}.out"
            err = Path(self._dir.name) / f"{self._runs}.err"
            argv = [str(self.script), *args]
            stdin, stdout = self._pipes()
            stdin.write(json.dumps({"argv": argv, "out": str(out), "err": str(err)}) + "\n")
            stdin.flush()
            try:
                line = _read_line(stdout, timeout)
            except TimeoutError:
                self._end()
                raise
            if not line:
                raise RuntimeError(f"the fork server of {self.script.name} ended: "
                                   f"{self._proc.wait()}")
            code = json.loads(line)["returncode"]
            return subprocess.CompletedProcess(argv, code, out.read_text(), err.read_text())

    def _pipes(self) -> tuple[IO[str], IO[str]]:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        return self._proc.stdin, self._proc.stdout

    def close(self) -> None:
        stdin, _ = self._pipes()
        if self._proc.poll() is None:
            stdin.close()
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._end()
        self._dir.cleanup()

    def _end(self) -> None:
        """The server and a child that hangs, killed (they share their process group)."""
        os.killpg(self._proc.pid, signal.SIGKILL)
        self._proc.wait()

    def __enter__(self) -> ForkServer:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _read_line(stream: IO[str], timeout: float) -> str:
    """One answer, or TimeoutError once ``timeout`` has passed (a child that hangs)."""
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if reader.is_alive():
        raise TimeoutError(f"no answer from the fork server in {timeout:.0f} s")
    return got[0]


if __name__ == "__main__":
    _serve(sys.argv[1])
