"""MPEG-TS files written by others, for the check of whether a camera's segment carries sound.

The files are kept in tests/corpus/mpegts as hex text (two hex digits a byte, 32 bytes a
line), because the repository holds no binary files; where each one comes from, its licence
and what it holds: tests/corpus/mpegts/README.md. ``corpus_ts`` turns one back into its bytes,
checks them against the SHA-256 below (the README's) and writes them out. Never written or
edited here."""

from __future__ import annotations

import hashlib
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "mpegts"

# Each file's SHA-256, of its original bytes (as tests/corpus/mpegts/README.md gives it).
SHA256: dict[str, str] = {
    # H.264 and AAC (0x1B, 0x0F); its PAT and PMT come after 40 packets of them
    "muxjs-test-middle-pat-pmt.ts": (
        "275f7f16e6d1aabeccd05c36df2ff52bf7805b31be27632a1dcf5e9b1803a666"
    ),
    # the PMT names H.264 and AAC (0x1B, 0x0F), but no packet of the AAC PID is sent
    "muxjs-test-no-audio-segment.ts": (
        "165da2a1e4f55b42a8dc8da339e198a83e5b4d063e95e5b2dc18cf7f5fb776c5"
    ),
    # H.264 alone (0x1B)
    "shaka-hls-multivideo-blue_1.ts": (
        "d67511145e8629c0cac0e321efdc9bed9a43ab0506d3cf24e6172a0806c0f52f"
    ),
    # H.264 and AAC (0x1B, 0x0F)
    "shaka-hls-text-offset-video-0000000072.ts": (
        "fe2ee48b4f62048098252152d4b277e0955fda7edee054baf87fdb952b1151f6"
    ),
    # H.264 and MPEG-1 audio (MP3) (0x1B, 0x03); the PMT names ID3 (0x15), none is sent
    "shaka-hls-ts-muxed-mp3-h264-seg-1-v1-a1.ts": (
        "32a4525e2bfc1168c198aaf861a85b8cfe15e1b15fc230347e5659493c74a996"
    ),
    # H.264 and Opus as private data (0x1B, 0x06 with an "Opus" registration descriptor)
    "shaka-hls-ts-muxed-opus-h264-file3.ts": (
        "709bd77e55a2f1199d235c18547150fd12573917253829d93600b2105a9fc4f8"
    ),
    # sound alone: AAC and ID3 timed metadata (0x0F, 0x15)
    "shaka-id3-metadata.ts": "dc467c533acc8fa7937d2c7da3fd1510826e14800a0f64c519de3f510bf4b2cf",
    # H.264 alone (0x1B), from another muxer (PMT on PID 0x20)
    "shaka-video.ts": "98aefa21b2814eb5750742abb0cce69888e074c0eec0b0bee233194079cb7327",
}


def corpus_ts(name: str, dest: Path) -> Path:
    """The corpus file ``name`` (e.g. ``"shaka-video.ts"``) written as bytes to dest/name,
    once checked against its SHA-256; its path."""
    if name not in SHA256:
        raise KeyError(f"{name}: not in tests/corpus/mpegts")
    text = (CORPUS / f"{name}.hex").read_text("ascii")
    data = bytes.fromhex("".join(text.split()))
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256[name]:
        raise ValueError(f"{name}: SHA-256 {digest}, not the corpus's {SHA256[name]}")
    path = dest / name
    path.write_bytes(data)
    return path
