"""Writing to the object store (kustosz.storage.s3): one PUT, or a multipart upload for a large
file (its parts in flight a few at once, each with its own SHA-256), then a HEAD that verifies
the size, our SHA-256 and the store's checksum, and the lock the store was asked to keep.

A single PUT proves itself on a store found to refuse a body unlike its signed SHA-256 (the
probe, `body_checked`: Ceph RGW's XAmzContentSHA256Mismatch, SeaweedFS's BadDigest): the store
compared every byte it kept with the index's digest before it answered, and the answer carries
the version. No HEAD follows, but for the first upload with a lock to each store, which shows
that the store keeps a single PUT's lock (Ceph 16 drops a multipart upload's: those are always
verified), and for a legal hold. The store check reads every object's size, metadata and lock
on its schedule (maintenance/store_check.py).

Never over a taken key: to a store that keeps conditional writes (`conditional_writes`) a
PUT carries If-None-Match: * and the store refuses it; on one that does not (Ceph RGW 16), and
before a multipart upload, a HEAD looks first. Each body's SHA-256 is computed once, and signs its
request too (`s3_payload`)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from kustosz.errors import InputError
from kustosz.storage.base import (
    CHUNK,
    KeyTaken,
    Refused,
    StoredFile,
    Unavailable,
    check_retain_until,
)
from kustosz.storage.s3_client import PART_WORKERS
from kustosz.storage.s3_deadline import Cut
from kustosz.storage.s3_lock import GOVERNANCE, S3Lock, log
from kustosz.storage.s3_payload import payload_sha256

MULTIPART_THRESHOLD = 32 << 20  # above this a file goes up in parts (retried part by part)
PART_SIZE = 8 << 20  # S3's smallest part is 5 MiB (all but the last)
META_SHA256 = "sha256"  # x-amz-meta-sha256: the whole content's hash, for any upload kind


class S3Upload(S3Lock):
    """Uploads, each verified before it is handed back; the sizes are the store's own
    (`S3Storage` sets them)."""

    multipart_threshold: int
    part_size: int
    conditional: bool | None = None  # `conditional_writes`, once asked
    body_checked: bool | None = None  # the store refuses a body unlike its signed SHA-256
    lock_kept: bool = False  # a single PUT's lock found kept by this store, by a HEAD
    _looked: set[str] | None = None  # keys `look_ahead` found free, not yet put

    def look_ahead(self, keys: list[str]) -> None:
        """Where the PUT cannot refuse a taken key itself (no conditional writes: Ceph RGW
        16), look at ``keys`` now, while the caller waits for other work of their files (the
        sound check, ingest/sound_first.py); the `put` of a key found free here does not look
        again. Any failure is left to `put`, which then looks itself."""
        try:
            if not self._checked:
                self.prepare()
            if self.conditional_writes():
                return
            free = {key for key in keys if not self.exists(key)}
        except Exception:  # put looks, and reports, itself
            return
        if self._looked is None or len(self._looked) > 10_000:  # those never put: refused
            self._looked = set()
        self._looked |= free

    def _looked_free(self, key: str) -> bool:
        looked = self._looked
        if looked is None or key not in looked:
            return False
        looked.discard(key)
        return True

    def put(self, key: str, source: BinaryIO | Path, *, durable: bool = True,
            move: bool = False, sha256: str | None = None,
            retain_until: datetime | None = None, legal_hold: bool = False) -> StoredFile:
        """Upload, verify (HEAD: size, our SHA-256 and the store's checksum), and only then
        hand back what was stored. A stream is spooled to scratch first, hashed on the way:
        the upload must be repeatable and its size known.

        At most `uploads` of them at once in the process, whichever thread asks: the others
        wait for a place before their first request, so no call's deadline counts the wait.
        One that failed for the store (`Unavailable`: unreachable, past its deadline, not
        verified) fails the uploads waiting meanwhile without trying them: a store that
        stalls holds its callers for one deadline, not one per waiting file (the intakes
        keep those files in the local spool, kustosz.ingest.upload_queue)."""
        self._inside(key)
        check_retain_until(retain_until, datetime.now(UTC))
        if not self._checked:
            self.prepare()
        failures = self.upload_failures
        with self.in_flight:
            if self.upload_failures != failures:
                raise Unavailable(
                    f"another upload to {self._where()} failed while the upload of {key} "
                    "waited for its turn; it was not tried",
                    pl=f"Inne przesłanie do magazynu obiektów nie powiodło się, gdy {key} "
                       "czekał na swoją kolej; tego pliku nie wysyłano.")
            try:
                return self._put(key, source, move=move, sha256=sha256,
                                 retain_until=retain_until, legal_hold=legal_hold)
            except Unavailable:
                self.upload_failures += 1
                raise

    def _put(self, key: str, source: BinaryIO | Path, *, move: bool, sha256: str | None,
             retain_until: datetime | None, legal_hold: bool) -> StoredFile:
        spooled: Path | None = None
        try:
            if isinstance(source, Path):
                path = source
                size, digest = _hash_file(path) if sha256 is None else \
                    (path.stat().st_size, sha256)
            else:
                self.scratch.mkdir(parents=True, exist_ok=True)
                spooled = self.scratch / f"{uuid.uuid4().hex}.part"
                size, digest = _spool(source, spooled)
                path = spooled
            # No overwritten key: the PUT's own condition where the store keeps it (one
            # request, and no gap between a look and the write); else a HEAD first.
            single = size <= self.multipart_threshold
            if not (single and self.conditional_writes()) and not self._looked_free(key) \
                    and self.exists(key):
                raise KeyTaken(key)
            # The bucket's owner (the sweep's account, where the app's is another account:
            # Ceph) must be able to read and delete what the app wrote.
            args: dict[str, Any] = {"Bucket": self.bucket, "Key": self._object(key),
                                    "Metadata": {META_SHA256: digest},
                                    "ACL": "bucket-owner-full-control"}
            if retain_until is not None:
                args["ObjectLockMode"] = GOVERNANCE
                args["ObjectLockRetainUntilDate"] = retain_until
            # Material a hold already covers when it arrives: the app's identity may not
            # touch legal holds (a PUT carrying one needs s3:PutObjectLegalHold, which would
            # let it switch them off too); the sweeper sets it (holds/object_lock.py).
            legal_hold = legal_hold and self.deleting
            if legal_hold:
                args["ObjectLockLegalHoldStatus"] = "ON"
            if not single:
                version, checksum = self._multipart(key, path, size, args)
            else:
                version, checksum = self._single(key, path, size, digest, args)
            if not (single and self._proven(version, retain_until, legal_hold)):
                head = self._verify(key, version, size, digest, checksum)
                self._check_lock(key, version, retain_until, legal_hold, head)
                if single and retain_until is not None and \
                        head.get("ObjectLockRetainUntilDate") is not None:
                    self.lock_kept = True
        finally:
            if spooled is not None:
                spooled.unlink(missing_ok=True)
        if move and isinstance(source, Path):
            source.unlink(missing_ok=True)
        return StoredFile(key, size, digest, version)

    def _proven(self, version: str | None, retain_until: datetime | None,
                legal_hold: bool) -> bool:
        """A single PUT the store has answered needs no HEAD: the store checked its body
        against the signed SHA-256, its version is in the answer, and the store was seen to
        keep the lock such a PUT carries."""
        return bool(self.body_checked) and version is not None and not legal_hold and \
            (retain_until is None or self.lock_kept)

    def _single(self, key: str, path: Path, size: int, digest: str, args: dict[str, Any]
                ) -> tuple[str | None, str | None]:
        """``key``: the vault's, for messages; ``args``: the request's (Key= the store's)."""
        checksum = base64.b64encode(bytes.fromhex(digest)).decode()
        try:
            with path.open("rb") as body, self._errors("upload", key, size=size), \
                    payload_sha256(digest):
                # only to a store found to keep it: one that knows no such header may
                # refuse the request rather than ignore the header
                got = self._s3.put_object(Body=body, ContentLength=size,
                                          ChecksumSHA256=checksum, **args,
                                          **({"IfNoneMatch": "*"} if self.conditional else {}))
        except InputError as exc:
            if "PreconditionFailed" in str(exc):
                raise KeyTaken(key) from None
            raise
        return got.get("VersionId"), checksum

    def conditional_writes(self) -> bool:
        """Whether the store refuses a PUT whose condition does not hold (If-None-Match: *
        on a taken key: SeaweedFS 4, AWS S3; Ceph RGW 16 ignores the header). Asked once, by
        a PUT that can be written by no store that checks either a condition or a body: a
        made-up key under ``kustosz-probe/`` with an If-Match no object has, a body whose
        signed SHA-256 and checksum are wrong. A store that keeps conditions answers
        PreconditionFailed (or NoSuchKey); one that ignores them refuses the body (Ceph:
        XAmzContentSHA256Mismatch; SeaweedFS checks the checksum). Unreachable: raised, and
        asked again at the next upload."""
        if self.conditional is None:
            self.conditional, self.body_checked = self._probe_conditions()
        return self.conditional

    def _probe_conditions(self) -> tuple[bool, bool]:
        """(conditional writes, body checked). A store that refused the probe for its
        condition is asked about bodies by a second probe, without a condition."""
        try:
            self._probe_put("conditional writes", IfMatch=f'"{"0" * 32}"')
        except FileNotFoundError:  # no such key: the condition was looked at
            return True, self._probe_body()
        except (InputError, Refused) as exc:
            if "PreconditionFailed" in str(exc):
                return True, self._probe_body()
            return False, _body_refused(exc)
        log.warning("the object store %s took a probe whose condition and body were both "
                    "wrong: it checks neither; keys are looked up before each upload, and "
                    "each upload is read back", self._where())
        return False, False

    def _probe_body(self) -> bool:
        try:
            self._probe_put("body checks")
        except (InputError, Refused) as exc:
            return _body_refused(exc)
        log.warning("the object store %s took a body unlike its signed SHA-256 and "
                    "checksum: each upload is read back", self._where())
        return False

    def _probe_put(self, what: str, **condition: str) -> None:
        """A PUT under ``kustosz-probe/`` whose body's signed SHA-256 and checksum are both
        wrong: no store that checks either keeps it."""
        wrong = hashlib.sha256(b"kustosz: not this body").digest()
        probe = f"kustosz-probe/{uuid.uuid4()}"
        with self._errors(f"probe {what} at", probe), payload_sha256(wrong.hex()):
            self._s3.put_object(Bucket=self.bucket, Key=self._object(probe), Body=b"probe",
                                ChecksumSHA256=base64.b64encode(wrong).decode(), **condition)

    def _multipart(self, key: str, path: Path, size: int, args: dict[str, Any]
                   ) -> tuple[str | None, str | None]:
        """Parts with their own SHA-256 (the store checks each); the lock is given when the
        upload is created and so carried by the object it completes into. A failure aborts
        the upload: no part is left behind to be billed or found."""
        # one deadline for the whole upload, its parts in flight at once included
        call = Cut(self.limits.for_size(size))
        try:
            return self._parts(key, path, size, args, call)
        finally:
            call.disarm()

    def _parts(self, key: str, path: Path, size: int, args: dict[str, Any], call: Cut
               ) -> tuple[str | None, str | None]:
        name = args["Key"]  # the store's (prefix + key); messages name ``key`` by _errors
        with self._errors("start an upload of", key, cut=call):
            upload = self._s3.create_multipart_upload(ChecksumAlgorithm="SHA256", **args)
        upload_id = upload["UploadId"]
        count = max(1, -(-size // self.part_size))

        def send(number: int) -> tuple[dict[str, Any], bytes]:
            with path.open("rb") as f:
                f.seek((number - 1) * self.part_size)
                chunk = f.read(self.part_size)
            raw = hashlib.sha256(chunk).digest()
            checksum = base64.b64encode(raw).decode()
            with self._errors(f"upload part {number} of", key, cut=call), \
                    payload_sha256(raw.hex()):
                got = self._s3.upload_part(
                    Bucket=self.bucket, Key=name, UploadId=upload_id, PartNumber=number,
                    Body=chunk, ChecksumSHA256=checksum)
            return {"PartNumber": number, "ETag": got["ETag"], "ChecksumSHA256": checksum}, raw

        try:
            # A few parts in flight at once, as `aws s3 cp` does: one request at a time leaves
            # the link idle while the store acknowledges each part.
            with ThreadPoolExecutor(min(PART_WORKERS, count),
                                    thread_name_prefix="kustosz-s3-part") as pool:
                sent = list(pool.map(send, range(1, count + 1)))
            parts = [part for part, _raw in sent]
            sums = [raw for _part, raw in sent]
            with self._errors("complete the upload of", key, cut=call):
                done = self._s3.complete_multipart_upload(
                    Bucket=self.bucket, Key=name, UploadId=upload_id,
                    MultipartUpload={"Parts": parts})
        except BaseException:
            with contextlib.suppress(Exception), self._errors("abort the upload of", key):
                self._s3.abort_multipart_upload(Bucket=self.bucket, Key=name,
                                                UploadId=upload_id)
            raise
        composite = base64.b64encode(hashlib.sha256(b"".join(sums)).digest()).decode()
        return done.get("VersionId"), f"{composite}-{len(sums)}"

    def _verify(self, key: str, version: str | None, size: int, digest: str,
                checksum: str | None) -> dict[str, Any]:
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": self._object(key),
                                "ChecksumMode": "ENABLED"}
        if version:
            args["VersionId"] = version
        with self._errors("verify", key):
            head = self._s3.head_object(**args)
        problems = []
        if head.get("ContentLength") != size:
            problems.append(f"size {head.get('ContentLength')} instead of {size}")
        if head.get("Metadata", {}).get(META_SHA256) != digest:
            problems.append("SHA-256 metadata differs")
        stored = head.get("ChecksumSHA256")
        # A store that keeps checksums must report the one sent (whole or part-composite).
        if stored and checksum and stored.split("-")[0] != checksum.split("-")[0]:
            problems.append("the store's SHA-256 checksum differs")
        if version is None:
            problems.append("no version id (is versioning on?)")
        if problems:
            raise Unavailable(f"the upload of {key} to {self._where()} did not "
                              f"verify: {', '.join(problems)}",
                              pl=f"Przesłanie {key} do magazynu obiektów nie zostało "
                                 f"potwierdzone: {', '.join(problems)}.")
        return head  # type: ignore[no-any-return]

    def sync(self) -> None:
        """Nothing to do: the store acknowledges a PUT once it is stored."""


# What a store answers to a body unlike its signed SHA-256 or its checksum header.
BODY_REFUSALS = ("XAmzContentSHA256Mismatch", "BadDigest", "XAmzContentChecksumMismatch",
                 "InvalidDigest")


def _body_refused(exc: Exception) -> bool:
    return any(code in str(exc) for code in BODY_REFUSALS)


def _spool(stream: BinaryIO, dest: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with dest.open("wb") as out:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _hash_file(path: Path) -> tuple[int, str]:
    with path.open("rb") as f:
        digest = hashlib.file_digest(f, "sha256")
        return f.tell(), digest.hexdigest()
