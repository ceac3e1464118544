"""The registry of material kinds (issue 15 item 1): every kind of source has one frozen
description, and the tables other modules used to spell out by hand are read from it with the
same contents they had (the "mail" -> "mailbox" mapping, the Polish names, which actions open
which kinds, the policy's retention keys)."""

from __future__ import annotations

import dataclasses
import importlib.util

import pytest

from kustosz.access.authorisations import ACTION_KINDS, ACTIONS, SOURCE_KINDS
from kustosz.custody.requests import CHUNK_MATERIALS, MATERIALS
from kustosz.kinds import (
    CHUNKED,
    KINDS,
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
