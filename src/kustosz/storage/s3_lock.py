"""The object store's lock on each version (kustosz.storage.s3): its GOVERNANCE retention date
and its legal hold, read, re-dated and switched — each only as the identity's credentials
allow (the app's may lengthen; the sweep's set and clear legal holds; the re-dating identity
alone shortens, with the governance bypass)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from kustosz.storage.base import Lock, Refused, check_retain_until
from kustosz.storage.s3_client import S3Client

# The store's one logger, as before its code was split into modules.
log = logging.getLogger("kustosz.storage.s3")

GOVERNANCE = "GOVERNANCE"


class S3Lock(S3Client):
    """Retention dates and legal holds of one bucket's object versions."""

    def lock_of(self, key: str, version_id: str | None = None) -> Lock:
        head = self._head(key, version_id)
        until = head.get("ObjectLockRetainUntilDate")
        return Lock(until.astimezone(UTC) if until else None,
                    head.get("ObjectLockLegalHoldStatus") == "ON")

    def retain(self, key: str, until: datetime, version_id: str | None = None, *,
               bypass: bool = False) -> None:
        """Re-date the retention. Lengthening is anyone's; shortening needs ``bypass`` —
        asked only by the approved shortening of a period (kustosz.retention.shorten) — and
        the store grants it only to the re-dating identity."""
        check_retain_until(until, datetime.now(UTC))
        args = self._version_args(key, version_id)
        current = self.lock_of(key, version_id).retain_until
        if current is not None and until < current:
            if not bypass:
                raise Refused(f"retention of {key} cannot be shortened (to "
                              f"{until.isoformat()}, from {current.isoformat()}) except by "
                              "the approved shortening of a period (kustosz retention "
                              "shorten)",
                              pl=f"Okresu przechowywania {key} nie można skrócić (do "
                                 f"{until.isoformat()}) inaczej niż zatwierdzonym "
                                 "skróceniem okresu (kustosz retention shorten).")
            args["BypassGovernanceRetention"] = True
        with self._errors("re-date the retention of", key):
            self._s3.put_object_retention(
                Retention={"Mode": GOVERNANCE, "RetainUntilDate": until}, **args)

    def legal_hold(self, key: str, on: bool, version_id: str | None = None) -> None:
        args = self._version_args(key, version_id)
        self._head(key, version_id)  # SeaweedFS answers a missing key with a 500 (retried)
        with self._errors("set the legal hold of" if on else "clear the legal hold of", key):
            self._s3.put_object_legal_hold(LegalHold={"Status": "ON" if on else "OFF"}, **args)

    def _check_lock(self, key: str, version: str | None, until: datetime | None,
                    hold: bool, head: dict[str, Any]) -> None:
        """The object just uploaded must carry the lock asked for. Ceph 16.2 ignores the lock
        headers of a multipart upload (ceph/ceph#54767): the lock is then set once the upload
        completed (a bucket default retention, if the office set one, covers the moment
        between)."""
        got = head.get("ObjectLockRetainUntilDate")
        if until is not None and (got is None or got < until.replace(microsecond=0)):
            with self._errors("set the retention of", key):
                self._s3.put_object_retention(
                    Bucket=self.bucket, Key=self._object(key), VersionId=version,
                    Retention={"Mode": GOVERNANCE, "RetainUntilDate": until})
            log.info("the store did not keep the retention sent with %s; set afterwards", key)
        if hold and head.get("ObjectLockLegalHoldStatus") != "ON":
            with self._errors("set the legal hold of", key):
                self._s3.put_object_legal_hold(Bucket=self.bucket, Key=self._object(key),
                                               VersionId=version, LegalHold={"Status": "ON"})
            log.info("the store did not keep the legal hold sent with %s; set afterwards", key)
