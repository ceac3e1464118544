"""The ways an alert leaves the vault: e-mail through the office's relay, a JSON POST to a
webhook, a line to the office's syslog server (UDP, RFC 5424).

A failure is a ChannelError with a reason code (its Polish words are in REASONS_PL) and an
English detail for the log; neither ever holds the password, nor the webhook's address
(which may carry a token): only hosts are named.

The relay's password comes typed in the web (sealed) or from a file that only kustosz.toml
names, owned by root or the service and readable by nobody else (issue 28 item 6). The
webhook follows no redirect and reaches no loopback, link-local, unspecified nor multicast
address (checked on every address its name resolves to, and the connection made to the
address checked) unless kustosz.toml allows it (WebhookChannel.local_ok).
"""

from __future__ import annotations

import base64
import email.utils
import http.client
import json
import os
import smtplib
import socket
import ssl
import stat
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from kustosz.addresses import LOCAL_NAMES as _LOCAL_NAMES
from kustosz.addresses import local_address
from kustosz.alert_channels import CHANNELS
from kustosz.alerts.channel_registry import NAMES_PL as NAMES_PL  # the names, from here too
from kustosz.alerts.channel_registry import Sender, sender_factory
from kustosz.alerts.messages import Message, chat_text
from kustosz.atrest.sealing import SecretBox
from kustosz.config import EmailChannel, SyslogChannel, WebhookChannel
from kustosz.logs import keep_out_of_logs
from kustosz.vault_handle import VaultHandle

REASONS_PL = {
    "auth": "serwer pocztowy odrzucił logowanie",
    "no_auth": "serwer pocztowy nie oferuje logowania (AUTH) — usuń użytkownika i hasło albo "
               "włącz STARTTLS (wiele serwerów oferuje logowanie dopiero po nim)",
    "auth_plain": "serwer pocztowy nie oferuje logowania AUTH PLAIN, potrzebnego dla hasła z "
                  "polskimi literami — zmień hasło na takie bez polskich liter",
    "password_file": "nie można odczytać pliku z hasłem wskazanego w kustosz.toml albo nie "
                     "należy on do root ani do konta usługi, albo mogą go czytać inni",
    "password_reenter": "hasło do serwera pocztowego trzeba wpisać ponownie na stronie "
                        "„Powiadomienia o alarmach” (wcześniej wskazano tam plik z hasłem, "
                        "a plik może wskazać tylko kustosz.toml)",
    "password": "nie można odczytać zapisanego hasła do serwera pocztowego",
    "refused": "serwer odrzucił wiadomość",
    "unreachable": "serwer jest nieosiągalny",
    "tls": "nie udało się nawiązać szyfrowanego połączenia",
    "http": "adres webhooka odpowiedział błędem",
    "http_auth": "adres webhooka odmówił dostępu (401/403): sprawdź użytkownika, hasło albo "
                 "token w adresie",
    "bad_url": "adres webhooka jest nieprawidłowy: popraw go na stronie „Powiadomienia o "
               "alarmach” albo w kustosz.toml",
    "webhook_url": "nie można użyć zapisanego adresu webhooka: wpisz go ponownie na stronie "
                   "„Powiadomienia o alarmach”",
    "redirect": "adres webhooka odpowiedział przekierowaniem (3xx), którego Kustosz nie "
                "wykonuje: wpisz adres docelowy",
    "webhook_local": "adres webhooka prowadzi do tego komputera (loopback) albo do adresu "
                     "łącza lokalnego (169.254.…, fe80::…): Kustosz nie wysyła tam alarmów, "
                     "chyba że kustosz.toml na to pozwala ([alerts] webhook_local = true)",
    "address": "serwer pocztowy nie przyjmie adresu nadawcy albo odbiorcy (np. polskie "
               "litery w adresie)",
    "push_unreachable": "usługa powiadomień przeglądarki (Web Push) jest nieosiągalna z "
                        "serwera Kustosza — potrzebny jest dostęp do internetu (np. "
                        "fcm.googleapis.com, updates.push.services.mozilla.com); strony otwarte "
                        "w przeglądarce pokazują alarmy i bez niej",
    "push_refused": "usługa powiadomień przeglądarki (Web Push) odrzuciła wiadomość",
    "push_no_devices": "żadne urządzenie nie włączyło powiadomień o alarmach (przycisk na "
                       "pulpicie osoby dyżurnej)",
    "push_no_database": "powiadomienia w przeglądarce wymagają bazy danych (urządzeń i "
                        "uprawnień ich użytkowników)",
    "error": "nieoczekiwany błąd — szczegóły w dzienniku usługi (journalctl -u kustosz)",
}

PASSWORD_WHAT = "alerts.email_password"  # the sealed value's associated data
WEBHOOK_WHAT = "alerts.webhook_url"  # the webhook's address may carry a token or user:pass


