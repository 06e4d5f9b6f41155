"""The cases a reader looks at: an input as stored in a result (text excerpt or row of
cells), the perturbed inputs regenerated from the seed, and every failing case of a
result (``RunResult.failures``). Works on any result-shaped object, so both the assembly
of a result and the result itself use it without importing each other."""

from __future__ import annotations

from typing import Any

import numpy as np

from perturbations import Perturbation

from ._files import jsonable, unpack
from .modalities import Dataset, Text, perturb

__all__ = ["TEXT_LIMIT", "excerpt", "failing_cases", "input_at", "perturbed_at"]

TEXT_LIMIT = Text.TEXT_LIMIT


def excerpt(value: Any) -> Any:
    """A text as a result stores it: at most :data:`TEXT_LIMIT` characters."""
    return Text.excerpt(value)


def input_at(data: Dataset, position: int) -> Any:
    return data.kind.show(data.inputs, position)


def perturbed_at(data: Dataset, p: Perturbation, severity: float, seed: int,
                 positions: np.ndarray) -> list[Any]:
    """The perturbed inputs at ``positions``, regenerated from the seed."""
    return data.kind.show_all(perturb(data, p, severity, seed, positions))


def failing_cases(result: Any, data: Dataset,
                  suite: dict[str, Perturbation]) -> list[dict[str, Any]]:
    """Every failing sample of every row, with its regenerated perturbed input."""
    clean_labels = unpack(result.clean["labels"]) if "labels" in result.clean else None
    crash_index = {(c["perturbation"], c["severity"], c["index"]): c for c in result.crashes}
    out = []
    for row in result.rows:
        if row.failed is None or not row.failed.any():
            continue
        positions = np.flatnonzero(row.failed)
        if row.inputs:
            after = [row.inputs.get(i) for i in positions.tolist()]
        else:
            after = perturbed_at(data, suite[row.perturbation], row.severity, result.seed,
                                 positions)
        for i, perturbed in zip(positions.tolist(), after):
            crash = crash_index.get((row.perturbation, row.severity, i))
            out.append({
                "perturbation": row.perturbation, "severity": row.severity, "index": i,
                "input": input_at(data, i), "perturbed": perturbed,
                "label": None if data.labels is None else jsonable(data.labels[i]),
                "clean": (None if clean_labels is None or clean_labels[i] < 0
                          else result.classes[clean_labels[i]]),
                "predicted": (None if row.labels is None or row.labels[i] < 0
                              else result.classes[row.labels[i]]),
                "crashed": bool(row.crashed[i]),
                "error": None if crash is None else f"{crash['type']}: {crash['message']}",
            })
    return out
