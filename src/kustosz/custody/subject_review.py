"""A data subject's video: the masks marked before the copy is made, and the review of the
masked copy before it is handed over (issue 17 item 2, R6.2).

Before the copy: a person marks manual masks (bodies, plates, screens, documents) and the
requester's boxes on the request, each a rectangle in per cent of the picture with a time
range in seconds from the period's start; they go to the masking engine in the picture's own
pixels (`engine_regions`).

After it: the copy "awaits review". A second person (custody role, not its maker) watches
every masked file through the media gate; the player reports its position and the ``ended``
event, and the server counts a file as watched only when the reported positions advanced
without skipping ahead (`record_play`). Approval is refused until that reviewer watched every
file to its end; sending the copy back (with a reason) destroys it at once — a masked copy
that was never handed over, made again from the originals, which the request's hold keeps —
and the request may be copied again once the masks are corrected. Nothing is handed over
before approval (custody.handover).
"""

from __future__ import annotations

import math
import shutil
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.access.users import get_user, printed
from kustosz.audit import append as audit
from kustosz.custody.registers import record_action
from kustosz.custody.requests import get_request
from kustosz.db.custody import Copy, Request, ReviewPlay
from kustosz.errors import InputError, NotFound
from kustosz.kinds import Material, SourceKind
from kustosz.states import CopyState, RequestKind, RequestStatus

AWAITING, APPROVED, SENT_BACK = "awaiting", "approved", "sent_back"
REVIEW_PL = {AWAITING: "czeka na przegląd", APPROVED: "zatwierdzona po przeglądzie",
             SENT_BACK: "zwrócona do poprawy"}
KIND_PL = {"mask": "maska ręczna", "keep": "obszar osoby wnioskującej"}
MAX_REGIONS = 40  # per request: more is a sign of a wrong tool (mask the whole camera instead)
REVIEW_ROLES = ("custodian", "administrator")
# Playback counted server-side: each report may advance the watched position by at most the
# wall time since the previous report times MAX_RATE plus SLACK_S, and never by more than
# MAX_STEP_S (a pause followed by a jump ahead does not count as watching).
MAX_RATE = 2.0
SLACK_S = 1.5
MAX_STEP_S = 5.0
END_SLACK_S = 0.5  # the last frames: "ended" counts once watched reaches the length minus this


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _num(value: Any, what: str, what_pl: str) -> float:
    try:
        out = float(str(value).strip().replace(",", "."))
    except (TypeError, ValueError):
        raise InputError(f"{what} is not a number ({value!r}); nothing was changed",
                         pl=f"{what_pl}: „{value}” nie jest liczbą; niczego nie zmieniono.") \
            from None
    if not math.isfinite(out):
        raise InputError(f"{what} is not a finite number; nothing was changed",
                         pl=f"{what_pl}: to nie jest liczba; niczego nie zmieniono.")
    return out


def period_s(req: Request) -> float:
    return (req.end_at - req.start_at).total_seconds()


def _check_markable(session: Session, req: Request) -> None:
    if req.kind != RequestKind.DATA_SUBJECT or req.material != Material.VIDEO:
        raise InputError(f"request {req.id} is not a data subject's video request; masks are "
                         "marked only there",
                         pl=f"Wniosek nr {req.id} nie jest żądaniem osoby, której dane "
                            "dotyczą, o nagranie wizyjne; maski zaznacza się tylko przy "
                            "takim wniosku.")
    if req.status != RequestStatus.APPROVED:
        raise InputError(f"request {req.id} is {req.status}: masks are marked after the "
                         "decision and before the copy is made",
                         pl=f"Wniosek nr {req.id}: maski zaznacza się po zgodzie na wniosek, "
                            "a przed sporządzeniem kopii.")


def check_period(req: Request) -> None:
    """A data subject's camera period is masked in one job: at most masking.job.MAX_S."""
    from kustosz.masking.job import MAX_S

    if period_s(req) > MAX_S:
        raise InputError(f"request {req.id}: the period is {period_s(req) / 3600:.1f} h long; a "
                         f"data subject's video is masked {MAX_S // 3600} h at most at a time: "
                         "narrow the period of the request (nothing was queued)",
                         pl=f"Wniosek nr {req.id}: okres trwa {period_s(req) / 3600:.1f} godz., "
                            f"a nagranie dla osoby, której dane dotyczą, maskuje się najwyżej "
                            f"po {MAX_S // 3600} godz. naraz: zawęź okres wniosku (niczego nie "
                            "zlecono).")


