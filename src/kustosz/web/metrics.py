"""`/metrics` in the Prometheus text format (issue 14 item 4), for the monitoring the office
already has: per source whether it delivers, how old its newest material is, how long its gaps
were and how much it stores; the sweep, holds, requests, copies, open alerts, the disk and the
listeners' counters.

Read from the database at scrape time by a custom collector, on a registry of each app's own
(no global state shared between apps). Inside `kustosz serve` the app also gets what serve
knows in memory (`attach_live`): a camera is up only while its recorder runs and closed a
segment within `LIVE_SEGMENTS` segment lengths (the status row in the database is written by
that recorder and says nothing once it stopped or hangs), and `kustosz_database_up` follows
serve's database watch (kustosz.db.watch). While the database is away the scrape still
answers, from memory alone: `kustosz_database_up 0` and the cameras' `kustosz_source_up`
(labelled as at the last scrape that could read the database).

Reached with an API token of scope `metrics` or from an address of `[web] metrics_from`
(default: this machine only); no login, no CSRF (GET only).

Labels carry no personal data and no whereabouts. Every source is labelled by its kind and
id (`camera-7`, `phone-3`): offices name cameras after where they hang (`gabinet-burmistrza-
ratusz-p1`), and lines and mailboxes after rooms and people (`tel55x239x3000`), and where
cameras hang is the employer's secret (R1.7) — no filter can tell a place from any other word
(issue 48 item 11). Names are shown only to a token whose owner holds the camera locations
right (PERMS["locations"]), and such a scrape is recorded as a view of camera locations
(`camera_locations.view`, at most once an hour per person: Prometheus scrapes every few
seconds); even then a name that looks like a phone number or holds the name of a person the
vault knows stays by id. Calls recorded now, and a line's newest call, bytes and calls
counted, are one number for all lines (metrics_calls.py): per line, second by second, they
would tell when who is on the phone. Counter labels are the code's own reason names.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kustosz.addresses import in_networks
from kustosz.cameras.register import latest_onvif_offsets
from kustosz.custody.copies import list_copies
from kustosz.custody.holds import list_holds
from kustosz.custody.requests import list_requests
from kustosz.db.access import Employee
from kustosz.db.calls import PhoneIntakeState
from kustosz.db.cameras import Camera, CameraDevice, Gap, RecorderStatus
from kustosz.db.custody import User
from kustosz.db.deadline import hurry
from kustosz.db.events import IntakeCounter
from kustosz.db.models import Alert, Recording, Source, Sweep
from kustosz.db.outage import is_database_away
from kustosz.index.forecast import forecast
from kustosz.ingest.chunks.counters import counter_times
from kustosz.ingest.mail.settings import DEFAULT_POLL_S, MailSettings
from kustosz.ingest.phone.siprec import status as siprec_status
from kustosz.ingest.refusals import counts as refusal_counts
from kustosz.ingest.upload_queue import queue_of
from kustosz.kinds import SourceKind, kind_of
from kustosz.phones.settings import PhoneSettings
from kustosz.states import RecorderState, RecordingState, RequestStatus, SweepMode
from kustosz.vault import Vault
from kustosz.web import locations
from kustosz.web.common import Ctx, context
from kustosz.web.gate import Rule
from kustosz.web.metrics_calls import PER_CALL_COUNTERS, all_lines, per_item, recording_now

router = APIRouter(include_in_schema=False)

SCOPE = "metrics"
IMAP_POLLS_MISSED = 3
# A recording camera is down when no segment was stored for this many segment lengths (at
# least STALE_MIN_S seconds): the recorder stalled, or `serve` stopped without saying so.
SEGMENTS_MISSED = 3
STALE_MIN_S = 60.0  # an IMAP mailbox is down after this many missed polls
# What serve knows in memory: a recorder that closed no segment for this many segment lengths
# (plus LIVE_SLACK_S: ffmpeg cuts at key frames, a little after the nominal length) does not
# record, whatever its status row says.
LIVE_SEGMENTS = 2.0
LIVE_SLACK_S = 5.0
SCRAPE_DB_S = 10.0  # a scrape waits no longer for any answer of the database (a scraper's limit)
_PHONE_LIKE = re.compile(r"\d{7,}")
_COUNTER_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


# -- the gate: a token of scope `metrics`, or an address on the metrics allow-list ----------
@dataclass(frozen=True)
class Scrape:
    ctx: Ctx
    refused: str | None  # why (English, for the scraper's log); None: allowed


@dataclass(frozen=True)
class ScrapeRule(Rule):
    """The gate of /metrics (declared like every route's, `check_declared` sees it). A bearer
    token is judged as a token (it must carry the scope; the address does not rescue a wrong
    one); without one the caller's address must be on `[web] metrics_from`."""

    async def __call__(self, request: Request) -> Scrape:  # type: ignore[override]
        ctx = context(request)
        ctx.rule = self
        if ctx.via_token:
            if ctx.user is None:
                return Scrape(ctx, "the token is unknown, expired or revoked")
            if self.scope not in ctx.scopes:
                return Scrape(ctx, f"the token lacks the scope {self.scope!r}")
            if ctx.must_change:
                return Scrape(ctx, "the token's owner must first change the one-time password")
            return Scrape(ctx, None)
        if in_networks(ctx.client, ctx.vault.config.metrics_from):
            return Scrape(ctx, None)
        return Scrape(ctx, "this address may not read the metrics (see [web] metrics_from "
                           "in kustosz.toml) and no token of scope 'metrics' was sent")


LOCATIONS_AUDIT_EVERY = timedelta(hours=1)
_registries_lock = threading.Lock()


def _shows_names(scrape: Scrape) -> bool:
    """Camera names only to a token whose owner may see camera locations (R1.7)."""
    return scrape.ctx.via_token and scrape.ctx.user is not None and scrape.ctx.may("locations")


def _record_view(request: Request, scrape: Scrape) -> None:
    user = scrape.ctx.user
    assert user is not None
    now = datetime.now(UTC)
    with _registries_lock:
        seen: dict[int, datetime] | None = getattr(request.app.state,
                                                   "metrics_locations_seen", None)
        if seen is None:
            seen = request.app.state.metrics_locations_seen = {}
        last = seen.get(user.id)
        if last is not None and now - last < LOCATIONS_AUDIT_EVERY:
            return
        seen[user.id] = now

    locations.viewed(scrape.ctx, "metrics: camera names")


@router.get("/metrics")
def metrics(request: Request, scrape: Scrape = Depends(ScrapeRule(scope=SCOPE))) -> Response:
    if scrape.refused is not None:
        return PlainTextResponse(f"403 forbidden: {scrape.refused}\n", status_code=403)
    names = _shows_names(scrape)
    state = request.app.state
    with _registries_lock:
        registries: dict[bool, CollectorRegistry] | None = getattr(
            state, "metrics_registries", None)
        if registries is None:
            registries = state.metrics_registries = {}
        registry = registries.get(names)
        if registry is None:
            registry = CollectorRegistry(auto_describe=False)
            registry.register(VaultCollector(scrape.ctx.vault,
                                             lambda: getattr(state, "metrics_live", None),
                                             camera_names=names))
            registries[names] = registry
    body = generate_latest(registry)
    if names:
        _record_view(request, scrape)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


# -- what serve knows in memory -------------------------------------------------------------
@dataclass(frozen=True)
class Live:
    """``recorders``: source id -> its running recorder (kustosz.ingest.camera.recorder:
    ``alive``, ``down_since``, ``recorded_until`` or ``last_end``, ``job.segment_seconds``);
    None where this process
    does not record the cameras (a node of several: another node may). ``database``: the
    database watch (``reading.up``: True, False or None before its first probe)."""

    recorders: Callable[[], Mapping[int, Any]] | None = None
    database: Any = None

    def database_up(self) -> bool | None:
        return None if self.database is None else self.database.reading.up


def attach_live(app: Any, pool: Any = None, watch: Any = None) -> Live:
    """Give the web app of `serve` its recorders (a RecorderPool) and its database watch."""
    live = Live(pool.recorders.copy if pool is not None else None, watch)
    app.state.metrics_live = live
    return live


def recorder_up(recorder: Any, now: datetime) -> bool:
    """A camera records while its recorder runs, is in no hole and closed a segment lately."""
    if recorder is None or not recorder.alive or recorder.down_since is not None:
        return False
    # when ffmpeg last closed a segment, by its file's time (into the spool while the database
    # is away; last_end lags the clock after ffmpeg hung), else the last one indexed
    last = recorder.recorded_until or recorder.last_end
    fresh = timedelta(seconds=LIVE_SEGMENTS * recorder.job.segment_seconds + LIVE_SLACK_S)
    return last is not None and now - last <= fresh


# -- what is measured -----------------------------------------------------------------------
def _folded(text: str) -> str:
    """Lower case without diacritics (source names are ASCII: 'Wiśniewski' is 'wisniewski')."""
    text = text.lower().replace("ł", "l")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if c.isascii())


