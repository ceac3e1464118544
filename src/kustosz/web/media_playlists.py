"""HLS playlists of a viewing session: a recording's period (VOD) and the live view, and the
gaps a period's page shows. A new timeline starts at each hole longer than the tolerance, and
the page names the same holes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kustosz.access import records
from kustosz.cameras.gap_causes import CAUSES_PL
from kustosz.db.access import ViewingSession
from kustosz.db.cameras import Gap
from kustosz.db.models import Recording, Source
from kustosz.index.recordings import Span, spans
from kustosz.states import RecordingState
from kustosz.web.common import Ctx
from kustosz.web.gate import gate
from kustosz.web.media import MEDIA_TAG, NO_STORE, guarded
from kustosz.web.media_live_sub import keep, sub_playlist, wait_for_sub_stream

router = APIRouter()
GAP_TOLERANCE_S = 0.5
LIVE_SEGMENTS = 4


def _pdt(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def vod_playlist(recs: Sequence[Span]) -> str:
    target = max([math.ceil((r.end_at - r.start_at).total_seconds()) for r in recs] or [1])
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{max(target, 1)}",
             "#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-PLAYLIST-TYPE:VOD"]
    lines += _segment_lines(recs)
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def _segment_lines(recs: Sequence[Span]) -> list[str]:
    lines: list[str] = []
    previous: Span | None = None
    for r in recs:
        if previous is not None:
            gap = (r.start_at - previous.end_at).total_seconds()
            # A new timeline starts at a gap and wherever the segment is not the next piece
            # of the same recorder session (each taken-in file has its own timestamps).
            if gap > GAP_TOLERANCE_S or r.session is None or r.session != previous.session:
                lines.append("#EXT-X-DISCONTINUITY")
        lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{_pdt(r.start_at)}")
        lines.append(f"#EXTINF:{(r.end_at - r.start_at).total_seconds():.3f},")
        lines.append(f"segment/{r.id}.ts")
        previous = r
    return lines


def window_recs(s: Session, vs: ViewingSession, source: Source) -> list[Span]:
    """The segments of a playback's period (its playlist, and its page's list)."""
    assert vs.window_start is not None and vs.window_end is not None
    return list(s.execute(spans(source, vs.window_start, vs.window_end)))


def _live_recs(s: Session, source: Source, now: datetime) -> list[Recording]:
    rows = s.execute(select(Recording).where(
        Recording.source_id == source.id, Recording.state == RecordingState.STORED,
        Recording.start_at >= now - timedelta(seconds=records.LIVE_SECONDS))
        .order_by(Recording.start_at.desc()).limit(LIVE_SEGMENTS)).scalars()
    return sorted(rows, key=lambda r: r.start_at)


@router.get("/media/{token}/vod.m3u8", name="media_vod", tags=[MEDIA_TAG])
def media_vod(token: str, ctx: Ctx = gate(scope="media")) -> Response:
    def serve(s: Session, vs: ViewingSession, scope: records.Scope) -> Response | None:
        if vs.window_start is None or not scope.sources:
            return None
        body = vod_playlist(window_recs(s, vs, scope.sources[0]))
        records.served(s, vs, f"playlist {scope.sources[0].name}", ctx.client, len(body))
        return Response(body, media_type="application/vnd.apple.mpegurl", headers=NO_STORE)
    return guarded(ctx, token, "playback", serve)


@router.get("/media/{token}/live.m3u8", name="media_live", tags=[MEDIA_TAG])
def media_live(token: str, ctx: Ctx = gate(scope="media")) -> Response:
    wait_for_sub_stream(ctx, token)  # before the transaction: a relay may be starting

    def serve(s: Session, vs: ViewingSession, scope: records.Scope) -> Response | None:
        source = scope.sources[0]
        relay = keep(ctx, token, s, source.id)
        if relay is not None and relay.source_id == source.id:
            sub = sub_playlist(s, vs, relay, ctx.client, source.name)
            if sub is not None:
                return sub
        recs = _live_recs(s, source, datetime.now(UTC))
        first = recs[0].start_at if recs else datetime.now(UTC)
        seq = s.execute(select(func.count()).select_from(Recording).where(
            Recording.source_id == source.id, Recording.start_at < first)).scalar_one()
        target = max([math.ceil((r.end_at - r.start_at).total_seconds()) for r in recs] or [4])
        lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{target}",
                 f"#EXT-X-MEDIA-SEQUENCE:{seq}", *_segment_lines(recs)]
        body = "\n".join(lines) + "\n"
        records.served(s, vs, f"live playlist {source.name}", ctx.client, len(body))
        return Response(body, media_type="application/vnd.apple.mpegurl", headers=NO_STORE)
    return guarded(ctx, token, "live", serve)


def gaps_in(s: Session, source: Source, start: datetime, end: datetime,
            recs: Sequence[Span], edges: bool = True) -> list[tuple[datetime, datetime, str]]:
    """Gaps to show: recorded by the recorder (camera_gaps) and holes between segments (with
    ``edges``, also before the first and after the last segment of the period). Never past
    now: what is still to come was not missed (issue 50 item 6)."""
    end = min(end, datetime.now(UTC))
    if end <= start:
        return []
    out = [(max(g.start_at, start), min(g.end_at or end, end), CAUSES_PL.get(g.cause, g.cause))
           for g in s.execute(select(Gap).where(
               Gap.source_id == source.id, Gap.start_at <= end,
               (Gap.end_at.is_(None)) | (Gap.end_at >= start))).scalars()]
    edge = start if edges or not recs else recs[0].start_at
    for r in recs:
        if (r.start_at - edge).total_seconds() > GAP_TOLERANCE_S:
            out.append((edge, r.start_at, "brak nagrań"))
        edge = max(edge, r.end_at)
    if edges and (end - edge).total_seconds() > GAP_TOLERANCE_S:
        out.append((edge, end, "brak nagrań"))
    return sorted(out)
