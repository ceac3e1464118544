"""Making a copy (kopie nagrań, R4.3, R2.5): a request's media set (`copy_material`) written
as an evidence bundle (`copy_media`), labelled and signed (`copy_seal`), numbered per year
(`copy_numbers`) and registered.

The slow part (remux, hashing) and the label and signature run before the write transaction,
so the database is locked only while the number is taken, checked against what the bundle
says (sealed again there only where the number, the request or the audit log's checkpoint
changed meanwhile), the copy registered and its folder renamed into place.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from kustosz import staging
from kustosz.access.users import printed
from kustosz.audit import append as audit
from kustosz.audit.witness import latest_line
from kustosz.custody import bundles
from kustosz.custody.actions import record_action
from kustosz.custody.copy_checks import check_request, planned, wants_playable
from kustosz.custody.copy_media import build_media, regions_from
from kustosz.custody.copy_numbers import NumberTaken, next_number, planned_number
from kustosz.custody.copy_progress import Report
from kustosz.custody.copy_seal import CopyFacts, Sealed, seal_copy
from kustosz.custody.copy_terms import PROTECTED, fmt
from kustosz.custody.requests import copy_period, end_request_holds, get_request
from kustosz.db.custody import Copy, Request
from kustosz.errors import InputError, KustoszError
from kustosz.fsutil import replace, sync_tree
from kustosz.kinds import SourceKind
from kustosz.masking import residual
from kustosz.policy import Policy
from kustosz.states import CopyState, RequestKind, RequestStatus
from kustosz.storage.base import Tampered
from kustosz.vault import Vault

# The folder a copy is built in (kustosz.staging): one a killed making left, a signed bundle
# of personal data outside the register, is removed by the next making.
BUILD = ".build-"


def check_copy(vault: Vault, request_id: int, by: str, actor: str = "",
               playable: bool | None = None, now: datetime | None = None) -> None:
    """Refuse, as make_copy would, before a copy is queued to be made in the background."""
    with vault.reading() as s:
        req, _ = planned(s, request_id, by, vault, now or datetime.now(UTC))
        wants_playable(req.kind, playable)


def make_copy(vault: Vault, request_id: int, by: str, actor: str,
              now: datetime | None = None, progress: Report | None = None,
              playable: bool | None = None) -> Copy:
    """``progress(fraction, note)``: how far it got, for a copy made as a job (kustosz.jobs).
    ``playable``: add each camera's playable file (None: by the request's kind,
    `wants_playable`). Its number is burned into the picture before the number is taken
    under the write lock; if another copy took it meanwhile, the copy is built again."""
    for _ in range(3):
        try:
            return _make_copy(vault, request_id, by, actor, now, progress, playable)
        except NumberTaken:
            continue
    raise KustoszError(f"request {request_id}: other copies kept taking the number of this "
                       "one; try again", pl=f"Wniosek nr {request_id}: inne kopie zajmowały "
                       "kolejno numer tej kopii; spróbuj ponownie.")


def _make_copy(vault: Vault, request_id: int, by: str, actor: str, now: datetime | None,
               progress: Report | None, want_playable: bool | None) -> Copy:
    policy = vault.policy
    now = now or datetime.now(UTC)
    year = now.astimezone(policy.timezone).year
    with vault.reading() as s:
        req, groups = planned(s, request_id, by, vault, now)
        period = copy_period(req)
        window = (*period, req.who)
        # marked in seconds from the start of the window held (the mask form's period)
        regions = regions_from(req.subject_regions or [],
                               (period[0] - req.start_at).total_seconds(),
                               (period[1] - period[0]).total_seconds())
        maker = printed(s, by)
        burned = planned_number(s, year) if wants_playable(req.kind, want_playable) and any(
            g.source.kind == SourceKind.CAMERA for g in groups) else None
    store = vault.root / "copies"  # bundles, not media: files of the data folder itself
    store.mkdir(mode=0o700, exist_ok=True)
    os.chmod(store, 0o700)  # the "locked place": only the vault's own account reads it
    work = staging.fresh(store, BUILD)  # and what a killed making left is removed
    final: Path | None = None
    try:
        try:
            known: dict[str, str] = {}
            media = build_media(vault, groups, work, window, progress, burned,
                                data_subject=req.kind == RequestKind.DATA_SUBJECT,
                                regions=regions, known=known)
        except Tampered as exc:
            _refused_tampered(vault, request_id, by, maker, actor, exc)
            raise
        if progress:
            progress(0.9, "Podpisywanie i zapisywanie kopii")
        # Hashed here only what was not hashed while written (a masked video, a playable file).
        for m in media:
            if m["path"] not in known:
                known[m["path"]] = bundles.sha256_file(work / m["path"])
        playables = [m.pop("playable") for m in media if "playable" in m]
        withheld = residual.failed(media)
        for p in playables:
            known[p["path"]] = p["sha256"] = bundles.sha256_file(work / p["path"])
        facts = CopyFacts(policy, period, groups, media, playables, maker, now,
                          bundles.office_key(vault.root))
        with vault.reading() as s:  # the label and manifest as the database stands now
            sealed = seal_copy(work, facts.papers(burned or planned_number(s, year),
                                                  get_request(s, request_id), latest_line(s)),
                               facts.key, known, vault.root)
        # The whole bundle flushed before the write lock is taken (the long part): a power
        # cut after the row that names it commits finds it whole.
        sync_tree(work)
        with vault.transaction() as s:
            req = get_request(s, request_id)
            check_request(s, req)  # again, under the write lock
            seq, number = next_number(s, year)
            if burned is not None and number != burned:
                raise NumberTaken(number)
            papers = facts.papers(number, req, latest_line(s))
            if papers != sealed.papers:
                # Another copy took the number, a checkpoint came between or the request
                # was edited since: sealed again as the database stands under the lock.
                sealed = seal_copy(work, papers, facts.key, known, vault.root)
                sync_tree(work)
            final = store / str(year) / f"{seq:04d}"
            copy = _copy_row(facts, sealed, req, number, year, seq, by,
                             str(final.relative_to(vault.root)), withheld)
            s.add(copy)
            s.flush()
            _registered(s, copy, req, facts, withheld, by, actor, policy)
            final.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if final.exists():
                raise InputError(f"{final} already exists; the copy store is out of step with "
                                 "the index",
                                 pl=f"Folder kopii {final.name} już istnieje: magazyn kopii "
                                    "nie zgadza się z indeksem. Zgłoś to administratorowi.")
            # Flushed whole above: the folder renamed into place durably before the row that
            # names it can commit.
            replace(work, final, sync_source=False)
        return copy
    except BaseException:
        if final is not None and final.exists() and not work.exists():
            shutil.rmtree(final, ignore_errors=True)  # the transaction did not commit
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _copy_row(facts: CopyFacts, sealed: Sealed, req: Request, number: str, year: int,
              seq: int, by: str, bundle: str, withheld: list[dict[str, Any]]) -> Copy:
    media = facts.media
    return Copy(number=number, year=year, seq=seq, request_id=req.id,
                start_at=facts.period[0], end_at=facts.period[1],
                sources=[{**m["source"], "path": m["path"], "from": m["from"],
                          "to": m["to"], **{k: m[k] for k in PROTECTED if k in m}}
                         for m in media],
                items=[r.id for g in facts.groups for r in g.recordings],
                files=sealed.files, made_by=by, made_at=facts.now,
                expires_at=facts.expires, bundle=bundle,
                manifest_sha256=sealed.digest, state=CopyState.KEPT,
                # a data subject's masked video is watched by a second person and
                # approved before it is handed over (custody.subject_review), once
                # the check of every frame of it found no face but the requester's
                # (masking.residual: else it is not offered for review at all)
                review_state=(residual.STATE if withheld else "awaiting")
                if any("masking" in m for m in media) else None)


def _registered(s: Session, copy: Copy, req: Request, facts: CopyFacts,
                withheld: list[dict[str, Any]], by: str, actor: str, policy: Policy) -> None:
    """The request copied, the copy in the register and the audit log; the request's hold
    ended where the office's rule says so."""
    number, maker, now = copy.number, facts.maker, facts.now
    req.status = RequestStatus.COPIED
    if withheld:
        _withhold(s, copy, req, withheld, maker, actor, policy, now)
    record_action(s, "copy.make", f"Sporządzono kopię nr {number} (okres "
                  f"{fmt(facts.first, policy)} – {fmt(facts.last, policy)}) na wniosek nr "
                  f"{req.id}.", maker, request_id=req.id, copy_id=copy.id, at=now)
    # The copy answers the request: where the office's rule says so, the request's
    # hold on the original ends here [002 zał.5 §6.3, §7.1] (policy.custody).
    end_request_holds(s, policy, [req], "copy_made", number, actor, at=now)
    audit(s, actor, "copy.make", f"copy {number}", {
        "request": req.id, "by": by, "manifest_sha256": copy.manifest_sha256,
        "items": copy.items, "expires_at": facts.expires.isoformat()})


