"""Per-sample arrays in compact form (``pack``/``unpack``), and the words for what is
wrong with a value of a result file (:class:`_Bad`, ``_describe``).

Unpacking inflates no more bytes than an array's declared ``n`` and ``dtype`` need, so a
zlib bomb is refused before it can fill memory. The lowest of the result-file modules
(numpy and :mod:`robustcheck.errors` only): :mod:`robustcheck._filecheck` validates with
it, :mod:`robustcheck._files` reads and writes with both.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from .errors import ResultFileError

MAX_SAMPLES = 2**31 - 1
"""Largest ``data.n`` accepted: the per-sample arrays are indexed with int32 codes."""

DAMAGED = ("the file is damaged or was edited: write it again with RunResult.to_json, "
           "or re-run the audit")
_INTEGER = ("i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8")
_FLOAT = ("f2", "f4", "f8")
_DTYPES = ("bool", *_INTEGER, *_FLOAT)


class _Bad(Exception):
    """What is wrong, at which place in the JSON; the caller adds the file's name."""


def pack(array: np.ndarray) -> dict[str, Any]:
    """A JSON-ready, compressed form of a 1-d array (booleans as bits)."""
    array = np.ascontiguousarray(array)
    if array.dtype == bool:
        raw, dtype = np.packbits(array).tobytes(), "bool"
    else:
        dtype = array.dtype.str.lstrip("<>=|")
        raw = array.astype(array.dtype.newbyteorder("<")).tobytes()
    return {"dtype": dtype, "n": len(array),
            "zlib": base64.b64encode(zlib.compress(raw, 6)).decode("ascii")}


def unpack(packed: Mapping[str, Any]) -> np.ndarray:
    """The array :func:`pack` made. Inflates no more bytes than the declared ``n`` and
    ``dtype`` need, so a zlib bomb is refused before it can fill memory; any damage is a
    :class:`ResultFileError` saying what is wrong."""
    try:
        return _decode(*_header(packed))
    except _Bad as bad:
        raise ResultFileError(f"packed array {bad}; {DAMAGED}") from None


def _header(packed: Any) -> tuple[str, int, str]:
    if not isinstance(packed, Mapping):
        raise _Bad(f"is {_describe(packed)}, expected a packed array (an object with "
                   "dtype, n and zlib)")
    for key in ("dtype", "n", "zlib"):
        if key not in packed:
            raise _Bad(f"has no {key}")
    dtype, n, blob = packed["dtype"], packed["n"], packed["zlib"]
    if not isinstance(dtype, str) or dtype not in _DTYPES:
        raise _Bad(f"has dtype {_short(dtype)}, expected one of {', '.join(_DTYPES)}")
    if not _is_int(n) or not 0 <= n <= MAX_SAMPLES:
        raise _Bad(f"has n {_short(n)}, expected a count of samples")
    if not isinstance(blob, str):
        raise _Bad(f"has zlib {_describe(blob)}, expected base64 text")
    return dtype, n, blob


def _decode(dtype: str, n: int, blob: str) -> np.ndarray:
    try:
        compressed = base64.b64decode(blob, validate=True)
    except ValueError:  # binascii.Error, or text that is not ASCII
        raise _Bad("has zlib data that is not base64") from None
    itemsize = 1 if dtype == "bool" else np.dtype(dtype).itemsize
    size = (n + 7) // 8 if dtype == "bool" else n * itemsize
    raw = _inflate(compressed, size)
    if len(raw) < size:
        held = f"{8 * len(raw)} or fewer" if dtype == "bool" else str(len(raw) // itemsize)
        raise _Bad(f"has {held} entries, expected {n} (its n)")
    if dtype == "bool":
        return np.unpackbits(np.frombuffer(raw, dtype=np.uint8), count=n).astype(bool)
    little = np.dtype(dtype).newbyteorder("<")
    return np.frombuffer(raw, dtype=little).astype(np.dtype(dtype))


def _inflate(compressed: bytes, size: int) -> bytes:
    """At most ``size`` bytes out of a complete zlib stream, or :class:`_Bad`."""
    inflater = zlib.decompressobj()
    try:
        # one byte more than needed tells "too long" apart (and 0 would mean no limit)
        raw = inflater.decompress(compressed, size + 1)
    except zlib.error as exc:
        raise _Bad(f"has zlib data that does not inflate ({exc})") from None
    if len(raw) > size or inflater.unconsumed_tail:
        raise _Bad(f"inflates to more than the {size} bytes its n and dtype declare")
    if not inflater.eof:
        raise _Bad("has a zlib stream that is cut short")
    if inflater.unused_data:
        raise _Bad("has bytes after the end of its zlib stream")
    return raw


# -- describing a value ----------------------------------------------------------------


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _describe(x: Any) -> str:
    if x is None:
        return "null"
    if isinstance(x, bool):
        return str(x).lower()
    if isinstance(x, str):
        return f"a string ({_short(x)})"
    if isinstance(x, (int, float)):
        return f"a number ({_short(x)})"
    return "an array" if isinstance(x, list) else "an object"


def _short(x: Any) -> str:
    text = repr(x)
    return text if len(text) <= 40 else text[:37] + "..."
