"""Set operations on 1-d integer arrays, by sorting; and 1-d arrays kept compact.

numpy 2.4's ``np.unique`` without ``return_index`` and ``np.isin`` on 64-bit keys take a
hash-table path that is 10-40x slower than a sort on 100k keys (80 ms against 2 ms,
measured here); the units call them once per part, so they go through these."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["Compact", "SortedRuns", "contains", "distinct", "expanded", "int_columns",
           "merge_distinct"]


def distinct(a: np.ndarray, stable: bool = False) -> np.ndarray:
    """The distinct values of ``a``, sorted (``stable``: by a merge of sorted runs)."""
    s = np.sort(a, kind="stable") if stable else np.sort(a)
    if len(s) < 2:
        return s
    keep = np.empty(len(s), dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def merge_distinct(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The distinct values of both, sorted (``np.union1d``).

    Where ``a`` and ``b`` are sorted (the runs of :class:`SortedRuns`), a stable sort of
    the two is a merge of two runs, linear in their length; numpy's default sort of the
    same took about 5x as long here."""
    return distinct(np.concatenate([a, b]), stable=True)


TABLE_SPAN = 4096
"""Integer classes spanning fewer values than this are looked up in a table."""


def int_columns(labels: np.ndarray, classes: np.ndarray) -> np.ndarray | None:
    """The position of each integer label among the integer ``classes`` (distinct), -1
    where it is none of them, looked up in a table of the classes' span: None when either
    is not integer or the classes span :data:`TABLE_SPAN` values or more (or reach past
    int64), for the caller's general path. A table beats sorting or searching even two
    classes (for 90,000 labels: 0.45 against 0.9 ms for a binary search)."""
    if labels.dtype.kind not in "iu" or classes.dtype.kind not in "iu" or not len(classes):
        return None
    low, high = int(classes.min()), int(classes.max())
    if high - low >= TABLE_SPAN or high > np.iinfo(np.int64).max:
        return None
    table = np.full(high - low + 1, -1, dtype=np.intp)
    table[classes.astype(np.int64) - low] = np.arange(len(classes))
    # compared as numpy integers (by value, whatever the two dtypes): the labels inside
    # are int64 values, which subtract safely
    inside = (labels >= np.int64(low)) & (labels <= np.int64(high))
    if inside.all():
        return table[labels.astype(np.int64, copy=False) - low]
    out = np.full(len(labels), -1, dtype=np.intp)
    out[inside] = table[labels[inside].astype(np.int64) - low]
    return out


_SIFT = 4096
"""Values from which :func:`contains` sifts them by slot before searching."""


def contains(sorted_set: np.ndarray, values: np.ndarray, sift: bool = True) -> np.ndarray:
    """Per value: whether it is in ``sorted_set`` (sorted; ``np.isin``).

    Many values (``sift``) are first sifted through a table of slot flags of the set, as
    :class:`SortedRuns` keeps: a binary search in random order (a unit's keys are
    hashes) misses the cache at each step, and most values are not in the set (2.5-4x
    faster on 100,000 values in a set of 100 to 3,000; 2x in a set of 30,000, which is
    searched as it is, so that the table stays small)."""
    if len(sorted_set) == 0:
        return np.zeros(len(values), dtype=bool)
    if sift and len(values) >= _SIFT and len(sorted_set) * 8 <= len(values):
        # a table of at most two bytes per value; a larger set holds too many of the
        # values for sifting to spare searches
        bits = _table_bits(len(sorted_set))
        maybe = np.flatnonzero(_flags([sorted_set], bits)[_slots(values, bits)])
        found = np.zeros(len(values), dtype=bool)
        if len(maybe):
            found[maybe] = contains(sorted_set, values[maybe], sift=False)
        return found
    at = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    return sorted_set[at] == values


class SortedRuns:
    """A growing set of integers, as sorted runs of distinct values, each at least twice
    the size of the next newer one (a new run is merged with the newest while that one is
    less than twice its size, as a binary counter carries), so there are at most
    log2(n) + 1 runs and each value is merged about log2(n) times.

    A unit run in 100 parts of 10,000 keys asks, in each part, which keys an earlier part
    asked: one sorted array merged with every part costs time quadratic in the parts
    (1.4 s per unit here, for 72 units of a million-row table), the runs n log n in all,
    and a lookup searches at most log2(parts) + 1 runs, with the values sorted once so
    that each search walks its run in order.

    Before any search, a value's slot in a table of flags (at least 16 per value held,
    one byte each, rebuilt larger as the set grows) says whether it may be held: most
    values asked about are new, and only those whose slot is taken are searched for
    (searching was 11 s of a million-row tabular audit)."""

    _LOAD = 16
    """Slots per value held, at least: about 6% of the slots are taken, so about 94% of
    the values not held are answered by their slot alone."""

    def __init__(self, capacity: int = 0) -> None:
        """``capacity``: the values the set is expected to hold at most, for a table of
        flags made once at its size rather than rebuilt at each doubling (a fifth of
        the time to add a 100,000-sample unit's keys in ten parts)."""
        self.runs: list[np.ndarray] = []
        self.size = 0
        self._bits = _table_bits(capacity)
        self._taken = np.zeros(1 << self._bits, dtype=bool)

    def add(self, values: np.ndarray) -> None:
        run = distinct(values)
        while self.runs and len(self.runs[-1]) < 2 * len(run):
            run = merge_distinct(self.runs.pop(), run)
        if len(run):
            self.runs.append(run)
        self.size = sum(len(r) for r in self.runs)
        if self.size * self._LOAD > len(self._taken):
            self._bits = _table_bits(self.size)
            self._taken = _flags(self.runs, self._bits)
        elif len(values):
            self._taken[_slots(values, self._bits)] = True

    def contains(self, values: np.ndarray) -> np.ndarray:
        """Per value: whether it was added."""
        found = np.zeros(len(values), dtype=bool)
        if not self.runs or len(values) == 0:
            return found
        maybe = np.flatnonzero(self._taken[_slots(values, self._bits)])
        if len(maybe) == 0:
            return found
        candidates = values[maybe]
        order = np.argsort(candidates)
        ranked = candidates[order]
        hit = np.zeros(len(candidates), dtype=bool)
        for run in self.runs:
            hit |= contains(run, ranked, sift=False)  # sifted above, and in order
        found[maybe[order]] = hit
        return found


