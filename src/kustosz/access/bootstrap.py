"""The first administrator: created once, with a one-time password shown once."""

from __future__ import annotations

from sqlalchemy import select

from kustosz.access import accounts, passwords
from kustosz.access.users import add_user
from kustosz.db.custody import User
from kustosz.vault import Vault

FIRST_ADMIN = "admin"


def first_admin(vault: Vault, actor: str = "system") -> str | None:
    """Create the first administrator if no administrator can log in yet; return its
    one-time password (to print once), or None when one already exists."""
    with vault.transaction() as s:
        users = list(s.execute(select(User).where(User.active.is_(True))).scalars())
        if any("administrator" in u.roles and u.password_hash for u in users):
            return None
        password = passwords.one_time_password()
        user = next((u for u in users if u.name == FIRST_ADMIN), None)
        if user is None:
            user = add_user(s, FIRST_ADMIN, "Administrator systemu", ["administrator"], actor,
                            title="administrator systemu (IT)")
        elif "administrator" not in user.roles:
            user.roles = sorted({*user.roles, "administrator"})
        accounts.set_password(s, user, password, actor, one_time=True, check=False)
        return password
