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
import ssl
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from kustosz.addresses import mail_address
from kustosz.alert_kinds import KINDS, parse_duration
from kustosz.alerts.channels import WEBHOOK_WHAT, ChannelError, resolve_checked
from kustosz.audit import append as audit
from kustosz.config import AlertsConfig, EmailChannel, SyslogChannel, WebhookChannel
from kustosz.db.models import Setting
from kustosz.errors import KustoszError
from kustosz.vault_handle import VaultHandle
from kustosz.words import plural

KEY = "alerts.settings"
_HOST = re.compile(r"^[A-Za-z0-9.:\-\[\]_]+$")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_URL = re.compile(r"^https?://[^\s/]+(/\S*)?$", re.I)
SECURITY = {"none": "bez szyfrowania (tylko serwer lokalny)",
            "starttls": "STARTTLS (zwykle port 587)", "tls": "TLS (zwykle port 465)"}


def stored(session: Session) -> dict[str, Any]:
    row = session.get(Setting, KEY)
    return json.loads(row.value) if row is not None else {}


# -- sections: one plain-JSON shape for the file's values and the web's ---------------------
def _seconds(span: timedelta | None) -> int | None:
    return None if span is None else int(span.total_seconds())


def sections_of(cfg: AlertsConfig) -> dict[str, Any]:
    """The configuration as sections (what the page compares and stores)."""
    out: dict[str, Any] = {}
    e = cfg.email
    out["email"] = None if e is None else {
        "host": e.host, "port": e.port,
        "security": "tls" if e.tls else "starttls" if e.starttls else "none",
        "from": e.sender, "to": list(e.to), "user": e.user or "",
        "password_file": str(e.password_file) if e.password_file else "",
        "ca_file": str(e.ca_file) if e.ca_file else "",
        "ca_pem": e.ca_pem or "",
        "password_sealed": e.password_sealed or ""}
    out["webhook"] = None if cfg.webhook is None else {
        "url": cfg.webhook.url, "url_sealed": cfg.webhook.url_sealed or ""}
    out["syslog"] = None if cfg.syslog is None else {"host": cfg.syslog.host,
                                                     "port": cfg.syslog.port}
    out["general"] = {"forecast_days": cfg.forecast_days, "digest_at": cfg.digest_at,
                      "digest_to": list(cfg.digest_to)}
    for key, kind in KINDS.items():
        grace, repeat = cfg.kinds.get(key, (kind.grace, kind.repeat))
        out[f"kinds.{key}"] = {"grace": _seconds(grace), "repeat": _seconds(repeat)}
    return out


def config_of(base: AlertsConfig, sections: dict[str, Any]) -> AlertsConfig:
    """The file's configuration with the stored sections put in their place."""
    cfg = base
    if "email" in sections:
        e = sections["email"]
        files, dropped = _toml_files(base), []
        paths: dict[str, Path | None] = {}
        for key in ("password_file", "ca_file"):
            # a path counts only as the one kustosz.toml names (an older version let the page
            # name any file, whose first line then went to the page's relay): a section
            # naming a file follows the file's own, or has none and says so
            paths[key] = Path(files[key]) if e and e.get(key) and files[key] else None
            if e and e.get(key) and not files[key]:
                dropped.append(key)
        cfg = replace(cfg, email=None if e is None else EmailChannel(
            e["host"], int(e["port"]), e["from"], tuple(e["to"]),
            starttls=e["security"] == "starttls", tls=e["security"] == "tls",
            user=e.get("user") or None,
            password_file=paths["password_file"], ca_file=paths["ca_file"],
            password_sealed=e.get("password_sealed") or None,
            ca_pem=e.get("ca_pem") or None, dropped=tuple(dropped)))
    if "webhook" in sections:
        w = sections["webhook"]
        # typed in the web: local addresses only when kustosz.toml allows them all
        cfg = replace(cfg, webhook=None if w is None else WebhookChannel(
            w["url"], url_sealed=w.get("url_sealed") or None, local_ok=base.webhook_local))
    if "syslog" in sections:
        y = sections["syslog"]
        cfg = replace(cfg, syslog=None if y is None else SyslogChannel(y["host"],
                                                                         int(y["port"])))
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


