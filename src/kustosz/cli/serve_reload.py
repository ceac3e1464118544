"""`systemctl reload kustosz` (ExecReload sends SIGHUP): serve reads kustosz.toml again
without a restart (issue 50 item 8).

The signal handler only sets `ASKED`; serve's main loop (`wait`, `step`) does the work: the
file is read and checked as at a start (the schema, the policy it makes, and a period for
every kind of source the register holds). A file that fails changes nothing: serve goes on
with what it had, the log says why and the alert row `config.reload_failed` (Polish, naming
the reason) stays open until a reload takes the file. A file that passes is put in force
table by table:

* live (`LIVE`): the preset and [policy] — noted and re-dated exactly as at a start
  (Vault.reload), so a shorter period counts for deletion only once two people approved it
  (kustosz retention shorten); the reload names the kinds whose shorter period waits —
  [alerts] (the notifier follows the settings in force each pass), [custody] and [siprec]
  (the recording server moves to it once no call is in progress; an address another process
  holds is not taken: it stays where it was and says so — ingest.phone.siprec.moving).
  [cameras] (the office's networks and the limit of a camera's clock are read where they are
  used, the clock check's interval at its next wait). Lines and cameras live in the
  register, not the file: their supervisors follow it, and a reload wakes the ones that idle;
* the rest (database_url, [storage], [web], [audit], [retention], [cluster], [logging],
  [backup]) is read once when serve starts: it is kept as it was and named as needing a
  restart.

What changed is logged (`said`: what is in force now, what waits for a restart, or that the
file did not change) and recorded in the audit log (`config.reloaded`)."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from kustosz import config_in_force as in_force
from kustosz import config_schema as schema
from kustosz.alert_rows import clear_rows, raise_row
from kustosz.audit import append as audit
from kustosz.config import CONFIG_NAME, from_schema
from kustosz.config_schema.refusal import located, summary
from kustosz.db.models import Source
from kustosz.errors import ConfigError
from kustosz.holds.record import record_of
from kustosz.policy import Policy, load_policy
from kustosz.policy.model import KIND_PL
from kustosz.states import AlertRow
from kustosz.vault import Vault
from kustosz.watchdog import Progress

log = logging.getLogger(__name__)
ACTOR = "serve-reload"
# Set by SIGHUP in this process; serve's loop clears it and reloads. Nothing else is done in
# the handler: it runs between two bytecodes of whatever the main thread was doing.
ASKED = threading.Event()
# What a running serve can take from the file now; any other top-level key or table of
# kustosz.toml waits for a restart.
LIVE = frozenset({"preset", "policy", "alerts", "cameras", "custody", "siprec"})
# A changed policy re-dates the whole index, as at a start: the main loop is allowed as long.
RELOAD_ALLOWANCE_S = 900.0
TURN_S = 0.5  # how soon the main loop's wait notices the flag


def on_signal(_signum: int, _frame: object) -> None:
    ASKED.set()


def wait(stop: threading.Event, seconds: float) -> bool:
    """``stop.wait(seconds)`` that also ends early when a reload is asked for; True if
    ``stop`` is set."""
    end = time.monotonic() + seconds
    while not ASKED.is_set():
        left = end - time.monotonic()
        if left <= 0:
            break
        if stop.wait(min(left, TURN_S)):
            return True
    return stop.is_set()


def step(vault: Vault, progress: Progress, allowance_s: float, loop: str = "main") -> None:
    """serve's loop: a reload, when one was asked for. Never raises: recording goes on."""
    if not ASKED.is_set():
        return
    ASKED.clear()
    progress.allow(loop, max(RELOAD_ALLOWANCE_S, allowance_s))
    try:
        reload_config(vault)
    except Exception:  # the database away, most likely: nothing was put in force
        log.exception("reloading %s failed; serve goes on with what it had (reload again)",
                      CONFIG_NAME)
    finally:
        progress.allow(loop, allowance_s)


@dataclass
class Reloaded:
    ok: bool
    applied: list[str] = field(default_factory=list)  # tables taken now
    restart: list[str] = field(default_factory=list)  # tables changed that wait for a restart
    waiting: list[str] = field(default_factory=list)  # kinds whose shorter period waits
    reason: str = ""  # why the file was refused (English; the alert row has the Polish)


