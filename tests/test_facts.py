"""One home for each fact: the metric records, the argument checks and the caps.

Every list of metrics the other modules keep is derived from ``robustcheck._metricinfo``;
every seed, severity, threshold, batch size and timeout is checked by
``robustcheck._validate``, so the plugin, the command line and the API refuse a bad value
in the same words.
"""

from __future__ import annotations

import argparse
import ast
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline

# In-process pytester runs drop the modules a run imported; numpy cannot be imported
# twice in one process, so everything heavy is imported here, before any run.
import robustcheck
import robustcheck.comparison
import robustcheck.report
import robustcheck.runner
from robustcheck import _metricinfo, _options, _validate, metrics, results
from robustcheck.cli import main
from robustcheck.errors import InvalidArgument

pytest_plugins = ["pytester"]

PACKAGE = Path(robustcheck.__file__).parent
RECORDS = _metricinfo.METRIC_INFO
NAMES = [m.name for m in RECORDS]

POSITIVE = ["the food was great", "I love this place", "great staff and fast delivery",
            "lovely room, friendly people", "best pizza in town", "works perfectly, happy"]
NEGATIVE = ["terrible service, never again", "awful, cold food", "the worst delivery ever",
            "rude staff and a dirty room", "broken on arrival, sad", "slow and overpriced"]
TEXTS = [f"{t} {suffix}" for suffix in ("", "today", "again") for t in POSITIVE + NEGATIVE]
LABELS = ([1] * 6 + [0] * 6) * 3


@pytest.fixture(scope="module")
def text_result() -> robustcheck.RunResult:
    model = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(TEXTS, LABELS)
    return robustcheck.run(model, TEXTS, LABELS, perturbations=["case.upper", "typo.swap"],
                           severities=[1.0], seed=0)


@pytest.fixture(scope="module")
def regression_result() -> robustcheck.RunResult:
    data = load_diabetes(as_frame=True)
    x, y = data.data.iloc[:60], data.target.iloc[:60].to_numpy()
    return robustcheck.run(Ridge().fit(x, y), x, y, perturbations=["noise.gaussian"],
                           severities=[1.0], seed=0)


# -- the metric records ------------------------------------------------------------------


def test_every_metric_has_one_record_and_every_threshold_bounds_a_metric_that_exists():
    assert len(NAMES) == len(set(NAMES))
    assert set(_metricinfo.THRESHOLDS.values()) <= set(NAMES)
    bounded = [m for m in RECORDS if m.threshold]
    assert len(_metricinfo.THRESHOLDS) == len(bounded)
    for m in bounded:
        assert _metricinfo.THRESHOLDS[m.threshold or ""] == m.name
    assert all((m.threshold is None) == (m.threshold_rank is None) for m in RECORDS)
    assert sorted(m.threshold_rank or 0 for m in bounded) == list(range(1, len(bounded) + 1))


def test_the_report_columns_are_numbered_without_gaps_and_each_has_a_header_and_definition():
    columns = sorted(m.column for m in RECORDS if m.column is not None)
    assert columns == list(range(1, len(columns) + 1))
    for m in RECORDS:
        assert m.header and m.definition and "\n" not in m.definition


def test_every_compared_metric_has_a_direction_and_a_paired_test():
    compared = [m for m in RECORDS if m.paired_test]
    assert compared
    for m in compared:
        assert m.higher_is_worse is not None, m.name
        assert m.paired_test in ("mcnemar-exact", "paired-bootstrap")


def test_every_metric_a_run_measures_has_a_record(text_result, regression_result):
    for result in (text_result, regression_result):
        for row in result.rows:
            assert set(row.metrics) <= set(metrics.METRICS), row.key
            assert {k for k in row.latency if k in _metricinfo.THRESHOLDS.values()} \
                <= {m.name for m in RECORDS if not m.stored}
    seen = {k for r in (text_result, regression_result) for row in r.rows for k in row.metrics}
    assert {"confidence_drop", "mean_abs_change", "error_increase", "accuracy_drop"} <= seen


def test_every_metric_a_comparison_tests_has_a_record_with_that_test(text_result):
    comparison = robustcheck.compare(text_result, text_result)
    for row in comparison.rows:
        for name, entry in row["metrics"].items():
            record = _metricinfo.info(name)
            assert record.paired_test is not None
            assert entry["test"] == record.paired_test or entry["test"].startswith("none")


def test_every_metric_column_the_report_renders_has_a_record(text_result, regression_result):
    headers = {m.header: m for m in RECORDS}
    for result in (text_result, regression_result):
        html = robustcheck.report.render_run(result)
        table = html[html.index('id="results"'):]
        table = table[:table.index("</tr>")]
        shown = re.findall(r'title="([^"]*)"><button type="button">([^<]*)</button>', table)
        assert {"Coverage", "Failure rate", "Calls"} <= {h for _, h in shown}
        for title, header in shown:
            if header != "Calls":  # model calls: a count, not a metric
                assert title == headers[header].definition.replace("'", "&#39;")


