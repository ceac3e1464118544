"""`kustosz audit verify`: the main chain, the access chain, the viewing sessions, and — given
the witness — every signed checkpoint against the log as it is now.

Without a witness, a log cut together with `audit.head`, or rewritten with its chain
recomputed, cannot be told from a genuine one; the report says so. With it, verify fails on any
changed, removed, inserted or reordered entry or access record up to the latest witnessed
checkpoint, on a log shorter than a checkpoint, on an empty log and on a recomputed chain.

A witness this vault has never written to yet — set in kustosz.toml and waiting for the first
checkpoint, which `serve` makes seconds after it starts — is not a violation (issue 29 item
4): the log is checked without it and the report says the witness is still to be written
(``Report.pending``). Absence alone is never trusted once the witness was written: the vault
records the first write to each witness in its own chained log (`audit.witness`, with the
`audit_witness` setting), and a pinned identity names only a witness that held a checkpoint
(`audit pin-witness` refuses an empty one). A witness that was written and is now missing,
empty, cut short or changed fails as before.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from kustosz.audit import access_chain, deletion_days, identity, intake_lists, witness
from kustosz.audit.log import AuditProblem, walk
from kustosz.config import read_config
from kustosz.db.models import AuditEntry
from kustosz.errors import InputError, KustoszError
from kustosz.keys import fingerprint


@dataclass
class Report:
    entries: int = 0
    access_records: int = 0
    problems: list[AuditProblem] = field(default_factory=list)
    witness: Path | None = None
    witnessed: int = 0  # checkpoint lines checked
    latest: dict[str, Any] | None = None  # the witness's last line
    # The witness the vault has not written to yet (missing or empty, never written): the log
    # was checked without it, and that is not a problem (`not_yet_written`).
    pending: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def read_witness(path: Path) -> list[str]:
    """The witness's lines; InputError (nothing changed) when it is missing, unreadable or not
    a Kustosz witness at all."""
    if not path.exists():
        raise InputError(f"witness {path} does not exist",
                         pl=f"Plik-świadek {path} nie istnieje.")
    if not path.is_file():
        raise InputError(f"witness {path} is not a file",
                         pl=f"Plik-świadek {path} nie jest plikiem.")
    unreadable = f"Nie można odczytać pliku-świadka {path}."
    foreign = f"Plik {path} nie jest plikiem-świadkiem dziennika zdarzeń Kustosza."
    try:
        text = path.read_text("utf-8")
    except PermissionError:
        raise InputError(f"witness {path} cannot be read (permission denied)",
                         pl=f"Nie można odczytać pliku-świadka {path} (brak uprawnień).") \
            from None
    except UnicodeDecodeError:
        raise InputError(f"witness {path} is not a Kustosz audit witness (not text)",
                         pl=foreign) from None
    except OSError as exc:
        raise InputError(f"witness {path} cannot be read: {exc.strerror or exc}",
                         pl=unreadable) from None
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise InputError(f"witness {path} is empty: it holds no checkpoint",
                         pl=f"Plik-świadek {path} jest pusty: nie zawiera żadnego punktu "
                            "kontrolnego.")
    try:
        witness.parse_line(lines[0])
    except ValueError:
        raise InputError(f"witness {path} is not a Kustosz audit witness (its first line is "
                         "not a checkpoint)", pl=foreign) from None
    return lines


def ever_written(session: Session, path: Path) -> bool:
    """Whether this vault's checkpoints were ever written to the witness at ``path``."""
    return witness.ever_written(session, path)


def not_yet_written(session: Session, path: Path | None,
                    pinned: identity.Identity | None = None) -> bool:
    """True when ``path`` is a witness still waiting for its first checkpoint: nothing there
    (no file, or an empty one) and no record that this vault ever wrote to it. A pinned
    witness was written before it was pinned (`audit pin-witness` needs its first line), so it
    never waits; anything in the file is checked as it is."""
    if path is None or (pinned is not None and pinned.witness == path):
        return False
    try:
        if path.is_file() and path.read_bytes().strip():
            return False
        if path.exists() and not path.is_file():
            return False  # a folder where the witness should be: read_witness says so
    except OSError:
        return False  # unreadable: read_witness says why
    return not ever_written(session, path)


def _chunks(values: list[int], size: int = 900) -> Iterable[list[int]]:
    for i in range(0, len(values), size):
        yield values[i:i + size]


