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

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kustosz.db.models import Recording, Setting
from kustosz.errors import ConfigError
from kustosz.states import RecordingState
from kustosz.storage.durable import write_atomic
from kustosz.vault import Vault

MARK = ".kustosz-folder"
KEY = "cluster.data_folder"


def _identity(vault: Vault) -> str:
    mark = vault.root / MARK
    try:
        found = mark.read_text("ascii").strip()
    except FileNotFoundError:
        found = ""
    if not found:
        found = uuid.uuid4().hex
        write_atomic(mark, found)
        mark.chmod(0o600)
    return found


def _holds_newest_media(vault: Vault) -> bool | None:
    """Does this folder's store hold the newest stored recording? None: nothing is stored."""
    with vault.reading() as s:
        key = s.execute(select(Recording.storage_key).where(
            Recording.state == RecordingState.STORED).order_by(
            Recording.id.desc()).limit(1)).scalar_one_or_none()
    return None if key is None else vault.storage.exists(key)


def check_shared_folder(vault: Vault, node: str) -> None:
    """Refuse (ConfigError, English and Polish) a node whose data folder is not the cluster's
    on local-folder storage; nothing to check with an object store."""
    if vault.config.s3 is not None:
        return
    mine = _identity(vault)
    for _attempt in range(3):
        try:
            with vault.transaction() as s:
                row = s.get(Setting, KEY, with_for_update=True)
                if row is None:
                    s.add(Setting(key=KEY, value=mine))
                    return
                if row.value == mine:
                    return
            break
        except IntegrityError:  # another node's first start at the same instant
            continue
    if _holds_newest_media(vault):
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
