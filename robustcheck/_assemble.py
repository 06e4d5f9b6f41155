"""From unit outcomes to a :class:`~robustcheck.results.RunResult`: class codes,
metrics per row, worst examples, crashes, failing cases, the environment block."""

from __future__ import annotations

import importlib.metadata as metadata
import math
import platform
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from perturbations import Perturbation
from perturbations._random import stable_hash

from . import metrics
from ._calls import describe_error
from .results import Row, RunResult, jsonable
from .results import plain as _plain

if TYPE_CHECKING:
    from ._data import Dataset
    from .adapters import Adapter, Prediction
    from .runner import Clean, UnitOutcome

EXAMPLES_PER_PERTURBATION = 5
CRASHES_PER_ROW = 10
TEXT_LIMIT = 2000


class Codes:
    """Every label seen (true, clean, perturbed, model classes) -> a stable int code.

    Classes are sorted (by type name, then value) so that codes do not depend on the
    order results arrive in; encoding is a binary search when all labels share a type.
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
        if self._sorted is not None and len(array) and array.dtype.kind in "iufUO":
            try:
                found = np.searchsorted(self._sorted, array)
                found = np.minimum(found, len(self._sorted) - 1)
                if (self._sorted[found] == array).all():
                    return found.astype(np.int32)
            except TypeError:
                pass
        return np.fromiter((self.index[_plain(x)] for x in array.tolist()), dtype=np.int32,
                           count=len(array))


def _distinct(group: np.ndarray) -> list[Any]:
    try:
        return np.unique(group).tolist()
    except TypeError:  # mixed types do not sort
        return list(dict.fromkeys(group.tolist()))


def assemble(*, name: str, adapter: Adapter, data: Dataset, seed: int,
             severities: list[float], suite: list[Perturbation], clean: Clean,
             outcomes: list[UnitOutcome], expectations: dict[str, Any],
             stopped: dict[str, str] | None, timings: dict[str, Any]) -> RunResult:
    n = len(data)
    task = _task(clean, outcomes)
    regression = task == "regression"
    clean_pred = clean.by_position(n)
    groups: list[np.ndarray] = []
    if not regression:
        if data.labels is not None:
            groups.append(data.labels)
        if clean_pred is not None:
            groups.append(clean_pred.labels)
        for u in outcomes:
            if u.prediction is not None:
                groups.append(u.prediction.labels)
                if u.prediction.classes is not None:
                    groups.append(u.prediction.classes)
    codes = Codes(groups)
    clean_codes = np.full(n, -1, dtype=np.int32)
    clean_values = clean_conf = None
    if clean_pred is not None:
        ok = np.flatnonzero(clean.ok)
        if regression:
            clean_values = np.full(n, np.nan)
            clean_values[ok] = clean_pred.take(ok).values
        else:
            clean_codes[ok] = codes.encode(clean_pred.take(ok).labels)
            conf = clean_pred.confidence
            clean_conf = np.where(clean.ok, conf, np.nan) if not np.isnan(conf).all() else None
    truth = None
    if data.labels is not None:
        truth = (np.asarray(data.labels, dtype=float) if regression
                 else codes.encode(data.labels))
    rows = [_row(u, clean, clean_codes, clean_values, clean_conf, clean_pred, codes, truth,
                 expectations[u.perturbation], _kind(suite, u.perturbation), seed)
            for u in outcomes]
    result = RunResult(
        name=name, seed=seed, complete=stopped is None, stopped=stopped,
        model=adapter.describe(),
        data={"fingerprint": data.fingerprint, "n": n, "modality": data.modality,
              "labelled": data.labels is not None},
        task=task, classes=[jsonable(c) for c in codes.classes], severities=severities,
        perturbations={p.name: p.record() for p in suite},
        clean=_clean_summary(clean, clean_codes, truth, clean_values, clean_conf, seed),
        rows=rows, examples={}, crashes=_crashes(data, clean, outcomes),
        environment=environment(adapter), timings={**timings, **_clean_latency(clean)},
    )
    result.examples = _examples(result, data, suite, clean_codes, clean_values, codes,
                                clean_conf, seed, adapter)
    return result


def _task(clean: Clean, outcomes: list[UnitOutcome]) -> str:
    for pred in [clean.prediction, *(u.prediction for u in outcomes)]:
        if pred is not None:
            return pred.task
    return "classification"


def _kind(suite: list[Perturbation], name: str) -> str:
    return next(p.expectation for p in suite if p.name == name)


def _row(u: UnitOutcome, clean: Clean, clean_codes: np.ndarray,
         clean_values: np.ndarray | None, clean_conf: np.ndarray | None,
         clean_pred: Prediction | None, codes: Codes, truth: np.ndarray | None,
         expectation: Any, kind: str, seed: int) -> Row:
    labels = values = score = None
    if clean_values is not None:
        values = clean_values.copy()
        if u.prediction is not None:
            values[u.answered] = u.prediction.values
        values[u.crashed] = np.nan
        compare_clean, compare_pert = clean_values, values
    else:
        labels = clean_codes.copy()
        if u.prediction is not None and len(u.answered):
            labels[u.answered] = codes.encode(u.prediction.labels)
        labels[u.crashed] = -1
        compare_clean, compare_pert = clean_codes, labels
        if clean_conf is not None and clean_pred is not None:
            score = clean_conf.copy()
            if u.prediction is not None and len(u.answered):
                wanted = clean_pred.take(u.answered).labels
                score[u.answered] = u.prediction.score_of(wanted)
            score[u.crashed] = np.nan
    row_seed = stable_hash(seed, u.perturbation, u.severity) & 0xFFFFFFFF
    regression = values is not None
    arrays = {"changed": u.changed, "crashed": u.crashed, "clean_ok": clean.ok}
    details = u.details
    try:
        found = metrics.row_metrics(
            **arrays, clean_labels=compare_clean, labels=compare_pert,
            truth=truth, clean_confidence=clean_conf, score_of_clean=score,
            clean_values=clean_values, values=values,
            expectation=_codes_expectation(expectation, codes, regression),
            expectation_kind=kind, seed=row_seed)
        failed: np.ndarray | None = metrics.failed_samples(
            **arrays, clean=compare_clean, perturbed=compare_pert,
            expectation=_codes_expectation(expectation, codes, regression))
    except Exception as exc:
        if not callable(expectation):
            raise
        # The user's expect function failed on this row's answers: keep the finished run
        # and every metric that does not need it; the failure rate is not measured.
        found = metrics.row_metrics(
            **arrays, clean_labels=compare_clean, labels=compare_pert, truth=truth,
            clean_confidence=clean_conf, score_of_clean=score, clean_values=clean_values,
            values=values, expectation="no-crash", expectation_kind=kind, seed=row_seed)
        found["failure_rate"] = metrics.Metric(math.nan, math.nan, math.nan, 0)
        failed = None
        details = {**details, "expect_error": (
            f"expect[{u.perturbation!r}] raised {type(exc).__name__}: "
            f"{describe_error(exc)[:300]}")}
    return Row(
        perturbation=u.perturbation, severity=u.severity,
        expectation=_expectation_name(expectation), metrics=found,
        model_calls=u.model_calls, changed=u.changed, crashed=u.crashed, labels=labels,
        values=None if values is None else values.astype(np.float32),
        score_of_clean=None if score is None else score.astype(np.float32),
        failed=failed, latency=_latency(u, clean), details=details,
        inputs={i: _stored(x) for i, x in u.inputs.items()},
    )


def _stored(value: Any) -> Any:
    if isinstance(value, dict):  # a tabular row: column -> value
        return {str(k): jsonable(v) for k, v in value.items()}
    return _excerpt(value) if isinstance(value, str) else jsonable(value)


def _expectation_name(expectation: Any) -> str:
    if callable(expectation):
        return "custom"
    return "directional" if expectation == "changes" else str(expectation)


def _codes_expectation(expectation: Any, codes: Codes, regression: bool) -> Any:
    """A user's expectation function sees labels, not codes: decode around it."""
    if not callable(expectation) or regression:
        return expectation
    classes = np.array([*codes.classes, None], dtype=object)

    def decoded(clean: np.ndarray, pert: np.ndarray) -> np.ndarray:
        return np.asarray(expectation(classes[clean], classes[pert]), dtype=bool)

    return decoded