def _table_bits(size: int) -> int:
    """Bits of a table of slot flags for ``size`` values: at least
    :attr:`SortedRuns._LOAD` slots per value, and 1,024 slots."""
    return max(10, (size * SortedRuns._LOAD - 1).bit_length())


def _flags(held: list[np.ndarray], bits: int) -> np.ndarray:
    """A table of ``2**bits`` flags, set at the slot of each value held."""
    taken = np.zeros(1 << bits, dtype=bool)
    for values in held:
        taken[_slots(values, bits)] = True
    return taken


_SPREAD = np.uint64(0x9E3779B97F4A7C15)  # 2**64 / the golden ratio, odd


def _slots(values: np.ndarray, bits: int) -> np.ndarray:
    """A slot in ``[0, 2**bits)`` for each value: the top bits of the value times an odd
    constant (Fibonacci hashing), so that any values (small counters, hashes) spread."""
    with np.errstate(over="ignore"):
        mixed = np.asarray(values).astype(np.uint64, copy=False) * _SPREAD
    return (mixed >> np.uint64(64 - bits)).astype(np.intp)


class Compact:
    """A 1-d array in the least memory it takes exactly: booleans as bits, integers in
    the smallest integer dtype that holds them (class codes in one byte for up to 127
    classes), floats that repeat in runs as the runs (a call's inputs share its time
    per input), anything else as a copy. :meth:`array` gives back the same values with
    the same dtype, read-only. Rows keep their per-sample outcomes so, and a shard's
    answers travel from a worker so; it pickles as the compact form."""

    __slots__ = ("dtype", "kind", "lengths", "n", "raw")

    def __init__(self, array: np.ndarray) -> None:
        array = np.asarray(array)
        if array.ndim != 1:
            raise ValueError(f"Compact keeps 1-d arrays, got shape {array.shape}")
        self.dtype, self.n = array.dtype, len(array)
        self.lengths: np.ndarray | None = None  # of the runs, for kind "runs"
        if array.dtype == bool:
            self.kind, self.raw = "bits", np.packbits(array)
        elif array.dtype.kind in "iu" and len(array):
            low, high = int(array.min()), int(array.max())
            small = next(t for t in (np.int8, np.int16, np.int32, np.int64, array.dtype)
                         if np.can_cast(array.dtype, t) or (
                             np.iinfo(t).min <= low and high <= np.iinfo(t).max))
            self.kind, self.raw = "ints", array.astype(small)
        elif array.dtype.kind == "f" and len(array) >= 8:
            # runs of equal bit patterns (so NaN and -0.0 repeat as they are)
            bits = array.view(f"u{array.dtype.itemsize}")
            starts = np.flatnonzero(np.concatenate([[True], bits[1:] != bits[:-1]]))
            if 4 * len(starts) <= len(array):
                self.kind, self.raw = "runs", array[starts]
                self.lengths = np.diff(np.append(starts, len(array)))
            else:
                self.kind, self.raw = "plain", array.copy()
        else:
            self.kind, self.raw = "plain", array.copy()

    def array(self) -> np.ndarray:
        """The array kept, read-only."""
        if self.kind == "bits":
            out = np.unpackbits(self.raw, count=self.n).astype(bool)
        elif self.lengths is not None:
            out = np.repeat(self.raw, self.lengths)
        else:
            out = self.raw.astype(self.dtype)
        out.flags.writeable = False
        return out

    @property
    def nbytes(self) -> int:
        """Bytes held."""
        return self.raw.nbytes + (0 if self.lengths is None else self.lengths.nbytes)

    def __getstate__(self) -> tuple[Any, ...]:
        return self.dtype, self.kind, self.n, self.raw, self.lengths

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self.dtype, self.kind, self.n, self.raw, self.lengths = state


def expanded(state: dict[str, Any]) -> dict[str, Any]:
    """An object's pickled state with each :class:`Compact` in it read back as its array
    (for ``__setstate__`` of the objects that pickle their arrays compact)."""
    return {name: value.array() if isinstance(value, Compact) else value
            for name, value in state.items()}