# -- the derived names equal what the modules wrote out before --------------------------


def test_the_derived_names_are_unchanged():
    assert metrics.METRICS == (
        "coverage", "crash_rate", "flip_rate", "failure_rate", "accuracy_clean",
        "accuracy_perturbed", "accuracy_drop", "confidence_drop", "mean_abs_change",
        "error_increase", "change_rate", "similarity", "format_failure_rate",
        "correctness_clean", "correctness_perturbed", "correctness_drop", "tokens_ratio",
        "cost_ratio")
    percent = robustcheck.report.PERCENT
    assert percent == {
        "coverage", "crash_rate", "flip_rate", "failure_rate", "accuracy_clean",
        "accuracy_perturbed", "accuracy_drop", "change_rate", "format_failure_rate"}
    assert robustcheck.report.COLUMNS == (
        ("failure_rate", "Failure rate",
         "changed inputs where the model crashed or broke the expectation"),
        ("flip_rate", "Flip rate", "changed, answered inputs whose label differs from the "
                                   "clean one"),
        ("crash_rate", "Crash rate", "changed inputs where the model raised or timed out"),
        ("accuracy_drop", "Accuracy drop", "clean accuracy minus perturbed accuracy, over "
                                           "all n"),
        ("confidence_drop", "Confidence drop", "mean fall of the clean label's score"),
        ("mean_abs_change", "Mean |change|", "mean absolute change of the output"),
        ("error_increase", "Error increase", "perturbed MAE minus clean MAE"),
        ("change_rate", "Change rate", "changed, answered prompts whose output changed in "
                                       "meaning (similarity below the threshold)"),
        ("similarity", "Similarity", "mean similarity of the clean and the perturbed output "
                                     "(1: the same)"),
        ("format_failure_rate", "Format failures", "changed, answered prompts whose output "
                                                   "no longer meets the output contract"),
        ("correctness_drop", "Correctness drop", "clean correctness minus perturbed "
                                                 "correctness, over all n"),
        ("tokens_ratio", "Tokens", "prompt and completion tokens of the perturbed calls over "
                                   "those of the same prompts' clean calls"),
        ("cost_ratio", "Cost", "cost of the perturbed calls over that of the same prompts' "
                               "clean calls"),
    )
    assert list(robustcheck.comparison.HIGHER_IS_WORSE.items()) == [
        ("failure_rate", True), ("accuracy_perturbed", False), ("confidence_drop", True),
        ("mean_abs_change", True), ("error_increase", True), ("change_rate", True),
        ("similarity", False)]
    assert _options.THRESHOLD_NAMES == (
        "max_flip_rate", "max_failure_rate", "max_accuracy_drop", "max_crash_rate",
        "max_confidence_drop", "max_latency_ratio", "max_change_rate",
        "max_format_failure_rate", "max_correctness_drop")
    assert list(results.THRESHOLDS.items()) == [
        ("max_flip_rate", "flip_rate"), ("max_failure_rate", "failure_rate"),
        ("max_accuracy_drop", "accuracy_drop"), ("max_crash_rate", "crash_rate"),
        ("max_confidence_drop", "confidence_drop"), ("max_latency_ratio", "latency_ratio"),
        ("max_change_rate", "change_rate"), ("max_format_failure_rate", "format_failure_rate"),
        ("max_correctness_drop", "correctness_drop")]


# -- caps ---------------------------------------------------------------------------------

CAPS = {"CRASHES_PER_ROW": 10, "CRASHES_SHOWN_PER_ROW": 10, "MESSAGE_LIMIT": 500}
# Modules that still write a cap out; the lead switches them to robustcheck._metricinfo.
PENDING: set[str] = set()


def test_the_caps_are_written_once():
    assert (_metricinfo.CRASHES_PER_ROW, _metricinfo.MESSAGE_LIMIT) == (10, 500)
    assert robustcheck.report.CRASHES_SHOWN_PER_ROW == _metricinfo.CRASHES_PER_ROW
    assert robustcheck.report.MESSAGE_LIMIT == _metricinfo.MESSAGE_LIMIT
    literal = []
    for path in sorted(PACKAGE.glob("*.py")):
        if path.name == "_metricinfo.py" or path.name in PENDING:
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                names = {t.id for t in node.targets if isinstance(t, ast.Name)}
                literal += [f"{path.name}: {n}" for n in names & set(CAPS)]
            if isinstance(node, ast.Slice) and isinstance(node.upper, ast.Constant) \
                    and node.upper.value == _metricinfo.MESSAGE_LIMIT:
                literal.append(f"{path.name}:{node.lineno}: [:500]")
    assert literal == []


