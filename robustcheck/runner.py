"""``robustcheck.run``: a model, a data set and a suite of perturbations in; a
:class:`~robustcheck.results.RunResult` out.

The flow for one input, start to end: the data set is validated and fingerprinted;
the clean inputs are predicted twice (a model that disagrees with itself makes every
flip rate noisy, so that is measured); then for each perturbation x severity (a *unit*,
run in-process or on any ``concurrent.futures`` executor) the inputs are perturbed,
only the changed ones are sent to the model, each distinct changed input once, in
batches; a batch that raises is split in halves until the inputs that fail are isolated
and recorded as crashes. The unit returns compact per-sample arrays; metrics
(:mod:`robustcheck.metrics`) and the result (:mod:`robustcheck.results`) are built from
them in this process, in unit order, so the executor never changes a number.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any

import numpy as np

from perturbations import Perturbation

from . import tasks
from ._assemble import Assembly
from ._calls import Stop, call_model, describe_error, predict_isolating
from ._cases import excerpt
from ._files import jsonable
from ._options import DEFAULT_SEVERITIES
from ._outcomes import Clean, Crash, UnitOutcome, by_position
from ._progress import progress_bar as _progress
from ._schedule import check_shard_size, run_units
from ._suite import select
from ._units import evaluate_in_parts
from ._validate import check_batch_size, check_seed, check_severities, check_timeout
from .adapters import Adapter, Prediction, adapt
from .attack import Attack
from .errors import (
    InvalidArgument,
)
from .modalities import Dataset, make_dataset
from .results import RunResult, Source
from .strategies import minimal_failure

__all__ = ["Crash", "UnitOutcome", "run"]


# -- one unit: a perturbation at one severity ------------------------------------------


def evaluate_unit(adapter: Adapter, data: Dataset, p: Any, severity: float,
                  seed: int, batch_size: int, timeout: float | None,
                  minimal: bool = False) -> UnitOutcome:
    """Perturb every input, predict each distinct changed one once, map answers back
    (the whole unit in this process, in parts of the modality's ``part_size`` samples,
    see :mod:`robustcheck._units`)."""
    if isinstance(p, Attack):
        return evaluate_attack(adapter, data, p, severity, seed, batch_size, timeout, minimal)
    return evaluate_in_parts(adapter, data, p, severity, seed, batch_size, timeout)


def evaluate_attack(adapter: Adapter, data: Dataset, attack: Any, severity: float, seed: int,
                    batch_size: int, timeout: float | None,
                    minimal: bool = False) -> UnitOutcome:
    """An attack as a unit: every input it attacked counts as changed; the adversarial
    inputs it found are predicted again (through the same crash isolation), the others
    keep their clean prediction, so the row's flip rate is the attack's success rate.
    Every query goes through the run's timeout and crash isolation and is counted in
    ``model_calls``; with ``minimal`` the smallest breaking edits of the first few
    successes are searched too, with their own query budget, counted as well."""
    n = len(data)
    found = attack.run(adapter, data.inputs, severity=severity, seed=seed, timeout=timeout)
    changed = np.array([s in ("success", "failed") for s in found.status], dtype=bool)
    hits = np.flatnonzero(np.array(found.success, dtype=bool))
    adversarial = {int(i): found.adversarial[int(i)] for i in hits}
    batch = data.kind.adversarial(data.inputs, hits, adversarial)
    # the adversarial inputs, predicted again: position j of the batch is sample hits[j]
    got = predict_isolating(adapter, data.like(batch), np.arange(len(hits)), batch_size,
                            timeout)
    crashed = np.zeros(n, dtype=bool)
    crashed[hits[[c.position for c in got.crashes]]] = True
    crashes = [Crash(int(hits[c.position]), c.kind, c.message) for c in got.crashes]
    success = found.success_rate
    details = {"attack": {
        "success_rate": {"value": _nan_none(success.value), "low": _nan_none(success.low),
                         "high": _nan_none(success.high), "n": success.n},
        "median_edits": _nan_none(found.median_edits),
        "median_distance": _nan_none(_median([d for d, ok in zip(found.distance, found.success)
                                              if ok and d is not None])),
        "queries_total": found.total_queries, "queries_mean": _nan_none(found.mean_queries),
        "skipped": sum(s == "skipped" for s in found.status),
        "max_edits": found.max_edits, "max_queries": found.max_queries,
    }}
    calls = found.total_queries + got.sent
    if minimal and attack.minimal:
        answered = set(hits[got.positions].tolist())
        targets = [i for i in hits.tolist() if i in answered][:MINIMAL_PER_UNIT]
        searched, queries = _minimal_changes(adapter, data, targets, seed, timeout)
        details["minimal"] = searched
        details["attack"]["queries_minimal"] = queries
        calls += queries
    return UnitOutcome(
        perturbation=attack.name, severity=severity, changed=changed, crashed=crashed,
        answered=hits[got.positions], prediction=got.prediction, seconds=got.seconds,
        crashes=crashes, model_calls=calls, calls=got.calls,
        details=details, inputs=adversarial,
    )


MINIMAL_PER_UNIT = 5
"""Successful attacks per unit whose smallest breaking change is searched."""
MINIMAL_EXAMPLES = 100
"""Hypothesis examples per search (each at most a few model calls)."""
MINIMAL_FAMILIES = ("typo.keyboard", "typo.swap", "typo.delete", "homoglyph")


class _Counted(Adapter):
    """An adapter whose calls go through the run's timeout and are counted."""

    def __init__(self, inner: Adapter, timeout: float | None) -> None:
        self.inner, self.timeout, self.task, self.calls = inner, timeout, inner.task, 0

    def predict(self, inputs: Sequence[Any]) -> Prediction:
        self.calls += len(inputs)
        return call_model(self.inner, inputs, self.timeout)[0]

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()


