"""A login for a user who does not exist verifies the password against a dummy hash, so that
the answer takes as long as for a real user. The dummy is written out, not hashed at import:
it must still be a well-formed argon2id hash with the hasher's own costs, or verification
would fail fast (InvalidHashError) and tell an attacker which user names exist."""

from __future__ import annotations

import time

import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError

from kustosz.access import passwords

# The product's own cost (the suite's other tests hash at argon2's lowest: tests/conftest.py).
pytestmark = pytest.mark.real_password_cost


def test_passwords_are_hashed_with_rfc_9106s_low_memory_profile() -> None:
    """argon2id, 3 passes over 64 MiB in 4 lanes: what every hash the product makes says,
    and what a hash made with less (the suite's own) is rehashed to at its next login."""
    made = passwords.hash_password("a real password of someone")
    assert made.startswith("$argon2id$v=19$m=65536,t=3,p=4$"), made
    assert not passwords.needs_rehash(made)
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("x" * 12)
    assert passwords.verify(cheap, "x" * 12)
    assert passwords.needs_rehash(cheap)


def test_the_dummy_costs_what_a_real_hash_costs() -> None:
    hasher = passwords._HASHER
    assert not hasher.check_needs_rehash(passwords._DUMMY)  # the hasher's own parameters
    with pytest.raises(VerifyMismatchError):  # computed in full and compared, not refused
        hasher.verify(passwords._DUMMY, "kustosz-no-such-user")
    real = passwords.hash_password("a real password of someone")
    timings = {}
    for name, stored in (("dummy", None), ("real", real)):
        start = time.process_time()
        assert passwords.verify(stored, "wrong password 123") is False
        timings[name] = time.process_time() - start
    # the same argon2 work: CPU times within a factor of two (the work is ~0.5 s of CPU)
    assert timings["dummy"] > timings["real"] / 2, timings


def test_no_password_matches_a_missing_user() -> None:
    assert passwords.verify(None, "") is False
    assert passwords.verify(None, "kustosz-no-such-user") is False
