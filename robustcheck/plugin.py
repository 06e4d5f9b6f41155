"""The pytest plugin (entry point ``pytest11``): robustness tests next to unit tests.

* fixture ``robustcheck``: ``robustcheck.run(...)`` with the session's seed and
  severities; each result is recorded under the test's node id;
* marker ``@pytest.mark.robustcheck(**thresholds)``: the thresholds every result the
  test recorded must meet (unknown keywords are an error at setup);
* options ``--robustcheck-report``, ``--robustcheck-json``, ``--robustcheck-summary``,
  ``--robustcheck-seed``, ``--robustcheck-severities``, ``--robustcheck-threshold``,
  ``--robustcheck-baseline``, ``--robustcheck-alpha`` (each also an ini key:
  ``robustcheck_report = ...``);
* a terminal summary, the HTML report, the JSON and a Markdown summary of the whole
  session, written once on the controller under pytest-xdist (under GitHub Actions the
  Markdown summary is also appended to ``$GITHUB_STEP_SUMMARY``); with a baseline,
  significant regressions fail the session.

Loading the plugin imports nothing heavy: numpy, pandas, nlpaug and jinja2 are imported
on first use of the fixture or when a report is written.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from ._baseline import SESSION_KIND, SESSION_SCHEMA, compare_with_baseline, read_baseline
from ._cli_history import add_history_options
from ._options import DEFAULT_SEVERITIES, THRESHOLD_NAMES, add_run_options

if TYPE_CHECKING:
    from .comparison import Comparison
    from .results import RunResult

_STATE = pytest.StashKey["State"]()
_OPTIONS = {  # ini key -> (help, type)
    "robustcheck_report": "write the HTML report of every robustness result here",
    "robustcheck_json": "write the JSON of every robustness result here",
    "robustcheck_summary": "write a Markdown summary of the session here (verdicts, "
                           "findings, baseline regressions); under GitHub Actions it is "
                           "also appended to $GITHUB_STEP_SUMMARY",
    "robustcheck_baseline": "an earlier --robustcheck-json file: significant regressions "
                            "against it fail the session",
    "robustcheck_seed": "seed of every perturbation (default 0)",
    "robustcheck_severities": "comma-separated severities (default 0.25,0.5,1)",
    "robustcheck_alpha": "significance level of the baseline comparison (default 0.05)",
    "robustcheck_gate": "point (default) or interval: how a rate is held to its threshold",
    "robustcheck_min_samples": "rows measured on fewer samples are insufficient data "
                               "(default 20)",
    "robustcheck_history": "record every result in this history store (SQLite)",
    "robustcheck_history_version": "the model's version label in the history",
    "robustcheck_mlflow": "log every result to MLflow at the end of the session (true/false)",
}


# -- options --------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("robustcheck", "robustness tests (robustcheck)")
    group.addoption("--robustcheck-report", metavar="PATH", default=None,
                    dest="robustcheck_report", help=_OPTIONS["robustcheck_report"])
    group.addoption("--robustcheck-json", metavar="PATH", default=None,
                    dest="robustcheck_json", help=_OPTIONS["robustcheck_json"])
    group.addoption("--robustcheck-summary", metavar="PATH", default=None,
                    dest="robustcheck_summary", help=_OPTIONS["robustcheck_summary"])
    group.addoption("--robustcheck-baseline", metavar="PATH", default=None,
                    dest="robustcheck_baseline", help=_OPTIONS["robustcheck_baseline"])
    group.addoption("--robustcheck-alpha", metavar="P", type=_alpha_type, default=None,
                    dest="robustcheck_alpha", help=_OPTIONS["robustcheck_alpha"])
    add_run_options(group.addoption, "--robustcheck-")
    add_history_options(group.addoption, "--robustcheck-")
    group.addoption("--robustcheck-mlflow", action="store_const", const="true", default=None,
                    dest="robustcheck_mlflow", help=_OPTIONS["robustcheck_mlflow"])
    for name, text in _OPTIONS.items():
        parser.addini(name, text, default=None)
    parser.addini("robustcheck_thresholds", "thresholds every result must meet, one "
                  "NAME=VALUE per line", type="linelist", default=[])


def _alpha_type(text: str) -> float:
    import argparse

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; e.g. 0.05") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"alpha must be in (0, 1), got {value:g}")
    return value


def _flag(text: str) -> str:
    """An ini switch: true/false (also yes/no, 1/0), returned as "true" or "false"."""
    value = text.strip().lower()
    if value in ("true", "yes", "1", "on"):
        return "true"
    if value in ("false", "no", "0", "off", ""):
        return "false"
    raise ValueError(f"{text!r} is not true or false")


def _setting_int(config: pytest.Config, name: str, parse: Any, default: int) -> int:
    """A whole-number setting, where 0 is a value, not "unset"."""
    value = _setting(config, name, parse)
    return default if value is None else int(value)


def _setting(config: pytest.Config, name: str, parse: Any = None) -> Any:
    """Command line first, then the ini file (parsed like the option)."""
    value = config.getoption(name)
    if value is not None:
        return value
    raw = config.getini(name)
    if raw in (None, ""):
        return None
    if parse is None:
        return raw
    try:
        return parse(str(raw))
    except Exception as exc:
        raise pytest.UsageError(f"ini option {name} = {raw!r}: {exc}") from None


# -- state ----------------------------------------------------------------------------


@dataclass
class Record:
    nodeid: str
    index: int
    result: RunResult


@dataclass
class State:
    seed: int
    severities: tuple[float, ...]
    thresholds: dict[str, float]
    alpha: float
    report: str | None
    json: str | None
    baseline: dict[tuple[str | None, str], list[dict[str, Any]]] | None
    gate: str = "point"
    min_samples: int = 20
    summary: str | None = None
    history: str | None = None
    history_version: str | None = None
    mlflow: bool = False
    records: list[Record] = field(default_factory=list)
    regressions: list[tuple[Record, Comparison]] = field(default_factory=list)
    not_compared: list[tuple[Record, str]] = field(default_factory=list)
    drifts: list[tuple[Record, Comparison]] = field(default_factory=list)
    outcomes: dict[str, str] = field(default_factory=dict)
    """Each test's pytest outcome by node id: passed, failed, skipped, error, xfailed,
    xpassed (collected on the controller, where xdist reports arrive too)."""
    notes: list[str] = field(default_factory=list)
    """Problems to show in the terminal summary (a step summary that could not be
    appended to)."""

    def record(self, nodeid: str, result: RunResult) -> None:
        index = sum(1 for r in self.records if r.nodeid == nodeid)
        self.records.append(Record(nodeid, index, result))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "robustcheck(**thresholds): robustness results recorded by this test through the "
        f"robustcheck fixture must meet these thresholds ({', '.join(THRESHOLD_NAMES)}, "
        "per={family: {...}})",
    )
    from ._options import (
        gate_type,
        min_samples_type,
        seed_type,
        severities_type,
        threshold_type,
    )
    from ._validate import DEFAULT_MIN_SAMPLES

    thresholds = dict(config.getoption("robustcheck_thresholds") or [])
    for line in config.getini("robustcheck_thresholds"):
        try:
            name, value = threshold_type(line)
        except Exception as exc:
            raise pytest.UsageError(f"ini option robustcheck_thresholds: {exc}") from None
        thresholds.setdefault(name, value)
    baseline_path = _setting(config, "robustcheck_baseline")
    config.stash[_STATE] = State(
        seed=_setting(config, "robustcheck_seed", seed_type) or 0,
        severities=_setting(config, "robustcheck_severities", severities_type)
        or DEFAULT_SEVERITIES,
        thresholds=thresholds,
        gate=_setting(config, "robustcheck_gate", gate_type) or "point",
        min_samples=_setting_int(config, "robustcheck_min_samples", min_samples_type,
                                 DEFAULT_MIN_SAMPLES),
        alpha=_setting(config, "robustcheck_alpha", _alpha_type) or 0.05,
        report=_setting(config, "robustcheck_report"),
        json=_setting(config, "robustcheck_json"),
        summary=_setting(config, "robustcheck_summary"),
        history=_setting(config, "robustcheck_history"),
        history_version=_setting(config, "robustcheck_history_version"),
        mlflow=_setting(config, "robustcheck_mlflow", _flag) == "true",
        baseline=read_baseline(baseline_path) if baseline_path else None,
    )
    if config.stash[_STATE].mlflow:
        import importlib.util

        if importlib.util.find_spec("mlflow") is None:
            raise pytest.UsageError('--robustcheck-mlflow: MLflow is not installed; '
                                    'pip install "robustcheck[mlflow]"')
    if not _is_worker(config):
        config.pluginmanager.register(_OutcomeRecorder(config.stash[_STATE]),
                                      "robustcheck-outcomes")


class _OutcomeRecorder:
    """Collects each test's outcome for the report (a plugin object: the hook has no
    config argument to find the session state by)."""

    def __init__(self, state: State) -> None:
        self.state = state

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        outcome = _outcome(report)
        if outcome is None:
            return
        current = self.state.outcomes.get(report.nodeid)
        if current in ("failed", "error") and outcome not in ("failed", "error"):
            return  # a teardown that passed does not undo a failure
        if current == "failed" and outcome == "error":
            return  # a failed test whose teardown errors too is reported as failed
        self.state.outcomes[report.nodeid] = outcome


def _outcome(report: pytest.TestReport) -> str | None:
    """The test's outcome as this phase tells it; None when it says nothing new."""
    xfail = hasattr(report, "wasxfail")
    if report.when == "call":
        if xfail:
            return "xfailed" if report.skipped else "xpassed"
        return str(report.outcome)
    if report.failed:
        return "error"
    if report.skipped and report.when == "setup":
        return "xfailed" if xfail else "skipped"
    return None


