"""What a model answered (:class:`Prediction`), and how raw outputs are read into one.

Every adapter in :mod:`robustcheck.adapters` ends in the readers here, so a model's
answer is validated in one place: the wrong number of outputs, ``None`` or NaN scores
never become a silently wrong metric.

How outputs are read (callables, HTTP responses, ``predict``-only estimators)
------------------------------------------------------------------------------
One output per input, as a list or array:

- labels (``"pos"``, ``3``, ``True``) -> ``labels``;
- an ``(n, k)`` array of class scores -> ``scores``, ``labels = classes[argmax]``,
  ``classes = range(k)`` unless the adapter was given ``classes=``; an ``(n, 1)`` array
  is read as a flat column;
- dicts: ``{"label": L}``, ``{"label": L, "score": s}`` (the score of ``L`` only),
  ``{"scores": {L1: s1, ...}}`` or ``{"scores": [s1, ...]}`` (optionally with
  ``"label"``), ``{"value": x}`` for regression; a list of ``{"label", "score"}`` dicts
  per input (Hugging Face ``top_k=None``) is read as that input's full score map;
- floats -> regression ``values`` when ``task="regression"``, or when ``task`` is None
  and at least one output is a float that is not a whole number. Whole-number floats
  (``0.0``, ``1.0``) are read as class labels, because many models return labels as
  floats. The task found on the first call is kept for the adapter's lifetime, so one
  batch of whole numbers cannot turn a regressor into a classifier half-way through a run.

Anything else raises :class:`~robustcheck.errors.ModelOutputError` naming what the model
returned and what was expected.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from robustcheck.errors import InvalidArgument, ModelOutputError

TASKS = ("classification", "regression")
_SKLEARN_METHODS = ("predict_proba", "decision_function", "predict")
_HF_TASKS = ("text-classification", "sentiment-analysis")


# --------------------------------------------------------------------------- Prediction


@dataclass(frozen=True, eq=False)
class Prediction:
    """What a model said about a batch of n inputs.

    ``labels`` (n,) always; ``scores`` (n, k) and ``classes`` (k,) together or not at
    all, column j scoring class ``classes[j]``; ``values`` (n,) for regression, where
    ``labels`` holds the same numbers so code that only reads labels still gets one entry
    per input.

    A NaN in ``scores`` means "the model did not report this score" (e.g. an API that
    returns only the top label and its score); the score of each row's own label is
    always a finite number. Arrays are read-only, so a Prediction can be shared between
    threads and cached without copies.
    """

    labels: np.ndarray
    scores: np.ndarray | None = None
    classes: np.ndarray | None = None
    values: np.ndarray | None = None
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
                            ("values", values), ("_columns", columns)):
            object.__setattr__(self, name, _readonly(array))

    @classmethod
    def _trusted(cls, labels: np.ndarray, scores: np.ndarray | None = None,
                 classes: np.ndarray | None = None, values: np.ndarray | None = None,
                 columns: np.ndarray | None = None) -> Prediction:
        # Slices and concatenations of valid predictions are valid: skip re-validation.
        pred = object.__new__(cls)
        for name, array in (("labels", labels), ("scores", scores), ("classes", classes),
                            ("values", values), ("_columns", columns)):
            object.__setattr__(pred, name, _readonly(array))
        return pred

    @property
    def task(self) -> str:
        """``"regression"`` when the prediction holds values, else ``"classification"``."""
        return "regression" if self.values is not None else "classification"

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
            None if self._columns is None else self._columns[sel])

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
        return Prediction._trusted(self.labels, scores, target, None, own[self._columns])

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
            raise ModelOutputError("the model answered some batches as classification and "
                                   "others as regression; pass task= to fix it")
        if nonempty[0].values is not None:
            values = np.concatenate([p.values for p in nonempty if p.values is not None])
            return cls._trusted(values, values=values)
        labels = _concat_labels([p.labels for p in nonempty])
        with_scores = [p for p in nonempty if p.scores is not None]
        if not with_scores:
            return cls._trusted(labels)
        if len(with_scores) != len(nonempty):
            raise ModelOutputError("the model returned scores for some batches and not others")
        union = _ordered_union([p.classes.tolist() for p in with_scores if p.classes is not None])
        classes = _label_array(union, "classes")
        aligned = [p if _same(p.classes, classes) else p.align(classes) for p in with_scores]
        return cls._trusted(labels, np.vstack([p.scores for p in aligned if p.scores is not None]),
                            classes, None,
                            np.concatenate([p._columns for p in aligned if p._columns is not None]))


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
    bad = ~np.isfinite(arr)
    if bad.any():
        where = np.argwhere(bad)[0]
        prefix = f"{source} returned" if source else "got"
        raise ModelOutputError(f"{prefix} {arr[tuple(where)]} as a {what} for input {where[0]}; "
                               f"{what}s must be finite numbers")


def _label_columns(labels: np.ndarray, classes: np.ndarray, *,
                   missing_ok: bool = False) -> np.ndarray:
    """Column of each label in ``classes`` (-1 when absent), looked up once per distinct label."""
    index: dict[Any, int] = {}
    for j, c in enumerate(classes.tolist()):
        if c in index:
            raise ModelOutputError(f"classes must be distinct; {c!r} appears twice")
        index[c] = j
    try:
        distinct, inverse = np.unique(labels, return_inverse=True)
        cols = np.array([index.get(v, -1) for v in distinct.tolist()], dtype=np.intp)
        out = cols[inverse.reshape(-1)]
    except TypeError:  # unorderable object labels: look each one up
        try:
            out = np.array([index.get(v, -1) for v in labels.tolist()], dtype=np.intp)
        except TypeError as err:
            raise ModelOutputError(f"labels must be hashable values ({err})") from None
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


# ------------------------------------------------------------------- reading outputs


def _build(n: int, source: str, **fields: Any) -> Prediction:
    """Every adapter's Prediction is made here, so every check names the model."""
    try:
        pred = Prediction(**fields)
    except ModelOutputError as err:
        raise ModelOutputError(f"{source}: {err}") from None
    if len(pred) != n:
        raise ModelOutputError(f"{source} returned {len(pred)} outputs for {n} inputs; "
                               "expected one output per input")
    return pred


