"""Verdicts that cannot lie: clean-pass crashes, unmeasured metrics, outages, dead
workers, timeouts, mismatched labels and hostile models (issue 10). Each test here
failed on the code before the fix it pins."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

# In-process pytester runs drop the modules a run imported; numpy cannot be imported
# twice in one process, so everything heavy is imported here, before any run.
import robustcheck
import robustcheck.comparison
import robustcheck.runner
from robustcheck import _calls
from robustcheck.errors import (
    InfrastructureError,
    InvalidArgument,
    RobustcheckWarning,
    RobustnessError,
)

pytest_plugins = ["pytester"]

TEXTS = [f"review number {i} is good" if i % 2 else f"review {i} was bad" for i in range(32)]
LABELS = [int("good" in t) for t in TEXTS]


def sentiment(texts: list[str]) -> list[int]:
    return [int("good" in t.lower()) for t in texts]


def run(model: Any, texts: list[str] = TEXTS, labels: Any = LABELS, **kwargs: Any) -> Any:
    kwargs.setdefault("perturbations", ["case.upper", "typo.keyboard"])
    kwargs.setdefault("severities", [1.0])
    kwargs.setdefault("progress", False)
    return robustcheck.run(model, texts, labels, **kwargs)


pytestmark = pytest.mark.usefixtures("quick_retries")


# -- clean-pass crashes are findings -----------------------------------------------------


def crashes_on_most(texts: list[str]) -> list[int]:
    if any(not t.endswith("7 is good") and "1" not in t for t in texts):
        raise ValueError("cannot score this review")
    return sentiment(texts)


def test_a_model_that_crashes_on_most_clean_inputs_does_not_score_100_or_pass_max_crash_rate():
    result = run(crashes_on_most)
    assert result.clean["answered"] < 16
    assert result.clean_crash_rate > 0.5
    assert result.score is not None and result.score < 50
    with pytest.raises(RobustnessError, match=r"clean  crash_rate 0\.\d+ \[.*\] > 0"):
        result.check(max_crash_rate=0)
    assert result.clean["passed"] is False


def test_the_clean_row_leads_the_table_with_its_crash_rate():
    lines = run(crashes_on_most).table().splitlines()
    assert lines[2].startswith("clean")
    assert "%" in lines[2]


def always_raises(texts: list[str]) -> list[int]:
    raise RuntimeError("model not loaded")


def test_a_model_that_answers_no_clean_input_fails_every_threshold_with_the_reason():
    result = run(always_raises)
    assert result.score == 0.0
    assert result.rows == []  # nothing to measure a perturbation against
    for threshold in ({"max_flip_rate": 0.5}, {"max_latency_ratio": 100.0},
                      {"max_crash_rate": 1.0}):
        with pytest.raises(RobustnessError, match=r"answered no clean input.*RuntimeError: "
                                                  "model not loaded"):
            result.check(**threshold)


def test_a_clean_crash_survives_the_json_round_trip(tmp_path):
    result = run(crashes_on_most)
    loaded = robustcheck.load(result.to_json(tmp_path / "r.json") and tmp_path / "r.json")
    assert loaded.clean_crash_rate == pytest.approx(result.clean_crash_rate)
    assert loaded.score == result.score
    with pytest.raises(RobustnessError, match="clean  crash_rate"):
        loaded.check(max_crash_rate=0)


def test_the_second_clean_pass_does_not_ask_again_what_crashed_in_the_first():
    calls: list[int] = []

    def counting(texts: list[str]) -> list[int]:
        calls.append(len(texts))
        return always_raises(texts)

    run(counting, batch_size=32)
    # the first pass isolates 32 failures (a few dozen calls); no second pass at all
    assert sum(calls) < 200
    assert sum(1 for c in calls if c == 32) == 1


# -- a metric that was not measured never passes -------------------------------------


def crashes_when_upper(texts: list[str]) -> list[int]:
    if any(t.isupper() for t in texts):
        raise ValueError("upper case")
    return sentiment(texts)


def test_a_flip_rate_that_could_not_be_measured_fails_and_says_why():
    result = run(crashes_when_upper, perturbations=["case.upper"])
    with pytest.raises(RobustnessError, match=r"flip_rate not measured: the model crashed on "
                                              r"all 32 changed inputs"):
        result.check(max_flip_rate=0.5)


def test_a_confidence_limit_on_a_model_without_scores_fails_as_not_measured():
    with pytest.raises(RobustnessError, match="confidence_drop not measured: the model "
                                              "reports no scores"):
        run(sentiment).check(max_confidence_drop=0.1)


def test_an_accuracy_limit_without_labels_fails_as_not_measured():
    with pytest.raises(RobustnessError, match="accuracy_drop not measured: no labels"):
        run(sentiment, labels=None).check(max_accuracy_drop=0.1)


def test_a_row_whose_perturbation_changed_nothing_is_not_applicable_not_failed():
    result = run(sentiment, perturbations=["case.upper", "contraction.expand"])
    result.check(max_flip_rate=0.5)
    expand = result["contraction.expand"][0]
    assert expand.metrics["coverage"].value == 0
    assert expand.passed is None


def test_a_check_where_no_perturbation_changed_anything_fails():
    result = run(sentiment, perturbations=["contraction.expand"])
    with pytest.raises(RobustnessError, match="nothing was measured"):
        result.check(max_flip_rate=0.5)


def test_the_failure_message_names_the_run_not_a_question_mark():
    result = run(crashes_when_upper, name="sentiment")
    with pytest.raises(RobustnessError, match=r"\(model sentiment, seed 0\)"):
        result.check(max_crash_rate=0)


# -- outages are not brittleness ----------------------------------------------------------


class Outage:
    """A remote model whose endpoint is down: every call raises a connection error."""

    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.calls = 0

    def __call__(self, texts: list[str]) -> list[int]:
        self.calls += 1
        raise self.error


@pytest.mark.parametrize("error", [
    InfrastructureError("endpoint down"),
    ConnectionRefusedError(111, "Connection refused"),
    ConnectionResetError(104, "Connection reset by peer"),
])
def test_an_outage_stops_the_run_incomplete_after_a_few_calls_without_scoring_crashes(error):
    model = Outage(error)
    result = run(model, batch_size=8)
    assert result.complete is False
    assert result.stopped["kind"] == "outage"
    assert type(error).__name__ in result.stopped["message"]
    assert model.calls == _calls.INFRA_RETRIES + 1  # a circuit breaker, not 1,628 calls
    assert result.crashes == []
    with pytest.raises(RobustnessError, match="incomplete"):
        result.check(max_flip_rate=1.0)


def test_an_outage_in_the_middle_keeps_the_finished_units():
    state = {"calls": 0}

    def dies_later(texts: list[str]) -> list[int]:
        state["calls"] += 1
        if state["calls"] > 6:  # two clean passes, three timing probes, the first unit
            raise ConnectionRefusedError(111, "Connection refused")
        return sentiment(texts)

    result = run(dies_later, perturbations=["case.upper", "case.lower", "typo.keyboard"])
    assert result.stopped["kind"] == "outage"
    # case.lower changes nothing here (no call); typo.keyboard meets the outage
    assert [r.perturbation for r in result.rows] == ["case.upper", "case.lower"]
    assert "2 of 3 units finished" in result.stopped["message"]
    assert result.to_dict()["stopped"] == result.stopped
    assert "INCOMPLETE, outage" in result.table()


def test_a_blip_is_retried_and_leaves_no_trace_in_the_result():
    state = {"calls": 0}

    def flaky(texts: list[str]) -> list[int]:
        state["calls"] += 1
        if state["calls"] in (2, 5):
            raise ConnectionResetError(104, "reset")
        return sentiment(texts)

    result = run(flaky)
    assert result.complete and result.stopped is None
    assert result.crashes == []
    assert result.clean_crash_rate == 0


def test_an_attack_against_an_endpoint_that_goes_down_stops_the_run():
    def down_after_clean(texts: list[str]) -> list[int]:
        if any(t != t.strip() or "review" not in t for t in texts) or len(texts) == 1:
            raise ConnectionRefusedError(111, "refused")
        return sentiment(texts)

    result = run(down_after_clean, perturbations=["attack.text"])
    assert result.stopped is not None and result.stopped["kind"] == "outage"


def test_ctrl_c_during_the_clean_pass_returns_an_incomplete_result(tmp_path):
    def interrupted(texts: list[str]) -> list[int]:
        raise KeyboardInterrupt

    result = run(interrupted)
    assert result.complete is False
    assert result.stopped["kind"] == "interrupted"
    assert "clean pass" in result.stopped["message"]
    assert result.crashes == []  # nothing was scored as a crash
    result.to_json(tmp_path / "partial.json")
    assert robustcheck.load(tmp_path / "partial.json").stopped == result.stopped


# -- process pools -------------------------------------------------------------------------


def aborts_on_upper(texts: list[str]) -> list[int]:
    if any(t.isupper() for t in texts):
        os.kill(os.getpid(), signal.SIGKILL)  # the worker dies as under an OOM kill
    return sentiment(texts)


def test_a_dead_worker_keeps_the_finished_units_and_names_the_cause():
    with ProcessPoolExecutor(max_workers=1) as pool:
        result = run(aborts_on_upper, perturbations=["case.lower", "case.upper", "case.title"],
                     executor=pool)
    assert result.complete is False
    assert result.stopped["kind"] == "worker"
    assert "BrokenProcessPool" in result.stopped["message"]
    assert "case.lower" in [r.perturbation for r in result.rows]


def test_an_unpicklable_model_with_a_process_pool_is_refused_before_any_call():
    calls = []

    def local_model(texts: list[str]) -> list[int]:
        calls.append(1)
        return sentiment(texts)

    with ProcessPoolExecutor(max_workers=1) as pool, \
            pytest.raises(InvalidArgument, match=r"cannot be sent there.*module level"):
        run(local_model, executor=pool)
    assert calls == []


def test_a_thread_pool_takes_an_unpicklable_model():
    with ThreadPoolExecutor(max_workers=2) as pool:
        result = run(lambda texts: sentiment(texts), executor=pool)
    assert result.complete


# -- timeouts ------------------------------------------------------------------------------


def test_a_timed_out_call_is_a_public_call_timeout_crash():
    release = threading.Event()

    def slow_on_upper(texts: list[str]) -> list[int]:
        if TEXTS[3].upper() in texts:
            release.wait(5)
        return sentiment(texts)

    try:
        result = run(slow_on_upper, perturbations=["case.upper"], timeout=0.01, batch_size=4)
    finally:
        release.set()
    kinds = {c["type"] for c in result.crashes}
    assert kinds == {"CallTimeout"}
    assert not hasattr(robustcheck.runner, "_CallTimeout")
    assert isinstance(robustcheck.CallTimeout("x"), TimeoutError)


def test_a_model_that_hangs_stops_the_run_instead_of_piling_up_threads(monkeypatch):
    monkeypatch.setattr(_calls, "HUNG_GRACE", 0.2)
    release = threading.Event()

    def hangs(texts: list[str]) -> list[int]:
        if any(t != t.lower() for t in texts):
            release.wait(20)
        return sentiment(texts)

    before = threading.active_count()
    started = time.perf_counter()
    try:
        # 5 ms per input: a hung batch of 32 is given up after 0.16 s, long enough for
        # the instant answers of the batches that do not hang
        result = run(hangs, perturbations=["case.upper", "case.title", "typo.keyboard"],
                     timeout=0.005, batch_size=32)
        alive = threading.active_count() - before
    finally:
        release.set()
    assert time.perf_counter() - started < 15
    assert alive <= _calls.MAX_HUNG_CALLS
    assert result.stopped is not None and result.stopped["kind"] == "hung"


def test_when_every_call_on_a_batch_times_out_the_batch_is_not_bisected_further():
    release = threading.Event()
    calls: list[int] = []

    def always_slow(texts: list[str]) -> list[int]:
        calls.append(len(texts))
        if any(t.isupper() for t in texts):
            release.wait(5)
        return sentiment(texts)

    try:
        result = run(always_slow, perturbations=["case.upper"], timeout=0.01, batch_size=32)
    finally:
        release.set()
    assert calls.count(16) == 2  # the unit's batch, its two halves, nothing below
    assert [c for c in calls if c < 16] == [1, 1, 1]  # only the clean timing probes
    assert result["case.upper"][0].metrics["crash_rate"].value == 1.0


# -- labels that cannot match -------------------------------------------------------------


def test_string_labels_against_integer_predictions_are_refused_with_the_fix():
    with pytest.raises(InvalidArgument, match=r"labels are str but the model answers int"):
        run(sentiment, labels=[str(x) for x in LABELS])


def test_a_probability_array_with_string_labels_says_to_name_the_classes():
    def probabilities(texts: list[str]) -> np.ndarray:
        good = np.array(sentiment(texts), dtype=float)
        return np.column_stack([1 - good, good])

    labels = ["pos" if x else "neg" for x in LABELS]
    with pytest.raises(InvalidArgument, match=r"CallableAdapter\(fn, classes="):
        run(probabilities, labels=labels)
    adapter = robustcheck.CallableAdapter(probabilities, classes=["neg", "pos"])
    assert run(adapter, labels=labels).clean["accuracy"]["value"] == 1.0


def test_label_values_the_model_never_answers_with_give_a_warning():
    labels = [*LABELS[:-1], 7]
    with pytest.warns(RobustcheckWarning, match=r"labels \{7\} never occur"):
        run(sentiment, labels=labels)


def test_matching_labels_give_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RobustcheckWarning)
        run(sentiment)


# -- hostile models --------------------------------------------------------------------------


def exits(texts: list[str]) -> list[int]:
    if any(t.isupper() for t in texts):
        sys.exit(3)
    return sentiment(texts)


def test_a_model_calling_sys_exit_is_a_crash_not_the_end_of_the_run():
    result = run(exits, perturbations=["case.upper"])
    assert {c["type"] for c in result.crashes} == {"SystemExit"}


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no")

    def __repr__(self) -> str:
        raise RuntimeError("no")


def test_an_exception_that_cannot_be_printed_is_still_recorded():
    def raises_unprintable(texts: list[str]) -> list[int]:
        if any(t.isupper() for t in texts):
            raise Unprintable()
        return sentiment(texts)

    result = run(raises_unprintable, perturbations=["case.upper"])
    assert result.crashes[0]["type"] == "Unprintable"
    assert "cannot be printed" in result.crashes[0]["message"]


def test_an_expect_function_that_cannot_work_is_refused_before_the_audit():
    def bad(clean: np.ndarray) -> np.ndarray:  # one argument: the call fails at once
        return clean

    with pytest.raises(InvalidArgument, match=r"expect\['case.upper'\] raised TypeError"):
        run(sentiment, expect={"case.upper": bad})


def test_an_expect_function_that_raises_mid_run_keeps_the_run_and_fails_the_check():
    def picky(clean: np.ndarray, perturbed: np.ndarray) -> np.ndarray:
        if (clean != perturbed).any():
            raise ValueError("cannot judge a change")
        return clean == perturbed

    result = run(sentiment, perturbations=["typo.keyboard"], expect={"typo.keyboard": picky},
                 severities=[0.25, 1.0])
    broken = [r for r in result.rows if "expect_error" in r.details]
    assert broken, "some row's answers changed, so the function raised"
    assert "cannot judge a change" in broken[0].details["expect_error"]
    with pytest.raises(RobustnessError, match="failure_rate not measured: expect"):
        result.check(max_failure_rate=0.5)


# -- the public surface ---------------------------------------------------------------------


def test_submodules_are_reachable_as_attributes_after_import_robustcheck():
    code = ("import robustcheck; print(robustcheck.adapters.HTTPAdapter.__name__, "
            "robustcheck.CallableAdapter.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["HTTPAdapter", "CallableAdapter"]


def test_stop_pickles_for_process_pools():
    stop = pickle.loads(pickle.dumps(_calls.Stop("hung", "why")))
    assert (stop.kind, stop.message) == ("hung", "why")


# -- the pytest plugin -----------------------------------------------------------------------

PLUGIN_MODEL = """
TEXTS = [f"text {i}" for i in range(32)]
LABELS = [i % 2 for i in range(32)]