def pytest_report_header(config: pytest.Config) -> str:
    state = config.stash[_STATE]
    severities = ",".join(f"{s:g}" for s in state.severities)
    return (f"robustcheck: seed={state.seed} severities={severities} "
            f"(reproduce with --robustcheck-seed={state.seed})")


# -- fixture and marker ------------------------------------------------------------------


class RobustcheckFixture:
    """The ``robustcheck`` fixture: ``robustcheck.run`` bound to this test and session."""

    def __init__(self, nodeid: str, state: State) -> None:
        self.nodeid = nodeid
        self._state = state
        self.results: list[RunResult] = []

    @property
    def seed(self) -> int:
        return self._state.seed

    def run(self, model: Any, inputs: Any, labels: Any = None, **kwargs: Any) -> RunResult:
        """``robustcheck.run`` with the session's seed and severities (overridable),
        without a progress bar; the result is recorded for the report and returned."""
        from .runner import run

        kwargs.setdefault("seed", self._state.seed)
        kwargs.setdefault("severities", self._state.severities)
        kwargs.setdefault("progress", False)
        kwargs.setdefault("minimal", self._state.report is not None)  # the report shows it
        result = run(model, inputs, labels, **kwargs)
        self.results.append(result)
        self._state.record(self.nodeid, result)
        if self._state.history:  # each process writes its own: the store takes concurrency
            from .history import record

            record(result, self._state.history, version=self._state.history_version)
        if result.stopped is not None and result.stopped["kind"] == "interrupted":
            raise KeyboardInterrupt  # Ctrl-C stops the session, the partial result kept
        return result