def _empty(task: str | None) -> Prediction:
    if task == "regression":
        return Prediction(labels=np.empty(0), values=np.empty(0))
    return Prediction(labels=np.empty(0, dtype=object))


def _parse_outputs(raw: Any, n: int, *, task: str | None, classes: np.ndarray | None,
                   source: str, hint: str = "") -> Prediction:
    """Read whatever a model returned for n inputs (rules in the module docstring)."""
    items = _output_items(raw, n, source, hint)
    if isinstance(items, np.ndarray) and items.dtype != object:
        arr = items
    else:
        seq = list(items)
        for i, x in enumerate(seq):
            if x is None:
                raise ModelOutputError(f"{source} returned None for input {i}; expected a "
                                       "label, scores or a number")
        if all(isinstance(x, Mapping) for x in seq):
            return _from_records(seq, n, task, classes, source)
        if all(_is_record_list(x) for x in seq):
            return _from_records([_merge_records(x, i, source) for i, x in enumerate(seq)],
                                 n, task, classes, source)
        if any(isinstance(x, Mapping) or _is_record_list(x) for x in seq):
            raise ModelOutputError(f"{source} returned dicts for some inputs and other values "
                                   f"for others: {_snip(seq)}")
        try:
            arr = _label_array(seq, "outputs") if not _is_nested(seq) else np.asarray(seq)
        except (ModelOutputError, ValueError) as err:
            raise ModelOutputError(f"{source} returned {_snip(seq)}: {err}") from None
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim == 2:
        if task == "regression":
            raise ModelOutputError(f"{source} returned an array of shape {arr.shape} for a "
                                   "regression model; expected one number per input")
        return _from_scores(arr, classes, n, source)
    if arr.ndim != 1:
        raise ModelOutputError(f"{source} returned an array of shape {arr.shape}; expected "
                               f"{n} labels, {n} numbers or an ({n}, k) array of scores")
    return _from_flat(arr, task, n, source)


