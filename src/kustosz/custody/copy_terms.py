"""What the making and the keeping of copies share: who may make one, what a media entry says
of other people's data taken out of it, how a copy prints a time, and how long it is kept
(R2.5)."""

from __future__ import annotations

from datetime import datetime

from kustosz.policy import Policy
from kustosz.policy.periods import local_day

COPY_ROLES = ("custodian", "administrator")
# What a media entry says of other people's data taken out of it (a data subject's copy, R6.2):
# kept with the copy's row too, for the answer letter and the register.
PROTECTED = ("pseudonymised", "masking")


def fmt(value: datetime, policy: Policy, seconds: bool = True) -> str:
    return value.astimezone(policy.timezone).strftime(
        "%d.%m.%Y %H:%M:%S" if seconds else "%d.%m.%Y %H:%M")


def expiry(policy: Policy, first_recording: datetime, made_at: datetime) -> datetime:
    """R2.5: lifetime counted from the day of recording or the day the copy was made; a maximum
    ("nie dłuższy niż"), so art. 111/112 k.c. only, never moved by art. 115 (policy.holidays)."""
    start = first_recording if policy.copy_counted_from == "recording_date" else made_at
    return policy.copy_lifetime.end(local_day(start, policy.timezone), policy.timezone)
