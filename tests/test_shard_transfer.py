"""What a shard sends back from a worker is compact (issue 17, sharded runs): flags as
bits, positions and class labels in the smallest integer dtype, per-input seconds as runs,
and nothing the caller can derive. A 50,000-text shard's result pickled to 1.9 MB; the
caller of a 100k-text sharded audit unpickled 531 MB of them, now 144 MB. Unpickled, every
array is the one the worker had: same values, same dtype, read-only."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import perturbations
from robustcheck._arrays import Compact
from robustcheck._calls import Answers
from robustcheck._outcomes import Crash, UnitOutcome
from robustcheck._prediction_data import Prediction
from robustcheck._units import combine, evaluate_part
from robustcheck.adapters import adapt
from robustcheck.modalities import TEXT, Dataset

DTYPES = st.sampled_from([np.bool_, np.int8, np.int32, np.int64, np.uint16, np.uint64,
                          np.float32, np.float64])


@st.composite
def arrays(draw: st.DrawFn) -> np.ndarray:
    dtype = np.dtype(draw(DTYPES))
    values = draw(hnp.arrays(dtype, draw(st.integers(0, 12))))
    # repeated in runs, as a call's per-input seconds are (NaN and -0.0 included)
    return np.repeat(values, draw(st.integers(1, 6)))


@given(arrays())
def test_a_compact_array_reads_back_bit_for_bit_with_its_dtype(array: np.ndarray) -> None:
    for kept in (Compact(array), pickle.loads(pickle.dumps(Compact(array)))):
        back = kept.array()
        assert back.dtype == array.dtype
        assert back.tobytes() == array.tobytes()
        assert not back.flags.writeable


def test_seconds_repeated_in_runs_are_kept_as_the_runs() -> None:
    seconds = np.repeat(np.array([0.0031, 0.0029, np.nan, -0.0]), 256)
    kept = Compact(seconds)
    assert kept.kind == "runs" and kept.nbytes == 4 * (8 + 8)
    assert Compact(np.random.default_rng(0).random(1000)).kind == "plain"  # no runs
    with pytest.raises(ValueError, match="1-d"):
        Compact(np.zeros((2, 2)))


def _part(start: int, n: int = 3000) -> Any:
    texts = [f"the room {i} was {'good' if i % 3 else 'bad'} and quiet" for i in range(n)]
    data = Dataset(texts, None, TEXT, "")
    model = adapt(lambda batch: [len(t) % 2 for t in batch])
    p = perturbations.get("typo.keyboard")
    return evaluate_part(model, data, p, 1.0, 0, 64, None, start, n)


def test_a_shard_s_result_pickles_in_about_a_dozen_bytes_per_changed_sample() -> None:
    # 8 for the key hash, 2 for the position (int16 here), 1 for the label, an eighth
    # for the flag; it took 49 (three int64 and three uint64 arrays, a bool array)
    part = _part(start=1000)  # positions 1000-2999
    changed = int(part.changed.sum())
    assert changed > 1500
    assert len(pickle.dumps(part)) <= 12 * changed + 2000


def test_a_shard_s_result_unpickled_decides_the_unit_as_sent() -> None:
    part = _part(start=0)  # the whole unit: combine takes parts from position 0
    back = pickle.loads(pickle.dumps(part))
    assert back.changed.dtype == bool and np.array_equal(back.changed, part.changed)
    got = back.answers
    assert got.positions.dtype == part.answers.positions.dtype
    assert got.seconds.tobytes() == part.answers.seconds.tobytes()
    assert got.prediction is not None and part.answers.prediction is not None
    assert got.prediction.labels.dtype == part.answers.prediction.labels.dtype
    sent = combine("typo.keyboard", 1.0, 0, [part], [])
    came = combine("typo.keyboard", 1.0, 0, [back], [])
    assert isinstance(sent, UnitOutcome) and isinstance(came, UnitOutcome)
    for name in ("changed", "crashed", "answered", "seconds"):
        assert np.array_equal(getattr(came, name), getattr(sent, name)), name
    assert came.prediction is not None and sent.prediction is not None
    assert np.array_equal(came.prediction.labels, sent.prediction.labels)


def test_a_prediction_unpickled_keeps_its_dtypes_and_stays_read_only() -> None:
    pred = Prediction(np.array([2, 0, 1, 1], dtype=np.int64),
                      scores=np.eye(3)[[2, 0, 1, 1]], classes=np.array([0, 1, 2]))
    back = pickle.loads(pickle.dumps(pred))
    for name in ("labels", "scores", "classes", "_columns"):
        a, b = getattr(pred, name), getattr(back, name)
        assert b.dtype == a.dtype and np.array_equal(a, b), name
        assert not b.flags.writeable, name
    words = pickle.loads(pickle.dumps(Prediction(np.array(["pos", "neg"], dtype=object))))
    assert words.labels.tolist() == ["pos", "neg"]


def test_answers_unpickled_are_the_answers_sent() -> None:
    answers = Answers(np.array([70_000, 5, 3], dtype=np.int64), Prediction(np.array([1, 0, 1])),
                      np.repeat(0.25, 3), [Crash(9, "ValueError", "x")], [(3, 0.75)], 4)
    back = pickle.loads(pickle.dumps(answers))
    assert back.positions.dtype == np.int64 and back.positions.tolist() == [70_000, 5, 3]
    assert back.seconds.tolist() == [0.25] * 3
    assert (back.crashes, back.calls, back.sent) == (answers.crashes, answers.calls, 4)
