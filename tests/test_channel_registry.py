"""Issue 51 item 3: an alert channel is declared once (kustosz.alert_channels). Every
registered kind has its docs anchor, a Polish and an English name, a sender and a web form
that round-trips; a new kind registered here — a fake one — is taken by kustosz.toml's
schema, the settings in force, build and the page's form with no other edit. A kind that
lacks something is named with what it lacks."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import Field

import kustosz.config_schema as schema
from kustosz.alert_channels import CHANNELS, ChannelKind, register, unregister
from kustosz.alerts import settings
from kustosz.alerts.channel_registry import NAMES_PL, form_of, resolve, sender_factory
from kustosz.alerts.channels import build
from kustosz.config import AlertsConfig
from kustosz.config_schema.base import Table
from tests.support.doc_anchors import doc_missing


def seal(text: str, what: str = "") -> str:
    return f"sealed:{what}:{len(text)}"


def lacks(kind: ChannelKind) -> list[str]:
    """What a registered kind lacks, said plainly."""
    missing = []
    if not kind.name_pl.strip():
        missing.append("a Polish name")
    if not kind.name_en.strip():
        missing.append("an English name")
    if (said := doc_missing(kind.doc)) is not None:
        missing.append(said)
    for what, ref in (("a sender", kind.sender), ("a web form", kind.form)):
        try:
            resolve(ref)
        except (ImportError, AttributeError, ValueError) as exc:
            missing.append(f"{what} ({ref!r}: {exc})")
    if not missing:
        form = form_of(kind)
        for attr in ("template", "secret_fields", "section_of", "value_of", "fields_of",
                     "parse", "context"):
            if not hasattr(form, attr):
                missing.append(f"its form's {attr}")
        template = Path(schema.__file__).parents[1] / "web" / "templates" / \
            str(getattr(form, "template", ""))
        if not template.is_file():
            missing.append(f"its form's template {template.name}")
    return missing


def example(key: str) -> dict[str, Any]:
    """A section the page could have stored, per built-in; a new kind gives its own."""
    return {"email": {"host": "smtp.um.example.pl", "port": 587, "security": "starttls",
                      "from": "kustosz@um.example.pl", "to": ["it@um.example.pl"],
                      "user": "kustosz", "password_file": "", "ca_file": "", "ca_pem": "",
                      "password_sealed": "sealed:alerts.email_password:6"},
            "webhook": {"url": "https://chat.um.example.pl",
                        "url_sealed": "sealed:alerts.webhook_url:40"},
            "syslog": {"host": "192.0.2.10", "port": 514},
            "push": {"contact": "mailto:it@um.example.pl", "timeout_s": 10.0,
                     "services": ["push.um.example.pl"]},
            "pager": {"number": "+48123456789"}}[key]


def round_trip(key: str, section: dict[str, Any]) -> tuple[dict[str, Any] | None,
                                                           dict[str, str]]:
    """The section rendered as the page's fields, the fields parsed back."""
    form = form_of(CHANNELS[key])
    base = AlertsConfig()
    value = form.value_of(section, base)
    fields = form.fields_of(form.section_of(value))
    errors: dict[str, str] = {}
    return form.parse(fields, seal, {key: section}.get(key), base, errors), errors


@pytest.mark.parametrize("key", list(CHANNELS))
def test_every_registered_channel_has_its_names_docs_sender_and_form(key: str) -> None:
    assert not lacks(CHANNELS[key]), f"the alert channel {key!r} lacks: " + \
        ", ".join(lacks(CHANNELS[key]))
    assert NAMES_PL[key] == CHANNELS[key].name_pl


@pytest.mark.parametrize("key", list(CHANNELS))
def test_every_channels_form_round_trips(key: str) -> None:
    section = example(key)
    parsed, errors = round_trip(key, section)
    assert not errors, errors
    assert parsed == section


def test_a_kind_lacking_its_docs_names_and_form_is_named() -> None:
    kind = ChannelKind("nothing", "", "", "operations/alerts.md#no-such-anchor", Table,
                       lambda *_: None, "kustosz.alerts.channels:no_such_sender",
                       "kustosz.no_such_module:FORM")
    said = lacks(kind)
    assert "a Polish name" in said and "an English name" in said
    assert "docs/operations/alerts.md has no anchor #no-such-anchor" in said
    assert any(s.startswith("a sender") for s in said)
    assert any(s.startswith("a web form") for s in said)


