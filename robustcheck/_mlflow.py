"""Log a result to MLflow: ``RunResult.log_mlflow()``, ``robustcheck run --mlflow`` and
``pytest --robustcheck-mlflow`` all end in :func:`log_mlflow`.

What a run receives, every key under ``prefix`` (``robustcheck`` unless told):

* params: ``seed``, ``suite`` (the perturbation names, comma-separated), ``suite.size``,
  ``severities``, ``task``, ``complete``, ``robustcheck_version``, ``model.class`` /
  ``model.library`` / ``model.version``, ``data.fingerprint`` / ``data.n`` /
  ``data.modality``, and ``env.<name>`` for each version in the result's environment;
* metrics: ``score``; ``clean.<metric>`` for the clean pass (``clean.crash_rate``);
  ``<perturbation>.s<severity>.<metric>`` for every metric of every row, with its 95%
  interval as ``<...>.low`` and ``<...>.high``; ``family.<family>.failure_rate``, the
  mean failure rate of the family's measured rows. A value that was not measured (NaN)
  is left out rather than logged as NaN;
* artifacts, in the folder ``<prefix>/``: ``result.json`` (``robustcheck.load`` reads it
  back), ``report.html`` and ``summary.md``.

A name with characters MLflow refuses in a key, or a space or ``/``, has them replaced by
``_`` and gets a 6-character hash of itself (``my plugin.x`` -> ``my_plugin.x-b35b16``),
so two names never share a key; a key past MLflow's 250 characters is cut and hashed the
same way. Catalogue names never need it.

Parameters and metrics go in ``MlflowClient.log_batch`` calls that respect MLflow's
limits per call, not one request per value: a suite of 100 rows is a few requests to a
remote tracking server, not thousands.

MLflow (the ``mlflow`` extra: mlflow-skinny) is imported at the first call, never at
import: it takes seconds to import.
"""

from __future__ import annotations

import hashlib
import math
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import InvalidArgument

__all__ = ["ARTIFACTS", "MAX_ENTITIES_PER_BATCH", "MAX_METRICS_PER_BATCH",
           "MAX_PARAMS_PER_BATCH", "PARAM_LIMIT", "log_mlflow", "metric_key", "prefix_for"]

MAX_PARAMS_PER_BATCH = 100
MAX_METRICS_PER_BATCH = 1000
MAX_ENTITIES_PER_BATCH = 1000
"""MLflow's limits on one ``log_batch`` call (``mlflow.utils.validation``): a tracking
server rejects a larger batch whole."""
PARAM_LIMIT = 500
"""Characters of a param value kept. MLflow 2.10 and later accept 6000; 500 stays
readable in the UI's table and within what older servers took. A longer value (the suite
of a large catalogue) is cut with "…"; ``result.json`` holds it whole."""
KEY_LIMIT = 250
"""MLflow's longest param or metric key."""
ARTIFACTS = ("result.json", "report.html", "summary.md")
INSTALL = 'pip install "robustcheck[mlflow]"'

# MLflow accepts letters, digits, _ - . / and space in a key (a colon too, but only in
# recent versions and off Windows). A "/" makes the key a path in a file store, so only the
# prefix may hold one; a space is legal but reads badly in the UI: both become "_".
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")
_PREFIX = re.compile(r"[A-Za-z0-9_\-]+(?:[./][A-Za-z0-9_\-]+)*")


def log_mlflow(result: Any, *, run_id: str | None = None, experiment: str | None = None,
               tracking_uri: str | None = None, prefix: str = "robustcheck",
               artifacts: bool = True) -> str:
    """Log ``result`` (a :class:`~robustcheck.results.RunResult`) to MLflow and return
    the id of the run it went into.

    The run is, in this order: ``run_id`` when given (left running); else the active
    run (``mlflow.active_run()``, left running) when ``tracking_uri`` is not given or is
    the current one; else a new run, in the experiment named ``experiment`` (created when
    missing) or the one ``mlflow.start_run()`` would pick, ended when the logging ends
    (FAILED if it raised). ``tracking_uri`` names a store for this call only; MLflow's
    global tracking URI is left as it is.

    ``prefix`` starts every key and names the artifact folder: log several results into
    one run with a prefix each (MLflow never changes a param once logged, so a second
    result under the same prefix raises :class:`~robustcheck.errors.InvalidArgument`
    before anything is logged). ``artifacts=False`` logs params and metrics only.
    """
    _check_arguments(result, run_id, experiment, tracking_uri, prefix, artifacts)
    mlflow = _import_mlflow()
    client = mlflow.MlflowClient(tracking_uri=tracking_uri)
    params = [mlflow.entities.Param(key=k, value=v) for k, v in _params(result, prefix).items()]
    stamp = int(time.time() * 1000)
    metrics = [mlflow.entities.Metric(key=k, value=v, timestamp=stamp, step=0)
               for k, v in _metrics(result, prefix).items()]
    with _target_run(mlflow, client, run_id, experiment, tracking_uri, result) as (run, fresh):
        if not fresh:
            _check_params_unchanged(client, run, params, prefix)
        for batch_params, batch_metrics in _batches(params, metrics):
            client.log_batch(run, metrics=batch_metrics, params=batch_params)
        if artifacts:
            _log_artifacts(client, run, result, prefix)
    return run