def _minimal_changes(adapter: Adapter, data: Dataset, positions: list[int], seed: int,
                     timeout: float | None) -> tuple[dict[str, Any], int]:
    """Hypothesis's smallest breaking set of the attack's edit kinds for each input at
    ``positions`` (the attack stops at the first flip; this shrinks until every edit is
    needed), and the model calls it took."""
    counted = _Counted(adapter, timeout)
    out: dict[str, Any] = {}
    for i in positions:
        found = minimal_failure(counted, data.inputs[i], seed=seed,
                                max_examples=MINIMAL_EXAMPLES, families=MINIMAL_FAMILIES)
        out[str(i)] = None if found is None else {
            "perturbed": excerpt(found.perturbed), "edits": len(found.edits),
            "label": jsonable(found.label)}
    return out, counted.calls


def _median(values: list[float]) -> float:
    """The median, NaN for no value (a text attack has no distance)."""
    return float(np.median(values)) if values else math.nan


def _nan_none(x: float) -> float | None:
    return None if x is None or math.isnan(x) else round(float(x), 6)


# -- the run --------------------------------------------------------------------------


def run(
    model: Any,
    inputs: Any,
    labels: Any = None,
    *,
    perturbations: Any = "text",
    severities: Sequence[float] = DEFAULT_SEVERITIES,
    seed: int = 0,
    name: str | None = None,
    batch_size: int | None = None,
    timeout: float | None = None,
    executor: Executor | None = None,
    progress: bool | Callable[[int, int, str], Any] | None = None,
    expect: Mapping[str, str | Callable[[np.ndarray, np.ndarray], np.ndarray]] | None = None,
    minimal: bool = False,
    shard_size: int | None = None,
    task: str | tasks.Task | None = None,
) -> RunResult:
    """Audit ``model`` on ``inputs`` under every perturbation x severity.

    ``model``: anything :func:`robustcheck.adapt` takes (a callable, a scikit-learn
    estimator, a Hugging Face pipeline, an ``http(s)://`` URL, an Adapter).
    ``inputs``: a list of strings / pandas Series (text) or a DataFrame (tabular).
    ``labels``: the true labels, or the name of a column of the DataFrame.
    ``perturbations``: a modality (its default suite), family or perturbation names,
    Perturbation objects, or a list of those. ``timeout``: seconds per input after
    which a model call counts as a crash. ``executor``: any concurrent.futures
    executor (e.g. a Dask ``Client.get_executor()``); results do not depend on it.
    ``progress``: a bar on stderr (default: when stderr is a terminal), False, or a
    callback ``f(done, total, label)``. ``expect``: per perturbation name, how a robust
    model answers: "invariant", "changes", "no-crash" or a function
    ``(clean_labels, perturbed_labels) -> bool array`` (True where as expected).
    ``minimal``: for an ``attack.text`` row, also search the smallest breaking change of
    its first successes (a Hypothesis search, counted in ``model_calls``), shown next to
    the worst examples in the report; the CLI and the plugin ask for it with a report.
    ``batch_size``: inputs per model call (default: the modality's, 256 texts or 4,096
    table rows, or more for an endpoint sending many requests at once: eight rounds of
    its ``concurrency`` requests). ``shard_size``: with an ``executor``, each unit's data
    is split into shards of this many samples run as separate tasks, so two workers
    share one big unit (default
    :data:`robustcheck._schedule.SHARD_SIZE`); the result is the same for any shard size
    and worker count. Ignored in-process. ``task``: what the model's outputs are, when
    the adapter does not say: ``"classification"``, ``"regression"``, ``"generation"``
    (text answers to prompts; ``labels`` are then optional reference outputs) or a Task
    instance, e.g. ``robustcheck.tasks.Generation(similarity="chrf", output="json")``.

    A model error never aborts the run; Ctrl-C returns the result so far, marked
    incomplete.
    """
    chosen = tasks.resolve(task)
    adapter = _with_task(_adapt(model), chosen)
    data = make_dataset(inputs, labels)
    suite = select(perturbations, data.modality)
    levels = _severities(severities)
    seed = _seed(seed)
    batch_size = _batch_size(batch_size) or _call_size(adapter, data.kind.batch_size)
    timeout = _timeout(timeout)
    expectations = _expectations(expect, suite)
    _check_canary_rows(expectations, chosen or adapter.task)
    _check_executor(executor, adapter)
    shard_size = check_shard_size(shard_size)
    started, clock = _now(), time.perf_counter()
    stopped: dict[str, str] | None = None
    try:
        clean = _predict_clean(adapter, data, batch_size, timeout)
    except KeyboardInterrupt:
        clean, stopped = Clean.empty(len(data)), _stop("interrupted", "interrupted (Ctrl-C) "
                                                       "during the clean pass")
    except Stop as exc:
        clean, stopped = Clean.empty(len(data)), _stop(exc.kind, f"{exc} (during the clean "
                                                                 "pass)")
    assembly = Assembly(
        name=name or adapter.describe().get("name") or "model", adapter=adapter, data=data,
        seed=seed, severities=levels, suite=suite, clean=clean, expectations=expectations,
        task=chosen)
    if stopped is None and clean.ok.any():
        _check_labels(data, clean)
        _check_expectations(expectations, clean)
        units = [(p, s) for p in suite for s in levels]
        own = _own_threads(adapter) if executor is None else None
        try:
            stopped = run_units(units, adapter, data, seed, batch_size, timeout,
                                executor or own, _progress(progress, len(units)), minimal,
                                shard_size, assembly.add, evaluate_unit)
        finally:
            if own is not None:
                own.shutdown(wait=True, cancel_futures=True)
    # With no clean answer there is nothing to measure a perturbation against: the units
    # are not run, and the result's clean row says why every check fails.
    result: RunResult = assembly.finish(
        stopped=stopped,
        timings={"started": started, "seconds": round(time.perf_counter() - clock, 3)},
        source=Source(data, {p.name: p for p in suite}),
    )
    return result


