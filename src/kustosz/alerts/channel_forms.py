"""The web page's form of each built-in alert channel (kustosz.alert_channels names them):
how its settings in force become a section (plain JSON, what the page stores), a section the
value the sender takes, a section the form's fields, and the fields typed a section again —
with every problem at its field, Polish first.

A channel's section template (``template``) renders its fields inside the page's card; the
page passes the form, the errors and what ``context`` gives. ``secret_fields`` are never
shown back, even as typed.
"""

from __future__ import annotations

import re
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kustosz.addresses import mail_address
from kustosz.alerts.channel_registry import ChannelForm as ChannelForm  # its type
from kustosz.alerts.channel_registry import Seal as Seal
from kustosz.alerts.channels import WEBHOOK_WHAT, ChannelError, resolve_checked
from kustosz.config import AlertsConfig, EmailChannel, PushChannel, SyslogChannel, WebhookChannel
from kustosz.config_schema.alerts import PUSH_SERVICES

HOST = re.compile(r"^[A-Za-z0-9.:\-\[\]_]+\Z")
_URL = re.compile(r"^https?://[^\s/]+(/\S*)?$", re.I)
SECURITY = {"none": "bez szyfrowania (tylko serwer lokalny)",
            "starttls": "STARTTLS (zwykle port 587)", "tls": "TLS (zwykle port 465)"}
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


def addresses(text: str) -> list[str]:
    return [a for a in re.split(r"[\s,;]+", text.strip()) if a]


def port(text: str, field: str, errors: dict[str, str]) -> int | None:
    try:
        number = int(text.strip())
    except ValueError:
        errors[field] = "Podaj numer portu (liczbę od 1 do 65535)."
        return None
    if not 0 < number < 65536:
        errors[field] = f"Port {number} jest poza zakresem: podaj liczbę od 1 do 65535."
        return None
    return number


def not_addresses(bad: list[str]) -> str:
    return "To nie są adresy e-mail: " + ", ".join(f"„{a}”" for a in bad) + "."


# -- e-mail ---------------------------------------------------------------------------------
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


def ca_pem(text: str, errors: dict[str, str]) -> str:
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


def toml_files(base: AlertsConfig) -> dict[str, str]:
    """The files kustosz.toml names for the relay ("" for none): the only ones the web's
    sections may refer to."""
    e = base.email
    return {"password_file": str(e.password_file) if e and e.password_file else "",
            "ca_file": str(e.ca_file) if e and e.ca_file else ""}