def crashes_on_most(batch):
    if any(not t.endswith(("1", "3")) for t in batch):
        raise ValueError("cannot score")
    return [int(t[-1]) % 2 for t in batch]

def unreachable(batch):
    raise ConnectionRefusedError(111, "Connection refused")
"""


def test_the_marker_fails_a_test_whose_model_crashes_on_clean_inputs(pytester):
    pytester.makepyfile(model_lib=PLUGIN_MODEL)
    pytester.makepyfile(test_gate=textwrap.dedent("""
        import pytest
        from model_lib import TEXTS, LABELS, crashes_on_most

        @pytest.mark.robustcheck(max_crash_rate=0)
        def test_gate(robustcheck):
            robustcheck.run(crashes_on_most, TEXTS, LABELS, perturbations=["case.upper"],
                            name="sentiment")
    """))
    out = pytester.runpytest()
    out.assert_outcomes(failed=1)
    out.stdout.fnmatch_lines(["*(model sentiment, seed 0)*", "*clean  crash_rate 0.*> 0*"])


def test_an_outage_fails_the_test_even_without_a_threshold(pytester):
    pytester.makepyfile(model_lib=PLUGIN_MODEL)
    pytester.makepyfile(test_gate=textwrap.dedent("""
        from model_lib import TEXTS, LABELS, unreachable

        def test_runs(robustcheck):
            robustcheck.run(unreachable, TEXTS, LABELS, perturbations=["case.upper"])
    """))
    out = pytester.runpytest()  # in process: the quick retries above apply
    out.assert_outcomes(failed=1)
    out.stdout.fnmatch_lines(["*stopped early (outage: the model could not be reached*"])
