"""The one gate every request passes (issue 11, DESIGN invariant 2).

Each route declares what it needs with `Depends(gate(...))` instead of resolving the caller
itself: the permission (a key of `PERMS`, or any signed-in user), and the API-token scope that
opens it — or none, and then tokens are refused there (HTML pages are for people in a browser
session). The gate resolves the caller once, refuses what the declaration does not allow, and
checks the CSRF token of every cookie-authenticated change. `create_app` refuses to start with
a route that declares nothing (`check_declared`), so a forgotten check cannot ship.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request
from fastapi.routing import APIRoute

from kustosz.web.common import (
    PERMS,
    Ctx,
    Forbidden,
    MustChangePassword,
    NeedLogin,
    check_csrf,
    context,
)

# What an API token may be allowed to do. `read`: lists and registers (no material);
# `custody`: holds, decisions, copies; `authorise`: issuing authorisations; `media`: opening
# viewing sessions and fetching material (the media routes still check the authorisation);
# `metrics`: /metrics for the office's Prometheus (counts and ages, no personal data);
# `cameras`: registering zones and cameras (the administrator's right still needed).
SCOPES: tuple[str, ...] = ("read", "custody", "authorise", "media", "metrics", "cameras")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class TokenRefused(Exception):
    """A bearer token on a route that does not take tokens, or without the scope it needs."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Rule:
    """What one route needs. `perm` None: any signed-in user; `scope` None: no tokens."""

    perm: str | None = None
    scope: str | None = None
    public: bool = False
    one_time_ok: bool = False  # reachable while the one-time password must still be changed
    # Asked by a page on its own (the live alarm list every few seconds), not by the person:
    # it does not move the sign-in's idle end, or a page left open would never time out.
    background: bool = False

    def __post_init__(self) -> None:
        if self.perm is not None and self.perm not in PERMS:
            raise ValueError(f"unknown permission {self.perm!r}")
        if self.scope is not None and self.scope not in SCOPES:
            raise ValueError(f"unknown token scope {self.scope!r}")
        if self.public and (self.perm or self.scope):
            raise ValueError("a public route needs no permission and takes no token")

    async def __call__(self, request: Request) -> Ctx:
        ctx = context(request, touch=not self.background)
        ctx.rule = self
        self._who(ctx)
        if not self.public and not ctx.via_token and request.method not in SAFE_METHODS:
            await check_csrf(request, ctx)
        self._may(ctx)
        return ctx

    def again(self, request: Request) -> Ctx:
        """The same rule asked anew for a request already admitted, with the state of things
        now: a long answer (a live stream, a download) asks it at every re-check, so a sign-in
        ended, a token revoked, an account disabled or a role taken away ends the answer — not
        the person as they were when it opened (issue 64 item 2). Raises as the gate does;
        the CSRF token was checked when the request came in and cannot change since."""
        ctx = context(request, touch=not self.background)
        ctx.rule = self
        self._who(ctx)
        self._may(ctx)
        return ctx

    def _who(self, ctx: Ctx) -> None:
        if self.public:
            if ctx.via_token:
                raise TokenRefused("this address does not take API tokens")
            return
        if ctx.via_token:
            if self.scope is None:
                raise TokenRefused("this address does not take API tokens; use the /api routes")
            if ctx.user is None:
                raise NeedLogin()
            if self.scope not in ctx.scopes:
                raise TokenRefused(f"the token lacks the scope {self.scope!r}")
            if ctx.must_change:
                raise MustChangePassword()
        else:
            if ctx.user is None:
                raise NeedLogin()
            if ctx.must_change and not self.one_time_ok:
                raise MustChangePassword()

    def _may(self, ctx: Ctx) -> None:
        if self.perm is not None and not ctx.may(self.perm):
            raise Forbidden()


def gate(perm: str | None = None, *, scope: str | None = None,
         one_time_ok: bool = False, background: bool = False) -> Any:
    """The dependency a route declares: `ctx: Ctx = gate("custody", scope="custody")`."""
    return Depends(Rule(perm=perm, scope=scope, one_time_ok=one_time_ok,
                        background=background))


def public() -> Any:
    """For the few routes that must answer before login (the login form, the language)."""
    return Depends(Rule(public=True))


def rule_of(route: APIRoute) -> Rule | None:
    found = [d.call for d in route.dependant.dependencies if isinstance(d.call, Rule)]
    return found[0] if len(found) == 1 else None


def check_declared(routes: list[Any]) -> None:
    """Refuse an app with a route that declares no rule (or two)."""
    missing = [f"{sorted(r.methods)} {r.path}" for r in routes
               if isinstance(r, APIRoute) and rule_of(r) is None]
    if missing:
        raise RuntimeError("routes without exactly one gate rule: " + ", ".join(missing))
