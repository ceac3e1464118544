"""Settings of a mailbox (journal) source and its registration.

Keeping full messages is off by default (R1.9, Kodeks pracy art. 22³ §2: monitoring must not
breach the secrecy of correspondence). Turning it on needs a recorded legal basis, and is
audited; even then a message the rules mark private keeps metadata only.

A source either listens for SMTP (``listen``) or pulls from an IMAP journal mailbox
(``imap_host``), never both. The IMAP password is kept with the other settings sealed with the
vault's key (as the RTSP passwords of cameras are; `stored` seals it, `opened` gives it back
to the poller), and `redacted` replaces it wherever settings are shown or audited.
"""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.atrest.sealing import IMAP_PASSWORD, SecretBox, is_sealed, secrets_of
from kustosz.audit import append as audit
from kustosz.config_schema.sources import stored
from kustosz.db.models import Source
from kustosz.errors import ConfigError, InputError, KustoszError
from kustosz.index.sources import add_source, get_source
from kustosz.ingest.chunks.spool import GRANULARITIES
from kustosz.ingest.net import parse_listen, parse_networks, server_tls
from kustosz.kinds import SourceKind, kind_of
from kustosz.policy import Policy
from kustosz.words import plural

DEFAULT_PRIVATE_KEYWORDS = ["prywatne", "prywatna", "prywatny", "private", "personal"]
DEFAULT_MAX_BYTES = 64 << 20  # journal copies carry attachments; 50 MB mail exists
IMAP_TLS_MODES = ("imaps", "starttls", "none")
IMAP_DEFAULT_PORTS = {"imaps": 993, "starttls": 143, "none": 143}
DEFAULT_POLL_S = 60
MAX_POLL_S = 24 * 3600
REDACTED = "***"
SECRETS = ("imap_password",)
# The SMTP listener's own settings: meaningless for a source that pulls from IMAP.
SMTP_ONLY = {"allow_senders": "--allow-sender", "tls_cert": "--tls-cert",
             "tls_key": "--tls-key", "require_tls": "--require-tls", "hostname": "hostname"}
IMAP_ONLY = {"imap_port": "--imap-port", "imap_tls": "--imap-tls",
             "imap_ca_file": "--imap-ca-file", "imap_user": "--imap-user",
             "imap_password": "--imap-password-file", "imap_folder": "--imap-folder",
             "imap_poll_seconds": "--imap-poll-seconds",
             "imap_keep_on_server": "--keep-on-server", "imap_move_to": "--imap-move-to"}


