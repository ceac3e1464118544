"""Camera locations in the web app (R1.7): where cameras hang is the employer's secret.

Pages, registers and documents show a site or zone only to holders of the locations right
(PERMS["locations"]), and every answer that does show one leaves one audit entry — the same
`camera_locations.view` the command line writes for `--locations`.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from kustosz.audit import append as audit
from kustosz.web.common import Ctx
from kustosz.web.prefix import route_path

AUDIT_ACTION = "camera_locations.view"


def may_see(ctx: Ctx) -> bool:
    return ctx.may("locations")


def viewed(ctx: Ctx, what: str, session: Session | None = None) -> None:
    """Record that ``what`` showed camera locations to this person (own transaction unless
    ``session`` is given)."""
    name = ctx.user.name if ctx.user is not None else "anonymous"
    details = {"client": ctx.client, "via": "web", "path": route_path(ctx.request.scope)}
    if session is not None:
        audit(session, name, AUDIT_ACTION, what, details)
        return
    with ctx.vault.transaction() as s:
        audit(s, name, AUDIT_ACTION, what, details)
