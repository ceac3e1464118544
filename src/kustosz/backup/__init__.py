"""Backup and restore of a whole vault (issue 14, item 5).

A backup is one folder an office's IT administrator can read: the database (SQLite's online
backup API, or `pg_dump`), `kustosz.toml`, the keys encrypted with a passphrase, the media
and the documents, and `kustosz-backup.json`, the manifest with every file's SHA-256 and size,
authenticated with a key derived from the passphrase. A later backup given `--base` (or made
by the schedule under `kustosz serve`) hard-links the media files the previous one already
holds, so each folder is complete on its own and deleting an old one loses nothing.

What the vault deletes after a backup (the retention sweep) is appended to that backup's
`deletions.jsonl`, each line signed with the office's key; a restore applies those deletions,
so material deleted by its period's end does not come back.
"""
