"""Reading a copy's bundle as a person who received it would search it."""

from __future__ import annotations

from pathlib import Path


def bundle_text(bundle: Path) -> str:
    """Every file of a copy as text: PDFs through pdftotext (their text is compressed),
    the rest as bytes read as Latin-1 (nothing escapes a byte-wise search)."""
    import subprocess

    out = []
    for path in sorted(bundle.rglob("*")):
        if not path.is_file():
            continue
        if path.suffix == ".pdf":
            out.append(subprocess.run(["pdftotext", str(path), "-"], check=True,
                                      capture_output=True, text=True).stdout)
        else:
            out.append(path.read_bytes().decode("latin-1"))
    return "\n".join(out)