# -- every validator refuses bad values, naming the argument -----------------------------

NAN = math.nan
BAD: list[tuple[Callable[[Any], Any], Any, list[str]]] = [
    # (check, bad value, what the message must name: the argument, the value, a fix)
    (_validate.check_seed, -1, ["seed", "-1", "e.g. 0"]),
    (_validate.check_seed, 1.5, ["seed", "1.5", "e.g. 0"]),
    (_validate.check_seed, True, ["seed", "True"]),
    (_validate.check_seed, "3", ["seed", "'3'"]),
    (_validate.check_seed, None, ["seed", "None"]),
    (_validate.check_seed, np.int64(-2), ["seed", "-2"]),
    (_validate.parse_seed, "abc", ["seed", "'abc'", "e.g. 0"]),
    (_validate.parse_seed, "-1", ["seed", "-1"]),
    (_validate.parse_seed, "1.5", ["seed", "'1.5'"]),
    (_validate.check_severities, 0, ["severities", "0.0", "e.g. 0.25"]),
    (_validate.check_severities, [0.5, 2], ["severities", "2.0"]),
    (_validate.check_severities, [NAN], ["severities", "nan"]),
    (_validate.check_severities, [True], ["severities", "True"]),
    (_validate.check_severities, "0.5", ["severities", "'0.5'"]),
    (_validate.check_severities, None, ["severities", "None"]),
    (_validate.check_severities, [], ["severities", "empty", "e.g. 0.25"]),
    (_validate.parse_severities, "0.5,x", ["severities", "'x'"]),
    (_validate.parse_severities, "0,1", ["severities", "0.0"]),
    (_validate.parse_severities, "", ["severities", "''"]),
    (_validate.check_thresholds, {"max_flip_rat": 0.1},
     ["threshold", "'max_flip_rat'", "did you mean max_flip_rate?"]),
    (_validate.check_thresholds, {"max_flip_rate": "x"}, ["max_flip_rate", "'x'", "e.g."]),
    (_validate.check_thresholds, {"max_flip_rate": NAN}, ["max_flip_rate", "nan"]),
    (_validate.check_thresholds, {"max_crash_rate": True}, ["max_crash_rate", "True"]),
    (_validate.check_thresholds, {"max_crash_rate": None}, ["max_crash_rate", "None"]),
    (_validate.check_thresholds, ["max_flip_rate"], ["thresholds", "['max_flip_rate']"]),
    (_validate.check_per_thresholds, {"typo": {"max_flop": 1}},
     ["per['typo']", "'max_flop'", "known: max_flip_rate"]),
    (_validate.check_per_thresholds, {"typo": {"max_flip_rate": "high"}},
     ["per['typo']", "max_flip_rate", "'high'"]),
    (_validate.check_per_thresholds, ["typo"], ["per", "['typo']", "e.g."]),
    (_validate.parse_threshold, "max_flip_rate", ["'max_flip_rate'", "name=value"]),
    (_validate.parse_threshold, "max_flips=0.1", ["threshold", "'max_flips'"]),
    (_validate.parse_threshold, "max_flip_rate=abc", ["max_flip_rate", "'abc'"]),
    (_validate.parse_threshold, "max_flip_rate=nan", ["max_flip_rate", "nan"]),
    (_validate.check_batch_size, 0, ["batch_size", "0", "e.g. batch_size=256"]),
    (_validate.check_batch_size, 2.5, ["batch_size", "2.5"]),
    (_validate.check_batch_size, True, ["batch_size", "True"]),
    (_validate.check_batch_size, "8", ["batch_size", "'8'"]),
    (_validate.check_timeout, 0, ["timeout", "0", "e.g. timeout=30"]),
    (_validate.check_timeout, -1.0, ["timeout", "-1.0"]),
    (_validate.check_timeout, math.inf, ["timeout", "inf"]),
    (_validate.check_timeout, NAN, ["timeout", "nan"]),
    (_validate.check_timeout, "5", ["timeout", "'5'"]),
]


@pytest.mark.parametrize(("check", "value", "named"), BAD,
                         ids=[f"{c.__name__}({v!r})" for c, v, _ in BAD])
def test_every_validator_refuses_a_bad_value_naming_the_argument_and_the_value(
    check: Callable[[Any], Any], value: Any, named: list[str],
) -> None:
    with pytest.raises(InvalidArgument) as error:
        check(value)
    message = str(error.value)
    for words in named:
        assert words in message, message
    assert "\n" not in message