def people_words(session: Session) -> frozenset[str]:
    """Words of the people the vault knows (accounts' logins and names, employees' names),
    at least four letters long, folded: a source name containing one names a person."""
    texts = [*session.execute(select(User.name)).scalars(),
             *session.execute(select(User.display_name)).scalars(),
             *session.execute(select(Employee.full_name)).scalars()]
    return frozenset(w for text in texts for w in re.split(r"[^a-z0-9]+", _folded(text))
                     if len(w) >= 4)


def source_label(source: Source, people: frozenset[str] = frozenset(),
                 camera_names: bool = False) -> str:
    """A source's kind and id; its name only with ``camera_names`` (the scraper may see
    camera locations). Offices name lines and mailboxes after places and people as they name
    cameras (`gabinet-burmistrza-ratusz-p1`, `tel55x239x3000`: issue 48 item 11) — no filter
    tells a place or a number written around from any other word. Even then a name that looks
    like a phone number or holds a person's name stays by id."""
    name = source.name.lower()
    if not camera_names or _PHONE_LIKE.search(re.sub(r"[._-]", "", name)) \
            or any(w in name for w in people):
        return f"{source.kind}-{source.id}"
    return source.name


def _seconds(delta: timedelta) -> float:
    return max(0.0, delta.total_seconds())


