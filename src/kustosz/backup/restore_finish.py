"""Step 3 of a restore (kustosz.backup.restore): the vault moved into place is opened, the
deletions recorded after the backup are applied (material the sweep deleted does not come
back; on an object store with the sweep's credentials only), the restored vault gets a new
witness file, and `audit verify` and a hash check of every stored item run on the result.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select

from kustosz.audit import append as audit
from kustosz.audit import identity
from kustosz.audit.verifier import check
from kustosz.audit.witness import checkpoint, public_key_of
from kustosz.backup import state as backup_state
from kustosz.backup.layout import Progress
from kustosz.backup.restore_checks import Opened
from kustosz.config import CONFIG_NAME
from kustosz.db.dependents import drop_dependents
from kustosz.db.models import Deletion, Hold, Recording, Setting, Sweep
from kustosz.errors import InputError, KustoszError
from kustosz.fsutil import write_atomic
from kustosz.states import RecordingState
from kustosz.storage.base import delete_content
from kustosz.vault import Vault

log = logging.getLogger(__name__)
_WITNESS_LINE = re.compile(r'^(\s*witness\s*=\s*)(".*?"|\'.*?\')\s*$', re.MULTILINE)


@dataclass
class RestoreReport:
    data: Path
    backup_id: str
    made_at: str
    deletions_applied: int = 0
    deletions_known: int = 0
    audit_entries: int = 0
    audit_problems: list[str] = field(default_factory=list)
    witness_note: str | None = None
    media_checked: int = 0
    media_problems: list[str] = field(default_factory=list)
    holds_active: int = 0
    media_bucket: str | None = None  # the media are in this bucket, not in the backup
    journal_note: tuple[str, str] | None = None  # (Polish, English): what the journal proves

    @property
    def ok(self) -> bool:
        return not self.audit_problems and not self.media_problems


def finish(src: Path, data: Path, opened: Opened, actor: str,
           progress: Progress) -> RestoreReport:
    """The restored vault in ``data``: deletions since the backup, then the checks."""
    manifest = opened.manifest
    report = RestoreReport(data, opened.backup_id, manifest["made_at"],
                           deletions_known=len(opened.journal.lines),
                           journal_note=opened.journal_note)
    vault = Vault.open(data, actor=actor)
    try:
        made = datetime.fromisoformat(manifest["made_at"]).astimezone(
            vault.policy.timezone).replace(microsecond=0)
        report.made_at = f"{made:%Y-%m-%d %H:%M:%S} {made.isoformat()[19:]}"  # for people
        report.witness_note = _check_witness(vault, manifest, report)
        if vault.config.audit.witness is not None:
            vault = _new_witness(vault, data, report, actor)
        report.deletions_applied = _apply_deletions(vault, opened.journal.lines, opened.backup_id,
                                                    actor, report)
        _record_restored(vault, src, data, opened, report, actor)
        if vault.config.audit.witness is not None:
            outcome = checkpoint(vault, actor, force=True)  # the new witness: whole history
            if outcome.problem:
                report.audit_problems.append(f"witness: {outcome.problem}")
        _verify_audit(vault, report)
        _verify_media(vault, report, progress)
        with vault.reading() as s:
            report.holds_active = s.execute(select(func.count()).select_from(Hold).where(
                Hold.released_at.is_(None))).scalar() or 0
    finally:
        vault.close()
    return report


def _record_restored(vault: Vault, src: Path, data: Path, opened: Opened,
                     report: RestoreReport, actor: str) -> None:
    with vault.transaction() as s:
        # The old vault's backups are not this one's: their deletion journals must not
        # get this vault's deletions, and its backup age starts afresh (doctor, alerts).
        s.execute(delete(Setting).where(Setting.key == backup_state.KEY))
        audit(s, actor, "backup.restored", str(data), {
            "backup": opened.backup_id, "made_at": opened.manifest["made_at"], "from": str(src),
            "deletions_applied": report.deletions_applied})


def _new_witness(vault: Vault, data: Path, report: RestoreReport, actor: str) -> Vault:
    """Point the restored vault at a new witness file beside the old one.

    The restored log goes on from the backup's last entry: its next checkpoints would carry
    numbers the old witness already holds for entries of the old vault (lost with it), and
    appended there they would make both lines of history unverifiable. The new file is
    filled with the whole history at the restore's checkpoint (lines up to the backup are
    the very ones the old witness holds); the old one stays as the record of the old vault.
    """
    old = vault.config.audit.witness
    assert old is not None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    new = old.with_name(f"{old.stem}.restored-{stamp}{old.suffix or '.jsonl'}")
    n = 1
    while new.exists():  # another restore of the same moment: never share a witness
        n += 1
        new = old.with_name(f"{old.stem}.restored-{stamp}-{n}{old.suffix or '.jsonl'}")
    path = data / CONFIG_NAME
    text = path.read_text("utf-8")
    changed, n = _WITNESS_LINE.subn(lambda m: f"{m.group(1)}{json.dumps(str(new))}", text,
                                    count=1)
    if not n:
        report.audit_problems.append(f"witness: {old} could not be replaced in {path}; set "
                                     "[audit] witness to a new file by hand")
        return vault
    write_atomic(path, changed.encode("utf-8"))
    vault.close()
    note = f"the restored vault's checkpoints now go to a new witness file {new}; the old " \
           f"one {old} stays as the record of the old vault"

    if identity.find() is not None:  # pinned by root for the old vault: verify fails until
        note += (f"; pin the new witness as root: kustosz --data {data} audit pin-witness "
                 f"(the identity {identity.DEFAULT_PATH} names the old one)")
    report.witness_note = f"{report.witness_note}; {note}" if report.witness_note else note
    return Vault.open(data, actor=actor)



def _apply_deletions(vault: Vault, lines: list[dict[str, Any]], backup_id: str,
                     actor: str, report: RestoreReport | None = None) -> int:
    """Delete, in the restored vault, what the old one deleted after the backup; recorded
    as a sweep of mode "restore" with the original rule and time of each deletion."""
    if not lines:
        return 0
    wanted = {int(d["recording_id"]): d for d in lines}
    now = datetime.now(UTC)
    with vault.transaction() as s:
        present = {r.id: r for r in s.execute(select(Recording).where(
            Recording.id.in_(list(wanted)))).scalars()}
        if not present:
            return 0
        sweep = Sweep(started_at=now, as_of=now, mode="restore", finished_at=now,
                      deleted=len(present))
        s.add(sweep)
        s.flush()
        keys = []
        versions = []
        digest = hashlib.sha256()
        for rid in sorted(present):
            rec, d = present[rid], wanted[rid]
            keys.append(rec.storage_key)
            versions.append((rec.storage_key, rec.version_id))
            s.execute(insert(Deletion).values(
                sweep_id=sweep.id, recording_id=rid, source_id=rec.source_id,
                start_at=rec.start_at, end_at=rec.end_at, size=rec.size, sha256=rec.sha256,
                rule=f"{d['rule']} (applied by the restore of backup {backup_id})"[:200],
                deleted_at=datetime.fromisoformat(d["deleted_at"]).astimezone(UTC),
                entries=(rec.meta or {}).get("lines")))
            digest.update(f"{rid}:{rec.sha256}\n".encode())
        drop_dependents(s, list(present))
        s.execute(delete(Recording).where(Recording.id.in_(list(present))))
        audit(s, actor, "sweep.restore", f"sweep {sweep.id}", {
            "backup": backup_id, "deleted": len(present), "deletions_sha256": digest.hexdigest()})
    if vault.config.s3 is None:
        vault.storage.delete_many(keys)
    else:
        _deleted_in_bucket(vault, versions, report)
    return len(present)


def _deleted_in_bucket(vault: Vault, versions: list[tuple[str, str | None]],
                       report: RestoreReport | None) -> None:
    """The old vault's sweep deleted these versions from the same bucket; one still there is
    deleted with the sweep's credentials, never the application's (the lock exists to keep
    those from deleting), or named as a problem."""

    left = []
    for key, version in versions:
        try:
            vault.storage.stat(key, version=version)
        except FileNotFoundError:
            continue  # deleted by the old vault's sweep, as the journal says
        left.append((key, version))
    if not left:
        return
    try:
        store = vault.deleting_storage()
        for key, version in left:
            delete_content(store, key, version)
    except KustoszError as exc:
        log.error("deletions after the backup not applied in the bucket: %s", exc)
        if report is not None:
            report.media_problems += [
                f"media/{key} (version {version}): deleted by the old vault after the backup "
                f"but still in the bucket; the sweep's credentials could not delete it ({exc})"
                for key, version in left]


def _check_witness(vault: Vault, manifest: dict[str, Any], report: RestoreReport) -> str | None:
    """Before anything is appended: the restored log against the witness, if the vault has
    one. Checkpoints made after the backup cannot match (those entries were lost with the old
    vault); everything up to the backup must."""

    path = vault.config.audit.witness
    if path is None or not path.exists():
        return None
    last = manifest["audit"]["seq"]
    with vault.reading() as s:
        try:
            checked = check(s, vault.head_file, path, public_key_of(vault.root))
        except InputError as exc:
            return f"witness {path} not checked: {exc}"
    later = [p for p in checked.problems if p.seq > last and "cut off" in p.problem]
    report.audit_problems.extend(str(p) for p in checked.problems if p not in later)
    if later:
        return (f"the witness {path} holds checkpoints made after the backup (entries after "
                f"no. {last} were lost with the old vault); give the restored vault a new "
                "witness file ([audit] witness) and keep the old one as the record")
    return None


def _verify_audit(vault: Vault, report: RestoreReport) -> None:
    witness = vault.config.audit.witness
    with vault.reading() as s:
        try:
            checked = check(s, vault.head_file, witness, public_key_of(vault.root))
        except InputError as exc:  # the new witness could not be written (said above)
            report.audit_problems.append(f"witness: {exc}")
            checked = check(s, vault.head_file, None, public_key_of(vault.root))
    report.audit_entries = checked.entries
    report.audit_problems.extend(str(p) for p in checked.problems
                                 if witness is not None or p.where != "witness")


def _verify_media(vault: Vault, report: RestoreReport, progress: Progress) -> None:
    with vault.reading() as s:
        rows = list(s.execute(select(Recording.id, Recording.storage_key, Recording.size,
                                     Recording.sha256, Recording.version_id)
                              .where(Recording.state == RecordingState.STORED)))
    progress.start("kontrola skrótów / hash check", len(rows), sum(int(r[2] or 0) for r in rows))
    for _rid, key, size, sha, version in rows:
        try:
            stored = vault.storage.checksum(key, version=version)
            got_sha, got_size = stored.sha256, stored.size
        except FileNotFoundError:
            report.media_problems.append(f"media/{key}: missing")
        else:
            if got_size != size or (sha is not None and got_sha != sha):
                report.media_problems.append(f"media/{key}: differs from the index")
        report.media_checked += 1
        progress.advance(1, int(size or 0))

