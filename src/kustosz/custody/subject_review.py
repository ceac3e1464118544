"""A data subject's video: the masks marked before the copy is made, and the review of the
masked copy before it is handed over (issue 17 item 2, R6.2).

Before the copy: a person marks manual masks (bodies, plates, screens, documents) and the
requester's boxes on the request, each a rectangle in per cent of the picture with a time
range in seconds from the period's start; they go to the masking engine in the picture's own
pixels (`engine_regions`).

After it: the copy "awaits review". A second person (custody role, not its maker) watches
every masked file through the media gate, which alone serves it, to that person alone, before
approval (`may_play`). Watching is counted from the media bytes the gate actually served, in
order from the file's start (`count_served`): the media time they hold is played out at no
more than real-time speed on the server's clock (`played_out`), and the player's position
reports, which must come in order, only hold it back (a paused player); a report never adds
time. The true watched ratio is kept per file (`custody_review_plays`) and written with the
approval. Approval is refused until that reviewer watched every file to its end; sending the
copy back (with a reason) destroys it at once — a masked copy
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
from kustosz.custody.actions import record_action
from kustosz.custody.requests import copy_period, get_request
from kustosz.custody.served_media import covered_s
from kustosz.db.custody import Copy, Request, ReviewPlay
from kustosz.errors import InputError, NotFound
from kustosz.kinds import Material, SourceKind
from kustosz.masking.job import MAX_S
from kustosz.states import CopyState, RequestKind, RequestStatus

AWAITING, APPROVED, SENT_BACK = "awaiting", "approved", "sent_back"
RESIDUAL = "residual"  # the check of the masked file found a face (masking.residual)
REVIEW_PL = {AWAITING: "czeka na przegląd", APPROVED: "zatwierdzona po przeglądzie",
             SENT_BACK: "zwrócona do poprawy",
             RESIDUAL: "wstrzymana — sprawdzenie wykryło twarz innej osoby"}
# The same states in the English half of a message (the Polish names go only in the Polish half).
REVIEW_EN = {AWAITING: "awaiting review", APPROVED: "approved after review",
             SENT_BACK: "sent back for correction",
             RESIDUAL: "held — the check found another person's face"}
KIND_PL = {"mask": "maska ręczna", "keep": "obszar osoby wnioskującej"}
MAX_REGIONS = 40  # per request: more is a sign of a wrong tool (mask the whole camera instead)
REVIEW_ROLES = ("custodian", "administrator")
# Watching is counted from the bytes served (issue 28 item 2): the media time they hold is
# played out at 1× on the server's clock, with no per-event allowance (an allowance per report
# was what 1 168 reports in 14 s turned into 30 minutes "watched").
END_SLACK_S = 0.5  # the last frames: "ended" counts once watched reaches the length minus this
REPORT_AHEAD_S = 1.0  # a report further than this ahead of what was played out is a skip


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
    """A data subject's camera period is masked in one job: at most masking.job.MAX_S. The
    period is the one the copy holds, the one asked for (custody.requests.copy_period)."""

    start, end = copy_period(req)
    length = (end - start).total_seconds()
    if length > MAX_S:
        raise InputError(f"request {req.id}: the period is {length / 3600:.1f} h long; a "
                         f"data subject's video is masked {MAX_S // 3600} h at most at a time: "
                         "narrow the period of the request (nothing was queued)",
                         pl=f"Wniosek nr {req.id}: okres trwa {length / 3600:.1f} godz., "
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
    import av  # noqa: PLC0415 - a heavy library, loaded by the work that needs it

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
    every = "w każdej klatce" if d["every_k_frames"] == 1 else f"w co {d['every_k_frames']}. klatce"
    text = (f"pikselizacja nieodwracalna; twarze wykrywane automatycznie detektorem {d['name']} "
            f"{every}, próg {threshold}, łącznie wykryć: {faces}")
    if described.get("verification", {}).get("passed"):
        text += ("; po zamaskowaniu każdą klatkę nagrania sprawdzono ponownie detektorem — "
                 "nie wykrył twarzy innej osoby")
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
        raise InputError(f"copy {copy.number} is "
                         f"{REVIEW_EN.get(copy.review_state, copy.review_state)}, not awaiting "
                         "review; "
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


def may_play(session: Session, copy: Copy, by: str) -> str | None:
    """Why ``by`` may not have the copy's video played through the gate, or None: a data
    subject's masked copy plays only for its reviewer (not its maker, a custodian or an
    administrator), while it awaits review (issue 28 item 3). Other copies: None."""
    if copy.review_state is None:
        return None
    try:
        check_reviewable(session, copy, by)
    except InputError as exc:
        return str(exc)
    return None


def played_out(watched: float, served_s: float, since: datetime, now: datetime) -> float:
    """The served media played at 1× from ``since`` to ``now`` (server clock), never past
    what was served: a buffer of served frames drains at real-time speed, and time with
    nothing left in it counts for nothing."""
    elapsed = max(0.0, (now - _utc(since)).total_seconds())
    return max(watched, min(served_s, watched + elapsed))


def true_watched(play: ReviewPlay) -> float:
    """What counts as watched: played out from the bytes served, held back by the player's
    own position (a paused player)."""
    return min(play.watched_s, play.furthest_s)


def _play_row(session: Session, copy: Copy, by: str, path: str) -> ReviewPlay | None:
    # Locked: the gate's byte counting and the player's reports change one row concurrently.
    return session.execute(select(ReviewPlay).where(
        ReviewPlay.copy_id == copy.id, ReviewPlay.user_name == by, ReviewPlay.path == path)
        .with_for_update()).scalar_one_or_none()


def open_plays(session: Session, copy: Copy, by: str, now: datetime | None = None) -> None:
    """Create the reviewer's rows when the copy is opened for review, so that the streams
    the player opens at once only ever update them."""
    now = now or datetime.now(UTC)
    have = plays_of(session, copy, by)
    for m in masked_files(copy):
        if m.path not in have:
            session.add(ReviewPlay(copy_id=copy.id, user_name=by, path=m.path, watched_s=0.0,
                                   furthest_s=0.0, skipped=False, updated_at=now,
                                   served_bytes=0, served_s=0.0))
    session.flush()


def count_served(session: Session, copy_id: int, by: str, path: str, file: Path, start: int,
                 end: int, now: datetime | None = None) -> ReviewPlay | None:
    """The media gate handed bytes ``start``–``end`` (exclusive) of a masked file to ``by``.
    They extend what was served only in order: from within the bytes served so far. Nothing
    is counted once the copy no longer awaits this person's review."""
    now = now or datetime.now(UTC)
    copy = session.get(Copy, copy_id)
    if copy is None or may_play(session, copy, by) is not None:
        return None
    play = _play_row(session, copy, by, path)
    if play is None:
        open_plays(session, copy, by, now)
        play = _play_row(session, copy, by, path)
        assert play is not None
    play.watched_s = played_out(play.watched_s, play.served_s, play.updated_at, now)
    play.updated_at = now
    if start <= play.served_bytes < end:
        play.served_bytes = end
        files = {m.path: m for m in masked_files(copy)}
        duration = files[path].duration_s if path in files else math.inf
        play.served_s = min(covered_s(file, end), duration)
    session.flush()
    return play