@pytest.fixture
def robustcheck(request: pytest.FixtureRequest) -> RobustcheckFixture:
    """Run robustness audits in a test: ``robustcheck.run(model, inputs, labels, ...)``
    returns the RunResult and records it for the session report."""
    fixture = RobustcheckFixture(request.node.nodeid, request.config.stash[_STATE])
    request.node.stash[_FIXTURE] = fixture
    return fixture


_FIXTURE = pytest.StashKey[RobustcheckFixture]()


def pytest_runtest_setup(item: pytest.Item) -> None:
    marker = item.get_closest_marker("robustcheck")
    if marker is not None:
        _marker_thresholds(marker)


def _marker_thresholds(marker: pytest.Mark) -> tuple[dict[str, float], dict[str, Any]]:
    """The marker's thresholds and its other keywords (``per``, ``gate``,
    ``min_samples``), checked."""
    if marker.args:
        pytest.fail(f"@pytest.mark.robustcheck takes keyword thresholds only, got "
                    f"positional {marker.args!r}", pytrace=False)
    kwargs = dict(marker.kwargs)
    options: dict[str, Any] = {k: kwargs.pop(k) for k in ("per", "gate", "min_samples")
                               if k in kwargs}
    from ._validate import (
        check_gate,
        check_min_samples,
        check_per_thresholds,
        check_thresholds,
    )

    try:
        check_thresholds(kwargs)
        options["per"] = check_per_thresholds(options.get("per") or {})
        if "gate" in options:
            check_gate(options["gate"])
        if "min_samples" in options:
            check_min_samples(options["min_samples"])
    except ValueError as exc:  # InvalidArgument, in the words of RunResult.check
        pytest.fail(f"@pytest.mark.robustcheck: {exc}", pytrace=False)
    return kwargs, options


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    outcome = yield
    fixture = item.stash.get(_FIXTURE, None)
    marker = item.get_closest_marker("robustcheck")
    state = item.config.stash[_STATE]
    if marker is not None and (fixture is None or not fixture.results):
        pytest.fail("marked @pytest.mark.robustcheck but recorded no result: call "
                    "robustcheck.run(...) on the robustcheck fixture", pytrace=False)
    if fixture is not None and fixture.results:
        gated = marker is not None or bool(state.thresholds)
        thresholds, options = _marker_thresholds(marker) if marker is not None else ({}, {})
        limits = {**state.thresholds, **thresholds}
        gate = options.get("gate", state.gate)
        min_samples = options.get("min_samples", state.min_samples)
        failures = []
        for result in fixture.results:
            if not gated:
                # no threshold, but a run that stopped early did not test what it says
                if result.stopped is not None:
                    failures.append(f"robustcheck run {result.name!r} stopped early "
                                    f"({result.stopped['kind']}: {result.stopped['message']})")
                continue
            try:
                result.check(per=options.get("per") or {}, gate=gate,
                             min_samples=min_samples, **limits)
            except AssertionError as exc:  # RobustnessError: its message is the table
                failures.append(str(exc))
        if failures:
            raise AssertionError("\n\n".join(failures))
    return outcome


