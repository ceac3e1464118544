"""A value with a line break after it is not a valid name (found on issue 67's review): in
Python's `re`, `$` also matches before a final "\\n", so `NAME.match("hall\\n")` accepted a
source name, a user name, a node name, an office's slug and a mail address that end in a line
break — a name that then lands in a storage key, a log line or a header. The validators end in
`\\Z`; each is attacked here with the line endings a form, a file or a peer can send."""

from __future__ import annotations

import importlib
import re

import pytest

from kustosz.addresses import mail_address
from kustosz.errors import InputError
from kustosz.installation.slugs import check_slug

# (module, pattern's name, a value it must accept)
VALIDATORS = [
    ("kustosz.config_schema.cluster", "NAME", "wezel-1"),
    ("kustosz.access.users", "_NAME", "j.kowalska"),
    ("kustosz.index.sources", "_NAME", "hall"),
    ("kustosz.installation.slugs", "SLUG", "mops"),
    ("kustosz.alerts.channel_forms", "HOST", "smtp.um.example.pl"),
    ("kustosz.ingest.phone.siprec.multipart", "_BOUNDARY", "OSS-unique-boundary-42"),
    ("kustosz.ingest.camera.live_relay", "PART", "live12.ts"),
    ("kustosz.addresses", "_MAIL", "sekretariat@um.example.pl"),
    ("kustosz.phone_numbers", "_ALLOWED", "+48 61 123 45 67"),
    ("kustosz.phone_numbers", "_SERVICE", "112"),
    ("kustosz.ingest.phone.cdr", "_TIME", "2026-11-29 10:00:00"),
    ("kustosz.ingest.phone.cdr", "_UNIQUEID", "asterisk-1240499812.774"),
    ("kustosz.ingest.phone.cdr", "_UINT", "42"),
    ("kustosz.backup.schedule", "_STAMP", "20261129T100000Z"),
    ("kustosz.alerts.settings", "_TIME", "07:30"),
    ("kustosz.web.requests_pages", "_HHMM", "14:30"),
    ("kustosz.web.requests_pages", "_CLOCK", "14:30:15"),
    ("kustosz.custody.requests", "_HHMM", "9:05"),
    ("kustosz.access.employees", "_DOTTED", "29.11.2026"),
]
ENDINGS = ["\n", "\r\n", "\n\n"]


@pytest.mark.parametrize(("module", "name", "good"), VALIDATORS,
                         ids=[f"{m.rsplit('.', 1)[1]}.{n}" for m, n, _g in VALIDATORS])
def test_a_validator_refuses_its_value_with_a_line_break_after(
        module: str, name: str, good: str) -> None:
    pattern: re.Pattern[str] = getattr(importlib.import_module(module), name)
    assert pattern.match(good), good  # the example is one the rule accepts
    for end in ENDINGS:
        assert pattern.match(good + end) is None, repr(good + end)
        assert pattern.search(good + end) is None, repr(good + end)


def test_an_office_slug_with_a_line_break_is_refused_in_words() -> None:
    assert check_slug("mops") == "mops"
    with pytest.raises(InputError):
        check_slug("mops\n")


def test_a_mail_address_with_a_line_break_is_not_one() -> None:
    # (a number's writing may hold white space, a line break too: looks_like_number strips
    # it, and SIPREC metadata's number class holds \s — those are not validators of a name)
    assert mail_address("iod@um.example.pl")
    assert not mail_address("iod@um.example.pl\n")