def _latency(u: UnitOutcome, clean: Clean) -> dict[str, float | None]:
    """Per-input seconds (call time / inputs in the call) and the ratio of the time the
    perturbed calls took to the time the same calls take on clean inputs."""
    if len(u.seconds) == 0:
        return {"latency_p50": None, "latency_p95": None, "latency_ratio": None}
    expected = clean.expected_seconds(u.calls)
    spent = sum(secs for _, secs in u.calls)
    return {"latency_p50": _round(float(np.median(u.seconds))),
            "latency_p95": _round(float(np.quantile(u.seconds, 0.95))),
            "latency_ratio": round(spent / expected, 4) if expected > 0 else None}


def _round(x: float) -> float:
    return float(f"{x:.6g}")


def _clean_latency(clean: Clean) -> dict[str, Any]:
    secs = clean.seconds[~np.isnan(clean.seconds)]
    if len(secs) == 0:
        return {"clean_latency_p50": None, "clean_latency_p95": None}
    return {"clean_latency_p50": _round(float(np.median(secs))),
            "clean_latency_p95": _round(float(np.quantile(secs, 0.95)))}


def _clean_summary(clean: Clean, clean_codes: np.ndarray, truth: np.ndarray | None,
                   clean_values: np.ndarray | None, clean_conf: np.ndarray | None,
                   seed: int) -> dict[str, Any]:
    from .results import pack

    out: dict[str, Any] = {
        "answered": int(clean.ok.sum()),
        "crashes": len(clean.crashes),
        "crash_rate": metrics.proportion(~clean.ok[clean.evaluated]).to_dict(),
        "self_disagreement": metrics.proportion(clean.disagree).to_dict(),
        "ok": pack(clean.ok),
    }
    if clean_values is not None:
        out["values"] = pack(clean_values.astype(np.float32))
        if truth is not None:
            err = np.where(clean.ok, np.abs(clean_values - truth), np.nan)
            out["mae"] = metrics.mean(err, seed).to_dict()
        if truth is not None:
            out["truth"] = pack(np.asarray(truth, dtype=np.float64))
    else:
        out["labels"] = pack(clean_codes)
        if clean_conf is not None:
            out["confidence"] = pack(clean_conf.astype(np.float32))
        if truth is not None:
            out["truth"] = pack(truth.astype(np.int32))
            out["accuracy"] = metrics.proportion((clean_codes == truth) & clean.ok).to_dict()
    return out