class EmailForm:
    template = "alert_channel_email.html"
    secret_fields = ("email_password",)

    def section_of(self, e: EmailChannel) -> dict[str, Any]:
        return {"host": e.host, "port": e.port,
                "security": "tls" if e.tls else "starttls" if e.starttls else "none",
                "from": e.sender, "to": list(e.to), "user": e.user or "",
                "password_file": str(e.password_file) if e.password_file else "",
                "ca_file": str(e.ca_file) if e.ca_file else "",
                "ca_pem": e.ca_pem or "",
                "password_sealed": e.password_sealed or ""}

    def value_of(self, e: dict[str, Any], base: AlertsConfig) -> EmailChannel:
        files, dropped = toml_files(base), []
        paths: dict[str, Path | None] = {}
        for key in ("password_file", "ca_file"):
            # a path counts only as the one kustosz.toml names (an older version let the page
            # name any file, whose first line then went to the page's relay): a section
            # naming a file follows the file's own, or has none and says so
            paths[key] = Path(files[key]) if e.get(key) and files[key] else None
            if e.get(key) and not files[key]:
                dropped.append(key)
        return EmailChannel(
            e["host"], int(e["port"]), e["from"], tuple(e["to"]),
            starttls=e["security"] == "starttls", tls=e["security"] == "tls",
            user=e.get("user") or None,
            password_file=paths["password_file"], ca_file=paths["ca_file"],
            password_sealed=e.get("password_sealed") or None,
            ca_pem=e.get("ca_pem") or None, dropped=tuple(dropped))

    def fields_of(self, e: dict[str, Any] | None) -> dict[str, str]:
        if not e:
            return {"email_on": ""}
        return {"email_on": "1", "email_host": e["host"], "email_port": str(e["port"]),
                "email_security": e["security"], "email_from": e["from"],
                "email_to": "\n".join(e["to"]), "email_user": e["user"],
                "email_ca_pem": e["ca_pem"]}

    def parse(self, form: dict[str, str], seal: Seal, current: dict[str, Any] | None,
              base: AlertsConfig | None, errors: dict[str, str]) -> dict[str, Any] | None:
        if not form.get("email_on"):
            return None
        section = self._relay(form, errors)
        section.update(self._login(form, seal, current or {}, section, errors))
        return section

    def _relay(self, form: dict[str, str], errors: dict[str, str]) -> dict[str, Any]:
        g = form.get
        host = g("email_host", "").strip()
        if not host:
            errors["email_host"] = "Podaj adres serwera pocztowego (np. smtp.um.example.pl)."
        elif not HOST.match(host):
            errors["email_host"] = f"„{host}” nie jest nazwą ani adresem serwera."
        security = g("email_security", "")
        if security not in SECURITY:
            errors["email_security"] = "Wybierz sposób szyfrowania połączenia."
        port_text = g("email_port", "").strip() or (
            "465" if security == "tls" else "587" if security == "starttls" else "25")
        number = port(port_text, "email_port", errors)
        sender = g("email_from", "").strip()
        if not sender:
            errors["email_from"] = "Podaj adres nadawcy."
        elif not mail_address(sender):
            errors["email_from"] = f"„{sender}” nie jest adresem e-mail."
        to = addresses(g("email_to", ""))
        bad = [a for a in to if not mail_address(a)]
        if not to:
            errors["email_to"] = "Podaj co najmniej jednego odbiorcę."
        elif bad:
            errors["email_to"] = not_addresses(bad)
        return {"host": host, "port": number,
                "security": security, "from": sender, "to": to}

    def _login(self, form: dict[str, str], seal: Seal, old: dict[str, Any],
               relay: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
        """The user, password and CA: the stored password is kept when none is typed."""
        g = form.get
        host, security = relay["host"], relay["security"]
        user = g("email_user", "").strip()
        typed = g("email_password", "")
        for field, refusal in NO_FILE.items():
            if g(field, "").strip():  # the page offers no such field: a forged form
                errors[field] = refusal
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
        if user and security == "none" and host not in LOCAL_HOSTS:
            errors["email_security"] = ("Logowanie bez szyfrowania wysłałoby hasło otwartym "
                                        "tekstem przez sieć: wybierz STARTTLS albo TLS.")
        ca_file, pem = old.get("ca_file", ""), g("email_ca_pem", "").strip()
        if pem:
            if security == "none":
                errors["email_ca_pem"] = ("Certyfikat urzędu certyfikacji ma sens tylko z "
                                          "STARTTLS albo TLS.")
            else:
                pem, ca_file = ca_pem(pem, errors), ""
        if security == "none":
            ca_file = ""
        return {"user": user, "password_file": password_file if user else "",
                "ca_file": ca_file, "ca_pem": pem, "password_sealed": sealed if user else ""}

    def context(self, e: EmailChannel | None) -> dict[str, Any]:
        return {"dropped": e.dropped if e else (),
                "password_file": str(e.password_file) if e and e.password_file else "",
                "ca_file": str(e.ca_file) if e and e.ca_file else "",
                "has_password": bool(e and e.password_sealed),
                "security": list(SECURITY.items())}


# -- webhook --------------------------------------------------------------------------------
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


def webhook_shown(url: str) -> str:
    """What may be shown of a webhook's address: scheme://host[:port], no user, path nor
    query (where a token lives)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


class WebhookForm:
    template = "alert_channel_webhook.html"
    secret_fields = ("webhook_url",)

    def section_of(self, w: WebhookChannel) -> dict[str, Any]:
        return {"url": w.url, "url_sealed": w.url_sealed or ""}

    def value_of(self, w: dict[str, Any], base: AlertsConfig) -> WebhookChannel:
        # typed in the web: local addresses only when kustosz.toml allows them all
        return WebhookChannel(w["url"], url_sealed=w.get("url_sealed") or None,
                              local_ok=base.webhook_local)

    def fields_of(self, w: dict[str, Any] | None) -> dict[str, str]:
        return {"webhook_url": ""}  # a secret: never shown back (webhook_shown names its host)

    def parse(self, form: dict[str, str], seal: Seal, current: dict[str, Any] | None,
              base: AlertsConfig | None, errors: dict[str, str]) -> dict[str, Any] | None:
        """Its address is a secret (a token in the path, user:pass): sealed, and only
        scheme://host kept in clear; an empty field keeps the address in force."""
        url = form.get("webhook_url", "").strip()
        if form.get("webhook_off"):
            return None
        if not url:
            return current
        if not _URL.match(url):
            errors["webhook_url"] = ("Adres webhooka musi zaczynać się od http:// albo "
                                     "https:// i nie może zawierać spacji.")
            return None
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 — raises on a port that is not a number
            if not parts.hostname:
                raise ValueError(url)
        except ValueError:
            errors["webhook_url"] = ("W adresie webhooka brakuje nazwy serwera albo port nie "
                                     "jest liczbą (np. https://chat.um.example.pl/hooks/…).")
            return None
        local = webhook_local_error(url) if not (base and base.webhook_local) else None
        if local:
            errors["webhook_url"] = local
            return None
        return {"url": webhook_shown(url), "url_sealed": seal(url, WEBHOOK_WHAT)}

    def context(self, w: WebhookChannel | None) -> dict[str, Any]:
        return {"webhook_shown": webhook_shown(w.url) if w else ""}


# -- syslog ---------------------------------------------------------------------------------
class SyslogForm:
    template = "alert_channel_syslog.html"
    secret_fields: tuple[str, ...] = ()

    def section_of(self, y: SyslogChannel) -> dict[str, Any]:
        return {"host": y.host, "port": y.port}

    def value_of(self, y: dict[str, Any], base: AlertsConfig) -> SyslogChannel:
        return SyslogChannel(y["host"], int(y["port"]))

    def fields_of(self, y: dict[str, Any] | None) -> dict[str, str]:
        return {"syslog_host": y["host"] if y else "",
                "syslog_port": str(y["port"]) if y else "514"}

    def parse(self, form: dict[str, str], seal: Seal, current: dict[str, Any] | None,
              base: AlertsConfig | None, errors: dict[str, str]) -> dict[str, Any] | None:
        host = form.get("syslog_host", "").strip()
        if not host:
            return None
        if not HOST.match(host):
            errors["syslog_host"] = f"„{host}” nie jest nazwą ani adresem serwera."
        return {"host": host.strip("[]"),
                "port": port(form.get("syslog_port", "").strip() or "514", "syslog_port",
                             errors)}

    def context(self, y: SyslogChannel | None) -> dict[str, Any]:
        return {}


# -- Web Push (issue 65 item 3) ---------------------------------------------------------------
class PushForm:
    """Who runs the vault (the VAPID contact), the push services besides the browsers' own,
    and each request's deadline; the devices themselves opt in on their own dashboards. A
    CA file only kustosz.toml may name (as the relay's)."""

    template = "alert_channel_push.html"
    secret_fields: tuple[str, ...] = ()

    def section_of(self, p: PushChannel) -> dict[str, Any]:
        return {"contact": p.contact, "timeout_s": p.timeout_s,
                "services": [h for h in p.services if h not in PUSH_SERVICES]}

    def value_of(self, p: dict[str, Any], base: AlertsConfig) -> PushChannel:
        toml = base.configured.get("push")
        return PushChannel(p["contact"], PUSH_SERVICES + tuple(p.get("services") or ()),
                           toml.ca_file if isinstance(toml, PushChannel) else None,
                           float(p.get("timeout_s") or 10.0))

    def fields_of(self, p: dict[str, Any] | None) -> dict[str, str]:
        return {"push_contact": p["contact"] if p else "",
                "push_services": ", ".join(p.get("services") or ()) if p else "",
                "push_timeout": _seconds(float(p.get("timeout_s") or 10.0)) if p else "10"}

    def parse(self, form: dict[str, str], seal: Seal, current: dict[str, Any] | None,
              base: AlertsConfig | None, errors: dict[str, str]) -> dict[str, Any] | None:
        contact = form.get("push_contact", "").strip()
        if not contact:
            return None
        if not ((contact.startswith("mailto:") and mail_address(contact[7:]))
                or (_URL.match(contact) and contact.lower().startswith("https://"))):
            errors["push_contact"] = ("Podaj „mailto:” i adres e-mail (np. "
                                      "mailto:it@um.example.pl) albo adres https://.")
        services = addresses(form.get("push_services", ""))
        bad = [h for h in services if not HOST.match(h)]
        if bad:
            errors["push_services"] = "To nie są nazwy serwerów: " + ", ".join(
                f"„{h}”" for h in bad) + "."
        try:
            timeout = float(form.get("push_timeout", "").strip().replace(",", ".") or "10")
            if not 0 < timeout <= 60:
                raise ValueError(timeout)
        except ValueError:
            errors["push_timeout"] = "Podaj liczbę sekund od 1 do 60."
            timeout = 10.0
        return {"contact": contact, "timeout_s": timeout,
                "services": [h.strip("[]").lower() for h in services if HOST.match(h)]}

    def context(self, p: PushChannel | None) -> dict[str, Any]:
        return {"push_default_services": ", ".join(PUSH_SERVICES)}


def _seconds(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


EMAIL, WEBHOOK, SYSLOG, PUSH = EmailForm(), WebhookForm(), SyslogForm(), PushForm()