class ChannelError(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def read_password(path: Path) -> str:
    """The relay's password: the first line of a regular file that kustosz.toml names, owned
    by root or the service's account and readable by no one else (0600/0400). The owner rule
    keeps a file some other account planted, or may rewrite, from being sent to the relay."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
        with open(fd, "rb", closefd=True) as f:
            st = os.fstat(f.fileno())  # of what was opened, not of a name that may change
            if not stat.S_ISREG(st.st_mode):
                raise ChannelError("password_file", f"the password file {path} is not a "
                                   "regular file")
            if st.st_uid not in (0, os.geteuid()):
                raise ChannelError("password_file", f"the password file {path} belongs to "
                                   f"uid {st.st_uid}, neither root nor the service; chown it")
            if stat.S_IMODE(st.st_mode) & 0o077:
                raise ChannelError("password_file", f"the password file {path} is readable "
                                   f"by others (mode {stat.S_IMODE(st.st_mode):o}); chmod 600 "
                                   "it")
            lines = f.read(64 * 1024).decode("utf-8").splitlines()
    except OSError as exc:
        raise ChannelError("password_file", f"cannot read the password file {path}: "
                           f"{exc.strerror}") from None
    except UnicodeError:
        raise ChannelError("password_file", f"the password file {path} is not UTF-8") from None
    if not lines or not lines[0]:
        raise ChannelError("password_file", f"the password file {path} is empty")
    keep_out_of_logs(lines[0])
    return lines[0]


def _login(smtp: smtplib.SMTP, user: str, password: str) -> None:
    """smtplib encodes AUTH as ASCII, so a password with Polish letters would never get
    through; AUTH PLAIN is UTF-8 by its RFC (4616), sent here by hand for such a one."""
    if (user + password).isascii():
        smtp.login(user, password)
        return
    smtp.ehlo_or_helo_if_needed()
    if "PLAIN" not in smtp.esmtp_features.get("auth", "").upper().split():
        raise smtplib.SMTPNotSupportedError("the relay offers no AUTH PLAIN, and the password "
                                            "has non-ASCII characters")
    token = base64.b64encode(f"\0{user}\0{password}".encode()).decode("ascii")
    code, answer = smtp.docmd("AUTH", "PLAIN " + token)
    if code == 334:  # a server that wants the response after an empty challenge
        code, answer = smtp.docmd(token)
    if code not in (235, 503):
        raise smtplib.SMTPAuthenticationError(code, answer)


class Email:
    name = "email"

    def __init__(self, cfg: EmailChannel, timeout_s: float = 10.0,
                 secrets: SecretBox | None = None) -> None:
        self.cfg, self.timeout_s, self.secrets = cfg, timeout_s, secrets

    def _password(self) -> str | None:
        cfg = self.cfg
        if cfg.user and "password_file" in cfg.dropped and not cfg.password_sealed:
            raise ChannelError("password_reenter", "the relay's password file was named on "
                               "the web page, which only kustosz.toml may do now; the "
                               "password must be typed on the page again")
        if cfg.password_file:
            return read_password(cfg.password_file)
        if cfg.password_sealed:  # typed in the web, sealed with the vault's secrets key
            if self.secrets is None:
                raise ChannelError("password", "the relay's stored password cannot be "
                                   "opened: the vault's secrets key is not loaded")
            try:
                return str(self.secrets.open(cfg.password_sealed, PASSWORD_WHAT))
            except Exception as exc:
                raise ChannelError("password", "the relay's stored password cannot be "
                                   f"opened: {type(exc).__name__}") from None
        return None

    def addressed(self, to: tuple[str, ...] | None = None) -> str:
        return ", ".join(to or self.cfg.to)

    def send(self, msg: Message, to: tuple[str, ...] | None = None) -> None:
        cfg = self.cfg
        to = to or cfg.to
        password = self._password()
        mail = EmailMessage()
        mail["Subject"], mail["From"], mail["To"] = msg.subject, cfg.sender, ", ".join(to)
        mail["Date"] = email.utils.formatdate(localtime=False)
        mail["Message-ID"] = email.utils.make_msgid(domain=cfg.sender.rpartition("@")[2])
        mail["Auto-Submitted"] = "auto-generated"
        mail.set_content(msg.body)
        where = f"{cfg.host}:{cfg.port}"
        try:
            context = ssl.create_default_context(
                cafile=str(cfg.ca_file) if cfg.ca_file else None, cadata=cfg.ca_pem or None)
            smtp = (smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=self.timeout_s, context=context)
                    if cfg.tls else smtplib.SMTP(cfg.host, cfg.port, timeout=self.timeout_s))
            with smtp:
                if cfg.starttls:
                    smtp.starttls(context=context)
                if cfg.user and password is not None:
                    smtp.ehlo_or_helo_if_needed()
                    if not smtp.has_extn("auth"):  # not a refusal: nothing to log in to
                        raise ChannelError("no_auth", f"the relay {where} offers no login "
                                           "(AUTH)" + ("" if cfg.starttls or cfg.tls else
                                                       " without STARTTLS"))
                    _login(smtp, cfg.user, password)
                smtp.send_message(mail, cfg.sender, list(to))
        except smtplib.SMTPAuthenticationError as exc:
            raise ChannelError("auth", f"the relay {where} refused the login of user "
                               f"{cfg.user!r} ({exc.smtp_code})") from None
        except smtplib.SMTPNotSupportedError as exc:
            raise ChannelError("auth_plain", f"the relay {where}: {exc}") from None
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused,
                smtplib.SMTPDataError) as exc:
            raise ChannelError("refused", f"the relay {where} refused the message: "
                               f"{type(exc).__name__}") from None
        except ssl.SSLError as exc:
            raise ChannelError("tls", f"TLS with {where} failed: {exc.reason}") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise ChannelError("unreachable", f"the relay {where}: "
                               f"{type(exc).__name__}: {exc}") from None
        except (ValueError, UnicodeError) as exc:  # e.g. an address smtplib cannot encode
            raise ChannelError("address", f"the relay {where}: {type(exc).__name__}") from None


def resolve_checked(host: str, port: int, local_ok: bool,
                    timeout: float | None = None) -> list[tuple[Any, ...]]:
    """Every address ``host`` resolves to, refused as a whole (ChannelError "webhook_local")
    when any is local and kustosz.toml does not allow it: a name answering both a public and
    a loopback address must not win on the second try."""
    try:
        infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise ChannelError("unreachable", f"the webhook at {host}: cannot resolve: "
                           f"{getattr(exc, 'strerror', None) or exc}") from None
    if not local_ok and (host.lower() in _LOCAL_NAMES
                         or any(local_address(str(info[4][0]).split("%")[0])
                                for info in infos)):
        raise ChannelError("webhook_local", f"the webhook at {host} resolves to a loopback or "
                           "link-local address; kustosz.toml does not allow it "
                           "([alerts] webhook_local)")
    return infos


def _connector(local_ok: bool) -> Callable[..., socket.socket]:
    """http.client's socket.create_connection, connecting only to the addresses just checked
    (no second lookup a DNS server could answer differently)."""
    def connect(address: tuple[str, int], timeout: Any = socket._GLOBAL_DEFAULT_TIMEOUT,
                source_address: Any = None) -> socket.socket:
        host, port = address
        last: OSError | None = None
        for family, kind, proto, _name, where in resolve_checked(host, port, local_ok):
            sock = socket.socket(family, kind, proto)
            try:
                if timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:
                    sock.settimeout(timeout)
                sock.connect(where)
                return sock
            except OSError as exc:
                sock.close()
                last = exc
        raise last or OSError(f"no address for {host}")
    return connect


class Webhook:
    name = "webhook"

    def __init__(self, cfg: WebhookChannel, secrets: SecretBox | None = None) -> None:
        self.cfg, self.secrets = cfg, secrets
        try:
            self.host = urllib.parse.urlsplit(cfg.url).hostname or "?"
        except ValueError:  # send() names the bad address
            self.host = "?"

    def _url(self) -> str:
        if not self.cfg.url_sealed:
            return self.cfg.url
        if self.secrets is None:
            raise ChannelError("webhook_url", "the webhook's stored address cannot be opened: "
                               "the vault's secrets key is not loaded")
        try:
            return str(self.secrets.open(self.cfg.url_sealed, WEBHOOK_WHAT))
        except Exception as exc:
            raise ChannelError("webhook_url", "the webhook's stored address cannot be "
                               f"opened: {type(exc).__name__}") from None

    def addressed(self) -> str:
        """The host only: the address may carry a token (its path, query or user:pass)."""
        try:
            return urllib.parse.urlsplit(self._url()).hostname or self.host
        except (ChannelError, ValueError):
            return self.host

    def send(self, msg: Message) -> None:
        # every payload carries a text a chat's incoming webhook posts (test messages and
        # digests composed elsewhere included)
        payload = {**msg.payload, "text": msg.payload.get("text")
                   or chat_text(msg.subject, msg.body)}
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "Kustosz"}
        try:
            parts = urllib.parse.urlsplit(self._url())
            if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
                raise ValueError("not an http(s) address")
            if parts.username is not None or parts.password is not None:
                # user:pass@ in an address goes as HTTP Basic
                who = urllib.parse.unquote(parts.username or "") + ":" + \
                    urllib.parse.unquote(parts.password or "")
                keep_out_of_logs(who)
                headers["Authorization"] = "Basic " + base64.b64encode(
                    who.encode("utf-8")).decode("ascii")
            # http.client, not urllib: it follows no redirect and uses no proxy from the
            # environment, and its socket comes from _connector (addresses checked)
            conn: http.client.HTTPConnection
            if parts.scheme.lower() == "https":
                conn = http.client.HTTPSConnection(parts.hostname, parts.port,
                                                   timeout=self.cfg.timeout_s,
                                                   context=ssl.create_default_context())
            else:
                conn = http.client.HTTPConnection(parts.hostname, parts.port,
                                                  timeout=self.cfg.timeout_s)
            conn._create_connection = _connector(self.cfg.local_ok)  # type: ignore[attr-defined]
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            try:
                conn.request("POST", target, body=body, headers=headers)
                answer = conn.getresponse()
                answer.read(1024)
                status = answer.status
            finally:
                conn.close()
        except ChannelError:
            raise
        except ssl.SSLError as exc:
            raise ChannelError("tls", f"TLS with the webhook at {self.host} failed: "
                               f"{exc.reason}") from None
        except (http.client.InvalidURL, ValueError):
            raise ChannelError("bad_url", f"the webhook's address (host {self.host}) is "
                               "not a valid URL") from None
        except (OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            raise ChannelError("unreachable", f"the webhook at {self.host}: "
                               f"{type(exc).__name__}: {reason}") from None
        except Exception as exc:  # never a bare "unexpected error" without a reason
            raise ChannelError("unreachable", f"the webhook at {self.host}: "
                               f"{type(exc).__name__}") from None
        if 300 <= status < 400:
            raise ChannelError("redirect", f"the webhook at {self.host} answered {status} (a "
                               "redirect, not followed)")
        if status >= 400 or status < 200:
            reason = "http_auth" if status in (401, 403) else "http"
            raise ChannelError(reason, f"the webhook at {self.host} answered {status}")


_SEVERITY = {"error": 3, "warning": 4, "notice": 5}
FACILITY = 3  # daemon


def _sd(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def syslog_line(msg: Message, hostname: str | None = None) -> bytes:
    """One RFC 5424 message: structured data with the kind, event and source, then the
    subject as the (UTF-8, BOM-marked) message."""
    p = msg.payload
    stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    host = (hostname or socket.gethostname() or "-").split(".")[0][:255]
    # .get: a test message or a digest has no source nor alert
    sd = (f'[kustosz@32473 kind="{_sd(p.get("kind", ""))}" event="{_sd(p.get("event", ""))}" '
          f'source="{_sd(p.get("source") or "")}" alert="{_sd(p.get("alert_id") or "")}"]')
    head = f"<{FACILITY * 8 + _SEVERITY[msg.severity]}>1 {stamp} {host} kustosz - alert {sd} "
    return head.encode("utf-8") + b"\xef\xbb\xbf" + msg.subject.encode("utf-8")


class Syslog:
    name = "syslog"

    def __init__(self, cfg: SyslogChannel) -> None:
        self.cfg = cfg

    def addressed(self) -> str:
        return f"{self.cfg.host}:{self.cfg.port}"

    def send(self, msg: Message) -> None:
        try:
            family = socket.getaddrinfo(self.cfg.host, self.cfg.port, type=socket.SOCK_DGRAM)[0]
            with socket.socket(family[0], socket.SOCK_DGRAM) as sock:
                sock.sendto(syslog_line(msg), family[4])
        except (OSError, UnicodeError) as exc:  # UnicodeError: a host name IDNA refuses
            raise ChannelError("unreachable", f"syslog {self.cfg.host}:{self.cfg.port}: "
                               f"{getattr(exc, 'strerror', None) or exc}") from None


def email_sender(cfg: EmailChannel, secrets: SecretBox | None = None) -> Email:
    return Email(cfg, secrets=secrets)


def webhook_sender(cfg: WebhookChannel, secrets: SecretBox | None = None) -> Webhook:
    return Webhook(cfg, secrets=secrets)


def syslog_sender(cfg: SyslogChannel, secrets: SecretBox | None = None) -> Syslog:
    return Syslog(cfg)


def build(channels: dict[str, object], secrets: SecretBox | None = None,
          vault: VaultHandle | None = None) -> dict[str, Sender]:
    """Each channel set, through its registered kind's sender (kustosz.alert_channels);
    ``secrets``: the vault's SecretBox, for a relay password or webhook typed in the web;
    ``vault``: given to a sender that reads the vault (`attach`: Web Push's devices)."""
    senders = {name: sender_factory(CHANNELS[name])(cfg, secrets)
               for name, cfg in channels.items() if name in CHANNELS}
    for sender in senders.values():
        attach = getattr(sender, "attach", None)
        if attach is not None and vault is not None:
            attach(vault)
    return senders