def _excerpt(value: Any) -> Any:
    if isinstance(value, str):
        return value if len(value) <= TEXT_LIMIT else value[:TEXT_LIMIT] + "…"
    return value


def _input_at(data: Dataset, position: int) -> Any:
    if data.modality == "text":
        return _excerpt(data.inputs[position])
    row = data.inputs.iloc[position]
    return {str(k): jsonable(v) for k, v in row.items()}


def _crashes(data: Dataset, clean: Clean, outcomes: list[UnitOutcome]) -> list[dict[str, Any]]:
    out = [{"perturbation": None, "severity": None, "index": c.position, "type": c.kind,
            "message": c.message, "input": _input_at(data, c.position)}
           for c in clean.crashes[:CRASHES_PER_ROW]]
    for u in outcomes:
        for c in u.crashes[:CRASHES_PER_ROW]:
            out.append({"perturbation": u.perturbation, "severity": u.severity,
                        "index": c.position, "type": c.kind, "message": c.message,
                        "input": _input_at(data, c.position)})
    return out


def perturbed_at(data: Dataset, p: Perturbation, severity: float, seed: int,
                 positions: np.ndarray) -> list[Any]:
    """The perturbed inputs at ``positions``, regenerated from the seed."""
    from ._data import perturb

    out = perturb(data, p, severity, seed, positions)
    if data.modality == "text":
        return [_excerpt(t) for t in out]
    return [{str(k): jsonable(v) for k, v in row.items()} for _, row in out.iterrows()]


def _label(codes: Codes, code: int) -> Any:
    return None if code < 0 else jsonable(codes.classes[code])


