"""What a copy says of itself: its label (label.pdf) and its manifest (manifest.json with every
file's SHA-256, signed with the office's key). Both are fixed by what is known once the media
are written (`CopyFacts`) and by three things the database says: the copy's number, the
request as it stands and the audit log's latest checkpoint (`Papers`).

The copy is sealed before the write lock is taken, from those three as read then; under the
lock they are read again, and only where one of them changed meanwhile (another copy took the
number, a checkpoint came between, the request was edited) is the copy sealed again there.
Either way the bundle says what the database said under the lock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kustosz import playable
from kustosz.custody import bundles
from kustosz.custody.copy_dates import kept_until
from kustosz.custody.copy_material import Group
from kustosz.custody.copy_terms import expiry, fmt
from kustosz.custody.requests import KINDS
from kustosz.db.custody import Request
from kustosz.documents import render
from kustosz.policy import Policy
from kustosz.states import RequestKind


@dataclass(frozen=True)
class Papers:
    """The label's fields and the manifest before it is signed."""

    label: dict[str, Any]
    manifest: dict[str, Any]


@dataclass(frozen=True)
class Sealed:
    """A bundle sealed from ``papers``: the manifest's SHA-256 and the files it lists."""

    papers: Papers
    digest: str
    files: list[dict[str, Any]]


@dataclass
class CopyFacts:
    """What the label and manifest say that is known before the number is taken."""

    policy: Policy
    period: tuple[datetime, datetime]
    groups: list[Group]
    media: list[dict[str, Any]]
    playables: list[dict[str, Any]]
    maker: str
    now: datetime
    key: Ed25519PrivateKey
    # The span of what the copy holds (copy_dates.held_period reads it back from the row):
    # the period asked for, or the stored segments that overlap it, whole.
    first: datetime = field(init=False)
    last: datetime = field(init=False)
    expires: datetime = field(init=False)

    def __post_init__(self) -> None:
        self.first = min(datetime.fromisoformat(m["from"]) for m in self.media)
        self.last = max(datetime.fromisoformat(m["to"]) for m in self.media)
        self.expires = expiry(self.policy, self.first, self.now)

    def papers(self, number: str, req: Request, checkpoint: dict[str, Any] | None) -> Papers:
        """The label and manifest of copy ``number`` of ``req``; ``checkpoint``: the audit
        log's latest (`audit.witness.latest_line`)."""
        policy, period, now = self.policy, self.period, self.now
        label = {"office": policy.office_name, "number": number,
                 "from": fmt(self.first, policy), "to": fmt(self.last, policy),
                 "sources": [g.info["label"] for g in self.groups],
                 "made_on": fmt(now, policy, seconds=False), "made_by": self.maker,
                 "expires_on": kept_until(self.expires, policy),
                 "key_fingerprint": bundles.fingerprint(self.key.public_key()),
                 # the label sealed inside a data subject's copy is theirs: not "for
                 # authorities only" (issue 49 item 4), as papers.label_doc prints it
                 "data_subject": req.kind == RequestKind.DATA_SUBJECT}
        manifest = {
            "number": number, "office": policy.office_name,
            "request": {"id": req.id, "kind": req.kind, "kind_pl": KINDS[req.kind],
                        "requester": req.requester, "received_on": req.received_on,
                        "case_ref": req.case_ref},
            # the period asked for: what the copy holds (issue 29 item 2); the window the
            # request's hold keeps, the office's margin on each side, is not handed over
            "period": {"from": period[0].astimezone(policy.timezone).isoformat(),
                       "to": period[1].astimezone(policy.timezone).isoformat()},
            "sources": [g.info for g in self.groups], "media": self.media,
            "made_by": self.maker, "made_at": now.astimezone(policy.timezone).isoformat(),
            "expires_at": self.expires.astimezone(policy.timezone).isoformat(),
            "clock_note": "Czas rejestratora nie jest synchronizowany z zewnętrznym "
                          "wzorcem; znane przesunięcie zegara podano przy źródle.",
            # The latest signed checkpoint of the audit log: the state of the log that
            # this copy's making follows, checkable with the office's public key.
            "audit_checkpoint": checkpoint,
        }
        if period != (req.start_at, req.end_at):
            manifest["secured_period"] = {
                "from": req.start_at.astimezone(policy.timezone).isoformat(),
                "to": req.end_at.astimezone(policy.timezone).isoformat(),
                "note_pl": "Okres zabezpieczony na czas rozpatrzenia wniosku, z zapasem "
                           "przed i po; kopia obejmuje tylko okres, o który wniesiono.",
                "note_en": "The window held while the request was decided, with a margin "
                           "on each side; the copy holds only the period asked for."}
        if self.playables:
            manifest["playable"] = {"note_pl": playable.NOTE_PL,
                                    "note_en": playable.NOTE_EN, "files": self.playables}
        return Papers(label, manifest)


def seal_copy(work: Path, papers: Papers, key: Ed25519PrivateKey, known: dict[str, str],
              data_root: Path) -> Sealed:
    """Print the label into ``work`` and sign the manifest listing every file of it."""
    render("label", papers.label, work / "label.pdf", data_root)
    digest = bundles.seal(work, _jsonable(papers.manifest), key, known)
    return Sealed(papers, digest, bundles.file_entries(work, known))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
