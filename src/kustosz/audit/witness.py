"""Signed checkpoints of the audit log, kept by a witness outside the data folder.

A checkpoint is an `audit.checkpoint` entry in the main chain that seals the access chain's
head (kustosz.audit.access_chain), and a line derived from that entry — vault id, checkpoint
number, the entry's seq and hash, the access head, the time — signed with the office's Ed25519
key. The line is appended to the witness file named in `[audit] witness` (another disk or a
share) and sent to the office's syslog server when `[audit] syslog` is set.

Whoever holds the data folder can cut the log or recompute its whole chain, but cannot make a
witnessed line disappear nor sign a new one without the key, so `kustosz audit verify` finds
every change up to the latest witnessed checkpoint.

Ed25519 signatures are deterministic, so a line is a pure function of its entry and the key:
a checkpoint whose line could not be written (witness unreachable) is written by the next
one, and a new witness file is filled with the whole history.

What this cannot detect: changes to entries and access records written after the latest
witnessed checkpoint (cut or rewritten before the next one — at most `checkpoint_minutes`,
and a custody action always closes the window at once); and anything done by someone who
holds the signing key (keys/ in the data folder) together with write access to the data
folder and to the witness file and the syslog server — they can rewrite the log, recompute
both chains and re-sign every line. Keeping the witness on storage the vault's own
administrators cannot rewrite (another disk, a share with append-only rights, the syslog
server of another team) is what makes the checkpoints worth having.
"""

from __future__ import annotations

import base64
import fcntl
import json
import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.audit import access_chain
from kustosz.audit import log as audit_log
from kustosz.db.models import Alert, AuditEntry, Setting
from kustosz.db.outage import Backoff, is_database_away
from kustosz.db.settings import put_setting
from kustosz.fsutil import fsync_file
from kustosz.keys import KEY_FILE, fingerprint, load_public, office_key
from kustosz.states import AlertRow
from kustosz.vault_handle import VaultHandle
from kustosz.watchdog import progress_of

log = logging.getLogger(__name__)

FORMAT = "kustosz-audit-checkpoint/1"
ACTION = "audit.checkpoint"
ALERT_KIND = AlertRow.AUDIT_WITNESS
LATEST = "audit_checkpoint"  # vault_settings: the latest line, for bundles and registers
# vault_settings: the witness the checkpoints were last written to. Verifying without a witness
# fails while it is set, so removing `[audit] witness` from kustosz.toml does not quietly
# turn the check into a chain-only one (issue 11 re-test); a change of witness is audited.
WITNESSED = "audit_witness"
# vault_settings: how far the witness was written ({"witness": path, "n": checkpoint no.}). A
# witness written before is never filled again from nothing: missing, empty or ending before
# that checkpoint, it was cut (issue 29 item 4) — refilling it would erase the evidence.
HIGH = "audit_witness_high"
ACTOR = "system"
TAIL = 64 * 1024  # enough to hold the witness's last line
FIELDS = ("format", "vault", "n", "seq", "hash", "access_seq", "access_hash", "at", "key")


class WitnessError(Exception):
    """The witness could not be read or written (message for the operator, in English)."""


class WitnessCut(WitnessError):
    """A witness this vault wrote to is missing, empty or ends before a checkpoint it held:
    left as it is, and the log is verified at once (`checkpoint`)."""


def vault_id(session: Session) -> str | None:
    """The vault's identity: the hash of its first entry (vault.init), which every checkpoint
    names, so a log started afresh (or another vault's) does not fit the witness."""
    return session.execute(select(AuditEntry.hash).where(AuditEntry.seq == 1)).scalar()


# -- lines ---------------------------------------------------------------------------------
def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")