def metric_key(prefix: str, perturbation: str, severity: float, metric: str,
               bound: str | None = None) -> str:
    """The MLflow key of one metric of one row, e.g.
    ``robustcheck.typo.keyboard.s0.5.flip_rate``; ``bound="low"`` or ``"high"`` for its
    interval's (``...flip_rate.low``)."""
    return _key(prefix, perturbation, f"s{severity:g}", metric, *([bound] if bound else []))


def prefix_for(label: str, base: str = "robustcheck") -> str:
    """A valid ``prefix`` for one of several results logged into one run, made from any
    label (a pytest node id, a model name): ``base`` then the label, its characters that
    MLflow rejects replaced."""
    return f"{base}.{_part(label)}" if base else _part(label)


# -- what is logged ----------------------------------------------------------------------


def _params(result: Any, prefix: str) -> dict[str, str]:
    model, data = result.model or {}, result.data or {}
    suite = list(result.perturbations) or list(dict.fromkeys(r.perturbation
                                                             for r in result.rows))
    values: dict[str, Any] = {
        "seed": result.seed, "suite": ",".join(suite), "suite.size": len(suite),
        "severities": ",".join(f"{s:g}" for s in result.severities), "task": result.task,
        "complete": result.complete, "robustcheck_version": result.environment.get("robustcheck"),
        "model.class": model.get("class"), "model.library": model.get("library"),
        "model.version": model.get("version"), "data.fingerprint": data.get("fingerprint"),
        "data.n": data.get("n"), "data.modality": data.get("modality"),
    }
    values.update({f"env.{_part(str(k))}": v for k, v in result.environment.items()
                   if k != "robustcheck"})
    # None is "not known" (a plain function has no library): left out, not logged as "None".
    return {_key(prefix, name): _clip(str(v)) for name, v in values.items() if v is not None}


def _metrics(result: Any, prefix: str) -> dict[str, float]:
    out: dict[str, float] = {}
    _put(out, _key(prefix, "score"), result.score)
    for name, m in result.clean.items():
        if isinstance(m, dict) and {"value", "low", "high"} <= m.keys():
            _put_interval(out, (prefix, "clean", name), m["value"], m["low"], m["high"])
    families: dict[str, list[float]] = {}
    for row in result.rows:
        for name, m in row.metrics.items():
            parts = (prefix, row.perturbation, f"s{row.severity:g}", name)
            _put_interval(out, parts, m.value, m.low, m.high)
        coverage, failure = row.metrics.get("coverage"), row.metrics.get("failure_rate")
        if coverage is not None and coverage.value > 0 and failure is not None \
                and _finite(failure.value):
            families.setdefault(row.family, []).append(float(failure.value))
    for family, rates in families.items():
        out[_key(prefix, "family", family, "failure_rate")] = sum(rates) / len(rates)
    return out


def _put_interval(out: dict[str, float], parts: tuple[str, ...], value: Any, low: Any,
                  high: Any) -> None:
    _put(out, _key(*parts), value)
    _put(out, _key(*parts, "low"), low)  # cut to the key limit as a whole, suffix and all
    _put(out, _key(*parts, "high"), high)


def _put(out: dict[str, float], key: str, value: Any) -> None:
    if _finite(value):
        out[key] = float(value)


def _finite(value: Any) -> bool:
    return value is not None and math.isfinite(float(value))


def _key(prefix: str, *parts: str) -> str:
    key = ".".join([prefix, *(_part(p) for p in parts)] if prefix else
                   [_part(p) for p in parts])
    if len(key) <= KEY_LIMIT:
        return key
    return f"{key[:KEY_LIMIT - 7]}-{_digest(key)}"


def _part(name: str) -> str:
    """``name`` as part of a key. A name that had to change gets a short hash of itself,
    so that two names never become one key (``a b`` and ``a_b``)."""
    safe = _UNSAFE.sub("_", name)
    if safe.startswith(".") or not safe:  # ".x" and "" would read as paths in a file store
        safe = f"_{safe}"
    return safe if safe == name else f"{safe}-{_digest(name)}"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:6]


def _clip(text: str) -> str:
    return text if len(text) <= PARAM_LIMIT else text[:PARAM_LIMIT - 1] + "…"


def _batches(params: list[Any], metrics: list[Any]) -> Iterator[tuple[list[Any], list[Any]]]:
    """Params and metrics in as few ``log_batch`` calls as MLflow's limits allow."""
    i = j = 0
    while i < len(params) or j < len(metrics):
        batch_params = params[i:i + MAX_PARAMS_PER_BATCH]
        room = min(MAX_METRICS_PER_BATCH, MAX_ENTITIES_PER_BATCH - len(batch_params))
        batch_metrics = metrics[j:j + room]
        yield batch_params, batch_metrics
        i, j = i + len(batch_params), j + len(batch_metrics)


