"""Data at rest: the data folder private to Kustosz's own account, and the passwords it must
keep (RTSP, IMAP) sealed with a key under `keys/`."""
