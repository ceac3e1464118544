"""A vault: one data folder with its configuration, database, storage and policy."""

from __future__ import annotations

import fcntl
import logging
import os
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from kustosz.atrest.modes import Repair, make_private
from kustosz.atrest.sealing import SecretBox, read_key
from kustosz.atrest.vault_key import open_secrets
from kustosz.audit import log as audit
from kustosz.audit import witness
from kustosz.config import CONFIG_NAME, TEMPLATE, VaultConfig, read_config
from kustosz.config_fallback import FILE, InForce, RulesRefused, choose, start_text
from kustosz.config_schema.policy_file import as_policy_tables
from kustosz.db.engine import make_engine, normalise_url, sqlite_url
from kustosz.db.migrate import upgrade
from kustosz.db.models import Alert, Setting
from kustosz.db.settings import put_setting
from kustosz.errors import ConfigError
from kustosz.index.expiry import redate_all
from kustosz.keys import fingerprint, office_key
from kustosz.policy import Policy, load_policy
from kustosz.storage import Storage, data_folder_store
from kustosz.storage.base import Unavailable
from kustosz.storage.s3 import S3Storage, object_store
from kustosz.vault_services import Services

log = logging.getLogger(__name__)
SYSTEM = "system"


def _absolute(root: Path) -> Path:
    """The data folder as an absolute path, fixed once when the vault is opened.

    Every path derived from it (storage, spools, bundles, documents) is then absolute too:
    a relative one would be read against whatever folder the reader happens to use — ffmpeg's
    concat list resolves its names against the list file's own folder in /tmp (issue 12: a
    copy of camera material failed with `--data demo-data`), and a process that changes its
    working folder would lose the vault.
    """
    return Path(os.path.abspath(os.path.expanduser(root)))


LOCK_NAME = "serve.lock"
# Who may hold a data folder, as its lock file names them for the next one refused.
HOLDERS = ("serve", "recover", "offices adopt")


