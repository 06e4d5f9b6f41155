"""The checks and hashes behind the text and tabular modalities
(:mod:`robustcheck.modalities`): validating texts, frames and labels, hashing rows, and
telling changed rows from unchanged ones, nullable dtypes included. A leaf: numpy, pandas
(imported when needed) and the errors only."""

from __future__ import annotations

import functools
import operator
import reprlib
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any

import numpy as np

from .errors import InvalidArgument

__all__ = ["changed_rows", "check_column_names", "column_keys", "hash_rows", "is_frame",
           "labels_of", "pack_rows", "texts_of", "unit_keys", "untouched_columns"]


def is_frame(x: Any) -> bool:
    return type(x).__name__ == "DataFrame" and type(x).__module__.startswith("pandas")


def _is_series(x: Any) -> bool:
    return type(x).__name__ == "Series" and type(x).__module__.startswith("pandas")


def _refuse_unordered(value: Any, name: str, fix: str) -> None:
    """A dict or a set is no data set: iterating one gives its keys, in an order that a
    set does not even keep from run to run, so samples could not be tied to labels."""
    if isinstance(value, Mapping):
        raise InvalidArgument(f"{name} is a dict; {fix}")
    if isinstance(value, (set, frozenset)):
        raise InvalidArgument(
            f"{name} is a set, which has no order (samples could not be tied to their "
            f"labels, positions or seeds); pass a list, e.g. sorted({name})")


def texts_of(inputs: Any, labels: Any) -> list[str]:
    if isinstance(inputs, (str, bytes)):
        raise InvalidArgument(
            "inputs is a single string; pass a list of strings (one per sample)")
    _refuse_unordered(inputs, "inputs", "pass a list of texts, a pandas Series, or a "
                      "DataFrame (e.g. pandas.DataFrame(inputs))")
    if isinstance(labels, str):
        raise InvalidArgument(
            f"labels={labels!r} names a column, but inputs is not a DataFrame; pass "
            "the labels themselves (a list or array)")
    try:  # a generator is read once, like a list, as scikit-learn's text vectorisers do
        data = list(inputs.tolist() if _is_series(inputs) or isinstance(inputs, np.ndarray)
                    else inputs)
    except TypeError:
        raise InvalidArgument(
            f"inputs must be a list of strings, a pandas Series or a DataFrame; got "
            f"{type(inputs).__name__}") from None
    bad = next((i for i, x in enumerate(data) if not isinstance(x, str)), None)
    if bad is not None:
        raise InvalidArgument(
            f"inputs[{bad}] is {data[bad]!r} ({type(data[bad]).__name__}); text inputs "
            "must all be strings: fill or drop missing texts first")
    return data


def check_column_names(frame: Any) -> None:
    """Two columns with one name make ``frame[name]`` a frame, not a column."""
    repeated = frame.columns[frame.columns.duplicated()].unique()
    if len(repeated):
        names = repeated.tolist()[:20]
        positions = [int(i) for i in np.flatnonzero(frame.columns.isin(repeated))][:20]
        raise InvalidArgument(
            f"inputs has duplicated column names {names!r} (at positions {positions}); "
            "rename them so that every column has its own name")


def labels_of(labels: Any, n: int, column: Any = None) -> np.ndarray:
    """One plain Python label per input, none missing."""
    _refuse_unordered(labels, "labels", "pass a list or array with one label per input, "
                      "in the order of inputs")
    if isinstance(labels, Iterator):  # a generator: read once, like the inputs
        labels = list(labels)
    truth = np.asarray(labels.tolist() if _is_series(labels) else labels, dtype=object)
    if truth.ndim != 1 or len(truth) != n:
        raise InvalidArgument(
            f"labels has {truth.size} entries for {n} inputs; pass one label "
            "per input (or labels=None)")
    _refuse_missing(truth, column)
    return _normalise_labels(truth)


def _refuse_missing(truth: np.ndarray, column: Any) -> None:
    """A missing label cannot be scored: accuracy would count every answer to it wrong."""
    import pandas as pd

    missing = np.flatnonzero(pd.isna(truth))  # None, NaN, pd.NA and NaT, in one C loop
    if missing.size == 0:
        return
    first = int(missing[0])
    where = f"labels[{first}]" if column is None else f"labels[{first}] (column {column!r})"
    count = f"{missing.size} missing label{'s' if missing.size > 1 else ''}"
    fix = ("drop those samples" if column is None
           else f"drop those rows, e.g. inputs.dropna(subset=[{column!r}]),")
    raise InvalidArgument(f"{where} is {_missing_name(truth[first])} ({count}); {fix} or "
                          "pass labels=None")


