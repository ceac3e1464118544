"""What a phone source (linia telefoniczna / centrala) knows about its PBX, kept in
``Source.settings``: where the recordings and call records are, which numbers are the office's,
and the documented legal basis and purpose without which it cannot be enabled."""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field
from ipaddress import ip_network
from pathlib import Path
from typing import Any

from pydantic import ConfigDict

from kustosz.config_schema.sources import stored
from kustosz.errors import InputError
from kustosz.phone_numbers import InvalidNumber, normalize

DEFAULT_NO_CDR_WAIT_S = 600.0  # Asterisk writes the CDR line at hang-up; files close then too
DEFAULT_SETTLE_S = 2.0
DEFAULT_CDR_KEEP_H = 48.0
# Working hours for the "spool silent" alert: Mon-Fri, local time (the seeds' offices).
DEFAULT_WORKDAYS = (0, 1, 2, 3, 4)
DEFAULT_WORK_HOURS = (8, 15)
DEFAULT_SILENT_MINUTES = 120.0
INTAKE_SPOOL, INTAKE_SIPREC, INTAKE_CAPTURE = "spool", "siprec", "capture"
INTAKES = (INTAKE_SPOOL, INTAKE_SIPREC, INTAKE_CAPTURE)
# SIP over TCP and over TLS, where a capture line names no ports of its own
DEFAULT_SIP_TCP_PORTS = (5060, 5061)
MAX_SIP_TCP_PORTS = 16  # the capture process's kernel filter tests each in turn
IFNAMSIZ = 16  # the kernel's limit of an interface name, its final NUL included