def record_play(session: Session, number: str, by: str, path: str, position: Any,
                ended: bool, now: datetime | None = None) -> ReviewPlay:
    """The player's report: where it is (and whether it fired ``ended``). Positions come in
    order, within the file; a report never adds watched time, it only holds it back."""
    now = now or datetime.now(UTC)
    copy = copy_by_number(session, number)
    check_reviewable(session, copy, by)
    files = {m.path: m for m in masked_files(copy)}
    if path not in files:
        raise NotFound(f"copy {copy.number} has no masked file {path!r}",
                       pl=f"Kopia nr {copy.number} nie ma takiego pliku.")
    play = _play_row(session, copy, by, path)
    if play is None or play.served_bytes == 0:
        raise InputError(f"{path} of copy {copy.number} was not served to {by} through the "
                         "media gate: open the copy for review on its review page",
                         pl=f"Nagranie kopii nr {copy.number} nie zostało udostępnione tej "
                            "osobie przez bramkę dostępu: otwórz kopię do przeglądu na "
                            "stronie przeglądu.")
    pos = _num(position, "position", "pozycja")
    duration = files[path].duration_s
    if pos < 0:
        raise InputError("the position is negative; nothing was changed",
                         pl="Pozycja odtwarzania jest ujemna; niczego nie zmieniono.")
    if pos > duration + END_SLACK_S:
        raise InputError(f"the position {pos:g} s lies beyond the end of the file "
                         f"({duration:g} s); nothing was changed",
                         pl=f"Pozycja {pos:g} s wykracza poza koniec nagrania ({duration:g} "
                            "s); niczego nie zmieniono.")
    if pos < play.furthest_s:
        raise InputError(f"the position {pos:g} s comes after {play.furthest_s:g} s was "
                         "reported: reports come in order; nothing was changed",
                         pl=f"Pozycja {pos:g} s przyszła po zgłoszonej już {play.furthest_s:g}"
                            " s — pozycje zgłasza się po kolei; niczego nie zmieniono.")
    play.watched_s = played_out(play.watched_s, play.served_s, play.updated_at, now)
    play.updated_at = now
    if pos > play.watched_s + REPORT_AHEAD_S:
        play.skipped = True  # ahead of what could have been played: not counted beyond it
    play.furthest_s = min(pos, duration)
    if ended and play.ended_at is None and true_watched(play) >= duration - END_SLACK_S:
        play.ended_at = now
        audit(session, by, "copy.review.played", f"copy {copy.number}",
              {"path": path, "watched_s": round(true_watched(play), 3),
               "duration_s": duration, "ratio": round(ratio(play, duration), 4),
               "served_bytes": play.served_bytes, "skipped": play.skipped,
               "ended_event": bool(ended)})
    session.flush()
    return play


