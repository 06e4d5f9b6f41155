"""Hypothesis integration: perturbed-input strategies and minimal counterexamples."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase, InMemoryExampleDatabase

import perturbations
import robustcheck
from robustcheck.attack import Edit, apply_edits, word_spans
from robustcheck.errors import InvalidArgument
from robustcheck.strategies import Counterexample, char_edits, minimal_failure, perturbed

TEXT = "the staff were lovely and the food was great"
FAST = settings(max_examples=40, deadline=None, database=None)


class Counting(robustcheck.Adapter):
    """Counts the inputs sent to a label-only keyword model."""

    def __init__(self, keywords: set[str]) -> None:
        self.keywords = keywords
        self.inputs = 0

    def predict(self, inputs: Sequence[Any]) -> robustcheck.Prediction:
        self.inputs += len(inputs)
        return robustcheck.Prediction(labels=np.array(
            ["pos" if self.keywords & set(t.split()) else "neg" for t in inputs]))


# -- perturbed ------------------------------------------------------------------------


@FAST
@given(perturbed(TEXT, family="typo"))
def test_perturbed_draws_strings_of_the_family(variant: str) -> None:
    assert isinstance(variant, str)
    assert len(word_spans(variant)) >= len(word_spans(TEXT)) - 1


def test_perturbed_variants_differ_from_the_input_and_from_each_other() -> None:
    strategy = perturbed(TEXT, names=["typo.keyboard", "case.upper"])
    assert find(strategy, lambda v: v != TEXT) != TEXT
    assert find(strategy, lambda v: v == TEXT.upper()) == TEXT.upper()
    assert find(strategy, lambda v: v not in (TEXT, TEXT.upper())).islower()


def test_perturbed_applies_the_drawn_perturbation_severity_and_seed() -> None:
    severities = st.just(0.5)
    seeds = st.just(7)
    drawn = find(perturbed(TEXT, names="typo.swap", severities=severities, seeds=seeds),
                 lambda v: True)
    assert drawn == perturbations.get("typo.swap")(TEXT, severity=0.5, seed=7)


def test_perturbed_works_on_a_row_of_a_data_frame() -> None:
    frame = pd.DataFrame({"age": [30.0, 40.0, 50.0, 60.0], "city": ["a", "b", "a", "c"]})
    row = frame.iloc[[1]]
    blank = find(perturbed(row, names="missing.nan", reference=frame),
                 lambda v: v.isna().any().any())
    assert isinstance(blank, pd.DataFrame) and len(blank) == 1
    noisy = find(perturbed(row, names="noise.gaussian", reference=frame),
                 lambda v: v["age"].iloc[0] != 40.0)
    assert abs(noisy["age"].iloc[0] - 40.0) < 3 * frame["age"].std()
    assert frame["age"].tolist() == [30.0, 40.0, 50.0, 60.0]  # the input is untouched


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"family": "typo", "names": ["typo.swap"]}, "family or names, not both"),
    ({"severities": 0.5}, "severities must be a Hypothesis strategy"),
    ({"names": ["missing.nan"]}, "not text perturbations"),
])
def test_perturbed_refuses_bad_arguments(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidArgument, match=match):
        perturbed(TEXT, **kwargs)


# -- char_edits -------------------------------------------------------------------------


@FAST
@given(char_edits(TEXT, max_size=4))
def test_every_drawn_edit_list_and_its_sub_lists_apply(edits: list[Any]) -> None:
    assert 1 <= len(edits) <= 4
    assert len({e.word for e in edits}) == len(edits)
    full = apply_edits(TEXT, edits)
    assert full != TEXT
    for k in range(len(edits)):
        assert apply_edits(TEXT, edits[:k] + edits[k + 1:]) != full


# -- minimal_failure ----------------------------------------------------------------------


def test_the_counterexample_of_a_keyword_model_edits_exactly_the_keywords() -> None:
    model = Counting({"lovely", "great"})
    found = minimal_failure(model, TEXT, max_examples=200, seed=0)
    assert isinstance(found, Counterexample)
    words = [TEXT[s:e] for s, e in word_spans(TEXT)]
    assert sorted(words[e.word] for e in found.edits) == ["great", "lovely"]
    assert found.clean_label == "pos" and found.label == "neg"
    assert found.confidence_drop is None  # label-only model
    assert model.predict([found.perturbed]).labels[0] == "neg"


def assert_one_minimal(model: Any, found: Counterexample) -> None:
    """Removing any single edit restores the clean label."""
    assert model.predict([found.perturbed])[0] == found.label != found.clean_label
    for e in found.edits:
        rest = [f for f in found.edits if f != e]
        assert model.predict([apply_edits(found.original, rest)])[0] == found.clean_label


def test_counterexamples_on_the_demo_word_model_are_minimal(word_model: Any) -> None:
    from robustcheck.demo import validation_split

    _, _, texts, _ = validation_split()
    found = [minimal_failure(word_model, t, max_examples=60, seed=0) for t in texts[:4]]
    assert sum(f is not None for f in found) >= 2
    for f in found:
        if f is not None:
            assert_one_minimal(word_model, f)
            assert f.confidence_drop is not None and f.confidence_drop > 0
            assert 1 <= len(f.edits) <= 5


def test_an_edit_the_failure_does_not_need_is_dropped_before_returning() -> None:
    from robustcheck.strategies import _one_minimal

    model = Counting({"great"})
    text = "great food"
    edits = [Edit(0, 0, "delete", ""), Edit(1, 0, "delete", "")]  # only "great" matters

    def answer(chosen: list[Edit]) -> tuple[str, float]:
        return model.predict([apply_edits(text, chosen)]).labels[0], float("nan")

    assert _one_minimal(edits, answer, "pos") == [Edit(0, 0, "delete", "")]


def test_the_model_is_not_line_traced_after_the_first_failure() -> None:
    # Hypothesis's explain phase traces every line run after a failure turns up, the
    # model's included, to explain it in a report that ``find`` never prints: several
    # times slower for nothing
    import sys

    traced = []

    class Watching(Counting):
        def predict(self, inputs: Sequence[Any]) -> robustcheck.Prediction:
            traced.append(sys.gettrace() is not before)
            return super().predict(inputs)

    before = sys.gettrace()
    assert minimal_failure(Watching({"lovely", "great"}), TEXT, max_examples=100, seed=0)
    assert len(traced) > 10 and not any(traced)


def test_a_model_no_edit_can_flip_gives_none() -> None:
    model = Counting({"great"})  # no typo of "the food was fine" makes the word "great"
    assert minimal_failure(model, "the food was fine", max_examples=30) is None
    assert model.inputs >= 30
    assert minimal_failure(Counting({"x"}), "42 !!", max_examples=30) is None  # no words


def test_the_same_seed_gives_the_same_counterexample() -> None:
    first = minimal_failure(Counting({"lovely", "great"}), TEXT, max_examples=100, seed=3)
    second = minimal_failure(Counting({"lovely", "great"}), TEXT, max_examples=100, seed=3)
    assert first is not None and first == second


def test_a_counterexample_is_replayed_from_the_example_database(tmp_path: Path) -> None:
    database = DirectoryBasedExampleDatabase(tmp_path)
    model = Counting({"lovely", "great", "friendly"})
    text = "friendly staff, lovely rooms and great food"
    first = minimal_failure(model, text, max_examples=300, database=database)
    spent = model.inputs
    model.inputs = 0
    second = minimal_failure(model, text, max_examples=300, database=database)
    assert first is not None and second == first
    assert model.inputs < spent / 3  # the saved failure is tried first, not searched for
    assert any(tmp_path.iterdir())


def test_another_text_does_not_replay_a_saved_counterexample() -> None:
    database = InMemoryExampleDatabase()
    model = Counting({"great"})
    found = minimal_failure(model, "great food", max_examples=50, database=database)
    other = minimal_failure(model, "food was great", max_examples=50, database=database)
    assert found is not None and other is not None
    assert found.original == "great food" and other.original == "food was great"


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"families": ["tyop"]}, "did you mean 'typo'"),
    ({"families": []}, "families is empty"),
    ({"max_examples": 0}, "max_examples must be an integer >= 1"),
    ({"database": "db/"}, "database must be a Hypothesis ExampleDatabase"),
])
def test_minimal_failure_refuses_bad_arguments(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidArgument, match=match):
        minimal_failure(Counting({"great"}), TEXT, **kwargs)