def line_of(entry: AuditEntry, key: Ed25519PrivateKey) -> str:
    """The witness line of a checkpoint entry (the same every time: Ed25519 is deterministic)."""
    d = json.loads(entry.details)
    body = {"format": FORMAT, "vault": d["vault"], "n": d["n"], "seq": entry.seq,
            "hash": entry.hash, "access_seq": d["access_seq"], "access_hash": d["access_hash"],
            "at": entry.at.astimezone(UTC).isoformat(timespec="microseconds"),
            "key": d["key"]}
    sig = base64.b64encode(key.sign(_canonical(body))).decode()
    return json.dumps({**body, "sig": sig}, sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"))


def parse_line(text: str) -> dict[str, Any]:
    """A witness line as a dict; ValueError when it is not a Kustosz checkpoint line."""
    try:
        data = json.loads(text)
    except ValueError:
        raise ValueError("not a Kustosz checkpoint line (not JSON)") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError("not a Kustosz checkpoint line")
    if not all(k in data for k in (*FIELDS, "sig")):
        raise ValueError("a checkpoint line with fields missing")
    if not all(isinstance(data[k], int) and not isinstance(data[k], bool)
               for k in ("n", "seq", "access_seq")):
        raise ValueError("a checkpoint line whose numbers are not numbers")
    return data


def signature_ok(data: dict[str, Any], key: Ed25519PublicKey) -> bool:
    body = {k: data[k] for k in FIELDS}
    try:
        key.verify(base64.b64decode(str(data["sig"]), validate=True), _canonical(body))
        return True
    except (InvalidSignature, ValueError):
        return False


def public_key_of(root: Path) -> Ed25519PublicKey | None:
    """The office's public key from the data folder, never making one (verify changes nothing)."""
    path = root / "keys" / KEY_FILE
    if not path.is_file():
        return None

    private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(private, Ed25519PrivateKey):
        return None
    return private.public_key()


def load_pinned(path: Path) -> Ed25519PublicKey:
    return load_public(path.read_bytes(), str(path))


# -- making a checkpoint -------------------------------------------------------------------
def _last_checkpoint(session: Session) -> AuditEntry | None:
    return session.execute(select(AuditEntry).where(AuditEntry.action == ACTION)
                           .order_by(AuditEntry.seq.desc()).limit(1)).scalar()


def make(session: Session, key: Ed25519PrivateKey, actor: str = ACTOR,
         force: bool = False) -> AuditEntry | None:
    """Append a checkpoint entry sealing the access chain's head; None when nothing was
    written since the last checkpoint (an idle vault does not grow its log)."""
    audit_log.lock_chain(session)
    vid = vault_id(session)
    if vid is None:
        return None  # an empty log has nothing to seal (verify reports it)
    access_seq, access_hash = access_chain.head(session)
    last = _last_checkpoint(session)
    if last is not None and not force:
        top = session.execute(select(AuditEntry.seq).order_by(AuditEntry.seq.desc())
                              .limit(1)).scalar()
        if top == last.seq and json.loads(last.details).get("access_seq") == access_seq:
            return None
    n = json.loads(last.details)["n"] + 1 if last is not None else 1
    entry = audit_log.append(session, actor, ACTION, "audit log", {
        "n": n, "vault": vid, "access_seq": access_seq, "access_hash": access_hash,
        "key": fingerprint(key.public_key())})
    put_setting(session, LATEST, line_of(entry, key))
    return entry


def latest_line(session: Session) -> dict[str, Any] | None:
    """The latest checkpoint (as its signed line), for bundles and printed registers."""
    row = session.get(Setting, LATEST)
    if row is None:
        return None
    try:
        return parse_line(row.value)
    except ValueError:
        return None


# -- the witness file and syslog -----------------------------------------------------------
def _tail_line(f: IO[bytes]) -> str | None:
    f.seek(0, os.SEEK_END)
    size = f.tell()
    f.seek(max(0, size - TAIL))
    lines = [ln for ln in f.read().splitlines() if ln.strip()]
    return lines[-1].decode("utf-8", "replace") if lines else None


def _witnessed(f: IO[bytes], path: Path, vid: str) -> tuple[int, int]:
    """(n, seq) of the witness's last checkpoint; (0, 0) for an empty file."""
    last = _tail_line(f)
    if last is None:
        return 0, 0
    try:
        data = parse_line(last)
    except ValueError as exc:
        raise WitnessError(f"{path} is not a Kustosz audit witness ({exc}); left untouched") \
            from None
    if data["vault"] != vid:
        raise WitnessError(f"{path} is the witness of another vault ({data['vault'][:12]}…); "
                           "left untouched")
    return data["n"], data["seq"]


def ever_written(session: Session, path: Path) -> bool:
    """Whether this vault's checkpoints were ever written to the witness at ``path``: the
    chained `audit.witness` entry its first write left (`_remember_witness`), or the setting
    kept beside it."""
    if witnessed_at(session) == str(path):
        return True
    for details in session.execute(select(AuditEntry.details).where(
            AuditEntry.action == "audit.witness")).scalars():
        try:
            if json.loads(details).get("witness") == str(path):
                return True
        except (ValueError, AttributeError):
            continue  # a damaged entry: the chain's own check reports it
    return False


def written_up_to(session: Session, path: Path) -> int:
    """The last checkpoint this vault wrote to ``path`` (0: none); at least 1 where the log
    records a write to it made before the number was kept."""
    row = session.get(Setting, HIGH)
    if row is not None:
        try:
            kept = json.loads(row.value)
            if kept.get("witness") == str(path):
                return int(kept["n"])
        except (ValueError, TypeError, KeyError, AttributeError):
            pass
    return 1 if ever_written(session, path) else 0


def append_to_witness(session: Session, path: Path, key: Ed25519PrivateKey) -> list[str]:
    """Append the lines of every checkpoint the witness does not have yet; return them.
    WitnessCut, nothing written, when a witness written before is missing, empty or ends
    before the last checkpoint written to it."""
    vid = vault_id(session)
    if vid is None:
        return []
    if not path.parent.is_dir():
        raise WitnessError(f"witness {path}: its folder {path.parent} cannot be reached")
    before = written_up_to(session, path)
    if before and not path.exists():
        raise WitnessCut(f"witness {path} does not exist, but checkpoints up to no. {before} "
                         "were written to it: removed (or its share is not mounted); not "
                         "written anew")
    try:
        f = path.open("a+b")
    except OSError as exc:
        raise WitnessError(f"witness {path} cannot be opened: {exc.strerror or exc}") from None
    with f:
        try:
            # Two processes (serve and a command) may checkpoint at once: one writer at a time.
            fcntl.flock(f, fcntl.LOCK_EX)
            n, seq = _witnessed(f, path, vid)
            if n < before:
                raise WitnessCut(f"witness {path} ends at checkpoint {n}, but checkpoint "
                                 f"{before} was written to it: cut short or replaced; left "
                                 "untouched")
            entries = session.execute(select(AuditEntry).where(
                AuditEntry.action == ACTION, AuditEntry.seq > seq)
                .order_by(AuditEntry.seq)).scalars()
            lines = [line_of(e, key) for e in entries if json.loads(e.details)["n"] > n]
            if lines:
                f.seek(0, os.SEEK_END)
                f.write(("\n".join(lines) + "\n").encode("utf-8"))
                fsync_file(f)
            return lines
        except OSError as exc:
            raise WitnessError(f"witness {path} cannot be written: {exc.strerror or exc}") \
                from None


def send_syslog(target: tuple[str, int], lines: list[str]) -> None:
    """RFC 5424 over UDP (facility log audit, severity info): never waits for the receiver."""
    host = socket.gethostname() or "-"
    try:
        addr = socket.getaddrinfo(target[0], target[1], type=socket.SOCK_DGRAM)[0]
        with socket.socket(addr[0], socket.SOCK_DGRAM) as sock:
            for line in lines:
                at = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
                sock.sendto(f"<110>1 {at} {host} kustosz - audit-checkpoint - {line}"
                            .encode(), addr[4])
    except OSError as exc:
        raise WitnessError(f"syslog {target[0]}:{target[1]} cannot be reached: "
                           f"{exc.strerror or exc}") from None


# -- the whole step, as custody actions and serve call it ----------------------------------
@dataclass
class Outcome:
    entry: AuditEntry | None  # the new checkpoint entry, if one was needed
    written: list[str]  # lines appended to the witness (or sent to syslog)
    problem: str | None = None


_local = threading.Lock()  # within one process, one checkpoint at a time
WAIT_S = 5.0  # how long a custody action waits for the witness before it returns anyway
LOCK_WAIT_S = 30.0  # how long a checkpoint waits for an earlier one still stuck on the witness
# The longest serve's checkpoint loop may honestly go without a beat (kustosz.watchdog): one
# checkpoint — the audit log read and the alert row on a database that went silent (connect
# 10 s, an answer 60 s each: db.deadline), the wait for an earlier one (LOCK_WAIT_S), the
# witness written and flushed on its share. A share that hangs past it stalls the watchdog.
ALLOWANCE_S = 300.0


def checkpoint(vault: VaultHandle, actor: str = ACTOR, force: bool = False) -> Outcome:
    """Make a checkpoint if the log moved, bring the witness up to date and send to syslog.

    Never raises for an unreachable witness: a custody action must not fail because a share
    is down. The problem becomes an open alert (cleared by the next checkpoint that gets
    through), and the lines not written are written by the next checkpoint. A witness written
    before and now missing, empty or cut short is not filled anew (`WitnessCut`): it is left
    as evidence, and the log is verified at once, which raises the violation alarm."""
    cfg = vault.config.audit
    if not _local.acquire(timeout=LOCK_WAIT_S):
        problem = "an earlier checkpoint is still waiting for the witness (a hung share?)"
        _alert(vault, problem)
        return Outcome(None, [], problem)
    try:
        key = office_key(vault.root)
        with vault.transaction() as s:
            entry = make(s, key, actor, force)
        written: list[str] = []
        problem = None
        cut = False
        try:
            with vault.reading() as s:
                if cfg.witness is not None:
                    written = append_to_witness(s, cfg.witness, key)
                elif entry is not None:
                    written = [line_of(entry, key)]
            if cfg.witness is not None:
                _remember_witness(vault, cfg.witness, actor,
                                  parse_line(written[-1])["n"] if written else None)
            if cfg.syslog is not None and written:
                send_syslog(cfg.syslog, written)
        except WitnessError as exc:
            problem, cut = str(exc), isinstance(exc, WitnessCut)
            log.error("audit checkpoint not witnessed: %s", problem)
        _alert(vault, problem)
    finally:
        _local.release()
    if cut:  # after the lock: a long log's verification must not hold up the next checkpoint
        _verify_at_once(vault)
    return Outcome(entry, written, problem)


def _remember_witness(vault: VaultHandle, path: Path, actor: str, n: int | None) -> None:
    """The witness written to (a change audited), and the last checkpoint ``n`` written."""
    high = json.dumps({"witness": str(path), "n": n}) if n is not None else None
    with vault.reading() as s:
        known = s.get(Setting, WITNESSED)
        if known is not None and known.value == str(path) and high is None:
            return
    with vault.transaction() as s:
        known = s.get(Setting, WITNESSED)
        if known is None or known.value != str(path):
            audit_log.append(s, actor, "audit.witness", "audit log",
                             {"witness": str(path),
                              "previous": known.value if known is not None else None})
            put_setting(s, WITNESSED, str(path))
        if high is not None and written_up_to(s, path) <= (n or 0):  # never back
            put_setting(s, HIGH, high)


# Who verifies the log when a witness is found cut: kustosz.alerts.checks registers its
# verification here (the alerts sit above the audit log, which must not import them).
_CUT_HANDLERS: list[Callable[[VaultHandle], object]] = []


def on_cut(handler: Callable[[VaultHandle], object]) -> None:
    if handler not in _CUT_HANDLERS:
        _CUT_HANDLERS.append(handler)


def _verify_at_once(vault: VaultHandle) -> None:
    """A witness cut: the log verified now (its alarm, in Polish, names what was found), not
    at the next daily check."""
    for handler in list(_CUT_HANDLERS):
        try:
            handler(vault)
        except Exception:
            log.exception("could not verify the audit log after finding its witness cut")


def witnessed_at(session: Session) -> str | None:
    """The witness this vault's checkpoints were last written to, if any."""
    row = session.get(Setting, WITNESSED)
    return row.value if row is not None else None


def _alert(vault: VaultHandle, problem: str | None) -> None:
    with vault.transaction() as s:
        open_ = s.execute(select(Alert).where(Alert.kind == ALERT_KIND,
                                              Alert.cleared_at.is_(None))).scalars().all()
        if problem is None:
            for a in open_:
                a.cleared_at = datetime.now(UTC)
        elif not open_:
            s.add(Alert(raised_at=datetime.now(UTC), kind=ALERT_KIND, message=(
                "Nie udało się zapisać podpisanego punktu kontrolnego dziennika zdarzeń w "
                "pliku-świadku poza katalogiem danych (lub wysłać go do serwera syslog). "
                "Sprawdź dostęp do tego pliku; zapis zostanie ponowiony przy następnym "
                f"punkcie kontrolnym. Szczegóły: {problem}")))


def after_custody(vault: VaultHandle) -> None:
    """The hook of every committed custody action: a checkpoint, waited for at most `WAIT_S`
    (a hung share must not hang the action, which is committed already); never raises."""

    def run() -> None:
        try:
            checkpoint(vault)
        except Exception:  # the action is committed already; it must not look failed
            log.exception("audit checkpoint after a custody action failed")

    worker = threading.Thread(target=run, name="audit-checkpoint", daemon=True)
    worker.start()
    worker.join(WAIT_S)
    if worker.is_alive():
        log.error("the audit witness did not answer within %.0f s; the checkpoint goes on "
                  "in the background", WAIT_S)
        try:
            _alert(vault, f"the witness did not answer within {WAIT_S:.0f} s")
        except Exception:
            log.exception("could not raise the witness alert")


def run_checkpoints(vault: VaultHandle, stop: threading.Event) -> None:
    """`kustosz serve`'s loop: a checkpoint at start, every `checkpoint_minutes` and at stop."""
    interval = vault.config.audit.checkpoint_minutes * 60
    # The database away (issue 27): the checkpoint is tried again within a minute, not an
    # interval later, so the entries of the outage's end are sealed soon after it.
    backoff = Backoff(first_s=5.0, limit_s=min(60.0, interval))
    progress = progress_of(vault).loop("audit-checkpoints", ALLOWANCE_S)
    while True:
        progress.beat()
        stopping = stop.is_set()
        wait = interval
        try:
            checkpoint(vault)
            backoff.reset()
        except Exception as exc:
            if is_database_away(exc):
                wait = min(interval, backoff.delay())
                log.warning("periodic audit checkpoint: the database is away (%s); trying "
                            "again in %.0f s", type(exc).__name__, wait)
            else:
                log.exception("periodic audit checkpoint failed")
        if stopping:
            progress.forget()  # stopped on purpose: no hang
            return
        progress.wait(stop, wait)  # once stopped: one last checkpoint seals the final entries
