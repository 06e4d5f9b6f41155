"""What a model answered: :class:`Prediction`, validated once and read-only.

Labels, class scores with their classes, or regression values for a batch of inputs,
each checked as it is built (one entry per input, finite scores, distinct classes, the
score of each row's own label present), so no metric downstream ever reads a silently
wrong answer. :mod:`robustcheck._prediction` reads a model's raw outputs into one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from robustcheck._arrays import Compact, expanded, int_columns
from robustcheck.errors import InvalidArgument, ModelOutputError

# --------------------------------------------------------------------------- Prediction

USAGE_COLUMNS = 3
"""Columns of :attr:`Prediction.usage`: prompt tokens, completion tokens, cost."""


@dataclass(frozen=True, eq=False)
class Prediction:
    """What a model said about a batch of n inputs.

    ``labels`` (n,) always; ``scores`` (n, k) and ``classes`` (k,) together or not at
    all, column j scoring class ``classes[j]``; ``values`` (n,) for regression, where
    ``labels`` holds the same numbers so code that only reads labels still gets one entry
    per input. ``kind`` names the task of a plug-in task whose outputs are neither
    (its :meth:`~robustcheck.tasks.Task.read` sets it); None for the built-in two.

    ``usage`` (n, 3): what each answer cost, for generated text: prompt tokens,
    completion tokens and money (NaN where the model did not report it); None when no
    answer reported any.

    A NaN in ``scores`` means "the model did not report this score" (e.g. an API that
    returns only the top label and its score); the score of each row's own label is
    always a finite number. Arrays are read-only, so a Prediction can be shared between
    threads and cached without copies.
    """

    labels: np.ndarray
    scores: np.ndarray | None = None
    classes: np.ndarray | None = None
    values: np.ndarray | None = None
    kind: str | None = None
    usage: np.ndarray | None = None
    _columns: np.ndarray | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        labels = _label_array(self.labels, "labels")
        n = len(labels)
        values = None
        if self.values is not None:
            values = _float_array(self.values, "values", ndim=1)
            if len(values) != n:
                raise ModelOutputError(f"{len(values)} values for {n} labels")
            _require_finite(values, "value")
        usage = None
        if self.usage is not None:
            usage = _float_array(self.usage, "usage", ndim=2)
            if usage.shape != (n, USAGE_COLUMNS):
                raise ModelOutputError(f"usage has shape {usage.shape}, expected ({n}, "
                                       f"{USAGE_COLUMNS}): prompt tokens, completion tokens "
                                       "and cost per input")
            if (usage < 0).any() or np.isinf(usage).any():
                raise ModelOutputError("usage must be non-negative finite numbers (NaN: "
                                       "not reported)")
        if (self.scores is None) != (self.classes is None):
            raise ModelOutputError("scores and classes go together: give both or neither")
        scores = classes = columns = None
        if self.scores is not None:
            if values is not None:
                raise ModelOutputError("a prediction has scores (classification) or values"
                                       " (regression), not both")
            classes = _label_array(self.classes, "classes")
            scores = _float_array(self.scores, "scores", ndim=2)
            if scores.shape != (n, len(classes)):
                raise ModelOutputError(
                    f"scores have shape {scores.shape}, expected ({n}, {len(classes)}): "
                    "one row per input, one column per class")
            if np.isinf(scores).any():
                raise ModelOutputError(f"scores contain infinity (row {_first(np.isinf(scores))})")
            columns = _label_columns(labels, classes)
            _check_own_scores(labels, scores, classes, columns)
        for name, array in (("labels", labels), ("scores", scores), ("classes", classes),
                            ("values", values), ("usage", usage), ("_columns", columns)):
            object.__setattr__(self, name, _readonly(array))

    @classmethod
    def _trusted(cls, labels: np.ndarray, scores: np.ndarray | None = None,
                 classes: np.ndarray | None = None, values: np.ndarray | None = None,
                 columns: np.ndarray | None = None, kind: str | None = None,
                 usage: np.ndarray | None = None) -> Prediction:
        # Slices and concatenations of valid predictions are valid: skip re-validation.
        pred = object.__new__(cls)
        for name, array in (("labels", labels), ("scores", scores), ("classes", classes),
                            ("values", values), ("usage", usage), ("_columns", columns)):
            object.__setattr__(pred, name, _readonly(array))
        object.__setattr__(pred, "kind", kind)
        return pred

    def __getstate__(self) -> dict[str, Any]:
        # pickled (a shard's answers on their way from a worker): integer labels and
        # columns in the smallest dtype that holds them (one byte for a few classes)
        state = dict(self.__dict__)
        for name in ("labels", "_columns"):
            array = state.get(name)
            if isinstance(array, np.ndarray) and array.dtype.kind in "iu":
                state[name] = Compact(array)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in expanded(state).items():
            object.__setattr__(self, name,
                               _readonly(value) if isinstance(value, np.ndarray) else value)

    @property
    def task(self) -> str:
        """The name of the task that reads this prediction: ``kind`` when set, else
        ``"regression"`` when it holds values and ``"classification"`` otherwise."""
        return self.kind or ("regression" if self.values is not None else "classification")

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def confidence(self) -> np.ndarray:
        """Score of each row's own label (NaN everywhere when there are no scores)."""
        if self.scores is None or self._columns is None:
            return np.full(len(self), np.nan)
        return self.scores[np.arange(len(self)), self._columns]

    def score_of(self, labels: Sequence[Any] | np.ndarray) -> np.ndarray:
        """Score row i gave to ``labels[i]``; NaN where not reported or not a class.

        This is what ``confidence_drop`` needs: ``clean.confidence -
        perturbed.score_of(clean.labels)``. With top-1 outputs the perturbed score of the
        clean label is known only where the label did not change; elsewhere it is NaN.
        """
        wanted = _label_array(labels, "labels")
        if len(wanted) != len(self):
            raise InvalidArgument(f"labels has {len(wanted)} entries; this prediction has "
                                  f"{len(self)} rows")
        out = np.full(len(self), np.nan)
        if self.scores is None or self.classes is None:
            return out
        cols = _label_columns(wanted, self.classes, missing_ok=True)
        known = cols >= 0
        out[known] = self.scores[np.flatnonzero(known), cols[known]]
        return out

    def take(self, idx: Sequence[int] | np.ndarray | slice) -> Prediction:
        """The rows ``idx`` (integer positions, a boolean mask or a slice), in that order."""
        sel: Any = idx if isinstance(idx, slice) else np.asarray(idx)
        if not isinstance(sel, slice):
            if sel.ndim != 1:
                raise InvalidArgument(f"idx must be 1-d positions or a mask; got shape {sel.shape}")
            if sel.dtype != bool:
                sel = sel.astype(np.intp)
        return Prediction._trusted(
            self.labels[sel], None if self.scores is None else self.scores[sel], self.classes,
            None if self.values is None else self.values[sel],
            None if self._columns is None else self._columns[sel], self.kind,
            None if self.usage is None else self.usage[sel])

    def align(self, classes: Sequence[Any] | np.ndarray) -> Prediction:
        """The same prediction with score columns in the order of ``classes`` (a superset).

        Columns of two predictions are comparable only once they share ``classes``;
        classes this prediction never scored get NaN ("not reported").
        """
        if self.scores is None or self.classes is None or self._columns is None:
            raise InvalidArgument("align needs a prediction with scores; this one has none")
        target = _label_array(classes, "classes")
        own = _label_columns(self.classes, target, missing_ok=True)
        if (own < 0).any():
            lost = self.classes[own < 0].tolist()
            raise InvalidArgument(f"classes must include every class of this prediction; "
                                  f"missing {lost}")
        scores = np.full((len(self), len(target)), np.nan)
        scores[:, own] = self.scores
        return Prediction._trusted(self.labels, scores, target, None, own[self._columns],
                                   self.kind)

    @classmethod
    def concat(cls, parts: Iterable[Prediction]) -> Prediction:
        """Rows of ``parts`` one after another; score columns are aligned to the union of
        their classes (first part's order, then new classes as they appear)."""
        parts = list(parts)
        if not parts:
            raise InvalidArgument("Prediction.concat needs at least one prediction; got none")
        nonempty = [p for p in parts if len(p)] or parts[:1]
        if len(nonempty) == 1:
            return nonempty[0]
        if len({p.task for p in nonempty}) > 1:
            raise ModelOutputError(
                "the model answered some batches as "
                f"{' and others as '.join(sorted({p.task for p in nonempty}))}; pass task= "
                "to fix it")
        if nonempty[0].values is not None:
            values = np.concatenate([p.values for p in nonempty if p.values is not None])
            return cls._trusted(values, values=values)
        labels = _concat_labels([p.labels for p in nonempty])
        with_scores = [p for p in nonempty if p.scores is not None]
        if not with_scores:
            usage = None
            if any(p.usage is not None for p in nonempty):
                usage = np.vstack([np.full((len(p), USAGE_COLUMNS), np.nan) if p.usage is None
                                   else p.usage for p in nonempty])
            return cls._trusted(labels, kind=nonempty[0].kind, usage=usage)
        if len(with_scores) != len(nonempty):
            raise ModelOutputError("the model returned scores for some batches and not others")
        union = _ordered_union([p.classes.tolist() for p in with_scores if p.classes is not None])
        classes = _label_array(union, "classes")
        aligned = [p if _same(p.classes, classes) else p.align(classes) for p in with_scores]
        return cls._trusted(labels, np.vstack([p.scores for p in aligned if p.scores is not None]),
                            classes, None,
                            np.concatenate([p._columns for p in aligned if p._columns is not None]),
                            nonempty[0].kind)


