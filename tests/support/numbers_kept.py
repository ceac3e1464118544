"""Issue 64 item 9's check on a stored call, whichever way it came in (a PBX's spool, SIPREC,
a mirrored port): each number its source gave (the call's `caller_raw`/`callee_raw`, as the
source wrote it) is stored — in its canonical form where it has one, else as written — and
the call is found by searching that number as written and by its digits alone."""

from __future__ import annotations

import re

from kustosz.db.calls import Call
from kustosz.db.models import Recording
from kustosz.index.calls import search_calls
from kustosz.phone_numbers import is_unknown, try_normalize
from kustosz.vault import Vault


def assert_numbers_kept(vault: Vault, call: Call, rec: Recording, *,
                        extension_max_digits: int = 4) -> None:
    for side in ("caller", "callee"):
        raw = str(rec.meta.get(f"{side}_raw") or "")
        key, shown = getattr(call, side), getattr(call, f"{side}_written")
        if is_unknown(raw):
            assert (key, shown) == ("", ""), f"{side}: {raw!r} is no number, stored {key!r}"
            continue
        assert key, f"call {call.recording_id}: the {side} {raw!r} its source gave is stored empty"
        canonical = try_normalize(raw, internal_max_digits=extension_max_digits)
        if canonical is not None:
            assert (key, shown) == (canonical, ""), f"{side} {raw!r}"
        else:
            assert shown == raw.strip(), f"{side} {raw!r} stored as {shown!r}"
        queries = [raw]
        digits = re.sub(r"\D", "", raw)
        if digits:
            queries.append(digits)
        with vault.reading() as s:
            for query in queries:
                found = [h.recording_id for h in search_calls(s, number=query)]
                assert call.recording_id in found, f"{side} {raw!r}: not found by {query!r}"
                if side == "callee":
                    found = [h.recording_id for h in search_calls(s, callee=query)]
                    assert call.recording_id in found, f"callee {raw!r}: not by {query!r}"
