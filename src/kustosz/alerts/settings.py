"""The alert settings as the web edits them, and the settings in force.

One source: kustosz.toml's [alerts] is the base; the administrator's page stores only the
*sections* it changed (email, webhook, syslog, general, kinds.<key>) in the `vault_settings`
row `alerts.settings` (JSON). A stored section replaces the file's section as a whole; a
section saved with the file's values is not stored (it follows the file again), and "restore
from kustosz.toml" drops the row. The page says for each section where its values come from.
kustosz.toml itself is never rewritten: it may be managed by configuration tools, and the
service account should not need to write it.

The relay's password typed in the web is sealed with the vault's secrets key
(kustosz.atrest) and stored in the section; it is never shown back, logged nor audited.

The page names no file (issue 28 item 6: a path typed there sent any file the service could
read to a relay of the typist's choosing). A password file or CA file is named in the
root-owned kustosz.toml only; the page keeps using the file's one, or takes a password
typed (sealed) and a CA certificate pasted as text. A section stored by an older version
with a path the page named is not used for that path (`config_of`): the channel records
"dropped" and the page and the channel's failure say the password must be typed again.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from kustosz.addresses import mail_address
from kustosz.alert_kinds import KINDS, parse_duration
from kustosz.alerts.channel_forms import (  # noqa: F401 (the page's names, imported from here)
    NO_FILE,
    SECURITY,
    Seal,
    addresses,
    not_addresses,
    webhook_local_error,
    webhook_shown,
)
from kustosz.alerts.channel_registry import forms as channel_forms
from kustosz.audit import append as audit
from kustosz.config import AlertsConfig
from kustosz.db.models import Setting
from kustosz.db.settings import put_setting
from kustosz.errors import KustoszError
from kustosz.vault_handle import VaultHandle
from kustosz.words import plural

KEY = "alerts.settings"
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d\Z")


def stored(session: Session) -> dict[str, Any]:
    row = session.get(Setting, KEY)
    return json.loads(row.value) if row is not None else {}


# -- sections: one plain-JSON shape for the file's values and the web's ---------------------
def _seconds(span: timedelta | None) -> int | None:
    return None if span is None else int(span.total_seconds())


def sections_of(cfg: AlertsConfig) -> dict[str, Any]:
    """The configuration as sections (what the page compares and stores)."""
    out: dict[str, Any] = {}
    for key, form in channel_forms().items():  # the registered channels (kustosz.alert_channels)
        value = cfg.configured.get(key)
        out[key] = None if value is None else form.section_of(value)
    out["general"] = {"forecast_days": cfg.forecast_days, "digest_at": cfg.digest_at,
                      "digest_to": list(cfg.digest_to)}
    for key, kind in KINDS.items():
        grace, repeat = cfg.kinds.get(key, (kind.grace, kind.repeat))
        out[f"kinds.{key}"] = {"grace": _seconds(grace), "repeat": _seconds(repeat)}
    return out


def config_of(base: AlertsConfig, sections: dict[str, Any]) -> AlertsConfig:
    """The file's configuration with the stored sections put in their place."""
    configured = dict(base.configured)
    for key, form in channel_forms().items():
        if key in sections:
            section = sections[key]
            configured[key] = None if section is None else form.value_of(section, base)
    cfg = replace(base, configured=configured)
    if "general" in sections:
        g = sections["general"]
        cfg = replace(cfg, forecast_days=int(g["forecast_days"]), digest_at=g["digest_at"],
                      digest_to=tuple(g["digest_to"]))
    kinds = dict(cfg.kinds)
    for name, value in sections.items():
        if name.startswith("kinds.") and name[6:] in KINDS:
            kinds[name[6:]] = (timedelta(seconds=value["grace"]),
                               None if value["repeat"] is None
                               else timedelta(seconds=value["repeat"]))
    return replace(cfg, kinds=kinds)


def effective(vault: VaultHandle, session: Session | None = None) -> AlertsConfig:
    """The settings in force: kustosz.toml with the web's changes."""
    if session is None:
        with vault.reading() as s:
            return config_of(vault.config.alerts, stored(s))
    return config_of(vault.config.alerts, stored(session))


def origins(vault: VaultHandle, session: Session) -> dict[str, str]:
    """Per section: "web" when the page changed it, else "toml"."""
    web = stored(session)
    return {name: "web" if name in web else "toml"
            for name in sections_of(vault.config.alerts)}


# -- the page's form ----------------------------------------------------------------------
_UNITS_PL = ((86400, ("dzień", "dni", "dni")), (3600, ("godzina", "godziny", "godzin")),
             (60, ("minuta", "minuty", "minut")))


def span_text(seconds: int | None, lang: str = "pl") -> str:
    """A period as the form shows it, in the page's language (parse_duration reads both):
    "2 minuty", "1 godzina", "nigdy" / "2 minutes", "1 hour", "never"."""

    if seconds is None:
        return "nigdy" if lang == "pl" else "never"
    for size, forms in _UNITS_PL:
        if seconds and seconds % size == 0:
            n = seconds // size
            if lang == "pl":
                return f"{n} {plural(n, *forms)}"
            unit = {86400: "day", 3600: "hour", 60: "minute"}[size]
            return f"{n} {unit}" + ("" if n == 1 else "s")
    return f"{seconds} s"


