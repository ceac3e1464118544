"""[alerts]: the channels that bring alerts to a person, and each kind's timing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, create_model, field_validator, model_validator
from pydantic.fields import FieldInfo

from kustosz.addresses import mail_address, named_local
from kustosz.alert_channels import CHANNELS, ChannelKind, on_register, register
from kustosz.alert_kinds import KINDS, parse_duration
from kustosz.config_schema.base import Table, checked, problem

LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def _no_password(data: object, table: str) -> object:
    if isinstance(data, dict) and "password" in data:
        raise problem(
            f"{table}.password is not allowed: put the password in a file only "
            "Kustosz can read (chmod 600) and name it in password_file",
            f"{table}.password jest niedozwolone: hasło umieść w pliku, który "
            "czyta tylko Kustosz (chmod 600), i wskaż go w password_file",
        )
    return data


def addresses(value: list[str], empty_ok: bool) -> list[str]:
    """E-mail addresses; names the bad ones."""

    if not value and not empty_ok:
        raise problem(
            'must be a list of e-mail addresses, e.g. ["it@um.example.pl"]',
            'podaj listę adresów e-mail, np. ["it@um.example.pl"] albo '
            '["it@localhost"] (serwer pocztowy na tym komputerze)',
        )
    bad = [a for a in value if not mail_address(a)]
    if bad:
        raise problem(
            "must be a list of e-mail addresses; not one: " + ", ".join(repr(a) for a in bad),
            "to nie jest adres e-mail: "
            + ", ".join(f"„{a}”" for a in bad)
            + " (adres ma postać nazwa@domena, np. it@um.example.pl albo "
            "it@localhost)",
        )
    return value


def _host(value: str) -> str:
    if not value.strip() or any(c.isspace() for c in value):
        raise problem("must be a host name or address", "musi być nazwą hosta albo adresem")
    return value


class Email(Table):
    host: str = Field(description="The mail relay.")
    port: int | None = Field(
        None, ge=1, le=65535, description="Default: 465 with tls, 587 with starttls, else 25."
    )
    starttls: bool = False
    tls: bool = False
    user: str | None = Field(None, min_length=1, description="With password_file.")
    password_file: str | None = Field(
        None, min_length=1, description="A file holding the password (chmod 600)."
    )
    sender: str = Field(alias="from", description="The sender's address.")
    to: list[str] = Field(description="The recipients.")
    ca_file: str | None = Field(
        None, min_length=1, description="The office's CA for the relay's certificate."
    )

    @model_validator(mode="before")
    @classmethod
    def _password(cls, data: object) -> object:
        return _no_password(data, "alerts.email")

    @field_validator("to", mode="before")
    @classmethod
    def _to_list(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("to")
    @classmethod
    def _to(cls, value: list[str]) -> list[str]:
        return addresses(value, empty_ok=False)

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        return _host(value).strip("[]")

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        if not mail_address(value):
            raise problem(
                "must be an e-mail address",
                f"to nie jest adres e-mail: „{value}” (adres ma postać "
                "nazwa@domena, np. kustosz@um.example.pl albo kustosz@localhost)",
            )
        return value

    @property
    def port_or_default(self) -> int:
        if self.port is not None:
            return self.port
        return 465 if self.tls else 587 if self.starttls else 25

    @model_validator(mode="after")
    def _together(self) -> Email:
        if self.starttls and self.tls:
            raise problem(
                "alerts.email: choose starttls (port 587) or tls (port 465), not both",
                "alerts.email: wybierz starttls (port 587) albo tls (port 465), nie oba",
            )
        if (self.user is None) != (self.password_file is None):
            raise problem(
                "alerts.email: give user and password_file together (or neither, "
                "when the relay needs no login)",
                "alerts.email: podaj user i password_file razem (albo żadnego, gdy "
                "serwer nie wymaga logowania)",
            )
        if self.user is not None and not (self.starttls or self.tls) and self.host not in LOOPBACK:
            raise problem(
                f"alerts.email: a login to {self.host} without starttls or tls would "
                "send the password in clear over the network",
                f"alerts.email: logowanie do {self.host} bez starttls ani tls "
                "wysłałoby hasło przez sieć otwartym tekstem",
            )
        if self.ca_file is not None and not (self.starttls or self.tls):
            raise problem(
                "alerts.email.ca_file is used only with starttls or tls",
                "alerts.email.ca_file działa tylko ze starttls albo tls",
            )
        return self


class Webhook(Table):
    url: str = Field(description="An http:// or https:// address alerts are POSTed to.")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+(/\S*)?$", value):
            raise problem(
                "must be an http:// or https:// address", "musi być adresem http:// albo https://"
            )
        return value


class Syslog(Table):
    host: str
    port: int = Field(514, ge=1, le=65535)

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        return _host(value).strip("[]")


# The browsers' own push services (Chrome, Edge, Firefox, Safari): a subscription's endpoint
# must be on one of these or on one kustosz.toml names ([alerts.push] services) — never any
# address a signed-in person gives, which would make the server POST where they want.
PUSH_SERVICES = ("fcm.googleapis.com", "updates.push.services.mozilla.com",
                 "push.services.mozilla.com", "notify.windows.com", "push.apple.com")


class Push(Table):
    contact: str = Field(
        description='Who runs this vault, told to the push services (VAPID "sub"): '
                    '"mailto:it@um.example.pl" or an https:// address.')
    services: list[str] = Field(
        default_factory=list,
        description="Push services' host names allowed besides the browsers' own, e.g. an "
                    "office's own push service in a closed network.")
    ca_file: str | None = Field(
        None, min_length=1, description="The office's CA for its own push service.")
    timeout_seconds: float = Field(10.0, gt=0, le=60, description="Each push request's deadline.")

    @field_validator("contact")
    @classmethod
    def _contact(cls, value: str) -> str:
        if not (value.startswith("mailto:") and mail_address(value[7:])) and \
                not re.match(r"^https://[^\s/]+(/\S*)?$", value):
            raise problem(
                'must be "mailto:" and an e-mail address, or an https:// address',
                "podaj „mailto:” i adres e-mail (np. mailto:it@um.example.pl) albo adres "
                "https://")
        return value

    @field_validator("services")
    @classmethod
    def _services(cls, value: list[str]) -> list[str]:
        for host in value:
            _host(host)
        return [h.strip("[]").lower() for h in value]


class AlertKind(Table):
    grace: str | None = Field(
        None, description='How long the cause lasts before the alert is raised, e.g. "2 minutes".'
    )
    repeat: str | None = Field(
        None, description='Reminders while it lasts, e.g. "1 hour", or "never".'
    )

    @field_validator("grace")
    @classmethod
    def _grace(cls, value: str | None) -> str | None:
        if value is not None:
            checked(parse_duration, value, "grace")
        return value

    @field_validator("repeat")
    @classmethod
    def _repeat(cls, value: str | None) -> str | None:
        if value is not None and value != "never":
            checked(parse_duration, value, "repeat", zero=False)
        return value


def _kinds_model() -> type[Table]:
    fields: dict[str, Any] = {key: (AlertKind | None, None) for key in KINDS}
    return create_model("AlertKinds", __base__=Table, **fields)


AlertKinds = _kinds_model()


class Alerts(Table):
    """[alerts]: besides these keys, one optional table per registered channel kind
    (kustosz.alert_channels), added below — first, in the registry's order."""

    kinds: AlertKinds = Field(
        default_factory=AlertKinds,
        description="One table per alert kind: grace and repeat.",
    )
    forecast_days: int = Field(
        14, ge=1, le=365, description="disk_forecast: the disk full in fewer days than this."
    )
    digest_at: str = Field(
        "07:30", description='The DPO\'s daily digest, Europe/Warsaw; "" for none.'
    )
    digest_to: list[str] = Field(
        default_factory=list, description="Its recipients; empty: email.to."
    )
    webhook_local: bool = Field(False, description="Any webhook may reach loopback addresses.")

    @field_validator("digest_at")
    @classmethod
    def _digest_at(cls, value: str) -> str:
        if value and not re.match(r"^([01]\d|2[0-3]):[0-5]\d$", value):
            raise problem(
                'must be a time HH:MM (Europe/Warsaw), e.g. "07:30", or "" for no daily digest',
                'musi być godziną GG:MM (Europe/Warsaw), np. "07:30", albo "" gdy '
                "codzienne podsumowanie nie jest wysyłane",
            )
        return value

    @field_validator("digest_to", mode="before")
    @classmethod
    def _digest_to_list(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("digest_to")
    @classmethod
    def _digest_to(cls, value: list[str]) -> list[str]:
        return addresses(value, empty_ok=True)


# -- the built-in channels: the values their senders take, and their registration ---------
@dataclass(frozen=True)
class EmailChannel:
    host: str
    port: int
    sender: str
    to: tuple[str, ...]
    starttls: bool = False
    tls: bool = False
    user: str | None = None
    password_file: Path | None = None  # never the password itself (read when sending)
    ca_file: Path | None = None  # the office's own CA for the relay's certificate
    # set from the web only (kustosz.alerts.settings): the password sealed with the vault's
    # secrets key (kustosz.atrest), opened when sending; never the password in clear
    password_sealed: str | None = None
    ca_pem: str | None = None  # set from the web only: the office's CA pasted as PEM text
    # what of the web's stored section was not used, and why (kustosz.alerts.settings):
    # "password_file"/"ca_file" named on the page, which only kustosz.toml may name now
    dropped: tuple[str, ...] = ()


@dataclass(frozen=True)
class WebhookChannel:
    url: str  # with url_sealed: only scheme://host, for display and logs
    timeout_s: float = 5.0
    url_sealed: str | None = None  # typed in the web: the whole address, sealed (a secret)
    # may reach loopback/link-local addresses: only when kustosz.toml says so (its own
    # literal loopback address, or [alerts] webhook_local = true), never from the web alone
    local_ok: bool = False


@dataclass(frozen=True)
class SyslogChannel:
    host: str
    port: int = Syslog.model_fields["port"].default


@dataclass(frozen=True)
class PushChannel:
    contact: str  # the VAPID "sub"
    services: tuple[str, ...] = PUSH_SERVICES  # host names a device's endpoint may be on
    ca_file: Path | None = None
    timeout_s: float = 10.0


def _push_value(p: Push, _alerts: Any, root: Path) -> PushChannel:
    return PushChannel(p.contact, PUSH_SERVICES + tuple(p.services),
                       root / p.ca_file if p.ca_file else None, p.timeout_seconds)


def _email_value(e: Email, _alerts: Any, root: Path) -> EmailChannel:
    return EmailChannel(e.host, e.port_or_default, e.sender, tuple(e.to), e.starttls, e.tls,
                        e.user, root / e.password_file if e.password_file else None,
                        root / e.ca_file if e.ca_file else None)


def _webhook_value(w: Webhook, alerts: Any, _root: Path) -> WebhookChannel:
    # the root-owned file naming a loopback address itself is that file allowing it
    return WebhookChannel(w.url, local_ok=alerts.webhook_local or named_local(w.url))


def _syslog_value(y: Syslog, _alerts: Any, _root: Path) -> SyslogChannel:
    return SyslogChannel(y.host, y.port)


def _add_channel(kind: ChannelKind) -> None:
    """Give [alerts] the kind's table, channels first in the registry's order."""
    fields = Alerts.model_fields
    rest = {k: v for k, v in fields.items() if k not in CHANNELS}
    optional: Any = kind.table | None
    fields[kind.key] = FieldInfo.from_annotated_attribute(optional, None)
    ordered = {k: fields[k] for k in CHANNELS if k in fields}
    fields.clear()
    fields.update({**ordered, **rest})
    Alerts.model_rebuild(force=True)


def _drop_channel(kind: ChannelKind) -> None:
    Alerts.model_fields.pop(kind.key, None)
    Alerts.model_rebuild(force=True)


def channel_table(alerts: BaseModel, key: str) -> Any:
    """The checked [alerts.<key>] table, or None when the file has none."""
    return getattr(alerts, key, None)


on_register(_add_channel, _drop_channel)
for _kind in (
    ChannelKind("email", "e-mail", "e-mail", "operations/alerts.md#e-mail", Email,
                _email_value, "kustosz.alerts.channels:email_sender",
                "kustosz.alerts.channel_forms:EMAIL"),
    ChannelKind("webhook", "webhook", "webhook", "operations/alerts.md#webhook", Webhook,
                _webhook_value, "kustosz.alerts.channels:webhook_sender",
                "kustosz.alerts.channel_forms:WEBHOOK"),
    ChannelKind("syslog", "syslog", "syslog", "operations/alerts.md#syslog", Syslog,
                _syslog_value, "kustosz.alerts.channels:syslog_sender",
                "kustosz.alerts.channel_forms:SYSLOG"),
    # the devices of those on duty (issue 65 item 3): its sender tells each what its user's
    # dashboard says, so it lives with the dashboard's rule (docs/design.md)
    ChannelKind("push", "powiadomienia w przeglądarce (Web Push)",
                "browser notifications (Web Push)", "operations/alerts.md#web-push", Push,
                _push_value, "kustosz.web.alarm_push:sender",
                "kustosz.alerts.channel_forms:PUSH"),
):
    register(_kind)