def _label_array(x: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x)
    except ValueError as err:  # ragged nested sequences
        raise ModelOutputError(f"{name} are not one flat entry per input ({err})") from None
    if arr.ndim == 1 and arr.dtype.kind in "US" and not isinstance(x, np.ndarray) \
            and not all(isinstance(v, str) for v in x):
        # numpy would silently turn [1, "a"] into ["1", "a"]: keep the real objects instead.
        arr = np.empty(len(x), dtype=object)
        arr[:] = list(x)
    if arr.ndim != 1:
        raise ModelOutputError(f"{name} must be one entry per input; got shape {arr.shape}")
    if arr.dtype == object and any(v is None for v in arr):
        first = [v is None for v in arr].index(True)
        raise ModelOutputError(f"{name} contain None (input {first})")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        bad = _first(~np.isfinite(arr))
        raise ModelOutputError(f"{name} contain {arr[bad]} (input {bad})")
    return arr


def _float_array(x: Any, name: str, *, ndim: int) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise ModelOutputError(f"{name} are not numbers: {_snip(x)}") from None
    if arr.ndim != ndim:
        raise ModelOutputError(f"{name} must be {ndim}-d; got shape {arr.shape}")
    return arr


def _require_finite(arr: np.ndarray, what: str, source: str = "") -> None:
    finite = np.isfinite(arr)
    if not finite.all():
        where = np.argwhere(~finite)[0]
        prefix = f"{source} returned" if source else "got"
        raise ModelOutputError(f"{prefix} {arr[tuple(where)]} as a {what} for input {where[0]}; "
                               f"{what}s must be finite numbers")


