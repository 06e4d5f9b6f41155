"""Tasks: what differs between kinds of model output (class labels, numbers, generated
text).

A :class:`Task` turns what a model answered into the per-sample outcome arrays a result
keeps and its metrics are computed from: for classification, class codes and the score
of the clean label; for regression, the values. It also summarises the clean pass, shows
an example's clean and perturbed answer, and says why a metric of its kind could not be
measured. The assembly of a result, the checks and the runner's label check ask these
objects; nothing else in robustcheck switches on a task's name. Third parties register
one with :func:`register` or an entry point in the group ``robustcheck.tasks``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import metrics
from ._files import jsonable, pack
from ._files import plain as _plain
from ._generation import Generation
from ._prediction import _empty, _parse_outputs
from ._task_base import Codes, Outcomes, Task
from .errors import InvalidArgument, RobustcheckWarning, load_plugins

if TYPE_CHECKING:
    from ._outcomes import Clean, UnitOutcome
    from ._prediction_data import Prediction

__all__ = ["CLASSIFICATION", "GENERATION", "REGRESSION", "Codes", "Generation", "Outcomes",
           "Task", "get", "names", "read", "register", "resolve"]


class Classification(Task):
    """Class labels, with or without class scores."""

    name = "classification"
    scored = True

    def read(self, raw: Any, n: int, *, classes: np.ndarray | None, source: str,
             hint: str = "") -> Prediction:
        return _parse_outputs(raw, n, numbers=False, classes=classes, source=source, hint=hint)

    def empty(self) -> Prediction:
        return _empty(numbers=False)

    def codes(self, labels: np.ndarray | None, clean: Prediction | None,
              outcomes: Sequence[UnitOutcome]) -> Codes:
        groups: list[np.ndarray] = []
        if labels is not None:
            groups.append(labels)
        if clean is not None:
            groups.append(clean.labels)
        for u in outcomes:
            if u.prediction is not None:
                groups.append(u.prediction.labels)
                if u.prediction.classes is not None:
                    groups.append(u.prediction.classes)
        return Codes(groups)

    def grow(self, codes: Codes, u: UnitOutcome) -> Codes:
        # most units answer with labels seen before: told by the codes' look-up, where
        # collecting the distinct labels sorts them all (np.unique, every unit)
        pred = u.prediction
        if pred is None or (codes.covers(pred.labels) and (
                pred.classes is None or codes.covers(pred.classes))):
            return codes
        return super().grow(codes, u)

    def truth(self, labels: np.ndarray, codes: Codes) -> np.ndarray:
        return codes.encode(labels)

    def clean(self, pred: Prediction | None, ok: np.ndarray, codes: Codes) -> Outcomes:
        out = np.full(len(ok), -1, dtype=np.int32)
        conf = None
        if pred is not None:
            answered = np.flatnonzero(ok)
            out[answered] = codes.encode(pred.take(answered).labels)
            scores = pred.confidence
            conf = np.where(ok, scores, np.nan) if not np.isnan(scores).all() else None
        return Outcomes(out, conf, {"labels": out})

    def unit(self, u: UnitOutcome, clean: Outcomes, clean_pred: Prediction | None,
             codes: Codes) -> Outcomes:
        labels = clean.compare.copy()
        if u.prediction is not None and len(u.answered):
            labels[u.answered] = codes.encode(u.prediction.labels)
        labels[u.crashed] = -1
        score = None
        if clean.score is not None and clean_pred is not None:
            score = clean.score.copy()
            if u.prediction is not None and len(u.answered):
                wanted = clean_pred.labels[u.answered]
                score[u.answered] = u.prediction.score_of(wanted)
            score[u.crashed] = np.nan
        return Outcomes(labels, score, {
            "labels": labels, "score_of_clean": None if score is None else
            score.astype(np.float32)})

    def row_metrics(self, u: UnitOutcome, clean_ok: np.ndarray, clean: Outcomes,
                    pert: Outcomes, truth: np.ndarray | None, expectation: Any,
                    kind: str, seed: int) -> dict[str, metrics.Metric]:
        return metrics.row_metrics(
            changed=u.changed, crashed=u.crashed, clean_ok=clean_ok,
            clean_labels=clean.compare, labels=pert.compare, truth=truth,
            clean_confidence=clean.score, score_of_clean=pert.score, clean_values=None,
            values=None, expectation=expectation, expectation_kind=kind, seed=seed,
            evaluated=u.evaluated)

    def expectation(self, expectation: Any, codes: Codes) -> Any:
        """A user's expectation function sees labels, not codes: decode around it."""
        if not callable(expectation):
            return expectation
        classes = np.array([*codes.classes, None], dtype=object)

        def decoded(clean: np.ndarray, pert: np.ndarray) -> np.ndarray:
            return np.asarray(expectation(classes[clean], classes[pert]), dtype=bool)

        return decoded

    def summary(self, clean: Clean, out: Outcomes, truth: np.ndarray | None,
                seed: int) -> dict[str, Any]:
        summary: dict[str, Any] = {"labels": pack(out.compare)}
        if out.score is not None:
            summary["confidence"] = pack(out.score.astype(np.float32))
        if truth is not None:
            summary["truth"] = pack(truth.astype(np.int32))
            summary["accuracy"] = metrics.proportion((out.compare == truth) & clean.ok).to_dict()
        return summary

    def answers(self, row: Any, i: int, clean: Outcomes, codes: Codes) -> dict[str, Any]:
        return {"clean": codes.label(int(clean.compare[i])),
                "predicted": codes.label(int(row.labels[i]))}

    def check_labels(self, labels: np.ndarray, clean: Prediction) -> None:
        """True labels that the model never answers with score as wrong forever: a CSV
        label "1" against a predicted 1, or string labels against unnamed score columns
        0..k-1."""
        predicted = {_plain(x) for x in clean.labels.tolist()}
        if clean.classes is not None:
            predicted |= {_plain(x) for x in clean.classes.tolist()}
        truth = {_plain(x) for x in labels.tolist()}
        try:
            never = truth - predicted
        except TypeError:  # unhashable labels were refused earlier; nothing to compare
            return
        if not never:
            return
        seen = _some(predicted)
        if len(never) < len(truth):
            warnings.warn(
                f"labels {_some(never)} never occur among the model's answers on the clean "
                f"inputs ({seen}); samples with those labels always count as wrong",
                RobustcheckWarning, stacklevel=4)
            return
        hint = "; make the labels the same type and spelling as the model's answers"
        kinds = {type(x).__name__ for x in truth}, {type(x).__name__ for x in predicted}
        if clean.classes is not None and clean.classes.dtype.kind in "iu" and \
                kinds[0] == {"str"}:
            hint = ("; the model returns scores without class names, so their columns are "
                    "called 0..k-1: name them, e.g. robustcheck.CallableAdapter(fn, classes="
                    f"{sorted(map(str, truth))[:4]!r}) (HTTPAdapter takes classes= too)")
        elif kinds[0] != kinds[1]:
            hint = (f"; the labels are {'/'.join(sorted(kinds[0]))} but the model answers "
                    f"{'/'.join(sorted(kinds[1]))} (a CSV column read as text?): convert one "
                    "to the other")
        raise InvalidArgument(f"labels: none of the label values {_some(truth)} occurs among "
                              f"the model's answers {seen}, so accuracy would be 0{hint}")