def _call_size(adapter: Adapter, default: int) -> int:
    """Inputs per model call when the caller did not say: the modality's default, or
    more for an adapter that sends many requests at once (``inputs_per_call``, e.g. an
    HTTP endpoint), so that each call keeps its connections busy."""
    wanted = getattr(adapter, "inputs_per_call", None)
    if not isinstance(wanted, int) or isinstance(wanted, bool):
        return default
    return max(default, wanted)


def _own_threads(adapter: Adapter) -> Executor | None:
    """Threads for an adapter that waits on a server (``units_at_once`` > 1, e.g. an
    HTTP endpoint): several units in flight keep its connections busy. Results are the
    same on any executor."""
    at_once = getattr(adapter, "units_at_once", 1)
    if not isinstance(at_once, int) or at_once <= 1:
        return None
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(at_once, thread_name_prefix="robustcheck-unit")


def _stop(kind: str, message: str) -> dict[str, str]:
    return {"kind": kind, "message": message}


def _check_executor(executor: Any, adapter: Adapter) -> None:
    """An executor must take ``submit``; a process pool (or Dask) must be able to send the
    model to its workers, which is checked here rather than after the clean pass."""
    if executor is None:
        return
    if not callable(getattr(executor, "submit", None)):
        raise InvalidArgument(f"executor must be a concurrent.futures.Executor (with "
                              f".submit), got {type(executor).__name__}")
    if isinstance(executor, ProcessPoolExecutor):
        import pickle

        dumps: Callable[[Any], Any] = pickle.dumps
    elif type(executor).__module__.startswith("distributed"):
        try:
            import cloudpickle
        except ImportError:  # distributed brings it; without it Dask reports the error
            return
        dumps = cloudpickle.dumps
    else:
        return
    try:
        dumps(adapter)
    except Exception as exc:
        raise InvalidArgument(
            f"executor={type(executor).__name__} runs units in other processes, but the "
            f"model cannot be sent there ({type(exc).__name__}: {describe_error(exc)[:200]}); "
            "define the model at module level (not a lambda or a local function), or use a "
            "ThreadPoolExecutor") from None