def _examples(result: RunResult, data: Dataset, suite: list[Perturbation],
              clean_codes: np.ndarray, clean_values: np.ndarray | None, codes: Codes,
              clean_conf: np.ndarray | None, seed: int,
              adapter: Adapter) -> dict[str, list[dict[str, Any]]]:
    """Per perturbation, the worst failing samples: crashes first, then the lowest
    severity, then the largest confidence drop."""
    out: dict[str, list[dict[str, Any]]] = {}
    by_name = {p.name: p for p in suite}
    for name in dict.fromkeys(r.perturbation for r in result.rows):
        candidates = []
        for row in result[name]:
            if row.failed is None:
                continue
            for i in np.flatnonzero(row.failed).tolist():
                drop = 0.0
                if clean_conf is not None and row.score_of_clean is not None:
                    d = clean_conf[i] - float(row.score_of_clean[i])
                    drop = 0.0 if math.isnan(d) else d
                candidates.append((not row.crashed[i], row.severity, -drop, i, row))
        candidates.sort(key=lambda c: c[:4])
        chosen, seen = [], set()
        for cand in candidates:
            if cand[3] not in seen:
                seen.add(cand[3])
                chosen.append(cand)
            if len(chosen) == EXAMPLES_PER_PERTURBATION:
                break
        if not chosen:
            continue
        examples = []
        for crashed_not, severity, neg_drop, i, row in chosen:
            after = (row.inputs[i] if i in row.inputs else
                     perturbed_at(data, by_name[name], severity, seed, np.array([i]))[0])
            example = {
                "index": i, "severity": severity, "input": _input_at(data, i),
                "perturbed": after,
                "label": None if data.labels is None else jsonable(data.labels[i]),
                "clean": (_label(codes, int(clean_codes[i])) if row.labels is not None
                          else None),
                "predicted": (_label(codes, int(row.labels[i])) if row.labels is not None
                              else None),
                "confidence": _confidence(clean_conf, i),
                "perturbed_confidence": _confidence(row.score_of_clean, i),
                "confidence_drop": round(float(-neg_drop), 6),
                "crash": None,
            }
            if row.values is not None and clean_values is not None:
                example["clean"] = jsonable(float(clean_values[i]))
                example["predicted"] = jsonable(float(row.values[i]))
            if not crashed_not:
                crash = next((c for c in result.crashes if c["perturbation"] == name
                              and c["severity"] == severity and c["index"] == i), None)
                example["crash"] = None if crash is None else {
                    "type": crash["type"], "message": crash["message"]}
            if name == "attack.text" and not row.crashed[i]:
                example["minimal"] = _minimal_change(adapter, data.inputs[i], seed)
            examples.append(example)
        out[name] = examples
    return out


MINIMAL_EXAMPLES = 100


def _minimal_change(adapter: Adapter, text: str, seed: int) -> dict[str, Any] | None:
    """Hypothesis's smallest breaking set of the attack's edit kinds for one input (the
    attack stops at the first flip; this shrinks until every edit is needed)."""
    from .strategies import minimal_failure

    found = minimal_failure(adapter, text, seed=seed, max_examples=MINIMAL_EXAMPLES,
                            families=("typo.keyboard", "typo.swap", "typo.delete",
                                      "homoglyph"))
    if found is None:
        return None
    return {"perturbed": _excerpt(found.perturbed), "edits": len(found.edits),
            "label": jsonable(found.label)}


def _confidence(scores: np.ndarray | None, i: int) -> float | None:
    """A score as a rounded float, None where unknown."""
    if scores is None or math.isnan(float(scores[i])):
        return None
    return round(float(scores[i]), 6)


def failing_cases(result: RunResult, data: Dataset,
                  suite: dict[str, Perturbation]) -> list[dict[str, Any]]:
    """Every failing sample of every row, with its regenerated perturbed input."""
    from .results import unpack

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
                "input": _input_at(data, i), "perturbed": perturbed,
                "label": None if data.labels is None else jsonable(data.labels[i]),
                "clean": (None if clean_labels is None or clean_labels[i] < 0
                          else result.classes[clean_labels[i]]),
                "predicted": (None if row.labels is None or row.labels[i] < 0
                              else result.classes[row.labels[i]]),
                "crashed": bool(row.crashed[i]),
                "error": None if crash is None else f"{crash['type']}: {crash['message']}",
            })
    return out


def environment(adapter: Adapter) -> dict[str, Any]:
    """Versions that can change a result: Python, robustcheck and the libraries."""
    from . import __version__

    env: dict[str, Any] = {"robustcheck": __version__, "python": platform.python_version(),
                           "platform": platform.system().lower()}
    for dist in ("numpy", "pandas", "nlpaug", "scikit-learn", "transformers"):
        try:
            env[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return env