@contextmanager
def hold_folder(root: Path, what: str) -> Iterator[None]:
    """Hold the data folder for one process that recovers and records (serve, recover), or
    moves it (offices adopt).

    Recovery undoes intakes that look interrupted; run beside a live `serve` it would undo
    serve's own, and two `serve`s would record every camera twice; a folder moved under a
    running `serve` would lose what it writes. The lock is released by the kernel if the
    holder dies, so a crash never leaves the folder locked.
    """

    handle = (root / LOCK_NAME).open("a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            pid, _, holder = handle.read().strip().partition(" ")
            holder = holder if holder in HOLDERS else "serve"
            known = f" (PID {pid})" if pid.isdigit() else ""
            raise ConfigError(
                f"cannot run {what}: kustosz {holder} is already running on {root}"
                f"{known} and holds this vault; stop it first (under systemd: systemctl "
                "stop kustosz)",
                pl=f"Nie można uruchomić {what}: inny proces kustosz {holder}{known} już "
                   f"działa na skarbcu {root} i go zajmuje; najpierw go zatrzymaj "
                   "(w systemd: systemctl stop kustosz).") from None
        # who holds it, for the next one refused (the lock, not this text, is what counts)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()} {what}\n")
        handle.flush()
        yield
    finally:
        handle.close()


class Vault:
    def __init__(self, root: Path, config: VaultConfig, policy: Policy, engine: Engine) -> None:
        self.root = root
        self.config = config
        self.policy = policy
        self.engine = engine
        # any Storage (kustosz.storage.base): media/, or the object store [storage] names
        self.storage: Storage = data_folder_store(root) if config.s3 is None \
            else object_store(config.s3, root)
        self._deleting: Storage | None = None  # the sweep's view (deleting_storage)
        # False in `kustosz serve` with [storage] sweep = "separate": this process never
        # reads the sweep's credentials and never sweeps (kustosz.retention.sweeper does).
        self.may_delete = True
        self.head_file = root / "audit.head"
        # "data_root" lets code that gets only a session find the data folder (the search
        # of mail and events reads the open chunks in its spool); "secrets" lets it seal a
        # password it stores (set by open(): a vault is never used without its key).
        self._info: dict[str, object] = {"data_root": root}
        # "vault": holds and re-dating set the object store's lock through it, and a hold
        # queues the job that sets its legal holds once it commits (holds/object_lock.py).
        self._info["vault"] = self
        # The per-vault services, made on first use by their owners (kustosz.vault_services).
        self.services = Services()
        self._sessions = sessionmaker(engine, expire_on_commit=False, info=self._info)
        self._found_key: SecretBox | None = None  # keys/ as `offline` read it
        self._repaired: Repair | None = None  # modes closed by `offline`, told by `connect`
        self.connected = True  # False from `offline` until `connect` succeeds
        # How many times serve's reload put a changed kustosz.toml in force (`reload`): a
        # loop that idles until something changes looks again when it grows.
        self.reloads = 0
        # What serve's start runs on when its file is refused (kustosz.config_fallback)
        self.in_force = InForce(FILE)

    @property
    def store_is_remote(self) -> bool:
        """The store is an object store: an upload that fails leaves its file in the local
        spool (kustosz.ingest.upload_queue), and disk pressure frees only that spool."""
        return isinstance(self.storage, S3Storage)

    @property
    def secrets(self) -> SecretBox:
        box = self._info.get("secrets")
        if not isinstance(box, SecretBox):
            raise RuntimeError("the vault's secrets key is not loaded (use Vault.open)")
        return box

    @secrets.setter
    def secrets(self, box: SecretBox) -> None:
        self._info["secrets"] = box

    # -- opening -----------------------------------------------------------------------
    @classmethod
    def init(cls, root: Path, preset: str | None, database_url: str = "", actor: str = SYSTEM,
             preset_file: str | None = None, storage_toml: str = "") -> Vault:
        """``preset_file``: the text of an office's own preset file instead of a ``preset``,
        copied into kustosz.toml as its [policy] tables (issue 51 item 1). ``storage_toml``:
        keys put first in its [storage] table (an installation's shared object store and the
        office's prefix: kustosz.installation)."""
        root = _absolute(root)
        tables = as_policy_tables(preset_file) if preset_file is not None else ""
        # An unknown preset or a bad file fails before anything is written.
        policy = load_policy(preset, tomllib.loads(preset_file) if preset_file else None)
        if database_url:
            normalise_url(database_url)
        if (root / CONFIG_NAME).exists():
            raise ConfigError(f"{root} already holds a vault ({CONFIG_NAME} exists)",
                              pl=f"W {root} już jest skarbiec (istnieje {CONFIG_NAME}); "
                                 "wskaż inny folder w --data.")
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        make_private(root)  # a folder made beforehand (0755, another owner) is closed or refused
        fd = os.open(root / CONFIG_NAME, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            text = TEMPLATE.format(preset=preset or "", database_url=database_url)
            f.write(text.replace("\n[storage]\n", f"\n[storage]\n{storage_toml}", 1))
            f.write(f"\n# The office's regulation (kustosz init --preset-file).\n{tables}"
                    if tables else "")
        vault = cls.open(root, actor=actor)
        # The first entry names the office key, so a key swapped later contradicts it.
        key = fingerprint(office_key(root).public_key())
        with vault.transaction() as s:
            audit.append(s, actor, "vault.init", str(root),
                         {"preset": preset, "policy_digest": policy.digest(), "key": key,
                          "preset_file": preset_file is not None})
        return vault

    @classmethod
    def open(cls, root: Path, actor: str = SYSTEM, forget_lost_key: bool = False) -> Vault:
        vault = cls.offline(root)
        try:
            vault.connect(actor, forget_lost_key)
        except BaseException:
            vault.close()
            raise
        return vault

    @classmethod
    def offline(cls, root: Path, fallback: bool = False) -> Vault:
        """The vault's files without its database: configuration, policy, the secrets key as
        keys/ holds it (not yet checked against the fingerprint the database remembers) and
        an engine that has not connected. `kustosz serve` started while the database is away
        records from it (kustosz.ingest.camera.last_register) until `connect` succeeds;
        nothing else may use it before. ``fallback`` (serve's start): a refused kustosz.toml
        gives way to its last good copy or to defaults (kustosz.config_fallback)."""
        root = _absolute(root)
        # first: never touch the modes of a folder that is no vault
        if fallback:
            config, policy, chosen = choose(root)
            if chosen.kind != FILE:  # said at once; the alert once the database answers
                log.error("%s", start_text(chosen, "en"))
        else:
            config = read_config(root)
            policy, chosen = load_policy(config.preset, config.policy_overrides), InForce(FILE)
        repaired = make_private(root)
        found_key = read_key(root)  # unreadable or malformed: refused before any migration
        url = config.database_url or sqlite_url(root / "kustosz.db")
        vault = cls(root, config, policy, make_engine(url))
        vault.in_force = chosen
        vault._found_key, vault._repaired = found_key, repaired
        if found_key is not None:
            vault.secrets = found_key
        vault.connected = False
        return vault

    def connect(self, actor: str = SYSTEM, forget_lost_key: bool = False) -> None:
        """What opening needs the database for: migrations, the secrets key checked against
        the database, the store prepared, the policy's changes noted. Raises while the
        database is away (kustosz.db.outage.is_database_away); may be tried again."""
        # A schema newer than this program (a later Kustosz ran here) is refused before
        # anything is written: `upgrade` checks first (kustosz.db.migrate.refuse_newer).
        upgrade(self.engine)
        # An object store's credentials are read here and its bucket checked (versioning,
        # Object Lock) before anything is stored in it.
        self.secrets = open_secrets(self, self._found_key, actor, forget_lost_key)
        try:
            self.storage.prepare()
        except Unavailable as exc:
            # The store is away, not wrong: recording goes on into the local spool
            # (kustosz.ingest.upload_queue) and the bucket is checked before the first
            # upload. A bucket without the lock or refused credentials still stop here.
            log.warning("%s; segments wait in the local spool until it answers", exc)
        if self._repaired:
            self._report_repair(self._repaired, actor)
            self._repaired = None
        try:
            self._notice_policy_change(actor)
        except ConfigError as exc:  # a kind the register holds left without a period
            raise RulesRefused(str(exc), pl=exc.pl) from None
        self.connected = True

    def use(self, config: VaultConfig, policy: Policy, chosen: InForce) -> None:
        """Other settings before `connect` (serve's start falling back once the database
        refused the rules of its file: kustosz.config_in_force.connect)."""
        self.config, self.policy, self.in_force = config, policy, chosen
        self.storage = data_folder_store(self.root) if config.s3 is None \
            else object_store(config.s3, self.root)

    def deleting_storage(self) -> Storage:
        """The store as the sweep sees it: on an object store opened with [storage]
        delete_credentials_file (deletion by version id after each retain-until, legal
        holds; no governance bypass), which the web app never loads; the local folder has
        one view for all."""
        if self.config.s3 is None:
            return self.storage
        if not self.may_delete:
            raise ConfigError(
                'this process does not delete from the object store: with [storage] sweep = '
                '"separate" only `kustosz sweeper` holds the sweep\'s credentials',
                pl='Ten proces nie usuwa z magazynu obiektów: przy [storage] sweep = '
                   '"separate" dane dostępowe do usuwania ma tylko `kustosz sweeper`.')
        if self._deleting is None:  # opened once, when the first deletion needs it
            store = object_store(self.config.s3, self.root, deleting=True)
            store.prepare()
            self._deleting = store
        return self._deleting

    def close(self) -> None:
        self.services.close()
        self.engine.dispose()

    # -- transactions ------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: committed whole (with its audit entries) or not at all."""
        session = self._sessions()
        try:
            yield session
            session.commit()
            head = session.info.get("audit_head")
            if head:
                audit.write_head(self.head_file, *head)
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
        if session.info.get("custody_action"):
            witness.after_custody(self)  # a signed checkpoint to the witness; never raises

    @contextmanager
    def reading(self) -> Iterator[Session]:
        session = self._sessions()
        try:
            session.connection(execution_options={"kustosz_read": True})
            yield session
        finally:
            # close(), not rollback(): rows read stay usable after the block.
            session.close()

    def _report_repair(self, repair: Repair, actor: str) -> None:
        shown = ", ".join(repair.changed[:5]) + (" …" if len(repair.changed) > 5 else "")
        log.warning("the data folder %s was readable by other local accounts; closed %d "
                    "files and folders (%s)", self.root, len(repair.changed), shown)
        with self.transaction() as s:
            audit.append(s, actor, "vault.modes_repaired", str(self.root),
                         {"count": len(repair.changed), "examples": repair.changed[:5]})

    # -- policy ------------------------------------------------------------------------
    def reload(self, config: VaultConfig, policy: Policy, actor: str) -> None:
        """Put a changed kustosz.toml in force while serve runs (kustosz.cli.serve_reload):
        a changed policy is noted and re-dates the index exactly as at opening (a shorter
        period counts for deletion only once two people approved it: the audit log's record,
        kustosz.holds.record). Fails whole: the config and policy in force stay."""
        before = self.config, self.policy
        self.config, self.policy = config, policy
        try:
            self._notice_policy_change(actor)
        except BaseException:
            self.config, self.policy = before
            raise
        self.reloads += 1

    def _notice_policy_change(self, actor: str) -> None:
        """Record a changed policy in the audit log and re-date what it governs."""
        digest = self.policy.digest()
        with self.reading() as s:
            known = s.get(Setting, "policy_digest")
            if known is not None and known.value == digest:
                return
        with self.transaction() as s:
            known = s.get(Setting, "policy_digest")
            if known is not None and known.value == digest:
                return
            previous = s.get(Setting, "policy")
            changed = redate_all(s, self.policy)
            details = {"preset": self.policy.preset, "digest": digest,
                       "policy": self.policy.as_dict(), "recordings_redated": changed}
            if previous is not None:
                details["previous"] = previous.value
            if known is not None:
                audit.append(s, actor, "policy.changed", self.policy.office_name, details)
            put_setting(s, "policy_digest", digest)
            put_setting(s, "policy", audit.canonical(self.policy.as_dict()))

    @contextmanager
    def exclusive(self, what: str) -> Iterator[None]:
        """Hold the data folder for one process that recovers and records (serve, recover):
        `hold_folder`."""
        with hold_folder(self.root, what):
            yield

    def now(self) -> datetime:
        return datetime.now(UTC)

    def alerts_open(self) -> list[str]:
        with self.reading() as s:
            return [a.message for a in s.execute(
                select(Alert).where(Alert.cleared_at.is_(None))).scalars()]