class Regression(Task):
    """One number per input."""

    name = "regression"

    def read(self, raw: Any, n: int, *, classes: np.ndarray | None, source: str,
             hint: str = "") -> Prediction:
        return _parse_outputs(raw, n, numbers=True, classes=classes, source=source, hint=hint)

    def empty(self) -> Prediction:
        return _empty(numbers=True)

    def truth(self, labels: np.ndarray, codes: Codes) -> np.ndarray:
        return np.asarray(labels, dtype=float)

    def clean(self, pred: Prediction | None, ok: np.ndarray, codes: Codes) -> Outcomes:
        values = np.full(len(ok), np.nan)
        if pred is not None:
            answered = np.flatnonzero(ok)
            values[answered] = pred.take(answered).values
        return Outcomes(values, None, {"values": values})

    def unit(self, u: UnitOutcome, clean: Outcomes, clean_pred: Prediction | None,
             codes: Codes) -> Outcomes:
        values = clean.compare.copy()
        if u.prediction is not None:
            values[u.answered] = u.prediction.values
        values[u.crashed] = np.nan
        return Outcomes(values, None, {"values": values.astype(np.float32)})

    def row_metrics(self, u: UnitOutcome, clean_ok: np.ndarray, clean: Outcomes,
                    pert: Outcomes, truth: np.ndarray | None, expectation: Any,
                    kind: str, seed: int) -> dict[str, metrics.Metric]:
        return metrics.row_metrics(
            changed=u.changed, crashed=u.crashed, clean_ok=clean_ok,
            clean_labels=clean.compare, labels=pert.compare, truth=truth,
            clean_confidence=None, score_of_clean=None, clean_values=clean.compare,
            values=pert.compare, expectation=expectation, expectation_kind=kind, seed=seed,
            evaluated=u.evaluated)

    def summary(self, clean: Clean, out: Outcomes, truth: np.ndarray | None,
                seed: int) -> dict[str, Any]:
        summary: dict[str, Any] = {"values": pack(out.compare.astype(np.float32))}
        if truth is not None:
            err = np.where(clean.ok, np.abs(out.compare - truth), np.nan)
            summary["mae"] = metrics.mean(err, seed).to_dict()
            summary["truth"] = pack(np.asarray(truth, dtype=np.float64))
        return summary

    def answers(self, row: Any, i: int, clean: Outcomes, codes: Codes) -> dict[str, Any]:
        return {"clean": jsonable(float(clean.compare[i])),
                "predicted": jsonable(float(row.values[i]))}

    def not_measured(self, metric: str) -> str | None:
        return {"flip_rate": "a regression model has no label flips; use max_failure_rate",
                "accuracy_drop": "accuracy is not scored for regression",
                "confidence_drop": "a regression model reports no scores"}.get(metric)