def ratio(play: ReviewPlay | None, duration: float) -> float:
    """The true watched ratio of one file (0–1)."""
    if play is None or duration <= 0:
        return 0.0
    return min(1.0, true_watched(play) / duration)


def percent_pl(value: float) -> str:
    """12,5% — the ratio as a Polish reader writes it (rounded down: never more than seen)."""
    return f"{math.floor(value * 1000) / 10:.1f}".replace(".", ",") + "%"


def _seen_now(plays: dict[str, ReviewPlay], m: Masked, now: datetime | None) -> float:
    play = plays.get(m.path)
    if play is None:
        return 0.0
    played = play.watched_s if now is None else \
        played_out(play.watched_s, play.served_s, play.updated_at, now)
    return min(played, play.furthest_s, m.duration_s)


def watched_pl(session: Session, copy: Copy, by: str, now: datetime | None = None) -> str:
    """The true watched ratio of each file (at ``now``, without changing anything), for the
    register: "cam-hol 100,0% (4,0 z 4,0 s)"."""
    plays = plays_of(session, copy, by)
    out = []
    for m in masked_files(copy):
        seen = _seen_now(plays, m, now)
        share = seen / m.duration_s if m.duration_s > 0 else 0.0
        out.append(f"{m.source} {percent_pl(share)} ({_s_pl(seen)} z {_s_pl(m.duration_s)} s)")
    return "; ".join(out)


def watched_en(session: Session, copy: Copy, by: str, now: datetime | None = None) -> str:
    plays = plays_of(session, copy, by)
    out = []
    for m in masked_files(copy):
        seen = _seen_now(plays, m, now)
        share = seen / m.duration_s if m.duration_s > 0 else 0.0
        out.append(f"{m.source} {math.floor(share * 1000) / 10:.1f} % ({seen:.1f} of "
                   f"{m.duration_s:.1f} s)")
    return "; ".join(out)


def _s_pl(seconds: float) -> str:
    return f"{math.floor(seconds * 10) / 10:.1f}".replace(".", ",")


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
    seen = watched_pl(session, copy, by, now)
    if left:
        raise InputError(f"copy {copy.number} cannot be approved: {by} has not watched "
                         f"{', '.join(m.source for m in left)} to the end through the player "
                         f"(counted from the bytes served at real-time speed: "
                         f"{watched_en(session, copy, by, now)})",
                         pl=f"Nie można zatwierdzić kopii nr {copy.number}: nagranie "
                            f"({', '.join(m.source for m in left)}) nie zostało obejrzane do "
                            "końca w odtwarzaczu przez osobę zatwierdzającą (liczy się to, co "
                            "bramka dostępu wysłała i co dało się obejrzeć w czasie "
                            f"rzeczywistym: {seen}).")
    copy.review_state, copy.reviewed_by, copy.reviewed_at = APPROVED, by, now
    plays = plays_of(session, copy, by)
    for play in plays.values():  # what played out until this moment, as the register says
        play.watched_s = played_out(play.watched_s, play.served_s, play.updated_at, now)
        play.updated_at = max(_utc(play.updated_at), now)
    record_action(session, "copy.review", f"Zatwierdzono po przeglądzie zamaskowaną kopię nr "
                  f"{copy.number}; obejrzano przed wydaniem: {seen}.", printed(session, by),
                  request_id=copy.request_id, copy_id=copy.id, at=now)
    audit(session, actor, "copy.review.approve", f"copy {copy.number}",
          {"by": by, "watched": {m.path: {"watched_s": round(true_watched(plays[m.path]), 3),
                                          "duration_s": m.duration_s,
                                          "ratio": round(ratio(plays[m.path], m.duration_s), 4)}
                                 for m in masked_files(copy)}})
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
        return InputError(f"copy {copy.number} is "
                          f"{REVIEW_EN.get(copy.review_state, copy.review_state)}: a data "
                          "subject's masked copy is handed over "
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

    if req.kind != RequestKind.DATA_SUBJECT or req.material != Material.VIDEO:
        return {}
    start = req.start_at.astimezone(tz)

    def clock(s: float) -> str:
        return (start + timedelta(seconds=s)).strftime("%H:%M:%S")

    # a new mask's times default to the period asked, not the window held around it (the
    # office's margin on each side; issue 49 item 17): that is what the copy holds
    asked = copy_period(req)
    return {"rows": [(n, r, clock(r["from_s"]), clock(r["to_s"]))
                     for n, r in enumerate(req.subject_regions or [], 1)],
            "start": asked[0].astimezone(tz).strftime("%H:%M:%S"),
            "end": asked[1].astimezone(tz).strftime("%H:%M:%S"),
            "kinds": KIND_PL, "max": MAX_REGIONS, "review_pl": REVIEW_PL}
