"""robustcheck.run end to end: real models, real crashes, determinism, bad input."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import without_timings
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import robustcheck
from robustcheck.errors import InvalidArgument, ModalityError, ResultFileError, RobustnessError

POSITIVE = ["the food was great", "I love this place", "great staff and fast delivery",
            "lovely room, friendly people", "best pizza in town", "works perfectly, happy"]
NEGATIVE = ["terrible service, never again", "awful, cold food", "the worst delivery ever",
            "rude staff and a dirty room", "broken on arrival, sad", "slow and overpriced"]
TEXTS = [f"{t} {suffix}" for suffix in ("", "today", "again", "honestly")
         for t in POSITIVE + NEGATIVE]
LABELS = ([1] * 6 + [0] * 6) * 4


@pytest.fixture(scope="module")
def text_model() -> Any:
    return make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(TEXTS, LABELS)


# -- acceptance ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def cancer() -> tuple[pd.DataFrame, np.ndarray]:
    # 60 rows: a model that crashes on every row with a missing value is isolated row by
    # row, one call each, so the audit's cost grows with the rows
    data = load_breast_cancer(as_frame=True)
    frame = data.frame.sample(150, random_state=0).reset_index(drop=True)
    return frame.drop(columns=["target"]), frame["target"].to_numpy()


def test_a_model_that_crashes_on_missing_values_is_recorded_and_another_gets_metrics(
    cancer: tuple[pd.DataFrame, np.ndarray],
) -> None:
    x, y = cancer
    suite = ["missing.nan", "missing.sentinel", "noise.gaussian"]
    # scaled, a logistic regression converges in a few iterations; it still refuses NaN
    fragile = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)
    sturdy = HistGradientBoostingClassifier(max_iter=30).fit(x, y)
    # one severity: every row the fragile model gets with a missing value is a crash,
    # isolated with a call of its own, so each severity costs about a call per row
    fragile_result = robustcheck.run(fragile, x, y, perturbations=suite, seed=0,
                                     severities=[1.0])
    sturdy_result = robustcheck.run(sturdy, x, y, perturbations=suite, seed=0,
                                    severities=[1.0])
    for row in fragile_result["missing.nan"]:
        assert row.metrics["crash_rate"].value == 1.0
        assert row.metrics["coverage"].value > 0.9
    crash = next(c for c in fragile_result.crashes if c["perturbation"] == "missing.nan")
    assert crash["type"] == "ValueError" and "NaN" in crash["message"]
    assert fragile_result["noise.gaussian"][0].metrics["crash_rate"].value == 0.0
    for row in sturdy_result["missing.nan"]:
        assert row.metrics["crash_rate"].value == 0.0
        assert 0.0 <= row.metrics["flip_rate"].value <= 1.0
        assert row.metrics["accuracy_perturbed"].n == len(x)
    assert fragile_result.complete and sturdy_result.complete


def test_the_same_seed_gives_byte_identical_json_outside_timings(text_model: Any) -> None:
    first = robustcheck.run(text_model, TEXTS, LABELS, perturbations=["typo", "emoji"], seed=3)
    second = robustcheck.run(text_model, TEXTS, LABELS, perturbations=["typo", "emoji"], seed=3)
    assert without_timings(first) == without_timings(second)
    other = robustcheck.run(text_model, TEXTS, LABELS, perturbations=["typo", "emoji"], seed=4)
    assert without_timings(other) != without_timings(first)


def test_batch_size_does_not_change_any_number(text_model: Any) -> None:
    one = robustcheck.run(text_model, TEXTS, LABELS, perturbations=["typo.keyboard", "case"],
                          batch_size=1)
    many = robustcheck.run(text_model, TEXTS, LABELS, perturbations=["typo.keyboard", "case"],
                           batch_size=256)
    assert without_timings(one) == without_timings(many)


def test_a_thread_pool_executor_gives_the_in_process_result(text_model: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    local = robustcheck.run(text_model, TEXTS, LABELS, perturbations=["typo", "slang"])
    with ThreadPoolExecutor(2) as pool:
        pooled = robustcheck.run(text_model, TEXTS, LABELS, perturbations=["typo", "slang"],
                                 executor=pool)
    assert without_timings(local) == without_timings(pooled)


# -- crashes, timeouts, interrupts ---------------------------------------------------


class Recorder:
    """A text model that fails on some inputs and records every call."""

    def __init__(self, fail_on: str = "#", sleep_on: int | None = None) -> None:
        self.calls: list[int] = []
        self.fail_on, self.sleep_on = fail_on, sleep_on
        self.lock = threading.Lock()

    def __call__(self, batch: list[str]) -> list[int]:
        with self.lock:
            self.calls.append(len(batch))
        if any(self.fail_on in t for t in batch):
            raise RuntimeError(f"cannot parse {self.fail_on!r}")
        if self.sleep_on is not None and any(len(t) > self.sleep_on for t in batch):
            time.sleep(0.5)
        return [int("great" in t or "love" in t) for t in batch]


def test_a_failing_batch_is_split_until_the_failing_inputs_are_isolated() -> None:
    model = Recorder()
    result = robustcheck.run(model, TEXTS, perturbations=["chat.hashtag"], severities=[1.0],
                             batch_size=16)
    row = result["chat.hashtag"][0]
    assert row.metrics["crash_rate"].value == 1.0  # every changed text has a hashtag
    assert row.crashed.sum() == row.changed.sum()
    crash = next(c for c in result.crashes if c["perturbation"] == "chat.hashtag")
    assert crash["type"] == "RuntimeError" and "cannot parse" in crash["message"]
    assert min(model.calls) == 1  # bisected down to single inputs


def test_a_call_past_the_timeout_is_a_crash() -> None:
    model = Recorder(fail_on="\x00", sleep_on=200)
    result = robustcheck.run(model, TEXTS[:12], perturbations=["length.repeat"],
                             severities=[1.0], timeout=0.05, batch_size=4)
    row = result["length.repeat"][0]
    assert row.metrics["crash_rate"].value == 1.0
    crash = next(c for c in result.crashes if c["perturbation"] == "length.repeat")
    assert "no answer within" in crash["message"]


def test_ctrl_c_returns_the_partial_result_marked_incomplete() -> None:
    calls = {"n": 0}

    def model(batch: list[str]) -> list[int]:
        calls["n"] += 1
        if calls["n"] == 8:  # 2 clean passes + 3 timing probes + 2 units: the third unit
            raise KeyboardInterrupt
        return [0] * len(batch)

    result = robustcheck.run(model, TEXTS, perturbations=["case.upper", "case.lower",
                                                          "typo.swap"], severities=[1.0])
    assert not result.complete
    assert [r.perturbation for r in result.rows] == ["case.upper", "case.lower"]
    assert "INCOMPLETE" in result.table()


def test_a_model_that_disagrees_with_itself_is_reported() -> None:
    rng = np.random.default_rng(0)

    def coin(batch: list[str]) -> list[int]:
        return rng.integers(0, 2, len(batch)).tolist()

    result = robustcheck.run(coin, TEXTS, perturbations=["case.upper"])
    assert result.clean["self_disagreement"]["value"] > 0.2
    steady = robustcheck.run(Recorder(), TEXTS, perturbations=["case.upper"])
    assert steady.clean["self_disagreement"]["value"] == 0.0


def test_unchanged_and_duplicate_inputs_are_not_sent_to_the_model() -> None:
    model = Recorder(fail_on="\x00")
    texts = ["same text here"] * 20 + ["Emily went to Paris"] * 5
    result = robustcheck.run(model, texts, perturbations=["case.upper", "case.lower"],
                             severities=[1.0], batch_size=100)
    upper, lower = result["case.upper"][0], result["case.lower"][0]
    assert upper.model_calls == 2  # 25 changed inputs, two distinct texts
    assert lower.metrics["coverage"].value == pytest.approx(5 / 25)  # one text has capitals
    assert lower.model_calls == 1
    assert lower.to_dict()["calls_saved"] == 24
    assert sum(model.calls) == 25 * 2 + 3 + 2 + 1  # clean twice, probes, the two rows


# -- metrics and checks ----------------------------------------------------------------


def test_metrics_follow_their_definitions(text_model: Any) -> None:
    result = robustcheck.run(text_model, TEXTS, LABELS, perturbations=["typo.keyboard"],
                             severities=[1.0])
    row = result["typo.keyboard"][0]
    clean = robustcheck.results.unpack(result.clean["labels"])
    answered = row.changed & ~row.crashed
    flips = (row.labels != clean)[answered]
    assert row.metrics["flip_rate"].value == pytest.approx(flips.mean())
    truth = np.array([result.classes.index(v) for v in LABELS])
    drop = (clean == truth).mean() - (row.labels == truth).mean()
    assert row.metrics["accuracy_drop"].value == pytest.approx(drop)
    m = row.metrics["flip_rate"]
    assert m.low <= m.value <= m.high and m.n == answered.sum()


def test_check_raises_a_readable_table_and_passes_loose_thresholds(text_model: Any) -> None:
    result = robustcheck.run(text_model, TEXTS, LABELS, perturbations=["typo", "case"])
    with pytest.raises(RobustnessError) as err:
        result.check(max_flip_rate=0.0, max_confidence_drop=0.0)
    message = str(err.value)
    assert "robustness check failed" in message and "typo." in message
    assert isinstance(err.value, AssertionError)
    assert result.check(max_flip_rate=1.0, max_crash_rate=0.0, min_samples=0) is result
    assert all(r.passed for r in result.rows if r.metrics["coverage"].value > 0)
    strict_on_case = result.check(max_flip_rate=1.0, per={"case": {"max_flip_rate": 1.0}})
    assert strict_on_case.thresholds["per"] == {"case": {"max_flip_rate": 1.0}}
    with pytest.raises(InvalidArgument, match="max_flip_rate"):
        result.check(max_flip_rates=0.1)


def test_a_custom_expectation_scores_a_directional_test(text_model: Any) -> None:
    result = robustcheck.run(
        text_model, TEXTS, LABELS, perturbations=["negation.clause", "case.upper"],
        expect={"case.upper": lambda clean, pert: pert == clean},
    )
    negation = result["negation.clause"][0]
    assert negation.expectation == "directional"
    assert "accuracy_drop" not in negation.metrics
    assert result["case.upper"][0].expectation == "custom"


def test_regression_models_get_value_metrics() -> None:
    data = load_diabetes(as_frame=True)
    x, y = data.data.iloc[:120], data.target.iloc[:120].to_numpy()
    result = robustcheck.run(Ridge().fit(x, y), x, y, perturbations=["noise.gaussian"])
    assert result.task == "regression"
    rows = result["noise.gaussian"]
    changes = [r.metrics["mean_abs_change"].value for r in rows]
    assert changes == sorted(changes) and changes[0] > 0
    assert "error_increase" in rows[0].metrics


# -- files -------------------------------------------------------------------------------


def test_a_result_survives_a_json_round_trip(tmp_path: Any, text_model: Any) -> None:
    result = robustcheck.run(text_model, TEXTS, LABELS, perturbations=["typo.swap"])
    path = result.to_json(tmp_path / "out" / "result.json")
    loaded = robustcheck.load(tmp_path / "out" / "result.json")
    assert loaded.to_json() == path
    assert loaded.table() == result.table()
    assert np.array_equal(loaded["typo.swap"][0].changed, result["typo.swap"][0].changed)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("{not json", "not valid JSON"),
        ('{"kind": "something else"}', "not a robustcheck run result"),
        ('{"kind": "robustcheck.run", "schema_version": 99}', "schema_version 99"),
        ('{"kind": "robustcheck.run", "schema_version": 1}', "damaged"),
    ],
)
def test_a_missing_or_corrupt_file_gives_a_clear_error(tmp_path: Any, content: str | None,
                                                       message: str) -> None:
    path = tmp_path / "result.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ResultFileError, match=message) as err:
        robustcheck.load(path)
    assert str(path) in str(err.value)


def test_failures_export_every_failing_case(tmp_path: Any, text_model: Any) -> None:
    result = robustcheck.run(text_model, TEXTS, LABELS, perturbations=["typo"],
                             severities=[1.0])
    failures = result.failures()
    assert len(failures) == sum(int(r.failed.sum()) for r in result.rows)
    for case in failures:
        assert case["input"] != case["perturbed"]
        assert text_model.predict([case["perturbed"]])[0] == case["predicted"]
    assert len(failures.to_frame()) == len(failures)
    lines = (failures.to_jsonl(tmp_path / "f.jsonl")).read_text().splitlines()
    assert len(lines) == len(failures)
    loaded = robustcheck.load(result.to_json(tmp_path / "r.json") and tmp_path / "r.json")
    with pytest.raises(InvalidArgument, match="needs the data"):
        loaded.failures()
    assert len(loaded.failures(TEXTS, LABELS)) == len(failures)


def test_nothing_the_user_passed_is_modified(cancer: tuple[pd.DataFrame, np.ndarray]) -> None:
    x, y = cancer
    frame = x.assign(label=y)
    before = frame.copy(deep=True)
    model = HistGradientBoostingClassifier(max_iter=10).fit(x, y)
    robustcheck.run(model, frame, "label", perturbations=["missing.nan", "schema"])
    pd.testing.assert_frame_equal(frame, before)
    texts = list(TEXTS)
    robustcheck.run(Recorder(fail_on="\x00"), texts, perturbations=["typo"])
    assert texts == TEXTS


def test_progress_is_reported_to_a_callback(text_model: Any) -> None:
    seen: list[tuple[int, int, str]] = []
    robustcheck.run(text_model, TEXTS, perturbations=["case.upper", "case.lower"],
                    severities=[0.5, 1.0], progress=lambda *a: seen.append(a))
    assert [s[:2] for s in seen] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert seen[0][2] == "case.upper@0.5"


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"inputs": []}, InvalidArgument, "inputs is empty"),
        ({"labels": [1, 0]}, InvalidArgument, "labels has 2 entries for 48 inputs"),
        ({"perturbations": ["typo.keybord"]}, InvalidArgument, "typo.keyboard"),
        ({"perturbations": ["missing.nan"]}, ModalityError, "not text perturbations"),
        ({"batch_size": -1}, InvalidArgument, "batch_size must be a positive integer"),
        ({"model": 42}, InvalidArgument, "model"),
        ({"model": None}, InvalidArgument, "model is None"),
        ({"severities": [0, 2]}, InvalidArgument, "severities must be numbers in"),
        ({"seed": -3}, InvalidArgument, "seed must be a non-negative integer"),
        ({"timeout": 0}, InvalidArgument, "timeout must be a positive number"),
        ({"inputs": ["ok", None]}, InvalidArgument, r"inputs\[1\] is None"),
        ({"inputs": "one string"}, InvalidArgument, "single string"),
        ({"labels": "label"}, InvalidArgument, "names a column"),
        ({"expect": {"nope": "invariant"}}, InvalidArgument, "expect names 'nope'"),
        ({"executor": object()}, InvalidArgument, "executor must be"),
    ],
)
def test_bad_input_is_a_clear_error_naming_the_argument(
    kwargs: dict[str, Any], error: type[Exception], message: str, text_model: Any,
) -> None:
    call = {"model": text_model, "inputs": TEXTS, "labels": LABELS,
            "perturbations": ["case.upper"], **kwargs}
    model, inputs, labels = call.pop("model"), call.pop("inputs"), call.pop("labels")
    with pytest.raises(error, match=message):
        robustcheck.run(model, inputs, labels, **call)


def test_a_missing_label_column_lists_the_columns(cancer: tuple[pd.DataFrame, np.ndarray]
                                                  ) -> None:
    x, _ = cancer
    with pytest.raises(InvalidArgument, match="not a column of inputs"):
        robustcheck.run(lambda b: [0] * len(b), x, "target", perturbations="tabular")


@pytest.mark.parametrize(("bad_every", "most_calls"), [(1, 300), (50, 80), (256, 20)])
def test_isolating_failures_costs_few_calls_whether_they_are_dense_or_sparse(
    bad_every: int, most_calls: int,
) -> None:
    from robustcheck.adapters import adapt
    from robustcheck.modalities import make_dataset
    from robustcheck.runner import predict_isolating

    calls = []

    def model(batch: list[str]) -> list[int]:
        calls.append(len(batch))
        if any(int(t.split()[1]) % bad_every == 0 for t in batch):
            raise ValueError("bad input")
        return [0] * len(batch)

    data = make_dataset([f"text {i}" for i in range(1, 257)], None)
    got = predict_isolating(adapt(model), data, np.arange(256), 256, None)
    assert sorted(c.position + 1 for c in got.crashes) == list(range(bad_every, 257, bad_every))
    assert len(got.positions) == 256 - 256 // bad_every
    assert len(calls) <= most_calls