def _toml_files(base: AlertsConfig) -> dict[str, str]:
    """The files kustosz.toml names for the relay ("" for none): the only ones the web's
    sections may refer to."""
    e = base.email
    return {"password_file": str(e.password_file) if e and e.password_file else "",
            "ca_file": str(e.ca_file) if e and e.ca_file else ""}


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
    e = sec["email"]
    f["email_on"] = "1" if e else ""
    if e:
        f.update(email_host=e["host"], email_port=str(e["port"]),
                 email_security=e["security"], email_from=e["from"],
                 email_to="\n".join(e["to"]), email_user=e["user"],
                 email_ca_pem=e["ca_pem"])
    f["webhook_url"] = ""  # a secret: never shown back (webhook_shown names its host)
    f["syslog_host"] = sec["syslog"]["host"] if sec["syslog"] else ""
    f["syslog_port"] = str(sec["syslog"]["port"]) if sec["syslog"] else "514"
    g = sec["general"]
    f.update(forecast_days=str(g["forecast_days"]), digest_at=g["digest_at"],
             digest_to="\n".join(g["digest_to"]))
    for key in KINDS:
        k = sec[f"kinds.{key}"]
        f[f"grace_{key}"] = span_text(k["grace"], lang)
        f[f"repeat_{key}"] = span_text(k["repeat"], lang)
    return f


def _addresses(text: str) -> list[str]:
    return [a for a in re.split(r"[\s,;]+", text.strip()) if a]


def _port(text: str, field: str, errors: dict[str, str]) -> int | None:
    try:
        port = int(text.strip())
    except ValueError:
        errors[field] = "Podaj numer portu (liczbę od 1 do 65535)."
        return None
    if not 0 < port < 65536:
        errors[field] = f"Port {port} jest poza zakresem: podaj liczbę od 1 do 65535."
        return None
    return port


NO_FILE = {
    "email_password_file": (
        "Plik z hasłem może wskazać tylko kustosz.toml ([alerts.email] password_file), nie ta "
        "strona: wpisz hasło w polu „Hasło”. — A password file can be named only in "
        "kustosz.toml, not on this page: type the password in the “Hasło” field."),
    "email_ca_file": (
        "Plik certyfikatu może wskazać tylko kustosz.toml ([alerts.email] ca_file), nie ta "
        "strona: wklej treść certyfikatu (PEM). — A certificate file can be named only in "
        "kustosz.toml, not on this page: paste the certificate (PEM) instead."),
}
_PEM = re.compile(r"-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----")
PEM_MAX = 64 * 1024


def _ca_pem(text: str, errors: dict[str, str]) -> str:
    """Certificates pasted as PEM text, kept only when Python's TLS takes them."""
    text = text.strip().replace("\r\n", "\n")
    if len(text) > PEM_MAX:
        errors["email_ca_pem"] = "Certyfikat jest za długi (najwyżej 64 KB tekstu PEM)."
        return ""
    blocks = _PEM.findall(text)
    if not blocks or _PEM.sub("", text).strip():
        errors["email_ca_pem"] = ("Wklej certyfikat w postaci PEM: od „-----BEGIN "
                                  "CERTIFICATE-----” do „-----END CERTIFICATE-----”.")
        return ""
    try:
        ssl.create_default_context(cadata="\n".join(blocks))
    except (ssl.SSLError, ValueError):
        errors["email_ca_pem"] = "To nie jest poprawny certyfikat (PEM) urzędu certyfikacji."
        return ""
    return "\n".join(blocks) + "\n"


