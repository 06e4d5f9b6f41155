"""Systematic crashes (issue: scale, item 0): a big unit on which the model raises one
exception on a dense share of its inputs (20% or more) is measured on a seeded sample of
probes; the other changed inputs are *not evaluated*, never counted as crashes, and pair
with nothing in a comparison."""

from __future__ import annotations

import json

import numpy as np
import pytest

import robustcheck
from robustcheck import _systematic
from robustcheck.comparison import compare

WORDS = ["room", "staff", "view", "food", "pool", "bar", "bed", "desk", "lift", "spa"]
TEXTS = [f"the {WORDS[i % 10]} was {WORDS[(i // 10) % 10]} number {i}" for i in range(1000)]
LABELS = [int(len(t) % 2) for t in TEXTS]


def strict(batch: list[str]) -> list[int]:
    """Refuses capitals, like a model behind a lower-casing contract."""
    for text in batch:
        if text != text.lower():
            raise ValueError(f"not lower case: {text[:12]!r}")
    return [int(len(t) % 2) for t in batch]


def tolerant(batch: list[str]) -> list[int]:
    return [int(len(t.lower()) % 2) for t in batch]


def audit(model, *, batch_size: int = 64, perturbations=("case.upper",), seed: int = 0):
    return robustcheck.run(model, TEXTS, LABELS, perturbations=list(perturbations),
                           severities=[1.0], seed=seed, batch_size=batch_size,
                           progress=False, name=getattr(model, "__name__", "model"))


@pytest.fixture(scope="module")
def systematic() -> robustcheck.RunResult:
    return audit(strict)


def test_a_unit_that_crashes_on_every_input_is_measured_on_the_probes(systematic):
    row = systematic["case.upper"][0]
    found = row.details["systematic"]
    assert found["type"] == "ValueError" and found["pattern"] == "not lower case: '…'"
    assert (found["probes"], found["crashes"]) == (_systematic.PROBES, _systematic.PROBES)
    assert found["inputs"] == 1000 and found["unasked"] == 1000 - _systematic.PROBES
    assert row.model_calls == _systematic.PROBES
    assert row.evaluated is not None and int((row.changed & row.evaluated).sum()) == 300
    # the unasked inputs are in the coverage, never among the crashes
    assert row.metrics["coverage"].value == 1.0
    assert int(row.crashed.sum()) == 300 and not (row.crashed & ~row.evaluated).any()
    crash = row.metrics["crash_rate"]
    assert (crash.value, crash.n) == (1.0, 300) and 0.98 < crash.low < 1.0
    assert row.metrics["failure_rate"].n == 300


def test_the_probes_and_the_result_do_not_depend_on_the_batch_size(systematic):
    other = audit(strict, batch_size=7)
    a, b = systematic.to_dict(), other.to_dict()
    for d in (a, b):
        d.pop("timings")
        d["environment"].pop("batch_size", None)
    assert json.dumps(a["rows"], sort_keys=True) == json.dumps(b["rows"], sort_keys=True)


def test_the_probes_change_with_the_seed(systematic):
    other = audit(strict, seed=1)
    assert not np.array_equal(systematic.rows[0].evaluated, other.rows[0].evaluated)


def dense_but_mixed(batch: list[str]) -> list[int]:
    for text in batch:
        if text != text.lower():
            raise (TypeError if len(text) % 2 else ValueError)("no capitals")
    return tolerant(batch)


def sparse(batch: list[str]) -> list[int]:
    for text in batch:
        if text != text.lower() and int(text.split()[-1]) % 10 == 0:
            raise ValueError(f"one in ten: {text!r}")
    return tolerant(batch)


def half(batch: list[str]) -> list[int]:
    for text in batch:
        if text != text.lower() and len(text) % 2:
            raise ValueError(f"odd and loud: {text!r}")
    return tolerant(batch)


@pytest.mark.parametrize("model", [dense_but_mixed, sparse], ids=["two exceptions", "sparse"])
def test_crashes_that_are_not_one_dense_exception_are_all_evaluated(model):
    row = audit(model)["case.upper"][0]
    assert row.evaluated is None and "systematic" not in row.details
    assert row.model_calls == 1000
    expected = sum(1 for i, t in enumerate(TEXTS)
                   if model is dense_but_mixed or i % 10 == 0)
    assert int(row.crashed.sum()) == expected


def test_one_exception_on_half_the_inputs_is_measured_on_the_probes():
    # dense enough that isolating every crash would cost a call per crash
    row = audit(half)["case.upper"][0]
    assert row.details["systematic"]["probes"] == _systematic.PROBES
    assert row.model_calls == _systematic.PROBES
    truth = sum(len(t) % 2 for t in TEXTS) / len(TEXTS)
    crash = row.metrics["crash_rate"]
    assert crash.n == _systematic.PROBES and crash.low <= truth <= crash.high
    assert 0.3 < crash.value < 0.7
    # the probes that answered are measured as usual; the unasked inputs are in no rate
    answered = row.changed & row.evaluated & ~row.crashed
    assert int(answered.sum()) == _systematic.PROBES - int(row.crashed.sum()) > 100


