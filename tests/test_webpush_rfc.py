"""Kustosz's Web Push cryptography (kustosz.alerts.webpush, issue 65 item 3) against the
RFCs' own examples (tests/corpus/webpush): RFC 8188's "aes128gcm" content coding, RFC 8291's
message to a browser, RFC 8292's VAPID token — byte for byte where the example is
deterministic, verified where it is a signature. Then what a push service and a browser see
of Kustosz's own messages, and what a forged or damaged one gets: refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from kustosz.alerts import webpush as w

VECTORS = json.loads((Path(__file__).parent / "corpus" / "webpush" / "rfc-examples.json")
                     .read_text("utf-8"))
u = w.unb64url


def test_rfc8188_one_record_byte_for_byte() -> None:
    v = VECTORS["rfc8188_3_1"]
    prk = w._extract(u(v["salt"]), u(v["ikm"]))
    assert w.b64url(prk) == v["prk"]
    cek, nonce = w._cek_nonce(u(v["ikm"]), u(v["salt"]))
    assert (w.b64url(cek), w.b64url(nonce)) == (v["cek"], v["nonce"])
    body = w.ece_encrypt(v["plaintext"].encode(), u(v["ikm"]), u(v["salt"]), v["rs"], b"")
    assert w.b64url(body) == v["body"]
    assert w.ece_decrypt(body, u(v["ikm"])) == (v["plaintext"].encode(), b"")


def test_rfc8188_two_records_with_padding_decrypt() -> None:
    v = VECTORS["rfc8188_3_2"]
    assert w.ece_decrypt(u(v["body"]), u(v["ikm"])) == (v["plaintext"].encode(),
                                                         v["keyid"].encode())


def test_rfc8291_the_message_and_its_intermediate_values() -> None:
    v = VECTORS["rfc8291_5"]
    as_key = w.private_of(u(v["as_private"]))
    ua_key = w.private_of(u(v["ua_private"]))
    assert w.b64url(w.public_raw(as_key.public_key())) == v["as_public"]
    assert w.b64url(w.public_raw(ua_key.public_key())) == v["ua_public"]
    secret = as_key.exchange(ec.ECDH(), w.public_of(u(v["ua_public"])))
    assert w.b64url(secret) == v["ecdh_secret"]
    assert w.b64url(w._extract(u(v["auth_secret"]), secret)) == v["prk_key"]
    ikm = w._ikm(secret, u(v["auth_secret"]), u(v["ua_public"]), u(v["as_public"]))
    assert w.b64url(ikm) == v["ikm"]
    assert w.b64url(w._extract(u(v["salt"]), ikm)) == v["prk"]
    assert w.b64url(w._cek_nonce(ikm, u(v["salt"]))[0]) == v["cek"]
    body = w.encrypt(v["plaintext"].encode(), u(v["ua_public"]), u(v["auth_secret"]),
                     as_key, u(v["salt"]))
    assert w.b64url(body[:86]) == v["header"] and w.b64url(body) == v["body"]
    assert w.decrypt(u(v["body"]), ua_key, u(v["auth_secret"])) == v["plaintext"].encode()


def test_rfc8292_the_example_token_verifies_and_ours_has_its_form() -> None:
    v = VECTORS["rfc8292_2_4"]
    assert w.vapid_claims(v["token"], u(v["public_key"])) == v["claims"]
    as_key = w.private_of(u(VECTORS["rfc8291_5"]["as_private"]))
    ours = w.vapid_token(as_key, v["claims"]["aud"], v["claims"]["sub"], v["claims"]["exp"])
    # the same header and claims, to the byte; the signature is ECDSA's own each time
    assert ours.rsplit(".", 1)[0] == v["token"].rsplit(".", 1)[0]
    assert w.vapid_claims(ours, w.public_raw(as_key.public_key())) == v["claims"]
    with pytest.raises(w.PushCryptoError):
        w.vapid_claims(v["token"], w.public_raw(as_key.public_key()))  # another key's
    header = w.vapid_header(as_key, "https://push.example.net/p/JzLQ3raZJfFBR0aqvOMsLrt54w4r",
                            v["claims"]["sub"], v["claims"]["exp"])
    assert header.startswith("vapid t=eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9.")
    assert header.endswith(f", k={w.b64url(w.public_raw(as_key.public_key()))}")


@settings(max_examples=50, deadline=None)
@given(text=st.text(max_size=400))
def test_any_alarm_text_reaches_the_browser_whole(text: str) -> None:
    """Polish letters, emoji, anything: what the browser decrypts is what was sent; a fresh
    key and salt each time, so one text never gives the same body twice."""
    browser, auth = ec.generate_private_key(ec.SECP256R1()), b"0123456789abcdef"
    raw = w.public_raw(browser.public_key())
    data = (text + " Józef Żółć 🔥").encode("utf-8")
    one, two = w.encrypt(data, raw, auth), w.encrypt(data, raw, auth)
    assert one != two
    assert w.decrypt(one, browser, auth) == data == w.decrypt(two, browser, auth)


def test_what_is_not_a_message_or_a_key_is_refused() -> None:
    browser, auth = ec.generate_private_key(ec.SECP256R1()), b"0123456789abcdef"
    raw = w.public_raw(browser.public_key())
    body = bytearray(w.encrypt(b"alarm", raw, auth))
    body[-1] ^= 1
    with pytest.raises(w.PushCryptoError):
        w.decrypt(bytes(body), browser, auth)
    with pytest.raises(w.PushCryptoError):
        w.encrypt(b"x" * (w.MAX_PLAINTEXT + 1), raw, auth)
    for bad in (b"", b"\x04" + b"\x00" * 64, raw[:33], b"\x05" + raw[1:]):
        with pytest.raises(w.PushCryptoError):
            w.encrypt(b"alarm", bad, auth)
    with pytest.raises(w.PushCryptoError):
        w.encrypt(b"alarm", raw, b"short")
    with pytest.raises(w.PushCryptoError):
        w.ece_decrypt(b"\x00" * 10, b"k" * 16)
