"""The parts every task is built from: :class:`Codes` (labels to stable integer codes),
:class:`Outcomes` (a pass's per-sample arrays) and the :class:`Task` base class. Public
through :mod:`robustcheck.tasks`; kept here so that a task module (``_generation``) can
build on them without importing the registry that imports it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from . import metrics
from ._arrays import int_columns
from ._files import jsonable
from ._files import plain as _plain

if TYPE_CHECKING:
    from ._outcomes import Clean, UnitOutcome
    from ._prediction_data import Prediction

__all__ = ["Codes", "Outcomes", "Task"]


class Codes:
    """Every label seen (true, clean, perturbed, model classes) -> a stable int code.

    Classes are sorted (by type name, then value) so that codes do not depend on the
    order results arrive in; encoding is a table look-up (integers close together) or a
    binary search when all labels share a type.
    """

    def __init__(self, groups: Sequence[np.ndarray]) -> None:
        seen: set[Any] = set()
        for group in groups:
            seen.update(_plain(x) for x in _distinct(group))
        try:
            self.classes = sorted(seen, key=lambda x: (type(x).__name__, x))
        except TypeError:
            self.classes = sorted(seen, key=repr)
        self.index = {label: i for i, label in enumerate(self.classes)}
        kinds = {type(c) for c in self.classes}
        self._sorted = (np.array(self.classes) if len(kinds) == 1 and kinds <= {str, int, float}
                        else None)

    def encode(self, labels: np.ndarray | Sequence[Any]) -> np.ndarray:
        array = np.asarray(labels)
        found = self._coded(array)
        if found is not None:
            return found.astype(np.int32)
        return np.fromiter((self.index[_plain(x)] for x in array.tolist()), dtype=np.int32,
                           count=len(array))

    def covers(self, labels: np.ndarray) -> bool:
        """Whether every one of ``labels`` has a code, where the fast path of
        :meth:`encode` can tell; False otherwise, and the caller works it out in full."""
        array = np.asarray(labels)
        return len(array) == 0 or self._coded(array) is not None

    def _coded(self, array: np.ndarray) -> np.ndarray | None:
        """The code of each label, looked up in a table of the classes' span (integers)
        or by a binary search among the classes, when they share one type and every
        label has a code; None otherwise."""
        if self._sorted is None or not len(array) or array.dtype.kind not in "iufUO":
            return None
        table = int_columns(array, self._sorted)  # the classes are sorted: the same codes
        if table is not None:
            return table if (table >= 0).all() else None
        try:
            found = np.minimum(np.searchsorted(self._sorted, array), len(self._sorted) - 1)
            return found if (self._sorted[found] == array).all() else None
        except TypeError:
            return None

    def label(self, code: int) -> Any:
        return None if code < 0 else jsonable(self.classes[code])

    def union(self, other: Codes) -> Codes:
        """Codes of the labels of both (``self`` when ``other`` adds none)."""
        if all(c in self.index for c in other.classes):
            return self
        both = np.empty(len(self.classes) + len(other.classes), dtype=object)
        for i, c in enumerate([*self.classes, *other.classes]):
            both[i] = c
        return Codes([both])


def _distinct(group: np.ndarray) -> list[Any]:
    try:
        return np.unique(group).tolist()
    except TypeError:  # mixed types do not sort
        return list(dict.fromkeys(group.tolist()))


@dataclass
class Outcomes:
    """Per-sample arrays of one pass (clean, or one perturbation x severity):
    ``compare`` is what the expectation compares (codes or values, by sample), ``score``
    the score of the clean label (NaN when unknown), ``stored`` what a Row keeps."""

    compare: np.ndarray
    score: np.ndarray | None = None
    stored: dict[str, np.ndarray | None] = field(default_factory=dict)
    kept: dict[str, Any] = field(default_factory=dict)
    """What a row keeps of a task's own kind in its ``details`` (a generation row's
    perturbed outputs for its examples)."""


class Task:
    """Base class of a kind of model output. ``name`` is what a Prediction reports as
    its ``task``."""

    name: ClassVar[str] = ""
    #: Whether class scores mean something for this task: a scikit-learn estimator is
    #: then asked ``predict_proba`` / ``decision_function`` before ``predict``, and a
    #: transformers classification pipeline can serve it.
    scored: ClassVar[bool] = False

    def read(self, raw: Any, n: int, *, classes: np.ndarray | None, source: str,
             hint: str = "") -> Prediction:
        """What the model answered for ``n`` inputs (``raw``, as the model returned it),
        validated; ``source`` names the model in errors, ``hint`` ends them."""
        raise NotImplementedError(f"{type(self).__name__}.read")

    def empty(self) -> Prediction:
        """The answer to no inputs."""
        return self.read([], 0, classes=None, source=self.name)

    def codes(self, labels: np.ndarray | None, clean: Prediction | None,
              outcomes: Sequence[UnitOutcome]) -> Codes:
        """The label coding of a run (empty when outputs are not labels)."""
        return Codes([])

    def grow(self, codes: Codes, u: UnitOutcome) -> Codes:
        """Codes that also cover the labels ``u`` answered: ``codes`` itself when they
        already do. A result is assembled one unit at a time, and a perturbed input may
        get a label no earlier pass gave."""
        return codes.union(self.codes(None, None, [u]))

    def truth(self, labels: np.ndarray, codes: Codes) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__}.truth")

    def clean(self, pred: Prediction | None, ok: np.ndarray, codes: Codes) -> Outcomes:
        raise NotImplementedError(f"{type(self).__name__}.clean")

    def unit(self, u: UnitOutcome, clean: Outcomes, clean_pred: Prediction | None,
             codes: Codes) -> Outcomes:
        raise NotImplementedError(f"{type(self).__name__}.unit")

    def row_metrics(self, u: UnitOutcome, clean_ok: np.ndarray, clean: Outcomes,
                    pert: Outcomes, truth: np.ndarray | None, expectation: Any,
                    kind: str, seed: int) -> dict[str, metrics.Metric]:
        raise NotImplementedError(f"{type(self).__name__}.row_metrics")

    def expectation(self, expectation: Any, codes: Codes) -> Any:
        """The expectation as the metrics apply it (a user's function sees answers)."""
        return expectation

    def failed_samples(self, u: UnitOutcome, clean_ok: np.ndarray, clean: Outcomes,
                       pert: Outcomes, expected: Any) -> np.ndarray:
        """Per sample: its input changed (and was asked), its clean answer stood, and the
        model crashed or broke the expectation (what ``failure_rate`` counts)."""
        return metrics.failed_samples(
            changed=u.changed if u.evaluated is None else u.changed & u.evaluated,
            crashed=u.crashed, clean_ok=clean_ok, clean=clean.compare,
            perturbed=pert.compare, expectation=expected)

    def settings(self) -> dict[str, Any]:
        """What a result records of this task's configuration (none for the built-in
        label and number tasks)."""
        return {}

    def summary(self, clean: Clean, out: Outcomes, truth: np.ndarray | None,
                seed: int) -> dict[str, Any]:
        """What the result keeps of the clean pass beyond its crashes."""
        raise NotImplementedError(f"{type(self).__name__}.summary")

    def answers(self, row: Any, i: int, clean: Outcomes, codes: Codes) -> dict[str, Any]:
        """An example's clean and perturbed answer, as the report shows them."""
        raise NotImplementedError(f"{type(self).__name__}.answers")

    def expected_phrase(self, expectation: str) -> str:
        """What a robust model's answer looks like under ``expectation``, as the
        report's examples say it ("expected the same label")."""
        return {"invariant": "the same label", "directional": "a different label",
                "no-crash": "any answer"}.get(expectation, "")

    def not_measured(self, metric: str) -> str | None:
        """Why this task never has ``metric`` (None: it can have it)."""
        return None

    def check_labels(self, labels: np.ndarray, clean: Prediction) -> None:
        """Refuse true labels the model can never match (before any unit runs)."""