@dataclass
class MailSettings:
    # what `of` refuses: keys not declared here (kustosz.config_schema.sources)
    __pydantic_config__ = ConfigDict(extra="forbid")

    listen: str = "127.0.0.1:2525"
    hostname: str = ""  # name in the SMTP greeting; empty: this machine's name
    allow_hosts: list[str] = field(default_factory=lambda: ["127.0.0.1", "::1"])
    allow_senders: list[str] = field(default_factory=list)  # a@b or @domain; empty: any
    office_domains: list[str] = field(default_factory=list)
    keep_bodies: bool = False
    bodies_legal_basis: str = ""
    private_external: bool = True  # a recipient outside office_domains makes it private
    private_keywords: list[str] = field(default_factory=lambda: list(DEFAULT_PRIVATE_KEYWORDS))
    max_message_bytes: int = DEFAULT_MAX_BYTES
    tls_cert: str = ""
    tls_key: str = ""
    require_tls: bool = False
    chunk: str = "hour"
    # IMAP pull mode (imap_host set): the journal mailbox the mail server delivers to.
    imap_host: str = ""
    imap_port: int = 0  # 0: the usual port of imap_tls (993 or 143)
    imap_tls: str = "imaps"  # imaps | starttls | none
    imap_ca_file: str = ""  # a private CA's certificate; empty: the system's trust store
    imap_user: str = ""
    imap_password: str = ""  # a secret: shown and audited only as REDACTED
    imap_folder: str = "INBOX"
    imap_poll_seconds: float = DEFAULT_POLL_S
    imap_keep_on_server: bool = False  # default: taken messages are deleted from the mailbox
    imap_move_to: str = ""  # with imap_keep_on_server: move there; empty: mark \Seen

    @classmethod
    def of(cls, raw: dict[str, Any]) -> MailSettings:
        """Stored settings read back: an unknown key or a wrong type is refused, never
        dropped (kustosz.config_schema.sources)."""
        return stored(cls, raw, "mailbox settings")

    @property
    def mode(self) -> str:
        return "imap" if self.imap_host else "smtp"

    def check(self) -> None:
        if self._check_common():
            self._check_imap()
        else:
            self._check_smtp()

    def _check_common(self) -> bool:
        """Checks of both modes; True in IMAP mode."""
        if self.keep_bodies and not self.bodies_legal_basis.strip():
            raise ConfigError("keeping full messages needs a recorded legal basis "
                              "(--legal-basis); by default only metadata is kept (R1.9)",
                              pl="Przechowywanie pełnej treści wiadomości wymaga wpisania "
                                 "podstawy prawnej (--legal-basis); domyślnie przechowywane są "
                                 "tylko metadane (R1.9).")
        if self.max_message_bytes < 1024:
            raise ConfigError("--max-message-bytes must be at least 1024",
                              pl="Wartość --max-message-bytes musi wynosić co najmniej 1024.")
        if self.chunk not in GRANULARITIES:
            raise ConfigError(f"--chunk must be one of {', '.join(GRANULARITIES)}",
                              pl=f"Wartość --chunk musi być jedną z: {', '.join(GRANULARITIES)}.")
        self.office_domains = [d.lower().lstrip("@") for d in self.office_domains]
        return bool(self.imap_host)

    def _check_imap(self) -> None:
        given = [option for name, option in SMTP_ONLY.items() if getattr(self, name)]
        if given:
            raise contradiction(given)
        # Cleared rather than refused: they have defaults, and a status that shows a listen
        # address for a source that listens nowhere would mislead whoever reads it.
        self.listen, self.allow_hosts = "", []
        host = self.imap_host.strip()
        if not host or any(c.isspace() or c in "/@" for c in host):
            raise ConfigError(f"--imap-host {self.imap_host!r} must be a host name or address",
                              pl=f"Wartość --imap-host „{self.imap_host}” musi być nazwą hosta "
                                 "albo adresem.")
        self.imap_host = host
        if self.imap_tls not in IMAP_TLS_MODES:
            raise ConfigError(f"--imap-tls must be one of {', '.join(IMAP_TLS_MODES)}",
                              pl="Wartość --imap-tls musi być jedną z: "
                                 f"{', '.join(IMAP_TLS_MODES)}.")
        if not self.imap_port:
            self.imap_port = IMAP_DEFAULT_PORTS[self.imap_tls]
        if not isinstance(self.imap_port, int) or not 1 <= self.imap_port <= 65535:
            raise ConfigError(f"--imap-port {self.imap_port!r} must be between 1 and 65535",
                              pl=f"Port --imap-port „{self.imap_port}” musi mieścić się w "
                                 "zakresie od 1 do 65535.")
        if not self.imap_user.strip():
            raise ConfigError("an IMAP journal mailbox needs --imap-user",
                              pl="Skrzynka IMAP dziennika poczty wymaga nazwy użytkownika "
                                 "(--imap-user).")
        if not self.imap_password:
            raise ConfigError("an IMAP journal mailbox needs a password "
                              "(--imap-password-file or --imap-password-env)",
                              pl="Skrzynka IMAP dziennika poczty wymaga hasła "
                                 "(--imap-password-file albo --imap-password-env).")
        if not self.imap_folder.strip():
            raise ConfigError("--imap-folder must name a folder (default INBOX)",
                              pl="Opcja --imap-folder musi wskazywać folder (domyślnie INBOX).")
        if not 1 <= float(self.imap_poll_seconds) <= MAX_POLL_S:
            raise ConfigError(f"--imap-poll-seconds must be between 1 and {MAX_POLL_S}",
                              pl="Wartość --imap-poll-seconds musi mieścić się w zakresie od 1 "
                                 f"do {MAX_POLL_S}.")
        if self.imap_move_to and not self.imap_keep_on_server:
            raise ConfigError("--imap-move-to needs --keep-on-server (by default taken "
                              "messages are deleted from the journal mailbox)",
                              pl="Opcja --imap-move-to wymaga --keep-on-server (domyślnie "
                                 "pobrane wiadomości są usuwane ze skrzynki dziennika poczty).")
        if self.imap_move_to and self.imap_move_to == self.imap_folder:
            raise ConfigError("--imap-move-to must differ from --imap-folder",
                              pl="Folder --imap-move-to musi być inny niż --imap-folder.")
        if self.imap_ca_file and not Path(self.imap_ca_file).is_file():
            raise ConfigError(f"--imap-ca-file {self.imap_ca_file!r} is not a readable file",
                              pl=f"Nie można odczytać pliku --imap-ca-file „{self.imap_ca_file}” "
                                 "(nie istnieje albo nie jest plikiem).")
        if self.imap_ca_file and self.imap_tls == "none":
            raise ConfigError("--imap-ca-file needs --imap-tls imaps or starttls",
                              pl="Opcja --imap-ca-file wymaga --imap-tls imaps albo starttls.")

    def plaintext_warning(self) -> str:
        """A warning when the password and the journal would cross a network in clear."""
        if self.mode != "imap" or self.imap_tls != "none" or _loopback(self.imap_host):
            return ""
        return (f"--imap-tls none: the password and every journalled message travel to "
                f"{self.imap_host} unencrypted; use it only on the same machine")

    def _check_smtp(self) -> None:
        defaults = MailSettings()
        given = [option for name, option in IMAP_ONLY.items()
                 if getattr(self, name) != getattr(defaults, name)]
        if given:
            raise ConfigError(f"{', '.join(given)} need --imap-host (without it the source "
                              "listens for SMTP)",
                              pl=f"{plural(len(given), 'Opcja', 'Opcje', 'Opcje')} "
                                 f"{', '.join(given)} "
                                 f"{plural(len(given), 'wymaga', 'wymagają', 'wymagają')} "
                                 "--imap-host (bez niej źródło odbiera pocztę przez SMTP).")
        parse_listen(self.listen, "--listen")
        parse_networks(self.allow_hosts, "--allow-host")
        if not self.allow_hosts:
            raise ConfigError("name the mail servers allowed to deliver (--allow-host): a "
                              "journal address open to anyone would take in forged mail",
                              pl="Wskaż serwery pocztowe, które mogą dostarczać wiadomości "
                                 "(--allow-host): adres dziennika poczty otwarty dla każdego "
                                 "przyjmowałby sfałszowane wiadomości.")
        for sender in self.allow_senders:
            if "@" not in sender:
                raise ConfigError(f"--allow-sender {sender!r} must be an address or @domain",
                                  pl=f"Wartość --allow-sender „{sender}” musi być adresem e-mail "
                                     "albo @domeną.")
        if self.require_tls and not self.tls_cert:
            raise ConfigError("--require-tls needs --tls-cert",
                              pl="Opcja --require-tls wymaga --tls-cert.")
        server_tls(self.tls_cert, self.tls_key)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def redacted(self) -> dict[str, Any]:
        return redacted(self.as_dict())

    def stored(self, secrets: SecretBox) -> dict[str, Any]:
        """The settings as the database keeps them: the password sealed."""
        out = self.as_dict()
        if out["imap_password"] and not is_sealed(out["imap_password"]):
            out["imap_password"] = secrets.seal(out["imap_password"], IMAP_PASSWORD)
        return out

    def opened(self, secrets: SecretBox) -> MailSettings:
        """These settings with the password usable again (for the poller only)."""
        if self.imap_password:
            self.imap_password = secrets.open(self.imap_password, IMAP_PASSWORD)
        return self


