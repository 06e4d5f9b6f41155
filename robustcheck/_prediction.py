"""How a model's raw outputs are read into a :class:`Prediction` (what a model answered,
defined in :mod:`robustcheck._prediction_data` and importable from here).

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
- floats -> regression ``values`` when the task reads numbers (``task="regression"``),
  or when the task is not known yet and at least one output is a float that is not a
  whole number. Whole-number floats
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
from typing import Any

import numpy as np

from robustcheck._prediction_data import (
    Prediction,
    _class_array,
    _label_array,
    _ordered_union,
    _require_finite,
    _snip,
)
from robustcheck.errors import ModelOutputError

_SKLEARN_METHODS = ("predict_proba", "decision_function", "predict")
_HF_TASKS = ("text-classification", "sentiment-analysis")


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


def _empty(numbers: bool | None) -> Prediction:
    if numbers:
        return Prediction(labels=np.empty(0), values=np.empty(0))
    return Prediction(labels=np.empty(0, dtype=object))


def _parse_outputs(raw: Any, n: int, *, numbers: bool | None, classes: np.ndarray | None,
                   source: str, hint: str = "") -> Prediction:
    """Read whatever a model returned for n inputs (rules in the module docstring).

    ``numbers``: True reads one number per input (regression), False labels or scores
    (classification), None decides from the outputs. Tasks call this through
    :meth:`robustcheck.tasks.Task.read`."""
    items = _output_items(raw, n, source, hint)
    if isinstance(items, np.ndarray) and items.dtype != object:
        arr = items
    elif isinstance(items, (list, tuple)) and (read := _numbers(items)) is not None:
        arr = _flat_array(items, source, read)  # the common case: numeric labels
    elif isinstance(items, (list, tuple)) and len(set(map(type, items))) == 1 \
            and type(items[0]) in _PLAIN:  # one pass: plain labels (strings)
        arr = _flat_array(items, source)
    else:
        seq = list(items)
        for i, x in enumerate(seq):
            if x is None:
                raise ModelOutputError(f"{source} returned None for input {i}; expected a "
                                       "label, scores or a number")
        if all(isinstance(x, Mapping) for x in seq):
            return _from_records(seq, n, numbers, classes, source)
        if all(_is_record_list(x) for x in seq):
            return _from_records([_merge_records(x, i, source) for i, x in enumerate(seq)],
                                 n, numbers, classes, source)
        if any(isinstance(x, Mapping) or _is_record_list(x) for x in seq):
            raise ModelOutputError(f"{source} returned dicts for some inputs and other values "
                                   f"for others: {_snip(seq)}")
        arr = _flat_array(seq, source) if not _is_nested(seq) else _nested_array(seq, source)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim == 2:
        if numbers:
            raise ModelOutputError(f"{source} returned an array of shape {arr.shape} for a "
                                   "regression model; expected one number per input")
        return _from_scores(arr, classes, n, source)
    if arr.ndim != 1:
        raise ModelOutputError(f"{source} returned an array of shape {arr.shape}; expected "
                               f"{n} labels, {n} numbers or an ({n}, k) array of scores")
    return _from_flat(arr, numbers, n, source)


def _flat_array(seq: Sequence[Any], source: str, arr: np.ndarray | None = None
                ) -> np.ndarray:
    """``seq`` (read already as ``arr``, when given) checked as one label per input."""
    try:
        return _label_array(seq if arr is None else arr, "outputs")
    except ModelOutputError as err:
        raise ModelOutputError(f"{source} returned {_snip(seq)}: {err}") from None


def _numbers(items: Sequence[Any]) -> np.ndarray | None:
    """A list of numbers as the array numpy reads it in one pass, when it reads one
    number per output (no None, dict, string or nested list can be among them: numpy
    would give an object, string or 2-d array); None otherwise, for the general rules.
    Telling the outputs' types apart first took a quarter of the time to read 256."""
    if not items or not isinstance(items[0], (int, float, np.number)):
        return None
    try:
        arr = np.asarray(items)
    except (TypeError, ValueError):
        return None
    return arr if arr.ndim == 1 and arr.dtype.kind in "biuf" else None


def _nested_array(seq: Sequence[Any], source: str) -> np.ndarray:
    try:
        return np.asarray(seq)
    except ValueError as err:  # ragged
        raise ModelOutputError(f"{source} returned {_snip(seq)}: {err}") from None


_PLAIN = frozenset({int, float, str, bool})
"""Output types a list of labels or numbers usually holds (exactly these, not subclasses:
a dict or list subclass must take the general path)."""


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


def _from_flat(arr: np.ndarray, numbers: bool | None, n: int, source: str) -> Prediction:
    if numbers or (numbers is None and _looks_continuous(arr)):
        if arr.dtype.kind == "c":  # numpy would keep the real parts alone, with a warning
            raise ModelOutputError(f"{source} returned complex numbers {_snip(arr.tolist())}; "
                                   "a regression model returns real numbers")
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
    if len(scores) != n:
        raise ModelOutputError(f"{source} returned {len(scores)} outputs for {n} inputs; "
                               "expected one output per input")
    if classes is not None:  # the classes, once per call (0..k-1 need no check); not
        try:                 # each row's label, which is its best class
            cls = _class_array(cls)
        except ModelOutputError as err:
            raise ModelOutputError(f"{source}: {err}") from None
    # every score is finite and each label is its row's best class: what Prediction
    # checks of labels and scores, not checked again (repeating them was two thirds of
    # the time to read a 256-row answer: 50 against 16-19 us)
    columns = np.argmax(scores, axis=1)
    return Prediction._trusted(cls[columns], scores, cls, columns=columns)


def _from_records(records: list[Mapping[str, Any]], n: int, numbers: bool | None,
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
        return _from_flat(np.asarray(values), numbers is not False, n, source)
    if numbers:
        return _from_flat(_label_array(labels, "labels"), numbers, n, source)
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
    if isinstance(x, (list, tuple, np.ndarray)):  # what most models return: no pandas
        return False                            # class derives from these
    return any(c.__module__.split(".")[0] == "pandas" and c.__name__ in names
               for c in type(x).__mro__)
