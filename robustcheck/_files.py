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

A leaf module (standard library, numpy and :mod:`robustcheck.errors` only) so that
results, comparison and the pytest plugin share one reader and one validator.
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
import secrets
import stat
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ResultFileError

__all__ = ["MAX_DEPTH", "MAX_FILE_BYTES", "MAX_SAMPLES", "check_run", "dumps",
           "load_comparison_dict", "pack", "read_json", "unpack", "write_atomic"]

MAX_FILE_BYTES = 2 * 1024**3
"""Larger files are refused unread (a 100,000-sample audit of 100 rows writes ~10 MB)."""
MAX_DEPTH = 64
"""Deepest JSON nesting accepted; a result needs 6 levels, a tabular example 8."""
MAX_SAMPLES = 2**31 - 1
"""Largest ``data.n`` accepted: the per-sample arrays are indexed with int32 codes."""

DAMAGED = ("the file is damaged or was edited: write it again with RunResult.to_json, "
           "or re-run the audit")
_INTEGER = ("i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8")
_FLOAT = ("f2", "f4", "f8")
_DTYPES = ("bool", *_INTEGER, *_FLOAT)
_SURROGATE = re.compile("[\ud800-\udfff]")
_REQUIRED_METRICS = ("coverage", "crash_rate", "failure_rate")
_CLEAN_METRICS = ("self_disagreement", "accuracy", "mae", "crash_rate")


class _Bad(Exception):
    """What is wrong, at which place in the JSON; the caller adds the file's name."""


# -- compact arrays --------------------------------------------------------------------


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


# -- what a value may be -----------------------------------------------------------------


@dataclass(frozen=True)
class _Kind:
    name: str
    test: Callable[[Any], bool]


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_number(x: Any) -> bool:
    if isinstance(x, float):
        return math.isfinite(x)
    return _is_int(x) and abs(x) < 2**63  # larger ones overflow float() and int64


STR = _Kind("a string", lambda x: isinstance(x, str))
BOOL = _Kind("true or false", lambda x: isinstance(x, bool))
COUNT = _Kind("a count (an integer >= 0)", lambda x: _is_int(x) and 0 <= x < 2**63)
SEED = _Kind("a seed (an integer >= 0)", lambda x: _is_int(x) and x >= 0)
NUMBER = _Kind("a number", _is_number)
MAYBE_NUMBER = _Kind("a number or null", lambda x: x is None or _is_number(x))
MAYBE_BOOL = _Kind("true, false or null", lambda x: x is None or isinstance(x, bool))
MAYBE_STR = _Kind("a string or null", lambda x: x is None or isinstance(x, str))
OBJECT = _Kind("an object", lambda x: isinstance(x, dict))
MAYBE_OBJECT = _Kind("an object or null", lambda x: x is None or isinstance(x, dict))
ARRAY = _Kind("an array", lambda x: isinstance(x, list))


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


