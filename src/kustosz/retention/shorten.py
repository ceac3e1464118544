"""Shortening a retention period: an explicit, audited, two-person step (issue 28 item 5).

A policy change (kustosz.toml) may lengthen a period at once: the index is re-dated and the
objects' retention lengthened with the app's credentials. A *shorter* period does not count
for deletion until two people have agreed to it:

1. an administrator proposes it (`propose`: the kind, the period kustosz.toml now sets, a
   reason) — the audit entry `retention.shorten.propose` is the proposal, its sequence number
   its id;
2. an approver other than the proposer approves it (`approve`): the index's ends of that
   kind's material are set by the new period and each object whose retain-until is later is
   re-dated with the governance bypass — here and nowhere else, with the re-dating identity's
   credentials (`--credentials FILE`, which neither serve nor the sweeper holds) — and the
   audit entry `retention.shorten.approve` records it.

Until then the sweep keeps the material (kustosz.holds.record: the recorded period is the
longer one; the store's retain-until too) and says so (alert `retention_disagrees`). Early
destruction of a copy by the commission (custody/destruction.py) is another matter: a copy is
a bundle in the data folder, never an object under the store's lock.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from kustosz.access.users import require_role
from kustosz.audit import append as audit
from kustosz.db.models import Recording, Source
from kustosz.errors import ConfigError, FieldError, InputError, NotFound
from kustosz.holds.object_lock import SHORTEN_GRACE, shorten_object
from kustosz.holds.record import APPROVE, PROPOSE, record_of
from kustosz.index.expiry import expiry_of
from kustosz.limits import check_texts
from kustosz.policy import Period
from kustosz.states import RecordingState
from kustosz.storage.base import Lockable, Storage
from kustosz.vault import Vault

log = logging.getLogger(__name__)
PAGE = 500
GRACE = SHORTEN_GRACE  # a past end is kept this much longer (holds.object_lock)


def _period(text: str) -> Period:
    try:
        return Period.parse(text)
    except ConfigError as exc:
        raise FieldError("period", str(exc), pl=exc.pl) from None


def propose(vault: Vault, kind: str, period: str, reason: str, by: str, actor: str) -> int:
    """Record the proposal; its id (the audit entry's sequence number)."""
    check_texts(reason=reason)
    if not reason or not reason.strip():
        raise FieldError("reason", "a shortening needs a reason",
                         pl="Skrócenie okresu przechowywania wymaga podania przyczyny.")
    wanted = _period(period)
    try:
        rule = vault.policy.retention_for(kind)
    except ConfigError as exc:
        raise FieldError("kind", str(exc), pl=exc.pl) from None
    if wanted != rule:
        raise FieldError(
            "period", f"kustosz.toml sets {rule} for {kind} material, not {wanted}: change "
                      "the policy first, then propose the period it sets",
            pl=f"Plik kustosz.toml ustala dla tego rodzaju nagrań okres {rule}, a nie "
               f"{wanted}: najpierw zmień zasady, potem zaproponuj okres, który ustalają.")
    with vault.transaction() as s:
        require_role(s, by, "administrator", "propose shortening a retention period")
        record = record_of(vault, s)
        recorded = record.periods.get(kind, ())
        if recorded == (wanted,):
            raise InputError(f"{wanted} is already the recorded period of {kind} material; "
                             "there is nothing to shorten",
                             pl=f"Okres {wanted} jest już zapisanym okresem przechowywania "
                                "tego rodzaju nagrań; nie ma czego skracać.")
        for seq, d in record.pending_proposals().items():
            if d.get("kind") == kind and d.get("period") == str(wanted):
                raise InputError(f"proposal {seq} already asks for it; it waits for approval",
                                 pl=f"Propozycja nr {seq} już o to wnioskuje i czeka na "
                                    "zatwierdzenie.")
        entry = audit(s, actor, PROPOSE, f"kind {kind}", {
            "kind": kind, "period": str(wanted), "recorded": [str(p) for p in recorded],
            "reason": reason.strip(), "by": by})
        return entry.seq


def approve(vault: Vault, proposal: int, by: str, actor: str,
            store: Storage | None = None) -> dict[str, Any]:
    """The second person's approval: re-date the index and the objects, then record it.
    ``store``: the store as the re-dating identity sees it (an object store: required)."""
    with vault.reading() as s:
        require_role(s, by, "approver", "approve shortening a retention period")
        record = record_of(vault, s)
        details = record.proposals.get(proposal)
        if details is None:
            raise NotFound(f"no proposal {proposal} to shorten a retention period",
                           pl=f"Nie ma propozycji skrócenia okresu przechowywania nr "
                              f"{proposal}.")
        if proposal in record.approved:
            raise InputError(f"proposal {proposal} was approved already",
                             pl=f"Propozycja nr {proposal} została już zatwierdzona.")
    if by == details.get("by"):
        raise FieldError("by", f"{by} proposed it; another person must approve it",
                         pl=f"Skrócenie zaproponował(a) {by}; zatwierdzić je musi inna osoba.")
    kind, wanted = str(details["kind"]), _period(str(details["period"]))
    try:
        rule = vault.policy.retention_for(kind)
    except ConfigError as exc:
        raise InputError(str(exc), pl=exc.pl) from None
    if rule != wanted:
        raise InputError(f"kustosz.toml now sets {rule} for {kind} material, not the {wanted} "
                         f"proposal {proposal} asked for; propose again",
                         pl=f"Plik kustosz.toml ustala teraz dla tego rodzaju nagrań okres "
                            f"{rule}, a nie {wanted} z propozycji nr {proposal}; zaproponuj "
                            "skrócenie ponownie.")
    if store is None:
        if vault.config.s3 is not None:
            raise FieldError("credentials", "the object store's retention is re-dated with "
                             "the re-dating identity's credentials: give --credentials FILE",
                             pl="Okres przechowywania w magazynie obiektów skraca tożsamość "
                                "do skracania okresów: podaj --credentials PLIK.")
        store = vault.storage
    rows, objects = _redate(vault, kind, store)
    with vault.transaction() as s:
        audit(s, actor, APPROVE, f"kind {kind}", {
            "proposal": proposal, "kind": kind, "period": str(wanted), "by": by,
            "proposed_by": details.get("by"), "recordings": rows, "objects": objects})
    return {"proposal": proposal, "kind": kind, "period": str(wanted), "recordings": rows,
            "objects": objects}


def _redate(vault: Vault, kind: str, store: Storage) -> tuple[int, int]:
    """The index's ends of ``kind``'s material (sources without a period of their own) by
    the policy, and each object's retain-until down to its end; how many of each."""
    lockable = isinstance(store, Lockable)
    now = datetime.now(UTC)
    rows = objects = 0
    after = 0
    while True:
        with vault.transaction() as s:
            sources = {src.id: src for src in s.execute(
                select(Source).where(Source.kind == kind, Source.retention.is_(None))
            ).scalars()}
            if not sources:
                return 0, 0
            page = s.execute(select(
                Recording.id, Recording.source_id, Recording.start_at, Recording.retain_from,
                Recording.storage_key, Recording.version_id, Recording.expires_at)
                .where(Recording.source_id.in_(list(sources)), Recording.id > after,
                       Recording.state.in_((RecordingState.STORED, RecordingState.PENDING)))
                .order_by(Recording.id).limit(PAGE)).all()
            if not page:
                return rows, objects
            for row in page:
                # retain_from, when set, is the base: later than the start (a clock found
                # behind) or earlier (an approved clock undo, kustosz.clock.undo)
                end = expiry_of(sources[row.source_id], row.retain_from or row.start_at,
                                vault.policy)
                if row.expires_at != end:
                    s.execute(update(Recording).where(Recording.id == row.id)
                              .values(expires_at=end))
                rows += 1
                if lockable:
                    objects += shorten_object(store, row.storage_key, row.version_id, end,
                                              now, GRACE)
            after = page[-1].id