def _missing_name(value: Any) -> str:
    import pandas as pd

    if value is None:
        return "None"
    if value is pd.NA:
        return "pd.NA"
    if value is pd.NaT or isinstance(value, (np.datetime64, np.timedelta64)):
        return "NaT"
    return "NaN"


def _normalise_labels(arr: np.ndarray) -> np.ndarray:
    """Plain Python scalars (numpy.int64 -> int), so labels compare and serialise."""
    out = np.empty(len(arr), dtype=object)
    out[:] = [x.item() if isinstance(x, np.generic) else x for x in arr.tolist()]
    return out


def hash_rows(frame: Any) -> np.ndarray:
    """One 64-bit hash per row. Frames pandas hashes (all but a few) hash as they always
    have, so fingerprints stay comparable with older results."""
    import pandas as pd

    try:
        return np.asarray(pd.util.hash_pandas_object(frame, index=False).to_numpy())
    except (TypeError, ValueError):  # a column pandas cannot hash: one column at a time
        pass
    out = np.zeros(len(frame), dtype=np.uint64)
    for j in range(frame.shape[1]):
        out *= np.uint64(0x100000001B3)  # wraps modulo 2**64: column order counts
        out ^= _hash_column(frame.iloc[:, j])
    return out


def _hash_column(column: Any) -> np.ndarray:
    """Hashes of one column's cells. Cells pandas cannot hash (tuples among numbers) are
    hashed by type and repr; a cell Python cannot hash (a list, a dict, an array) is an
    InvalidArgument naming it, since its row could be neither fingerprinted nor compared.
    A per-cell loop, but only for a column pandas refused."""
    import pandas as pd

    try:
        return np.asarray(pd.util.hash_pandas_object(column, index=False).to_numpy())
    except (TypeError, ValueError):
        pass
    values = column.to_numpy(dtype=object)
    texts = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        try:
            hash(value)
        except TypeError:
            raise InvalidArgument(
                f"inputs column {column.name!r} holds values that cannot be hashed: row {i} "
                f"is {reprlib.repr(value)} (a {type(value).__name__}); convert lists to "
                f"tuples or strings, e.g. frame[{column.name!r}] = "
                f"frame[{column.name!r}].map(tuple) or .astype(str)") from None
        texts[i] = f"{type(value).__module__}.{type(value).__qualname__}:{value!r}"
    return np.asarray(pd.util.hash_array(texts))


def unit_keys(frame: Any, positions: np.ndarray,
              known: Mapping[int, Callable[[], np.ndarray]] | None = None) -> np.ndarray:
    """A 64-bit key (uint64) of each row of ``frame`` at ``positions``: equal for equal
    rows, different (but for a 64-bit collision) for different ones, the same in every
    process, so shards of a unit can match their rows by key. What the runner keys each
    changed input of a unit by; not :func:`hash_rows`, which fingerprints a data set.

    A row is equal to another when each column has the same name and dtype and holds the
    same cell: the same value of the same type (5, 5.0, "5" and np.int64(5) are four
    cells in an object column; -0.0 is 0.0, NaN is NaN). Each column is read as a whole
    (numbers as their bits, strings hashed in C, an object column type by type) and only
    at ``positions``; the columns are folded into the key one after the other. A cell
    Python cannot hash (a list) raises :class:`InvalidArgument`.

    ``known``: for some column positions, a function giving the cell keys of those
    columns at ``positions`` (:func:`_cell_keys`' values, a new array), e.g. read from
    the clean table's keys for a column the perturbation left alone."""
    n = len(frame)
    positions = np.asarray(positions, dtype=np.intp)
    every = len(positions) == n and np.array_equal(positions, np.arange(n))
    h = np.full(len(positions), _tag("rows", frame.shape[1]), dtype=np.uint64)
    spare = np.empty_like(h)
    labels, dtypes = list(frame.columns), frame.dtypes.tolist()
    with np.errstate(over="ignore"):
        for j in range(frame.shape[1]):
            if known is not None and j in known:
                cells = known[j]()
            else:
                cells = _cell_keys(frame.iloc[:, j], None if every else positions)
            cells ^= _tag("column", _label_text(labels[j]), str(dtypes[j]))
            h ^= cells
            _mix(h, spare)
    return h


