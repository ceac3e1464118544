"""The registry of material kinds (issue 15 item 1): every kind of source has one frozen
description, and the tables other modules used to spell out by hand are read from it with the
same contents they had (the "mail" -> "mailbox" mapping, the Polish names, which actions open
which kinds, the policy's retention keys)."""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

import pytest

from kustosz.access.authorisations import ACTION_KINDS, ACTIONS, SOURCE_KINDS
from kustosz.custody.requests import CHUNK_MATERIALS, MATERIALS
from kustosz.documents.clauses import KIND_PL as CLAUSE_KIND_PL
from kustosz.kinds import (
    CHUNKED,
    CLAUSED,
    KINDS,
    ROW_REVIEWS,
    Action,
    Material,
    SourceKind,
    by_action,
    by_chunk,
    by_material,
    kind_of,
)
from kustosz.policy.model import KIND_PL
from kustosz.policy.model import SOURCE_KINDS as RETENTION_KEYS
from kustosz.web.media import ROW_REVIEWS as MEDIA_ROW_REVIEWS
from kustosz.web.media_start import SOURCE_OF
from kustosz.web.monitoring import KIND_OF


def test_every_kind_is_described_once_and_frozen() -> None:
    assert list(KINDS) == list(SourceKind)
    for name, kind in KINDS.items():
        assert kind.name == name and kind_of(str(name)) is kind
        assert Action.EXPORT in kind.actions  # a copy can be made of any material
        assert importlib.util.find_spec(kind.ingest) is not None, kind.ingest
        assert kind.retention_key == str(name)
    with pytest.raises(dataclasses.FrozenInstanceError):
        KINDS[SourceKind.CAMERA].label_pl = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        KINDS[SourceKind.CAMERA] = KINDS[SourceKind.PHONE]  # type: ignore[index]


def test_unknown_names_are_refused() -> None:
    for ask in (kind_of, by_material, by_chunk):
        with pytest.raises(KeyError):
            ask("drone")
    assert by_action("drone") == frozenset()


def test_the_tables_read_from_the_registry_hold_what_they_held() -> None:
    assert CHUNK_MATERIALS == {"mail": "mailbox", "events": "endpoint"} == KIND_OF
    assert [k.chunk for k in CHUNKED] == ["mail", "events"]
    assert by_chunk("mail").name == "mailbox" and by_material("video").name == "camera"
    assert set(MATERIALS) == set(Material)
    assert RETENTION_KEYS == ("camera", "phone", "mailbox", "endpoint")
    assert KIND_PL == {"camera": "monitoring wizyjny", "phone": "rozmowy telefoniczne",
                       "mailbox": "poczta elektroniczna",
                       "endpoint": "aktywność na urządzeniach"}
    assert SOURCE_KINDS == {"camera": "kamery", "phone": "linie telefoniczne",
                            "mailbox": "dzienniki poczty elektronicznej",
                            "endpoint": "źródła zdarzeń IT"}
    assert set(ACTIONS) == set(Action)
    expected = {"live": {"camera"}, "playback": {"camera"}, "listening": {"phone"},
                "calls": {"phone"}, "export": {"camera", "phone", "mailbox", "endpoint"},
                "mail": {"mailbox"}, "events": {"endpoint"}}
    assert expected == ACTION_KINDS
    # plain strings where they are printed or serialised
    assert all(type(k) is str for k in (*SOURCE_KINDS, *RETENTION_KEYS, *CHUNK_MATERIALS))


