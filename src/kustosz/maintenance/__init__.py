"""Upkeep of the object store that needs the open vault: the bucket check and the
backfill of version ids, run as maintenance jobs above the vault (docs/design.md, layers)."""
