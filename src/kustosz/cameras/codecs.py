"""Which video codecs a browser plays (the web player, HLS): the recorder reports whether a
camera's stream is one of them, the dashboard and the cameras' page say so in Polish, and a
camera whose stream changes its codec is an alert of its own (issue 64: a camera switched to
H.265 was told only in the log, and the office learned of it when playback failed)."""

from __future__ import annotations

BROWSER_CODECS = frozenset({"h264"})
# ffmpeg's codec names (what the recorder reads off a segment) as people know them
_NAMES = {"h264": "H.264", "hevc": "H.265 (HEVC)", "mjpeg": "MJPEG", "mpeg4": "MPEG-4",
          "av1": "AV1", "vp8": "VP8", "vp9": "VP9"}


def codec_name(codec: str | None) -> str:
    return _NAMES.get(codec or "", codec or "nieznany")


def browser_plays(codec: str | None) -> bool:
    return codec in BROWSER_CODECS


def change_pl(camera: str, before: str | None, now: str | None) -> str:
    """The alert's words for a camera whose stream changed its codec."""
    text = (f"Kamera „{camera}” przesyła obraz w kodeku {codec_name(now)} (wcześniej "
            f"{codec_name(before)}); nagrywanie trwa")
    if browser_plays(now):
        return text + ", a przeglądarka znów odtwarza jej obraz."
    return (text + ", ale przeglądarki nie odtwarzają tego kodeku: nagrań z niej nie da się "
            "odtworzyć ani oglądać na żywo na stronie. Jeśli to nie była zamierzona zmiana, "
            "ustaw w kamerze kodek H.264.")
