"""A PostgreSQL of the test's own behind a TCP proxy the test controls, for database outages
(issue 27): the shared test server (KUSTOSZ_TEST_PG) must never be stopped or cut.

    pg = PrivatePostgres(tmp_path)        # initdb + pg_ctl on a free port, trust auth
    proxy = Proxy(pg.port)                # serve talks to proxy.port, never to pg.port
    url = pg.url_via(proxy.port)          # postgresql://postgres@127.0.0.1:<proxy>/kustosz
    proxy.cut()       # every connection closed (RST), new ones refused: a server that is gone
    proxy.silence()   # connections accepted and held open, nothing forwarded either way:
                      # a server (or a network) that stops answering without closing anything
    proxy.restore()   # forwarding again; what was held is delivered, as a healed network would
    pg.freeze()       # SIGSTOP of the postmaster and every backend; pg.thaw() is SIGCONT
    proxy.close(); pg.stop()

The server runs as the `postgres` account when the tests run as root (PostgreSQL refuses to
run as root), in a folder of its own under the system's temporary folder (pytest's folders
are root's alone); otherwise in ``tmp``.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import psycopg

DATABASE = "kustosz"
START_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pg_bin(name: str) -> str:
    """The newest installed PostgreSQL's ``name`` (initdb and pg_ctl are not on PATH)."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if found:
        return found[-1]
    on_path = shutil.which(name)
    if on_path is None:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (Debian postgresql)")
    return on_path


def available() -> bool:
    try:
        pg_bin("initdb")
        pg_bin("pg_ctl")
    except RuntimeError:
        return False
    return os.geteuid() != 0 or _account() is not None


def _account() -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        return None


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                found.append(int(entry.name))
    return found


class PrivatePostgres:
    """initdb + pg_ctl start on a free port of 127.0.0.1, trust authentication, one database
    `kustosz`; ``stop()`` removes it."""

    def __init__(self, tmp: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        account = _account() if os.geteuid() == 0 else None
        if os.geteuid() == 0 and account is None:
            raise RuntimeError("running as root and there is no `postgres` account to run "
                               "PostgreSQL as")
        if account is not None:
            self.home = Path(tempfile.mkdtemp(prefix="kustosz-pg-"))
            os.chown(self.home, account.pw_uid, account.pw_gid)
        else:
            self.home = Path(tmp) / "private-pg"
            self.home.mkdir(parents=True)
        self._as = ["runuser", "-u", "postgres", "--"] if account is not None else []
        self.data = self.home / "data"
        self.log = self.home / "server.log"
        self._frozen = False
        self._run(pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--locale=C", "--no-sync")
        self.start()
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{DATABASE}"')

    def _run(self, *argv: str, timeout: float = START_TIMEOUT_S) -> None:
        done = subprocess.run([*self._as, *argv], capture_output=True, text=True,
                              timeout=timeout, cwd=self.home, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout}\n"
                               f"{done.stderr}\n{self.server_log()}")

    def server_log(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def start(self) -> None:
        # fsync off: the tests cut the network, never the machine's power.
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 "
                   f"-c unix_socket_directories={self.home} -c fsync=off "
                   "-c max_connections=200 -c log_min_messages=warning")
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w",
                  "-t", str(int(START_TIMEOUT_S)), "-o", options, "start",
                  timeout=START_TIMEOUT_S + 10)

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def url(self) -> str:
        """The database straight, not through a proxy (for the test's own reads)."""
        return self.url_via(self.port)

    def url_via(self, port: int) -> str:
        return f"postgresql://postgres@127.0.0.1:{port}/{DATABASE}"

    def new_database(self) -> str:
        """Another database of its own in this server (straight, not through a proxy)."""
        name = f"kt_{os.urandom(4).hex()}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    @property
    def pid(self) -> int:
        """The postmaster's process id."""
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def processes(self) -> list[int]:
        pid = self.pid
        return [pid, *_children(pid)]

    def freeze(self) -> None:
        """SIGSTOP the postmaster and its children: sockets stay open, nothing answers."""
        self._frozen = True
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        self._frozen = False

    def stop(self) -> None:
        if self._frozen:
            self.thaw()
        with contextlib.suppress(Exception):
            self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w",
                      "stop", timeout=30)
        shutil.rmtree(self.home, ignore_errors=True)


