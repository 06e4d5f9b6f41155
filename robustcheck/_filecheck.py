"""Validation of result files: every field a reader relies on, checked before anything
is built from it.

:func:`check_run` accepts a run result only when each field has the type readers
expect, every per-sample array has ``data.n`` entries and the dtype its meaning needs,
and class codes fall within ``classes``; :func:`check_comparison` does the same for a
comparison. Anything else is a :class:`~robustcheck.errors.ResultFileError` naming the
file and the place ("rows[3].samples.changed has 31 entries, expected 32"). Keys added
later by newer versions are allowed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._packed import (
    _FLOAT,
    _INTEGER,
    DAMAGED,
    MAX_SAMPLES,
    _Bad,
    _decode,
    _describe,
    _header,
    _is_int,
    _short,
)
from .errors import ResultFileError

_REQUIRED_METRICS = ("coverage", "crash_rate", "failure_rate")
_CLEAN_METRICS = ("self_disagreement", "accuracy", "mae", "crash_rate")
_GENERATED_CLEAN_METRICS = ("self_similarity", "self_change_rate", "format_failure_rate",
                            "correctness")
GENERATION = "generation"


# -- what a value may be -----------------------------------------------------------------


@dataclass(frozen=True)
class _Kind:
    name: str
    test: Callable[[Any], bool]


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
    generated = d["task"] == GENERATION
    if generated:
        _check_generated_clean(_field(d, "", "clean", OBJECT), n)
    else:
        labelled = _check_clean(_field(d, "", "clean", OBJECT), n, classes)
    rows = _field(d, "", "rows", ARRAY)
    for i, row in enumerate(rows):
        if generated:
            _check_generated_row(row, _at("rows", i), n)
        else:
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


def _check_generated_clean(clean: Mapping[str, Any], n: int) -> None:
    """The clean pass of a generation run: no labels or values, the task's settings and
    its noise floor."""
    _array(clean, "clean", "ok", n, ("bool",))
    for key in ("labels", "values"):
        if key in clean:
            raise _Bad(f"clean holds {key}, but a generation run keeps no {key}")
    settings = _field(clean, "clean", "generation", OBJECT)
    _field(settings, "clean.generation", "similarity", STR)
    _field(settings, "clean.generation", "threshold", NUMBER)
    _array(clean, "clean", "self_similarity_samples", n, _FLOAT, optional=True)
    for key in ("answered", "crashes"):
        _field(clean, "clean", key, COUNT, optional=True)
    for key in (*_CLEAN_METRICS, *_GENERATED_CLEAN_METRICS):
        _metric(clean, "clean", key, optional=True)


def _check_generated_row(row: Any, where: str, n: int) -> None:
    _check_row_fields(row, where, n)
    at = _at(where, "samples")
    samples = row["samples"]
    _array(samples, at, "similarity", n, _FLOAT)
    _array(samples, at, "state", n, _INTEGER)
    for key in ("labels", "values", "score_of_clean"):
        if key in samples:
            raise _Bad(f"{at} holds {key}, but a generation run keeps none")


def _check_row_fields(row: Any, where: str, n: int) -> None:
    """What every row holds, whatever its task."""
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
    _array(samples, at, "evaluated", n, ("bool",), optional=True)


def _check_row(row: Any, where: str, n: int, classes: int, labelled: bool) -> None:
    _check_row_fields(row, where, n)
    samples = row["samples"]
    at = _at(where, "samples")
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


def check_comparison(d: Any, name: str, schema_version: int) -> None:
    """Raise :class:`ResultFileError` (starting with ``name``) unless ``d`` is a
    comparison of ``schema_version`` (``Comparison.to_json``) the report can render."""
    if not isinstance(d, dict) or d.get("kind") != "robustcheck.comparison":
        raise ResultFileError(f"{name}: not a robustcheck comparison (no kind "
                              "'robustcheck.comparison')")
    if d.get("schema_version") != schema_version:
        raise ResultFileError(
            f"{name}: comparison schema_version {_short(d.get('schema_version'))} is not "
            f"supported (this robustcheck reads version {schema_version}); compare again")
    try:
        _check_comparison(d)
    except _Bad as bad:
        raise ResultFileError(f"{name}: {bad}; the file is damaged or was edited: "
                              "write it again with Comparison.to_json") from None


def _check_comparison(d: Mapping[str, Any]) -> None:
    _field(d, "", "alpha", NUMBER)
    _field(d, "", "tests", COUNT, optional=True)
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
        decided = _field(row, where, "decided_by", ARRAY, optional=True) or []
        _each(decided, _at(where, "decided_by"), STR)
        metrics = _field(row, where, "metrics", OBJECT)
        for name in metrics:
            m = _field(metrics, _at(where, "metrics"), name, OBJECT)
            at = _at(_at(where, "metrics"), name)
            for key in ("delta", "paired_delta", "p_value", "p_adjusted"):
                _field(m, at, key, MAYBE_NUMBER, optional=True)
            for key in ("paired_n", "resamples"):
                _field(m, at, key, COUNT, optional=True)
            for side in ("a", "b"):
                if m.get(side) is not None:
                    _metric(m, at, side)
