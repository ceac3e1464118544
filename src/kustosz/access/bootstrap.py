"""The first administrator: created once, with a one-time password shown once."""

from __future__ import annotations

from sqlalchemy import select

from kustosz.access import accounts, passwords
from kustosz.access.users import add_user, set_roles
from kustosz.db.custody import User
from kustosz.vault import Vault

FIRST_ADMIN = "admin"


def first_admin(vault: Vault, actor: str = "system", new_only: bool = False) -> str | None:
    """Create the first administrator of a new vault; return its one-time password (to print
    once), or None when the vault has an active administrator already — one who logs in
    through the directory counts (issue 11: a start of `serve` must never hand out an
    administrator's password in a vault that has one). ``new_only``: only in a vault that has
    never had a user — an installation's office, whose `serve` console is the installation
    administrator's: an office left without an administrator gets one from its own people,
    never a password printed to the installation's console (issue 67)."""
    with vault.transaction() as s:
        if new_only and s.execute(select(User.id).limit(1)).first() is not None:
            return None
        users = list(s.execute(select(User).where(User.active.is_(True))).scalars())
        if any("administrator" in u.roles for u in users):
            return None
        password = passwords.one_time_password()
        user = next((u for u in users if u.name == FIRST_ADMIN), None)
        if user is None:
            user = add_user(s, FIRST_ADMIN, "Administrator systemu", ["administrator"], actor,
                            title="administrator systemu (IT)")
        elif "administrator" not in user.roles:
            set_roles(s, user.name, [*user.roles, "administrator"], actor)
        accounts.set_password(s, user, password, actor, one_time=True, check=False)
        return password
