"""MLflow reached from ``RunResult.log_mlflow``, the command line (``run --mlflow``) and
the pytest plugin (``--robustcheck-mlflow``), against a real local file store."""

from __future__ import annotations

import tempfile
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import TINY_MODEL, one_robustcheck_test, run_tiny

import robustcheck
import robustcheck.runner  # numpy is imported once, before pytester runs
from robustcheck._mlflow import prefix_for
from robustcheck.cli import main

pytest_plugins = ["pytester"]

@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A file store in ``tmp_path`` named by MLflow's own variables, as a user would."""
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", (tmp_path / "mlruns").as_uri())
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    mlflow = pytest.importorskip("mlflow")
    yield mlflow
    while mlflow.active_run() is not None:
        mlflow.end_run()


def _all_runs(mlflow: Any) -> list[Any]:
    client = mlflow.MlflowClient()
    experiments = client.search_experiments()
    return list(client.search_runs([e.experiment_id for e in experiments]))


def test_the_result_method_logs_into_a_new_run(store: Any) -> None:
    texts, labels = ["good food", "bad food"] * 10, ["pos", "neg"] * 10
    result = robustcheck.run(lambda xs: ["pos" if "good" in x else "neg" for x in xs],
                             texts, labels, perturbations=["case.upper"], severities=[1.0],
                             progress=False)
    run_id = result.log_mlflow()
    data = store.MlflowClient().get_run(run_id).data
    flip = result["case.upper"][0].metrics["flip_rate"]
    assert data.metrics["robustcheck.case.upper.s1.flip_rate"] == pytest.approx(flip.value)
    assert data.metrics["robustcheck.case.upper.s1.flip_rate.high"] == pytest.approx(flip.high)


def test_run_with_mlflow_logs_the_result(store: Any, tiny_project: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert run_tiny(tiny_project, "--name", "tiny", "--mlflow") == 0
    runs = _all_runs(store)
    assert len(runs) == 1
    assert f"mlflow: run {runs[0].info.run_id}" in capsys.readouterr().err
    metrics = runs[0].data.metrics
    assert metrics["robustcheck.case.upper.s1.flip_rate"] == pytest.approx(0.5)  # 12 of 24
    assert runs[0].data.params["robustcheck.data.n"] == "24"


def test_run_with_mlflow_refuses_before_the_audit_when_mlflow_is_missing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "mlflow" else real(name, *a))
    with pytest.raises(SystemExit) as stop:
        main(["run", "--model", "nowhere:model", "--data", str(tmp_path / "none.csv"),
              "--mlflow"])
    assert stop.value.code == 2
    assert 'pip install "robustcheck[mlflow]"' in capsys.readouterr().err


def test_the_plugin_logs_every_result_of_the_session_into_one_run(
        store: Any, pytester: pytest.Pytester) -> None:
    pytester.makepyfile(tiny_model=TINY_MODEL)
    pytester.makepyfile(test_robust=textwrap.dedent('''
        from tiny_model import model

        TEXTS = ["good food", "bad food"] * 10
        LABELS = ["pos", "neg"] * 10

        def test_one(robustcheck):
            robustcheck.run(model, TEXTS, LABELS, perturbations=["case.upper"])

        def test_two(robustcheck):
            robustcheck.run(model, TEXTS, LABELS, perturbations=["case.lower"])
            robustcheck.run(model, TEXTS, LABELS, perturbations=["case.title"])
    '''))
    pytester.runpytest("--robustcheck-mlflow",
                       "--robustcheck-severities=1").assert_outcomes(passed=2)
    runs = _all_runs(store)
    assert len(runs) == 1 and runs[0].info.run_name == "robustcheck session"
    metrics = runs[0].data.metrics
    one, two = "test_robust.py::test_one", "test_robust.py::test_two"
    assert metrics[f"{prefix_for(one)}.case.upper.s1.flip_rate"] == pytest.approx(0.5)
    # the second result of test_two has a prefix of its own: nothing was overwritten
    assert f"{prefix_for(two)}.case.lower.s1.coverage" in metrics
    assert metrics[f"{prefix_for(two + '[1]')}.case.title.s1.flip_rate"] == pytest.approx(0.5)
    assert store.active_run() is None


def test_the_plugin_logs_nothing_without_the_option(store: Any,
                                                    pytester: pytest.Pytester) -> None:
    one_robustcheck_test(pytester)
    pytester.runpytest().assert_outcomes(passed=1)
    assert _all_runs(store) == []


def test_the_plugin_refuses_the_option_at_the_start_when_mlflow_is_missing(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "mlflow" else real(name, *a))
    one_robustcheck_test(pytester)
    out = pytester.runpytest("--robustcheck-mlflow")
    assert out.ret == pytest.ExitCode.USAGE_ERROR
    assert 'pip install "robustcheck[mlflow]"' in out.stderr.str()
