"""One byte range of a media file (RFC 9110 §14): a player asks a copy's video in ranges, and a
download cut short is resumed by one. Each request's access record holds the bytes of its
range, not the whole file's."""

from __future__ import annotations

import re

from fastapi.responses import JSONResponse, Response

from kustosz.web.media import NO_STORE


class BadRange(Exception):
    """A Range header a media route does not take (issue 28: a clear answer, nothing served,
    nothing counted or recorded)."""

    def __init__(self, status: int, en: str, pl: str) -> None:
        super().__init__(en)
        self.status, self.en, self.pl = status, en, pl


_RANGE = re.compile(r"bytes=(\d{0,18})-(\d{0,18})")


def parse_range(header: str | None) -> tuple[int | None, int | None] | None:
    """One byte range of ``Range`` (RFC 9110 §14.1.2): (first, last) either of which may be
    open, or None without the header. Several ranges, other units or a malformed one: 400."""
    if header is None:
        return None
    m = _RANGE.fullmatch(header.strip())
    if m is None or (not m[1] and not m[2]):
        raise BadRange(400, f"malformed Range header {header[:60]!r}: one range of bytes, "
                            "bytes=FIRST-[LAST] or bytes=-SUFFIX",
                       "Nieprawidłowy nagłówek Range: jeden zakres bajtów (bytes=OD-[DO] "
                       "albo bytes=-ILE); niczego nie wysłano.")
    first, last = (int(m[1]) if m[1] else None), (int(m[2]) if m[2] else None)
    if first is not None and last is not None and last < first:
        raise BadRange(400, f"malformed Range header {header[:60]!r}: the last byte comes "
                            "before the first",
                       "Nieprawidłowy nagłówek Range: koniec zakresu przed jego początkiem; "
                       "niczego nie wysłano.")
    return first, last


def byte_span(spec: tuple[int | None, int | None] | None, size: int) -> tuple[int, int]:
    """The bytes to send, [start, end), of a file of ``size`` bytes; 416 beyond its end."""
    if spec is None:
        return 0, size
    first, last = spec
    if first is None:  # the last ``last`` bytes
        if not last or size == 0:
            raise BadRange(416, "the Range asks for no bytes of the file",
                           "Zakres bajtów (Range) jest pusty; niczego nie wysłano.")
        return max(0, size - last), size
    if first >= size:
        raise BadRange(416, f"the Range starts at byte {first}, beyond the file's {size} bytes",
                       f"Zakres bajtów (Range) zaczyna się za końcem pliku ({size} B); "
                       "niczego nie wysłano.")
    return first, size if last is None else min(size, last + 1)


def bad_range(exc: BadRange, size: int | None = None) -> Response:
    headers = dict(NO_STORE)
    if size is not None:
        headers["Content-Range"] = f"bytes */{size}"
    return JSONResponse({"detail": exc.en, "detail_pl": exc.pl}, status_code=exc.status,
                        headers=headers)