def reload_config(vault: Vault, actor: str = ACTOR) -> Reloaded:
    """Read and check kustosz.toml and put in force what can be (see the module's doc)."""
    path = vault.root / CONFIG_NAME
    raw = b""
    try:
        raw = schema.read_file(path)  # once: the bytes checked are the bytes kept (last-good)
        doc = schema.load(path, vault.root, raw)
        policy = load_policy(doc.preset or None, doc.policy_overrides())
        _check_sources(vault, policy)
        # a config not read from the file (a test's) has nothing to compare: all is new
        before = vault.config.doc or doc
        changed = [k for k in type(doc).model_fields if getattr(doc, k) != getattr(before, k)]
        restart = [k for k in changed if k not in LIVE]
        kept = doc.model_copy(update={k: getattr(before, k) for k in restart})
        config = from_schema(kept, vault.root)
        config.raw = raw
        vault.reload(config, policy, actor)
    except ConfigError as exc:
        return _refused(vault, exc, actor, raw)
    done = Reloaded(True, [k for k in changed if k in LIVE], restart)
    waiting = _waiting(vault)
    done.waiting = [w["kind"] for w in waiting]
    now = datetime.now(UTC)
    in_force.taken(vault)  # the file in force now: kept as kustosz.toml.last-good
    with vault.transaction() as s:
        clear_rows(s, AlertRow.CONFIG_RELOAD_FAILED, now)
        in_force.note_rules(s, vault)
        details: dict[str, Any] = {"applied": done.applied, "restart": done.restart,
                                   "waiting_approval": waiting}
        if "siprec" in done.applied:  # the server moves between calls, maybe not at all
            details["siprec"] = ("the recording server moves between calls: "
                                 "config.siprec_applied or config.siprec_not_applied follows")
        audit(s, actor, "config.reloaded", CONFIG_NAME, details)
    log.info("%s", said(done, waiting))
    return done


def said(done: Reloaded, waiting: list[dict[str, str]]) -> str:
    """The reload's log line: what is in force now and what waits for a restart, each named
    only when there is one; a file that did not change says so."""
    parts = []
    if done.applied:
        parts.append(f"in force now: {', '.join(done.applied)}")
    if done.restart:
        parts.append(f"kept as it was until a restart (systemctl restart kustosz): "
                     f"{', '.join(done.restart)}")
    parts += [f"the shorter {w['kind']} period ({w['period']}) waits for two people's approval "
              "(kustosz retention shorten propose/approve)" for w in waiting]
    return f"{CONFIG_NAME} reloaded: " + ("; ".join(parts) or "the file has not changed")


def _check_sources(vault: Vault, policy: Policy) -> None:
    """Every kind of source the register holds keeps a period: else its material would have
    no end (a start with such a file is refused too)."""
    with vault.reading() as s:
        kinds = sorted(s.execute(select(Source.kind).distinct()).scalars())
    for kind in kinds:
        if policy.retention.get(kind) is None:
            raise ConfigError(
                f"the register holds {kind} sources, but the file sets no period for their "
                f"material (policy retention.{kind})",
                pl=f"Rejestr ma źródła typu „{KIND_PL.get(kind, kind)}”, a plik nie określa "
                   f"okresu przechowywania ich nagrań (retention.{kind} w sekcji "
                   "[policy.retention]).")


def _waiting(vault: Vault) -> list[dict[str, str]]:
    """The kinds whose period in force is shorter than one the audit log's record still
    keeps: the sweep keeps their material to the longer end until two people approve it."""
    with vault.reading() as s:
        record = record_of(vault, s)
    out = []
    for kind, period in sorted(vault.policy.retention.items()):
        if period is None:
            continue
        longer = [p for p in record.periods.get(kind, ())
                  if p != period and p.max_days() > period.min_days()]
        if longer:
            out.append({"kind": kind, "period": str(period)})
    return out


def _refused(vault: Vault, exc: ConfigError, actor: str, raw: bytes) -> Reloaded:
    """The file refused: nothing changes, and the log, the alert and the audit log say why
    (its line) and what a start would now run on (kustosz.config_in_force.next_start)."""
    problems = located(exc, raw.decode("utf-8", "replace"))
    reason, reason_pl = summary(problems, "en"), summary(problems, "pl").rstrip(".")
    then, then_en, then_pl = in_force.next_start(vault.root, problems)
    log.error("%s not reloaded: %s; serve goes on with what it had; %s", CONFIG_NAME, reason,
              then_en)
    details: dict[str, Any] = {"reason": reason, "next_start": then,
                               "problems": [{"key": p.where, "line": p.line, "en": p.en}
                                            for p in problems]}
    try:
        with vault.transaction() as s:
            raise_row(s, AlertRow.CONFIG_RELOAD_FAILED,
                      f"Nie wczytano zmian pliku {CONFIG_NAME}: {reason_pl}. Usługa działa "
                      f"dalej według poprzednich ustawień. {then_pl} Popraw plik (kustosz "
                      "config check) i przeładuj usługę (systemctl reload kustosz).",
                      datetime.now(UTC))
            audit(s, actor, "config.reload_failed", CONFIG_NAME, details)
    except Exception:  # the database away: the log above has it
        log.exception("the refused reload could not be recorded")
    return Reloaded(False, reason=reason)
