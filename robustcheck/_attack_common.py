"""What the attacks share: the per-input query oracle, the result, argument checks.

:mod:`robustcheck._attack_text` and :mod:`robustcheck._attack_tabular` import it;
:mod:`robustcheck.attack` is the public face of all three.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._calls import predict_isolating
from ._files import jsonable
from ._files import plain as _plain
from .adapters import Adapter
from .errors import InvalidArgument
from .metrics import Metric, proportion
from .modalities import Dataset, get

STATUSES = ("success", "failed", "skipped", "crashed")
"""Per-input outcome: the label flipped; it did not within the budgets; the clean
prediction was already wrong (only with ``labels``); the model failed on the clean input."""


# --------------------------------------------------------------------------- results


@dataclass
class AttackResult:
    """The outcome of one attack run: per-input lists, one entry per input, in order.

    ``status`` is one of :data:`STATUSES`; ``success`` is ``status == "success"``.
    ``edits`` counts the character edits (text) or changed columns (tabular) of the
    adversarial input, 0 where there is none; ``distance`` is the size of the change in
    standard deviations (tabular; None for text). ``changes`` lists the edits (text:
    :meth:`Edit.to_dict` entries with the word before and after; for a failed attack,
    the edits it had kept) or the changed columns (tabular).
    ``crashes`` lists the candidates the model failed on, per input.
    """

    kind: str
    seed: int
    max_queries: int
    max_edits: int | None
    indices: list[int]
    status: list[str]
    success: list[bool]
    edits: list[int]
    queries: list[int]
    original: list[Any]
    adversarial: list[Any]
    original_label: list[Any]
    adversarial_label: list[Any]
    distance: list[float | None]
    changes: list[list[dict[str, Any]]]
    crashes: list[list[dict[str, Any]]]
    parameters: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.status)

    @property
    def attacked(self) -> int:
        """Inputs attacked: not skipped (already misclassified), not crashed when clean."""
        return sum(s in ("success", "failed") for s in self.status)

    @property
    def success_rate(self) -> Metric:
        """Share of attacked inputs whose label flipped, with its 95% Wilson interval."""
        hits = np.array([s == "success" for s in self.status if s in ("success", "failed")],
                        dtype=bool)
        return proportion(hits)

    @property
    def median_edits(self) -> float:
        """Median edits of the successful attacks (NaN when none succeeded)."""
        used = [e for e, ok in zip(self.edits, self.success) if ok]
        return float(np.median(used)) if used else math.nan

    @property
    def total_queries(self) -> int:
        """Inputs sent to the model over the whole run."""
        return int(sum(self.queries))

    @property
    def mean_queries(self) -> float:
        return float(np.mean(self.queries)) if self.queries else math.nan

    @property
    def median_queries(self) -> float:
        return float(np.median(self.queries)) if self.queries else math.nan

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: plain types, NaN as None."""
        median = self.median_edits
        inputs = []
        for i in range(len(self)):
            inputs.append({
                "index": self.indices[i], "status": self.status[i], "success": self.success[i],
                "edits": self.edits[i], "queries": self.queries[i],
                "original": jsonable(self.original[i]),
                "adversarial": jsonable(self.adversarial[i]),
                "original_label": jsonable(self.original_label[i]),
                "adversarial_label": jsonable(self.adversarial_label[i]),
                "distance": jsonable(self.distance[i]), "changes": jsonable(self.changes[i]),
                "crashes": jsonable(self.crashes[i]),
            })
        return {
            "kind": self.kind, "seed": self.seed, "max_queries": self.max_queries,
            "max_edits": self.max_edits, "parameters": jsonable(self.parameters),
            "summary": {"n": len(self), "attacked": self.attacked,
                        "success_rate": self.success_rate.to_dict(),
                        "median_edits": None if math.isnan(median) else median,
                        "total_queries": self.total_queries},
            "inputs": inputs,
        }


# --------------------------------------------------------------------------- the oracle


_CRASH = object()
_UNKNOWN = object()


