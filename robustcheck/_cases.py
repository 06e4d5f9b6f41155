"""The cases a reader looks at: an input as stored in a result (text excerpt or row of
cells), the perturbed inputs regenerated from the seed, every failing case of a result
(``RunResult.failures``) and every perturbed sample (``RunResult.cases``). Works on any
result-shaped object, so both the assembly of a result and the result itself use it
without importing each other."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from perturbations import Perturbation

from ._files import jsonable, unpack
from ._suite import lookup
from .errors import InvalidArgument
from .modalities import Dataset, Text, make_dataset, perturb

__all__ = ["CASE_COLUMNS", "TEXT_LIMIT", "all_cases", "excerpt", "failing_cases", "input_at",
           "perturbed_at", "perturbed_by_unit", "source_of"]

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


def perturbed_by_unit(data: Dataset, suite: Mapping[str, Perturbation], seed: int,
                      wanted: Iterable[tuple[str, float, int]]
                      ) -> dict[tuple[str, float, int], Any]:
    """The perturbed inputs of ``wanted`` ``(perturbation, severity, index)``, regenerated
    from the seed with one call per unit, not one per input (an input's perturbation does
    not depend on the inputs perturbed with it)."""
    units: dict[tuple[str, float], list[int]] = {}
    for name, severity, index in wanted:
        units.setdefault((name, severity), []).append(index)
    out: dict[tuple[str, float, int], Any] = {}
    for (name, severity), indices in units.items():
        positions = np.unique(np.asarray(indices, dtype=np.int64))
        shown = perturbed_at(data, suite[name], severity, seed, positions)
        out.update({(name, severity, int(i)): x for i, x in zip(positions, shown)})
    return out


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
        after = _perturbed(result, row, data, suite, positions)
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


def source_of(result: Any, inputs: Any, labels: Any, caller: str
              ) -> tuple[Dataset, dict[str, Any]]:
    """The data a result was made from and its perturbations by name: the result's own
    source, or ``inputs`` (and ``labels``) given again, checked by fingerprint."""
    data = result.source.data if result.source is not None else None
    if inputs is not None:
        data = make_dataset(inputs, labels)
    if data is None:
        raise InvalidArgument(
            f"{caller} needs the data the result was made from: pass inputs= "
            "(and labels=) when the result was loaded from a file")
    if data.fingerprint != result.data["fingerprint"]:
        raise InvalidArgument(
            "inputs are not the data this result was made from (the fingerprints "
            "differ); pass the same inputs and labels as to robustcheck.run")
    suite = dict(result.source.suite) if result.source is not None else {}
    for name in result.perturbations:
        if name not in suite:
            suite[name] = lookup(name)
    return data, suite


CASE_COLUMNS = ("perturbation", "severity", "index", "input", "perturbed", "label", "clean",
                "predicted", "confidence", "failed", "crashed", "crash")


def all_cases(result: Any, data: Dataset, suite: dict[str, Any]) -> list[dict[str, Any]]:
    """One dict per sample that a row's perturbation changed (keys :data:`CASE_COLUMNS`),
    its perturbed input regenerated from the seed. Unchanged samples are left out: the
    model saw the clean input again, and its answer is the clean one; so are the inputs
    a systematic crash left unasked (``row.evaluated``): the model never saw them."""
    clean = _clean_answers(result)
    confidence = unpack(result.clean["confidence"]) if "confidence" in result.clean else None
    crash_index = {(c["perturbation"], c["severity"], c["index"]): c for c in result.crashes}
    out = []
    for row in result.rows:
        asked = row.changed if row.evaluated is None else row.changed & row.evaluated
        positions = np.flatnonzero(asked)
        if not len(positions):
            continue
        after = _perturbed(result, row, data, suite, positions)
        predicted = _answers(result, row)
        for i, perturbed in zip(positions.tolist(), after):
            crash = crash_index.get((row.perturbation, row.severity, i))
            out.append({
                "perturbation": row.perturbation, "severity": row.severity, "index": i,
                "input": input_at(data, i), "perturbed": perturbed,
                "label": None if data.labels is None else jsonable(data.labels[i]),
                "clean": clean(i), "predicted": None if row.crashed[i] else predicted(i),
                "confidence": _score(confidence, i),
                "failed": None if row.failed is None else bool(row.failed[i]),
                "crashed": bool(row.crashed[i]),
                "crash": None if crash is None else f"{crash['type']}: {crash['message']}",
            })
    return out


def _perturbed(result: Any, row: Any, data: Dataset, suite: dict[str, Any],
               positions: np.ndarray) -> list[Any]:
    """The perturbed inputs of a row at ``positions``: regenerated from the seed, or for
    an attack (whose inputs cannot be regenerated) those the result kept, None where it
    found nothing."""
    if row.inputs or "attack" in row.details:
        return [row.inputs.get(i) for i in positions.tolist()]
    return perturbed_at(data, suite[row.perturbation], row.severity, result.seed, positions)


def _clean_answers(result: Any) -> Any:
    """``i -> the clean answer`` (a class or a value; None where the model crashed)."""
    if "labels" in result.clean:
        return _decoder(result, unpack(result.clean["labels"]), None)
    if "values" in result.clean:
        return _decoder(result, None, unpack(result.clean["values"]))
    return lambda i: None


def _answers(result: Any, row: Any) -> Any:
    """``i -> the row's answer`` for sample i."""
    return _decoder(result, row.labels, row.values)


def _decoder(result: Any, codes: np.ndarray | None, values: np.ndarray | None) -> Any:
    def answer(i: int) -> Any:
        if codes is not None:
            return None if codes[i] < 0 else result.classes[codes[i]]
        if values is not None:
            return None if np.isnan(values[i]) else jsonable(float(values[i]))
        return None

    return answer


def _score(scores: np.ndarray | None, i: int) -> float | None:
    if scores is None or np.isnan(scores[i]):
        return None
    return round(float(scores[i]), 6)
