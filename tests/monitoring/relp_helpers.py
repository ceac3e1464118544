"""RELP clients for the tests: a small one written here (to send exactly the bytes a test
needs, bad ones included) and a real rsyslog (`rsyslogd` with `omrelp`, Debian rsyslog and
rsyslog-relp) run privately: its own configuration, work folder and pid file, reading a file
with `imfile` and sending it to the listener over RELP. The system's rsyslog is not used."""

from __future__ import annotations

import contextlib
import glob
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

RSYSLOGD = shutil.which("rsyslogd") or (
    "/usr/sbin/rsyslogd" if Path("/usr/sbin/rsyslogd").exists() else None)


class RelpClient:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def sendall(self, data: bytes) -> None:
        self.sock.sendall(data)

    def recv(self, n: int) -> bytes:
        if self.buf:
            data, self.buf = self.buf[:n], self.buf[n:]
            return data
        return self.sock.recv(n)

    def _more(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError(f"the server closed the session; left: {self.buf!r}")
        self.buf += data

    def rsp(self) -> tuple[int, int, bytes]:
        """One response frame: (txnr, status code, the rest of its data)."""
        while True:
            head = self.buf.split(b" ", 3)
            if len(head) == 4 and head[1] == b"rsp" and head[2].isdigit():
                size = int(head[2])
                start = len(head[0]) + len(head[1]) + len(head[2]) + 3
                if len(self.buf) >= start + size + 1:
                    data = self.buf[start:start + size]
                    assert self.buf[start + size:start + size + 1] == b"\n", self.buf
                    self.buf = self.buf[start + size + 1:]
                    return int(head[0]), int(data[:3]), data[4:]
            elif len(head) == 4 or (head and head[0] and not head[0].isdigit()):
                raise AssertionError(f"not a response frame: {self.buf[:200]!r}")
            self._more()


def rsp(client: RelpClient) -> tuple[int, int, bytes]:
    return client.rsp()


@contextlib.contextmanager
def relp_client(port: int, timeout: float = 10.0) -> Iterator[RelpClient]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        yield RelpClient(sock)
    finally:
        sock.close()


class Rsyslog:
    """A private rsyslogd: ``source`` (a file it follows) → omrelp → 127.0.0.1:``port``.
    It keeps what was not acknowledged and sends it again after a reconnect."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "work").mkdir(exist_ok=True)
        self.source = folder / "source.log"
        self.source.touch()
        self.pidfile = folder / "rsyslogd.pid"
        self.conf = folder / "rsyslog.conf"
        self.log = folder / "rsyslogd.out"
        self.conf.write_text(f"""\
global(workDirectory="{folder / 'work'}")
module(load="imfile" mode="inotify")
module(load="omrelp")
ruleset(name="to_kustosz") {{
  action(type="omrelp" target="127.0.0.1" port="{port}"
         template="RSYSLOG_SyslogProtocol23Format"
         action.resumeRetryCount="-1" action.resumeInterval="1" queue.type="LinkedList"
         queue.size="100000" queue.dequeueBatchSize="64")
}}
input(type="imfile" file="{self.source}" tag="kustosz-test" facility="local0"
      severity="info" ruleset="to_kustosz")
""")
        self.proc: subprocess.Popen[bytes] | None = None

    @staticmethod
    def has_omrelp() -> bool:
        return bool(glob.glob("/usr/lib/*/rsyslog/omrelp.so") + glob.glob(
            "/usr/lib/rsyslog/omrelp.so"))

    def start(self) -> None:
        assert RSYSLOGD
        check = subprocess.run([RSYSLOGD, "-N1", "-f", str(self.conf)], capture_output=True,
                               text=True, timeout=30)
        assert check.returncode == 0, check.stdout + check.stderr
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen([RSYSLOGD, "-n", "-f", str(self.conf), "-i",
                                          str(self.pidfile)], stdout=out,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while not self.pidfile.exists():
            assert self.proc.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "rsyslogd did not start"
            time.sleep(0.05)
        time.sleep(0.5)  # imfile has its watch in place

    def write_lines(self, lines: list[str]) -> None:
        with self.source.open("a") as f:
            for line in lines:
                f.write(line + "\n")
            f.flush()

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
