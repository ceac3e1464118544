"""Which data folders the nodes of one cluster may use.

With [storage] kind = "s3" the media are in the object store: each node may have a data folder
of its own (its own spool, uploads, lock; the configuration, the secrets key and the
credentials files copied to each), and a camera moving between nodes keeps one timeline that
every node reads from the bucket. With the local folder store the media are files under the
data folder's `media/`: a node with a folder of its own would record a camera onto its own
disk, and after a hand-over the camera's timeline would be split between machines, half of it
unreadable from each. So on local storage every node must use the same data folder (one
machine, or one shared mount), and `serve --node` refuses a folder that is not the one the
cluster's media are in.

The folder is recognised by an identity file in it (`.kustosz-folder`, made at the first
node's start and kept in vault_settings as `cluster.data_folder`); a folder with another
identity is still accepted when it holds the newest stored recording's file (the same media,
e.g. a shared mount seen under another path, or a restored copy of the folder).
"""

from __future__ import annotations

import contextlib
import os
import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kustosz.db.models import Recording, Setting
from kustosz.errors import ConfigError
from kustosz.fsutil import fsync_file
from kustosz.states import RecordingState
from kustosz.vault import Vault

MARK = ".kustosz-folder"
KEY = "cluster.data_folder"


def _identity(vault: Vault, create: bool) -> str | None:
    """The folder's identity; made (``create``) once, by whichever node's start gets there
    first: the file is linked into place only if absent, so two nodes starting at once on one
    folder read the same one."""
    mark = vault.root / MARK
    with contextlib.suppress(FileNotFoundError):
        return mark.read_text("ascii").strip() or None
    if not create:
        return None
    tmp = vault.root / f"{MARK}.{uuid.uuid4().hex}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, uuid.uuid4().hex.encode("ascii"))
        fsync_file(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, mark)
    except FileExistsError:
        pass  # another node's start made it meanwhile: that one is the folder's
    finally:
        tmp.unlink(missing_ok=True)
    return mark.read_text("ascii").strip() or None


def _holds_newest_media(vault: Vault) -> bool | None:
    """Does this folder's store hold the newest stored recording? None: nothing is stored."""
    with vault.reading() as s:
        key = s.execute(select(Recording.storage_key).where(
            Recording.state == RecordingState.STORED).order_by(
            Recording.id.desc()).limit(1)).scalar_one_or_none()
    return None if key is None else vault.storage.exists(key)


def check_shared_folder(vault: Vault, node: str) -> None:
    """Before the node registers, changing nothing: refuse (ConfigError, English and Polish)
    a data folder that is not the cluster's on local-folder storage; nothing to check with an
    object store.

    The cluster's identity is read before this folder's: a node claiming this same folder
    meanwhile links the file into place before it stores the row, so a row seen here means
    its file is seen too. Read the other way round, a claim falling between the two reads
    refused a node on the very folder it shares."""
    if vault.config.s3 is None:
        cluster = _cluster_folder(vault)
        _judge(vault, node, cluster, _identity(vault, create=False))


def claim_folder(vault: Vault, node: str) -> None:
    """Once the node registered: the first node's folder becomes the cluster's (two new
    folders starting at once: the second is refused here)."""
    if vault.config.s3 is not None:
        return
    mine = _identity(vault, create=True)
    with contextlib.suppress(IntegrityError), vault.transaction() as s:
        if s.get(Setting, KEY) is None:
            s.add(Setting(key=KEY, value=mine))
    _judge(vault, node, _cluster_folder(vault), mine)


def _cluster_folder(vault: Vault) -> str | None:
    """The identity of the folder the cluster's media are in; None before any node claimed."""
    with vault.reading() as s:
        row = s.get(Setting, KEY)
        return None if row is None else row.value


def _judge(vault: Vault, node: str, cluster: str | None, mine: str | None) -> None:
    if cluster is None or cluster == mine or _holds_newest_media(vault):
        return
    raise ConfigError(
        f"node {node}: its data folder {vault.root} is not the one the other nodes keep the "
        "media in, and with local-folder storage ([storage] without kind = \"s3\") media are "
        "files in the data folder: a camera handed over to this node would continue its "
        "timeline on this machine's disk, unreadable from the others. Give every node the "
        "same data folder (one machine, or one shared mount), or keep the media in an object "
        "store (kind = \"s3\"), where each node may have a folder of its own",
        pl=f"Węzeł {node}: jego folder danych {vault.root} nie jest tym, w którym pozostałe "
           "węzły przechowują nagrania, a przy przechowywaniu w folderze lokalnym ([storage] "
           "bez kind = \"s3\") nagrania są plikami w folderze danych: kamera przejęta przez "
           "ten węzeł nagrywałaby dalej na dysk tego komputera, niedostępny z pozostałych. "
           "Wszystkim węzłom podaj ten sam folder danych (jeden komputer albo jeden wspólny "
           "zasób sieciowy) albo przechowuj nagrania w magazynie obiektów (kind = \"s3\"), "
           "gdzie każdy węzeł może mieć własny folder.")