class _Oracle:
    """The model as the attack of one input sees it: a query budget and a counter.

    ``ask`` sends a batch (cut to what is left of the budget) and returns one reply per
    item: ``(label, score of the clean label)``, ``_CRASH`` when the model failed on that
    item alone, or None when the budget ran out before it was sent. A batch that fails
    is split in halves until the failing items are isolated; every input sent, re-sent
    ones included, is a query.
    """

    def __init__(self, adapter: Adapter, budget: int, pack: Callable[[list[Any]], Any],
                 describe: Callable[[Any], Any], modality: str,
                 timeout: float | None = None) -> None:
        self.adapter = adapter
        self.remaining = budget
        self.queries = 0
        self.pack = pack
        self.describe = describe
        self.modality = modality
        self.timeout = timeout
        self.crashes: list[dict[str, Any]] = []
        self.clean_label: Any = _UNKNOWN  # set by the attack once the clean input answered
        self.scored = False

    def ask(self, items: Sequence[Any]) -> list[Any]:
        """One reply per item; the model is called, and failures isolated, as in every
        unit of a run (:func:`robustcheck._calls.predict_isolating`), within the budget."""
        replies: list[Any] = [None] * len(items)
        idx = list(range(len(items)))[: self.remaining]
        if not idx:
            return replies
        batch = Dataset(self.pack([items[i] for i in idx]), None, get(self.modality), "")
        got = predict_isolating(self.adapter, batch, np.arange(len(idx)), len(idx),
                                self.timeout, budget=self.remaining)
        self.queries += got.sent
        self.remaining -= got.sent
        for crash in got.crashes:
            replies[idx[crash.position]] = _CRASH
            self.crashes.append({"input": self.describe(items[idx[crash.position]]),
                                 "type": crash.kind, "message": crash.message})
        pred = got.prediction
        if pred is None:
            return replies
        if pred.values is not None:
            raise InvalidArgument("model is a regressor (it returned values); attacks flip "
                                  "class labels and need a classifier")
        labels = [_plain(v) for v in pred.labels.tolist()]
        if self.clean_label is _UNKNOWN:  # this is the clean input's answer
            self.scored = pred.scores is not None
            scores = pred.confidence
        else:
            scores = pred.score_of(np.array([self.clean_label] * len(pred), dtype=object))
        for j, position in enumerate(got.positions.tolist()):
            replies[idx[position]] = (labels[j], float(scores[j]))
        return replies


def _flipped(reply: Any, clean: Any) -> bool:
    return isinstance(reply, tuple) and reply[0] != clean


@dataclass
class _Outcome:
    """What the attack of one input found; :func:`_record` adds it to the result."""

    status: str
    clean_label: Any = None
    adversarial: Any = None
    adversarial_label: Any = None
    edits: int = 0
    distance: float | None = None
    changes: list[dict[str, Any]] = field(default_factory=list)


# --------------------------------------------------------------------------- recording


def _empty_result(kind: str, seed: int, max_queries: int, max_edits: int | None,
                  indices: list[int], parameters: dict[str, Any]) -> AttackResult:
    return AttackResult(kind, seed, max_queries, max_edits, indices, [], [], [], [], [], [],
                        [], [], [], [], [], parameters)


def _record(out: AttackResult, original: Any, oracle: _Oracle, o: _Outcome) -> None:
    out.status.append(o.status)
    out.success.append(o.status == "success")
    out.edits.append(o.edits)
    out.queries.append(oracle.queries)
    out.original.append(original)
    out.adversarial.append(o.adversarial)
    out.original_label.append(o.clean_label)
    out.adversarial_label.append(o.adversarial_label)
    out.distance.append(o.distance)
    out.changes.append(o.changes)
    out.crashes.append(oracle.crashes)


# --------------------------------------------------------------------------- arguments


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise InvalidArgument(f"{name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def _check_positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value) or value <= 0:
        raise InvalidArgument(f"{name} must be a finite number > 0; got {value!r}")
    return float(value)


def _check_labels(labels: Any, n: int) -> list[Any] | None:
    if labels is None:
        return None
    if isinstance(labels, str):
        raise InvalidArgument("labels is a single string; pass one label per text, or None")
    values = [_plain(v) for v in (labels.tolist() if hasattr(labels, "tolist") else labels)]
    if len(values) != n:
        raise InvalidArgument(f"labels has {len(values)} entries for {n} inputs; pass one "
                              "label per input, or None")
    return values


def _check_indices(indices: Any, n: int) -> list[int]:
    if indices is None:
        return list(range(n))
    values = list(indices.tolist() if hasattr(indices, "tolist") else indices)
    if len(values) != n or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                                   and int(v) >= 0 for v in values):
        raise InvalidArgument(f"indices must be {n} non-negative integers (the inputs' "
                              f"positions in the whole data set), or None; got {values[:10]!r}")
    return [int(v) for v in values]