def _at(where: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{where}[{key}]"
    return f"{where}.{key}" if where else key


def _field(obj: Mapping[str, Any], where: str, key: str, kind: _Kind,
           optional: bool = False) -> Any:
    place = _at(where, key)
    if key not in obj:
        if optional:
            return None
        raise _Bad(f"{place} is missing")
    value = obj[key]
    if not kind.test(value):
        raise _Bad(f"{place} is {_describe(value)}, expected {kind.name}")
    return value


def _each(values: list[Any], where: str, kind: _Kind) -> None:
    for i, value in enumerate(values):
        if not kind.test(value):
            raise _Bad(f"{_at(where, i)} is {_describe(value)}, expected {kind.name}")


def _metric(obj: Mapping[str, Any], where: str, key: str, optional: bool = False) -> None:
    m = _field(obj, where, key, OBJECT, optional)
    if m is not None:
        place = _at(where, key)
        for part in ("value", "low", "high"):
            _field(m, place, part, MAYBE_NUMBER)
        _field(m, place, "n", COUNT)


# -- a run result --------------------------------------------------------------------------


def check_run(d: Any, name: str, schema_version: int) -> None:
    """Raise :class:`ResultFileError` (starting with ``name``) unless ``d`` is a run result
    of ``schema_version`` that every reader can use: each field of the type readers
    expect, every per-sample array of length ``data.n`` and the dtype its meaning needs,
    class codes within ``classes``. Keys added later by newer versions are allowed."""
    if not isinstance(d, dict) or d.get("kind") != "robustcheck.run":
        raise ResultFileError(f"{name}: not a robustcheck run result (no kind "
                              "'robustcheck.run')")
    if d.get("schema_version") != schema_version:
        raise ResultFileError(
            f"{name}: schema_version {_short(d.get('schema_version'))} is not supported by "
            f"this robustcheck (it reads version {schema_version}); re-run the audit")
    try:
        _check_run(d)
    except _Bad as bad:
        raise ResultFileError(f"{name}: {bad}; {DAMAGED}") from None


def _check_run(d: dict[str, Any]) -> None:
    data = _field(d, "", "data", OBJECT)
    _field(data, "data", "fingerprint", STR)
    n = _field(data, "data", "n", COUNT)
    _field(data, "data", "modality", STR)
    if n > MAX_SAMPLES:
        raise _Bad(f"data.n is {n}, more than the {MAX_SAMPLES} samples robustcheck reads")
    _field(d, "", "name", STR)
    _field(d, "", "seed", SEED)
    _field(d, "", "complete", BOOL)
    _field(d, "", "task", STR)
    for key in ("model", "perturbations", "environment", "timings"):
        _field(d, "", key, OBJECT)
    _field(d, "", "thresholds", MAYBE_OBJECT, optional=True)
    _each(_field(d, "", "severities", ARRAY), "severities", NUMBER)
    _each(list(d["perturbations"].values()), "perturbations", OBJECT)
    _check_stopped(d)
    _check_listings(d)
    classes = len(_field(d, "", "classes", ARRAY))
    labelled = _check_clean(_field(d, "", "clean", OBJECT), n, classes)
    rows = _field(d, "", "rows", ARRAY)
    for i, row in enumerate(rows):
        _check_row(row, _at("rows", i), n, classes, labelled)
    _check_timings(d["timings"])


def _check_stopped(d: Mapping[str, Any]) -> None:
    stopped = _field(d, "", "stopped", MAYBE_OBJECT, optional=True)
    if stopped is not None:
        _field(stopped, "stopped", "kind", STR)
        _field(stopped, "stopped", "message", STR)


def _check_listings(d: Mapping[str, Any]) -> None:
    """The worst examples and the recorded crashes, as the report reads them."""
    examples = _field(d, "", "examples", OBJECT)
    for name in examples:
        _each(_field(examples, "examples", name, ARRAY), _at("examples", name), OBJECT)
    crashes = _field(d, "", "crashes", ARRAY)
    _each(crashes, "crashes", OBJECT)
    for i, crash in enumerate(crashes):
        where = _at("crashes", i)
        _field(crash, where, "perturbation", MAYBE_STR)
        _field(crash, where, "severity", MAYBE_NUMBER, optional=True)
        _field(crash, where, "index", COUNT, optional=True)
        _field(crash, where, "type", STR)
        _field(crash, where, "message", STR)


def _check_clean(clean: Mapping[str, Any], n: int, classes: int) -> bool:
    """The clean pass; True when it holds class labels, False for regression values."""
    _array(clean, "clean", "ok", n, ("bool",))
    if ("labels" in clean) == ("values" in clean):
        raise _Bad("clean holds neither labels nor values (or both): exactly one is "
                   "written for a classifier or a regressor")
    labelled = "labels" in clean
    if labelled:
        _codes(_array(clean, "clean", "labels", n, _INTEGER), "clean.labels", classes)
        _codes(_array(clean, "clean", "truth", n, _INTEGER, optional=True), "clean.truth",
               classes)
        _array(clean, "clean", "confidence", n, _FLOAT, optional=True)
    else:
        _array(clean, "clean", "values", n, _FLOAT)
        _array(clean, "clean", "truth", n, _FLOAT, optional=True)
    for key in ("answered", "crashes"):
        _field(clean, "clean", key, COUNT, optional=True)
    for key in _CLEAN_METRICS:
        _metric(clean, "clean", key, optional=True)
    return labelled


def _check_row(row: Any, where: str, n: int, classes: int, labelled: bool) -> None:
    if not isinstance(row, dict):
        raise _Bad(f"{where} is {_describe(row)}, expected an object")
    _field(row, where, "perturbation", STR)
    _field(row, where, "severity", NUMBER)
    _field(row, where, "expectation", STR)
    _field(row, where, "model_calls", COUNT)
    _field(row, where, "passed", MAYBE_BOOL, optional=True)
    _each(_field(row, where, "violations", ARRAY, optional=True) or [],
          _at(where, "violations"), STR)
    _field(row, where, "details", MAYBE_OBJECT, optional=True)
    metrics = _field(row, where, "metrics", OBJECT)
    for key in _REQUIRED_METRICS:
        _field(metrics, _at(where, "metrics"), key, OBJECT)
    for key in metrics:
        _metric(metrics, _at(where, "metrics"), key)
    _check_inputs(row, where, n)
    samples = _field(row, where, "samples", OBJECT)
    at = _at(where, "samples")
    for key in ("changed", "crashed", "failed"):
        _array(samples, at, key, n, ("bool",))
    if labelled:
        _codes(_array(samples, at, "labels", n, _INTEGER), _at(at, "labels"), classes)
        _array(samples, at, "score_of_clean", n, _FLOAT, optional=True)
        if "values" in samples:
            raise _Bad(f"{at} holds values, but the clean pass holds class labels")
    else:
        _array(samples, at, "values", n, _FLOAT)
        for key in ("labels", "score_of_clean"):
            if key in samples:
                raise _Bad(f"{at} holds {key}, but the clean pass holds regression values")


def _check_inputs(row: Mapping[str, Any], where: str, n: int) -> None:
    inputs = _field(row, where, "inputs", MAYBE_OBJECT, optional=True) or {}
    for key in inputs:
        if not (key.isascii() and key.isdigit() and int(key) < n):
            raise _Bad(f"{_at(where, 'inputs')} has key {_short(key)}, expected a sample "
                       f"index below {n}")


def _check_timings(timings: Mapping[str, Any]) -> None:
    rows = _field(timings, "timings", "rows", ARRAY, optional=True) or []
    _each(rows, "timings.rows", OBJECT)
    for i, lat in enumerate(rows):
        for key in lat:
            if key.startswith("latency"):
                _field(lat, _at("timings.rows", i), key, MAYBE_NUMBER)


def _array(obj: Mapping[str, Any], where: str, key: str, n: int, dtypes: tuple[str, ...],
           optional: bool = False) -> np.ndarray | None:
    """The per-sample array at ``where.key``, checked against ``n`` before inflating it."""
    place = _at(where, key)
    if key not in obj:
        if optional:
            return None
        raise _Bad(f"{place} is missing")
    try:
        dtype, declared, blob = _header(obj[key])
        if dtype not in dtypes:
            raise _Bad(f"has dtype {dtype!r}, expected one of {', '.join(dtypes)}")
        if declared != n:
            raise _Bad(f"has {declared} entries, expected {n} (data.n)")
        return _decode(dtype, declared, blob)
    except _Bad as bad:
        raise _Bad(f"{place} {bad}") from None


def _codes(codes: np.ndarray | None, where: str, classes: int) -> None:
    """Class codes index ``classes``; -1 marks a crash."""
    if codes is None or codes.size == 0:
        return
    low, high = int(codes.min()), int(codes.max())
    if low < -1 or high >= classes:
        bad = low if low < -1 else high
        raise _Bad(f"{where} holds class code {bad}, but classes has {classes} entries")


# -- a comparison ------------------------------------------------------------------------


def load_comparison_dict(path: str | os.PathLike[str], *, schema_version: int
                         ) -> dict[str, Any]:
    """A ``robustcheck.comparison`` JSON (``Comparison.to_json``) as a plain dict, read
    like a run result (bounded, validated), ready for ``report.render_comparison``."""
    label = str(path)
    d = read_json(path, expected="a robustcheck comparison JSON")
    if not isinstance(d, dict) or d.get("kind") != "robustcheck.comparison":
        raise ResultFileError(f"{label}: not a robustcheck comparison (no kind "
                              "'robustcheck.comparison')")
    if d.get("schema_version") != schema_version:
        raise ResultFileError(
            f"{label}: comparison schema_version {_short(d.get('schema_version'))} is not "
            f"supported (this robustcheck reads version {schema_version}); compare again")
    try:
        _check_comparison(d)
    except _Bad as bad:
        raise ResultFileError(f"{label}: {bad}; the file is damaged or was edited: "
                              "write it again with Comparison.to_json") from None
    return d


def _check_comparison(d: Mapping[str, Any]) -> None:
    _field(d, "", "alpha", NUMBER)
    for side in ("a", "b"):
        s = _field(d, "", side, OBJECT)
        _field(s, side, "name", STR)
        _field(s, side, "score", MAYBE_NUMBER, optional=True)
        _field(s, side, "complete", BOOL, optional=True)
    _field(d, "", "data", OBJECT)
    summary = _field(d, "", "summary", OBJECT)
    for key in summary:
        _field(summary, "summary", key, COUNT)
    _each(_field(d, "", "unpaired", ARRAY, optional=True) or [], "unpaired", STR)
    rows = _field(d, "", "rows", ARRAY)
    for i, row in enumerate(rows):
        where = _at("rows", i)
        if not isinstance(row, dict):
            raise _Bad(f"{where} is {_describe(row)}, expected an object")
        _field(row, where, "perturbation", STR)
        _field(row, where, "severity", NUMBER)
        _field(row, where, "verdict", STR)
        metrics = _field(row, where, "metrics", OBJECT)
        for name in metrics:
            m = _field(metrics, _at(where, "metrics"), name, OBJECT)
            at = _at(_at(where, "metrics"), name)
            for key in ("delta", "p_value", "p_adjusted"):
                _field(m, at, key, MAYBE_NUMBER, optional=True)
            _field(m, at, "paired_n", COUNT, optional=True)
            for side in ("a", "b"):
                if m.get(side) is not None:
                    _metric(m, at, side)


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
