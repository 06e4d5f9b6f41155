"""The pytest plugin, driven through pytester in throw-away projects."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# In-process pytester runs drop the modules a run imported; numpy cannot be imported
# twice in one process, so everything heavy is imported here, before any run.
import robustcheck.comparison
import robustcheck.runner  # noqa: F401

pytest_plugins = ["pytester"]

MODEL = '''
POSITIVE = ("good", "great", "love", "nice", "fine")

def model_v1(batch):
    """Robust to case: lower-cases before looking for positive words."""
    return [int(any(w in t.lower() for w in POSITIVE)) for t in batch]

def model_v2(batch):
    """A regression: forgets to lower-case, so UPPER CASE input flips."""
    return [int(any(w in t for w in POSITIVE)) for t in batch]

TEXTS = [f"{a} {b}" for a in ("good food", "great staff", "love it", "bad food",
                                 "awful staff", "hate it", "nice room", "cold room")
         for b in ("today", "again", "honestly")]
LABELS = [int(t.split()[0] in POSITIVE) for t in TEXTS]
'''


def project(pytester: pytest.Pytester, test_body: str, model: str = "model_v1") -> None:
    pytester.makepyfile(model_lib=MODEL)
    header = f"import pytest\nfrom model_lib import TEXTS, LABELS, {model} as model\n\n"
    pytester.makepyfile(test_robust=header + textwrap.dedent(test_body))


BASIC = """
@pytest.mark.robustcheck(max_flip_rate=0.5)
def test_sentiment_is_robust(robustcheck):
    result = robustcheck.run(model, TEXTS, LABELS, perturbations=["case", "typo.swap"])
    assert result.n == len(TEXTS)