def _class_array(classes: Any) -> np.ndarray:
    """``classes`` as a label array, checked distinct and hashable (ModelOutputError):
    the classes alone, without labels to place among them."""
    arr = _label_array(classes, "classes")
    _label_columns(arr[:0], arr)
    return arr


def _label_columns(labels: np.ndarray, classes: np.ndarray, *,
                   missing_ok: bool = False) -> np.ndarray:
    """Column of each label in ``classes`` (-1 when absent), looked up once per distinct label."""
    index: dict[Any, int] = {}
    for j, c in enumerate(classes.tolist()):
        if c in index:
            raise ModelOutputError(f"classes must be distinct; {c!r} appears twice")
        index[c] = j
    if len(labels) == 0:  # the classes alone checked (distinct, hashable)
        return np.empty(0, dtype=np.intp)
    # integer classes close together (0..k-1): a table, not a sort of the labels (25
    # against 145 us for 7,800 labels)
    out = int_columns(labels, classes)
    if out is not None:
        return _all_found(out, labels, classes, missing_ok)
    try:
        distinct, inverse = np.unique(labels, return_inverse=True)
        cols = np.array([index.get(v, -1) for v in distinct.tolist()], dtype=np.intp)
        out = cols[inverse.reshape(-1)]
    except TypeError:  # unorderable object labels: look each one up
        try:
            out = np.array([index.get(v, -1) for v in labels.tolist()], dtype=np.intp)
        except TypeError as err:
            raise ModelOutputError(f"labels must be hashable values ({err})") from None
    return _all_found(out, labels, classes, missing_ok)


def _all_found(out: np.ndarray, labels: np.ndarray, classes: np.ndarray,
               missing_ok: bool) -> np.ndarray:
    if not missing_ok and (out < 0).any():
        i = _first(out < 0)
        raise ModelOutputError(f"label {labels[i]!r} of input {i} is not one of the classes "
                               f"{_snip(classes.tolist())}")
    return out


def _check_own_scores(labels: np.ndarray, scores: np.ndarray, classes: np.ndarray,
                      columns: np.ndarray) -> None:
    own = scores[np.arange(len(labels)), columns]
    if not np.isfinite(own).all():
        i = _first(~np.isfinite(own))
        raise ModelOutputError(f"scores for input {i} are {_snip(scores[i].tolist())}: the score "
                               f"of its label {labels[i]!r} is not a finite number")


def _concat_labels(arrays: list[np.ndarray]) -> np.ndarray:
    kinds = {a.dtype.kind in "US" for a in arrays}
    if len(kinds) > 1 or any(a.dtype == object for a in arrays):
        return np.concatenate([a.astype(object) for a in arrays])
    return np.concatenate(arrays)


def _ordered_union(groups: Iterable[Iterable[Any]]) -> list[Any]:
    seen: dict[Any, None] = {}
    for group in groups:
        seen.update(dict.fromkeys(group))
    return list(seen)


def _same(a: np.ndarray | None, b: np.ndarray) -> bool:
    return a is not None and len(a) == len(b) and a.tolist() == b.tolist()


def _readonly(arr: np.ndarray | None) -> np.ndarray | None:
    if arr is None:
        return None
    view = arr.view()  # a view, so the caller's own array keeps its flags
    view.setflags(write=False)
    return view


def _first(mask: np.ndarray) -> int:
    return int(np.argwhere(mask)[0][0])


def _snip(x: Any, limit: int = 120) -> str:
    text = repr(x)
    return text if len(text) <= limit else text[: limit - 3] + "..."