GOOD: list[tuple[Callable[[Any], Any], Any, Any]] = [
    (_validate.check_seed, 0, 0),
    (_validate.check_seed, np.int64(7), 7),
    (_validate.parse_seed, " 12 ", 12),
    (_validate.check_severities, 0.5, [0.5]),
    (_validate.check_severities, (1, 0.5, 0.5, np.float64(0.25)), [0.25, 0.5, 1.0]),
    (_validate.parse_severities, "1,0.5", (1.0, 0.5)),
    (_validate.check_thresholds, {"max_flip_rate": 0, "max_latency_ratio": math.inf},
     {"max_flip_rate": 0.0, "max_latency_ratio": math.inf}),
    (_validate.check_per_thresholds, {"typo": {"max_flip_rate": 0.2}},
     {"typo": {"max_flip_rate": 0.2}}),
    (_validate.parse_threshold, "max-flip-rate=0.05", ("max_flip_rate", 0.05)),
    (_validate.check_batch_size, np.int32(3), 3),
    (_validate.check_timeout, None, None),
    (_validate.check_timeout, 2, 2.0),
]


@pytest.mark.parametrize(("check", "value", "expected"), GOOD,
                         ids=[f"{c.__name__}({v!r})" for c, v, _ in GOOD])
def test_every_validator_returns_a_good_value_normalised(
    check: Callable[[Any], Any], value: Any, expected: Any,
) -> None:
    assert check(value) == expected


@pytest.mark.parametrize(("argparse_type", "parse", "text"), [
    (_options.seed_type, _validate.parse_seed, "abc"),
    (_options.seed_type, _validate.parse_seed, "-1"),
    (_options.severities_type, _validate.parse_severities, "0.5,2"),
    (_options.threshold_type, _validate.parse_threshold, "max_flips=1"),
    (_options.threshold_type, _validate.parse_threshold, "max_flip_rate=x"),
])
def test_the_argparse_types_raise_argparses_error_with_the_same_message(
    argparse_type: Callable[[str], Any], parse: Callable[[str], Any], text: str,
) -> None:
    with pytest.raises(InvalidArgument) as expected:
        parse(text)
    with pytest.raises(argparse.ArgumentTypeError) as error:
        argparse_type(text)
    assert str(error.value) == str(expected.value)


# -- the plugin, the command line and the API say the same ----------------------------


def _message(check: Callable[[Any], Any], value: Any) -> str:
    with pytest.raises(InvalidArgument) as error:
        check(value)
    return str(error.value)


def _cli_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize(("text", "value"), [("-1", -1), ("abc", "abc")])
def test_run_the_cli_and_the_plugin_refuse_a_bad_seed_in_the_same_words(
    text: str, value: Any, pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str],
) -> None:
    words = _message(_validate.check_seed, value)
    with pytest.raises(InvalidArgument) as api:
        robustcheck.run(lambda batch: [0] * len(batch), ["a text"], seed=value)
    assert str(api.value) == words
    cli = _cli_error(["run", "--model", "m:f", "--data", "d.csv", "--seed", text], capsys)
    assert f"argument --seed: {words}" in cli
    pytester.makepyfile("def test_nothing(): pass")
    plugin = pytester.runpytest(f"--robustcheck-seed={text}")
    assert f"argument --robustcheck-seed: {words}" in plugin.stderr.str()


MARKED = """
import pytest

@pytest.mark.robustcheck({keywords})
def test_marked(robustcheck):
    pass
"""


@pytest.mark.parametrize(("name", "text", "value"), [
    ("max_flip_rat", "0.1", 0.1), ("max_flip_rate", "abc", "abc")])
def test_check_the_cli_and_the_plugin_refuse_a_bad_threshold_in_the_same_words(
    name: str, text: str, value: Any, text_result: robustcheck.RunResult,
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str],
) -> None:
    words = _message(lambda v: _validate.check_threshold(name, v), value)
    with pytest.raises(InvalidArgument) as api:
        text_result.check(**{name: value})
    assert str(api.value) == f"check: {words}"
    cli = _cli_error(["run", "--model", "m:f", "--data", "d.csv",
                      "--threshold", f"{name}={text}"], capsys)
    assert f"argument --threshold: {words}" in cli
    pytester.makepyfile("def test_nothing(): pass")
    option = pytester.runpytest(f"--robustcheck-threshold={name}={text}")
    assert f"argument --robustcheck-threshold: {words}" in option.stderr.str()
    pytester.makepyfile(test_marked=MARKED.format(keywords=f"{name}={value!r}"))
    marker = pytester.runpytest("test_marked.py")
    assert f"@pytest.mark.robustcheck: {words}" in marker.stdout.str()
