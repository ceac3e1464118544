"""The states and closed kinds rows take, as `StrEnum`s the database enforces.

Each enum names the column it belongs to in `CHECKED`; migrations 0016 and 0017 and the
models make a CHECK constraint of it (`ck_<table>_<column>`), so a value outside the list is
refused by SQLite and PostgreSQL alike. The members equal the strings stored before they
existed: old vaults need no rewrite, and code may compare with either while it is moved over.

Adding a value: a new member here and a migration that replaces the constraint (the values
are written into the migration itself, never imported, so that old migrations stay as run).
"""

from __future__ import annotations

from enum import StrEnum

from kustosz.kinds import Action, Material, SourceKind


class AlertRow(StrEnum):
    """``alerts.kind``: what an alert row reports (the database refuses any other value,
    migration 0017). The raising modules name their rows with these."""

    CAMERA_DOWN = "camera_down"
    PHONE_UNREACHABLE = "phone.unreachable"
    PHONE_BACKLOG = "phone.backlog"
    PHONE_SILENT = "phone.silent"
    DISK_PRESSURE = "disk_pressure"
    DISK_FULL = "disk_full"
    DISK_FULL_HELD = "disk_full_held"
    AUDIT_WITNESS = "audit.witness"
    RECORDER_RESTARTING = "recorder_restarting"
    DISK_FORECAST = "disk_forecast"
    SWEEP_FAILED = "sweep_failed"
    SWEEP_LATE = "sweep_late"
    AUDIT_VERIFY_FAILED = "audit_verify_failed"
    CERT_EXPIRING = "cert_expiring"
    CLOCK_JUMP = "clock_jump"
    BACKUP_MISSING = "backup_missing"
    BACKUP_FAILED = "backup_failed"
    # recorder nodes (kustosz.cluster, migration 0018)
    NODE_MISSING = "node_missing"
    SOURCE_WITHOUT_NODE = "source_without_node"
    NODE_CLOCK_SKEW = "node_clock_skew"
    # the object store (kustosz.storage.s3, migration 0021)
    STORAGE_UNREACHABLE = "storage_unreachable"
    SPOOL_OVER_LIMIT = "spool_over_limit"
    STORAGE_UNKNOWN_OBJECTS = "storage_unknown_objects"
    # the database away (kustosz.db.watch, migration 0025): told from memory, written after
    DATABASE_UNREACHABLE = "database_unreachable"
    # indexed versions gone from the store or changed there (kustosz.maintenance.store_check, 0027)
    STORAGE_MISSING_VERSIONS = "storage_missing_versions"
    # the sweep kept victims whose database expiry the audit log contradicts
    # (kustosz.holds.record, migration 0028)
    RETENTION_DISAGREES = "retention_disagrees"
    # a camera's own clock read over ONVIF is off; its ONVIF service does not answer
    # (kustosz.cameras.onvif_clock, migration 0036)
    CAMERA_CLOCK_OFF = "camera_clock_off"
    CAMERA_ONVIF_UNREACHABLE = "camera_onvif_unreachable"
    # what the camera itself reports over ONVIF events (kustosz.cameras.onvif_events)
    CAMERA_TAMPER = "camera_tamper"
    CAMERA_VIDEO_LOSS = "camera_video_loss"
    # A SIPREC line (issue 35): a recording session refused for what it offered (a codec, no
    # RTP port), a call whose sound never came, a call that lost more packets than allowed.
    PHONE_SESSION_REFUSED = "phone.session_refused"
    PHONE_NO_SOUND = "phone.no_sound"
    PHONE_LOSS = "phone.loss"
    # ... and a call Kustosz recorded whose recording cannot be made or stored (migration 0038)
    PHONE_NOT_STORED = "phone.not_stored"
    # Input from outside that Kustosz cannot read or must refuse (issue 47 item 5): a SIPREC
    # body, a camera's answer, a CDR line — one row per device and hour, its count kept in
    # input_refusals (migration 0039).
    INPUT_REFUSED = "input.refused"
    # serve started after a stop it did not make itself (kill, crash, power): what it cost
    # (kustosz.alerts.unclean_stop, issue 48 item 8; migration 0039)
    SERVE_UNCLEAN_STOP = "serve.unclean_stop"
    # A changed kustosz.toml that serve's reload (SIGHUP) refused: serve goes on with what it
    # had (kustosz.cli.serve_reload, issue 50 item 8; migration 0040)
    CONFIG_RELOAD_FAILED = "config.reload_failed"
    # serve's monthly accountability report could not be made; retried every hour, cleared
    # by the next report made (kustosz.report.monthly, issue 53; migration 0041)
    REPORT_FAILED = "report.failed"
    # The capture process (kustosz capture) away longer than its bound: no line read off a
    # mirrored port is recorded; cleared when it is back (kustosz.ingest.phone.capture.away,
    # issue 64; migration 0050)
    PHONE_CAPTURE_AWAY = "phone.capture_away"
    # A camera's stream changed its codec — to H.265, which browsers do not play — told as it
    # happens (kustosz.ingest.camera.codec_change, issue 64; migration 0050)
    CAMERA_CODEC_CHANGED = "camera_codec_changed"
    # one storage key under two rows of the index (kustosz.maintenance.key_repeats, 0063)
    INDEX_REPEATED_KEYS = "index_repeated_keys"


