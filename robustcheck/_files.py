"""Result files that cannot hurt: compact arrays, JSON that is always valid UTF-8, bounded
reading, validation of every field a reader relies on, atomic writes.

A result file is input like any other: it may be truncated, edited by hand, damaged on
disk or made to hurt (a zlib bomb in a packed array, JSON nested a million deep, numbers
past any float, arrays shorter than the data). Reading one gives either data that every
consumer (``RunResult.from_dict``, ``compare``, the report) can use without another
check, or a :class:`~robustcheck.errors.ResultFileError` naming the file and the place
("rows[3].samples.changed has 31 entries, expected 32"). Memory stays bounded by what the
file declares: a packed array is inflated to at most the bytes its ``n`` and ``dtype``
need, and ``n`` must be the result's ``data.n``.

Reading and writing live here; packed arrays in :mod:`robustcheck._packed` and the
validation of a run or a comparison in :mod:`robustcheck._filecheck`, both re-exported.
Leaf modules (standard library, numpy and :mod:`robustcheck.errors` only) so that
results, comparison and the pytest plugin share one reader and one validator.
"""

from __future__ import annotations

import json
import math
import os
import re
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ._filecheck import check_comparison, check_run
from ._packed import DAMAGED, MAX_SAMPLES, _Bad, pack, unpack
from .errors import ResultFileError

__all__ = ["MAX_DEPTH", "MAX_FILE_BYTES", "MAX_SAMPLES", "check_run", "dumps",
           "load_comparison_dict", "pack", "read_json", "unpack", "write_atomic"]

MAX_FILE_BYTES = 2 * 1024**3
"""Larger files are refused unread (a 100,000-sample audit of 100 rows writes ~10 MB)."""
MAX_DEPTH = 64
"""Deepest JSON nesting accepted; a result needs 6 levels, a tabular example 8."""

_SURROGATE = re.compile("[\ud800-\udfff]")


# -- writing -----------------------------------------------------------------------------


