"""What the model answered, as compact per-sample arrays: the clean pass (:class:`Clean`)
and one perturbation x severity (:class:`UnitOutcome`). Plain data passed from the runner
(and its executor's workers) to the assembly of the result."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._prediction_data import Prediction

__all__ = ["Clean", "Crash", "UnitOutcome", "by_position"]


@dataclass(frozen=True)
class Crash:
    """One input the model failed on: the exception's type and message."""

    position: int
    kind: str
    message: str


@dataclass
class UnitOutcome:
    """What one perturbation x severity produced, as compact per-sample arrays."""

    perturbation: str
    severity: float
    changed: np.ndarray                   # bool (n,)
    crashed: np.ndarray                   # bool (n,)
    answered: np.ndarray                  # positions answered, each a changed sample
    prediction: Prediction | None         # for ``answered``, in that order
    seconds: np.ndarray                   # per-input model time for ``answered``
    crashes: list[Crash]                  # one per crashed sample
    model_calls: int                      # inputs sent to the model
    calls: list[tuple[int, float]]        # (inputs, seconds) of each model call
    details: dict[str, Any] = field(default_factory=dict)   # an attack's own numbers
    inputs: dict[int, Any] = field(default_factory=dict)    # perturbed inputs that cannot
    # be regenerated from the seed alone (an attack's), by position
    groups: dict[int, str] = field(default_factory=dict)    # a counterfactual's group
    # swapped ("male → female"), by position of a changed sample
    evaluated: np.ndarray | None = None   # bool (n,): False for the changed inputs a
    # systematic crash left unasked (see robustcheck._systematic); None: all evaluated


@dataclass
class Clean:
    """The clean predictions: first pass, whether the second agreed, and the model's
    cost per call (``overhead`` + ``per_input`` x inputs, fitted on clean calls)."""

    prediction: Prediction | None
    answered: np.ndarray
    ok: np.ndarray                 # bool (n,): answered in both passes
    disagree: np.ndarray           # bool over ok samples: the two passes differ
    seconds: np.ndarray            # per-input seconds, NaN where crashed
    crashes: list[Crash]
    overhead: float
    per_input: float
    evaluated: np.ndarray          # bool (n,): asked at all (all but after a stop)
    again: Prediction | None = None        # the second pass, for ``again_answered``
    again_answered: np.ndarray | None = None

    @classmethod
    def empty(cls, n: int) -> Clean:
        """No clean answer yet: the run stopped during the clean pass."""
        return cls(None, np.zeros(0, dtype=np.int64), np.zeros(n, dtype=bool),
                   np.zeros(0, dtype=bool), np.full(n, np.nan), [], 0.0, 0.0,
                   np.zeros(n, dtype=bool))

    def by_position(self, n: int) -> Prediction | None:
        """The first pass indexed by sample position (rows of crashed samples are junk)."""
        if self.prediction is None:
            return None
        return by_position(self.prediction, self.answered, n)

    def again_by_position(self, n: int) -> Prediction | None:
        """The second pass indexed by sample position (a generation task measures its
        own noise from the two)."""
        if self.again is None or self.again_answered is None:
            return None
        return by_position(self.again, self.again_answered, n)

    def expected_seconds(self, calls: list[tuple[int, float]]) -> float:
        """How long the same calls would take on clean inputs."""
        return sum(self.overhead + self.per_input * size for size, _ in calls)


def by_position(pred: Prediction, positions: np.ndarray, n: int) -> Prediction:
    """A prediction indexed by sample position (rows of unanswered samples are junk,
    never read)."""
    order = np.zeros(n, dtype=np.int64)
    order[positions] = np.arange(len(positions))
    return pred.take(order)