def _label_text(label: Any) -> str:
    """A column name as text that is the same in every process (no object address)."""
    if label is None or isinstance(label, (str, int, float, bool, np.generic)):
        return f"{type(label).__name__}:{label!r}"
    if isinstance(label, tuple):
        return "(" + ",".join(_label_text(x) for x in label) + ")"
    return f"{type(label).__module__}.{type(label).__qualname__}"


@functools.lru_cache(maxsize=4096)
def _tag(*parts: Any) -> np.uint64:
    """A 64-bit constant named by ``parts`` (blake2b: the same in every process)."""
    import hashlib

    text = "\x1f".join(str(p) for p in parts).encode("utf-8", "surrogatepass")
    return np.uint64(int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little"))


def _cell_keys(column: Any, positions: np.ndarray | None) -> np.ndarray:
    """A uint64 per cell of ``column`` (at ``positions``), well mixed: equal cells, equal
    keys (see :func:`unit_keys`). A new array, which the caller may change."""
    import pandas as pd

    dtype = column.dtype
    if isinstance(dtype, np.dtype) and dtype.kind != "O":
        values = column.to_numpy()
        if positions is not None:
            values = values[positions]
        return _finished(_plain_identity(values))
    if isinstance(dtype, pd.CategoricalDtype):  # the categories' keys, taken by code
        codes = column.cat.codes.to_numpy()
        if positions is not None:
            codes = codes[positions]
        table = np.append(_cell_keys(pd.Series(dtype.categories, dtype=object), None),
                          _tag("missing", "category"))
        return table.take(codes)  # code -1: the last entry
    if not isinstance(dtype, np.dtype):  # an extension array: hashed by pandas, per cell
        array = column.array if positions is None else column.array.take(positions)
        try:
            return _finished(np.asarray(pd.util.hash_array(array), dtype=np.uint64))
        except (TypeError, ValueError):
            values = np.asarray(array.astype(object), dtype=object)
    else:
        values = column.to_numpy()
        if positions is not None:
            values = values[positions]
    return _object_keys(values)


def _finished(identity: np.ndarray) -> np.ndarray:
    """``identity`` (a uint64 per cell, equal for equal cells) mixed in place."""
    with np.errstate(over="ignore"):
        _mix(identity, np.empty_like(identity))
    return identity


def _plain_identity(values: np.ndarray) -> np.ndarray:
    """A new uint64 array equal exactly where the cells of a numpy array of no object
    dtype are (float bits with one NaN and one zero)."""
    kind = values.dtype.kind
    if kind == "b":
        return values.astype(np.uint64)
    if kind in "iu":
        return values.astype(np.int64 if kind == "i" else np.uint64).view(np.uint64)
    if kind in "mM":
        return values.view(np.int64).astype(np.uint64)  # a copy
    if kind == "f" and values.dtype.itemsize <= 8:
        return _float_identity(values)
    if kind == "c" and values.dtype.itemsize <= 16:
        real = _float_identity(values.real)
        with np.errstate(over="ignore"):
            _mix(real, np.empty_like(real))
            real ^= _float_identity(values.imag)
        return real
    return _object_keys(values.astype(object))  # float128 and the like: by repr


_KNOWN_FLOATS = (float, np.float64, np.float32, np.float16)
_KNOWN_INTS = (int, np.int64, np.int32, np.int16, np.int8, np.uint8, np.uint16, np.uint32)
_KNOWN_BOOLS = (bool, np.bool_)


_TYPE_OF: Any = np.frompyfunc(type, 1, 1)  # type() per cell, in numpy's C loop


def _object_keys(values: np.ndarray) -> np.ndarray:
    """Mixed uint64 keys of the cells of an object array: each cell's type, and its value
    within its type (floats and integers by their bits, strings hashed in C, timestamps
    as integers, other values by their repr)."""
    import pandas as pd

    n = len(values)
    out = np.empty(n, dtype=np.uint64)
    if n == 0:
        return out
    if pd.api.types.infer_dtype(values, skipna=False) == "string":  # str cells only
        groups: list[tuple[Any, Any]] = [(str, slice(None))]
    else:
        groups = _type_groups(_TYPE_OF(values))
    for t, rows in groups:
        identity = _typed_identity(t, values[rows])
        identity ^= _type_tag(t)
        out[rows] = _finished(identity)
    return out


def _type_groups(types: np.ndarray, passes: int = 8) -> list[tuple[Any, Any]]:
    """The cells of each type (a slice when there is one type, else positions). A pass
    of numpy's ``==`` per type for the first few types (a column holds one to three),
    then the rest at once by pandas' hash table."""
    import pandas as pd

    n = len(types)
    groups: list[tuple[Any, Any]] = []
    left = np.arange(n)
    boxed = np.empty((), dtype=object)
    while left.size and len(groups) < passes:
        t = types[left[0]]
        boxed[()] = t  # numpy would read a numpy type as a dtype, not as an object
        mine = np.equal(types if left.size == n else types[left], boxed, dtype=bool)
        if left.size == n and mine.all():
            return [(t, slice(None))]
        groups.append((t, left[mine]))
        left = left[~mine]
    if left.size:  # a column of many types: the rest grouped by a hash table
        codes, found = pd.factorize(types[left])
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(found) + 1))
        groups += [(t, left[order[bounds[k]:bounds[k + 1]]]) for k, t in enumerate(found)]
    return groups


