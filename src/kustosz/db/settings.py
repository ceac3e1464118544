"""A vault setting written by several writers at once (two serve nodes starting together):
an upsert, so the second writer of a new key updates it instead of failing on the first's
insert, as `session.get` then `session.add` did (a fresh clone's three-node test)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from kustosz.db.models import Setting


def put_setting(session: Session, key: str, value: str) -> None:
    """``key`` set to ``value``, whoever wrote it first; a row of it this session holds is
    expired, so that a later read in the session sees the value written."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert  # noqa: PLC0415 - the dialect's own
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]  # noqa: PLC0415
    session.execute(insert(Setting).values(key=key, value=value)
                    .on_conflict_do_update(index_elements=[Setting.key], set_={"value": value}))
    held = session.identity_map.get(session.identity_key(Setting, key))
    if held is not None:
        session.expire(held)


def put_settings(session: Session, values: Mapping[str, str]) -> None:
    """Each of ``values`` set by `put_setting`."""
    for key, value in values.items():
        put_setting(session, key, value)
