"""A real IMAP server for the journal-mailbox tests: Debian's Dovecot, started with its own
configuration in a temporary folder (own ports on 127.0.0.1, passwd-file users, maildirs,
a self-signed certificate for imaps and STARTTLS), never the system's dovecot service."""

from __future__ import annotations

import datetime as dt
import imaplib
import ipaddress
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

DOVECOT = shutil.which("dovecot") or next(
    (p for p in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if os.access(p, os.X_OK)),
    None)
PASSWORD = "Tajne-hasło!7 journal"  # non-ASCII on purpose: AUTHENTICATE PLAIN, not LOGIN
USERS = 100


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "imap.crt", folder / "imap.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


class Dovecot:
    """One private Dovecot: `imap_port` (plain, offers STARTTLS) and `imaps_port`."""

    def __init__(self) -> None:
        assert DOVECOT
        # Not pytest's tmp_path: its folders are 0700, and as root Dovecot reads the mail
        # as an unprivileged user (it refuses UID 0), which must be able to walk the path.
        self.root = Path(tempfile.mkdtemp(prefix="kustosz-dovecot-"))
        self.root.chmod(0o755)
        self.imap_port, self.imaps_port = free_port(), free_port()
        self.cert, self.key = self_signed(self.root)
        self.passwd = self.root / "passwd"
        # All users up front: Dovecot looks at a changed passwd-file at most once a second,
        # so a user added while it runs may stay unknown for that second.
        self.users = [f"dziennik{uuid.uuid4().hex[:8]}" for _ in range(USERS)]
        self.passwd.write_text("".join(f"{u}:{{PLAIN}}{PASSWORD}\n" for u in self.users),
                               encoding="utf-8")
        self.log = self.root / "dovecot.log"
        self.conf = self.root / "dovecot.conf"
        for sub in ("run", "state", "mail"):
            (self.root / sub).mkdir()
        self.conf.write_text(self._config())
        self.proc: subprocess.Popen[bytes] | None = None

    def _config(self) -> str:
        r = self.root
        if os.geteuid() == 0:
            os.chown(r / "mail", pwd.getpwnam("nobody").pw_uid, pwd.getpwnam("nobody").pw_gid)
            users = ("default_login_user = dovenull\ndefault_internal_user = dovecot\n")
            mail_user = "uid=nobody gid=" + _group_of("nobody")
            groups = ""
        else:  # everything as this user; the sockets Debian gives the dovecot group too
            me = pwd.getpwuid(os.geteuid()).pw_name
            users = f"default_login_user = {me}\ndefault_internal_user = {me}\n"
            mail_user = f"uid={os.geteuid()} gid={os.getegid()}"
            groups = "".join(
                f"service {svc} {{\n  unix_listener {sock} {{\n    group =\n  }}\n}}\n"
                for svc, sock in (("stats", "stats-writer"), ("imap-hibernate",
                                                              "imap-hibernate"),
                                  ("dict", "dict"), ("dict-async", "dict-async")))
        return f"""# Kustosz test instance: nothing here touches the system's dovecot.
protocols = imap
listen = 127.0.0.1
base_dir = {r}/run
state_dir = {r}/state
instance_name = kustosz-test-{uuid.uuid4().hex[:8]}
log_path = {self.log}
info_log_path = {self.log}
{users}
ssl = yes
ssl_cert = <{self.cert}
ssl_key = <{self.key}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:{r}/mail/%n
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.passwd}
}}
userdb {{
  driver = static
  args = {mail_user} home={r}/mail/%n
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.imaps_port}
    ssl = yes
  }}
}}
{groups}"""

    def start(self) -> None:
        assert DOVECOT
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read() if self.proc.stderr else b""
                raise RuntimeError(f"dovecot exited: {err.decode()} {self.log_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.imap_port), timeout=1).close()
                socket.create_connection(("127.0.0.1", self.imaps_port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"dovecot did not start: {self.log_text()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        shutil.rmtree(self.root, ignore_errors=True)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    # -- users and their mail ---------------------------------------------------------------
    def add_user(self) -> str:
        """A user of its own for each test (an empty mailbox), with `PASSWORD`."""
        return self.users.pop()

    def client(self, user: str, password: str = PASSWORD) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=10)
        encoded = b"\0" + user.encode() + b"\0" + password.encode()
        client.authenticate("PLAIN", lambda _: encoded)
        return client

    def append(self, user: str, raw: bytes, folder: str = "INBOX") -> None:
        """Put a message into the mailbox the way a mail client or server does: APPEND."""
        client = self.client(user)
        try:
            if folder != "INBOX":
                client.create(folder)
            typ, data = client.append(folder, None, None, raw)
            assert typ == "OK", data
        finally:
            client.logout()

    def stored(self, user: str) -> int:
        """Messages in the user's INBOX, counted in the maildir itself (no login: after
        failed ones Dovecot delays every login from this address for seconds)."""
        box = self.root / "mail" / user
        return sum(1 for sub in ("new", "cur") if (box / sub).is_dir()
                   for _ in (box / sub).iterdir())

    def messages(self, user: str, folder: str = "INBOX") -> list[dict[str, Any]]:
        """What the folder holds: UID, flags and size of each message."""
        client = self.client(user)
        try:
            typ, _ = client.select(f'"{folder}"')
            if typ != "OK":
                return []
            typ, data = client.uid("FETCH", "1:*", "(UID FLAGS RFC822.SIZE)")
            out = []
            for item in data:
                if not item:
                    continue
                text = (item[0] if isinstance(item, tuple) else item).decode()
                if "UID " not in text or "FLAGS (" not in text:
                    # An unsolicited FETCH (a flag change by the poller working on the same
                    # mailbox at this moment) carries no UID: not an answer to this FETCH.
                    continue
                uid = text.split("UID ")[1].split()[0].rstrip(")")
                flags = text.split("FLAGS (")[1].split(")")[0].split()
                out.append({"uid": uid, "flags": flags})
            return out
        finally:
            client.logout()


def _group_of(user: str) -> str:
    import grp

    return grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name


# -- the Kustosz side ---------------------------------------------------------------------
def imap_source(vault: Any, server: Dovecot, user: str, name: str = "dziennik",
                password: str = PASSWORD, **settings: Any) -> None:
    """A mailbox source pulling from ``user``'s mailbox on the test Dovecot. By default
    plain IMAP on loopback, and one round at start only: tests poll when they choose."""
    from kustosz.ingest.mail.settings import MailSettings, add_mail_source

    base: dict[str, Any] = {"imap_host": "127.0.0.1", "imap_port": server.imap_port,
                            "imap_tls": "none", "imap_user": user, "imap_password": password,
                            "imap_poll_seconds": 3600, "office_domains": ["elblag.eu"]}
    base.update(settings)
    with vault.transaction() as s:
        add_mail_source(s, vault.policy, name, "test", MailSettings(**base))


def imap_poller(vault: Any, name: str = "dziennik") -> Any:
    from kustosz.ingest.chunks.service import Background
    from kustosz.ingest.mail.service import mail_service

    return Background(lambda: mail_service(vault, name))


def bg_poll(bg: Any) -> Any:
    """One polling round of a running poller, waited for."""
    return bg.call(bg.service.poll())


def delivered(msg: Any, envelope_from: str, journal: str = "journal@kustosz.elblag.eu"
              ) -> bytes:
    """The message as the mail server's delivery agent leaves it in the journal mailbox."""
    import email.policy

    raw = msg.as_bytes(policy=email.policy.default.clone(linesep="\r\n"))
    return (f"Return-Path: <{envelope_from}>\r\nDelivered-To: {journal}\r\n".encode() + raw)