def _typed_identity(t: type, values: np.ndarray) -> np.ndarray:
    """uint64 identities of object cells all of type ``t``. A cell's identity depends on
    that cell alone, never on the other cells (the same row in another shard)."""
    import pandas as pd

    if t is str or t is np.str_:
        return _string_hashes(values)
    if t in _KNOWN_FLOATS:
        return _float_identity(np.asarray(values, dtype=np.float64))
    if t in _KNOWN_BOOLS:
        return np.asarray(values, dtype=bool).astype(np.uint64)
    if t in _KNOWN_INTS:
        if t is not int:  # numpy's fit in int64
            return np.asarray(values, dtype=np.int64).view(np.uint64)
        fits = (np.greater_equal(values, -(2**63), dtype=bool)
                & np.less(values, 2**63, dtype=bool))
        out = np.empty(len(values), dtype=np.uint64)
        out[fits] = np.asarray(values[fits], dtype=np.int64).view(np.uint64)
        if not fits.all():  # beyond int64: by repr
            out[~fits] = _repr_hashes(values[~fits]) ^ _tag("big int")
        return out
    if t in (type(None), type(pd.NA), type(pd.NaT)):
        return np.zeros(len(values), dtype=np.uint64)
    if t is pd.Timestamp:
        return _stamp_identity(values)
    return _repr_hashes(values)


_TZ_OF: Any = np.frompyfunc(operator.attrgetter("tzinfo"), 1, 1)  # in numpy's C loop


def _stamp_identity(values: np.ndarray) -> np.ndarray:
    """Timestamps: the nanoseconds since the epoch and the time zone's name (by repr
    beyond the nanosecond range, years 1677 to 2262)."""
    import pandas as pd

    out = np.empty(len(values), dtype=np.uint64)
    zones = _TZ_OF(values)
    codes, found = pd.factorize(zones, use_na_sentinel=False)  # None: a zone too
    for k, zone in enumerate(found):
        rows = np.flatnonzero(codes == k) if len(found) > 1 else slice(None)
        try:
            nanos = pd.DatetimeIndex(values[rows]).as_unit("ns").asi8
            out[rows] = nanos.view(np.uint64) ^ _tag("stamp", str(zone))
        except (TypeError, ValueError, OverflowError):  # out of range: by repr
            out[rows] = _repr_hashes(values[rows])
    return out


def _type_tag(t: type) -> np.uint64:
    if t is np.str_:  # a str (what a column of only strs is tagged, see _object_keys)
        t = str
    return _tag("type", t.__module__, t.__qualname__)


def _string_hashes(values: np.ndarray) -> np.ndarray:
    """siphash of the UTF-8 of each str (pandas, in C); lone surrogates are kept."""
    import pandas as pd

    try:
        return np.asarray(pd.util.hash_array(values, categorize=False), dtype=np.uint64)
    except UnicodeEncodeError:
        encoded = np.array([v.encode("utf-8", "surrogatepass") for v in values.tolist()]
                           + [b""], dtype=object)[:-1]
        return np.asarray(pd.util.hash_array(encoded, categorize=False), dtype=np.uint64)


def _repr_hashes(values: np.ndarray) -> np.ndarray:
    """Hashes of the reprs of cells of another type (a loop over cells, but only for
    types none of the above reads); a cell Python cannot hash is refused."""
    texts = []
    for i, value in enumerate(values.tolist()):
        try:
            hash(value)
        except TypeError:
            raise InvalidArgument(
                f"a cell cannot be hashed: row {i} of a column is {reprlib.repr(value)} "
                f"(a {type(value).__name__})") from None
        texts.append(repr(value))
    return _string_hashes(np.array([*texts, ""], dtype=object)[:-1])