class Proxy:
    """A TCP proxy on 127.0.0.1 (a free port) to ``target_port``, run by an asyncio loop in a
    thread of its own. States: forwarding (the start, and after ``restore``), cut, silent."""

    def __init__(self, target_port: int, port: int | None = None,
                 target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = port or free_port()
        self.state = "forwarding"
        self.accepted = 0  # connections taken, over the proxy's life
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="pg-proxy",
                                        daemon=True)
        self._thread.start()
        self._server: asyncio.Server | None = None
        self._flowing: asyncio.Event | None = None
        self._links: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._call(self._setup())

    # -- control, from the test's thread --------------------------------------------------
    def _call(self, coro: Coroutine[Any, Any, Any], timeout: float = 15.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def cut(self) -> None:
        """Close every connection (reset) and refuse new ones (nothing listens)."""
        self._call(self._cut())

    def silence(self) -> None:
        """Keep every connection open and accept new ones, but forward nothing."""
        self._call(self._silence())

    def restore(self) -> None:
        self._call(self._restore())

    def url_for(self, url: str) -> str:
        """``url`` (of the proxied server) through this proxy."""
        return url.replace(f":{self.target[1]}/", f":{self.port}/")

    @property
    def connections(self) -> int:
        """Connections open through the proxy now."""
        return int(self._call(self._count()))

    def close(self) -> None:
        if self._loop.is_closed():
            return
        with contextlib.suppress(Exception):
            self._call(self._cut())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        if not self._thread.is_alive():
            self._loop.close()

    def __enter__(self) -> Proxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the loop's side ------------------------------------------------------------------
    async def _setup(self) -> None:
        self._flowing = asyncio.Event()
        self._flowing.set()
        await self._listen()

    async def _listen(self) -> None:
        deadline = time.monotonic() + 10
        while True:  # the port of a closed listener may take a moment to be free
            try:
                self._server = await asyncio.start_server(self._link, "127.0.0.1", self.port,
                                                          reuse_address=True)
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)

    async def _count(self) -> int:
        return len(self._links)

    async def _cut(self) -> None:
        self.state = "cut"
        assert self._flowing is not None
        self._flowing.set()  # pumps held by a silence wake up and find their sockets gone
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            _reset(writer)
        self._writers.clear()
        for task in list(self._links):
            task.cancel()
        if self._links:
            await asyncio.wait(list(self._links), timeout=5)

    async def _silence(self) -> None:
        assert self._flowing is not None
        if self._server is None:
            await self._listen()
        self._flowing.clear()
        self.state = "silent"

    async def _restore(self) -> None:
        assert self._flowing is not None
        if self._server is None:
            await self._listen()
        self.state = "forwarding"
        self._flowing.set()

    async def _link(self, client_r: asyncio.StreamReader,
                    client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None and self._flowing is not None
        if self.state == "cut":  # accepted just before the listener closed
            _reset(client_w)
            return
        self.accepted += 1
        self._links.add(task)
        self._writers.add(client_w)
        upstream_w: asyncio.StreamWriter | None = None
        try:
            await self._flowing.wait()  # a connection made during a silence waits for the end
            try:
                upstream_r, upstream_w = await asyncio.open_connection(*self.target)
            except OSError:
                return  # the server itself is down: the client sees its connection closed
            self._writers.add(upstream_w)
            pumps = [asyncio.ensure_future(self._pump(client_r, upstream_w)),
                     asyncio.ensure_future(self._pump(upstream_r, client_w))]
            try:
                await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for pump in pumps:
                    pump.cancel()
        except asyncio.CancelledError:
            pass
        finally:
            for writer in (client_w, upstream_w):
                if writer is not None:
                    self._writers.discard(writer)
                    with contextlib.suppress(Exception):
                        writer.close()
            self._links.discard(task)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self._flowing is not None
        while True:
            await self._flowing.wait()
            data = await reader.read(65536)
            # Read while forwarding, held if a silence began meanwhile.
            await self._flowing.wait()
            if not data:
                with contextlib.suppress(OSError):
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a reset (SO_LINGER 0), as a server that went away."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport = writer.transport
    with contextlib.suppress(Exception):
        transport.abort()