def test_a_small_unit_is_never_probed():
    small = robustcheck.run(strict, TEXTS[:_systematic.PROBES], LABELS[:_systematic.PROBES],
                            perturbations=["case.upper"], severities=[1.0], progress=False)
    row = small.rows[0]
    assert row.evaluated is None and int(row.crashed.sum()) == _systematic.PROBES


def test_the_unasked_inputs_survive_json_and_pair_with_nothing(systematic, tmp_path):
    systematic.to_json(tmp_path / "a.json")
    loaded = robustcheck.load(tmp_path / "a.json")
    row = loaded["case.upper"][0]
    assert np.array_equal(row.evaluated, systematic["case.upper"][0].evaluated)
    assert row.details == systematic["case.upper"][0].details
    fixed = audit(tolerant)
    found = compare(loaded, fixed).rows[0]["metrics"]["failure_rate"]
    assert found["paired_n"] == 300
    assert found["discordant"] == [300, 0]  # failed under A and not B: every probe


def test_the_finding_says_the_crash_is_systematic(systematic):
    from robustcheck._findings import findings

    first = findings(systematic)[0]
    assert first.perturbation == "case.upper" and first.level == "major"
    assert first.sentence.endswith("(a systematic crash: measured on 300 probes of 1000 "
                                   "distinct inputs, the rest not asked).")


def test_cases_lists_only_the_probes_of_a_systematic_crash(systematic):
    cases = systematic.cases()
    assert len(cases) == 300  # the unasked inputs were never shown to the model
    assert cases["crashed"].all() and cases["predicted"].isna().all()
    evaluated = systematic["case.upper"][0].evaluated
    assert set(cases["index"]) == set(np.flatnonzero(evaluated).tolist())


def test_a_pilot_below_the_threshold_still_grows_to_the_probes_when_it_is_not_sparse():
    # about 28% of the shouted inputs crash: a systematic crash. With seed 11 the 40 of
    # the pilot hold only 6 of them (15%): under a bare 20% of the pilot, the unit
    # isolated every crash one by one; 6 of 40 cannot rule out 20%, so the probes go on
    # and the unit is measured on them
    import zlib

    def refused(text: str) -> bool:
        return text != text.lower() and zlib.crc32(text.encode()) % 100 < 28

    calls: list[list[str]] = []

    def model(batch: list[str]) -> list[int]:
        calls.append(list(batch))
        for text in batch:
            if refused(text):
                raise ValueError(f"refused: {text!r}")
        return [len(t) % 2 for t in batch]

    row = robustcheck.run(model, TEXTS, LABELS, perturbations=["case.upper"],
                          severities=[1.0], seed=11, batch_size=64, progress=False).rows[0]
    pilot = next(c for c in calls if c[0] != c[0].lower())
    assert len(pilot) == _systematic.PILOT
    assert sum(map(refused, pilot)) == 6 < _systematic.DENSE * _systematic.PILOT
    assert row.details["systematic"]["probes"] == _systematic.PROBES
    assert row.model_calls == _systematic.PROBES
    assert int(row.crashed.sum()) >= _systematic.DENSE * _systematic.PROBES


def test_crashes_are_dense_when_the_probes_cannot_rule_out_a_fifth():
    # the upper end of the 95% Wilson interval reaches 20%: 4 of a 40-input pilot, 47 of
    # the 300 probes (15.7%); a unit that sparse is still cheaper to probe than to isolate
    assert next(k for k in range(41) if _systematic.dense(k, 40)) == 4
    assert next(k for k in range(301) if _systematic.dense(k, 300)) == 47
    assert not _systematic.dense(0, 0)


def test_probes_a_little_under_a_fifth_still_make_a_systematic_crash():
    # 16.4% of the shouted inputs crash; with seed 1, 56 of the 300 probes (18.7%): not
    # a bare 20%, but an interval that reaches it, so the unit is measured on its probes
    # instead of isolating 164 crashes one by one
    import zlib

    def model(batch: list[str]) -> list[int]:
        for text in batch:
            if text != text.lower() and zlib.crc32(text.encode()) % 100 < 18:
                raise ValueError(f"refused: {text!r}")
        return [len(t) % 2 for t in batch]

    row = robustcheck.run(model, TEXTS, LABELS, perturbations=["case.upper"],
                          severities=[1.0], seed=1, batch_size=64, progress=False).rows[0]
    assert row.details["systematic"]["crashes"] == 56 < 0.2 * _systematic.PROBES
    crash = row.metrics["crash_rate"]
    assert crash.n == _systematic.PROBES and crash.low <= 0.164 <= crash.high
