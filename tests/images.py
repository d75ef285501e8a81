"""Real image files for tests, made with Pillow: small ones, and phone-sized JPEGs of a given size."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png(width: int = 4, height: int = 3, *, seed: int = 0) -> bytes:
    """A valid PNG whose pixels (and so hash) depend on ``seed``."""
    pixels = np.random.default_rng(seed).integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def encoded(kind: str, *, seed: int = 0) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format=kind)
    return out.getvalue()


def jpeg_of_about(size_bytes: int, *, seed: int = 0) -> bytes:
    """A noise JPEG (noise hardly compresses, like a detailed phone photo) of about ``size_bytes``."""
    rng = np.random.default_rng(seed)

    def make(side: int) -> bytes:
        pixels = rng.integers(0, 256, size=(side, side, 3), dtype=np.uint8)
        out = io.BytesIO()
        Image.fromarray(pixels).save(out, format="JPEG", quality=95)
        return out.getvalue()

    sample = make(256)
    side = int(256 * (size_bytes / len(sample)) ** 0.5)
    return make(side)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_claiming(width: int, height: int, *, pixel_data: bytes | None = None) -> bytes:
    """A PNG whose header claims ``width`` × ``height`` (8-bit greyscale) over whatever data follows:
    by default a single row, so a tiny file claims a huge picture."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    data = zlib.compress(pixel_data if pixel_data is not None else b"\x00" * (width + 1), 9)
    return PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")


def decompression_bomb(side: int = 8000) -> bytes:
    """``side``² pixels of zeros compressed to a few tens of kilobytes: every row present and valid."""
    raw = (b"\x00" + b"\x00" * side) * side
    return png_claiming(side, side, pixel_data=raw)
