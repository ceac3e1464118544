"""The effective policy of an office: a preset from `presets/` plus the office's overrides."""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kustosz.errors import ConfigError
from kustosz.policy.periods import Period

SOURCE_KINDS = ("camera", "phone", "mailbox", "endpoint")
# Kodeks pracy art. 22² §3 (video) and art. 22³ §4 (e-mail, IT activity): employer monitoring
# material is kept no longer than 3 months from the day of recording. Phone recording is not
# employer monitoring under the Code, so the office's own regulation alone bounds it.
STATUTORY_MAX = {"camera": Period(3, "months"), "mailbox": Period(3, "months"),
                 "endpoint": Period(3, "months")}

_SCHEMA: dict[str, dict[str, Any]] = {
    "office": {"name": str, "approver_title": str, "deputy_title": str, "timezone": str},
    "retention": dict.fromkeys(SOURCE_KINDS, str),
    "requests": {"deadline": str, "after_deadline": str},
    "copies": {"lifetime": str, "counted_from": str},
    "calls": {"scope": str},
    "disclosure": {"approvers": list},
    "duties": {"no_self_authorisation": bool, "decision_by_own_account": bool,
               "copier_not_destroyer": bool},
}


@dataclass(frozen=True)
class Duties:
    """Separation of duties (issue 11). Each is on unless the office turns it off in
    `[policy.duties]`: one person must not be the only safeguard against himself.

    * no_self_authorisation — nobody issues an individual authorisation to himself;
    * decision_by_own_account — the approver records his decision from his own account; anyone
      else may enter it only as a decision taken on paper, naming the document;
    * copier_not_destroyer — whoever made a copy does not give the confirmation that destroys
      it (the second member of the commission).
    """

    no_self_authorisation: bool = True
    decision_by_own_account: bool = True
    copier_not_destroyer: bool = True

    def as_dict(self) -> dict[str, bool]:
        return {"no_self_authorisation": self.no_self_authorisation,
                "decision_by_own_account": self.decision_by_own_account,
                "copier_not_destroyer": self.copier_not_destroyer}


@dataclass(frozen=True)
class Policy:
    preset: str | None
    office_name: str
    approver_title: str
    deputy_title: str
    timezone: ZoneInfo
    retention: dict[str, Period | None]
    request_deadline: Period
    after_deadline: Literal["reject", "warn"]
    copy_lifetime: Period
    copy_counted_from: Literal["recording_date", "copy_date"]
    call_scope: Literal["all", "external_incoming"]
    approvers: tuple[str, ...]
    duties: Duties = Duties()
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    def retention_for(self, kind: str) -> Period:
        period = self.retention.get(kind)
        if period is None:
            raise ConfigError(
                f"the policy sets no retention period for {kind} material "
                f"(retention.{kind}); this office's regulation does not cover it — "
                "set it in kustosz.toml before adding such a source"
            )
        return period

    def digest(self) -> str:
        """A stable fingerprint of the effective values, to notice policy changes."""
        blob = json.dumps(self.raw, sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(blob).hexdigest()

    def as_dict(self) -> dict[str, Any]:
        return {
            "preset": self.preset,
            "office": {"name": self.office_name, "approver_title": self.approver_title,
                       "deputy_title": self.deputy_title, "timezone": self.timezone.key},
            "retention": {k: (str(v) if v else None) for k, v in self.retention.items()},
            "requests": {"deadline": str(self.request_deadline),
                         "after_deadline": self.after_deadline},
            "copies": {"lifetime": str(self.copy_lifetime),
                       "counted_from": self.copy_counted_from},
            "calls": {"scope": self.call_scope},
            "disclosure": {"approvers": list(self.approvers)},
            "duties": self.duties.as_dict(),
        }


def preset_names() -> list[str]:
    folder = resources.files("kustosz.policy") / "presets"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def _read_preset(name: str) -> dict[str, Any]:
    if name not in preset_names():
        raise ConfigError(f"unknown preset {name!r}; known presets: {', '.join(preset_names())}")
    text = (resources.files("kustosz.policy") / "presets" / f"{name}.toml").read_text("utf-8")
    return tomllib.loads(text)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _check_shape(data: dict[str, Any]) -> None:
    for section, value in data.items():
        if section not in _SCHEMA:
            raise ConfigError(f"unknown policy section [{section}]; known: {', '.join(_SCHEMA)}")
        if not isinstance(value, dict):
            raise ConfigError(f"policy [{section}] must be a table")
        for key, item in value.items():
            if key not in _SCHEMA[section]:
                raise ConfigError(f"unknown policy key {section}.{key}")
            if not isinstance(item, _SCHEMA[section][key]):
                raise ConfigError(f"policy key {section}.{key} has the wrong type: {item!r}")


def _choice(data: dict[str, Any], section: str, key: str, allowed: tuple[str, ...]) -> Any:
    value = data.get(section, {}).get(key)
    if value not in allowed:
        raise ConfigError(f"policy {section}.{key} must be one of {', '.join(allowed)}, "
                          f"got {value!r}")
    return value


def _period(data: dict[str, Any], section: str, key: str) -> Period:
    value = data.get(section, {}).get(key)
    if value is None:
        raise ConfigError(f"policy {section}.{key} is missing")
    try:
        return Period.parse(value)
    except ConfigError as exc:
        raise ConfigError(f"policy {section}.{key}: {exc}") from None


def build_policy(data: dict[str, Any], preset: str | None = None) -> Policy:
    _check_shape(data)
    office = data.get("office", {})
    if not office.get("name"):
        raise ConfigError("policy office.name is missing")
    try:
        tz = ZoneInfo(office.get("timezone", "Europe/Warsaw"))
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"policy office.timezone {office.get('timezone')!r} is unknown") from None
    retention: dict[str, Period | None] = {}
    for kind in SOURCE_KINDS:
        retention[kind] = (_period(data, "retention", kind)
                           if kind in data.get("retention", {}) else None)
        cap = STATUTORY_MAX.get(kind)
        if retention[kind] and cap and retention[kind].max_days() > cap.max_days():
            raise ConfigError(
                f"policy retention.{kind} = {retention[kind]} exceeds the statutory maximum "
                f"of {cap} (Kodeks pracy art. 22² §3 / 22³ §4)")
    approvers = data.get("disclosure", {}).get("approvers", ["head"])
    if not approvers or any(a not in ("head", "deputy") for a in approvers):
        raise ConfigError("policy disclosure.approvers must list 'head' and optionally 'deputy'")
    return Policy(
        preset=preset,
        office_name=office["name"],
        approver_title=office.get("approver_title", "Kierownik jednostki"),
        deputy_title=office.get("deputy_title", "Zastępca kierownika jednostki"),
        timezone=tz,
        retention=retention,
        request_deadline=_period(data, "requests", "deadline"),
        after_deadline=_choice(data, "requests", "after_deadline", ("reject", "warn")),
        copy_lifetime=_period(data, "copies", "lifetime"),
        copy_counted_from=_choice(data, "copies", "counted_from",
                                  ("recording_date", "copy_date")),
        call_scope=_choice(data, "calls", "scope", ("all", "external_incoming")),
        approvers=tuple(approvers),
        duties=Duties(**data.get("duties", {})),
        raw=data,
    )


def load_policy(preset: str | None, overrides: dict[str, Any] | None = None) -> Policy:
    """The preset's values with the office's overrides on top, validated."""
    base = _read_preset(preset) if preset else {}
    return build_policy(_merge(base, overrides or {}), preset)


def parse_policy_text(text: str, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where} is not valid TOML: {exc}") from None