def _withhold(s: Session, copy: Copy, req: Request, bad: list[dict[str, Any]], maker: str,
              actor: str, policy: Policy, now: datetime) -> None:
    """A masked copy whose check found a face other than the requester's (issue 28 item 1):
    kept for the record but never offered for review (nor handed over: its review state is
    not approved), why in its state, the register and the audit log; the request may be
    copied again once the masks are corrected."""
    en, pl = residual.reason(bad, copy.start_at, policy.timezone)
    copy.review_reason = residual.stored_reason(en, pl)
    req.status = RequestStatus.APPROVED
    record_action(s, "copy.review", f"Kopia nr {copy.number}: {pl}", maker,
                  request_id=req.id, copy_id=copy.id, at=now)
    audit(s, actor, "copy.review.residual", f"copy {copy.number}", {
        "reason": en, "files": [{"path": m["path"],
                                 "verification": {k: v for k, v in
                                                  (residual.verification(m) or {}).items()
                                                  if k != "worst_frames"}}
                                for m in bad]})


def _refused_tampered(vault: Vault, request_id: int, by: str, maker: str, actor: str,
                      exc: Tampered) -> None:
    """A copy whose material does not match the index is not made: the refusal is recorded
    (audit log and the request's register) before the error reaches whoever asked."""
    with vault.transaction() as s:
        record_action(s, "copy.refused", f"Nie sporządzono kopii na wniosek nr {request_id}: "
                      f"{exc.pl}", maker, request_id=request_id)
        audit(s, actor or by, "copy.refused", f"request {request_id}", {
            "key": exc.key, "sha256_index": exc.want_sha256, "sha256_found": exc.got_sha256})
