"""An upload's body hashed once (issue 68 item 4): the SHA-256 the upload already has is the one
its request is signed with.

SigV4 over plain HTTP signs the body: botocore read and hashed every PUT's and every part's
body to sign it, after the upload had hashed the same bytes for its own digest (the index's,
the x-amz-checksum-sha256 header) — the second SHA-256 of every byte sent. A request made inside
`payload_sha256` carries the digest it was made with, and the signer takes it instead of
reading the body again.

Nothing is checked less: the store still compares the signed hash with the bytes it receives
(Ceph RGW refuses a mismatch, XAmzContentSHA256Mismatch), as it compares the checksum header
(SeaweedFS: BadDigest). A body that changed after it was hashed is refused, where before the
signature would have been made over the changed bytes.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

CONTEXT = "kustosz_payload_sha256"  # the request context's key (botocore's request.context)
SIGNER = "kustosz-s3v4"  # S3's SigV4, with the payload hash given

_KNOWN = threading.local()


@contextlib.contextmanager
def payload_sha256(hexdigest: str) -> Iterator[None]:
    """The requests this thread makes in the block send a body whose SHA-256 is
    ``hexdigest``."""
    _KNOWN.value = hexdigest
    try:
        yield
    finally:
        _KNOWN.value = None


def _note(params: dict[str, Any], **_kwargs: Any) -> None:
    """before-call: the digest goes with the request (its retries are signed with it too)."""
    known = getattr(_KNOWN, "value", None)
    if known:
        params["context"][CONTEXT] = known


def _choose(context: dict[str, Any], signing_name: str, **_kwargs: Any) -> str | None:
    """choose-signer: botocore's own choice, but for S3's SigV4 the signer that takes the
    digest; None (botocore's handlers decide) for any other request."""
    if not context.get(CONTEXT):
        return None
    from botocore.handlers import set_operation_specific_signer  # noqa: PLC0415 - heavy

    chosen = set_operation_specific_signer(context=context, signing_name=signing_name)
    return SIGNER if chosen == "s3v4" else None


def install_payload(client: Any) -> None:
    """Sign ``client``'s uploads with the digest given by `payload_sha256`."""
    from botocore import auth  # noqa: PLC0415 - heavy, only for an s3 store

    if SIGNER not in auth.AUTH_TYPE_MAPS:

        class KnownPayload(auth.S3SigV4Auth):  # type: ignore[misc]
            def payload(self, request: Any) -> str:
                known = request.context.get(CONTEXT)
                if known and self._should_sha256_sign_payload(request):
                    return str(known)
                return str(super().payload(request))

        auth.AUTH_TYPE_MAPS[SIGNER] = KnownPayload
    for operation in ("PutObject", "UploadPart"):
        client.meta.events.register(f"before-call.s3.{operation}", _note)
    client.meta.events.register_first("choose-signer.s3", _choose)