def _check_labels(data: Dataset, clean: Clean) -> None:
    """True labels the model can never match are refused before the units run."""
    if data.labels is not None and clean.prediction is not None:
        tasks.get(clean.prediction.task).check_labels(data.labels, clean.prediction)


def _check_expectations(expectations: Mapping[str, Any], clean: Clean) -> None:
    """Call each ``expect`` function once on the clean answers, so a function that cannot
    work fails here, before the audit, rather than after it."""
    custom = {k: f for k, f in expectations.items() if callable(f)}
    if not custom or clean.prediction is None:
        return
    answers = clean.prediction.take(np.flatnonzero(clean.ok[clean.answered]))
    sample = np.asarray((answers.values if answers.values is not None else answers.labels
                         ).tolist(), dtype=object)
    for key, fn in custom.items():
        try:
            got = np.asarray(fn(sample.copy(), sample.copy()))
        except Exception as exc:
            raise InvalidArgument(
                f"expect[{key!r}] raised {type(exc).__name__}: {describe_error(exc)[:200]} "
                "when called as f(clean_labels, perturbed_labels) on the clean answers; it must "
                "take two arrays and return one bool per sample") from None
        if got.shape != sample.shape:
            raise InvalidArgument(
                f"expect[{key!r}] returned shape {got.shape} for {len(sample)} samples; it must "
                "return one bool per sample")


def _adapt(model: Any) -> Adapter:
    if model is None:
        raise InvalidArgument("model is None; pass a callable, a scikit-learn estimator, a "
                              "Hugging Face pipeline, a URL or a robustcheck Adapter")
    return adapt(model)


# The same checks as the plugin's and the command line's options: one message per mistake.
_severities = check_severities
_seed = check_seed
_batch_size = check_batch_size
_timeout = check_timeout


def _expectations(expect: Any, suite: list[Perturbation]) -> dict[str, Any]:
    out: dict[str, Any] = {p.name: p.expectation for p in suite}
    for key, how in (expect or {}).items():
        if key not in out:
            raise InvalidArgument(f"expect names {key!r}, which is not in this run's "
                                  f"perturbations")
        if not callable(how) and how not in ("invariant", "changes", "no-crash",
                                             "no-canary"):
            raise InvalidArgument(f"expect[{key!r}] must be 'invariant', 'changes', "
                                  f"'no-crash', 'no-canary' or a function, got {how!r}")
        out[key] = how
    return out