# -- the end of the session ----------------------------------------------------------------


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist controller: collect the results a worker recorded."""
    payload = getattr(node, "workeroutput", {}).get("robustcheck")
    if not payload:
        return
    from .results import RunResult

    state = node.config.stash[_STATE]
    for entry in json.loads(payload):
        state.records.append(Record(entry["nodeid"], entry["index"],
                                    RunResult.from_dict(entry["result"])))


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    state = config.stash.get(_STATE, None)
    if state is None:
        return
    if _is_worker(config):
        if state.records:
            config.workeroutput["robustcheck"] = json.dumps([  # type: ignore[attr-defined]
                {"nodeid": r.nodeid, "index": r.index, "result": r.result.to_dict()}
                for r in state.records])
        return
    state.records.sort(key=lambda r: (r.nodeid, r.index))
    if state.baseline is not None and state.records:
        compare_with_baseline(state)
        if state.regressions and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if state.json and state.records:
        _write_session_json(state, state.json)
    if state.report and state.records:
        from . import report

        entries = [(r.nodeid, r.result) for r in state.records]
        report.write(report.render_session(
            entries, regressions=[(r.nodeid, c) for r, c in state.regressions],
            drifts=[(r.nodeid, c) for r, c in state.drifts],
            outcomes=dict(state.outcomes)), state.report)
    if state.records:
        _write_summaries(state)
    if state.mlflow and state.records:
        _log_mlflow(state)


def _log_mlflow(state: State) -> None:
    """Every result of the session into one MLflow run (the active one, or a new run for
    the session), each under a prefix made from its test's node id."""
    from ._mlflow import _import_mlflow, prefix_for

    mlflow = _import_mlflow()
    with contextlib.ExitStack() as stack:
        if mlflow.active_run() is None:
            stack.enter_context(mlflow.start_run(run_name="robustcheck session"))
        for r in state.records:
            suffix = f"[{r.index}]" if r.index else ""
            r.result.log_mlflow(prefix=prefix_for(r.nodeid + suffix))


