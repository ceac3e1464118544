"""Web Push's cryptography (issue 65 item 3), with `cryptography` alone: the message
encrypted to one browser (RFC 8291, the "aes128gcm" content coding of RFC 8188) and the
application server's signed identification (VAPID, RFC 8292: an ES256 JWT).

Small enough to hold here rather than add a dependency; tested against the RFCs' own
examples (tests/corpus/webpush, tests/test_webpush_rfc.py): RFC 8188 §3.1 and §3.2, RFC 8291
§5 with its Appendix A, RFC 8292 §2.4. A message is one record (RFC 8291 §4): the push
services take at most 4096 octets of body, 3993 of plaintext.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import struct
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

RECORD = 4096  # the record size a push message declares (one record)
MAX_PLAINTEXT = 3993  # RFC 8291 §4: 4096 less the header (86), the delimiter and the tag
KEY_INFO = b"WebPush: info\x00"
CEK_INFO = b"Content-Encoding: aes128gcm\x00"
NONCE_INFO = b"Content-Encoding: nonce\x00"
TAG = 16


class PushCryptoError(ValueError):
    """A key, a message or a token that is not what the RFCs say it must be."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def unb64url(text: str) -> bytes:
    cleaned = "".join(text.split())  # the RFCs' examples wrap their values
    try:
        return base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except (ValueError, TypeError) as exc:
        raise PushCryptoError("not base64url") from exc


def _extract(salt: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt, ikm, hashlib.sha256).digest()


def _expand(prk: bytes, info: bytes, length: int) -> bytes:
    # every length asked here fits one block of SHA-256
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()[:length]


def _cek_nonce(ikm: bytes, salt: bytes) -> tuple[bytes, bytes]:
    prk = _extract(salt, ikm)
    return _expand(prk, CEK_INFO, 16), _expand(prk, NONCE_INFO, 12)


def _nonce(base: bytes, seq: int) -> bytes:
    tail = int.from_bytes(base[4:], "big") ^ seq
    return base[:4] + tail.to_bytes(8, "big")


def ece_encrypt(plaintext: bytes, ikm: bytes, salt: bytes, rs: int = RECORD,
                keyid: bytes = b"") -> bytes:
    """RFC 8188 "aes128gcm", one record: the header (salt, rs, keyid) and the record."""
    if len(salt) != 16 or len(keyid) > 255:
        raise PushCryptoError("a salt is 16 octets and a keyid at most 255")
    if len(plaintext) + 1 + TAG > rs:
        raise PushCryptoError("the message does not fit one record")
    cek, nonce = _cek_nonce(ikm, salt)
    sealed = AESGCM(cek).encrypt(nonce, plaintext + b"\x02", None)
    return salt + struct.pack("!IB", rs, len(keyid)) + keyid + sealed


def ece_decrypt(body: bytes, ikm: bytes) -> tuple[bytes, bytes]:
    """An "aes128gcm" body of any number of records: (the plaintext, the keyid)."""
    if len(body) < 21:
        raise PushCryptoError("shorter than the content coding's header")
    salt, (rs, idlen) = body[:16], struct.unpack("!IB", body[16:21])
    keyid, data = body[21:21 + idlen], body[21 + idlen:]
    if rs < 18 or len(keyid) != idlen:
        raise PushCryptoError("a record size under 18 or a cut keyid")
    cek, nonce = _cek_nonce(ikm, salt)
    out, seq = [], 0
    records = [data[i:i + rs] for i in range(0, len(data), rs)] or [b""]
    for seq, record in enumerate(records):
        try:
            plain = AESGCM(cek).decrypt(_nonce(nonce, seq), record, None)
        except InvalidTag as exc:
            raise PushCryptoError("a record does not decrypt") from exc
        last = seq == len(records) - 1
        plain = plain.rstrip(b"\x00")
        if not plain or plain[-1:] != (b"\x02" if last else b"\x01"):
            raise PushCryptoError("a record's delimiter is wrong")
        out.append(plain[:-1])
    return b"".join(out), keyid


def public_raw(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.X962,
                            serialization.PublicFormat.UncompressedPoint)


