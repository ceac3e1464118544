"""The format check of a chunk of a phone spool's files, in the side process
(`kustosz.side_process`, "phone-facts"): the path checks, the sidecar and the audio header
of each file, as `facts.parse` makes them in the intake's own threads.

Only plain data crosses: the spool and the office's zone as strings in, and each file's
`Facts`, `Named` or `Unnamed`, or a refusal as a tuple, back (an exception's own pickling
would lose its Polish text)."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from kustosz.ingest.phone.facts import Facts, Named, Skip, Unnamed, folder_names, parse
from kustosz.ingest.phone.filenames import unsafe_relpaths

# A file's outcome: its facts; ("unsafe", why): a path the intake refuses; ("skip", why,
# why in Polish): not a recording.
Outcome = Facts | Named | Unnamed | tuple[str, str] | tuple[str, str, str | None]

_listed: dict[str, frozenset[str] | None] = {}  # the current pass's folder listings
_pass: list[str] = [""]


def facts_chunk(spool: str, tz: str, pass_id: str, items: list[tuple[str, tuple[int, int]]],
                listed: frozenset[str]) -> list[Outcome]:
    """Each (spool-relative path, (size, mtime_ns)) of ``items``, checked. ``listed``: the
    folders the pass lists for sidecars (the rest: looked for by name), each listed once per
    ``pass_id``."""
    if _pass[0] != pass_id:
        _pass[0] = pass_id
        _listed.clear()
    root, zone = Path(spool), ZoneInfo(tz)
    unsafe = unsafe_relpaths(root, [rel for rel, _ in items])
    out: list[Outcome] = []
    for rel, seen in items:
        if rel in unsafe:
            out.append(("unsafe", unsafe[rel]))
            continue
        parent = rel.rpartition("/")[0]
        if parent in listed and parent not in _listed:
            _listed[parent] = folder_names(root / parent)
        try:
            out.append(parse(root, zone, rel, seen, checked=True, folder=_listed.get(parent)))
        except Skip as exc:
            out.append(("skip", str(exc), exc.pl))
    return out
