"""Issue 51 item 3: an IT-event format is declared once (kustosz.ingest.events.formats).
Every registered format has its Polish and English names, its docs anchor and the reader its
layer needs; a format registered here — a fake one — is read by the intake's parser with no
other edit; a format lacking something is named with what it lacks."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from tests.support.doc_anchors import doc_missing

from kustosz.ingest.events.formats import (
    DEFAULT_FORMATS,
    EventFormat,
    Parsed,
    formats,
    register,
    unregister,
)
from kustosz.ingest.events.syslog import parse, user_of

TZ = ZoneInfo("Europe/Warsaw")
NEEDS = {"frame": ("parse",), "payload": ("detect", "user"), "transport": ("carries",),
         "document": ()}


def lacks(fmt: EventFormat) -> list[str]:
    missing = [what for what, text in (("a Polish name", fmt.name_pl),
                                       ("an English name", fmt.name_en)) if not text.strip()]
    if (said := doc_missing(fmt.doc)) is not None:
        missing.append(said)
    missing += [f"its {attr} ({fmt.layer})" for attr in NEEDS[fmt.layer]
                if not getattr(fmt, attr)]
    return missing


def test_the_built_ins_are_registered() -> None:
    assert {"rfc5424", "rfc3164", "relp", "json", "cef"} <= set(formats())
    assert len(DEFAULT_FORMATS) == 4


@pytest.mark.parametrize("key", list(formats()))
def test_every_registered_format_has_its_names_docs_and_reader(key: str) -> None:
    fmt = formats()[key]
    assert not lacks(fmt), f"the event format {key!r} lacks: " + ", ".join(lacks(fmt))


def test_a_format_lacking_things_is_named() -> None:
    said = lacks(EventFormat("nothing", "payload", "", "x",
                             "operations/mail-events.md#nowhere"))
    assert said == ["a Polish name", "docs/operations/mail-events.md has no anchor #nowhere",
                    "its detect (payload)", "its user (payload)"]


def test_the_syslog_forms_read_as_before() -> None:
    five = parse(b"<38>1 2026-11-21T10:00:00+01:00 pc-042 sshd - - "
                 b'[x@1 user="anowak"] Accepted', TZ)
    assert (five.format, five.host, five.app, user_of(five)) == ("rfc5424", "pc-042", "sshd",
                                                                 "anowak")
    three = parse(b"<38>Nov 26 10:15:02 pc-042 app: hello", TZ,
                  datetime(2026, 11, 27, tzinfo=TZ))
    assert (three.format, three.host, three.app, three.message) == ("rfc3164", "pc-042",
                                                                    "app", "hello")
    assert parse(b"no pri here", TZ).format == "raw"


# -- a new format, registered here, is read -------------------------------------------------
def _kv(text: str, _tz: ZoneInfo, _now: datetime, problems: list[str]) -> Parsed | None:
    m = re.match(r"^KV host=(\S+) who=(\S+) (.*)$", text)
    if m is None:
        return None
    return Parsed("kv", m.group(3), host=m.group(1), sd={"kv": {"user": m.group(2)}},
                  problems=problems)


@pytest.fixture
def kv() -> Iterator[None]:
    # before the built-ins' catch-all (RFC 3164): a frame format is tried in order
    frames = {k: v for k, v in formats().items()}
    formats().clear()
    register(EventFormat("kv", "frame", "klucz=wartość", "key=value",
                         "operations/mail-events.md#event-formats", parse=_kv))
    formats().update({k: v for k, v in frames.items() if k != "kv"})
    try:
        yield
    finally:
        unregister("kv")


def test_a_new_frame_format_is_read_without_other_edits(kv: None) -> None:
    assert not lacks(formats()["kv"])
    p = parse(b"<38>KV host=pc-7 who=jkowalski USB connected", TZ)
    assert (p.format, p.host, p.message, user_of(p)) == ("kv", "pc-7", "USB connected",
                                                         "jkowalski")
    assert parse(b"<38>Nov 26 10:15:02 pc-042 app: hello", TZ).format == "rfc3164"