def changed_rows(before: Any, after: Any, untouched: Collection[int] = ()) -> np.ndarray:
    """Rows whose values differ (missing equal to missing: NaN, None, pd.NA, NaT); every
    row when the schema changed. ``untouched``: positions of columns known to hold the
    same cells in both (see :func:`untouched_columns`), which are not read."""
    n = len(before)
    if not _same_schema(before, after):
        return np.ones(n, dtype=bool)
    out = np.zeros(n, dtype=bool)
    blocks, others = _numpy_blocks(before, skip=untouched)
    for columns in blocks:  # numpy dtypes, many columns at a time (wide frames)
        out |= _block_changed(before.iloc[:, columns].to_numpy(),
                              after.iloc[:, columns].to_numpy())
    for j in others:  # by position: a name may be repeated in ``after``
        out |= _column_changed(before.iloc[:, j], after.iloc[:, j])
    return out


def _same_schema(before: Any, after: Any) -> bool:
    return list(before.columns) == list(after.columns) and list(before.dtypes) == list(
        after.dtypes)


def untouched_columns(before: Any, after: Any) -> list[int]:
    """Positions ``j`` where column ``j`` of ``after`` has the dtype of column ``j`` of
    ``before`` and its cells are the very same memory: what a perturbation left alone in
    a copy-on-write copy (both frames views of one table), even when it changed other
    columns' dtypes. Found without reading a cell; a column stored in a way this does
    not know (or copied) is simply not listed.

    Two arrays alive at once at the same address, with the same shape, strides and
    dtype, hold the same bytes; the arrays are kept alive while they are compared, so
    a temporary copy cannot take the address of another."""
    out = []
    before_dtypes, after_dtypes = before.dtypes.tolist(), after.dtypes.tolist()
    for j in range(min(len(before_dtypes), len(after_dtypes))):
        if before_dtypes[j] != after_dtypes[j]:
            continue
        a, b = _storage(_column_array(before, j)), _storage(_column_array(after, j))
        if a is not None and b is not None and a[1] == b[1]:
            out.append(j)
    return out


def _column_array(frame: Any, j: int) -> Any:
    """Column ``j``'s cells as the frame holds them (a numpy array or an extension
    array), without building a Series (pandas' ``_get_column_array``: 35x cheaper)."""
    get = getattr(frame, "_get_column_array", None)
    return get(j) if get is not None else frame.iloc[:, j].array


def _storage(array: Any) -> tuple[list[Any], tuple[Any, ...]] | None:
    """The arrays holding a column's cells (to keep them alive) and where each is in
    memory; None for a storage this does not read."""
    if isinstance(array, np.ndarray):
        parts: list[Any] = [array]
    else:
        parts = [inner for inner in (getattr(array, name, None) for name in _NUMPY_PARTS)
                 if isinstance(inner, np.ndarray)]
        chunked = getattr(array, "_pa_array", None)  # pyarrow: its chunks' buffers
        parts += list(getattr(chunked, "chunks", ()))
        if not parts:
            return None
    return [array, *parts], (type(array).__name__, *map(_address, parts))


def _address(part: Any) -> tuple[Any, ...]:
    if isinstance(part, np.ndarray):
        return part.__array_interface__["data"][0], part.shape, part.strides, part.dtype.str
    return part.offset, len(part), tuple(None if buf is None else (buf.address, buf.size)
                                         for buf in part.buffers())


_NUMPY_PARTS = ("_ndarray", "_codes", "_data", "_mask")
"""Where pandas' extension arrays keep their numpy arrays (numpy-backed, datetimes,
categoricals' codes, masked nullable dtypes); private names, so a pandas that renames
them only makes :func:`untouched_columns` find fewer columns."""


def column_keys(frame: Any, j: int) -> np.ndarray:
    """The cell keys (:func:`unit_keys`' per-column values) of every row of column ``j``
    of ``frame``; a cell Python cannot hash raises :class:`InvalidArgument`."""
    return _cell_keys(frame.iloc[:, j], None)


_PLAIN, _BLOCK_CELLS = "biufcmM", 1 << 23  # numpy kinds read in blocks of 64 MB (float64)