def _with_task(adapter: Adapter, task: tasks.Task | None) -> Adapter:
    """The adapter, reading answers as ``task`` (a copy when the task must be set: the
    caller's adapter is not modified)."""
    if task is None or adapter.task == task.name:
        return adapter
    if adapter.task is not None:
        raise InvalidArgument(f"task={task.name!r}, but the model's adapter answers as "
                              f"{adapter.task!r}; pass the same task to both, or none to run")
    import copy

    adapter = copy.copy(adapter)
    adapter.task = task.name
    return adapter


def _check_canary_rows(expectations: Mapping[str, Any], task: Any) -> None:
    """``no-canary`` rows look for an injected canary in generated text; a task whose
    answers are labels or numbers has none to look in."""
    name = task.name if isinstance(task, tasks.Task) else task
    canary = sorted(k for k, how in expectations.items() if how == "no-canary")
    if canary and name not in (None, tasks.GENERATION.name):
        raise InvalidArgument(
            f"{', '.join(canary[:3])} expect 'no-canary' (an injected instruction must not "
            f"make the model print a canary), which only a generation model's text can show; "
            f"this model's task is {name!r}: leave these perturbations out, or audit a "
            "text-generating model with task='generation'")


def _now() -> str:
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _predict_clean(adapter: Adapter, data: Dataset, batch_size: int,
                   timeout: float | None) -> Clean:
    n = len(data)
    first = predict_isolating(adapter, data, np.arange(n), batch_size, timeout)
    # The second pass asks again only what the first answered: it measures whether the
    # model agrees with itself, and a crash need not be waited for twice.
    second = predict_isolating(adapter, data, np.sort(first.positions), batch_size, timeout)
    ok = np.zeros(n, dtype=bool)
    ok[second.positions] = True
    disagree = np.zeros(n, dtype=bool)
    if first.prediction is not None and second.prediction is not None:
        both = np.flatnonzero(ok)
        a = by_position(first.prediction, first.positions, n).take(both)
        b = by_position(second.prediction, second.positions, n).take(both)
        if a.values is not None and b.values is not None:
            disagree[both] = a.values != b.values
        else:
            disagree[both] = a.labels != b.labels
    seconds = np.full(n, np.nan)
    seconds[first.positions] = first.seconds
    overhead, per_input = _call_cost(adapter, data, first.calls + second.calls, ok, timeout)
    return Clean(first.prediction, first.positions, ok, disagree[ok], seconds,
                 first.crashes + second.crashes, overhead, per_input, np.ones(n, dtype=bool),
                 again=second.prediction, again_answered=second.positions)


def _call_cost(adapter: Adapter, data: Dataset, calls: list[tuple[int, float]],
               ok: np.ndarray, timeout: float | None) -> tuple[float, float]:
    """Fit ``seconds = overhead + per_input x inputs`` to the clean calls plus three
    single-input calls: per-input latency of batched calls is only comparable between
    calls of equal size, and perturbed inputs often travel in smaller batches."""
    answered = np.flatnonzero(ok)
    if len(answered) == 0 or not calls:
        return 0.0, 0.0
    single = []
    for _ in range(3):
        try:
            single.append(call_model(adapter, data.take(answered[:1]), timeout)[1])
        except Stop:
            raise
        except Exception:  # a flaky answer or a blip: the fit makes do with fewer probes
            break
    big = [(size, secs) for size, secs in calls if size > 1]
    if not single or not big:
        per = float(np.median([secs / size for size, secs in calls]))
        return 0.0, per
    t1 = min(single)
    size = float(np.mean([b[0] for b in big]))
    t_big = float(np.median([b[1] for b in big]))
    per_input = max((t_big - t1) / (size - 1), 0.0) if size > 1 else t1
    return max(t1 - per_input, 0.0), per_input
