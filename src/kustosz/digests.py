"""How a secret token is kept: its SHA-256, never the token (sessions, API tokens, unlock
links, viewing tokens, event endpoints' HTTP tokens). One definition, so that every table
that stores a token's digest can be checked the same way."""

from __future__ import annotations

import hashlib


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