def _some(values: set[Any], k: int = 4) -> str:
    try:
        shown = sorted(values)[:k]
    except TypeError:
        shown = list(values)[:k]
    more = f" and {len(values) - k} more" if len(values) > k else ""
    return "{" + ", ".join(repr(v) for v in shown) + "}" + more


# -- the registry ---------------------------------------------------------------------

CLASSIFICATION = Classification()
REGRESSION = Regression()
GENERATION = Generation()
_REGISTRY: dict[str, Task] = {CLASSIFICATION.name: CLASSIFICATION,
                              REGRESSION.name: REGRESSION,
                              GENERATION.name: GENERATION}


def register(task: Task) -> Task:
    """Add a task (an instance of a :class:`Task` subclass with a ``name``)."""
    if not isinstance(task, Task) or not task.name:
        raise InvalidArgument(f"register takes a Task instance with a name; got {task!r}")
    _REGISTRY[task.name] = task
    return task


def names() -> list[str]:
    """The names of every registered task, built-in first."""
    _load_entry_points()
    return list(_REGISTRY)


def read(task: Task | None, raw: Any, n: int, *, classes: np.ndarray | None, source: str,
         hint: str = "") -> Prediction:
    """Read a model's answer with ``task``, or, before the task is known, as labels or
    numbers decided from the outputs (see :mod:`robustcheck._prediction`)."""
    if task is not None:
        return task.read(raw, n, classes=classes, source=source, hint=hint)
    return _parse_outputs(raw, n, numbers=None, classes=classes, source=source, hint=hint)


def resolve(task: Any) -> Task | None:
    """``run(task=...)``: None, a registered task's name, or a Task instance."""
    if task is None or isinstance(task, Task):
        return task
    if isinstance(task, str):
        return get(task)
    raise InvalidArgument(f"task must be None, a task name ({', '.join(names())}) or a "
                          f"robustcheck.tasks.Task instance such as "
                          f"robustcheck.tasks.Generation(similarity='chrf'); got "
                          f"{type(task).__name__} {task!r}")


def get(name: str) -> Task:
    _load_entry_points()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise InvalidArgument(f"unknown task {name!r}; known: {', '.join(_REGISTRY)}"
                              ) from None


_ENTRY_POINTS_LOADED = False


def _load_entry_points() -> None:
    """Tasks of installed plug-ins (entry point group ``robustcheck.tasks``), once."""
    global _ENTRY_POINTS_LOADED
    if _ENTRY_POINTS_LOADED:
        return
    _ENTRY_POINTS_LOADED = True
    load_plugins("robustcheck.tasks", "task", register)
