"""Small inline pictures of images for results and reports: PNG ``data:`` URIs.

:func:`thumbnail` turns one image (an array ``(H, W[, C])`` uint8 or float, a PIL image
or an image file's path) into ``data:image/png;base64,...``, downscaled by a box filter
so its longest side is at most :data:`MAX_SIDE` pixels, and smaller again until the URI
fits :data:`TARGET_CHARS`. The PNG is written here with numpy, zlib and struct (no
Pillow needed for arrays); numpy is imported only to encode, so the report, which only
validates, loads without it.

:func:`is_thumbnail` is the report's gate: a result file is hostile data, and only a
string that is exactly a base64 PNG ``data:`` URI of bounded length, which decodes to a
PNG signature and header, may ever go into an ``src`` attribute. Anything else is text.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import struct
import zlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

__all__ = ["MAX_SIDE", "PREFIX", "TARGET_CHARS", "THUMBNAIL_LIMIT", "encode_png",
           "is_thumbnail", "thumbnail", "thumbnail_size"]

PREFIX = "data:image/png;base64,"
MAX_SIDE = 96
TARGET_CHARS = 10_000
"""The encoder shrinks an image further until its URI is at most this long (a 96 x 96
photograph is about 8-12 kB, 64 x 64 about 5 kB): a result keeps one per stored input."""
THUMBNAIL_LIMIT = 24_000
"""The longest URI :func:`is_thumbnail` accepts."""
SIDES = (MAX_SIDE, 64, 48, 32, 24, 16)
SIGNATURE = b"\x89PNG\r\n\x1a\n"
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_COLOUR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type
_CHANNELS = {0: 1, 4: 2, 2: 3, 6: 4}


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def encode_png(pixels: np.ndarray) -> bytes:
    """A PNG file of ``pixels``: uint8 ``(H, W)`` or ``(H, W, C)``, C in 1, 2, 3, 4
    (grey, grey and alpha, RGB, RGBA), 8 bits a channel, each row filtered by "up"."""
    import numpy as np

    if pixels.dtype != np.uint8 or pixels.ndim not in (2, 3) or 0 in pixels.shape[:2]:
        raise ValueError(f"encode_png takes a non-empty uint8 (H, W[, C]) array, got "
                         f"{pixels.dtype} {pixels.shape}")
    img = pixels[:, :, None] if pixels.ndim == 2 else pixels
    height, width, channels = img.shape
    if channels not in _COLOUR_TYPES:
        raise ValueError(f"encode_png takes 1 to 4 channels, got {channels}")
    rows = np.ascontiguousarray(img).reshape(height, width * channels)
    up = rows.copy()
    up[1:] = rows[1:] - rows[:-1]  # filter type 2 ("up"), modulo 256 by uint8 arithmetic
    raw = np.concatenate([np.full((height, 1), 2, dtype=np.uint8), up], axis=1)
    raw[0, 0] = 0  # the first row has nothing above it: no filter
    raw[0, 1:] = rows[0]
    header = struct.pack(">IIBBBBB", width, height, 8, _COLOUR_TYPES[channels], 0, 0, 0)
    return (SIGNATURE + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(raw.tobytes(), 6)) + _chunk(b"IEND", b""))


def _uint8(x: Any) -> np.ndarray | None:
    """An image as uint8 ``(H, W, C)``, C in 1, 3, 4; None when it is not one."""
    import numpy as np

    if isinstance(x, (str, os.PathLike)):
        try:
            from PIL import Image
        except ImportError:
            return None
        try:
            with Image.open(x) as opened:
                opened.load()
                return _uint8(opened.copy())
        except OSError:
            return None
    if not isinstance(x, np.ndarray):
        if any(c.__module__.startswith("PIL.") and c.__name__ == "Image"
               for c in type(x).__mro__):
            if x.mode not in ("L", "RGB", "RGBA"):
                x = x.convert("RGBA" if "A" in x.mode else "RGB")
            x = np.asarray(x)
        else:
            return None
    if x.ndim == 2:
        x = x[:, :, None]
    if x.ndim != 3 or x.shape[2] not in (1, 3, 4) or 0 in x.shape or x.dtype.kind not in "uif":
        return None
    if x.dtype == np.uint8:
        return x
    values = x.astype(np.float64)
    values = np.nan_to_num(values, nan=0.0, posinf=255.0, neginf=0.0)
    if x.dtype.kind == "f" and values.size and float(values.max()) <= 1.0:
        values = values * 255.0
    return np.rint(np.clip(values, 0, 255)).astype(np.uint8)


def _box(pixels: np.ndarray, side: int) -> np.ndarray:
    """``pixels`` shrunk so its longest side is at most ``side``: each output pixel is
    the mean of the block of input pixels it covers."""
    import numpy as np

    height, width = pixels.shape[:2]
    scale = side / max(height, width)
    if scale >= 1:
        return pixels
    h2, w2 = max(1, round(height * scale)), max(1, round(width * scale))
    rows = np.arange(h2) * height // h2
    cols = np.arange(w2) * width // w2
    summed = np.add.reduceat(np.add.reduceat(pixels.astype(np.float32), rows, axis=0),
                             cols, axis=1)
    counts = np.outer(np.diff(np.append(rows, height)), np.diff(np.append(cols, width)))
    return np.rint(summed / counts[:, :, None]).astype(np.uint8)


def thumbnail(x: Any) -> str | None:
    """``x`` as a PNG ``data:`` URI at most :data:`MAX_SIDE` pixels a side and
    :data:`TARGET_CHARS` characters long; None when ``x`` is not an image."""
    pixels = _uint8(x)
    if pixels is None:
        return None
    for side in SIDES:
        pixels = _box(pixels, side)  # each try shrinks the last: cheap after the first
        uri = PREFIX + base64.b64encode(encode_png(pixels)).decode("ascii")
        if len(uri) <= TARGET_CHARS:
            return uri
    return None


def thumbnail_size(value: Any) -> tuple[int, int] | None:
    """``(width, height)`` of a valid thumbnail (see :func:`is_thumbnail`), else None."""
    if not isinstance(value, str) or not value.startswith(PREFIX) \
            or len(value) > THUMBNAIL_LIMIT:
        return None
    payload = value[len(PREFIX):]
    if len(payload) % 4 or not _BASE64.fullmatch(payload):
        return None
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(data) < 33 or not data.startswith(SIGNATURE) or data[12:16] != b"IHDR":
        return None
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    if not (1 <= width <= 4 * MAX_SIDE and 1 <= height <= 4 * MAX_SIDE) \
            or depth != 8 or colour not in _CHANNELS:
        return None
    return width, height


def is_thumbnail(value: Any) -> bool:
    """Whether ``value`` may go into an ``src``: exactly ``data:image/png;base64,``,
    then base64 only, at most :data:`THUMBNAIL_LIMIT` characters, decoding to a PNG
    whose header is sane (8-bit grey, grey and alpha, RGB or RGBA, sides 1-384)."""
    return thumbnail_size(value) is not None