def source_up(session: Session, source: Source, now: datetime,
              recorder: RecorderStatus | None, policy_tz: Any,
              newest: datetime | None = None) -> bool:
    """Whether an enabled source delivers: a camera whose recorder records (and, unless it has
    only just started, stored a segment lately — a status row left at "recording" by a
    `serve` that died says nothing); a phone line whose PBX spool is reachable and not silent
    past its `silent_minutes` in working hours (as its alert judges it); a mailbox or endpoint
    with a delivery (an IMAP poll) recently enough."""
    if source.kind == SourceKind.CAMERA:
        if recorder is None or recorder.state != RecorderState.RECORDING:
            return False
        segment = session.execute(select(Camera.segment_seconds).where(
            Camera.source_id == source.id)).scalar_one_or_none() or 10.0
        fresh = timedelta(seconds=max(STALE_MIN_S, SEGMENTS_MISSED * segment))
        return now - recorder.since <= fresh or (newest is not None and now - newest <= fresh)
    if source.kind == SourceKind.PHONE:
        if not source.settings.get("spool") and \
                source.settings.get("intake") not in ("siprec", "capture"):
            return False  # never configured: nothing can arrive
        cfg = PhoneSettings.of(source.settings)
        if cfg.by_siprec:  # the SBC's sessions reach this serve's recording server
            if not siprec_status.current().listening:
                return False
        elif cfg.by_capture:  # the capture process reads the port for this serve
            port = siprec_status.current("capture")
            if not port.connected or port.interfaces.get(cfg.capture) != "":
                return False
        elif not cfg.spool_path.is_dir():
            return False
        state = session.get(PhoneIntakeState, source.id)
        last = state.last_file_at if state and state.last_file_at else source.created_at
        local = now.astimezone(policy_tz)
        working = (local.weekday() in cfg.workdays
                   and cfg.work_hours[0] <= local.hour < cfg.work_hours[1])
        return not (working and now - last > timedelta(minutes=cfg.silent_minutes))
    times = counter_times(session, source.id)
    if source.kind == SourceKind.MAILBOX and MailSettings.of(source.settings).mode == "imap":
        poll = MailSettings.of(source.settings).imap_poll_seconds or DEFAULT_POLL_S
        last_poll = times.get("imap_polls")
        failed = [t for n, t in times.items() if n.startswith("imap_") and n.endswith("_failed")]
        if last_poll is None or (failed and max(failed) > last_poll):
            return False
        return now - last_poll <= timedelta(seconds=poll * IMAP_POLLS_MISSED + 60)
    kind = kind_of(source.kind)  # a mailbox or an endpoint: how long it may be quiet
    last = times.get(kind.delivery_counter or "", source.created_at)
    return now - last <= (kind.quiet or timedelta(hours=24))