# -- a new kind, registered here, reaches everything ----------------------------------------
class Pager(Table):
    number: str = Field(pattern=r"^\+\d{6,15}$", description="The pager's number.")


@dataclass(frozen=True)
class PagerChannel:
    number: str


class PagerSender:
    name = "pager"
    sent: ClassVar[list[str]] = []

    def __init__(self, cfg: PagerChannel, secrets: object = None) -> None:
        self.cfg = cfg

    def send(self, msg: Any) -> None:
        PagerSender.sent.append(f"{self.cfg.number}: {msg.subject}")


class PagerForm:
    template = "alert_channel_syslog.html"  # any section template renders
    secret_fields: tuple[str, ...] = ()

    def section_of(self, value: PagerChannel) -> dict[str, Any]:
        return {"number": value.number}

    def value_of(self, section: dict[str, Any], base: AlertsConfig) -> PagerChannel:
        return PagerChannel(section["number"])

    def fields_of(self, section: dict[str, Any] | None) -> dict[str, str]:
        return {"pager_number": section["number"] if section else ""}

    def parse(self, form: dict[str, str], seal: Any, current: dict[str, Any] | None,
              base: AlertsConfig | None, errors: dict[str, str]) -> dict[str, Any] | None:
        number = form.get("pager_number", "").strip()
        if number and not re.match(r"^\+\d{6,15}$", number):
            errors["pager_number"] = "Podaj numer pagera (np. +48123456789)."
        return {"number": number} if number else None

    def context(self, value: PagerChannel | None) -> dict[str, Any]:
        return {}


@pytest.fixture
def pager() -> Iterator[ChannelKind]:
    kind = register(ChannelKind(
        "pager", "pager", "pager", "operations/alerts.md#adding-a-channel", Pager,
        lambda table, _alerts, _root: PagerChannel(table.number), PagerSender, PagerForm()))
    try:
        yield kind
    finally:
        unregister("pager")


def test_a_new_channel_is_in_the_schema_the_config_build_and_the_form(
        pager: ChannelKind, tmp_path: Path) -> None:
    assert not lacks(pager)
    assert "pager" in schema.json_schema()["$defs"]["Alerts"]["properties"]
    toml = tmp_path / "kustosz.toml"
    toml.write_text('[alerts.pager]\nnumber = "+48123456789"\n', encoding="utf-8")
    from kustosz.config import _alerts
    cfg = _alerts(schema.load(toml).alerts, tmp_path)
    assert cfg.channels == {"pager": PagerChannel("+48123456789")}
    assert list(build(cfg.channels)) == ["pager"]
    # the page: its fields filled, parsed back, refused with the field named
    assert settings.form_of(cfg)["pager_number"] == "+48123456789"
    assert settings.sections_of(cfg)["pager"] == {"number": "+48123456789"}
    sections, errors = settings.parse_form(
        {**settings.form_of(cfg), "pager_number": "+48111222333", "digest_at": ""}, seal,
        settings.sections_of(cfg))
    assert not errors and sections["pager"] == {"number": "+48111222333"}
    assert settings.config_of(cfg, sections).channels["pager"] == PagerChannel("+48111222333")
    _, errors = settings.parse_form({**settings.form_of(cfg), "pager_number": "123"}, seal, {})
    assert "pager_number" in errors
    bad = tmp_path / "bad.toml"
    bad.write_text('[alerts.pager]\nnumbr = "+48123456789"\n', encoding="utf-8")
    problems = schema.check_file(bad)
    assert any(p.where.startswith("alerts.pager") for p in problems), problems
    assert sender_factory(pager) is PagerSender


def test_a_kind_taken_out_leaves_the_schema(pager: ChannelKind, tmp_path: Path) -> None:
    unregister("pager")
    assert "pager" not in schema.json_schema()["$defs"]["Alerts"]["properties"]
    toml = tmp_path / "kustosz.toml"
    toml.write_text('[alerts.pager]\nnumber = "+48123456789"\n', encoding="utf-8")
    assert any(p.where == "alerts.pager" for p in schema.check_file(toml))


def test_a_key_is_registered_once() -> None:
    with pytest.raises(ValueError, match="registered already"):
        register(CHANNELS["email"])