@dataclass
class PhoneSettings:
    # what `of` refuses: keys not declared here (kustosz.config_schema.sources)
    __pydantic_config__ = ConfigDict(extra="forbid")

    spool: str
    cdr: str
    office_numbers: list[str] = field(default_factory=list)  # canonical forms
    extension_max_digits: int = 4
    cdr_utc: bool = False  # Asterisk's usegmtime=yes
    legal_basis: str = ""
    purpose: str = ""
    remove_after_intake: bool = False
    no_cdr_wait_s: float = DEFAULT_NO_CDR_WAIT_S
    settle_s: float = DEFAULT_SETTLE_S
    cdr_keep_h: float = DEFAULT_CDR_KEEP_H
    workdays: list[int] = field(default_factory=lambda: list(DEFAULT_WORKDAYS))
    work_hours: list[int] = field(default_factory=lambda: list(DEFAULT_WORK_HOURS))
    silent_minutes: float = DEFAULT_SILENT_MINUTES
    # Key of the hashes that name spool files in phone_spool_items (never the path in clear).
    item_key: str = field(default_factory=lambda: secrets.token_hex(16))
    # How the line's calls come in (issue 35): "spool" (the PBX records, Kustosz takes its
    # files), "siprec" (Kustosz records: the SBC's recording sessions from these addresses) or
    # "capture" (Kustosz records: SIP and RTP read off a mirrored switch port, `capture`).
    intake: str = "spool"
    siprec_from: list[str] = field(default_factory=list)  # networks (CIDR)
    capture: str = ""  # the network interface the mirrored port is on (capture lines)
    # TCP ports the line's SIP is signalled on, read off that port (capture lines; UDP is
    # read on any port)
    sip_tcp_ports: list[int] = field(default_factory=lambda: list(DEFAULT_SIP_TCP_PORTS))

    @property
    def spool_path(self) -> Path:
        return Path(self.spool)

    @property
    def cdr_path(self) -> Path:
        return Path(self.cdr)

    def as_settings(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def of(cls, settings: dict[str, Any]) -> PhoneSettings:
        """Stored settings read back: an unknown key or a wrong type is refused, never
        dropped (kustosz.config_schema.sources)."""
        return stored(cls, settings, "phone line settings")

    @property
    def by_siprec(self) -> bool:
        return self.intake == INTAKE_SIPREC

    @property
    def by_capture(self) -> bool:
        return self.intake == INTAKE_CAPTURE

    @property
    def recorded_by_kustosz(self) -> bool:
        """The line's calls are recorded by Kustosz itself (no PBX spool to take in)."""
        return self.intake in (INTAKE_SIPREC, INTAKE_CAPTURE)

    def documented(self) -> bool:
        return bool(self.legal_basis.strip()) and bool(self.purpose.strip())


def office_numbers(raw: list[str], extension_max_digits: int) -> list[str]:
    """The office's own numbers (DIDs, long extensions) in canonical form."""
    out = []
    for value in raw:
        try:
            canonical = normalize(value, internal_max_digits=extension_max_digits)
        except InvalidNumber as exc:
            raise InputError(f"office number {value!r}: {exc}",
                             pl=f"Numer urzędu „{value}”: {exc.pl or exc}.") from None
        if not canonical:
            raise InputError(f"office number {value!r} is empty or 'unknown'",
                             pl=f"Numer urzędu „{value}” jest pusty albo nieznany („unknown”).")
        out.append(canonical)
    return sorted(set(out))


def make_settings(spool: Path, cdr: Path, numbers: list[str], *, extension_max_digits: int = 4,
                  cdr_utc: bool = False, legal_basis: str = "", purpose: str = "",
                  remove_after_intake: bool = False,
                  no_cdr_wait_s: float = DEFAULT_NO_CDR_WAIT_S) -> PhoneSettings:
    """Check what an administrator typed and build the settings; InputError names the fault."""
    if not spool.is_dir():
        raise InputError(f"recording spool {str(spool)!r} is not a directory",
                         pl=f"Katalog nagrań „{spool}” nie istnieje albo nie jest katalogiem.")
    if spool.is_symlink():
        raise InputError(f"recording spool {str(spool)!r} is a symbolic link; give the real "
                         "directory",
                         pl=f"Katalog nagrań „{spool}” jest dowiązaniem symbolicznym; podaj "
                            "rzeczywisty katalog.")
    # Master.csv appears with the first call, but a mistyped folder would never match a call.
    if not cdr.parent.is_dir():
        raise InputError(f"the folder of the call records {str(cdr.parent)!r} does not exist",
                         pl=f"Katalog rejestru połączeń „{cdr.parent}” nie istnieje.")
    if cdr.exists() and not cdr.is_file():
        raise InputError(f"call records {str(cdr)!r} is not a file",
                         pl=f"Rejestr połączeń „{cdr}” nie jest plikiem.")
    if not 1 <= extension_max_digits <= 8:
        raise InputError("extension digits must be between 1 and 8",
                         pl="Numer wewnętrzny może mieć od 1 do 8 cyfr (--extension-digits).")
    if no_cdr_wait_s < 0:
        raise InputError("the wait for a missing call record cannot be negative",
                         pl="Czas oczekiwania na brakujący wpis rejestru połączeń nie może być "
                            "ujemny.")
    return PhoneSettings(
        spool=str(spool.resolve()), cdr=str(cdr.resolve()),
        office_numbers=office_numbers(numbers, extension_max_digits),
        extension_max_digits=extension_max_digits, cdr_utc=cdr_utc,
        legal_basis=legal_basis.strip(), purpose=purpose.strip(),
        remove_after_intake=remove_after_intake, no_cdr_wait_s=no_cdr_wait_s)


def siprec_networks(raw: list[str]) -> list[str]:
    """The SRC addresses (or networks) a SIPREC line takes recording sessions from."""
    out = []
    for value in raw:
        try:
            out.append(str(ip_network(value.strip(), strict=False)))
        except ValueError:
            raise InputError(f"{value!r} is not an address or network of an SBC "
                             "(e.g. 192.168.10.2 or 192.168.10.0/28)",
                             pl=f"„{value}” nie jest adresem ani siecią SBC (np. 192.168.10.2 "
                                "albo 192.168.10.0/28).") from None
    if not out:
        raise InputError("name the SBC or PBX that sends the recording sessions "
                         "(--from ADDRESS, repeatable)",
                         pl="Wskaż SBC albo centralę, która przesyła sesje nagrywania (--from "
                            "ADRES, opcję można powtórzyć).")
    if any(ip_network(n).num_addresses > 65536 for n in out):
        raise InputError("a network wider than /16 is not one SBC: name the SBC's own "
                         "addresses",
                         pl="Sieć szersza niż /16 to nie jeden SBC: podaj własne adresy SBC.")
    return sorted(set(out))


def make_siprec_settings(sources: list[str], numbers: list[str], *,
                         extension_max_digits: int = 4, legal_basis: str = "",
                         purpose: str = "") -> PhoneSettings:
    """A line whose calls Kustosz records itself, from the SBC's recording sessions."""
    if not 1 <= extension_max_digits <= 8:
        raise InputError("extension digits must be between 1 and 8",
                         pl="Numer wewnętrzny może mieć od 1 do 8 cyfr (--extension-digits).")
    return PhoneSettings(
        spool="", cdr="", office_numbers=office_numbers(numbers, extension_max_digits),
        extension_max_digits=extension_max_digits, legal_basis=legal_basis.strip(),
        purpose=purpose.strip(), intake=INTAKE_SIPREC, siprec_from=siprec_networks(sources))


def interface_name(raw: str) -> str:
    """A network interface's name as the kernel takes it (the mirrored port's); InputError
    names what is wrong with it."""
    name = raw.strip()
    if not name:
        raise InputError("name the network interface the mirrored switch port is connected "
                         "to (--interface, e.g. eth1)",
                         pl="Wskaż interfejs sieciowy, do którego podłączony jest port lustrzany "
                            "przełącznika (--interface, np. eth1).")
    if len(name.encode()) >= IFNAMSIZ or any(ch in name for ch in "/:") or \
            any(ch.isspace() or not ch.isprintable() for ch in name) or name in (".", ".."):
        raise InputError(f"{raw!r} is not a network interface name (at most 15 characters, "
                         "no spaces, '/' or ':'; e.g. eth1 or enp3s0)",
                         pl=f"„{raw}” nie jest nazwą interfejsu sieciowego (najwyżej 15 znaków, "
                            "bez spacji, „/” i „:”; np. eth1 albo enp3s0).")
    return name


def sip_tcp_ports(raw: list[int] | None) -> list[int]:
    """The TCP ports a capture line's SIP is followed on: the defaults (5060, 5061) when none
    are named; each a port number, at most `MAX_SIP_TCP_PORTS`."""
    if not raw:
        return list(DEFAULT_SIP_TCP_PORTS)
    ports = sorted(set(raw))
    bad = [p for p in ports if isinstance(p, bool) or not isinstance(p, int)
           or not 1 <= p <= 65535]
    if bad:
        raise InputError(f"SIP TCP port {bad[0]!r} is not a port number (1-65535)",
                         pl=f"Port TCP sygnalizacji SIP „{bad[0]}” nie jest numerem portu "
                            "(1–65535).")
    if len(ports) > MAX_SIP_TCP_PORTS:
        raise InputError(f"at most {MAX_SIP_TCP_PORTS} SIP TCP ports may be named, not "
                         f"{len(ports)}",
                         pl=f"Można podać najwyżej {MAX_SIP_TCP_PORTS} portów TCP sygnalizacji "
                            f"SIP, a podano {len(ports)}.")
    return ports


def make_capture_settings(interface: str, numbers: list[str], *,
                          extension_max_digits: int = 4, legal_basis: str = "",
                          purpose: str = "", tcp_ports: list[int] | None = None
                          ) -> PhoneSettings:
    """A line whose calls Kustosz records itself, read off a mirrored switch port."""
    if not 1 <= extension_max_digits <= 8:
        raise InputError("extension digits must be between 1 and 8",
                         pl="Numer wewnętrzny może mieć od 1 do 8 cyfr (--extension-digits).")
    canonical = office_numbers(numbers, extension_max_digits)
    if not canonical:
        # the wire says only numbers: without the office's own, no call could be told
        # incoming from outgoing, and the scope could not be applied before writing
        raise InputError("give the office's own numbers (--office-number, repeatable): a "
                         "call read off the wire is told incoming or outgoing by them",
                         pl="Podaj własne numery urzędu (--office-number, opcję można "
                            "powtórzyć): po nich rozpoznaje się, czy połączenie odczytane z "
                            "sieci jest przychodzące, czy wychodzące.")
    return PhoneSettings(
        spool="", cdr="", office_numbers=canonical,
        extension_max_digits=extension_max_digits, legal_basis=legal_basis.strip(),
        purpose=purpose.strip(), intake=INTAKE_CAPTURE, capture=interface_name(interface),
        sip_tcp_ports=sip_tcp_ports(tcp_ports))