class VaultCollector(Collector):
    """Everything read at scrape time, in one reading session; with serve's `Live`, the
    cameras' `up` and the database's from memory."""

    def __init__(self, vault: Vault, live: Callable[[], Live | None] = lambda: None,
                 camera_names: bool = False) -> None:
        self.vault = vault
        self.live = live
        self.camera_names = camera_names
        # source id -> its labels at the last scrape that read the database (cameras only):
        # what a scrape while the database is away names them by
        self._cameras: dict[int, list[str]] = {}
        self._lock = threading.Lock()

    def collect(self) -> Iterator[Metric]:
        now = datetime.now(UTC)
        live = self.live()
        database = live.database_up() if live is not None else None
        if database is False:  # not asked: a silent database would hold the scrape
            yield from self._from_memory(live, now)
            return
        try:
            with hurry(SCRAPE_DB_S), self.vault.reading() as s:
                families = [*self._sources(s, now, live), *self._sweeps(s),
                            *self._custody(s, now), *self._disk(s, now)]
        except Exception as exc:
            if not is_database_away(exc):
                raise
            yield from self._from_memory(live, now)
            return
        yield from families
        yield from recording_now()
        yield self._database_up(True)

    @staticmethod
    def _database_up(up: bool) -> Metric:
        return GaugeMetricFamily("kustosz_database_up",
                                 "1 when the database answers (serve's watch: a trivial "
                                 "question every few seconds, answered within 5 s)",
                                 value=1.0 if up else 0.0)

    def _from_memory(self, live: Live | None, now: datetime) -> Iterator[Metric]:
        yield self._database_up(False)
        yield from recording_now()
        if live is None or live.recorders is None:
            return
        running = live.recorders()
        up = GaugeMetricFamily(
            "kustosz_source_up", "1 when an enabled source delivers (camera: its recorder "
            "records; phone, mailbox, endpoint: last delivery within its expected interval)",
            labels=["source", "kind"])
        with self._lock:
            cameras = dict(self._cameras)
        for source_id, values in sorted(cameras.items(), key=lambda kv: kv[1]):
            up.add_metric(values, 1.0 if recorder_up(running.get(source_id), now) else 0.0)
        yield up

    def _sources(self, s: Session, now: datetime, live: Live | None = None
                 ) -> Iterator[Metric]:
        labels = ["source", "kind"]
        enabled = GaugeMetricFamily("kustosz_source_enabled",
                                    "1 when the source is enabled", labels=labels)
        up = GaugeMetricFamily(
            "kustosz_source_up", "1 when an enabled source delivers (camera: its recorder "
            "records; phone, mailbox, endpoint: last delivery within its expected interval)",
            labels=labels)
        age = GaugeMetricFamily("kustosz_source_last_segment_age_seconds",
                                "Seconds since the end of the source's newest stored item",
                                labels=labels)
        gaps = CounterMetricFamily("kustosz_source_gap_seconds",
                                   "Seconds of recorded gaps (open gaps up to now)",
                                   labels=labels)
        stored = GaugeMetricFamily("kustosz_source_bytes", "Bytes stored for the source",
                                   labels=labels)
        intake = CounterMetricFamily("kustosz_intake_items",
                                     "Items the source's listener took, refused or repaired, "
                                     "by reason", labels=[*labels, "counter"])
        sources = list(s.execute(select(Source).order_by(Source.name)).scalars())
        recorders = {r.source_id: r for r in s.execute(select(RecorderStatus)).scalars()}
        newest = dict(s.execute(select(Recording.source_id, func.max(Recording.end_at))
                                .where(Recording.state == RecordingState.STORED)
                                .group_by(Recording.source_id)).all())
        size = dict(s.execute(select(Recording.source_id, func.sum(Recording.size))
                              .where(Recording.state == RecordingState.STORED)
                              .group_by(Recording.source_id)).all())
        gap_s: dict[int, float] = {}
        # A step of the server's clock (kustosz.clock) moves the time line; nothing is missing.
        for source_id, start, end in s.execute(select(Gap.source_id, Gap.start_at, Gap.end_at)
                                               .where(Gap.cause != "clock_jump")):
            gap_s[source_id] = gap_s.get(source_id, 0.0) + _seconds((end or now) - start)
        counts: dict[int, dict[str, int]] = {}
        for c in s.execute(select(IntakeCounter)).scalars():
            counts.setdefault(c.source_id, {})[c.name] = c.value
        for st in s.execute(select(PhoneIntakeState)).scalars():
            counts.setdefault(st.source_id, {}).update(
                stored=st.stored, out_of_scope=st.out_of_scope, skipped=st.skipped)
        for refused_id, n in refusal_counts(s).items():
            if refused_id is not None:
                counts.setdefault(refused_id, {})["input_refused"] = n
        tz = self.vault.policy.timezone
        people = people_words(s)
        running = live.recorders() if live is not None and live.recorders is not None \
            else None
        cameras: dict[int, list[str]] = {}
        for source in sources:
            values, shown = [source_label(source, people, self.camera_names),
                             source.kind], per_item(source)
            enabled.add_metric(values, 1.0 if source.enabled else 0.0)
            if source.enabled:
                if running is not None and source.kind == SourceKind.CAMERA:
                    cameras[source.id] = values
                    up_now = recorder_up(running.get(source.id), now)
                else:
                    up_now = source_up(s, source, now, recorders.get(source.id), tz,
                                       newest.get(source.id))
                up.add_metric(values, 1.0 if up_now else 0.0)
            if source.id in newest and shown:
                age.add_metric(values, _seconds(now - newest[source.id]))
            if source.kind == SourceKind.CAMERA or source.id in gap_s:
                gaps.add_metric(values, gap_s.get(source.id, 0.0))
            if shown:
                stored.add_metric(values, float(size.get(source.id) or 0))
            for name, value in sorted(counts.get(source.id, {}).items()):
                if not shown and name in PER_CALL_COUNTERS:
                    continue  # all lines together: metrics_calls.py
                name = name if _COUNTER_NAME.fullmatch(name) else "other"
                intake.add_metric([*values, name], float(value))
        if running is not None:
            with self._lock:
                self._cameras = cameras
        yield from (enabled, up, age, gaps, stored, intake)
        yield from all_lines(sources, newest, size, counts, now)
        yield from self._onvif(s, sources, people)

    def _onvif(self, s: Session, sources: list[Source],
               people: frozenset[str]) -> Iterator[Metric]:
        """Cameras added over ONVIF (issue 34 item 5): whether the last check reached the
        camera's ONVIF service, and its own clock against the server's at the last reading —
        beside kustosz_source_up, so a camera that answers ONVIF but whose stream fails shows
        as just that."""
        labels = ["source", "kind"]
        onvif_up = GaugeMetricFamily("kustosz_camera_onvif_up",
                                     "1 when the camera's ONVIF service answered its last "
                                     "check (cameras added over ONVIF)", labels=labels)
        clock = GaugeMetricFamily("kustosz_camera_clock_offset_seconds",
                                  "The camera's own clock minus the server's at its last "
                                  "ONVIF reading (GetSystemDateAndTime)", labels=labels)
        devices = {d.source_id: d for d in s.execute(select(CameraDevice)).scalars()}
        offsets = {sid: offset for sid, (offset, _at) in latest_onvif_offsets(s).items()}
        for source in sources:
            device = devices.get(source.id)
            if device is None or not source.enabled:
                continue
            values = [source_label(source, people, self.camera_names), source.kind]
            onvif_up.add_metric(values, 1.0 if device.onvif_ok_at is not None
                                and device.onvif_error is None else 0.0)
            if source.id in offsets:
                clock.add_metric(values, float(offsets[source.id]))
        yield from (onvif_up, clock)

    def _sweeps(self, s: Session) -> Iterator[Metric]:
        deletions = CounterMetricFamily("kustosz_sweep_deletions",
                                        "Items the retention sweeps deleted, by mode",
                                        labels=["mode"])
        by_mode = dict.fromkeys((SweepMode.RETENTION.value, SweepMode.DISK_PRESSURE.value), 0)
        by_mode |= dict(s.execute(
            select(Sweep.mode, func.coalesce(func.sum(Sweep.deleted), 0))
            .group_by(Sweep.mode)).all())
        for mode, n in sorted(by_mode.items()):
            deletions.add_metric([mode], float(n))
        yield deletions
        last = s.execute(select(Sweep).where(Sweep.finished_at.is_not(None))
                         .order_by(Sweep.finished_at.desc(), Sweep.id.desc()).limit(1)
                         ).scalar_one_or_none()
        if last is not None and last.finished_at is not None:
            yield GaugeMetricFamily("kustosz_sweep_last_duration_seconds",
                                    "How long the last finished sweep took",
                                    value=_seconds(last.finished_at - last.started_at))
            yield GaugeMetricFamily("kustosz_sweep_last_run_timestamp_seconds",
                                    "When the last sweep finished (Unix time)",
                                    value=last.finished_at.timestamp())

    def _custody(self, s: Session, now: datetime) -> Iterator[Metric]:
        yield GaugeMetricFamily("kustosz_holds_active", "Holds not released",
                                value=len(list_holds(s)))
        yield GaugeMetricFamily("kustosz_requests_waiting",
                                "Requests registered and waiting for a decision",
                                value=len(list_requests(s, status=RequestStatus.REGISTERED)))
        yield GaugeMetricFamily("kustosz_copies_due", "Copies due for destruction",
                                value=len(list_copies(s, due_only=True, now=now)))
        alerts = GaugeMetricFamily("kustosz_alerts_open", "Open alerts, by kind",
                                   labels=["kind"])
        for kind, n in s.execute(select(Alert.kind, func.count()).where(
                Alert.cleared_at.is_(None)).group_by(Alert.kind).order_by(Alert.kind)):
            alerts.add_metric([kind], float(n))
        yield alerts
        yield CounterMetricFamily(
            "kustosz_input_refused_unattributed", "Inputs refused from devices that are no "
            "source (an SBC no line names); a source's are its intake counter input_refused",
            value=float(refusal_counts(s).get(None, 0)))

    def _disk(self, s: Session, now: datetime) -> Iterator[Metric]:
        disk = self.vault.storage
        fc = forecast(s, disk.free_bytes(), disk.total_bytes(), now)
        yield GaugeMetricFamily("kustosz_disk_free_bytes",
                                "Free bytes on the data folder's disk", value=fc.free_bytes)
        yield GaugeMetricFamily("kustosz_disk_total_bytes",
                                "Size of the data folder's disk", value=fc.total_bytes)
        # What waits in the local spool for the object store (kustosz.ingest.upload_queue;
        # 0 on a local store). A node's own queue is in its row of `kustosz nodes`.

        files, size = queue_of(self.vault).backlog()
        yield GaugeMetricFamily("kustosz_upload_backlog_files",
                                "Files in the local spool waiting for the object store",
                                value=files)
        yield GaugeMetricFamily("kustosz_upload_backlog_bytes",
                                "Bytes in the local spool waiting for the object store",
                                value=size)
        days = fc.days_left
        yield GaugeMetricFamily("kustosz_disk_forecast_days",
                                "Days until the disk is full at the last week's net growth "
                                "(+Inf when it does not grow)",
                                value=float("inf") if days is None else days)
