"""The IMAP journal mailbox as the poller sees it (imap-tools; blocking, so the poller calls
it from a worker thread): connect and log in, list what waits, fetch one message as raw
bytes, and — only when told, after the messages are durable in the spool — remove them.

No error text leaves this module with the password in it: every failure becomes an
`ImapFailure` whose text went through `redact`.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import ssl
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from imap_tools import BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted, MailMessage
from imap_tools.errors import ImapToolsError, MailboxLoginError
from imap_tools.utils import encode_folder

from kustosz.ingest.mail.settings import REDACTED, MailSettings

TIMEOUT_S = 60.0  # per network operation: a silent server must not stall the poller forever
_UID = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
P = ParamSpec("P")
R = TypeVar("R")


class ImapFailure(Exception):
    """``kind`` is "login" (the server refused the user or password) or "connect" (anything
    else: unreachable, TLS, a folder that does not exist, a dropped connection)."""

    def __init__(self, kind: str, text: str) -> None:
        super().__init__(text)
        self.kind, self.text = kind, text


class RawMessage(MailMessage):
    """imap-tools' message without its parse: the raw bytes go to `extract` as they came
    (parsing once, with the journal's own rules, is both cheaper and the same as SMTP)."""

    def __init__(self, fetch_data: list[Any]) -> None:
        self.raw, self._raw_uid_data, self._raw_flag_data = \
            self._get_message_data_parts(fetch_data)


def redact(text: str, secret: str) -> str:
    return text.replace(secret, REDACTED) if secret else text


class JournalMailbox:
    def __init__(self, settings: MailSettings, timeout: float = TIMEOUT_S) -> None:
        self.st, self.timeout = settings, timeout
        self.box: BaseMailBox | None = None
        self.capabilities: set[str] = set()

    def _fail(self, exc: BaseException) -> ImapFailure:
        kind = "login" if isinstance(exc, MailboxLoginError) else "connect"
        text = f"{type(exc).__name__}: {exc}"
        return ImapFailure(kind, redact(redact(text, self.st.imap_password),
                                        repr(self.st.imap_password)[1:-1]))

    def _call(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except ImapFailure:
            raise
        except (OSError, EOFError, imaplib.IMAP4.error, ImapToolsError, UnicodeError,
                ValueError) as exc:
            raise self._fail(exc) from None

    # -- the session ---------------------------------------------------------------------
    def connect(self) -> None:
        self._call(self._connect)

    def _connect(self) -> None:
        st = self.st
        tls = ssl.create_default_context(cafile=st.imap_ca_file or None)
        if st.imap_tls == "imaps":
            box: BaseMailBox = MailBox(st.imap_host, st.imap_port, timeout=self.timeout,
                                       ssl_context=tls)
        elif st.imap_tls == "starttls":
            box = MailBoxStartTls(st.imap_host, st.imap_port, timeout=self.timeout,
                                  ssl_context=tls)
        else:
            box = MailBoxUnencrypted(st.imap_host, st.imap_port, timeout=self.timeout)
        box.email_message_class = RawMessage
        self.box = box
        try:
            if (st.imap_user + st.imap_password).isascii():
                box.login(st.imap_user, st.imap_password, initial_folder=None)
            else:  # LOGIN is ASCII only; AUTHENTICATE PLAIN carries UTF-8
                box.login_utf8(st.imap_user, st.imap_password, initial_folder=None)
            # The greeting's capabilities are those before login (no MOVE, no UIDPLUS on
            # many servers): ask again, and let imap-tools see the real ones too.
            typ, data = box.client.capability()
            if typ == "OK" and data and data[-1]:
                self.capabilities = set(data[-1].decode("ascii", "replace").upper().split())
                box.client.capabilities = tuple(sorted(self.capabilities))
            if st.imap_keep_on_server and st.imap_move_to \
                    and not box.folder.exists(st.imap_move_to):
                box.folder.create(st.imap_move_to)
            box.folder.set(st.imap_folder)
        except BaseException:
            self.close()
            raise

    def alive(self) -> bool:
        if self.box is None:
            return False
        try:
            return self.box.client.noop()[0] == "OK"
        except Exception:
            return False

    def close(self) -> None:
        box, self.box = self.box, None
        if box is None:
            return
        try:
            box.logout()
        except Exception:
            # The connection is gone or broken: just release the socket.
            with contextlib.suppress(Exception):
                box.client.shutdown()

    # -- the messages --------------------------------------------------------------------
    def listing(self, limit: int) -> list[tuple[str, int]]:
        """(UID, size) of up to ``limit`` messages waiting, oldest first."""
        return self._call(self._listing, limit)

    def _listing(self, limit: int) -> list[tuple[str, int]]:
        assert self.box is not None
        # Kept on the server and marked \Seen: only the unseen ones are new. Otherwise
        # everything in the folder waits, \Deleted ones too (a removal cut short by a
        # dropped connection is simply repeated).
        criteria = "UNSEEN" if self.st.imap_keep_on_server and not self.st.imap_move_to \
            else "ALL"
        uids = sorted(self.box.uids(criteria), key=int)[:limit]
        if not uids:
            return []
        typ, data = self.box.client.uid("FETCH", ",".join(uids), "(RFC822.SIZE)")
        if typ != "OK":
            raise ImapFailure("connect", f"FETCH of message sizes failed: {typ}")
        sizes: dict[str, int] = {}
        for item in data:
            line = item[0] if isinstance(item, tuple) else item
            uid, size = _UID.search(line or b""), _SIZE.search(line or b"")
            if uid and size:
                sizes[uid.group(1).decode()] = int(size.group(1))
        return [(uid, sizes[uid]) for uid in uids if uid in sizes]

    def fetch(self, uid: str) -> bytes | None:
        """The message as raw bytes; None if it is gone meanwhile."""
        box = self.box
        assert box is not None
        # BODY.PEEK: fetching must not set \Seen. In the \Seen mode a message marked seen
        # before it is durable in the spool would never be fetched again after a crash.
        found = self._call(lambda: list(box.fetch(
            uid_list=[uid], mark_seen=False, bulk=False)))
        for msg in found:
            # A RawMessage: `_connect` makes it the box's message class.
            if isinstance(msg, RawMessage) and msg.uid == uid:
                return bytes(msg.raw)
        return None

    def remove(self, uids: list[str]) -> None:
        """Delete, move or mark \\Seen (as configured) the messages now safe in the spool."""
        if uids:
            self._call(self._remove, uids)

    def _remove(self, uids: list[str]) -> None:
        assert self.box is not None
        st, client, joined = self.st, self.box.client, ",".join(uids)
        if st.imap_keep_on_server and not st.imap_move_to:
            # Not imap-tools' flag(): it EXPUNGEs after every STORE.
            self._ok(client.uid("STORE", joined, "+FLAGS.SILENT", r"(\Seen)"), "STORE \\Seen")
            return
        if st.imap_keep_on_server:
            # imaplib's stub takes str only: the folder's modified UTF-7 is ASCII, which
            # imaplib encodes back to the same bytes.
            folder = encode_folder(st.imap_move_to).decode("ascii")
            if "MOVE" in self.capabilities:
                self._ok(client.uid("MOVE", joined, folder), "MOVE")
                return
            self._ok(client.uid("COPY", joined, folder), "COPY")
        self._ok(client.uid("STORE", joined, "+FLAGS.SILENT", r"(\Deleted)"), "STORE \\Deleted")
        # UID EXPUNGE removes exactly these; a plain EXPUNGE would also take messages some
        # person flagged \Deleted in the journal mailbox before Kustosz saw them.
        if "UIDPLUS" in self.capabilities:
            self._ok(client.uid("EXPUNGE", joined), "UID EXPUNGE")
        else:
            self._ok(client.expunge(), "EXPUNGE")

    @staticmethod
    def _ok(result: tuple[str, object], what: str) -> None:
        if result[0] != "OK":
            raise ImapFailure("connect", f"{what} refused by the server: {result[1]!r}")