def _output_items(raw: Any, n: int, source: str, hint: str) -> Any:
    if raw is None:
        raise ModelOutputError(f"{source} returned None; expected {n} outputs, one per input")
    if _is_pandas(raw, ("Series", "DataFrame")):
        raw = raw.to_numpy()
    single = (isinstance(raw, np.ndarray) and raw.ndim == 0) or \
        isinstance(raw, (str, bytes, Mapping)) or not isinstance(raw, Iterable)
    if single:
        raise ModelOutputError(f"{source} returned a single {type(raw).__name__} {_snip(raw)} "
                               f"for {n} inputs; expected a list of {n} outputs, one per "
                               f"input{hint}")
    items = raw if isinstance(raw, (list, tuple, np.ndarray)) else list(raw)
    if len(items) != n:
        raise ModelOutputError(f"{source} returned {len(items)} outputs for {n} inputs; "
                               f"expected one output per input{hint}")
    return items


def _is_nested(seq: list[Any]) -> bool:
    return any(isinstance(x, (list, tuple, np.ndarray)) for x in seq)


def _is_record_list(x: Any) -> bool:
    return isinstance(x, (list, tuple)) and len(x) > 0 and all(isinstance(d, Mapping) for d in x)


def _merge_records(records: Sequence[Mapping[str, Any]], i: int, source: str) -> dict[str, Any]:
    # Hugging Face top_k=None: [{"label": "POS", "score": 0.9}, {"label": "NEG", ...}].
    if not all("label" in d and "score" in d for d in records):
        raise ModelOutputError(f"{source} returned a list of dicts for input {i} without "
                               f"'label' and 'score' in each: {_snip(records)}")
    return {"scores": {d["label"]: d["score"] for d in records}}


def _from_flat(arr: np.ndarray, task: str | None, n: int, source: str) -> Prediction:
    if task == "regression" or (task is None and _looks_continuous(arr)):
        try:
            values = np.asarray(arr, dtype=float)
        except (TypeError, ValueError):
            raise ModelOutputError(f"{source} returned non-numeric outputs {_snip(arr.tolist())} "
                                   "but the task is regression") from None
        _require_finite(values, "value", source)
        return _build(n, source, labels=values, values=values)
    return _build(n, source, labels=arr)


def _looks_continuous(arr: np.ndarray) -> bool:
    if arr.dtype.kind != "f":
        return False
    finite = arr[np.isfinite(arr)]
    return bool((finite != np.round(finite)).any())


def _from_scores(raw: Any, classes: np.ndarray | None, n: int, source: str) -> Prediction:
    try:
        scores = np.asarray(raw, dtype=float)
    except (TypeError, ValueError):
        raise ModelOutputError(f"{source} returned non-numeric score rows: {_snip(raw)}") from None
    _require_finite(scores, "score", source)
    cls = np.arange(scores.shape[1]) if classes is None else classes
    if scores.shape[1] != len(cls):
        raise ModelOutputError(f"{source} returned {scores.shape[1]} scores per input; expected "
                               f"{len(cls)}, one per class in {_snip(cls.tolist())}")
    return _build(n, source, labels=cls[np.argmax(scores, axis=1)], scores=scores, classes=cls)


