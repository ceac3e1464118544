"""A node whose database connection stalls (the packets stop, no error: a frozen proxy, a cut
cable) stops its camera's ffmpeg before the lease runs out, though the threads that would
normally stop it hang in database calls; another node gets the camera only after. A node whose
name another process took over stops its work and exits non-zero, saying why (EN and PL).

The node reaches PostgreSQL through `StallingProxy`, a TCP forwarder in the test that can stop
forwarding (both ways, sockets left open) and go on again."""

from __future__ import annotations

import select
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import text

from kustosz.cli.serve import run_node
from kustosz.cluster.coordinator import Coordinator
from kustosz.cluster.settings import ClusterSettings
from kustosz.cluster.work import node_spool
from kustosz.db.engine import make_engine
from kustosz.errors import ConfigError
from kustosz.ingest.camera.recorder import RecorderOptions
from kustosz.ingest.camera.simulated import start_simulated_camera
from kustosz.vault import Vault
from tests.cameras.camera_helpers import stored, wait_for
from tests.cluster.test_fencing import _ffmpeg_writing_into

CAM = "camera:kamera-demo"


class StallingProxy:
    """Forwards 127.0.0.1:<port> to the database; `stall()` stops moving bytes (the node's
    queries wait for an answer that does not come), `resume()` goes on. `stall(answers=True)`
    stops the node's requests only: an answer the database owes already still arrives, and
    nothing asked later is answered."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.asking = threading.Event()  # the node's bytes to the database
        self.answering = threading.Event()  # the database's bytes to the node
        self.resume()
        self.closed = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True, name="proxy").start()

    def stall(self, answers: bool = False) -> None:
        self.asking.clear()
        if not answers:
            self.answering.clear()

    def resume(self) -> None:
        self.asking.set()
        self.answering.set()

    def close(self) -> None:
        self.closed.set()
        self.resume()
        self.listener.close()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            threading.Thread(target=self._pipe, args=(client, server), daemon=True).start()

    def _pipe(self, client: socket.socket, server: socket.socket) -> None:
        peer = {client: server, server: client}
        gate = {client: self.asking, server: self.answering}
        try:
            while not self.closed.is_set():
                moving = [sock for sock, open_ in gate.items() if open_.is_set()]
                if not moving:
                    time.sleep(0.05)
                    continue
                ready, _, _ = select.select(moving, [], [], 0.1)
                for sock in ready:
                    if not gate[sock].is_set():
                        continue
                    data = sock.recv(65536)
                    if not data:
                        return
                    peer[sock].sendall(data)
        except OSError:
            return
        finally:
            client.close()
            server.close()


def _through(url: str, port: int) -> str:
    return sa.make_url(url).set(host="127.0.0.1", port=port).render_as_string(
        hide_password=False)


def _direct(vault: Vault, url: str) -> Vault:
    """The same vault read over a connection of its own (not through the proxy)."""
    return Vault(vault.root, vault.config, vault.policy, make_engine(url))


def test_a_node_whose_database_stalls_kills_its_ffmpeg_before_the_lease_runs_out(
        tmp_path: Path, pg_database: str) -> None:
    pg = sa.make_url(pg_database)
    proxy = StallingProxy((pg.host or "127.0.0.1", pg.port or 5432))
    vault = Vault.init(tmp_path / "vault", "pleszew", _through(pg_database, proxy.port),
                       actor="test")
    direct = _direct(vault, pg_database)
    start_simulated_camera(vault, segment_seconds=1.0, start=False)
    stop = threading.Event()
    node = threading.Thread(target=run_node, args=(vault, stop, ClusterSettings(
        "a", 6.0, 2.0)), kwargs={"options": RecorderOptions(measure_clock=False)})
    node.start()
    spool = node_spool(vault, "a")
    other = Coordinator(direct, ClusterSettings("b", 6.0, 2.0), lambda: [CAM])
    try:
        wait_for(lambda: len(stored(direct)) >= 2 and _ffmpeg_writing_into(spool), 30,
                 "recording")
        proxy.stall()
        with direct.engine.connect() as conn:
            until = conn.execute(text("SELECT until FROM leases WHERE resource = :r"),
                                 {"r": CAM}).scalar_one().replace(tzinfo=UTC)
        stalled = datetime.now(UTC)
        other.register()
        gone_at = taken = None
        while datetime.now(UTC) < until + timedelta(seconds=3) and taken is None:
            if gone_at is None and not _ffmpeg_writing_into(spool):
                gone_at = datetime.now(UTC)
            other.tick()  # the other node claims whatever is free, as it would
            if CAM in other.holding():
                taken = datetime.now(UTC)
            time.sleep(0.05)
        assert gone_at is not None, "ffmpeg still ran when the lease ran out"
        assert gone_at <= until, (gone_at, until)
        assert taken is not None and taken >= until >= gone_at, (taken, until, gone_at)
        assert (datetime.now(UTC) - stalled).total_seconds() < 10  # stalled all along
        proxy.resume()
        time.sleep(3.0)  # the node's threads get their answers and find the lease gone
        for rec in stored(direct):  # nothing of the stalled node after it lost the lease
            assert rec.end_at <= until, (rec.start_at, rec.end_at, until)
        assert not _ffmpeg_writing_into(spool)
    finally:
        proxy.resume()
        stop.set()
        node.join(30)
        other.close()
        proxy.close()
        direct.engine.dispose()
        vault.close()
    assert not node.is_alive()


def test_a_node_whose_name_was_taken_over_stops_and_exits_with_a_clear_error(
        pg_vault: Vault) -> None:
    start_simulated_camera(pg_vault, segment_seconds=1.0, start=False)
    stop = threading.Event()
    failed: list[BaseException] = []

    def node() -> None:
        try:
            run_node(pg_vault, stop, ClusterSettings("a", 6.0, 2.0),
                     options=RecorderOptions(measure_clock=False))
        except BaseException as exc:
            failed.append(exc)

    thread = threading.Thread(target=node)
    thread.start()
    spool = node_spool(pg_vault, "a")
    try:
        wait_for(lambda: len(stored(pg_vault)) >= 1 and _ffmpeg_writing_into(spool), 30,
                 "recording")
        # What `serve --node a` started elsewhere does once this one stopped beating.
        with pg_vault.engine.begin() as conn:
            conn.execute(text("UPDATE nodes SET incarnation = 'other', pid = 1 "
                              "WHERE name = 'a'"))
        thread.join(20)
        assert not thread.is_alive(), "the node did not exit"
        assert not _ffmpeg_writing_into(spool)
    finally:
        stop.set()
        thread.join(30)
    (exc,) = failed
    assert isinstance(exc, ConfigError)
    assert "took over this node's name" in str(exc)
    assert exc.pl and "przejął nazwę tego węzła" in exc.pl
    with pg_vault.engine.connect() as conn:  # its leases, now the name's new holder's: kept
        assert conn.execute(text("SELECT node FROM leases WHERE resource = :r"),
                            {"r": CAM}).scalar_one() == "a"


def test_serve_whose_node_name_was_taken_over_exits_non_zero_and_a_restart_is_refused(
        pg_vault: Vault) -> None:
    """The real command: `serve --node a` exits with status 2 and the message in English and
    Polish; started again (as systemd would) while the name's new holder beats, it is refused
    naming who holds the name."""
    with (pg_vault.root / "kustosz.toml").open("a") as f:
        f.write("\n[cluster]\nlease_seconds = 6\nmargin_seconds = 2\n")
    argv = [sys.executable, "-m", "kustosz", "--data", str(pg_vault.root), "serve", "--node",
            "a", "--port", "0", "--log-format", "text"]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        def registered() -> bool:
            with pg_vault.engine.connect() as conn:
                return conn.execute(text("SELECT count(*) FROM nodes WHERE name = 'a' AND "
                                         "pid = :p"), {"p": proc.pid}).scalar_one() == 1

        wait_for(registered, 30, "the node to register")
        take_over = text("UPDATE nodes SET incarnation = 'other', pid = 1, "
                         "last_seen = now() AT TIME ZONE 'UTC' WHERE name = 'a'")
        with pg_vault.engine.begin() as conn:
            conn.execute(take_over)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    said = err.decode() + out.decode()
    assert proc.returncode == 2, said
    assert "error: node a: another kustosz serve took over this node's name" in said
    assert "błąd: Węzeł a: inny kustosz serve przejął nazwę tego węzła" in said
    # The new holder beats for as long as the second start takes: a start slower than the
    # lease (a loaded machine) must still find the name held, as it would in production.
    beating = threading.Event()

    def beat() -> None:
        while not beating.is_set():
            with pg_vault.engine.begin() as conn:
                conn.execute(take_over)
            beating.wait(1.0)

    beater = threading.Thread(target=beat, daemon=True)
    beater.start()
    try:
        again = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    finally:
        beating.set()
        beater.join(30)
    said = again.stderr.decode() + again.stdout.decode()
    assert again.returncode == 2, said
    assert "node name 'a' is in use by a running kustosz serve" in said
    assert "Nazwa węzła „a” jest zajęta" in said
