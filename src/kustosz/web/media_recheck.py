"""Access ends when access ends (issue 64 item 2): a long answer — the live stream, a call's
audio, a copy's ZIP or video, a segment still being sent — asks the gate again every
RECHECK_S while it runs, with the state of things now, never the person as they were when it
opened: the gate's own rule (`Rule.again`: the sign-in, the account, the API token, the role)
and the media checks (`media.admission`: the workstation allow-list, the viewing session, the
authorisation). The first check that fails ends the answer — a refusal recorded like any
other — and a last access record says why and how many of the bytes the answer's records
released were sent.

The records before it still hold every byte that left (DESIGN invariant 2): each was written,
with the bytes it releases, before those bytes were sent; the last one adds no bytes."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sized
from dataclasses import dataclass
from typing import BinaryIO, TypeVar

from sqlalchemy.orm import Session

from kustosz.access import lapse, records
from kustosz.db.access import ViewingSession
from kustosz.storage.base import CHUNK
from kustosz.web.common import (
    SESSION_COOKIE,
    Ctx,
    Forbidden,
    MustChangePassword,
    NeedLogin,
)
from kustosz.web.gate import TokenRefused
from kustosz.web.media import admission, refuse

RECHECK_S = 2.0  # how often a long answer asks again: it ends within this and one check
# What a long answer needs besides the gate, asked in the same transaction (a live stream:
# its camera may still be watched, and the record of the bytes it is about to send): None to
# go on, else why it ends.
Still = Callable[[Session, ViewingSession, records.Scope], str | None]
_LAPSED = (NeedLogin, TokenRefused, MustChangePassword, Forbidden)
# What an answer sends at a time: bytes, or a span of a file the kernel sends (file_answer)
Part = TypeVar("Part", bound=Sized)


def _lapsed(ctx: Ctx, s: Session) -> str:
    """What ended the sign-in this request came with (its cookie or its API token)."""
    auth = ctx.request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return lapse.of_token(s, auth[7:])
    return lapse.of_session(s, ctx.request.cookies.get(SESSION_COOKIE))


def _refusal(exc: Exception, ctx: Ctx, s: Session, action: str | None) -> records.Refused:
    if isinstance(exc, MustChangePassword):  # a password reset leaves a one-time password
        return records.Refused(records.Reason.PASSWORD, {"action": action})
    if isinstance(exc, Forbidden):
        return records.Refused(records.Reason.ROLE, {"action": action})
    return records.Refused(records.Reason.LOGIN, {"action": action,
                                                  "lapsed": _lapsed(ctx, s)})


def said(refused: records.Refused) -> str:
    """A refusal as the ending access record words it: the condition, and what ended the
    sign-in where that was it."""
    lapsed = refused.facts.get("lapsed")
    return f"access withdrawn: {refused.reason}" + (f" ({lapsed})" if lapsed else "")


def ask_again(ctx: Ctx, token: str, action: str | None, still: Still | None = None
              ) -> str | None:
    """None while this admitted request may still be answered — and ``still`` found nothing
    (it may write the answer's next access record in the same transaction); else why it
    ends, in English, the refusal in the audit log."""
    failed: Exception | None = None
    try:
        fresh = ctx.rule.again(ctx.request)
    except _LAPSED as exc:
        fresh, failed = None, exc
    with ctx.vault.transaction() as s:
        if fresh is None:
            assert failed is not None
            refused = _refusal(failed, ctx, s, action)
        else:
            admitted = admission(fresh, s, token, action)
            if not isinstance(admitted, records.Refused):
                return still(s, *admitted) if still is not None else None
            refused = admitted
        refuse(ctx, s, refused, token, action)
        return said(refused)


def record_end(ctx: Ctx, token: str, what: str, why: str, sent: int, released: int) -> None:
    """The answer's last access record: why it ended and how many of the bytes released by
    the records before it were sent. It adds no bytes: those were recorded before they
    left."""
    with ctx.vault.transaction() as s:
        vs = records.viewing_of(s, token)
        if vs is not None:
            records.served(s, vs, f"{what} ended: {why}; {sent} of {released} bytes sent",
                           ctx.client, 0)


@dataclass(frozen=True)
class Watch:
    """Who a download is sent to and under which viewing: what asks the gate again while it
    runs. ``what`` names the download as its access record does."""

    ctx: Ctx
    token: str
    action: str | None
    what: str
    still: Still | None = None

    def chunks(self, stream: BinaryIO, size: int) -> Iterator[bytes]:
        """``size`` bytes of ``stream``, which the answer's access record released."""
        return self.over(_read(stream, size), size)

    def over(self, chunks: Iterator[Part], size: int) -> Iterator[Part]:
        """``chunks`` (``size`` bytes, which the answer's access record released), asking
        again every RECHECK_S; cut short, with its last record, the moment access ends. Sync:
        the server runs it in a worker thread, where the database may be waited for."""
        sent, checked = 0, time.monotonic()
        try:
            for chunk in chunks:
                if time.monotonic() - checked >= RECHECK_S:
                    why = ask_again(self.ctx, self.token, self.action, self.still)
                    if why is not None:
                        record_end(self.ctx, self.token, self.what, why, sent, size)
                        return
                    checked = time.monotonic()
                sent += len(chunk)
                yield chunk
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()


def _read(stream: BinaryIO, size: int) -> Iterator[bytes]:
    sent = 0
    with stream:
        while sent < size and (chunk := stream.read(CHUNK)[:size - sent]):
            sent += len(chunk)
            yield chunk
