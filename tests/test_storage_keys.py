"""Storage keys (ingest/keys.py): a batch's keys drawn at once are each the source, the UTC day
and second of the start, 48 random bits and the suffix in lower case — never two alike."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast
from zoneinfo import ZoneInfo

from kustosz.ingest.keys import storage_key, storage_keys

SOURCE = cast(Any, SimpleNamespace(name="centrala-żółć"))


def test_a_batch_of_keys_is_by_utc_time_and_unique() -> None:
    start = datetime(2026, 1, 1, 0, 30, 5, tzinfo=ZoneInfo("Europe/Warsaw"))  # 2025-12-31 UTC
    keys = storage_keys(SOURCE, [(start + timedelta(seconds=i % 3), ".WAV") for i in range(5000)])
    assert len(set(keys)) == 5000
    pattern = re.compile(r"centrala-żółć/2025/12/31/2330(05|06|07)-[0-9a-f]{12}\.wav\Z")
    assert all(pattern.match(k) for k in keys), keys[:3]
    assert [k.split("-", 2)[1][-6:] for k in keys[:3]] == ["233005", "233006", "233007"]
    one = storage_key(SOURCE, datetime(2026, 11, 2, 8, 0, 9, tzinfo=UTC), ".mp3")
    assert re.fullmatch(r"centrala-żółć/2026/11/02/080009-[0-9a-f]{12}\.mp3", one)
    assert storage_keys(SOURCE, []) == []