def form_of(cfg: AlertsConfig, lang: str = "pl") -> dict[str, str]:
    """The form's fields filled with the settings in force (never a password)."""
    sec = sections_of(cfg)
    f: dict[str, str] = {}
    for key, form in channel_forms().items():
        f.update(form.fields_of(sec[key]))
    g = sec["general"]
    f.update(forecast_days=str(g["forecast_days"]), digest_at=g["digest_at"],
             digest_to="\n".join(g["digest_to"]))
    for key in KINDS:
        k = sec[f"kinds.{key}"]
        f[f"grace_{key}"] = span_text(k["grace"], lang)
        f[f"repeat_{key}"] = span_text(k["repeat"], lang)
    return f


def parse_form(form: dict[str, str], seal: Seal, current: dict[str, Any],
               base: AlertsConfig | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """The sections the form asks for, and every problem at once by field (Polish).
    ``seal(text) -> str`` seals a typed secret; ``current``: the sections in force (a stored
    secret is kept when none is typed); ``base``: kustosz.toml's settings (whether a webhook
    may reach a local address)."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    for key, channel in channel_forms().items():  # each registered channel parses its own fields
        out[key] = channel.parse(form, seal, current.get(key), base, errors)
    out["general"] = _parse_general(form, bool(out.get("email")), errors)
    out.update(_parse_kinds(form, errors))
    return out, errors


def _parse_general(form: dict[str, str], email: bool, errors: dict[str, str]
                   ) -> dict[str, Any]:
    """The forecast and the DPO's daily digest (sent by e-mail)."""
    g = form.get
    days: int | None = None
    try:
        days = int(g("forecast_days", "").strip())
        if not 1 <= days <= 365:
            errors["forecast_days"] = "Podaj liczbę dni od 1 do 365."
    except ValueError:
        errors["forecast_days"] = "Podaj liczbę całkowitą dni (np. 14)."
    at = g("digest_at", "").strip()
    if at and not _TIME.match(at):
        errors["digest_at"] = "Podaj godzinę w postaci GG:MM (np. 07:30) albo zostaw puste."
    digest_to = addresses(g("digest_to", ""))
    bad = [a for a in digest_to if not mail_address(a)]
    if bad:
        errors["digest_to"] = not_addresses(bad)
    if at and not (digest_to or email):
        errors["digest_at"] = ("Zestawienie dzienne wysyłane jest e-mailem: włącz e-mail albo "
                               "zostaw godzinę pustą.")
    return {"forecast_days": days, "digest_at": at, "digest_to": digest_to}


def _parse_kinds(form: dict[str, str], errors: dict[str, str]) -> dict[str, Any]:
    """Each alert kind's grace and repeat."""
    out: dict[str, Any] = {}
    for key in KINDS:
        grace = repeat = None
        try:
            grace = _seconds(parse_duration(form.get(f"grace_{key}", "").strip(), "grace"))
        except KustoszError:
            errors[f"grace_{key}"] = ("Nie można odczytać okresu: podaj liczbę i jednostkę, "
                                      "np. „2 minuty”, „1 godzina”, „30 s”.")
        text = form.get(f"repeat_{key}", "").strip()
        if text.lower() not in ("never", "nigdy"):
            try:
                repeat = _seconds(parse_duration(text, "repeat", zero=False))
            except KustoszError:
                errors[f"repeat_{key}"] = ("Nie można odczytać okresu: podaj liczbę i "
                                           "jednostkę większą od zera (np. „1 godzina”) albo "
                                           "„nigdy”.")
        out[f"kinds.{key}"] = {"grace": grace, "repeat": repeat}
    return out


def _shown(section: object) -> object:
    """A section as the audit log may keep it: no password, the webhook's host only (its
    address may carry a token)."""
    if not isinstance(section, dict):
        return section
    shown = dict(section)
    if "password_sealed" in shown:
        shown["password"] = "stored" if shown.pop("password_sealed") else None
    shown.pop("url_sealed", None)
    if shown.get("ca_pem"):
        shown["ca_pem"] = "pasted"
    if "url" in shown:
        shown["url"] = urlsplit(shown["url"]).netloc.rpartition("@")[2]
    return shown


def save(session: Session, vault: VaultHandle, wanted: dict[str, Any], actor: str,
         password_changed: bool = False) -> list[str]:
    """Store the sections that differ from kustosz.toml (the others follow the file again);
    the audit entry names what changed, without secrets. Returns the changed sections."""

    base = sections_of(vault.config.alerts)
    before = stored(session)
    in_force = sections_of(config_of(vault.config.alerts, before))
    after = {name: value for name, value in wanted.items() if value != base.get(name)}
    changed = sorted(n for n in wanted if wanted[n] != in_force.get(n)
                     or (n in before) != (n in after))
    if password_changed and "email" not in changed:
        changed.append("email")
    if not changed:
        return []
    if after:
        put_setting(session, KEY, json.dumps(after, sort_keys=True))
    else:
        row = session.get(Setting, KEY)
        if row is not None:
            session.delete(row)
    session.flush()
    audit(session, actor, "settings.alerts", KEY, {
        "changed": changed, "from": {n: _shown(in_force.get(n)) for n in changed},
        "to": {n: _shown(wanted.get(n)) for n in changed},
        "from_web": sorted(after), "password_changed": password_changed})
    return changed


def restore(session: Session, actor: str) -> bool:
    """Drop the web's changes: kustosz.toml alone is in force again."""

    row = session.get(Setting, KEY)
    if row is None:
        return False
    sections = sorted(json.loads(row.value))
    session.delete(row)
    session.flush()
    audit(session, actor, "settings.alerts", KEY, {"restored_from_toml": sections})
    return True
