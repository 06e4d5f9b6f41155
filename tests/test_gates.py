"""Gates that are not coin tosses (issue "Findings you can trust"): ``min_samples`` makes a
row measured on too few samples insufficient data, and ``gate="interval"`` fails a row
only when its whole interval is above the limit."""

from __future__ import annotations

import json
import textwrap

import pytest

# In-process pytester runs drop the modules a run imported; numpy cannot be imported
# twice in one process, so everything heavy is imported here, before any run.
import robustcheck
import robustcheck.comparison
import robustcheck.runner
from robustcheck.errors import InvalidArgument, RobustnessError

pytest_plugins = ["pytester"]


def flips_on(marker: str):
    """A model whose label flips on inputs containing ``marker`` (upper-cased words)."""
    def model(texts: list[str]) -> list[int]:
        return [int(marker in t) for t in texts]
    return model


def run(texts: list[str], model=None, **kwargs):
    kwargs.setdefault("perturbations", ["case.upper"])
    kwargs.setdefault("severities", [1.0])
    kwargs.setdefault("progress", False)
    return robustcheck.run(model or flips_on("GOOD"), texts, None, **kwargs)


# 1 flip in 7 changed inputs: 14.3%, Wilson interval 2.6% to 51.3%
SEVEN = ["good one", *[f"fine {i}" for i in range(6)]]
# 10 flips in 40: 25%, interval 14.2% to 40.2%
FORTY = [*(f"good {i}" for i in range(10)), *(f"fine {i}" for i in range(30))]


def test_a_row_on_fewer_than_min_samples_is_insufficient_data_not_a_failure():
    result = run(SEVEN)
    row = result.rows[0]
    assert row.metrics["flip_rate"].n == 7
    with pytest.raises(RobustnessError, match="insufficient data"):
        result.check(max_flip_rate=0.1)  # the only row is undecided: the check cannot pass
    assert row.passed is None and row.violations == []
    assert "on 7 samples, fewer than min_samples=20" in row.insufficient[0]
    assert "few" in result.table().splitlines()[-1]
    assert json.loads(result.to_json())["rows"][0]["insufficient"] == row.insufficient


def test_min_samples_zero_decides_every_row():
    result = run(SEVEN)
    with pytest.raises(RobustnessError, match=r"flip_rate 0\.143 \[0\.026, 0\.513\] > 0\.1"):
        result.check(max_flip_rate=0.1, min_samples=0)


def test_an_insufficient_row_does_not_hide_a_failing_one():
    result = run(SEVEN + FORTY, perturbations=["case.upper", "contraction.expand"])
    with pytest.raises(RobustnessError, match=r"flip_rate 0\.2"):
        result.check(max_flip_rate=0.1)


def test_an_observed_crash_fails_max_crash_rate_zero_whatever_n():
    def crashes_on_upper(texts: list[str]) -> list[int]:
        if any(t.isupper() for t in texts):
            raise ValueError("upper")
        return [0] * len(texts)

    result = run(SEVEN, crashes_on_upper, batch_size=1)
    with pytest.raises(RobustnessError, match=r"crash_rate 1\.000"):
        result.check(max_crash_rate=0)


def test_the_interval_gate_fails_only_when_the_whole_interval_is_above_the_limit():
    result = run(FORTY)
    with pytest.raises(RobustnessError, match=r"flip_rate 0\.250 \[0\.142, 0\.402\] > 0\.2"):
        result.check(max_flip_rate=0.2)  # point gate: 25% > 20%
    result.check(max_flip_rate=0.2, gate="interval")  # 14.2% is below 20%: not proven
    with pytest.raises(RobustnessError, match=r"whole interval > 0\.1"):
        result.check(max_flip_rate=0.1, gate="interval")  # 14.2% > 10%: proven
    assert result.thresholds["gate"] == "interval"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"gate": "strict"}, "gate must be 'point' or 'interval'"),
    ({"gate": "intervals"}, "did you mean 'interval'"),
    ({"min_samples": -1}, "min_samples must be a whole number >= 0"),
    ({"min_samples": 2.5}, "min_samples must be a whole number >= 0"),
])
def test_bad_gate_arguments_are_refused(kwargs, message):
    with pytest.raises(InvalidArgument, match=message):
        run(FORTY).check(max_flip_rate=0.5, **kwargs)


def test_the_plugin_takes_the_gate_from_the_command_line_ini_and_marker(pytester):
    pytester.makepyfile(test_gate=textwrap.dedent(f"""
        import pytest

        TEXTS = {FORTY!r}

        def model(texts):
            return [int("GOOD" in t) for t in texts]

        @pytest.mark.robustcheck(max_flip_rate=0.2)
        def test_point_or_interval(robustcheck):
            robustcheck.run(model, TEXTS, perturbations=["case.upper"], severities=[1.0])

        @pytest.mark.robustcheck(max_flip_rate=0.2, gate="interval")
        def test_marker_interval(robustcheck):
            robustcheck.run(model, TEXTS, perturbations=["case.upper"], severities=[1.0])

        @pytest.mark.robustcheck(max_flip_rate=0.2, min_samples=50)
        def test_marker_min_samples(robustcheck):
            robustcheck.run(model, TEXTS, perturbations=["case.upper"], severities=[1.0])
    """))
    # in process, as the plugin's other pytester tests: four fresh interpreters cost
    # seconds each and test nothing more
    point = pytester.runpytest()
    point.assert_outcomes(passed=1, failed=2)  # only the marker's interval gate passes
    interval = pytester.runpytest("--robustcheck-gate=interval")
    interval.assert_outcomes(passed=2, failed=1)
    pytester.makeini("[pytest]\nrobustcheck_gate = interval\n")
    pytester.runpytest().assert_outcomes(passed=2, failed=1)
    bad = pytester.runpytest("--robustcheck-gate=loose")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR


def test_the_command_line_takes_the_same_gate_options(capsys):
    from robustcheck.cli import build_parser, main

    args = build_parser().parse_args(["run", "--model", "m:f", "--data", "d.csv",
                                      "--gate", "interval", "--min-samples", "5"])
    assert (args.robustcheck_gate, args.robustcheck_min_samples) == ("interval", 5)
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--model", "m:f", "--data", "d.csv", "--gate", "loose"])
    assert exit_.value.code == 2
    assert "gate must be 'point' or 'interval'" in capsys.readouterr().err


def test_the_report_shows_insufficient_rows_as_such_and_links_the_study(tmp_path):
    result = run(SEVEN, perturbations=["case.upper", "typo.keyboard"])
    with pytest.raises(RobustnessError):
        result.check(max_flip_rate=0.1)
    html = result.to_html(tmp_path / "r.html").read_text("utf-8")
    assert 'class="status insufficient">insufficient data</span>' in html
    assert "insufficient data</span>" in html.split("Checks", 1)[1]
    assert "fewer than min_samples=20" in html
    assert "Validity study: label kept in 30 of 30 judged pairs" in html
