"""The vault's VAPID key pair (RFC 8292; issue 65 item 3): the key that signs every push
request the vault sends, and whose public half a browser is given when it subscribes (a push
service then takes messages for that subscription from this key only).

Made by the vault on first use, never by hand. The private key is a secret kept as the
vault's other stored secrets are (kustosz.atrest.sealing: sealed with `keys/secrets.key`,
which only the service reads; the database alone shows nothing of it); the public half is
no secret. Two processes making it at once keep the first one written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.orm import Session

from kustosz.alerts.webpush import b64url, public_raw
from kustosz.atrest.sealing import secrets_of
from kustosz.db.models import Setting

KEY = "alerts.push.vapid"  # the vault_settings row
WHAT = "alerts.push_vapid_key"  # the sealed value's associated data


@dataclass(frozen=True)
class Vapid:
    private: ec.EllipticCurvePrivateKey
    public: str  # base64url of the uncompressed point: the page's applicationServerKey


def _insert(s: Session, value: str) -> None:
    if s.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert  # noqa: PLC0415 - the dialect's own
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]  # noqa: PLC0415
    s.execute(insert(Setting).values(key=KEY, value=value)
              .on_conflict_do_nothing(index_elements=[Setting.key]))


def public_key(s: Session) -> str | None:
    """The public half, once made (the page offers Web Push only then)."""
    row = s.get(Setting, KEY)
    return str(json.loads(row.value)["public"]) if row is not None else None


def vapid(s: Session) -> Vapid:
    """The key pair, made on first use (in ``s``'s transaction)."""
    box = secrets_of(s)
    row = s.get(Setting, KEY)
    if row is None:
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode("ascii")
        _insert(s, json.dumps({"private": box.seal(pem, WHAT),
                               "public": b64url(public_raw(key.public_key()))}))
        s.flush()
        s.expire_all()
        row = s.get(Setting, KEY)
        assert row is not None
    stored = json.loads(row.value)
    opened = serialization.load_pem_private_key(box.open(stored["private"], WHAT).encode(),
                                                password=None)
    if not isinstance(opened, ec.EllipticCurvePrivateKey):
        raise ValueError("the stored VAPID key is not a P-256 key")
    return Vapid(opened, str(stored["public"]))
