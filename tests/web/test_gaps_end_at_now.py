"""Issue 50 item 6: the playback view of a period that runs past now listed the minutes
still to come as a gap ("brak nagrań" until the period's end): a gap is what was not
recorded, and the future has not happened. One rule for every page (media_playlists.gaps_in).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from kustosz.db.cameras import Gap
from kustosz.db.models import Source
from kustosz.vault import Vault
from kustosz.web.media_playlists import gaps_in


def test_no_gap_is_listed_after_now(sqlite_web_vault: Vault) -> None:
    v = sqlite_web_vault
    now = datetime.now(UTC)
    with v.transaction() as s:
        cam = Source(name="wejście", kind="camera", created_at=now, settings={})
        s.add(cam)
        s.flush()
        s.add(Gap(source_id=cam.id, start_at=now - timedelta(minutes=10), end_at=None,
                  cause="stream_ended", detail=""))
    with v.reading() as s:
        cam = s.execute(select(Source).where(Source.name == "wejście")).scalar_one()
        gaps = gaps_in(s, cam, now - timedelta(minutes=30), now + timedelta(minutes=30), [])
        later = datetime.now(UTC)
    assert gaps, "the past half hour without recordings is a gap"
    assert all(b <= later for _a, b, _why in gaps), gaps
    assert any(why != "brak nagrań" and a == now - timedelta(minutes=10) for a, _b, why in gaps)
    with v.reading() as s:  # a period wholly to come: nothing to say yet
        assert gaps_in(s, cam, later + timedelta(minutes=5), later + timedelta(minutes=9),
                       []) == []