def add_region(session: Session, req_id: int, *, kind: str, source: str, x: Any, y: Any,
               w: Any, h: Any, from_s: Any, to_s: Any, note: str, actor: str) -> dict[str, Any]:
    """Mark a rectangle (per cent of the picture) with its time range (seconds from the
    period's start) on a data subject's video request."""
    req = get_request(session, req_id)
    _check_markable(session, req)
    if kind not in KIND_PL:
        raise InputError(f"unknown kind of rectangle {kind!r} (mask or keep)",
                         pl="Wybierz rodzaj obszaru: maska ręczna albo obszar osoby "
                            "wnioskującej.")
    if source not in (req.sources or []):
        raise InputError(f"camera {source!r} is not one of the request's cameras",
                         pl=f"Kamera „{source}” nie należy do kamer wniosku.")
    regions = list(req.subject_regions or [])
    if len(regions) >= MAX_REGIONS:
        raise InputError(f"request {req.id} has {len(regions)} rectangles already, the most "
                         f"one request takes ({MAX_REGIONS}); nothing was changed",
                         pl=f"Wniosek nr {req.id} ma już {len(regions)} obszarów — tyle, ile "
                            f"najwięcej przyjmuje jeden wniosek ({MAX_REGIONS}); niczego nie "
                            "zmieniono.")
    xs = [_num(v, n, p) for v, n, p in ((x, "x", "x"), (y, "y", "y"), (w, "width", "szerokość"),
                                          (h, "height", "wysokość"))]
    px, py, pw, ph = xs
    if pw <= 0 or ph <= 0 or px < 0 or py < 0 or px + pw > 100 or py + ph > 100:
        raise InputError(f"the rectangle (x={px:g} %, y={py:g} %, {pw:g} × {ph:g} %) lies "
                         "outside the frame: x and y from 0, width and height above 0, "
                         "x + width and y + height at most 100 %; nothing was changed",
                         pl=f"Obszar (x={px:g}%, y={py:g}%, {pw:g} × {ph:g}%) wychodzi poza "
                            "kadr: x i y od 0, szerokość i wysokość większe od 0, x + "
                            "szerokość oraz y + wysokość najwyżej 100%; niczego nie "
                            "zmieniono.")
    t0 = _num(from_s, "from", "od")
    t1 = _num(to_s, "to", "do")
    length = period_s(req)
    if t0 < 0 or t1 <= t0 or t0 >= length:
        raise InputError(f"the time range {t0:g}–{t1:g} s is empty, negative or outside the "
                         f"period (0–{length:g} s); nothing was changed",
                         pl=f"Przedział czasu {t0:g}–{t1:g} s jest pusty, ujemny albo poza "
                            f"okresem wniosku (0–{length:g} s); niczego nie zmieniono.")
    item = {"kind": kind, "source": source, "x": round(px, 3), "y": round(py, 3),
            "w": round(pw, 3), "h": round(ph, 3), "from_s": round(t0, 3),
            "to_s": round(min(t1, length), 3), "note": (note or "").strip()[:200],
            "by": actor}
    req.subject_regions = [*regions, item]  # a new list: the JSON column sees the change
    audit(session, actor, "request.region_add", f"request {req.id}", item)
    session.flush()
    return item


def remove_region(session: Session, req_id: int, index: int, actor: str) -> None:
    req = get_request(session, req_id)
    _check_markable(session, req)
    regions = list(req.subject_regions or [])
    if not 0 <= index < len(regions):
        raise NotFound(f"request {req.id} has no rectangle number {index + 1}",
                       pl=f"Wniosek nr {req.id} nie ma obszaru nr {index + 1}.")
    gone = regions.pop(index)
    req.subject_regions = regions
    audit(session, actor, "request.region_remove", f"request {req.id}", gone)
    session.flush()


