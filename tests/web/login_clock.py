"""The clock of the login path, held still by the test (issue 27 item 8).

The throttle's first wait is 2 s (`kustosz.access.throttle.BASE_SECONDS`): a test that makes a
failed login and then checks that the next attempt waits was testing that two requests come
within 2 s of each other, and the number of seconds in the message ("za 2 sekundy" or "za 1
sekundę") depended on the gap too. On a loaded machine (CI, the suite beside other work) they
do not. A real clock cannot be held still, so this one is a stand-in (the only thing mocked):
`datetime.now` of the login code (`kustosz.access.accounts`, `kustosz.access.throttle`) reads
it; it moves only when the test says so. Sessions' checks in `kustosz.web.common` keep the real
clock; the held one starts at the real time and only ever moves forward, so a session started
by it is never older to them than it is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

MODULES = ("kustosz.access.accounts", "kustosz.access.throttle")


class LoginClock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def advance(self, by: timedelta) -> None:
        assert by >= timedelta(0), "the held clock only goes forward"
        self.now += by


def hold_login_clock(monkeypatch: pytest.MonkeyPatch) -> LoginClock:
    clock = LoginClock()

    class Held(datetime):
        @classmethod
        def now(cls, tz: object = None) -> datetime:  # type: ignore[override]
            assert tz is UTC, "the login code reads the clock in UTC"
            return clock.now

    for module in MODULES:
        monkeypatch.setattr(f"{module}.datetime", Held)
    return clock
