"""HTTPS for the web app: checking the certificate and key `kustosz serve` is given (before
anything starts), making a self-signed pair for a first start (`kustosz tls self-signed`),
and the client address behind a trusted reverse proxy (X-Forwarded-For)."""

from __future__ import annotations

import grp
import ipaddress
import os
import pwd
import stat
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kustosz.addresses import in_networks
from kustosz.errors import ConfigError, InputError

SELF_SIGNED_DAYS = 365
KEY_NAME, CERT_NAME = "kustosz.key", "kustosz.crt"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Tls:
    """A checked certificate and key for uvicorn."""

    cert: Path
    key: Path
    self_signed: bool
    not_after: datetime


def _read(path: Path, what: str, what_pl: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"the TLS {what} {path} does not exist",
                          pl=f"Nie ma pliku {what_pl} TLS {path}.") from None
    except IsADirectoryError:
        raise ConfigError(f"the TLS {what} {path} is a folder, not a file",
                          pl=f"{what_pl.capitalize()} TLS {path} jest folderem, a nie "
                             "plikiem.") from None
    except OSError as exc:
        raise ConfigError(f"the TLS {what} {path} cannot be read: {exc.strerror}",
                          pl=f"Nie można odczytać pliku {what_pl} TLS {path}.") from None


def check_tls(cert: Path, key: Path, now: datetime | None = None) -> Tls:
    """The certificate and key as uvicorn will load them, or a ConfigError naming what is
    wrong: a missing file, a key others can read, a key that is not the certificate's, a
    certificate out of its validity."""
    now = now or datetime.now(UTC)
    key_bytes = _read(key, "key", "klucza")
    mode = stat.S_IMODE(os.stat(key).st_mode)
    if mode & 0o077:
        raise ConfigError(
            f"the TLS key {key} is readable by other accounts (mode {mode:04o}); "
            f"make it the Kustosz account's alone: chmod 600 {key}",
            pl=f"Klucz TLS {key} mogą czytać inne konta (uprawnienia {mode:04o}); "
               f"ustaw je tylko dla konta Kustosza: chmod 600 {key}.")
    cert_bytes = _read(cert, "certificate", "certyfikatu")
    try:
        certificate = x509.load_pem_x509_certificate(cert_bytes)
    except ValueError:
        raise ConfigError(f"the TLS certificate {cert} is not a PEM certificate",
                          pl=f"Plik {cert} nie jest certyfikatem w formacie PEM.") from None
    try:
        private = serialization.load_pem_private_key(key_bytes, password=None)
    except TypeError:
        raise ConfigError(f"the TLS key {key} is protected by a password; Kustosz starts "
                          "unattended and needs it without one (keep it chmod 600)",
                          pl=f"Klucz TLS {key} jest chroniony hasłem; Kustosz uruchamia się "
                             "bez obsługi i potrzebuje klucza bez hasła.") from None
    except ValueError:
        raise ConfigError(f"the TLS key {key} is not a PEM private key",
                          pl=f"Plik {key} nie jest kluczem prywatnym w formacie PEM.") \
            from None
    raw = serialization.PublicFormat.SubjectPublicKeyInfo
    pem = serialization.Encoding.PEM
    if certificate.public_key().public_bytes(pem, raw) != \
            private.public_key().public_bytes(pem, raw):
        raise ConfigError(f"the TLS certificate {cert} does not match the key {key} (it was "
                          "issued for another key)",
                          pl=f"Certyfikat TLS {cert} nie pasuje do klucza {key} (wystawiono "
                             "go dla innego klucza).")
    until = certificate.not_valid_after_utc
    if until <= now:
        raise ConfigError(f"the TLS certificate {cert} expired on {until:%Y-%m-%d %H:%M} UTC; "
                          "renew it (kustosz tls self-signed makes a temporary one)",
                          pl=f"Certyfikat TLS {cert} wygasł {until:%d.%m.%Y}; odnów go.")
    since = certificate.not_valid_before_utc
    if since > now:
        raise ConfigError(f"the TLS certificate {cert} is valid only from "
                          f"{since:%Y-%m-%d %H:%M} UTC; check the server's clock",
                          pl=f"Certyfikat TLS {cert} jest ważny dopiero od "
                             f"{since:%d.%m.%Y}; sprawdź zegar serwera.")
    return Tls(cert, key, certificate.issuer == certificate.subject, until)


def tls_pair(cert: Path | None, key: Path | None) -> Tls | None:
    """Both or neither: one without the other is a mistake, not plain HTTP."""
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        given, missing = ("--tls-cert", "--tls-key") if cert else ("--tls-key", "--tls-cert")
        raise InputError(f"{given} needs {missing} too (HTTPS takes a certificate and its key)",
                         pl="HTTPS wymaga zarówno certyfikatu, jak i klucza.")
    return check_tls(cert, key)