def engine_regions(regions: list[dict[str, Any]] | None, source: str, width: int,
                   height: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The request's rectangles of ``source`` in the picture's pixels: (masks, keep). A mask
    is rounded outwards, a requester's box inwards (never spare more than was marked)."""
    masks, keep = [], []
    for r in regions or []:
        if r.get("source") != source:
            continue
        if r["kind"] == "mask":
            x1, y1 = math.floor(r["x"] * width / 100), math.floor(r["y"] * height / 100)
            x2 = math.ceil((r["x"] + r["w"]) * width / 100)
            y2 = math.ceil((r["y"] + r["h"]) * height / 100)
        else:
            x1, y1 = math.ceil(r["x"] * width / 100), math.ceil(r["y"] * height / 100)
            x2 = math.floor((r["x"] + r["w"]) * width / 100)
            y2 = math.floor((r["y"] + r["h"]) * height / 100)
        x2, y2 = min(x2, width), min(y2, height)
        if x2 - x1 < 1 or y2 - y1 < 1:
            continue
        box = {"x": x1, "y": y1, "w": x2 - x1, "h": y2 - y1, "from_s": r["from_s"],
               "to_s": r["to_s"], "note": r.get("note", "")}
        (masks if r["kind"] == "mask" else keep).append(box)
    return masks, keep


def picture_size(vault: Any, recording: Any) -> tuple[int, int]:
    """The stored picture's size, read from the first segment (lent by the storage)."""
    import av

    with ExitStack() as lent:
        path = lent.enter_context(vault.storage.local_path(recording.storage_key,
                                                           version=recording.version_id))
        with av.open(str(path)) as c:
            stream = c.streams.video[0]
            return int(stream.codec_context.width), int(stream.codec_context.height)


def summary_pl(described: dict[str, Any]) -> str:
    """What the answer letter says was done (papers._handed_items)."""
    d = described["detector"]
    faces = described.get("stats", {}).get("faces_detected", 0)
    manual, keep = len(described.get("manual_masks", [])), len(described.get("requester_boxes",
                                                                              []))
    threshold = f"{d['threshold']:g}".replace(".", ",")
    text = (f"pikselizacja nieodwracalna; twarze wykrywane automatycznie detektorem {d['name']} "
            f"w co {d['every_k_frames']}. klatce, próg {threshold}, łącznie wykryć: {faces}")
    if manual:
        text += f"; obszarów zaznaczonych ręcznie: {manual}"
    if keep:
        text += f"; obszarów z Pana/Pani wizerunkiem pozostawionych widocznymi: {keep}"
    return text + "; nagranie bez dźwięku"


# -- the review ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Masked:
    path: str  # in the bundle
    source: str
    duration_s: float


def masked_files(copy: Copy) -> list[Masked]:
    out = []
    for src in copy.sources or []:
        m = src.get("masking")
        if not m:
            continue
        video = m.get("video", {})
        fps = float(video.get("fps") or 25)
        out.append(Masked(src["path"], str(src.get("name")),
                          round(float(video.get("frames", 0)) / fps, 3)))
    return out


def copy_by_number(session: Session, number: str) -> Copy:
    copy = session.execute(select(Copy).where(Copy.number == number.strip())) \
        .scalar_one_or_none()
    if copy is None:
        raise NotFound(f"no copy numbered {number!r}",
                       pl=f"Nie ma kopii nr {number}.")
    return copy


def check_reviewable(session: Session, copy: Copy, by: str) -> None:
    if copy.review_state is None:
        raise InputError(f"copy {copy.number} is not a data subject's masked copy; it needs "
                         "no review; nothing was changed",
                         pl=f"Kopia nr {copy.number} nie jest zamaskowaną kopią dla osoby, "
                            "której dane dotyczą — nie podlega przeglądowi; niczego nie "
                            "zmieniono.")
    if copy.review_state != AWAITING or copy.state != CopyState.KEPT:
        raise InputError(f"copy {copy.number} is {copy.review_state}, not awaiting review; "
                         "nothing was changed",
                         pl=f"Kopia nr {copy.number}: {REVIEW_PL.get(copy.review_state, '')}"
                            " — nie czeka na przegląd; niczego nie zmieniono.")
    user = get_user(session, by)
    if not user.active or not set(user.roles) & set(REVIEW_ROLES):
        raise InputError(f"user {by!r} may not review copies (needs the custodian or "
                         "administrator role and an active account)",
                         pl=f"Użytkownik „{by}” nie może przeglądać kopii (wymaga roli "
                            "kustosza lub administratora i aktywnego konta).")
    if by == copy.made_by:
        raise InputError(f"copy {copy.number} was made by {by}: a second person reviews it",
                         pl=f"Kopię nr {copy.number} sporządził(a) ta sama osoba — przegląd "
                            "przeprowadza druga osoba.")


def plays_of(session: Session, copy: Copy, user: str) -> dict[str, ReviewPlay]:
    return {p.path: p for p in session.execute(select(ReviewPlay).where(
        ReviewPlay.copy_id == copy.id, ReviewPlay.user_name == user)).scalars()}


def served_what(copy: Copy, path: str) -> str:
    """How the access register names a masked file served for review (web)."""
    return f"copy {copy.number} {path}"


def served_to(session: Session, copy: Copy, by: str, path: str) -> bool:
    """Whether the media gate served ``path`` of the copy to ``by`` (an access record): a
    report of playback counts only for a file the reviewer really received."""
    from kustosz.db.access import AccessEntry, ViewingSession

    return session.execute(
        select(AccessEntry.id).join(ViewingSession, ViewingSession.id == AccessEntry.viewing_id)
        .where(ViewingSession.user_name == by, ViewingSession.copy_id == copy.id,
               AccessEntry.what == served_what(copy, path)).limit(1)).first() is not None


def record_play(session: Session, number: str, by: str, path: str, position: Any,
                ended: bool, now: datetime | None = None) -> ReviewPlay:
    """The player's report: where it is (and whether it fired ``ended``)."""
    now = now or datetime.now(UTC)
    copy = copy_by_number(session, number)
    check_reviewable(session, copy, by)
    files = {m.path: m for m in masked_files(copy)}
    if path not in files:
        raise NotFound(f"copy {copy.number} has no masked file {path!r}",
                       pl=f"Kopia nr {copy.number} nie ma takiego pliku.")
    if not served_to(session, copy, by, path):
        raise InputError(f"{path} of copy {copy.number} was not served to {by} through the "
                         "media gate: open the copy for review on its review page",
                         pl=f"Nagranie kopii nr {copy.number} nie zostało udostępnione tej "
                            "osobie przez bramkę dostępu: otwórz kopię do przeglądu na "
                            "stronie przeglądu.")
    pos = _num(position, "position", "pozycja")
    if pos < 0:
        raise InputError("the position is negative", pl="Pozycja odtwarzania jest ujemna.")
    play = plays_of(session, copy, by).get(path)
    if play is None:
        play = ReviewPlay(copy_id=copy.id, user_name=by, path=path, watched_s=0.0,
                          furthest_s=0.0, skipped=False, updated_at=now)
        session.add(play)
    elapsed = max(0.0, (now - _utc(play.updated_at)).total_seconds())
    step = min(elapsed * MAX_RATE + SLACK_S, MAX_STEP_S)
    if pos <= play.watched_s + step:
        play.watched_s = max(play.watched_s, pos)
    else:
        play.skipped = True  # jumped ahead: what lies between was not watched
    play.furthest_s = max(play.furthest_s, pos)
    play.updated_at = now
    duration = files[path].duration_s
    if ended and play.ended_at is None and play.watched_s >= duration - END_SLACK_S:
        play.ended_at = now
        audit(session, by, "copy.review.played", f"copy {copy.number}",
              {"path": path, "watched_s": round(play.watched_s, 3),
               "furthest_s": round(play.furthest_s, 3), "skipped": play.skipped})
    session.flush()
    return play


def unwatched(session: Session, copy: Copy, by: str) -> list[Masked]:
    plays = plays_of(session, copy, by)
    return [m for m in masked_files(copy) if plays.get(m.path) is None
            or plays[m.path].ended_at is None]


def approve(session: Session, number: str, by: str, actor: str,
            now: datetime | None = None) -> Copy:
    now = now or datetime.now(UTC)
    copy = copy_by_number(session, number)
    check_reviewable(session, copy, by)
    left = unwatched(session, copy, by)
    if left:
        raise InputError(f"copy {copy.number} cannot be approved: {by} has not watched "
                         f"{', '.join(m.source for m in left)} to the end through the player",
                         pl=f"Nie można zatwierdzić kopii nr {copy.number}: nagranie "
                            f"({', '.join(m.source for m in left)}) nie zostało obejrzane do "
                            "końca w odtwarzaczu przez osobę zatwierdzającą.")
    copy.review_state, copy.reviewed_by, copy.reviewed_at = APPROVED, by, now
    record_action(session, "copy.review", f"Zatwierdzono po przeglądzie zamaskowaną kopię nr "
                  f"{copy.number} (obejrzana w całości przed wydaniem).", printed(session, by),
                  request_id=copy.request_id, copy_id=copy.id, at=now)
    audit(session, actor, "copy.review.approve", f"copy {copy.number}", {"by": by})
    session.flush()
    return copy


def send_back(session: Session, number: str, by: str, reason: str, actor: str,
              now: datetime | None = None) -> tuple[Copy, Path]:
    """Send the copy back: it is destroyed (marked, its folder removed by the caller after the
    commit: the returned path) and the request may be copied again."""
    now = now or datetime.now(UTC)
    copy = copy_by_number(session, number)
    check_reviewable(session, copy, by)
    reason = (reason or "").strip()
    if not reason:
        raise InputError("say why the copy is sent back; nothing was changed",
                         pl="Podaj powód zwrotu kopii; niczego nie zmieniono.")
    copy.review_state, copy.reviewed_by, copy.reviewed_at = SENT_BACK, by, now
    copy.review_reason = reason[:2000]
    copy.state, copy.destroyed_at = CopyState.DESTROYED, now
    req = session.get(Request, copy.request_id)
    if req is not None and req.status == RequestStatus.COPIED:
        req.status = RequestStatus.APPROVED  # to be copied again once the masks are corrected
    record_action(session, "copy.review", f"Zwrócono do poprawy zamaskowaną kopię nr "
                  f"{copy.number}: {reason}. Kopię zniszczono (nie została wydana); kopię "
                  "sporządza się ponownie po poprawieniu masek.", printed(session, by),
                  request_id=copy.request_id, copy_id=copy.id, at=now)
    audit(session, actor, "copy.review.send_back", f"copy {copy.number}",
          {"by": by, "reason": copy.review_reason})
    session.flush()
    return copy, Path(copy.bundle)


def remove_bundle(root: Path, bundle: Path) -> None:
    """After the commit: the sent-back copy's files go (the originals stay under the hold)."""
    target = (root / bundle).resolve()
    if target.is_relative_to((root / "copies").resolve()):
        shutil.rmtree(target, ignore_errors=True)


def handover_refusal(copy: Copy, req_kind: str) -> InputError | None:
    """Why a copy may not be handed over yet (custody.handover), or None."""
    if copy.review_state is not None and copy.review_state != APPROVED:
        return InputError(f"copy {copy.number} is {REVIEW_PL.get(copy.review_state, '')!s} "
                          f"({copy.review_state}): a data subject's masked copy is handed over "
                          "only after a second person watched and approved it",
                          pl=f"Kopia nr {copy.number}: {REVIEW_PL.get(copy.review_state, '')}"
                             " — zamaskowaną kopię dla osoby, której dane dotyczą, wydaje się "
                             "dopiero po jej obejrzeniu i zatwierdzeniu przez drugą osobę.")
    if req_kind == RequestKind.DATA_SUBJECT and any(
            src.get("kind") == SourceKind.CAMERA and not src.get("masking")
            for src in copy.sources):
        return InputError(f"copy {copy.number} holds unmasked video and may not go to a data "
                          "subject (made before masking; make a masked copy)",
                          pl=f"Kopia nr {copy.number} zawiera niezamaskowane nagranie wizyjne "
                             "i nie może być wydana osobie, której dane dotyczą.")
    return None


def region_rows(req: Any, tz: Any) -> dict[str, Any]:
    """What the request page shows of a data subject's masks (empty for other requests)."""
    from kustosz.kinds import Material
    from kustosz.states import RequestKind

    if req.kind != RequestKind.DATA_SUBJECT or req.material != Material.VIDEO:
        return {}
    start = req.start_at.astimezone(tz)

    def clock(s: float) -> str:
        return (start + timedelta(seconds=s)).strftime("%H:%M:%S")

    return {"rows": [(n, r, clock(r["from_s"]), clock(r["to_s"]))
                     for n, r in enumerate(req.subject_regions or [], 1)],
            "start": start.strftime("%H:%M:%S"),
            "end": req.end_at.astimezone(tz).strftime("%H:%M:%S"),
            "kinds": KIND_PL, "max": MAX_REGIONS, "review_pl": REVIEW_PL}
