"""What an uploaded photo really is: decoded with Pillow, within a pixel budget.

A file's first bytes say little: HTML can follow a PNG signature, a 1×1 PNG can claim to be
100,000 × 100,000 pixels, and a few kilobytes of compressed zeros can decode to gigabytes. So the
header is parsed by Pillow, the claimed size is checked against the budget before any pixel is
decoded, and then the image data is decoded (JPEG at 1/8 scale, which still reads every byte of
the stream) so that a truncated or corrupt file is refused too. The type served later is the type
found here, never the one the client declared.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, UnidentifiedImageError

from grid_service.errors import ValidationFailed, field_error

TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


class PhotoRefused(ValidationFailed):
    """The bytes are not a photo the service keeps."""


def inspect_photo(data: bytes, *, declared: str, max_pixels: int) -> str:
    """The content type of ``data`` (equal to ``declared``); PhotoRefused otherwise.

    CPU-bound and memory-bound by ``max_pixels``: run it in a thread, one at a time per worker.
    """
    with warnings.catch_warnings():
        # Pillow's own bomb guard warns (or raises) far above our budget; ours decides first.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=tuple(TYPES))
        except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as exc:
            raise _refused(f"the bytes are not {declared}", "not a JPEG, PNG or WebP image") from exc
        with image:
            found = TYPES.get(image.format or "")
            if found != declared:
                raise _refused(f"the bytes are not {declared}", f"the content is {found or 'another format'}")
            width, height = image.size
            if width * height > max_pixels:
                raise _refused(
                    f"the photo is {width} × {height} pixels; at most {max_pixels} pixels are taken",
                    "too many pixels",
                    kind="too_many_pixels",
                )
            try:
                if found == "image/jpeg":
                    image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
                image.load()
            except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
                raise _refused("the photo is truncated or corrupt", "cannot be decoded") from exc
    return found


def _refused(message: str, detail: str, *, kind: str = "invalid_image") -> PhotoRefused:
    return PhotoRefused(message, details=[field_error(["body"], detail, kind)])