def _numpy_blocks(frame: Any, skip: Collection[int] = ()) -> tuple[list[list[int]], list[int]]:
    """Positions of the columns of a numpy numeric, bool or datetime dtype, grouped by
    dtype into blocks of at most ``_BLOCK_CELLS`` cells, and of the other columns, but
    for those in ``skip``. A frame of 2,000 columns is then read in a few blocks, not
    2,000 Series."""
    width = max(1, _BLOCK_CELLS // max(len(frame), 1))
    by_dtype: dict[Any, list[int]] = {}
    others = []
    skipped = set(skip)
    for j, dtype in enumerate(frame.dtypes.tolist()):
        if j in skipped:
            continue
        if isinstance(dtype, np.dtype) and dtype.kind in _PLAIN:
            by_dtype.setdefault(dtype, []).append(j)
        else:
            others.append(j)
    blocks = [positions[k:k + width] for positions in by_dtype.values()
              for k in range(0, len(positions), width)]
    return blocks, others


def _block_changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rows of two 2-D arrays of one numpy dtype with a cell that differs: missing
    (NaN, NaT) equals missing, and nothing else."""
    import pandas as pd

    if a.dtype.kind in "biu":  # nothing missing
        return np.asarray((a != b).any(axis=1))
    a_missing, b_missing = pd.isna(a), pd.isna(b)
    differ = (a != b) & ~(a_missing | b_missing)
    differ |= a_missing ^ b_missing
    return np.asarray(differ.any(axis=1))


def _column_changed(a: Any, b: Any) -> np.ndarray:
    """Cells of two columns of one dtype that differ. Values are compared only where
    both are present, since ``pd.NA == x`` is neither True nor False."""
    a_missing, b_missing = a.isna().to_numpy(), b.isna().to_numpy()
    present = ~(a_missing | b_missing)
    differ = a_missing ^ b_missing
    dtype = a.dtype
    if isinstance(dtype, np.dtype) and dtype.kind != "O":  # numpy compares these in C
        differ |= (a.to_numpy() != b.to_numpy()) & present
        return differ
    if present.all():
        differ |= _values_differ(a, b)
    elif present.any():
        differ[present] = _values_differ(a[present], b[present])
    return differ


def _values_differ(a: Any, b: Any) -> np.ndarray:
    """Where two columns of present values differ; NaN inside a nullable float (0/0, not
    pd.NA) equals NaN, as in a numpy column."""
    try:
        result = a.array != b.array
        found = np.asarray(result.to_numpy(dtype=bool, na_value=True)
                           if hasattr(result, "to_numpy") else result, dtype=bool)
        if found.shape == (len(a),):
            if getattr(a.dtype, "kind", "O") == "f":
                x = a.to_numpy(dtype=np.float64, na_value=np.nan)
                y = b.to_numpy(dtype=np.float64, na_value=np.nan)
                found &= ~(np.isnan(x) & np.isnan(y))
            return found
    except (TypeError, ValueError):  # cells whose == is no bool (arrays, pd.NA in tuples)
        pass
    return np.fromiter((_cells_differ(x, y) for x, y in zip(a.tolist(), b.tolist())),
                       dtype=bool, count=len(a))


def _cells_differ(x: Any, y: Any) -> bool:
    try:
        return bool(x != y)
    except (TypeError, ValueError):  # no truth value: count as changed, never as the same
        return x is not y


def _mix(h: np.ndarray, spare: np.ndarray) -> None:
    """splitmix64's finaliser, in place: every bit of the input reaches every bit."""
    for shift, factor in ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB), (31, 1)):
        np.right_shift(h, np.uint64(shift), out=spare)
        h ^= spare
        if factor != 1:
            h *= np.uint64(factor)


def _float_identity(values: np.ndarray) -> np.ndarray:
    """The bits of the floats as float64, with a single zero and a single NaN."""
    x = values.astype(np.float64)  # a new array: float32 and float16 convert exactly
    x += 0.0  # -0.0 + 0.0 is 0.0
    x[np.isnan(x)] = np.nan
    return x.view(np.uint64)


def pack_rows(row: Any, overrides: list[dict[Any, Any]]) -> Any:
    """Copies of a one-row frame, one per override dict ``{column: new value}``."""
    import pandas as pd

    batch = row.iloc[[0] * len(overrides)].reset_index(drop=True)
    touched: dict[Any, list[Any]] = {}
    for j, change in enumerate(overrides):
        for column, value in change.items():
            touched.setdefault(column, batch[column].tolist())[j] = value
    for column, values in touched.items():
        new = pd.Series(values, dtype=object).infer_objects()
        if isinstance(batch[column].dtype, pd.CategoricalDtype):
            new = new.astype(batch[column].dtype)  # keep the categories the model knows
        batch[column] = new
    return batch