class RecordingState(StrEnum):
    """``recordings.state`` (DESIGN invariant 1: a file is indexed before it counts)."""

    PENDING = "pending"  # the file is being written or adopted
    STORED = "stored"  # whole, hashed and indexed
    DELETING = "deleting"  # a sweep has claimed it (sweep_id) and is removing the file
    # The object store lacks the indexed version or holds it changed (kustosz storage check,
    # issue 28 item 4): nothing plays, copies or backs it up; the check sets it back to
    # stored if the version returns as indexed. Migration 0027.
    MISSING = "missing"


class SweepMode(StrEnum):
    """``sweeps.mode``: why a sweep ran."""

    RETENTION = "retention"  # periods ran out
    DISK_PRESSURE = "disk_pressure"  # the disk was short: oldest unheld material first
    RESTORE = "restore"  # a restored backup's files that the journal says were deleted


class RequestKind(StrEnum):
    """``custody_requests.kind``: who asks."""

    AUTHORITY = "authority"
    INTERESTED = "interested"
    DATA_SUBJECT = "data_subject"
    INTERNAL = "internal"


class RequestStatus(StrEnum):
    """``custody_requests.status``: registered -> approved | refused; approved -> copied."""

    REGISTERED = "registered"
    APPROVED = "approved"
    REFUSED = "refused"
    COPIED = "copied"


class CopyState(StrEnum):
    """``custody_copies.state``."""

    KEPT = "kept"
    DESTROYED = "destroyed"


class Capacity(StrEnum):
    """``custody_decisions.capacity``: the built-in positions, the head and the deputy in the
    head's absence. An office declares others ([positions], kustosz.policy.positions), so the
    column holds any position's key and the policy, not the database, checks it (0044)."""

    HEAD = "head"
    DEPUTY = "deputy"


class RecorderState(StrEnum):
    """``camera_recorder_status.state``: what a camera's recorder is doing now."""

    RECORDING = "recording"  # segments are being stored
    CONNECTING = "connecting"  # a session is starting
    DOWN = "down"  # the last session failed; retried
    DISK_FULL = "disk_full"  # the disk refused a segment
    STOPPED = "stopped"  # the recorder was stopped (serve ends, camera removed)
    DISABLED = "disabled"  # the camera is switched off in the register
    WAITING = "waiting"  # outside its recording hours
    REFUSED = "refused"  # its register entry does not allow recording (zone, purpose)


class SpoolOutcome(StrEnum):
    """``phone_spool_items.outcome``: what the phone intake did with a spool file."""

    STORED = "stored"
    OUT_OF_SCOPE = "out_of_scope"  # a call outside the monitored numbers: not kept
    SKIPPED = "skipped"  # unreadable or unmatched; looked at again if the file changes


class AuthorisationState(StrEnum):
    """An authorisation's state as computed from its dates (not stored)."""

    ACTIVE = "active"
    REVOKED = "revoked"
    FUTURE = "future"
    EXPIRED = "expired"


# (table, column) -> the enum whose values the database accepts there.
CHECKED: dict[tuple[str, str], type[StrEnum]] = {
    ("sources", "kind"): SourceKind,
    ("recordings", "kind"): SourceKind,
    ("recordings", "state"): RecordingState,
    ("sweeps", "mode"): SweepMode,
    ("custody_requests", "kind"): RequestKind,
    ("custody_requests", "material"): Material,
    ("custody_requests", "status"): RequestStatus,
    ("custody_copies", "state"): CopyState,
    # migration 0017
    ("camera_recorder_status", "state"): RecorderState,
    ("phone_spool_items", "outcome"): SpoolOutcome,
    ("alerts", "kind"): AlertRow,
    ("access_viewing_sessions", "action"): Action,
}


def constraint_name(table: str, column: str) -> str:
    return f"ck_{table}_{column}"