"""


def test_the_fixture_runs_and_the_summary_lists_each_perturbation(
    pytester: pytest.Pytester,
) -> None:
    project(pytester, BASIC)
    out = pytester.runpytest()
    out.assert_outcomes(passed=1)
    out.stdout.fnmatch_lines([
        "robustcheck: seed=0 severities=0.25,0.5,1*",
        "*= robustcheck =*",
        "test_robust.py::test_sentiment_is_robust [[]model[]]: score *",
        "*case.upper*failure*",
    ])


def test_the_seed_option_is_validated_and_printed(pytester: pytest.Pytester) -> None:
    project(pytester, BASIC)
    out = pytester.runpytest("--robustcheck-seed=7")
    out.stdout.fnmatch_lines(["robustcheck: seed=7 *--robustcheck-seed=7*"])
    bad = pytester.runpytest("--robustcheck-seed=abc")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*--robustcheck-seed*'abc' is not an integer seed*"])


def test_a_marker_threshold_that_is_exceeded_fails_the_test_with_a_table(
    pytester: pytest.Pytester,
) -> None:
    project(pytester, """
        @pytest.mark.robustcheck(max_flip_rate=0.0)
        def test_too_strict(robustcheck):
            robustcheck.run(model, TEXTS, LABELS, perturbations=["typo.swap"])
    """)
    out = pytester.runpytest()
    out.assert_outcomes(failed=1)
    out.stdout.fnmatch_lines(["*robustness check failed*", "*typo.swap@1*flip_rate*> 0*"])


def test_an_unknown_marker_keyword_is_rejected_at_setup(pytester: pytest.Pytester) -> None:
    project(pytester, """
        @pytest.mark.robustcheck(max_flip_rat=0.1)
        def test_typo(robustcheck):
            robustcheck.run(model, TEXTS, LABELS, perturbations=["case.upper"])
    """)
    out = pytester.runpytest()
    out.assert_outcomes(errors=1)
    out.stdout.fnmatch_lines(["*unknown threshold 'max_flip_rat' (did you mean max_flip_rate?)*"])


def test_a_marked_test_that_records_nothing_fails(pytester: pytest.Pytester) -> None:
    project(pytester, """
        @pytest.mark.robustcheck(max_flip_rate=0.1)
        def test_forgot(robustcheck):
            pass
    """)
    out = pytester.runpytest()
    out.assert_outcomes(failed=1)
    out.stdout.fnmatch_lines(["*recorded no result*"])


def test_session_thresholds_from_the_command_line_and_ini_apply_to_every_result(
    pytester: pytest.Pytester,
) -> None:
    project(pytester, """
        def test_unmarked(robustcheck):
            robustcheck.run(model, TEXTS, LABELS, perturbations=["typo.swap"])
    """)
    pytester.runpytest("--robustcheck-threshold=max_flip_rate=0").assert_outcomes(failed=1)
    pytester.makeini("[pytest]\nrobustcheck_thresholds =\n    max_flip_rate=0\n")
    pytester.runpytest().assert_outcomes(failed=1)
    bad = pytester.runpytest("--robustcheck-threshold=max_flop=1")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR


def test_json_and_report_are_written_once_for_the_session(pytester: pytest.Pytester) -> None:
    project(pytester, BASIC)
    out = pytester.runpytest("--robustcheck-json=out/session.json",
                             "--robustcheck-report=out/report.html")
    out.assert_outcomes(passed=1)
    data = json.loads((pytester.path / "out" / "session.json").read_text())
    assert data["kind"] == "robustcheck.session" and data["seed"] == 0
    assert [e["nodeid"] for e in data["results"]] == ["test_robust.py::test_sentiment_is_robust"]
    html = (pytester.path / "out" / "report.html").read_text()
    assert "<html" in html and "case.upper" in html
    out.stdout.fnmatch_lines(["robustcheck report: */out/report.html"])


def test_ini_keys_set_the_same_options(pytester: pytest.Pytester) -> None:
    project(pytester, BASIC)
    pytester.makeini("[pytest]\nrobustcheck_json = from_ini.json\nrobustcheck_seed = 3\n"
                     "robustcheck_severities = 0.5,1\n")
    out = pytester.runpytest()
    out.stdout.fnmatch_lines(["robustcheck: seed=3 severities=0.5,1 *"])
    data = json.loads((pytester.path / "from_ini.json").read_text())
    assert data["results"][0]["result"]["severities"] == [0.5, 1.0]


def test_a_regression_against_the_baseline_fails_the_session(pytester: pytest.Pytester) -> None:
    body = """
        def test_sentiment(robustcheck):
            robustcheck.run(model, TEXTS, LABELS, perturbations=["case.upper", "typo.swap"],
                            name="sentiment")
    """
    project(pytester, body, model="model_v1")
    pytester.runpytest("--robustcheck-json=v1.json").assert_outcomes(passed=1)
    same = pytester.runpytest("--robustcheck-baseline=v1.json")
    assert same.ret == pytest.ExitCode.OK
    project(pytester, body, model="model_v2")
    worse = pytester.runpytest("--robustcheck-baseline=v1.json")
    assert worse.ret == pytest.ExitCode.TESTS_FAILED
    worse.assert_outcomes(passed=1)  # the test itself passed: the session fails
    worse.stdout.fnmatch_lines(["*regressions against the baseline*",
                                "*case.upper*regression*"])


@pytest.mark.parametrize(("content", "message"), [
    (None, "no such file"),
    ("{not json", "not valid JSON"),
    ('{"kind": "other"}', "not a robustcheck session or run file"),
])
def test_a_missing_or_corrupt_baseline_is_a_usage_error(
    pytester: pytest.Pytester, content: str | None, message: str,
) -> None:
    project(pytester, BASIC)
    if content is not None:
        (pytester.path / "base.json").write_text(content)
    out = pytester.runpytest("--robustcheck-baseline=base.json")
    assert out.ret == pytest.ExitCode.USAGE_ERROR
    out.stderr.fnmatch_lines([f"*--robustcheck-baseline base.json: {message}*"])


@pytest.mark.slow  # a serial and an xdist session, each starting fresh interpreters
def test_xdist_workers_give_the_same_numbers_as_a_serial_run(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    project(pytester, """
        @pytest.mark.parametrize("family", ["case", "typo", "punctuation", "emoji"])
        def test_family(robustcheck, family):
            robustcheck.run(model, TEXTS, LABELS, perturbations=[family], name=family)
    """)
    serial = pytester.runpytest_subprocess("--robustcheck-json=serial.json", "-p", "no:randomly")
    serial.assert_outcomes(passed=4)
    parallel = pytester.runpytest_subprocess("-n", "2", "--robustcheck-json=parallel.json")
    parallel.assert_outcomes(passed=4)

    def numbers(name: str) -> list[object]:
        data = json.loads((pytester.path / name).read_text())
        return [(e["nodeid"], {k: v for k, v in e["result"].items() if k != "timings"})
                for e in data["results"]]

    assert numbers("parallel.json") == numbers("serial.json")
    assert len(numbers("serial.json")) == 4
    parallel.stdout.fnmatch_lines(["*= robustcheck =*"])


def test_loading_the_plugin_imports_nothing_heavy() -> None:
    code = ("import sys, pytest, robustcheck.plugin; "
            "print(sorted(m for m in ('numpy', 'pandas', 'nlpaug', 'jinja2', 'sklearn') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=Path(__file__).parent.parent)
    assert done.stdout.strip() == "[]"


@pytest.mark.slow  # a pytest session in a fresh interpreter
def test_a_pytest_session_that_does_not_use_robustcheck_stays_light(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_plain="""
        import sys
        def test_nothing_heavy_was_imported():
            heavy = [m for m in ('numpy', 'pandas', 'nlpaug', 'jinja2') if m in sys.modules]
            assert heavy == []
    """)
    pytester.runpytest_subprocess("-p", "no:xdist", "-p", "no:cacheprovider"
                                  ).assert_outcomes(passed=1)