def dumps(value: Any, **options: Any) -> str:
    """``json.dumps(value, ensure_ascii=False, **options)`` that is always valid UTF-8.

    A lone surrogate (``"\\ud800"``, common in scraped text and in JSON read with
    Python) cannot be encoded as UTF-8; it is written as the escape ``\\ud800``, which
    :func:`json.loads` reads back to the same string. Everything else stays as
    ``ensure_ascii=False`` writes it, so files without surrogates are unchanged. (Two
    surrogates that form a pair read back as the one character they encode, as in any
    JSON reader.)
    """
    text = json.dumps(value, ensure_ascii=False, **options)
    if text.isascii():
        return text
    # outside string literals JSON text is ASCII, so every surrogate is inside one
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def write_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` as UTF-8 through a temporary file in the same folder and a rename:
    a reader never sees half a file, an interrupted write leaves the old file in place.

    Permissions are those ``open(path, "w")`` gives: a new file gets ``0o666`` less the
    umask (created with that mode, so the kernel applies the umask); a file that is
    replaced keeps its permission bits. Lone surrogates left in ``text`` (JSON writers
    escape them first with :func:`dumps`) become U+FFFD, as a browser would show them.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    data = _utf8(text)
    fd, tmp = _create_beside(target)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())  # the rename must not land before the bytes do
        _keep_mode(target, tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text).encode("utf-8")


def _create_beside(target: Path) -> tuple[int, Path]:
    """A new, empty file next to ``target``, mode 0o666 less the umask."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"{target.parent}: could not create a temporary file next to "
                          f"{target.name}; remove stale .{target.name}.*.tmp files")


def _keep_mode(target: Path, tmp: Path) -> None:
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        return
    os.chmod(tmp, mode)


# -- reading -----------------------------------------------------------------------------


def read_json(path: str | os.PathLike[str], *, name: str | None = None,
              expected: str = "a robustcheck result JSON") -> Any:
    """The JSON value in ``path``, read with bounded memory: files above
    :data:`MAX_FILE_BYTES`, text that is not UTF-8, ``NaN``/``Infinity``, numbers past
    any float and nesting deeper than :data:`MAX_DEPTH` are refused with a
    :class:`ResultFileError` that starts with ``name`` (default: the path)."""
    label = str(path) if name is None else name
    raw = _read_bytes(Path(path), label, expected)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ResultFileError(f"{label}: not UTF-8 text (byte {exc.start}); {expected} "
                              "was expected") from None
    del raw
    try:
        value = json.loads(text, parse_constant=_constant, parse_float=_finite_float)
    except _Bad as bad:
        raise ResultFileError(f"{label}: {bad}; {DAMAGED}") from None
    except json.JSONDecodeError as exc:
        raise ResultFileError(f"{label}: not valid JSON ({exc.msg} at line {exc.lineno}); "
                              f"is it {expected}, complete and not truncated?") from None
    except RecursionError:
        raise ResultFileError(f"{label}: nested deeper than {MAX_DEPTH} levels; {DAMAGED}"
                              ) from None
    except ValueError as exc:  # an integer of more digits than Python converts
        raise ResultFileError(f"{label}: holds a number robustcheck cannot read ({exc}); "
                              f"{DAMAGED}") from None
    if _depth_exceeds(value, MAX_DEPTH):
        raise ResultFileError(f"{label}: nested deeper than {MAX_DEPTH} levels; {DAMAGED}")
    return value


def _read_bytes(path: Path, label: str, expected: str) -> bytes:
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > MAX_FILE_BYTES:
                raise ResultFileError(f"{label}: larger than {MAX_FILE_BYTES} bytes, more "
                                      f"than any result needs; {expected} was expected")
            # read(n) allocates n bytes up front: ask for the size the file reports, then
            # read on in chunks (a pipe reports 0, a file may grow) up to the cap
            chunks = [f.read(size + 1)]
            total = len(chunks[0])
            while total <= MAX_FILE_BYTES and (chunk := f.read(1 << 20)):
                chunks.append(chunk)
                total += len(chunk)
            raw = b"".join(chunks) if len(chunks) > 1 else chunks[0]
    except FileNotFoundError:
        raise ResultFileError(f"{label}: no such file ({expected} was expected)") from None
    except OSError as exc:
        raise ResultFileError(f"{label}: cannot read it: {exc.strerror or exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise ResultFileError(f"{label}: larger than {MAX_FILE_BYTES} bytes, more than any "
                              f"result needs; {expected} was expected")
    return raw


def _constant(token: str) -> Any:
    raise _Bad(f"holds {token}, which JSON does not allow (robustcheck writes null)")


def _finite_float(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        raise _Bad(f"holds the number {token[:40]}, out of the range of a float")
    return value


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Iterative, so that checking a deep value cannot itself hit the recursion limit."""
    stack = [(value, 1)] if isinstance(value, (dict, list)) else []
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return False


def load_comparison_dict(path: str | os.PathLike[str], *, schema_version: int
                         ) -> dict[str, Any]:
    """A ``robustcheck.comparison`` JSON (``Comparison.to_json``) as a plain dict, read
    like a run result (bounded, validated), ready for ``report.render_comparison``."""
    d = read_json(path, expected="a robustcheck comparison JSON")
    check_comparison(d, str(path), schema_version)
    return d


# -- data values as JSON -----------------------------------------------------------------


def plain(value: Any) -> Any:
    """A numpy scalar as the Python scalar it holds; anything else as it is."""
    return value.item() if isinstance(value, np.generic) else value


def jsonable(value: Any) -> Any:
    """A JSON-safe form of a data value: NaN, infinities and missing markers (None, NaN,
    NaT, pd.NA) become None, timestamps ISO text, containers are converted deeply."""
    value = plain(value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if type(value).__name__ in ("NAType", "NaTType"):
        return None
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
