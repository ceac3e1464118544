"""A `kustosz serve` under test, as an office runs it, and what the reliability tests check.

The vault (Elbląg preset: cameras, the mail journal and IT events) keeps its index in a
private PostgreSQL reached only through a proxy the test controls (tests/support/pg_outage.py).
Serve runs as a real subprocess under the shipped unit's restart policy (unit.py); three RTSP
cameras (tests/support/rtsp.py, a pre-encoded clip: no encoding, little CPU) record 2-second
segments; an SMTP client and a JSON-over-HTTP client send throughout and note what was
acknowledged; alerts go to a webhook sink on loopback; a watcher notes every segment file
ffmpeg writes into the spool.

`Rig.outage(...)` runs a scenario's outage; `Rig.verdict()` checks, each by name, what must
hold afterwards (see `Verdict`).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import smtplib
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import select

import kustosz
from kustosz.db.events import MailMessage
from kustosz.db.models import Recording, Source
from kustosz.vault import Vault
from tests.conftest import Cli
from tests.reliability.unit import ServiceUnit
from tests.support.pg_outage import PrivatePostgres, Proxy, free_port
from tests.support.rtsp import RtspServer

SEGMENT_S = 2.0
CAMERAS = ("wejscie", "korytarz", "kasa")
ALERT_KIND = "database_unreachable"
# The grace the test gives the database alert (the kind's default is longer): the shortest
# outage here is 10 s, and the alert must reach the sink for it too.
ALERT_GRACE = "5 seconds"
START_S = 120.0  # serve up, every camera stored a segment, both listeners acknowledging
RECOVER_S = 180.0  # after the outage: everything working again with nobody's help
STOP_WITHIN_S = 10.0  # SIGTERM to exit (issue 14; issue 27: "in every state")
RESTART_HOLE_S = 45.0
# A segment file smaller than this may be a fragment with no whole frame, which recovery
# discards (whole 2-second segments of the test clip are 55-190 kB).
FRAGMENT_BYTES = 16_000  # the hole in a camera's recording that one restart of serve may cost


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def wait_for(check: Callable[[], object], timeout: float, what: str,
             also: Callable[[], str] = lambda: "") -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{also()}")
        time.sleep(0.25)


def _now() -> datetime:
    return datetime.now(UTC)


# -- the world around serve -------------------------------------------------------------------
class WebhookSink:
    """The alert channel: every POST with the moment it arrived."""

    def __init__(self) -> None:
        self.posts: list[tuple[datetime, dict[str, Any]]] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with contextlib.suppress(ValueError):
                    sink.posts.append((_now(), json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, name="webhook", daemon=True).start()

    def of_kind(self, kind: str, event: str = "start") -> list[tuple[datetime, dict[str, Any]]]:
        return [(at, p) for at, p in self.posts
                if kind in (p.get("kind"), p.get("alert_kind")) and p.get("event") == event]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class SenderLog:
    """What a client sent and what it was told, with the moments (UTC)."""

    acked: list[tuple[str, datetime]] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)  # answer -> how many
    failed: Counter[str] = field(default_factory=Counter)  # error -> how many
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ack(self, ident: str) -> None:
        with self.lock:
            self.acked.append((ident, _now()))

    def acked_between(self, start: datetime, end: datetime) -> int:
        with self.lock:
            return sum(start <= at <= end for _, at in self.acked)

    def acked_after(self, moment: datetime) -> int:
        with self.lock:
            return sum(at > moment for _, at in self.acked)


class JsonSender(threading.Thread):
    """Batches of five events with a sequence number, one batch every 0.2 s."""

    def __init__(self, port: int, token: str) -> None:
        super().__init__(name="json-sender", daemon=True)
        self.port, self.token = port, token
        self.log = SenderLog()
        self.stop = threading.Event()
        self._seq = 0

    def run(self) -> None:
        while not self.stop.wait(0.2):
            batch = [f"e{self._seq + i}" for i in range(5)]
            self._seq += 5
            body = json.dumps([{"time": _now().isoformat(), "host": "pc-1",
                                "message": "usb connected", "seq": s} for s in batch]).encode()
            request = urllib.request.Request(
                f"http://127.0.0.1:{self.port}/events", data=body, method="POST",
                headers={"Authorization": f"Bearer {self.token}",
                         "Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=5) as answer:
                    result = json.loads(answer.read())
                    status = answer.status
                if status == 202 and result.get("accepted") == len(batch):
                    for s in batch:
                        self.log.ack(s)
                else:
                    self.log.refused[f"{status} {result.get('accepted')}"] += 1
            except urllib.error.HTTPError as exc:
                self.log.refused[str(exc.code)] += 1
            except (OSError, ValueError) as exc:
                self.log.failed[type(exc).__name__] += 1


def mail(i: int) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "jan.kowalski@elblag.eu"
    msg["To"] = "biuro@example.com"
    msg["Subject"] = f"Pismo {i}"
    msg["Date"] = "Sun, 22 Nov 2026 10:00:00 +0100"
    msg["Message-ID"] = f"<outage-{i}@elblag.eu>"
    msg.set_content(f"Treść pisma {i}")
    return msg


class SmtpSender(threading.Thread):
    """A journal message every 0.3 s over one connection, a new one after any error."""

    def __init__(self, port: int) -> None:
        super().__init__(name="smtp-sender", daemon=True)
        self.port = port
        self.log = SenderLog()
        self.stop = threading.Event()

    def run(self) -> None:
        i = 0
        while not self.stop.is_set():
            try:
                with smtplib.SMTP("127.0.0.1", self.port, timeout=5) as smtp:
                    while not self.stop.wait(0.3):
                        i += 1
                        smtp.send_message(mail(i))  # returns after the "250"
                        self.log.ack(f"<outage-{i}@elblag.eu>")
            except smtplib.SMTPResponseException as exc:
                self.log.refused[str(exc.smtp_code)] += 1
                self.stop.wait(0.3)
            except (OSError, smtplib.SMTPException) as exc:
                self.log.failed[type(exc).__name__] += 1
                self.stop.wait(0.3)


@dataclass
class Seen:
    first: datetime
    size: int
    mtime: float


class SpoolWatcher(threading.Thread):
    """Every segment file ffmpeg writes into the spool: (source id, session, name) -> Seen."""

    def __init__(self, spool: Path) -> None:
        super().__init__(name="spool-watcher", daemon=True)
        self.spool = spool
        self.seen: dict[tuple[int, str, str], Seen] = {}
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def run(self) -> None:
        while not self.stop.wait(0.25):
            self.look()

    def look(self) -> None:
        for path in self.spool.glob("*/*/seg*.ts"):
            try:
                st = path.stat()
            except OSError:
                continue
            key = (int(path.parent.parent.name), path.parent.name, path.name)
            with self.lock:
                known = self.seen.get(key)
                if known is None:
                    self.seen[key] = Seen(_now(), st.st_size, st.st_mtime)
                else:
                    known.size, known.mtime = max(known.size, st.st_size), st.st_mtime

    def newest(self, source_id: int) -> datetime | None:
        """When ffmpeg last wrote into a segment file of this camera."""
        with self.lock:
            times = [s.mtime for (sid, _, _), s in self.seen.items() if sid == source_id]
        return datetime.fromtimestamp(max(times), UTC) if times else None


# -- the rig ----------------------------------------------------------------------------------
@dataclass
class Outage:
    what: str
    began: datetime
    ended: datetime | None = None


class Rig:
    def __init__(self, tmp: Path, pg: PrivatePostgres, proxy: Proxy, rtsp: RtspServer,
                 hook: WebhookSink) -> None:
        from kustosz.alert_kinds import KINDS
        from kustosz.cameras.register import add_site, add_zone
        from tests.cameras.camera_helpers import register_camera

        self.tmp, self.pg, self.proxy, self.hook = tmp, pg, proxy, hook
        self.cli = Cli(tmp / "vault")
        self.data = self.cli.data
        self.cli("init", "--preset", "elblag", "--database-url", pg.url_via(proxy.port))
        alerts = f'\n[alerts.webhook]\nurl = "{hook.url}"\n'
        self.alert_kind_known = ALERT_KIND in KINDS
        if self.alert_kind_known:  # before it exists, naming it would stop serve starting
            alerts += f'[alerts.kinds.{ALERT_KIND}]\ngrace = "{ALERT_GRACE}"\n'
        config = self.data / "kustosz.toml"
        config.write_text(config.read_text() + alerts)
        self.smtp_port, self.json_port, self.web_port = free_port(), free_port(), free_port()
        self.cli("mail", "add", "journal", "--listen", f"127.0.0.1:{self.smtp_port}",
                 "--office-domain", "elblag.eu")
        out = self.cli("events", "add", "siem", "--http", f"127.0.0.1:{self.json_port}").output
        found = re.search(r"API token \(shown only now\): (\S+)", out)
        assert found, out
        self.token = found.group(1)
        vault = Vault.open(self.data)
        try:
            with vault.transaction() as s:
                add_site(s, "Ratusz", "test", "Rynek 1")
                add_zone(s, "Ratusz", "hol parter", "corridor", "test")
            self.cameras = {register_camera(vault, name, rtsp.url(i + 1),
                                            segment=SEGMENT_S).source_id: name
                            for i, name in enumerate(CAMERAS)}
        finally:
            vault.close()
        # Serve runs the code this test imported (a checkout's src, whatever is installed).
        src = str(Path(kustosz.__file__).resolve().parents[1])
        self.unit = ServiceUnit([sys.executable, "-m", "kustosz", "--data", str(self.data),
                                 "serve", "--port", str(self.web_port)], tmp,
                                env={"PYTHONPATH": src})
        self.watcher = SpoolWatcher(self.data / "spool" / "cameras")
        self.json = JsonSender(self.json_port, self.token)
        self.smtp = SmtpSender(self.smtp_port)
        self.outages: list[Outage] = []
        self.notes: list[str] = []  # what the test saw, for the report
        self.recovered: dict[str, float] = {}  # check -> seconds after the outage ended
        self.stop_took: float | None = None
        self.stop_code: int | None = None
        self.stopped_at: datetime | None = None
        self._reader: Vault | None = None

    # -- reading the vault (only while the database is reachable) ---------------------------
    @contextlib.contextmanager
    def reading(self) -> Iterator[Any]:
        if self._reader is None:
            self._reader = Vault.open(self.data)
        with self._reader.reading() as s:
            yield s

    def stored(self, source_id: int | None = None,
               after: datetime | None = None) -> list[Recording]:
        with self.reading() as s:
            q = select(Recording).where(Recording.state == "stored")
            if source_id is not None:
                q = q.where(Recording.source_id == source_id)
            if after is not None:
                q = q.where(Recording.start_at > after)
            return list(s.execute(q.order_by(Recording.start_at)).scalars())

    def _try(self, read: Callable[[], object]) -> object:
        """A read that may meet the database still coming back: False then."""
        try:
            return read()
        except Exception as exc:  # the database not yet back: try again at the next turn
            self.notes.append(f"read failed: {type(exc).__name__}: {str(exc)[:120]}")
            return False

    def said(self) -> str:
        return (f"unit: {self.unit.state}, {self.unit.restarts} restart(s)\n"
                f"{self.unit.history()}\n{self.unit.logs()}")

    # -- running ------------------------------------------------------------------------------
    def start(self) -> None:
        self.watcher.start()
        self.unit.start()
        wait_for(lambda: _listening(self.smtp_port) and _listening(self.json_port), START_S,
                 "the SMTP and JSON listeners", self.said)
        self.json.start()
        self.smtp.start()
        began = _now()
        wait_for(lambda: all(self._try(lambda sid=sid: self.stored(sid))
                             for sid in self.cameras), START_S, "a segment of every camera",
                 self.said)
        wait_for(lambda: self.json.log.acked_after(began) and self.smtp.log.acked_after(began),
                 START_S, "both senders acknowledged", self.said)

    def warm_up(self, segments: int = 3) -> None:
        wait_for(lambda: all(len(self.stored(sid)) >= segments for sid in self.cameras),
                 START_S, f"{segments} segments of every camera", self.said)

    def outage(self, what: str, begin: Callable[[], None], end: Callable[[], None] | None,
               seconds: float) -> Outage:
        """``begin``, ``seconds`` of outage (the unit emulation goes on meanwhile), then
        ``end`` (None: the outage does not end within the test's time)."""
        out = Outage(what, _now())
        self.outages.append(out)
        begin()
        self.unit.note(f"outage: {what} began")
        time.sleep(seconds)  # the outage itself: nothing to wait for but its end
        self.during = self._during(out)
        if end is not None:
            end()
            out.ended = _now()
            self.unit.note(f"outage: {what} ended")
        return out

    def _during(self, out: Outage) -> dict[str, Any]:
        """What holds at the end of the outage, before it is over."""
        now = _now()
        recent = now - timedelta(seconds=3 * SEGMENT_S + 5)
        writing = {}
        for sid, name in self.cameras.items():
            newest = self.watcher.newest(sid)
            writing[name] = newest is not None and newest > recent
        return {"alive": self.unit.alive(), "state": self.unit.state, "writing": writing,
                "json_acked": self.json.log.acked_between(out.began, now),
                "smtp_acked": self.smtp.log.acked_between(out.began, now),
                "json_refused": dict(self.json.log.refused),
                "smtp_refused": dict(self.smtp.log.refused),
                "json_failed": dict(self.json.log.failed),
                "smtp_failed": dict(self.smtp.log.failed)}

    def recover(self, timeout: float = RECOVER_S) -> None:
        """After the outage: wait (up to ``timeout``) for each sign of serve working again,
        noting how long each took; what does not come is found by the verdict."""
        out = self.outages[-1]
        back = out.ended or _now()
        t0 = time.monotonic()
        signs: dict[str, Callable[[], object]] = {
            "serve running": self.unit.alive,
            "json acknowledged": lambda: self.json.log.acked_after(back),
            "smtp acknowledged": lambda: self.smtp.log.acked_after(back),
            "every camera stored a segment recorded after the outage": lambda: all(
                self._try(lambda sid=sid: self.stored(sid, after=back))
                for sid in self.cameras),
            "web app answers": self._web_answers,
        }
        if self.alert_kind_known:
            signs["database alert at the sink"] = lambda: self.hook.of_kind(ALERT_KIND)
        deadline = t0 + timeout
        pending = dict(signs)
        while pending and time.monotonic() < deadline:
            if self.unit.state == "failed":  # nothing restarts it now: a person would have to
                break
            for name, check in list(pending.items()):
                if check():
                    self.recovered[name] = time.monotonic() - t0
                    del pending[name]
            time.sleep(0.5)
        # Then a little more recording: what came back keeps going (two more segments each).
        if not pending:
            counts = {sid: len(self.stored(sid)) for sid in self.cameras}
            with contextlib.suppress(AssertionError):
                wait_for(lambda: all(len(self.stored(sid)) >= counts[sid] + 2
                                     for sid in self.cameras), 30, "two more segments")

    def _web_answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/login",
                                        timeout=5) as answer:
                return bool(answer.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def finish(self) -> None:
        """Senders stop; serve is stopped as systemctl stops it; whatever a kill left in the
        spool is taken in by one more start and stop (as the next boot would)."""
        self.json.stop.set()
        self.smtp.stop.set()
        self.json.join(15)
        self.smtp.join(15)
        self.stopped_at = _now()  # the recording runs to here (SIGTERM closes the segments)
        if self.unit.alive():
            self.stop_took, self.stop_code = self.unit.stop()
        else:
            self.unit.stop()
        self.watcher.look()
        if self._leftovers():
            self.notes.append(f"the spool held {len(self._leftovers())} segment file(s) after "
                              "the stop: one more start takes them in")
            self._settle()
        self.watcher.stop.set()
        self.watcher.join(5)

    def _leftovers(self) -> list[Path]:
        return [p for p in (self.data / "spool").rglob("*") if p.is_file()
                and (p.suffix == ".ts" or p.name == "chunk.jsonl")]

    def _settle(self) -> None:
        settle = ServiceUnit(self.unit.argv, self.tmp / "settle", env=self.unit.env)
        (self.tmp / "settle").mkdir(exist_ok=True)
        left = self._leftovers()
        settle.start()
        try:
            # Until what the stop left is taken in, not only until the "start-up recovery"
            # status: that is said as recovery begins, and chunks are taken in as their
            # listeners start, after READY=1; a stop before leaves the rest to the next start
            # (CI: the settling start was stopped while closing a chunk, its row left pending).
            wait_for(lambda: settle.current is not None and settle.current.ready_at is not None
                     and not any(p.exists() for p in left), START_S,
                     f"the settling start to take in {len(left)} file(s) the stop left",
                     lambda: settle.logs())
            settle.stop()
        finally:
            settle.close()

    def close(self) -> None:
        for sender in (self.json, self.smtp):
            sender.stop.set()
        self.watcher.stop.set()
        self.unit.close()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                self._reader.close()

    # -- the verdict ---------------------------------------------------------------------------
    def verdict(self, restarts_allowed: bool) -> Verdict:
        return Verdict(self, restarts_allowed).run()


class Verdict:
    """Each invariant by name: passed, or why not. ``restarts_allowed``: a restart of serve by
    the unit's watchdog is an acceptable answer to this outage (a database that holds
    connections open without answering); a cut database never needs one."""

    def __init__(self, rig: Rig, restarts_allowed: bool) -> None:
        self.rig = rig
        self.restarts_allowed = restarts_allowed
        self.failed: dict[str, str] = {}
        self.passed: list[str] = []
        self.facts: dict[str, Any] = {}

    def check(self, name: str, problem: str | None) -> None:
        if problem:
            self.failed[name] = problem
        else:
            self.passed.append(name)

    def run(self) -> Verdict:
        rig = self.rig
        vault = Vault.open(rig.data)
        try:
            with vault.reading() as s:
                rows = list(s.execute(select(Recording)).scalars())
                names = dict(s.execute(select(Source.id, Source.name)).all())
                mail_ids = Counter(s.execute(select(MailMessage.message_id)).scalars())
            self._index_equals_files(vault, rows)
            self._acknowledged(vault, rows, names, mail_ids)
            cams = {sid: sorted((r for r in rows if r.source_id == sid and r.state == "stored"),
                                key=lambda r: r.start_at) for sid in rig.cameras}
            self._no_overlap(cams)
            self._true_times(vault, cams)
            self._nothing_lost(cams)
            self._holes(cams)
        finally:
            vault.close()
        self._alert()
        self._alive()
        return self

    def _index_equals_files(self, vault: Vault, rows: list[Recording]) -> None:
        problems = [f"row {r.id} is {r.state}" for r in rows if r.state != "stored"]
        keys = {r.storage_key for r in rows}
        files = set(vault.storage.keys())
        problems += [f"row without file: {k}" for k in sorted(keys - files)[:5]]
        problems += [f"file without row: {k}" for k in sorted(files - keys)[:5]]
        for r in rows:
            if r.storage_key in files and vault.storage.hash_of(r.storage_key) != r.sha256:
                problems.append(f"hash differs: {r.storage_key}")
        self.facts["rows"] = len(rows)
        self.check("index_equals_files", "; ".join(problems[:10]))

    def _acknowledged(self, vault: Vault, rows: list[Recording], names: dict[int, str],
                      mail_ids: Counter[str]) -> None:
        rig = self.rig
        lost_mail = [m for m, _ in rig.smtp.log.acked if m not in mail_ids]
        seqs: Counter[str] = Counter()
        for r in rows:
            if names.get(r.source_id) == "siem" and r.state == "stored":
                for raw in vault.storage.path(r.storage_key).read_bytes().splitlines():
                    line = json.loads(raw)
                    if isinstance(line.get("data"), dict) and "seq" in line["data"]:
                        seqs[str(line["data"]["seq"])] += 1
        lost_json = [e for e, _ in rig.json.log.acked if e not in seqs]
        self.facts.update(smtp_acked=len(rig.smtp.log.acked), json_acked=len(rig.json.log.acked),
                          smtp_refused=dict(rig.smtp.log.refused),
                          json_refused=dict(rig.json.log.refused),
                          smtp_failed=dict(rig.smtp.log.failed),
                          json_failed=dict(rig.json.log.failed))
        problems = []
        if lost_mail:
            problems.append(f"{len(lost_mail)} of {len(rig.smtp.log.acked)} mails answered 250 "
                            f"are not in the vault (first {lost_mail[:3]})")
        if lost_json:
            problems.append(f"{len(lost_json)} of {len(rig.json.log.acked)} events answered 202 "
                            f"are not in the vault (first {lost_json[:3]})")
        self.check("no_acknowledged_lost", "; ".join(problems))

    def _no_overlap(self, cams: dict[int, list[Recording]]) -> None:
        problems = []
        for sid, recs in cams.items():
            for a, b in itertools.pairwise(recs):
                overlap = (a.end_at - b.start_at).total_seconds()
                if overlap > 0.001:
                    problems.append(f"{self.rig.cameras[sid]}: {a.meta.get('segment')} "
                                    f"({a.start_at:%H:%M:%S.%f}-{a.end_at:%H:%M:%S.%f}) and "
                                    f"{b.meta.get('segment')} ({b.start_at:%H:%M:%S.%f}) overlap "
                                    f"by {overlap:.2f} s")
        self.facts["overlaps"] = len(problems)
        self.check("no_two_segments_of_a_camera_overlap",
                   f"{len(problems)} overlaps: " + "; ".join(problems[:5]) if problems else None)

    def _true_times(self, vault: Vault, cams: dict[int, list[Recording]]) -> None:
        """The stored file keeps the mtime ffmpeg gave it (it is renamed, not copied, into
        storage): the moment ffmpeg closed it. The stored end must be within one segment
        length of that moment, the start before it."""
        problems = []
        worst = 0.0
        for sid, recs in cams.items():
            for r in recs:
                closed = datetime.fromtimestamp(
                    vault.storage.path(r.storage_key).stat().st_mtime, UTC)
                off = (r.end_at - closed).total_seconds()
                worst = max(worst, abs(off))
                if abs(off) > SEGMENT_S or r.start_at > closed:
                    problems.append(f"{self.rig.cameras[sid]} {r.meta.get('session')}/"
                                    f"{r.meta.get('segment')}: stored {r.start_at:%H:%M:%S.%f}-"
                                    f"{r.end_at:%H:%M:%S.%f}, ffmpeg closed it at "
                                    f"{closed:%H:%M:%S.%f} ({off:+.1f} s"
                                    f"{', partial' if r.meta.get('partial') else ''})")
        self.facts["worst_time_offset_s"] = round(worst, 2)
        self.check("every_segment_stored_at_its_true_time",
                   f"{len(problems)} segments: " + "; ".join(problems[:5]) if problems else None)

    def _nothing_lost(self, cams: dict[int, list[Recording]]) -> None:
        """Every segment file ffmpeg wrote is stored (but a fragment of no whole frame)."""
        stored = {(sid, r.meta.get("session"), r.meta.get("segment"))
                  for sid, recs in cams.items() for r in recs}
        rig = self.rig
        with rig.watcher.lock:
            seen = dict(rig.watcher.seen)
        lost = sorted(k for k, s in seen.items()
                      if k not in stored and s.size >= FRAGMENT_BYTES)
        self.facts["segments_seen"] = len(seen)
        self.facts["segments_stored"] = sum(len(r) for r in cams.values())
        self.check("no_recorded_segment_lost",
                   f"{len(lost)} segment files ffmpeg wrote are not stored: "
                   + ", ".join(f"{rig.cameras.get(k[0])}/{k[1]}/{k[2]}" for k in lost[:6])
                   if lost else None)

    def _holes(self, cams: dict[int, list[Recording]]) -> None:
        rig = self.rig
        allowed = 2 * SEGMENT_S + rig.unit.restarts * RESTART_HOLE_S
        holes = {}
        for sid, recs in cams.items():
            gaps = [(b.start_at - a.end_at).total_seconds() for a, b in itertools.pairwise(recs)]
            if recs and rig.stopped_at is not None:  # recording that stopped and never resumed
                gaps.append((rig.stopped_at - recs[-1].end_at).total_seconds())
            holes[rig.cameras[sid]] = round(max(gaps, default=0.0), 1)
        self.facts["largest_hole_s"] = holes
        too_big = {k: v for k, v in holes.items() if v > allowed}
        self.check("no_hole_in_recording",
                   f"holes of {too_big} s (allowed {allowed:.0f} s with "
                   f"{rig.unit.restarts} restart(s))" if too_big else None)

    def _alert(self) -> None:
        rig = self.rig
        posts = rig.hook.of_kind(ALERT_KIND)
        self.facts["alerts_at_sink"] = [(p.get("kind"), p.get("alert_kind"), p.get("event"),
                                         f"{at:%H:%M:%S}") for at, p in rig.hook.posts]
        out = rig.outages[-1]
        if not posts:
            self.check("database_alert_at_the_sink",
                       f"no {ALERT_KIND} alert reached the webhook (kind known to the code: "
                       f"{rig.alert_kind_known}); the sink got {self.facts['alerts_at_sink']}")
            return
        first = posts[0][0]
        self.facts["alert_after_s"] = round((first - out.began).total_seconds(), 1)
        self.check("database_alert_at_the_sink", None)

    def _alive(self) -> None:
        rig = self.rig
        during = getattr(rig, "during", {})
        self.facts["during_outage"] = during
        self.facts["recovered_after_s"] = {k: round(v, 1) for k, v in rig.recovered.items()}
        self.facts["restarts"] = rig.unit.restarts
        self.facts["unit_state_before_stop"] = during.get("state")
        problems = []
        if not during.get("alive"):
            problems.append(f"serve was not running at the end of the outage "
                            f"(unit {during.get('state')})")
        not_writing = [k for k, v in during.get("writing", {}).items() if not v]
        if not_writing:
            problems.append(f"no segment written to the spool lately by {not_writing}")
        self.check("recording_throughout_the_outage", "; ".join(problems))
        wanted = ["serve running", "json acknowledged", "smtp acknowledged",
                  "every camera stored a segment recorded after the outage", "web app answers"]
        missing = [w for w in wanted if w not in rig.recovered]
        self.check("serve_recording_again_by_itself",
                   f"within {RECOVER_S:.0f} s of the outage's end, not: {missing}; unit "
                   f"{rig.unit.state} after {rig.unit.restarts} restart(s)" if missing else None)
        ended_by_itself = [r for r in rig.unit.runs[:-1] if r.result not in ("watchdog",)]
        if self.restarts_allowed:
            self.check("serve_never_ended_by_itself",
                       f"{len(ended_by_itself)} run(s) ended on their own: "
                       + ", ".join(f"{r.result} {r.code}" for r in ended_by_itself)
                       if ended_by_itself else None)
        else:
            self.check("serve_never_restarted",
                       f"{rig.unit.restarts} restart(s): "
                       + ", ".join(f"{r.result} {r.code}" for r in rig.unit.runs[:-1])
                       if rig.unit.restarts else None)
        if rig.stop_took is None:
            self.check("sigterm_stops_serve_within_10_s",
                       f"serve was not running to be stopped (unit {rig.unit.state})")
        else:
            self.facts["stop_took_s"] = round(rig.stop_took, 1)
            self.check("sigterm_stops_serve_within_10_s",
                       f"took {rig.stop_took:.1f} s, status {rig.stop_code}"
                       if rig.stop_took > STOP_WITHIN_S or rig.stop_code != 0 else None)

    def report(self) -> str:
        lines = [f"passed: {', '.join(self.passed)}"]
        lines += [f"FAILED {name}: {why}" for name, why in self.failed.items()]
        lines += [f"{k}: {v}" for k, v in self.facts.items()]
        lines += self.rig.notes[-5:]
        return "\n".join(lines)