def parse_owner(text: str) -> tuple[int, int]:
    """`USER[:GROUP]` for `kustosz tls self-signed --owner`: the account the service runs as
    must read the key it makes as root. Without GROUP, the user's own group."""

    user, _, group = text.partition(":")
    if os.geteuid() != 0:
        raise InputError(f"--owner {text}: only root can give files to another account; run "
                         "the command as root, or as that account without --owner",
                         pl=f"--owner {text}: tylko root może oddać pliki innemu kontu; "
                            "uruchom polecenie jako root albo jako to konto bez --owner.")
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise InputError(f"--owner {text}: there is no user {user!r} on this machine (for the "
                         "service: systemd-sysusers, see the README)",
                         pl=f"--owner {text}: na tym komputerze nie ma użytkownika „{user}” "
                            "(konto usługi tworzy systemd-sysusers, zob. README).") from None
    if not group:
        return entry.pw_uid, entry.pw_gid
    try:
        return entry.pw_uid, grp.getgrnam(group).gr_gid
    except KeyError:
        raise InputError(f"--owner {text}: there is no group {group!r} on this machine",
                         pl=f"--owner {text}: na tym komputerze nie ma grupy „{group}”."
                         ) from None


def make_self_signed(out: Path, hosts: list[str], now: datetime | None = None,
                     days: int = SELF_SIGNED_DAYS,
                     owner: tuple[int, int] | None = None) -> tuple[Path, Path]:
    """An ECDSA P-256 key (0600) and a self-signed certificate for ``hosts`` and 127.0.0.1,
    valid for ``days``; refuses to overwrite an existing pair, and writes nothing when it
    refuses. ``owner`` (uid, gid): the files, and the folder if it makes it, are given to
    that account (the service's, when run as root)."""
    now = now or datetime.now(UTC)
    key_path, cert_path = out / KEY_NAME, out / CERT_NAME
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file, not a folder; choose a folder (it is made if "
                         "missing)",
                         pl=f"--out {out} to plik, nie folder; wskaż folder (brakujący "
                            "zostanie utworzony).")
    for path in (key_path, cert_path):
        if path.exists():
            raise InputError(f"{path} exists already; remove it or choose another --out",
                             pl=f"Plik {path} już istnieje; usuń go albo wskaż inny folder "
                                "w --out.")
    names: list[x509.GeneralName] = []
    for host in dict.fromkeys([*hosts, "localhost", "127.0.0.1"]):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            try:
                names.append(x509.DNSName(host))
            except ValueError:
                raise InputError(f"{host!r} is not a host name or an IP address",
                                 pl=f"„{host}” nie jest nazwą hosta ani adresem IP.") from None
    made_folder = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise InputError(f"--out {out}: cannot make the folder ({exc.strerror})",
                         pl=f"--out {out}: nie można utworzyć folderu ({exc.strerror})."
                         ) from None
    key = ec.generate_private_key(ec.SECP256R1())
    first = hosts[0] if hosts else "localhost"
    subject = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, first),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Kustosz (self-signed, temporary)")])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    try:
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        os.chmod(key_path, 0o600)  # whatever the umask
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        if owner is not None:
            for path in (key_path, cert_path, *([out] if made_folder else [])):
                os.chown(path, *owner)
    except OSError as exc:
        for path in (key_path, cert_path):
            path.unlink(missing_ok=True)
        raise InputError(f"--out {out}: cannot write the key and certificate ({exc.strerror})",
                         pl=f"--out {out}: nie można zapisać klucza i certyfikatu "
                            f"({exc.strerror}).") from None
    return cert_path, key_path


def parse_proxies(values: list[str] | tuple[str, ...]) -> tuple[Network, ...]:
    """Trusted proxy addresses (or networks, e.g. 10.0.0.0/24)."""
    out = []
    for value in values:
        try:
            out.append(ipaddress.ip_network(str(value).strip(), strict=False))
        except ValueError:
            raise InputError(f"trusted proxy {value!r} is not an IP address or network",
                             pl=f"„{value}” nie jest adresem IP ani siecią.") from None
    return tuple(out)


def _trusted(address: str, proxies: tuple[Network, ...]) -> bool:
    return in_networks(address, proxies)


def client_address(peer: str, forwarded_for: list[str],
                   proxies: tuple[Network, ...]) -> str:
    """The client's address: the TCP peer, unless the peer is a trusted proxy — then the
    right-most X-Forwarded-For address that is not itself a trusted proxy. A header from
    any other peer is ignored (anyone can write it)."""
    if not proxies or not _trusted(peer, proxies):
        return peer
    hops = [h.strip() for line in forwarded_for for h in line.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            try:
                return str(ipaddress.ip_address(hop.strip("[]")))
            except ValueError:
                return ""  # garbage, not an address: no allow-list lets it in
    return hops[0].strip("[]") if hops else peer