def _hashes_at(session: Session, column_seq: InstrumentedAttribute[int],
               column_hash: InstrumentedAttribute[str], seqs: set[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for part in _chunks(sorted(seqs)):
        found.update((seq, digest) for seq, digest in session.execute(
            select(column_seq, column_hash).where(column_seq.in_(part))))
    return found


def check(session: Session, head_file: Path | None = None, witness_path: Path | None = None,
          public_key: Ed25519PublicKey | None = None, pending: Path | None = None) -> Report:
    """The whole report. ``pending``: the vault's witness, not written yet (`not_yet_written`;
    ``witness_path`` is then None): the log is checked without it, and the witness the vault
    wrote to before is not asked for (the next checkpoint writes the new one, and audits the
    change).

    The anchors outside the database (the witness, then `audit.head` in `walk`) are read before
    the log, and the log in a reading transaction of the check's own: everything they name was
    committed before they were written, so it is in that view. The caller's session may have
    read already (`vault_report` reads the vault's identity first), and on SQLite a reading
    transaction sees the database as at its first read — an entry committed since then (a
    recorder, a sweep, a sign-in) looked like a cut log, a false tamper alarm."""
    lines = read_witness(witness_path) if witness_path is not None else []
    with _own_view(session) as view:
        return _check(view, head_file, witness_path, public_key, pending, lines)


@contextmanager
def _own_view(session: Session) -> Iterator[Session]:
    bind = session.get_bind()
    own = Session(bind=getattr(bind, "engine", bind), info=dict(session.info))
    try:
        own.connection(execution_options={"kustosz_read": True})
        yield own
    finally:
        own.close()


def _check(session: Session, head_file: Path | None, witness_path: Path | None,
           public_key: Ed25519PublicKey | None, pending: Path | None,
           lines: list[str]) -> Report:
    report = Report(witness=witness_path, pending=pending)
    opened: dict[int, tuple[str, str, dict[str, Any]]] = {}
    sealed: dict[int, tuple[int, int, str]] = {}  # checkpoint n -> (entry seq, access head)
    first: list[AuditEntry] = []
    lists = intake_lists.IntakeLists(lambda: _own_view(session))
    days = deletion_days.DayRecords(lambda: _own_view(session))

    def visit(e: AuditEntry) -> None:
        if e.seq == 1:
            first.append(e)
        lists.visit(e)
        days.visit(e)
        if e.action == "access.open":
            d = json.loads(e.details)
            if isinstance(d.get("viewing"), int):
                opened[d["viewing"]] = (e.actor, e.subject, d)
        elif e.action == witness.ACTION:
            d = json.loads(e.details)
            sealed[d["n"]] = (e.seq, d["access_seq"], d["access_hash"])

    count, problem = walk(session, head_file, visit)
    report.entries = count
    if count == 0:
        report.problems.append(AuditProblem(1, "missing: the log is empty (its first entry, "
                                               "vault.init, seals the vault's identity)"))
    elif first and first[0].action != "vault.init":
        report.problems.append(AuditProblem(1, "is not vault.init: the log does not begin "
                                               "where the vault began"))
    if problem is not None:
        report.problems.append(problem)
    lists.flush()
    days.finish()
    report.problems.extend(lists.problems + days.problems)

    parsed = _check_lines(report, lines, session, public_key, first)
    wanted = {a for _, a, _ in sealed.values()} | {p["access_seq"] for p in parsed}
    access, served = access_chain.check_chain(session, wanted)
    report.access_records = access.records
    report.problems.extend(AuditProblem(0, p.split(": ", 1)[1], p.split(": ", 1)[0])
                           for p in access.problems)
    for n, (seq, a_seq, a_hash) in sorted(sealed.items()):
        if a_seq and access.found.get(a_seq) != a_hash:
            report.problems.append(AuditProblem(
                seq, f"checkpoint {n} sealed access record {a_seq}, which is "
                     f"{'gone' if a_seq not in access.found else 'no longer the same'}",
                f"access record {a_seq}"))
            break
    for p in parsed:
        if p["access_seq"] and access.found.get(p["access_seq"]) != p["access_hash"]:
            report.problems.append(AuditProblem(
                p["seq"], f"differs from witnessed checkpoint {p['n']} (access records were "
                          "removed or rewritten)", f"access record {p['access_seq']}"))
            break
    if problem is None:  # after a broken chain the sessions' entries are not all known
        report.problems.extend(AuditProblem(0, p.split(": ", 1)[1], p.split(": ", 1)[0])
                               for p in access_chain.check_viewings(session, opened, served))
    if witness_path is None and pending is None \
            and (known := witness.witnessed_at(session)) is not None:
        report.problems.append(AuditProblem(
            0, f"this vault's checkpoints were written to the witness {known}; verify against "
               "it (--witness PATH, or [audit] witness in kustosz.toml) — without it a cut or "
               "recomputed log cannot be told from an intact one", "witness"))
    if witness_path is not None:
        present = {p["n"] for p in parsed}
        for n, (seq, _, _) in sorted(sealed.items()):
            if n not in present and len(parsed) == len(lines):
                report.problems.append(AuditProblem(
                    seq, f"checkpoint {n} is not in the witness (its line was removed or "
                         "replaced; if the witness was unreachable, `kustosz audit "
                         "checkpoint` writes it)", "witness"))
                break
    return report


def _check_lines(report: Report, lines: list[str], session: Session,
                 public_key: Ed25519PublicKey | None,
                 first: list[AuditEntry]) -> list[dict[str, Any]]:
    """Each witness line: ours, this vault's, signed by the office's key, numbered in turn,
    and the entry it sealed still in the log with the same hash."""
    if not lines:
        return []
    where = "witness"
    if public_key is None:
        report.problems.append(AuditProblem(0, "the office's key is missing from keys/, so "
                                               "no checkpoint can be checked", where))
        return []
    fp = fingerprint(public_key)
    if first:
        stated = json.loads(first[0].details).get("key")
        if stated is not None and stated != fp:
            report.problems.append(AuditProblem(1, f"names the office key {stated}, but keys/ "
                                                   f"holds {fp} (the key was replaced)"))
    vid = first[0].hash if first else None
    parsed: list[dict[str, Any]] = []
    for i, text in enumerate(lines, 1):
        try:
            data = witness.parse_line(text)
        except ValueError as exc:
            report.problems.append(AuditProblem(0, str(exc), f"witness line {i}"))
            return parsed
        if data["key"] != fp or not witness.signature_ok(data, public_key):
            report.problems.append(AuditProblem(0, "its signature is not the office's (the "
                                                   "line was forged or changed)",
                                                f"witness line {i}"))
            return parsed
        if vid is not None and data["vault"] != vid:
            report.problems.append(AuditProblem(0, "belongs to another vault, or this log's "
                                                   "first entry was rewritten",
                                                f"witness line {i}"))
            return parsed
        expected = parsed[-1]["n"] + 1 if parsed else 1
        if data["n"] != expected:
            report.problems.append(AuditProblem(0, f"is checkpoint {data['n']} where "
                                                   f"{expected} was due (lines removed, "
                                                   "repeated or reordered)",
                                                f"witness line {i}"))
            return parsed
        parsed.append(data)
    report.witnessed = len(parsed)
    report.latest = parsed[-1] if parsed else None
    found = _hashes_at(session, AuditEntry.seq, AuditEntry.hash, {p["seq"] for p in parsed})
    last = session.execute(select(AuditEntry.seq).order_by(AuditEntry.seq.desc())
                           .limit(1)).scalar() or 0
    for p in parsed:
        if p["seq"] not in found:
            report.problems.append(AuditProblem(
                p["seq"], f"missing: checkpoint {p['n']} sealed it, but the log ends at {last} "
                          "(entries were cut off)" if p["seq"] > last else
                f"missing: checkpoint {p['n']} sealed it (entries were removed)"))
            break
        if found[p["seq"]] != p["hash"]:
            report.problems.append(AuditProblem(
                p["seq"], f"differs from witnessed checkpoint {p['n']} (the log was rewritten "
                          "and its chain recomputed)"))
            break
    return parsed


def vault_report(session: Session, head_file: Path | None = None) -> Report:
    """`audit verify` of a vault's session with no options, as the dashboard and `serve`'s
    daily check run it: the witness and key the root-pinned identity names (kustosz.audit.
    identity; else kustosz.toml's and keys/'), a witness not written yet waited for
    (`not_yet_written`). Every problem is in the report, the identity's first."""
    root = session.info.get("data_root")
    witness_file, key, ident = None, None, None
    pinned: list[str] = []
    if isinstance(root, Path):  # a vault's session: its witness and key are known
        try:
            # The root-owned identity, where there is one, over what the data folder says
            # (kustosz.audit.identity).
            found = identity.resolve(root, read_config(root).audit.witness,
                                     witness.public_key_of(root), witness.vault_id(session))
        except KustoszError as exc:
            return Report(problems=[AuditProblem(0, str(exc), "witness identity")])
        witness_file, key, ident, pinned = found.witness, found.key, found.identity, \
            found.problems
    pending = witness_file if not_yet_written(session, witness_file, ident) else None
    try:
        report = check(session, head_file, None if pending else witness_file, key, pending)
    except KustoszError as exc:  # the witness missing or unreadable: the check fails, says why
        report = Report(witness=witness_file, problems=[AuditProblem(0, str(exc), "witness")])
    report.problems[:0] = [AuditProblem(0, p, "witness identity") for p in pinned]
    return report


def verify(session: Session, head_file: Path | None = None) -> tuple[int, AuditProblem | None]:
    """The main chain, the access chain, the viewing sessions and — when the vault's
    `[audit] witness` is set — every signed checkpoint; return how many entries were checked
    and the first problem (`vault_report` has them all)."""
    report = vault_report(session, head_file)
    return report.entries, report.problems[0] if report.problems else None