def _write_summaries(state: State) -> None:
    """The Markdown summary to ``--robustcheck-summary`` and, under GitHub Actions, to
    ``$GITHUB_STEP_SUMMARY`` (appended)."""
    from ._files import write_atomic
    from ._markdown import append_step_summary, session_summary_markdown

    text = session_summary_markdown(
        [(r.nodeid, r.result) for r in state.records],
        regressions=[(r.nodeid, c) for r, c in state.regressions],
        drifts=[(r.nodeid, c) for r, c in state.drifts],
        not_compared=[(f"{r.nodeid} [{r.result.name}]", why) for r, why in state.not_compared],
        outcomes=state.outcomes)
    if state.summary:
        write_atomic(state.summary, text)
    try:
        append_step_summary(text)
    except OSError as exc:
        state.notes.append(f"cannot append the robustcheck summary to $GITHUB_STEP_SUMMARY "
                           f"({exc.strerror or exc})")


def _write_session_json(state: State, path: str) -> None:
    from ._files import dumps, write_atomic

    payload = {"schema_version": SESSION_SCHEMA, "kind": SESSION_KIND, "seed": state.seed,
               "results": [{"nodeid": r.nodeid, "index": r.index, "result": r.result.to_dict()}
                           for r in state.records]}
    write_atomic(path, dumps(payload, indent=1, allow_nan=False) + "\n")


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config
                            ) -> None:
    state = config.stash.get(_STATE, None)
    if state is None or _is_worker(config) or not state.records:
        return
    tr = terminalreporter
    tr.write_sep("=", "robustcheck")
    verbose = config.getoption("verbose") > 0
    for record in state.records:
        result = record.result
        tr.write_line(f"{record.nodeid} [{result.name}]: score {result.score}, "
                      f"n={result.n}, {len(result.rows)} rows"
                      + ("" if result.complete else " (INCOMPLETE)"))
        lines = _summary_lines(result)
        shown = lines if verbose else lines[:12]
        for line in shown:
            tr.write_line("  " + line)
        if len(lines) > len(shown):
            tr.write_line(f"  ... {len(lines) - len(shown)} more (-v shows all)")
    for record, comparison in state.regressions:
        tr.write_sep("-", f"regressions against the baseline: {record.nodeid}", red=True)
        for line in comparison.table().splitlines():
            if "regression" in line or line.startswith(("perturbation", comparison.a.name)):
                tr.write_line("  " + line, red="regression" in line and "vs" not in line)
    for record, comparison in state.drifts:
        tr.write_sep("-", f"confidence drifts against the baseline (listed, not failing): "
                          f"{record.nodeid}", yellow=True)
        for line in comparison.table().splitlines():
            if "regression" in line or line.startswith(("perturbation", comparison.a.name)):
                tr.write_line("  " + line, yellow="regression" in line and "vs" not in line)
    for record, reason in state.not_compared:
        tr.write_line(f"not compared with the baseline: {record.nodeid} [{record.result.name}]"
                      f": {reason}", yellow=True)
    for what, path in (("report", state.report), ("json", state.json),
                       ("summary", state.summary)):
        if path:
            tr.write_line(f"robustcheck {what}: {os.path.abspath(path)}")
    for note in state.notes:
        tr.write_line(f"robustcheck: warning: {note}", yellow=True)


def _summary_lines(result: RunResult) -> list[str]:
    """One line per perturbation: failure rate at each severity, crashes, verdict;
    failing perturbations first, then the worst."""
    by_name: dict[str, list[Any]] = {}
    for row in result.rows:
        by_name.setdefault(row.perturbation, []).append(row)
    lines = []
    for name, rows in by_name.items():
        failed = any(r.passed is False for r in rows)
        rates = " / ".join(_pct(r.metrics["failure_rate"].value) for r in rows)
        crash = max((r.metrics["crash_rate"].value for r in rows
                     if not math.isnan(r.metrics["crash_rate"].value)), default=0.0)
        worst = max((r.metrics["failure_rate"].value for r in rows
                     if not math.isnan(r.metrics["failure_rate"].value)), default=0.0)
        few = not failed and not any(r.passed for r in rows) and \
            any(r.insufficient for r in rows)
        verdict = "FAIL" if failed else ("ok" if any(r.passed for r in rows) else
                                         "few" if few else "")
        text = f"{verdict:4} {name:24} failure {rates}"
        if crash:
            text += f"  crash {_pct(crash)}"
        lines.append((not failed, -worst, name, text.rstrip()))
    return [line[-1] for line in sorted(lines)]


def _pct(x: float) -> str:
    return "-" if math.isnan(x) else f"{100 * x:.1f}%"
