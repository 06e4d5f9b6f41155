"""``Row``: one perturbation at one severity in a result, its metrics, per-sample
outcomes and JSON form. Re-exported by :mod:`robustcheck.results`, whose
:class:`~robustcheck.results.RunResult` holds the rows."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._arrays import Compact
from ._files import pack, unpack
from .metrics import METRICS, Metric

__all__ = ["EXTRA_SAMPLES", "Row"]

EXTRA_SAMPLES = ("similarity", "state")
"""The per-sample arrays of a task's own kind a row may store (:attr:`Row.extra`)."""


_RECENT: OrderedDict[int, tuple[Compact, np.ndarray]] = OrderedDict()
_RECENT_LOCK = threading.Lock()
_RECENT_SIZE = 8
"""The arrays last read, kept unpacked: a loop reading ``row.crashed[i]`` sample by
sample unpacks the row's array once, not once per sample."""


def _read(stored: Compact) -> np.ndarray:
    with _RECENT_LOCK:
        hit = _RECENT.get(id(stored))
        if hit is not None and hit[0] is stored:  # held here: its id cannot be reused
            _RECENT.move_to_end(id(stored))
            return hit[1]
    out = stored.array()
    with _RECENT_LOCK:
        _RECENT[id(stored)] = (stored, out)
        while len(_RECENT) > _RECENT_SIZE:
            _RECENT.popitem(last=False)
    return out


class _Samples:
    """A field of per-sample outcomes kept compact (:class:`Compact`). Reading it gives
    the array as it was set, read-only (set a new array to change it); ``optional``
    fields default to None."""

    def __init__(self, optional: bool) -> None:
        self.optional = optional
        self.name = self.slot = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name, self.slot = name, "_stored_" + name

    def __get__(self, row: Any, owner: type | None = None) -> Any:
        if row is None:  # the dataclass asks the class for the field's default
            if self.optional:
                return None
            raise AttributeError(self.name)  # a required field: no default
        stored = row.__dict__.get(self.slot)
        return None if stored is None else _read(stored)

    def __set__(self, row: Any, value: Any) -> None:
        if value is None and not self.optional:
            raise TypeError(f"Row.{self.name} is a per-sample array, not None")
        if value is not None and np.ndim(value) != 1:
            raise ValueError(f"Row.{self.name} is a per-sample array (one value per sample), "
                             f"got shape {np.shape(value)}; pass a 1-d array of length n")
        row.__dict__[self.slot] = None if value is None else Compact(value)


@dataclass
class Row:
    """One perturbation at one severity: its metrics and per-sample outcomes.

    Per-sample arrays (length n): ``changed``, ``crashed``, ``labels`` (class codes into
    ``RunResult.classes``, the clean prediction where the input did not change, -1
    where the model crashed) or ``values`` for regression, and ``score_of_clean`` (the
    perturbed score of the clean label, NaN when unknown).

    A row keeps ``changed``, ``crashed``, ``failed``, ``evaluated`` and ``labels``
    compact (flags as bits, class codes in one byte for up to 127 classes: 1.4 bytes
    per sample where plain arrays take 7), so an audit's memory grows by little per
    perturbation and severity; reading one gives a read-only array (set a new array to
    change it).
    """

    perturbation: str
    severity: float
    expectation: str
    metrics: dict[str, Metric]
    model_calls: int
    changed: np.ndarray = _Samples(optional=False)  # type: ignore[assignment]
    crashed: np.ndarray = _Samples(optional=False)  # type: ignore[assignment]
    labels: np.ndarray | None = _Samples(optional=True)  # type: ignore[assignment]
    values: np.ndarray | None = None
    score_of_clean: np.ndarray | None = None
    failed: np.ndarray | None = _Samples(optional=True)  # type: ignore[assignment]
    latency: dict[str, float | None] = field(default_factory=dict)
    passed: bool | None = None
    violations: list[str] = field(default_factory=list)
    insufficient: list[str] = field(default_factory=list)
    """Thresholds a check could not decide: too few samples (``min_samples``)."""
    details: dict[str, Any] = field(default_factory=dict)
    """Numbers of the row's own kind: an attack's success rate, edits and queries."""
    inputs: dict[int, Any] = field(default_factory=dict)
    """Perturbed inputs that cannot be regenerated from the seed (an attack's), by sample."""
    evaluated: np.ndarray | None = _Samples(optional=True)  # type: ignore[assignment]
    """False for the changed inputs a systematic crash left unasked (they are in the
    coverage only); None when every input was evaluated."""
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    """Per-sample arrays of a task's own kind, by name (a generation row's
    ``similarity`` and ``state``), stored with the others."""

    @property
    def family(self) -> str:
        return self.perturbation.split(".", 1)[0]

    @property
    def key(self) -> str:
        return f"{self.perturbation}@{self.severity:g}"

    def value(self, metric: str) -> float | None:
        """A metric's value (latency_ratio from the timings); None when not measured."""
        if metric in self.latency:
            return self.latency[metric]
        m = self.metrics.get(metric)
        return None if m is None or math.isnan(m.value) else m.value

    def to_dict(self) -> dict[str, Any]:
        samples: dict[str, Any] = {"changed": pack(self.changed), "crashed": pack(self.crashed)}
        for name in ("labels", "values", "score_of_clean", "failed", "evaluated"):
            array = getattr(self, name)
            if array is not None:
                samples[name] = pack(array)
        for name, array in sorted(self.extra.items()):
            samples[name] = pack(array)
        return {
            "perturbation": self.perturbation,
            "severity": self.severity,
            "expectation": self.expectation,
            "metrics": {k: self.metrics[k].to_dict() for k in METRICS if k in self.metrics},
            "model_calls": self.model_calls,
            "calls_saved": max(0, int(len(self.changed) - self.model_calls)),
            "passed": self.passed,
            "violations": self.violations,
            **({"insufficient": self.insufficient} if self.insufficient else {}),
            **({"details": self.details} if self.details else {}),
            **({"inputs": {str(k): v for k, v in sorted(self.inputs.items())}}
               if self.inputs else {}),
            "samples": samples,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], latency: Mapping[str, Any]) -> Row:
        samples = d["samples"]
        return cls(
            perturbation=d["perturbation"], severity=float(d["severity"]),
            expectation=d["expectation"],
            metrics={k: Metric.from_dict(v) for k, v in d["metrics"].items()},
            model_calls=int(d["model_calls"]),
            changed=unpack(samples["changed"]), crashed=unpack(samples["crashed"]),
            labels=unpack(samples["labels"]) if "labels" in samples else None,
            values=unpack(samples["values"]) if "values" in samples else None,
            score_of_clean=(unpack(samples["score_of_clean"])
                            if "score_of_clean" in samples else None),
            failed=unpack(samples["failed"]) if "failed" in samples else None,
            evaluated=unpack(samples["evaluated"]) if "evaluated" in samples else None,
            latency=dict(latency), passed=d.get("passed"),
            violations=list(d.get("violations", [])),
            insufficient=list(d.get("insufficient", [])), details=dict(d.get("details") or {}),
            inputs={int(k): v for k, v in (d.get("inputs") or {}).items()},
            extra={k: unpack(v) for k, v in samples.items() if k in EXTRA_SAMPLES},
        )
