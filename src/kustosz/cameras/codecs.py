"""Which video codecs a browser plays (the web player, HLS): the recorder reports whether a
camera's stream is one of them and the dashboard says so in Polish."""

from __future__ import annotations

BROWSER_CODECS = frozenset({"h264"})
