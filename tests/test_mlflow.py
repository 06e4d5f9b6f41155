"""``log_mlflow``: a result's params, metrics and files in an MLflow run.

Two kinds of test, as for every heavy optional integration. Most run against
:class:`FakeMlflow`, an object with the contract of the part of ``mlflow`` that
``robustcheck._mlflow`` uses (the same signatures, batch limits, key rules and
immutable params), put in through the module's one seam, ``_import_mlflow``: fast, and
they run without MLflow installed. The others run MLflow itself on a file store in
``tmp_path`` and read everything back through ``MlflowClient``; they skip when MLflow is
absent, and one of them checks that the fake still keeps MLflow's contract.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import posixpath
import re
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import robustcheck
from robustcheck import _mlflow
from robustcheck._mlflow import (
    ARTIFACTS,
    MAX_ENTITIES_PER_BATCH,
    MAX_METRICS_PER_BATCH,
    MAX_PARAMS_PER_BATCH,
    PARAM_LIMIT,
    log_mlflow,
    metric_key,
    prefix_for,
)
from robustcheck.errors import InvalidArgument
from robustcheck.metrics import Metric

TEXTS = ["a good film", "bad acting", "good fun", "a bad plot", "so good", "dull and bad",
         "good music", "bad ending", "good cast", "bad pacing"]
LABELS = ["pos", "neg"] * 5


def keyword_model(texts: list[str]) -> list[str]:
    return ["pos" if "good" in t else "neg" for t in texts]


@pytest.fixture(scope="module")
def result() -> Any:
    """A real small run; tests make variants with ``dataclasses.replace``, never edit it."""
    return robustcheck.run(keyword_model, TEXTS, LABELS,
                           perturbations=["typo.keyboard", "case.upper"], severities=[0.5])


def expected_metrics(result: Any, prefix: str = "robustcheck") -> dict[str, float]:
    """Every metric the module docstring promises, built here from the result."""
    out: dict[str, float] = {}
    if result.score is not None:
        out[f"{prefix}.score"] = result.score
    for name, m in result.clean.items():
        if isinstance(m, dict) and "low" in m:
            for suffix, value in (("", m["value"]), (".low", m["low"]), (".high", m["high"])):
                out[f"{prefix}.clean.{name}{suffix}"] = value
    rates = defaultdict(list)
    for row in result.rows:
        for name, m in row.metrics.items():
            for suffix, value in (("", m.value), (".low", m.low), (".high", m.high)):
                if not math.isnan(value):
                    out[f"{prefix}.{row.perturbation}.s{row.severity:g}.{name}{suffix}"] = value
        if row.metrics["coverage"].value > 0:
            rates[row.family].append(row.metrics["failure_rate"].value)
    for family, values in rates.items():
        out[f"{prefix}.family.{family}.failure_rate"] = sum(values) / len(values)
    return out


# -- a fake with MLflow's contract ---------------------------------------------------------

# mlflow.utils.validation's limits, written out here rather than taken from the module
# under test; the contract test checks both against MLflow's.
KEY_LIMIT, PARAM_VALUE_LIMIT = 250, 6000
BATCH_PARAMS, BATCH_METRICS, BATCH_ENTITIES = 100, 1000, 1000


class FakeMlflowError(Exception):
    """What ``mlflow.exceptions.MlflowException`` is to the real client."""


def check_key(key: str) -> None:
    """MLflow's rule for a param or metric key. A colon is refused, as MLflow does on
    Windows and in older versions (2.10 among them): the keys must work on every server."""
    norm = posixpath.normpath(key)
    if (not re.match(r"^[/\w.\- ]*$", key) or norm != key or norm == "."
            or norm.startswith(("..", "/")) or len(key) > KEY_LIMIT):
        raise FakeMlflowError(f"invalid key {key!r}")


@dataclasses.dataclass
class FakeMetric:
    key: str
    value: float
    timestamp: int
    step: int


@dataclasses.dataclass
class FakeParam:
    key: str
    value: str


class FakeRun:
    def __init__(self, run_id: str, experiment_id: str, run_name: str | None) -> None:
        self.info = SimpleNamespace(run_id=run_id, experiment_id=experiment_id,
                                    run_name=run_name, status="RUNNING")
        self.data = SimpleNamespace(params={}, metrics={})
        self.history: dict[str, list[float]] = defaultdict(list)
        self.artifacts: dict[str, bytes] = {}


class FakeStore:
    def __init__(self) -> None:
        self.experiments = {"Default": "0"}
        self.runs: dict[str, FakeRun] = {}

    def new_run(self, experiment_id: str, run_name: str | None) -> FakeRun:
        if experiment_id not in self.experiments.values():
            raise FakeMlflowError(f"no experiment {experiment_id}")
        run = FakeRun(f"run{len(self.runs)}", experiment_id, run_name)
        self.runs[run.info.run_id] = run
        return run


class FakeClient:
    """``mlflow.MlflowClient``: the methods ``_mlflow`` calls, with their signatures."""

    def __init__(self, owner: FakeMlflow, tracking_uri: str | None = None,
                 registry_uri: str | None = None) -> None:
        self.owner = owner
        self.store = owner.stores[tracking_uri or owner.tracking_uri]

    def _run(self, run_id: str) -> FakeRun:
        if run_id not in self.store.runs:
            raise FakeMlflowError(f"Run '{run_id}' not found")
        return self.store.runs[run_id]

    def get_run(self, run_id: str) -> FakeRun:
        return self._run(run_id)

    def get_experiment_by_name(self, name: str) -> Any:
        found = self.store.experiments.get(name)
        return None if found is None else SimpleNamespace(experiment_id=found, name=name)

    def create_experiment(self, name: str, artifact_location: str | None = None,
                          tags: dict[str, Any] | None = None) -> str:
        if name in self.store.experiments:
            raise FakeMlflowError(f"experiment {name!r} already exists")
        self.store.experiments[name] = str(len(self.store.experiments))
        return self.store.experiments[name]

    def create_run(self, experiment_id: str, start_time: int | None = None,
                   tags: dict[str, Any] | None = None, run_name: str | None = None) -> FakeRun:
        return self.store.new_run(experiment_id, run_name)

    def set_terminated(self, run_id: str, status: str | None = None,
                       end_time: int | None = None) -> None:
        self._run(run_id).info.status = status or "FINISHED"

    def log_batch(self, run_id: str, metrics: Any = (), params: Any = (), tags: Any = (),
                  synchronous: bool | None = None) -> None:
        run = self._run(run_id)
        self.owner.calls.append(("log_batch", run_id, len(metrics), len(params)))
        if (len(metrics) > BATCH_METRICS or len(params) > BATCH_PARAMS
                or len(metrics) + len(params) + len(tags) > BATCH_ENTITIES):
            raise FakeMlflowError("batch over MLflow's limits")
        for p in params:
            check_key(p.key)
            if len(p.value) > PARAM_VALUE_LIMIT:
                raise FakeMlflowError(f"param {p.key} is too long")
            if run.data.params.get(p.key, p.value) != p.value:
                raise FakeMlflowError(f"changing param {p.key} is not allowed")
        for m in metrics:
            check_key(m.key)
            if isinstance(m.value, bool) or not isinstance(m.value, (int, float)):
                raise FakeMlflowError(f"metric {m.key} is not a number")
            if not (isinstance(m.timestamp, int) and m.timestamp >= 0
                    and isinstance(m.step, int)):
                raise FakeMlflowError(f"metric {m.key} has a bad timestamp or step")
        run.data.params.update({p.key: p.value for p in params})
        for m in metrics:
            run.data.metrics[m.key] = m.value
            run.history[m.key].append(m.value)

    def log_artifacts(self, run_id: str, local_dir: str, artifact_path: str | None = None
                      ) -> None:
        run = self._run(run_id)
        self.owner.calls.append(("log_artifacts", run_id, local_dir, artifact_path))
        if self.owner.fail_on_artifacts:
            raise OSError("the artifact store is full")
        for path in Path(local_dir).rglob("*"):
            name = path.relative_to(local_dir).as_posix()
            run.artifacts[posixpath.join(artifact_path or "", name)] = path.read_bytes()


class FakeActiveRun:
    """``mlflow.ActiveRun``: a run that ends when its ``with`` block does."""

    def __init__(self, owner: FakeMlflow, run: FakeRun) -> None:
        self.owner, self.info, self.data = owner, run.info, run.data

    def __enter__(self) -> FakeActiveRun:
        return self

    def __exit__(self, exc_type: Any, *rest: Any) -> bool:
        self.owner.end_run("FAILED" if exc_type else "FINISHED")
        return False


class FakeMlflow:
    """The ``mlflow`` module as far as ``_mlflow`` uses it."""

    entities = SimpleNamespace(Metric=FakeMetric, Param=FakeParam)

    def __init__(self) -> None:
        self.stores: dict[str, FakeStore] = defaultdict(FakeStore)
        self.tracking_uri = "fake://default"
        self.active: list[FakeActiveRun] = []
        self.calls: list[tuple[Any, ...]] = []
        self.fail_on_artifacts = False

    def MlflowClient(self, tracking_uri: str | None = None,
                     registry_uri: str | None = None) -> FakeClient:
        return FakeClient(self, tracking_uri, registry_uri)

    def get_tracking_uri(self) -> str:
        return self.tracking_uri

    def active_run(self) -> FakeActiveRun | None:
        return self.active[-1] if self.active else None

    def start_run(self, run_id: str | None = None, experiment_id: str | None = None,
                  run_name: str | None = None, nested: bool = False, **kwargs: Any
                  ) -> FakeActiveRun:
        if self.active and not nested:
            raise FakeMlflowError("a run is already active")
        store = self.stores[self.tracking_uri]
        run = store.runs[run_id] if run_id else store.new_run(experiment_id or "0", run_name)
        self.active.append(FakeActiveRun(self, run))
        return self.active[-1]

    def end_run(self, status: str = "FINISHED") -> None:
        if self.active:
            self.active.pop().info.status = status

    def runs(self, uri: str | None = None) -> list[FakeRun]:
        return list(self.stores[uri or self.tracking_uri].runs.values())


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeMlflow:
    fake = FakeMlflow()
    monkeypatch.setattr(_mlflow, "_import_mlflow", lambda: fake)
    return fake


def batches(fake: FakeMlflow) -> list[tuple[Any, ...]]:
    return [c for c in fake.calls if c[0] == "log_batch"]


# -- which run -----------------------------------------------------------------------------


def test_without_an_active_run_a_new_run_is_started_and_ended(fake, result):
    run_id = log_mlflow(result)
    (run,) = fake.runs()
    assert run.info.run_id == run_id and run.info.status == "FINISHED"
    assert run.info.experiment_id == "0" and run.info.run_name == f"robustcheck {result.name}"
    assert fake.active_run() is None
    assert run.data.params["robustcheck.seed"] == str(result.seed)


def test_an_active_run_is_logged_into_and_left_running(fake, result):
    with fake.start_run() as active:
        assert log_mlflow(result) == active.info.run_id
        assert fake.active_run() is active and active.info.status == "RUNNING"
        assert active.data.metrics["robustcheck.score"] == result.score
    assert len(fake.runs()) == 1


def test_a_run_id_is_logged_into_and_left_running_even_beside_an_active_run(fake, result):
    client = fake.MlflowClient()
    target = client.create_run("0")
    with fake.start_run() as active:
        assert log_mlflow(result, run_id=target.info.run_id) == target.info.run_id
    assert target.info.status == "RUNNING"
    assert "robustcheck.seed" in target.data.params and not active.data.params


def test_a_tracking_uri_gets_a_new_run_in_the_named_experiment_and_leaves_the_global_uri(
        fake, result):
    with fake.start_run() as active:  # of the global store: not the one asked for
        run_id = log_mlflow(result, tracking_uri="fake://other", experiment="robust")
    (run,) = fake.runs("fake://other")
    assert run.info.run_id == run_id and run.info.status == "FINISHED"
    assert run.info.experiment_id == fake.stores["fake://other"].experiments["robust"]
    assert fake.get_tracking_uri() == "fake://default" and not active.data.params


def test_a_new_run_goes_into_an_experiment_that_already_exists(fake, result):
    existing = fake.MlflowClient().create_experiment("robust")
    log_mlflow(result, experiment="robust")
    assert [r.info.experiment_id for r in fake.runs()] == [existing]


@pytest.mark.parametrize("tracking_uri", [None, "fake://other"])
def test_a_failure_while_logging_ends_the_new_run_as_failed_and_is_raised(
        fake, result, tracking_uri):
    fake.fail_on_artifacts = True
    with pytest.raises(OSError, match="artifact store is full"):
        log_mlflow(result, tracking_uri=tracking_uri)
    (run,) = fake.runs(tracking_uri)
    assert run.info.status == "FAILED" and fake.active_run() is None


def test_an_experiment_other_than_the_active_runs_is_refused(fake, result):
    fake.MlflowClient().create_experiment("other")
    with fake.start_run(), pytest.raises(InvalidArgument, match=r"experiment='other'.*end it"):
        log_mlflow(result, experiment="other")
    assert batches(fake) == []


def test_a_second_result_under_the_same_prefix_is_refused_before_anything_is_logged(
        fake, result):
    other = dataclasses.replace(result, seed=result.seed + 1)
    with fake.start_run() as active:
        log_mlflow(result)
        logged = len(fake.calls)
        with pytest.raises(InvalidArgument, match=r"prefix='robustcheck'.*robustcheck\.seed"):
            log_mlflow(other)
        assert len(fake.calls) == logged
        log_mlflow(other, prefix=prefix_for("second"))
        log_mlflow(result)  # the same values again: MLflow accepts them, so do we
    assert active.data.params["robustcheck.second.seed"] == str(other.seed)
    assert active.data.params["robustcheck.seed"] == str(result.seed)


# -- what is logged ------------------------------------------------------------------------


def test_every_metric_is_logged_under_the_documented_key_with_its_interval(fake, result):
    log_mlflow(result)
    (run,) = fake.runs()
    assert run.data.metrics == pytest.approx(expected_metrics(result))
    assert all(len(values) == 1 for values in run.history.values())
    row = result.rows[0]
    flips = row.metrics["flip_rate"]
    key = metric_key("robustcheck", row.perturbation, row.severity, "flip_rate")
    assert key == f"robustcheck.{row.perturbation}.s0.5.flip_rate"
    low, high = (metric_key("robustcheck", row.perturbation, row.severity, "flip_rate", b)
                 for b in ("low", "high"))
    assert (low, high) == (f"{key}.low", f"{key}.high")
    assert (run.data.metrics[key], run.data.metrics[low], run.data.metrics[high]) == (
        flips.value, flips.low, flips.high)


def test_a_family_gets_the_mean_failure_rate_of_its_rows(fake):
    two = robustcheck.run(keyword_model, TEXTS, LABELS, perturbations=["typo.keyboard"],
                          severities=[0.3, 1.0])
    log_mlflow(two, artifacts=False)
    rates = [r.metrics["failure_rate"].value for r in two.rows]
    assert len(rates) == 2
    got = fake.runs()[0].data.metrics["robustcheck.family.typo.failure_rate"]
    assert got == pytest.approx((rates[0] + rates[1]) / 2)


def test_the_params_describe_the_run_the_model_and_the_data(fake, result):
    log_mlflow(result)
    params = fake.runs()[0].data.params
    assert params["robustcheck.suite"] == "typo.keyboard,case.upper"
    assert params["robustcheck.suite.size"] == "2"
    assert params["robustcheck.severities"] == "0.5"
    assert params["robustcheck.data.fingerprint"] == result.data["fingerprint"]
    assert params["robustcheck.data.n"] == str(result.n) == str(len(TEXTS))
    assert params["robustcheck.data.modality"] == "text"
    assert params["robustcheck.robustcheck_version"] == robustcheck.__version__
    assert params["robustcheck.env.python"] == result.environment["python"]
    for field in ("class", "library", "version"):  # None (not known) is left out
        assert params.get(f"robustcheck.model.{field}") == (
            None if result.model[field] is None else str(result.model[field]))
    assert result.model["version"] is None  # so the case of a value left out is tested


def test_an_empty_prefix_logs_bare_keys_and_artifacts_at_the_runs_root(fake, result):
    log_mlflow(result, prefix="")
    run = fake.runs()[0]
    assert run.data.metrics == pytest.approx(
        {k.removeprefix("robustcheck."): v for k, v in expected_metrics(result).items()})
    assert "seed" in run.data.params and sorted(run.artifacts) == sorted(ARTIFACTS)


def test_a_metric_that_was_not_measured_is_left_out(fake, result):
    row = result.rows[0]
    blank = dataclasses.replace(row, metrics={**row.metrics,
                                              "accuracy_drop": Metric(math.nan, math.nan,
                                                                      math.nan, 0)})
    log_mlflow(dataclasses.replace(result, rows=[blank, *result.rows[1:]]), artifacts=False)
    metrics = fake.runs()[0].data.metrics
    key = metric_key("robustcheck", row.perturbation, row.severity, "accuracy_drop")
    assert not {key, f"{key}.low", f"{key}.high"} & metrics.keys()
    assert metric_key("robustcheck", row.perturbation, row.severity, "flip_rate") in metrics


def test_names_mlflow_rejects_become_valid_keys_that_stay_distinct(fake, result):
    names = ["plugin.a b", "plugin.a_b", "plugin.x:y/../z", ".hidden", "accent.é", "x" * 300]
    rows = [dataclasses.replace(result.rows[0], perturbation=n) for n in names]
    log_mlflow(dataclasses.replace(result, rows=rows), artifacts=False)  # the fake checks keys
    metrics = fake.runs()[0].data.metrics
    assert len(metrics) == len(expected_metrics(dataclasses.replace(result, rows=rows)))
    assert not any("/" in k for k in metrics) and max(map(len, metrics)) <= KEY_LIMIT


def test_every_catalogue_name_is_a_key_as_it_is():
    import perturbations

    names = [p.name for p in perturbations.catalogue()]
    assert len(names) > 10
    for name in names:
        check_key(metric_key("robustcheck", name, 0.25, "flip_rate", "high"))
        assert metric_key("robustcheck", name, 0.25, "flip_rate", "high") == \
            f"robustcheck.{name}.s0.25.flip_rate.high"


def test_a_long_suite_is_cut_to_the_param_limit(fake, result):
    many = {f"family{i}.perturbation_with_a_long_name": {} for i in range(40)}
    log_mlflow(dataclasses.replace(result, perturbations=many), artifacts=False)
    params = fake.runs()[0].data.params
    assert len(params["robustcheck.suite"]) == PARAM_LIMIT
    assert params["robustcheck.suite"].endswith("…") and params["robustcheck.suite.size"] == "40"
    assert max(len(v) for v in params.values()) <= PARAM_LIMIT


def test_params_and_metrics_go_in_as_few_batches_as_mlflows_limits_allow(fake, result):
    rows = [dataclasses.replace(r, perturbation=f"{r.family}.copy{i}")
            for i in range(30) for r in result.rows]
    env = {**result.environment, **{f"package{i}": "1.0" for i in range(150)}}
    big = dataclasses.replace(result, rows=rows, environment=env)
    log_mlflow(big, artifacts=False)
    calls = batches(fake)
    n_metrics, n_params = sum(c[2] for c in calls), sum(c[3] for c in calls)
    run = fake.runs()[0]
    assert n_metrics == len(run.data.metrics) == len(expected_metrics(big)) > 1000
    assert n_params == len(run.data.params) > 100
    assert all(m <= BATCH_METRICS and p <= BATCH_PARAMS and m + p <= BATCH_ENTITIES
               for _, _, m, p in calls)
    fewest = max(-(-n_params // BATCH_PARAMS), -(-(n_params + n_metrics) // BATCH_ENTITIES))
    assert len(calls) == fewest


def test_the_json_report_and_summary_are_logged_under_the_prefix(fake, result, tmp_path):
    log_mlflow(result)
    artifacts = fake.runs()[0].artifacts
    assert sorted(artifacts) == sorted(f"robustcheck/{name}" for name in ARTIFACTS)
    (tmp_path / "result.json").write_bytes(artifacts["robustcheck/result.json"])
    assert robustcheck.load(tmp_path / "result.json").to_json() == result.to_json()
    assert artifacts["robustcheck/summary.md"].decode("utf-8") == result.to_markdown()
    assert b"<html" in artifacts["robustcheck/report.html"][:500].lower()
    (local_dir,) = [c[2] for c in fake.calls if c[0] == "log_artifacts"]
    assert not Path(local_dir).exists()  # the temporary folder is gone


def test_artifacts_false_logs_no_files(fake, result):
    log_mlflow(result, artifacts=False)
    assert not [c for c in fake.calls if c[0] == "log_artifacts"]
    assert fake.runs()[0].data.metrics


def test_the_result_passed_in_is_not_changed(fake, result):
    before = result.to_json()
    log_mlflow(result)
    assert result.to_json() == before


# -- arguments -----------------------------------------------------------------------------


@pytest.mark.parametrize(("kwargs", "named"), [
    ({"prefix": "robust check"}, "prefix"),
    ({"prefix": "a..b"}, "prefix"),
    ({"prefix": "/abs"}, "prefix"),
    ({"prefix": "x" * 101}, "prefix"),
    ({"prefix": None}, "prefix"),
    ({"run_id": ""}, "run_id"),
    ({"run_id": 7}, "run_id"),
    ({"experiment": " "}, "experiment"),
    ({"tracking_uri": Path("mlruns")}, "tracking_uri"),
    ({"artifacts": "yes"}, "artifacts"),
    ({"run_id": "abc", "experiment": "robust"}, "run_id"),
])
def test_a_bad_argument_is_refused_before_mlflow_is_asked(fake, result, kwargs, named):
    with pytest.raises(InvalidArgument, match=named) as info:
        log_mlflow(result, **kwargs)
    assert repr(next(iter(kwargs.values())))[:30] in str(info.value)
    assert fake.calls == [] and fake.runs() == []


def test_something_else_than_a_result_is_refused(fake):
    with pytest.raises(InvalidArgument, match=r"result must be a RunResult.*dict"):
        log_mlflow({"rows": []})


def test_without_mlflow_the_error_gives_the_pip_command(result, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # what an absent package looks like
    with pytest.raises(ImportError, match=re.escape('pip install "robustcheck[mlflow]"')):
        log_mlflow(result)


def test_prefix_for_makes_a_valid_prefix_from_any_label(fake, result):
    prefix = prefix_for("tests/test_model.py::test_typos[bert]")
    assert prefix.startswith("robustcheck.tests_test_model.py__test_typos_bert_-")
    log_mlflow(result, prefix=prefix, artifacts=False)  # accepted, keys valid
    assert f"{prefix}.seed" in fake.runs()[0].data.params


# -- the real MLflow -----------------------------------------------------------------------


@pytest.fixture
def real_mlflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """MLflow on a file store in ``tmp_path``, everything it or we write kept there."""
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")  # before the first import
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 asks for the opt-in
    monkeypatch.setenv("MLFLOW_TRACKING_URI", (tmp_path / "mlruns").as_uri())
    for folder in ("cwd", "tmp"):
        (tmp_path / folder).mkdir()
    monkeypatch.chdir(tmp_path / "cwd")  # a stray ./mlruns would land here
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    mlflow = pytest.importorskip("mlflow")
    yield mlflow
    left = mlflow.active_run()
    while mlflow.active_run() is not None:
        mlflow.end_run()
    assert left is None, "a test left an MLflow run active"


def test_a_real_file_store_holds_the_params_metrics_and_files(real_mlflow, result, tmp_path):
    uri = (tmp_path / "mlruns").as_uri()
    run_id = log_mlflow(result, tracking_uri=uri, experiment="robust")
    client = real_mlflow.MlflowClient(tracking_uri=uri)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert client.get_experiment(run.info.experiment_id).name == "robust"
    params = run.data.params
    assert params["robustcheck.seed"] == str(result.seed)
    assert params["robustcheck.data.fingerprint"] == result.data["fingerprint"]
    assert params["robustcheck.severities"] == "0.5"
    assert run.data.metrics == pytest.approx(expected_metrics(result))
    key = metric_key("robustcheck", "case.upper", 0.5, "flip_rate")
    assert [m.value for m in client.get_metric_history(run_id, f"{key}.high")] == \
        [result["case.upper"][0].metrics["flip_rate"].high]
    listed = client.list_artifacts(run_id, "robustcheck")
    assert sorted(f.path for f in listed) == sorted(f"robustcheck/{n}" for n in ARTIFACTS)
    (tmp_path / "download").mkdir()
    local = client.download_artifacts(run_id, "robustcheck/result.json",
                                      str(tmp_path / "download"))
    assert robustcheck.load(local).to_json() == result.to_json()
    assert list((tmp_path / "cwd").iterdir()) == [] and list((tmp_path / "tmp").iterdir()) == []


def test_a_real_active_run_is_logged_into_and_stays_the_callers(real_mlflow, result):
    with real_mlflow.start_run() as active:
        assert log_mlflow(result, artifacts=False) == active.info.run_id
        assert real_mlflow.active_run().info.run_id == active.info.run_id
        assert real_mlflow.MlflowClient().get_run(active.info.run_id).info.status == "RUNNING"
    run = real_mlflow.MlflowClient().get_run(active.info.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["robustcheck.suite"] == "typo.keyboard,case.upper"
    assert run.data.metrics["robustcheck.score"] == pytest.approx(result.score)


def test_a_real_new_run_on_the_global_uri_is_ended(real_mlflow, result):
    run_id = log_mlflow(result, experiment="robust", artifacts=False)
    assert real_mlflow.active_run() is None
    client = real_mlflow.MlflowClient()
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED" and run.info.run_name == f"robustcheck {result.name}"
    assert client.get_experiment(run.info.experiment_id).name == "robust"


def test_a_real_new_run_goes_where_mlflows_environment_says(real_mlflow, result, monkeypatch):
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "from-the-environment")
    client = real_mlflow.MlflowClient()
    run = client.get_run(log_mlflow(result, artifacts=False))
    assert client.get_experiment(run.info.experiment_id).name == "from-the-environment"


def test_a_real_run_refuses_a_second_result_under_one_prefix(real_mlflow, result):
    with real_mlflow.start_run():
        log_mlflow(result, artifacts=False)
        with pytest.raises(InvalidArgument, match="prefix"):
            log_mlflow(dataclasses.replace(result, seed=result.seed + 1), artifacts=False)


def test_the_fake_keeps_mlflows_contract(real_mlflow, tmp_path):
    from mlflow.utils import validation

    mlflows = (validation.MAX_PARAMS_TAGS_PER_BATCH, validation.MAX_METRICS_PER_BATCH,
               validation.MAX_ENTITIES_PER_BATCH)
    assert mlflows == (BATCH_PARAMS, BATCH_METRICS, BATCH_ENTITIES)
    assert mlflows == (MAX_PARAMS_PER_BATCH, MAX_METRICS_PER_BATCH, MAX_ENTITIES_PER_BATCH)
    assert (KEY_LIMIT, PARAM_VALUE_LIMIT) == (validation.MAX_ENTITY_KEY_LENGTH,
                                              validation.MAX_PARAM_VAL_LENGTH)
    for name in ("get_run", "get_experiment_by_name", "create_experiment", "create_run",
                 "set_terminated", "log_batch", "log_artifacts"):
        real = list(inspect.signature(getattr(real_mlflow.MlflowClient, name)).parameters)
        ours = list(inspect.signature(getattr(FakeClient, name)).parameters)
        assert ours == real, name
    for name in ("start_run", "active_run", "get_tracking_uri"):
        real = list(inspect.signature(getattr(real_mlflow, name)).parameters)
        ours = [p for p in inspect.signature(getattr(FakeMlflow, name)).parameters
                if p not in ("self", "kwargs")]
        assert real[:len(ours)] == ours, name
    # The fake accepts and refuses the keys MLflow does.
    client = real_mlflow.MlflowClient()
    run_id = client.create_run("0").info.run_id
    for key in ["a.b-c_d", "a b", "a/b", "a|b", "a/../b", "../a", "/a", "a/", "é",
                "k" * 250, "k" * 251]:  # and ":", which only some servers accept
        try:
            client.log_batch(run_id, metrics=[real_mlflow.entities.Metric(key, 1.0, 0, 0)])
            real_ok = True
        except real_mlflow.exceptions.MlflowException:
            real_ok = False
        try:
            check_key(key)
            fake_ok = True
        except FakeMlflowError:
            fake_ok = False
        assert fake_ok == real_ok, key
    client.set_terminated(run_id)