def test_the_tables_moved_into_the_registry_hold_what_they_held() -> None:
    """Issue 15 item 1 leftovers: the tables that spelled kinds out by hand (request materials'
    names, the clause's genitives, what a refused document says of an office without the
    material, the media routes' prompts and row reviews, the chunk lines' time fields, which
    material loses its sound) now read the registry and hold the same values."""
    assert MATERIALS == {"video": "monitoring wizyjny", "calls": "nagrania rozmów",
                         "mail": "monitoring poczty elektronicznej (metadane)",
                         "events": "monitoring aktywności IT (zdarzenia)"}
    assert CLAUSE_KIND_PL == {"camera": "monitoringu wizyjnego",
                              "phone": "rejestrowania rozmów telefonicznych"}
    assert {k.name: (k.absent_en, k.absent_pl) for k in CLAUSED} == {
        "camera": ("monitors with no cameras", "nie stosuje monitoringu wizyjnego"),
        "phone": ("records no calls", "nie nagrywa rozmów telefonicznych")}
    assert SOURCE_OF == {
        "live": ("camera", "Wybierz kamerę."), "playback": ("camera", "Wybierz kamerę."),
        "mail": ("mailbox", "Wybierz dziennik poczty."),
        "events": ("endpoint", "Wybierz źródło zdarzeń."),
        "calls": ("phone", "Wybierz linię telefoniczną.")}
    assert set(ROW_REVIEWS) == set(MEDIA_ROW_REVIEWS) == {"mail", "events", "calls"}
    assert {k.chunk: k.time_key for k in CHUNKED} == {"events": "at", "mail": "received"}
    assert by_chunk("events").time_keys == ("at", "received")
    assert by_chunk("mail").time_keys == ("received",)
    assert [k.name for k in KINDS.values() if k.image_only] == ["camera"]
    assert all(k.time_keys == () for k in KINDS.values() if k.chunk is None)
    # /metrics: which counter a delivery adds to, how long a source may be quiet
    assert {k.name: (k.delivery_counter, k.quiet) for k in CHUNKED} == {
        "mailbox": ("messages", timedelta(hours=72)), "endpoint": ("events", timedelta(hours=1))}
    assert all((k.delivery_counter, k.quiet) == (None, None) for k in KINDS.values()
               if not k.chunk)


# A kind switch: a comparison with a kind's or a material's name written out, or a table
# keyed mostly by them. Code asks the registry (kustosz.kinds) instead.
KIND_WORDS = {str(v) for e in (SourceKind, Material) for v in e}
SRC = Path(__file__).resolve().parents[1] / "src" / "kustosz"
# Comparisons that spell a kind's word for something else, and why they may.
NOT_KINDS = {
    ("clock/watch.py", "jump.clock == 'camera'"): "which clock jumped (clock_jumps.clock)",
    ("policy/model.py", "p.loc[0] == 'video'"): "the policy file's [video] table",
}


def _words(node: ast.AST) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value} & KIND_WORDS
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return {w for e in node.elts for w in _words(e)}
    return set()


def kind_switches(path: Path, root: Path = SRC,
                  allowed: Mapping[tuple[str, str], str] = NOT_KINDS) -> list[str]:
    found = []
    rel = path.relative_to(root).as_posix()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Compare):
            hit = any(_words(side) for side in (node.left, *node.comparators))
        elif isinstance(node, ast.Dict):  # e.g. {"camera": …, "phone": …}: a table of kinds
            keyed = [k for k in node.keys if k is not None and _words(k)]
            hit = len(keyed) * 2 > len(node.keys)
        else:
            continue
        text = ast.unparse(node)
        if hit and (rel, text) not in allowed:
            found.append(f"{rel}:{node.lineno}: {text[:120]}")
    return found


def test_no_kind_switch_outside_the_registry() -> None:
    modules = [p for p in SRC.rglob("*.py")
               if "migrations" not in p.parts and p != SRC / "kinds.py"]
    assert [line for p in sorted(modules) for line in kind_switches(p)] == []


def test_the_kind_switch_walk_sees_what_it_forbids(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text('a = kind != "camera"\n'
                     'b = action in ("mail", "events")\n'
                     'c = {"camera": 1, "phone": 2}\n'
                     'd = {("pleszew", "camera"): f, ("elblag", "camera"): g}\n'
                     'e = kind == SourceKind.CAMERA\n'
                     'f = {"office": 1, "calls": 2, "video": 3, "access": 4}  # not mostly kinds\n'
                     'g = {"mail": "received", "events": "at", "x": 1}\n'
                     'h = jump.clock == "camera"\n')
    assert [line.split(":")[1] for line in kind_switches(probe, tmp_path)] == \
        ["1", "2", "3", "4", "7", "8"]
    # the places allowed to spell a word are still there (an entry that went stale goes)
    for rel, text in NOT_KINDS:
        assert any(line.endswith(text) for line in kind_switches(SRC / rel, allowed={})), rel
