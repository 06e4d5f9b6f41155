"""Model adapters: one way to ask any model for predictions.

The runner talks to every model through one method, :meth:`Adapter.predict`, which takes
a batch of inputs and returns a :class:`Prediction`. Keeping the contract that small lets
a scikit-learn estimator, a Hugging Face pipeline, a plain function and a model behind
an HTTP endpoint be audited by the same code, and lets a user plug in anything else by
writing one method. :func:`adapt` picks the adapter from the object's shape (duck
typing): scikit-learn, pandas and transformers are never imported here.

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
import difflib
import http.client
import inspect
import json
import math
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from robustcheck.errors import InvalidArgument, ModelOutputError

__all__ = [
    "Adapter",
    "CallableAdapter",
    "HTTPAdapter",
    "PipelineAdapter",
    "Prediction",
    "SklearnAdapter",
    "adapt",
]

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


# ------------------------------------------------------------------------- adapters


class Adapter:
    """Base class: subclasses implement ``predict``; ``task`` may stay None until known.

    ``predict`` must return one prediction per input, in order, and must not modify the
    inputs. It may raise: the runner records the exception as a crash of that batch.
    """

    kind: ClassVar[str] = "custom"
    task: str | None = None

    def predict(self, inputs: Sequence[Any]) -> Prediction:
        raise NotImplementedError(f"{type(self).__name__} must implement predict(inputs)")

    def describe(self) -> dict[str, Any]:
        """JSON-ready description for the results manifest."""
        return {"kind": self.kind, **_describe_object(self), "task": self.task}

    def __repr__(self) -> str:
        info = self.describe()
        return f"<{type(self).__name__} {info.get('url') or info['class']} task={self.task}>"

    def _learn(self, pred: Prediction) -> Prediction:
        if self.task is None and len(pred):
            self.task = pred.task
        return pred


class CallableAdapter(Adapter):
    """A plain function as a model.

    ``batched=True`` calls ``fn(batch)`` once per predict call with a list (a DataFrame or
    array is passed through as is); ``batched=False`` calls ``fn(x)`` per input (rows of a
    DataFrame arrive as ``{column: value}`` dicts). Outputs are read by the rules in the
    module docstring; ``classes`` names the columns of score arrays.
    """

    kind = "callable"

    def __init__(self, fn: Callable[..., Any], *, batched: bool = True, task: str | None = None,
                 classes: Sequence[Any] | None = None) -> None:
        if not callable(fn):
            raise InvalidArgument(f"fn must be callable; got {type(fn).__name__} {_snip(fn)}")
        if not isinstance(batched, bool):
            raise InvalidArgument(f"batched must be True or False; got {batched!r}")
        self.fn = fn
        self.batched = batched
        self.task = _check_task(task)
        self.classes = _check_classes(classes)

    def predict(self, inputs: Sequence[Any]) -> Prediction:
        n = _length(inputs)
        if n == 0:
            return _empty(self.task)
        name = _describe_object(self.fn)["class"]
        if self.batched:
            raw = self.fn(_as_batch(inputs))
            source, hint = f"model function {name}", " (pass batched=False to call it per input)"
        else:
            raw = [self.fn(x) for x in _items(inputs)]
            source, hint = f"model function {name} (called per input)", ""
        return self._learn(_parse_outputs(raw, n, task=self.task, classes=self.classes,
                                          source=source, hint=hint))

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, **_describe_object(self.fn), "task": self.task,
                "batched": self.batched}


class SklearnAdapter(Adapter):
    """A scikit-learn style estimator (Pipelines included), read through one response method.

    The method is ``predict_proba`` if available, else ``decision_function``, else
    ``predict`` (``method=`` overrides). "Available" means the attribute exists on the
    estimator and on a Pipeline's final step, and calling it does not raise an
    AttributeError or NotImplementedError that names it (old SVC without probability);
    the method that first answers is kept, so clean and perturbed inputs are scored alike.

    Score columns follow ``classes_``. ``decision_function`` margins are squashed to look
    like probabilities: a binary margin d becomes ``[logistic(-d), logistic(d)]`` with the
    label ``classes_[d > 0]`` (the estimator's own ``predict`` rule), several columns go
    through a softmax with the label at the largest margin. They are monotone in the
    margins, not calibrated. Regressors (by their scikit-learn tags) give ``values``.
    The batch is passed as given: a list of strings for text pipelines, a DataFrame for
    tabular ones.
    """

    kind = "sklearn"

    def __init__(self, estimator: Any, *, task: str | None = None,
                 method: str | None = None) -> None:
        self.estimator = estimator
        self.task = _check_task(task) or _sklearn_task(estimator)
        available = [m for m in _SKLEARN_METHODS if _has_method(estimator, m)]
        if method is not None:
            if method not in _SKLEARN_METHODS:
                raise InvalidArgument(f"method must be one of {list(_SKLEARN_METHODS)}; got "
                                      f"{method!r}{_did_you_mean(method, _SKLEARN_METHODS)}")
            if method not in available:
                raise InvalidArgument(f"method={method!r}, but {type(estimator).__name__} has no "
                                      f"usable {method}; it offers {available}")
            if self.task == "regression" and method != "predict":
                raise InvalidArgument(f"method={method!r} makes no sense for a regressor; use "
                                      "'predict' or leave method=None")
        candidates = ["predict"] if self.task == "regression" else available
        if method is None and not candidates:
            raise InvalidArgument(f"{type(estimator).__name__} has none of "
                                  f"{list(_SKLEARN_METHODS)}")
        self._candidates = [method] if method else candidates
        self.method: str | None = method or (candidates[0] if len(candidates) == 1 else None)

    def predict(self, inputs: Sequence[Any]) -> Prediction:
        n = _length(inputs)
        if n == 0:
            return _empty(self.task)
        if self.method is not None:
            return self._call(self.method, inputs, n)
        error: BaseException | None = None
        for name in self._candidates:
            try:
                pred = self._call(name, inputs, n)
            except (AttributeError, NotImplementedError) as err:
                if isinstance(err, AttributeError) and name not in str(err):
                    raise  # a bug or a bad input inside the model, not a missing method
                error = err
                continue
            self.method = name
            return pred
        raise error if error is not None else RuntimeError("no response method tried")

    def _call(self, name: str, inputs: Sequence[Any], n: int) -> Prediction:
        out = getattr(self.estimator, name)(inputs)
        source = f"{type(self.estimator).__name__}.{name}"
        if name == "predict":
            return self._learn(_parse_outputs(out, n, task=self.task, classes=None, source=source))
        _output_items(out, n, source, "")
        classes = getattr(self.estimator, "classes_", None)
        classes = None if classes is None else _label_array(classes, "classes_")
        if name == "predict_proba":
            return self._learn(_from_scores(out, classes, n, source))
        return self._learn(_from_decision(out, classes, n, source))

    def describe(self) -> dict[str, Any]:
        info = {"kind": self.kind, **_describe_object(self.estimator), "task": self.task,
                "method": self.method}
        steps = getattr(self.estimator, "steps", None)
        if isinstance(steps, list):
            info["steps"] = [[str(s[0]), _describe_object(s[1])["class"]] for s in steps
                             if isinstance(s, tuple) and len(s) == 2]
        return info


def _from_decision(out: Any, classes: np.ndarray | None, n: int, source: str) -> Prediction:
    try:
        margins = np.asarray(out, dtype=float)
    except (TypeError, ValueError):
        raise ModelOutputError(f"{source} returned non-numeric margins: {_snip(out)}") from None
    _require_finite(margins, "margin", source)
    if margins.ndim == 2 and margins.shape[1] == 1:
        margins = margins[:, 0]
    if margins.ndim == 1:
        cls = np.array([0, 1]) if classes is None else classes
        if len(cls) != 2:
            raise ModelOutputError(f"{source} returned one margin per input, which means two "
                                   f"classes, but classes_ has {len(cls)}")
        scores = np.column_stack([_logistic(-margins), _logistic(margins)])
        return _build(n, source, labels=cls[(margins > 0).astype(np.intp)], scores=scores,
                      classes=cls)
    shifted = np.exp(margins - margins.max(axis=1, keepdims=True))
    return _from_scores(shifted / shifted.sum(axis=1, keepdims=True), classes, n, source)


def _logistic(x: np.ndarray) -> np.ndarray:
    # exp of -|x| only: no overflow, and full relative precision in the far tails
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _sklearn_task(estimator: Any) -> str | None:
    try:
        kind = estimator.__sklearn_tags__().estimator_type  # scikit-learn >= 1.6
    except Exception:  # older versions, duck-typed or third-party estimators with odd tags
        kind = getattr(estimator, "_estimator_type", None)
    return {"regressor": "regression", "classifier": "classification"}.get(kind)


def _has_method(estimator: Any, name: str) -> bool:
    if not callable(getattr(estimator, name, None)):
        return False
    steps = getattr(estimator, "steps", None)
    if isinstance(steps, list) and steps and isinstance(steps[-1], tuple):
        final = steps[-1][-1]
        if final is not None and final != "passthrough":
            return _has_method(final, name)
    return True


class PipelineAdapter(Adapter):
    """A Hugging Face ``transformers`` text-classification pipeline.

    Calls ``pipe(texts, top_k=None)``, which returns every label's score per text, so
    ``scores`` are complete, in the order of ``model.config.id2label``. A pipeline too old
    to know ``top_k`` (a TypeError naming it) is called as ``pipe(texts)`` from then on; it
    returns the top label and its score only, so each row holds its own label's score and
    NaN elsewhere: ``confidence`` is exact, ``score_of(clean_labels)`` is known only where
    the label did not change. ``call_kwargs`` (``batch_size=``, ``truncation=``...) are
    passed on every call.
    """

    kind = "transformers"

    def __init__(self, pipe: Any, **call_kwargs: Any) -> None:
        if not _is_hf_pipeline(pipe):
            raise InvalidArgument(f"pipe must be a transformers pipeline; got "
                                  f"{type(pipe).__name__}")
        if pipe.task not in _HF_TASKS:
            raise InvalidArgument(f"pipe is a {pipe.task!r} pipeline; PipelineAdapter reads "
                                  f"{list(_HF_TASKS)} pipelines. Wrap other pipelines in a "
                                  "function returning labels and pass that function instead")
        self.pipe = pipe
        self.call_kwargs = call_kwargs
        self.task = "classification"
        self.classes = _hf_classes(pipe)
        self.all_scores = True

    def predict(self, inputs: Sequence[Any]) -> Prediction:
        texts = list(inputs)
        if not texts:
            return _empty(self.task)
        raw = None
        if self.all_scores:
            try:
                raw = self.pipe(texts, top_k=None, **self.call_kwargs)
            except TypeError as err:
                if "top_k" not in str(err):
                    raise
                self.all_scores = False
        if raw is None:
            raw = self.pipe(texts, **self.call_kwargs)
        return _parse_outputs(raw, len(texts), task=self.task, classes=self.classes,
                              source=f"transformers pipeline {_hf_model_name(self.pipe)}")

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, **_describe_object(self.pipe), "task": self.task,
                "pipeline_task": str(self.pipe.task), "model": _hf_model_name(self.pipe),
                "classes": None if self.classes is None else [str(c) for c in self.classes]}


def _is_hf_pipeline(obj: Any) -> bool:
    modules = (getattr(c, "__module__", "") or "" for c in type(obj).__mro__)
    return hasattr(obj, "task") and callable(obj) and \
        any(m == "transformers" or m.startswith("transformers.") for m in modules)


def _hf_classes(pipe: Any) -> np.ndarray | None:
    id2label = getattr(getattr(getattr(pipe, "model", None), "config", None), "id2label", None)
    if not isinstance(id2label, Mapping) or not id2label:
        return None
    return _label_array([id2label[i] for i in sorted(id2label, key=int)], "id2label")


def _hf_model_name(pipe: Any) -> str:
    model = getattr(pipe, "model", None)
    name = getattr(model, "name_or_path", None) or getattr(
        getattr(model, "config", None), "_name_or_path", None)
    return str(name) if name else type(pipe).__name__


# ------------------------------------------------------------------------------ HTTP


class HTTPAdapter(Adapter):
    """A model behind an HTTP endpoint that takes and returns JSON (standard library only).

    Each predict call is split into requests of ``batch_size`` inputs, sent ``concurrency``
    at a time from a thread pool and reassembled in order. The body is
    ``request(batch)`` (default ``{"inputs": batch}``; DataFrame rows become
    ``{column: value}`` records, NaN becomes null) and the outputs are
    ``response(json_body)`` (default ``json_body["predictions"]``), read by the rules in
    the module docstring.

    Retry policy: connection errors (refused, reset, closed without an answer) and 5xx
    answers are retried up to ``retries`` times, after ``backoff * 2**attempt`` seconds,
    because they are usually transient. A 4xx is not retried: the request itself is wrong,
    sending it again gives the same answer. A timeout is not retried either: a model that
    is too slow on an input is a finding the runner records as a crash, and retrying would
    multiply the wait by ``retries + 1``; it raises ``TimeoutError``. Failed statuses raise
    ModelOutputError with the status code and the start of the body.
    ``requests_made`` counts every HTTP request, retries included.
    """

    kind = "http"

    def __init__(self, url: str, *, request: Callable[[list[Any]], Any] | None = None,
                 response: Callable[[Any], Any] | None = None, batch_size: int = 32,
                 concurrency: int = 8, timeout: float = 10.0, retries: int = 3,
                 backoff: float = 0.1, headers: Mapping[str, str] | None = None,
                 task: str | None = None, classes: Sequence[Any] | None = None) -> None:
        if not _is_url(url):
            raise InvalidArgument(f"url must start with http:// or https:// and name a host; "
                                  f"got {url!r}")
        for name, fn in (("request", request), ("response", response)):
            if fn is not None and not callable(fn):
                raise InvalidArgument(f"{name} must be a callable or None; got {type(fn).__name__}")
        self.url = url
        self.request = request or _default_request
        self.response = response or _default_response
        self.batch_size = _check_number("batch_size", batch_size, minimum=1, integer=True)
        self.concurrency = _check_number("concurrency", concurrency, minimum=1, integer=True)
        self.timeout = _check_number("timeout", timeout, minimum=0, strict=True)
        self.retries = _check_number("retries", retries, minimum=0, integer=True)
        self.backoff = _check_number("backoff", backoff, minimum=0)
        self.headers = {"Content-Type": "application/json", "Accept": "application/json",
                        "User-Agent": "robustcheck", **dict(headers or {})}
        self.task = _check_task(task)
        self.classes = _check_classes(classes)
        self.requests_made = 0
        self._lock = threading.Lock()

    def predict(self, inputs: Sequence[Any]) -> Prediction:
        n = _length(inputs)
        if n == 0:
            return _empty(self.task)
        rows = _json_safe(_records(inputs))
        chunks = [rows[i: i + self.batch_size] for i in range(0, n, self.batch_size)]
        bodies = [json.dumps(self.request(c), allow_nan=False).encode() for c in chunks]
        if len(bodies) == 1:
            answers = [self._post(bodies[0], n)]
        else:
            with ThreadPoolExecutor(max_workers=min(self.concurrency, len(bodies))) as pool:
                futures = [pool.submit(self._post, body, len(chunk))
                           for body, chunk in zip(bodies, chunks, strict=True)]
                try:
                    answers = [f.result() for f in futures]
                except BaseException:
                    for f in futures:
                        f.cancel()  # don't send what is still queued; running ones finish
                    raise
        outputs: list[Any] = []
        for answer, chunk in zip(answers, chunks, strict=True):
            outputs.extend(self._outputs(answer, len(chunk)))
        return self._learn(_parse_outputs(outputs, n, task=self.task, classes=self.classes,
                                          source=f"POST {_safe_url(self.url)}"))

    def _outputs(self, answer: Any, size: int) -> list[Any]:
        source = f"POST {_safe_url(self.url)}"
        try:
            outputs = self.response(answer)
        except (KeyError, TypeError, IndexError) as err:
            raise ModelOutputError(
                f"{source} answered {_snip(answer)}, which the response mapping could not "
                f"read ({type(err).__name__}: {err})") from None
        return list(_output_items(outputs, size, f"{source} (request of {size} inputs)", ""))

    def _post(self, body: bytes, size: int) -> Any:
        where = f"POST {_safe_url(self.url)}"
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            with self._lock:
                self.requests_made += 1
            last = attempt == self.retries
            try:
                request = urllib.request.Request(self.url, data=body, headers=self.headers,
                                                 method="POST")
                with urllib.request.urlopen(request, timeout=self.timeout) as reply:
                    payload = reply.read()
            except urllib.error.HTTPError as err:
                snippet = _body_snippet(err)
                if err.code < 500 or last:
                    raise ModelOutputError(f"{where} answered HTTP {err.code} {err.reason} "
                                           f"(attempt {attempt + 1}): {snippet}") from None
            except (TimeoutError, urllib.error.URLError, ConnectionError,
                    http.client.HTTPException) as err:
                reason = err.reason if isinstance(err, urllib.error.URLError) else err
                if isinstance(reason, TimeoutError):
                    raise TimeoutError(f"{where} gave no answer within {self.timeout} s (request "
                                       f"of {size} inputs); timeouts are not retried") from None
                if last:
                    raise ConnectionError(f"{where} failed after {attempt + 1} attempts: "
                                          f"{type(reason).__name__}: {reason}") from err
            else:
                try:
                    return json.loads(payload)
                except ValueError:
                    raise ModelOutputError(f"{where} answered with a body that is not JSON: "
                                           f"{_snip(payload[:200])}") from None
        raise AssertionError("unreachable: the last attempt returns or raises")

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "class": f"{__name__}.HTTPAdapter", "library": None,
                "version": None, "task": self.task, "url": _safe_url(self.url),
                "batch_size": self.batch_size, "concurrency": self.concurrency,
                "timeout": self.timeout, "retries": self.retries}

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_lock"]  # locks don't pickle; process and Dask executors pickle adapters
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()


def _default_request(batch: list[Any]) -> Any:
    return {"inputs": batch}


def _default_response(body: Any) -> Any:
    if not isinstance(body, Mapping) or "predictions" not in body:
        keys = sorted(body) if isinstance(body, Mapping) else type(body).__name__
        raise KeyError(f"expected a JSON object with 'predictions'; got {keys}")
    return body["predictions"]


def _records(inputs: Any) -> list[Any]:
    if _is_pandas(inputs, ("DataFrame",)):
        return list(inputs.to_dict(orient="records"))
    if isinstance(inputs, np.ndarray):
        return list(inputs.tolist())
    return list(inputs)


def _json_safe(x: Any) -> Any:
    """Plain JSON types; NaN, NA and NaT become null so the server sees real missing values."""
    if x is None or isinstance(x, (str, bool, int)):
        return x
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, Mapping):
        return {str(k): _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    if isinstance(x, (np.ndarray, np.generic)):
        return _json_safe(x.tolist())
    if type(x).__name__ in ("NAType", "NaTType"):
        return None
    if hasattr(x, "isoformat"):
        return x.isoformat()
    return x  # json.dumps raises on anything else: a crash of this batch, with the type named


def _body_snippet(err: urllib.error.HTTPError) -> str:
    try:
        text = err.read()[:300].decode("utf-8", "replace")
    except Exception:  # the body is a courtesy; the status code is the message
        return "(no body)"
    return text.strip() or "(empty body)"


def _is_url(x: Any) -> bool:
    if not isinstance(x, str):
        return False
    parts = urllib.parse.urlsplit(x)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _safe_url(url: str) -> str:
    # Reports are shared: keep credentials (user:pass@) and query strings (API keys) out.
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path,
                                    "", ""))


# --------------------------------------------------------------------------- dispatch


def adapt(model: Any, task: str | None = None) -> Adapter:
    """The adapter for ``model``: an Adapter itself, an ``http(s)://`` URL, a transformers
    pipeline, a scikit-learn style estimator, or a callable, checked in that order (a
    pipeline also has ``predict``, a fitted estimator may be callable)."""
    task = _check_task(task)
    if isinstance(model, Adapter):
        if task is not None and model.task != task:
            raise InvalidArgument(f"task={task!r}, but the {type(model).__name__} given as model "
                                  f"has task={model.task!r}; pass task to its constructor")
        return model
    if isinstance(model, str):
        if _is_url(model):
            return HTTPAdapter(model, task=task)
        raise InvalidArgument(
            f"model is the string {model!r}, which is not an http:// or https:// URL. To load "
            "a model from a 'module:attr' path use the command line (robustcheck run --model "
            "module:attr) or import it and pass the object")
    if isinstance(model, type):
        raise InvalidArgument(f"model is the class {model.__name__}, not a model; pass a fitted "
                              "instance (or a function)")
    if _is_hf_pipeline(model):
        if task == "regression":
            raise InvalidArgument("task='regression' is not supported for transformers "
                                  "pipelines; wrap the pipeline in a function instead")
        return PipelineAdapter(model)
    if any(_has_method(model, m) for m in _SKLEARN_METHODS):
        return SklearnAdapter(model, task=task)
    if callable(model):
        return CallableAdapter(model, task=task)
    raise InvalidArgument(
        f"model must be a robustcheck Adapter, a scikit-learn style estimator (predict_proba, "
        f"decision_function or predict), a transformers text-classification pipeline, a "
        f"callable or an http(s):// URL; got {type(model).__name__} {_snip(model, 60)}")


# --------------------------------------------------------------------------- helpers


def _check_task(task: Any) -> str | None:
    if task is None or task in TASKS:
        return task
    raise InvalidArgument(f"task must be None, 'classification' or 'regression'; got "
                          f"{task!r}{_did_you_mean(task, TASKS)}")


def _check_classes(classes: Any) -> np.ndarray | None:
    if classes is None:
        return None
    try:
        arr = _label_array(list(classes), "classes")
        _label_columns(arr[:0], arr)  # distinct and hashable
    except (TypeError, ModelOutputError) as err:
        raise InvalidArgument(f"classes must be a list of distinct labels; got {_snip(classes)} "
                              f"({err})") from None
    return arr


def _check_number(name: str, value: Any, *, minimum: float, integer: bool = False,
                  strict: bool = False) -> Any:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and \
        math.isfinite(value) and (isinstance(value, int) or not integer)
    if not ok or value < minimum or (strict and value == minimum):
        bound = f"> {minimum}" if strict else f">= {minimum}"
        kind = "an integer" if integer else "a number"
        raise InvalidArgument(f"{name} must be {kind} {bound}; got {value!r}")
    return value


def _did_you_mean(value: Any, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(str(value), options, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _length(inputs: Any) -> int:
    try:
        return len(inputs)
    except TypeError:
        raise InvalidArgument(f"inputs must be a sized sequence (list, array, DataFrame); got "
                              f"{type(inputs).__name__}") from None


def _is_pandas(x: Any, names: tuple[str, ...]) -> bool:
    return any(c.__module__.split(".")[0] == "pandas" and c.__name__ in names
               for c in type(x).__mro__)


def _as_batch(inputs: Any) -> Any:
    if isinstance(inputs, (list, np.ndarray)) or _is_pandas(inputs, ("DataFrame",)):
        return inputs
    return list(inputs)


def _items(inputs: Any) -> Iterable[Any]:
    if _is_pandas(inputs, ("DataFrame",)):
        return inputs.to_dict(orient="records")
    return inputs


def _describe_object(obj: Any) -> dict[str, Any]:
    target = getattr(obj, "func", obj) if type(obj).__name__ == "partial" else obj
    if inspect.isroutine(target):
        module, name = getattr(target, "__module__", None), target.__qualname__
    else:
        module, name = type(target).__module__, type(target).__qualname__
    top = (module or "").split(".")[0]
    library = top if top and top not in ("__main__", "builtins") else None
    version = getattr(sys.modules.get(top), "__version__", None) if library else None
    return {"class": f"{module}.{name}" if module else name, "library": library,
            "version": version if isinstance(version, str) else None}