def public_of(raw: bytes) -> ec.EllipticCurvePublicKey:
    """A browser's P-256 key as its subscription gives it (65 octets, 0x04 x y)."""
    if len(raw) != 65 or raw[0] != 4:
        raise PushCryptoError("a P-256 key is 65 octets, uncompressed")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError as exc:
        raise PushCryptoError("not a point of P-256") from exc


def private_of(raw: bytes) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())


def _ikm(secret: bytes, auth: bytes, ua_public: bytes, as_public: bytes) -> bytes:
    prk = _extract(auth, secret)
    return _expand(prk, KEY_INFO + ua_public + as_public, 32)


def encrypt(plaintext: bytes, ua_public: bytes, auth: bytes,
            as_private: ec.EllipticCurvePrivateKey | None = None,
            salt: bytes | None = None) -> bytes:
    """RFC 8291: ``plaintext`` for the browser whose subscription gave ``ua_public`` and
    ``auth``; a fresh key pair and salt each message (given only by the RFC's test)."""
    if len(auth) != 16:
        raise PushCryptoError("an authentication secret is 16 octets")
    if len(plaintext) > MAX_PLAINTEXT:
        raise PushCryptoError("longer than a push message may be")
    browser = public_of(ua_public)
    as_private = as_private or ec.generate_private_key(ec.SECP256R1())
    as_public = public_raw(as_private.public_key())
    secret = as_private.exchange(ec.ECDH(), browser)
    return ece_encrypt(plaintext, _ikm(secret, auth, ua_public, as_public),
                       salt if salt is not None else os.urandom(16), RECORD, as_public)


def decrypt(body: bytes, ua_private: ec.EllipticCurvePrivateKey, auth: bytes) -> bytes:
    """What the browser does with a message (tests, and a push service the tests run)."""
    if len(body) < 21:
        raise PushCryptoError("shorter than the content coding's header")
    as_public = body[21:21 + body[20]]
    secret = ua_private.exchange(ec.ECDH(), public_of(as_public))
    ua_public = public_raw(ua_private.public_key())
    plain, _ = ece_decrypt(body, _ikm(secret, auth, ua_public, as_public))
    return plain


# -- VAPID (RFC 8292) -------------------------------------------------------------------------
def audience(endpoint: str) -> str:
    """The push service's origin: the JWT's "aud"."""
    parts = urlsplit(endpoint)
    if not parts.scheme or not parts.hostname:
        raise PushCryptoError("an endpoint is an absolute address")
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def _json64(value: object) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode("utf-8"))


def vapid_token(key: ec.EllipticCurvePrivateKey, aud: str, sub: str, exp: int) -> str:
    """The ES256 JWT of RFC 8292 §2: the claims "aud", "exp" and "sub", signed; the signature
    as JWS writes it (r and s, 32 octets each), not DER."""
    signed = (_json64({"typ": "JWT", "alg": "ES256"}) + "."
              + _json64({"aud": aud, "exp": exp, "sub": sub}))
    r, s = decode_dss_signature(key.sign(signed.encode("ascii"), ec.ECDSA(hashes.SHA256())))
    return signed + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def vapid_header(key: ec.EllipticCurvePrivateKey, endpoint: str, sub: str, exp: int) -> str:
    """The Authorization of a push request (RFC 8292 §3)."""
    token = vapid_token(key, audience(endpoint), sub, exp)
    return f"vapid t={token}, k={b64url(public_raw(key.public_key()))}"


def vapid_claims(token: str, public: bytes) -> dict[str, object]:
    """The claims of ``token`` if ``public`` signed it (what a push service checks)."""
    try:
        head, body, sig = token.split(".")
        raw = unb64url(sig)
        if len(raw) != 64:
            raise PushCryptoError("an ES256 signature is 64 octets")
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"),
                                   int.from_bytes(raw[32:], "big"))
        public_of(public).verify(der, f"{head}.{body}".encode("ascii"),
                                 ec.ECDSA(hashes.SHA256()))
        header = json.loads(unb64url(head))
        claims = json.loads(unb64url(body))
    except (ValueError, InvalidSignature) as exc:
        raise PushCryptoError(f"not a VAPID token of this key: {type(exc).__name__}") from exc
    if header.get("alg") != "ES256" or not isinstance(claims, dict):
        raise PushCryptoError("not an ES256 JWT")
    return claims