def _log_artifacts(client: Any, run: str, result: Any, prefix: str) -> None:
    with tempfile.TemporaryDirectory(prefix="robustcheck-mlflow-") as tmp:
        folder = Path(tmp)
        json_name, html_name, markdown_name = ARTIFACTS
        result.to_json(folder / json_name)
        result.to_html(folder / html_name)
        (folder / markdown_name).write_text(result.to_markdown(), encoding="utf-8")
        client.log_artifacts(run, tmp, artifact_path=prefix or None)


# -- which run ---------------------------------------------------------------------------


@contextmanager
def _target_run(mlflow: Any, client: Any, run_id: str | None, experiment: str | None,
                tracking_uri: str | None, result: Any) -> Iterator[tuple[str, bool]]:
    """``(run id, whether the run is new)``; a new run ends when the block does."""
    if run_id is not None:  # the params check reads it first: "not found" logs nothing
        yield run_id, False
        return
    active = mlflow.active_run()
    if active is not None and tracking_uri in (None, mlflow.get_tracking_uri()):
        if experiment is not None:
            _check_active_experiment(client, experiment, active)
        yield active.info.run_id, False
        return
    experiment_id = None if experiment is None else _experiment_id(client, experiment)
    name = f"robustcheck {result.name}"[:100]
    if tracking_uri is None:  # start_run: the experiment and tags MLflow picks by default
        with mlflow.start_run(experiment_id=experiment_id, run_name=name) as run:
            yield run.info.run_id, True
        return
    run = client.create_run(experiment_id or "0", run_name=name)  # "0": the Default one
    status = "FAILED"
    try:
        yield run.info.run_id, True
        status = "FINISHED"
    finally:
        client.set_terminated(run.info.run_id, status=status)


def _experiment_id(client: Any, name: str) -> str:
    found = client.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    try:
        return str(client.create_experiment(name))
    except Exception:  # created meanwhile by another process (pytest-xdist workers)
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return str(found.experiment_id)


def _check_active_experiment(client: Any, experiment: str, active: Any) -> None:
    found = client.get_experiment_by_name(experiment)
    if found is None or str(found.experiment_id) != str(active.info.experiment_id):
        raise InvalidArgument(
            f"experiment={experiment!r}, but the active MLflow run {active.info.run_id} is "
            f"in experiment {active.info.experiment_id}; omit experiment to log into the "
            f"active run, or end it (mlflow.end_run()) to log into a new run in "
            f"{experiment!r}")


def _check_params_unchanged(client: Any, run: str, params: list[Any], prefix: str) -> None:
    logged = client.get_run(run).data.params
    for p in params:
        if p.key in logged and logged[p.key] != p.value:
            raise InvalidArgument(
                f"prefix={prefix!r}: run {run} already has the param {p.key} = "
                f"{logged[p.key]!r} and this result's is {p.value!r}; MLflow never changes "
                f"a logged param. Give each result logged into one run a prefix of its own "
                f"(e.g. prefix={prefix_for('model_b', prefix)!r}), or log into a new run")


# -- arguments and the import ------------------------------------------------------------


def _check_arguments(result: Any, run_id: Any, experiment: Any, tracking_uri: Any,
                     prefix: Any, artifacts: Any) -> None:
    if not (hasattr(result, "rows") and callable(getattr(result, "to_json", None))):
        raise InvalidArgument(
            f"result must be a RunResult (from robustcheck.run or robustcheck.load), got "
            f"{type(result).__name__}")
    for name, value in (("run_id", run_id), ("experiment", experiment),
                        ("tracking_uri", tracking_uri)):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise InvalidArgument(
                f"{name} must be a non-empty string or None, got {value!r} "
                f"({type(value).__name__})" + (
                    "; a path works as a URI: Path(...).absolute().as_uri()"
                    if name == "tracking_uri" and hasattr(value, "__fspath__") else ""))
    if run_id is not None and experiment is not None:
        raise InvalidArgument(
            f"run_id={run_id!r} and experiment={experiment!r} were both given, but an "
            "existing run's experiment is fixed; pass one of them")
    if not isinstance(prefix, str) or (prefix and not (
            len(prefix) <= 100 and _PREFIX.fullmatch(prefix))):
        raise InvalidArgument(
            f"prefix must be letters, digits, _ and - in parts joined by '.' or '/', at most "
            f"100 characters (e.g. 'robustcheck' or 'robustcheck.model_b'), or '' for none; "
            f"got {prefix!r}")
    if not isinstance(artifacts, bool):
        raise InvalidArgument(f"artifacts must be True or False, got {artifacts!r}")


def _import_mlflow() -> Any:
    """The ``mlflow`` module (the seam the tests replace with an object of its contract)."""
    try:
        import mlflow
        import mlflow.entities
    except ImportError as exc:
        raise ImportError(f"logging to MLflow needs MLflow, which is not installed: "
                          f"{INSTALL} (or pip install mlflow-skinny)") from exc
    return mlflow