def _from_records(records: list[Mapping[str, Any]], n: int, task: str | None,
                  classes: np.ndarray | None, source: str) -> Prediction:
    labels: list[Any] = []
    maps: list[dict[Any, float] | None] = []
    values: list[Any] = []
    for i, rec in enumerate(records):
        keys = set(rec)
        if keys - {"label", "score", "scores", "value"} or not keys & {"label", "scores", "value"}:
            raise ModelOutputError(
                f"{source} returned a dict with keys {sorted(map(str, keys))} for input {i}; "
                "expected 'label' (with 'score' or 'scores' optional), 'scores' or 'value'")
        if "value" in rec:
            values.append(rec["value"])
            continue
        if "label" in rec and rec["label"] is None:
            raise ModelOutputError(f"{source} returned label None for input {i}")
        smap = None
        if "scores" in rec:
            smap = _score_map(rec["scores"], classes, i, source)
        elif "score" in rec:
            if "label" not in rec:
                raise ModelOutputError(f"{source} returned a 'score' without a 'label' "
                                       f"for input {i}")
            smap = {rec["label"]: _score(rec["score"], i, source)}
        if "label" in rec:
            labels.append(rec["label"])
        elif smap:  # no label given: the best-scored class, as argmax would pick
            labels.append(max(smap, key=lambda label: smap[label]))
        else:
            raise ModelOutputError(f"{source} returned empty 'scores' for input {i}")
        maps.append(smap)
    if values:
        if len(values) != n:
            raise ModelOutputError(f"{source} returned 'value' for some inputs and labels "
                                   "for others")
        return _from_flat(np.asarray(values), task or "regression", n, source)
    if task == "regression":
        return _from_flat(_label_array(labels, "labels"), task, n, source)
    if all(m is None for m in maps):
        return _build(n, source, labels=_label_array(labels, "labels"))
    if any(m is None for m in maps):
        raise ModelOutputError(f"{source} returned scores for some inputs and only labels for "
                               f"others (input {[m is None for m in maps].index(True)})")
    return _build(n, source, **_scores_from_maps(labels, maps, classes, source))


def _score_map(scores: Any, classes: np.ndarray | None, i: int, source: str) -> dict[Any, float]:
    if isinstance(scores, Mapping):
        return {label: _score(s, i, source) for label, s in scores.items()}
    if not isinstance(scores, (list, tuple, np.ndarray)):
        raise ModelOutputError(f"{source} returned 'scores' {_snip(scores)} for input {i}; "
                               "expected a list of numbers or a {label: score} dict")
    names = list(range(len(scores))) if classes is None else classes.tolist()
    if len(scores) != len(names):
        raise ModelOutputError(f"{source} returned {len(scores)} scores for input {i}; expected "
                               f"{len(names)}, one per class in {_snip(names)}")
    return {name: _score(s, i, source) for name, s in zip(names, scores, strict=True)}


def _score(s: Any, i: int, source: str) -> float:
    try:
        value = float(s)
    except (TypeError, ValueError):
        raise ModelOutputError(f"{source} returned a non-numeric score {s!r} "
                               f"for input {i}") from None
    if not math.isfinite(value):
        raise ModelOutputError(f"{source} returned a score of {value} for input {i}; scores must "
                               "be finite numbers")
    return value


def _scores_from_maps(labels: list[Any], maps: list[Any], classes: np.ndarray | None,
                      source: str) -> dict[str, Any]:
    if classes is None:
        union = _ordered_union(maps)
        with contextlib.suppress(TypeError):  # sorted: same classes seen -> same columns
            union = sorted(union)
        classes = _label_array(union, "classes")
    index = {c: j for j, c in enumerate(classes.tolist())}
    scores = np.full((len(maps), len(classes)), np.nan)
    for i, smap in enumerate(maps):
        for label, s in smap.items():
            if label not in index:
                raise ModelOutputError(f"{source} returned a score for {label!r} (input {i}), "
                                       f"which is not one of the classes {_snip(list(index))}")
            scores[i, index[label]] = s
    return {"labels": _label_array(labels, "labels"), "scores": scores, "classes": classes}


def _is_pandas(x: Any, names: tuple[str, ...]) -> bool:
    return any(c.__module__.split(".")[0] == "pandas" and c.__name__ in names
               for c in type(x).__mro__)