def webhook_local_error(url: str) -> str | None:
    """Why the page refuses a webhook address reaching this machine or its link (Polish, then
    English), or None. Checked again at each sending (a name may resolve otherwise later)."""

    parts = urlsplit(url)
    try:
        resolve_checked(parts.hostname or "", parts.port or 80, local_ok=False)
    except ChannelError as exc:
        if exc.reason != "webhook_local":
            return None  # not resolvable now: the test button tells; not a local address
        return ("Adres webhooka prowadzi do tego komputera (loopback) albo do adresu łącza "
                "lokalnego (169.254.…, fe80::…): Kustosz nie wysyła tam alarmów, chyba że "
                "pozwala na to kustosz.toml ([alerts] webhook_local = true). — The webhook's "
                "address reaches this machine or a link-local address: refused unless "
                "kustosz.toml allows it.")
    return None


class Seal(Protocol):
    """Seals a secret typed in the form with the vault's secrets key (``what``: which)."""

    def __call__(self, text: str, what: str = ...) -> str: ...


def parse_form(form: dict[str, str], seal: Seal, current: dict[str, Any],
               base: AlertsConfig | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """The sections the form asks for, and every problem at once by field (Polish).
    ``seal(text) -> str`` seals a typed password; ``current``: the sections in force (the
    stored password is kept when none is typed); ``base``: kustosz.toml's settings (whether
    a webhook may reach a local address)."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    g = form.get
    # e-mail
    if g("email_on"):
        host = g("email_host", "").strip()
        if not host:
            errors["email_host"] = "Podaj adres serwera pocztowego (np. smtp.um.example.pl)."
        elif not _HOST.match(host):
            errors["email_host"] = f"„{host}” nie jest nazwą ani adresem serwera."
        security = g("email_security", "")
        if security not in SECURITY:
            errors["email_security"] = "Wybierz sposób szyfrowania połączenia."
        port_text = g("email_port", "").strip() or (
            "465" if security == "tls" else "587" if security == "starttls" else "25")
        port = _port(port_text, "email_port", errors)
        sender = g("email_from", "").strip()
        if not sender:
            errors["email_from"] = "Podaj adres nadawcy."
        elif not mail_address(sender):
            errors["email_from"] = f"„{sender}” nie jest adresem e-mail."
        to = _addresses(g("email_to", ""))
        bad = [a for a in to if not mail_address(a)]
        if not to:
            errors["email_to"] = "Podaj co najmniej jednego odbiorcę."
        elif bad:
            errors["email_to"] = "To nie są adresy e-mail: " + ", ".join(
                f"„{a}”" for a in bad) + "."
        user = g("email_user", "").strip()
        typed = g("email_password", "")
        for field, refusal in NO_FILE.items():
            if g(field, "").strip():  # the page offers no such field: a forged form
                errors[field] = refusal
        old = current.get("email") or {}
        forget = bool(g("email_password_forget"))
        sealed = "" if forget else old.get("password_sealed", "")
        # in force, the file is already kustosz.toml's own (config_of drops any other)
        password_file = "" if forget else old.get("password_file", "")
        if typed:
            sealed, password_file = seal(typed), ""
        if user and not (sealed or password_file):
            errors["email_password"] = ("Podaj hasło albo plik z hasłem dla użytkownika "
                                        f"„{user}”.")
        if (sealed or password_file) and not user:
            errors["email_user"] = "Podaj nazwę użytkownika, do którego należy hasło."
        if user and security == "none" and host not in ("localhost", "127.0.0.1", "::1"):
            errors["email_security"] = ("Logowanie bez szyfrowania wysłałoby hasło otwartym "
                                        "tekstem przez sieć: wybierz STARTTLS albo TLS.")
        ca_file, ca_pem = old.get("ca_file", ""), g("email_ca_pem", "").strip()
        if ca_pem:
            if security == "none":
                errors["email_ca_pem"] = ("Certyfikat urzędu certyfikacji ma sens tylko z "
                                          "STARTTLS albo TLS.")
            else:
                ca_pem, ca_file = _ca_pem(ca_pem, errors), ""
        if security == "none":
            ca_file = ""
        out["email"] = {"host": host, "port": port, "security": security, "from": sender,
                        "to": to, "user": user,
                        "password_file": password_file if user else "",
                        "ca_file": ca_file, "ca_pem": ca_pem,
                        "password_sealed": sealed if user else ""}
    else:
        out["email"] = None
    # webhook: its address is a secret (a token in the path, user:pass): sealed, and only
    # scheme://host kept in clear; an empty field keeps the address in force
    url = g("webhook_url", "").strip()
    if g("webhook_off"):
        out["webhook"] = None
    elif not url:
        out["webhook"] = current.get("webhook")
    elif not _URL.match(url):
        errors["webhook_url"] = ("Adres webhooka musi zaczynać się od http:// albo https:// "
                                 "i nie może zawierać spacji.")
    else:
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 — raises on a port that is not a number
            if not parts.hostname:
                raise ValueError(url)
        except ValueError:
            errors["webhook_url"] = ("W adresie webhooka brakuje nazwy serwera albo port nie "
                                     "jest liczbą (np. https://chat.um.example.pl/hooks/…).")
        else:
            local = webhook_local_error(url) if not (base and base.webhook_local) else None
            if local:
                errors["webhook_url"] = local
            else:
                out["webhook"] = {"url": webhook_shown(url),
                                  "url_sealed": seal(url, WEBHOOK_WHAT)}
    # syslog
    sys_host = g("syslog_host", "").strip()
    if sys_host:
        if not _HOST.match(sys_host):
            errors["syslog_host"] = f"„{sys_host}” nie jest nazwą ani adresem serwera."
        out["syslog"] = {"host": sys_host.strip("[]"),
                         "port": _port(g("syslog_port", "").strip() or "514", "syslog_port",
                                       errors)}
    else:
        out["syslog"] = None
    # general
    days_text = g("forecast_days", "").strip()
    days: int | None = None
    try:
        days = int(days_text)
        if not 1 <= days <= 365:
            errors["forecast_days"] = "Podaj liczbę dni od 1 do 365."
    except ValueError:
        errors["forecast_days"] = "Podaj liczbę całkowitą dni (np. 14)."
    at = g("digest_at", "").strip()
    if at and not _TIME.match(at):
        errors["digest_at"] = "Podaj godzinę w postaci GG:MM (np. 07:30) albo zostaw puste."
    digest_to = _addresses(g("digest_to", ""))
    bad = [a for a in digest_to if not mail_address(a)]
    if bad:
        errors["digest_to"] = "To nie są adresy e-mail: " + ", ".join(
            f"„{a}”" for a in bad) + "."
    if at and not (digest_to or out["email"]):
        errors["digest_at"] = ("Zestawienie dzienne wysyłane jest e-mailem: włącz e-mail albo "
                               "zostaw godzinę pustą.")
    out["general"] = {"forecast_days": days, "digest_at": at, "digest_to": digest_to}
    # kinds
    for key in KINDS:
        grace = repeat = None
        try:
            grace = _seconds(parse_duration(g(f"grace_{key}", "").strip(), "grace"))
        except KustoszError:
            errors[f"grace_{key}"] = ("Nie można odczytać okresu: podaj liczbę i jednostkę, "
                                      "np. „2 minuty”, „1 godzina”, „30 s”.")
        text = g(f"repeat_{key}", "").strip()
        if text.lower() not in ("never", "nigdy"):
            try:
                repeat = _seconds(parse_duration(text, "repeat", zero=False))
            except KustoszError:
                errors[f"repeat_{key}"] = ("Nie można odczytać okresu: podaj liczbę i "
                                           "jednostkę większą od zera (np. „1 godzina”) albo "
                                           "„nigdy”.")
        out[f"kinds.{key}"] = {"grace": grace, "repeat": repeat}
    return out, errors


def webhook_shown(url: str) -> str:
    """What may be shown of a webhook's address: scheme://host[:port], no user, path nor
    query (where a token lives)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


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
        session.merge(Setting(key=KEY, value=json.dumps(after, sort_keys=True)))
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
