"""Backups of a running vault (issue 14 item 5): the real `python -m kustosz serve` records the
demo's simulated camera (real ffmpeg, 2-second segments) and takes in syslog events from a
sender that keeps sending, with an audit witness outside the data folder. Under it the
[backup] schedule makes its first backup; `kustosz backup --base` (another process) makes a
second one meanwhile. On SQLite and PostgreSQL. Restored into a new folder (and database),
both pass `audit verify` (against a new
witness that agrees with the old one up to the backup) and the hash check."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from kustosz.backup.layout import MANIFEST
from kustosz.backup.restore import restore
from kustosz.backup.schedule import finished
from kustosz.ingest.camera.simulated import start_simulated_camera
from kustosz.vault import Vault
from tests.conftest import PG, Cli
from tests.test_backup import PASSPHRASE, passphrase_file
from tests.test_graceful_stop import Served, _port, _stored, _vault, served  # noqa: F401


def _vault_on(tmp_path: Path, url: str) -> tuple[Cli, int]:
    """test_graceful_stop's vault (camera, syslog source, witness) on the given database."""
    if not url:
        return _vault(tmp_path, segment_seconds=2.0)
    cli = Cli(tmp_path / "vault")
    cli("init", "--preset", "elblag", "--database-url", url)
    witness = tmp_path / "witness"
    witness.mkdir(mode=0o700)
    config = cli.data / "kustosz.toml"
    config.write_text(config.read_text().replace(
        "\ncheckpoint_minutes = 15\n",
        f'\nwitness = "{witness / "kustosz-witness.jsonl"}"\ncheckpoint_minutes = 15\n'))
    vault = Vault.open(cli.data)
    start_simulated_camera(vault, segment_seconds=2.0, start=False)
    vault.close()
    syslog = _port()
    cli("events", "add", "siem", "--syslog-tcp", f"127.0.0.1:{syslog}")
    return cli, syslog


def _new_database(server: str, schema: str) -> Iterator[str]:
    name = f"kt_restore_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server.replace("postgresql://", "postgresql+psycopg://", 1),
                             isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        base = sa.engine.make_url(server).set(database=name)
        yield f"{base.render_as_string(hide_password=False)}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.mark.slow
def test_backup_while_serve_records_and_ingests(tmp_path: Path, served: list[Served],  # noqa: F811
                                                backend_url: str) -> None:
    cli, syslog = _vault_on(tmp_path, backend_url)
    secret = tmp_path / "secret"
    secret.mkdir()
    pp = passphrase_file(secret)
    (tmp_path / "kopie").mkdir(mode=0o700)
    config = cli.data / "kustosz.toml"
    config.write_text(config.read_text() + f'\n[backup]\nfolder = "{tmp_path / "kopie"}"\n'
                      f'at = "00:00"\npassphrase_file = "{pp}"\nkeep = 3\n')
    serve = Served(cli.data, [])
    served.append(serve)
    serve.wait_for(lambda: len(_stored(cli.data, "kamera-demo")) >= 2, 90, "two segments")

    sending = threading.Event()
    sent = [0]

    def send() -> None:
        with socket.create_connection(("127.0.0.1", syslog), timeout=10) as sock:
            while not sending.is_set():
                sock.sendall(f"<13>1 2026-11-22T10:00:00Z pc-17 app - - - event {sent[0]}\n"
                             .encode())
                sent[0] += 1
                time.sleep(0.01)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    # The schedule's first backup: "00:00" has passed today, so it is due at serve's start.
    serve.wait_for(lambda: bool(finished(tmp_path / "kopie")), 60, "the scheduled backup")
    (scheduled,) = finished(tmp_path / "kopie")
    manual = tmp_path / "reczna"
    made = subprocess.run(
        [sys.executable, "-m", "kustosz", "--data", str(cli.data), "backup", "--to",
         str(manual), "--base", str(scheduled), "--passphrase-file", str(pp)],
        capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stdout + made.stderr
    assert "Kopia zapasowa" not in made.stderr
    sending.set()
    sender.join(10)
    assert sent[0] > 50
    code, _took = serve.terminate()
    assert code == 0, serve.said()

    live = {r.id: r.sha256 for r in _stored(cli.data, "kamera-demo")}
    for n, folder in enumerate((scheduled, manual)):
        manifest = json.loads((folder / MANIFEST).read_text())
        assert not manifest["problems"]
        # The schedule's backup was made as serve started; the later one while it recorded.
        assert manifest["media"] or folder == scheduled
        with contextlib.ExitStack() as stack:
            target = None
            if backend_url:
                assert PG
                target = stack.enter_context(contextlib.contextmanager(_new_database)(
                    PG, backend_url.split("%3D", 1)[1]))
            report = restore(folder, tmp_path / f"nowy-{n}", PASSPHRASE, target, actor="test")
            assert report.ok, (report.audit_problems, report.media_problems)
            restored = {r.id: r.sha256
                        for r in _stored(tmp_path / f"nowy-{n}", "kamera-demo")}
            if n == 1:
                verified = subprocess.run([sys.executable, "-m", "kustosz", "--data",
                                           str(tmp_path / "nowy-1"), "audit", "verify"],
                                          capture_output=True, text=True, timeout=60)
                assert verified.returncode == 0, verified.stdout + verified.stderr
                assert "signed checkpoints agree" in verified.stdout
        assert report.media_checked == len(manifest["media"])
        assert report.witness_note and "new witness file" in report.witness_note
        # Every segment the backup holds is the live vault's, byte for byte.
        assert all(live.get(rid) == sha for rid, sha in restored.items())
        # The camera's media only: a run across a full hour also backs up the syslog source's
        # chunk of the hour that ended (a fresh clone's run at 06:59:53 UTC had 3 of 4).
        cams = [m for m in manifest["media"] if m["key"].startswith("kamera-demo/")]
        assert len(restored) == len(cams), (restored, manifest["media"])
    # The second backup is newer: it holds at least what the first did, linked, not copied.
    first = json.loads((scheduled / MANIFEST).read_text())
    second = json.loads((manual / MANIFEST).read_text())
    assert {m["key"] for m in first["media"]} <= {m["key"] for m in second["media"]} \
        or first["deletions_after"] < second["deletions_after"]
    for m in first["media"]:
        if m["key"] in {x["key"] for x in second["media"]}:
            assert (scheduled / "media" / m["key"]).stat().st_ino == \
                (manual / "media" / m["key"]).stat().st_ino