def contradiction(options: list[str],
                  error: type[KustoszError] = ConfigError) -> KustoszError:
    """The refusal of SMTP listener options given with --imap-host, in both languages."""
    n, given = len(options), ", ".join(options)
    return error(f"{given} {'is' if n == 1 else 'are'} for the SMTP listener; a source either "
                 "pulls from an IMAP journal mailbox (--imap-host) or listens for SMTP, not "
                 "both",
                 pl=f"{plural(n, 'Opcja', 'Opcje', 'Opcje')} {given} "
                    f"{plural(n, 'dotyczy', 'dotyczą', 'dotyczą')} odbioru poczty przez SMTP; "
                    "źródło albo pobiera wiadomości ze skrzynki IMAP dziennika poczty "
                    "(--imap-host), albo odbiera je przez SMTP — nie jedno i drugie naraz.")


def redacted(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings as they may be shown, logged or audited: secrets replaced by REDACTED."""
    return {k: (REDACTED if v else "") if k in SECRETS else v for k, v in settings.items()}


def _loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def add_mail_source(session: Session, policy: Policy, name: str, actor: str,
                    settings: MailSettings, retention: str | None = None) -> Source:
    settings.check()
    source = add_source(session, policy, name, "mailbox", actor, retention=retention,
                        settings=settings.stored(secrets_of(session)))
    audit(session, actor, "mailbox.configure", name, settings.redacted())
    return source


def set_imap_password(session: Session, name: str, actor: str, password: str) -> None:
    """Replace the IMAP journal mailbox's password (audited without it); a running poller
    uses the new one from its next start."""
    source = mail_source(session, name)
    settings = MailSettings.of(source.settings)
    if settings.mode != "imap":
        raise InputError(f"mailbox {name!r} listens for SMTP; it has no IMAP password",
                         pl=f"Dziennik poczty „{name}” odbiera wiadomości przez SMTP; nie ma "
                            "hasła IMAP.")
    settings.imap_password = password
    settings.check()
    source.settings = settings.stored(secrets_of(session))
    audit(session, actor, "mailbox.imap_password", name, {"imap_password": REDACTED})


def set_bodies(session: Session, name: str, actor: str, keep: bool, legal_basis: str) -> None:
    """Turn keeping of full messages on (with its legal basis) or off; audited either way."""
    source = mail_source(session, name)
    settings = MailSettings.of(source.settings)
    settings.keep_bodies, settings.bodies_legal_basis = keep, legal_basis if keep else ""
    settings.check()
    source.settings = settings.as_dict()
    audit(session, actor, "mailbox.bodies", name, {"keep_bodies": keep,
                                                    "legal_basis": legal_basis})


def mail_source(session: Session, name: str) -> Source:
    source = get_source(session, name)
    if source.kind != SourceKind.MAILBOX:
        raise InputError(f"source {name!r} is a {source.kind} source, not a mailbox",
                         pl=f"Źródło „{name}” nie jest dziennikiem poczty (rodzaj źródła: "
                            f"{kind_of(source.kind).label_pl}).")
    return source


def mail_sources(session: Session) -> list[Source]:
    return list(session.execute(select(Source).where(Source.kind == SourceKind.MAILBOX)
                                .order_by(Source.name)).scalars())
