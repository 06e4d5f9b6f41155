"""Black-box attacks: budgets, determinism, label-only models, crashes, tabular search."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import robustcheck
from robustcheck.attack import (
    AttackResult,
    Edit,
    apply_edits,
    attack_tabular,
    attack_text,
    random_edits,
    word_edits,
    word_spans,
)
from robustcheck.errors import InvalidArgument

LONG = ("the staff were friendly and the room was clean but the breakfast was cold "
        "and the coffee was weak so we left early on sunday morning")
TEXTS = ["the food was great", "I love this place", "great staff and fast delivery",
         "terrible service, never again", "awful cold food", LONG]


class Counting:
    """A model wrapper that counts every input it is sent (and every call)."""

    def __init__(self, fn: Callable[[list[str]], Any]) -> None:
        self.fn = fn
        self.inputs = 0
        self.calls = 0

    def __call__(self, batch: Sequence[str]) -> Any:
        self.inputs += len(batch)
        self.calls += 1
        return self.fn(list(batch))


def keyword_labels(batch: list[str]) -> list[str]:
    """Label-only: positive iff one of the exact words 'great' or 'love' is present."""
    return ["pos" if {"great", "love"} & set(t.lower().split()) else "neg" for t in batch]


def constant_scores(batch: list[str]) -> np.ndarray:
    """Scores that never change: no attack can flip this model."""
    return np.tile([0.2, 0.8], (len(batch), 1))


def levenshtein(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


@pytest.fixture(scope="module")
def held_out() -> tuple[list[str], list[str]]:
    from robustcheck.demo import validation_split

    _, _, texts, labels = validation_split()
    return texts[:40], labels[:40]


# -- budgets ------------------------------------------------------------------------


@pytest.mark.parametrize("budget", [1, 2, 7, 50])
def test_the_query_budget_is_spent_exactly_and_never_exceeded(budget: int) -> None:
    model = Counting(constant_scores)
    result = attack_text(model, [LONG], max_queries=budget, max_edits=5)
    assert result.queries == [budget]  # the model never flips: the whole budget is used
    assert model.inputs == budget == result.total_queries
    assert result.status == ["failed"]


def test_every_input_sent_is_counted_across_texts_and_successes() -> None:
    model = Counting(keyword_labels)
    result = attack_text(model, TEXTS, max_queries=30)
    assert model.inputs == result.total_queries
    assert all(1 <= q <= 30 for q in result.queries)
    assert any(q < 30 for q in result.queries)  # successes stop early


def test_leave_one_out_queries_of_one_text_go_in_one_call() -> None:
    model = Counting(constant_scores)
    attack_text(model, [LONG], max_queries=1 + len(word_spans(LONG)), max_edits=1)
    assert model.calls == 2  # the clean text, then every leave-one-out variant at once


def test_max_edits_caps_the_edits_of_an_adversarial_example(word_model: Any,
                                                            held_out: Any) -> None:
    texts, _ = held_out
    result = attack_text(word_model, texts, max_edits=2)
    assert max(result.edits) <= 2
    for text, adversarial, ok in zip(texts, result.adversarial, result.success):
        if ok:
            assert 1 <= levenshtein(text, adversarial) <= 4  # a swap changes 2 characters


# -- what the attack finds ------------------------------------------------------------


def test_a_label_only_model_is_attacked_through_the_word_that_matters() -> None:
    result = attack_text(keyword_labels, ["the food was great"], seed=0)
    assert result.success == [True]
    assert result.edits == [1]
    assert result.original_label == ["pos"] and result.adversarial_label == ["neg"]
    assert result.changes[0][0]["before"] == "great"
    assert keyword_labels([result.adversarial[0]]) == ["neg"]


@pytest.fixture(scope="module")
def attacked(word_model: Any, held_out: Any) -> Any:
    """The attack with seed 0 on the 40 held-out reviews, run once for the tests that read
    it."""
    texts, _ = held_out
    return attack_text(word_model, texts, seed=0)


def test_the_adversarial_text_is_labelled_differently_by_the_model(word_model: Any,
                                                                  attacked: Any) -> None:
    result = attacked
    assert result.success_rate.value > 0.5
    assert result.success_rate.low < result.success_rate.value < result.success_rate.high
    flipped = [a for a in result.adversarial if a is not None]
    again = word_model.predict(flipped)
    wanted = [lab for lab, ok in zip(result.adversarial_label, result.success) if ok]
    assert list(again) == wanted
    originals = [lab for lab, ok in zip(result.original_label, result.success) if ok]
    assert all(a != b for a, b in zip(wanted, originals))


def test_edits_only_change_letters_inside_words(word_model: Any, held_out: Any) -> None:
    texts, _ = held_out
    result = attack_text(word_model, texts, seed=1)
    for text, adversarial in zip(texts, result.adversarial):
        if adversarial is None:
            continue
        outside = [c for c in text if not c.isalpha()]
        assert [c for c in adversarial if not c.isalpha()] == outside


def test_the_attack_flips_three_times_more_than_random_typos_of_the_same_size(
    word_model: Any, held_out: Any, attacked: Any,
) -> None:
    texts, _ = held_out
    result = attacked
    clean = word_model.predict(texts)
    flips = []
    # k = the characters the attack changed (a swap changes two), or its whole budget
    sizes = [sum(2 if c["kind"] == "swap" else 1 for c in changes) if ok else 5
             for changes, ok in zip(result.changes, result.success)]
    for seed in range(3):
        typos = [random_edits(t, k, seed=seed, index=i)
                 for i, (t, k) in enumerate(zip(texts, sizes))]
        flips.append(np.mean(word_model.predict(typos) != clean))
    assert result.success_rate.value >= 3 * float(np.mean(flips))


def test_texts_the_model_already_gets_wrong_are_skipped_with_labels() -> None:
    result = attack_text(keyword_labels, ["the food was great", "so bad"],
                         labels=["neg", "neg"])
    assert result.status[0] == "skipped"
    assert result.queries[0] == 1
    assert result.attacked == 1
    assert result.success_rate.n == 1


# -- crashes --------------------------------------------------------------------------


def test_a_model_error_on_some_candidates_is_recorded_and_the_attack_goes_on() -> None:
    def fragile(batch: list[str]) -> list[str]:
        if any(not t.isascii() for t in batch):
            raise ValueError("cannot encode non-ASCII input")
        return keyword_labels(batch)

    model = Counting(fragile)
    result = attack_text(model, ["the food was great", "I love this place"],
                         edits=("homoglyph", "delete"), candidates=6, seed=0)
    assert model.inputs == result.total_queries  # re-sent inputs are queries too
    crashes = [c for per_input in result.crashes for c in per_input]
    assert crashes and all(c["type"] == "ValueError" for c in crashes)
    assert all(not c["input"].isascii() for c in crashes)
    assert result.success == [True, True]  # the deletions still flip both
    assert all(a is not None and a.isascii() for a in result.adversarial)


def test_a_model_that_fails_on_the_clean_text_marks_it_crashed() -> None:
    def picky(batch: list[str]) -> list[str]:
        if any("boom" in t for t in batch):
            raise RuntimeError("boom")
        return keyword_labels(batch)

    result = attack_text(picky, ["boom goes the great dynamite", "the food was great"])
    assert result.status == ["crashed", "success"]
    assert result.crashes[0][0]["type"] == "RuntimeError"
    assert result.attacked == 1


# -- determinism ----------------------------------------------------------------------


def test_the_same_seed_gives_the_same_attack_and_another_seed_another(
    word_model: Any, held_out: Any,
) -> None:
    texts, _ = held_out
    first = attack_text(word_model, texts[:15], seed=3)
    assert attack_text(word_model, texts[:15], seed=3) == first
    other = attack_text(word_model, texts[:15], seed=4)
    assert other.adversarial != first.adversarial


def test_results_do_not_depend_on_the_order_or_subset_of_inputs(word_model: Any,
                                                                held_out: Any) -> None:
    texts, _ = held_out
    texts = texts[:12]
    full = attack_text(word_model, texts, seed=5)
    order = list(range(len(texts)))[::-1]
    backwards = attack_text(word_model, [texts[i] for i in order], seed=5, indices=order)
    assert [backwards.adversarial[order.index(i)] for i in range(len(texts))] == full.adversarial
    part = attack_text(word_model, texts[4:8], seed=5, indices=[4, 5, 6, 7])
    assert part.adversarial == full.adversarial[4:8]
    assert part.queries == full.queries[4:8]


# -- tabular --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def linear() -> tuple[LogisticRegression, pd.DataFrame]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x1": rng.normal(0, 2.0, 300), "x2": rng.normal(5, 0.5, 300)})
    y = (frame["x1"] / 2.0 + (frame["x2"] - 5) / 0.5 > 0).astype(int)
    return LogisticRegression(C=100.0).fit(frame, y), frame


def test_the_tabular_attack_finds_the_boundary_of_a_logistic_regression(
    linear: tuple[LogisticRegression, pd.DataFrame],
) -> None:
    model, frame = linear
    rows = frame.iloc[:12]  # each row costs up to 120 one-row queries
    result = attack_tabular(model, rows, reference=frame, seed=0, max_queries=120)
    assert all(q <= 120 for q in result.queries)
    std = frame.std().to_numpy()
    w, b = model.coef_[0], model.intercept_[0]
    for i in range(len(rows)):
        x = rows.iloc[i].to_numpy()
        margin = abs(w @ x + b) / np.linalg.norm(w * std)  # true distance in std units
        if margin > 3.0:
            continue  # beyond the search radius
        assert result.success[i]
        adversarial = pd.DataFrame([result.adversarial[i]])[frame.columns]
        assert model.predict(adversarial)[0] != result.original_label[i]
        distance = result.distance[i]
        assert distance is not None
        assert distance > 0 and margin - 0.02 <= distance <= 1.1 * margin + 0.03
        moved = (adversarial.to_numpy()[0] - x) / std
        assert math.isclose(np.linalg.norm(moved), distance, rel_tol=1e-6)


def test_the_tabular_attack_swaps_categories_and_counts_queries() -> None:
    frame = pd.DataFrame({"city": ["paris", "rome", "oslo", "paris"], "age": [30, 40, 50, 60]})
    seen: list[int] = []

    def model(batch: pd.DataFrame) -> list[str]:
        seen.append(len(batch))
        return ["cold" if c == "oslo" else "warm" for c in batch["city"]]

    adapter = robustcheck.adapters.CallableAdapter(model)
    result = attack_tabular(adapter, frame, seed=0, max_queries=40)
    assert sum(seen) == result.total_queries
    assert result.success == [True, True, True, True]
    assert result.distance == [1.0, 1.0, 1.0, 1.0]
    assert result.adversarial[0]["city"] == "oslo" and result.adversarial[2]["city"] != "oslo"
    assert result.changes[0] == [{"column": "city", "before": "paris", "after": "oslo"}]


def test_the_tabular_attack_is_deterministic_and_order_independent(
    linear: tuple[LogisticRegression, pd.DataFrame],
) -> None:
    model, frame = linear
    rows = frame.iloc[:6]
    first = attack_tabular(model, rows, reference=frame, seed=2, max_queries=60)
    assert attack_tabular(model, rows, reference=frame, seed=2, max_queries=60) == first
    back = attack_tabular(model, rows.iloc[::-1], reference=frame, seed=2, max_queries=60,
                          indices=[5, 4, 3, 2, 1, 0])
    assert back.distance[::-1] == first.distance


# -- results and edits ---------------------------------------------------------------


def test_the_result_is_json_ready(word_model: Any, held_out: Any) -> None:
    texts, _ = held_out
    result = attack_text(word_model, texts[:5])
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["summary"]["total_queries"] == result.total_queries
    assert len(data["inputs"]) == 5
    assert isinstance(result, AttackResult)
    assert result.median_edits == np.median([e for e, ok in zip(result.edits, result.success)
                                             if ok])


def test_any_subset_of_edits_applies_to_the_original_text() -> None:
    text = "the staff weren't rude, the room was clean"
    edits = [next(iter(word_edits(text[s:e], w, ["swap", "delete"]).values()))[0]
             for w, (s, e) in enumerate(word_spans(text)) if e - s >= 3]
    full = apply_edits(text, edits)
    assert full != text
    for k in range(len(edits)):
        partial = apply_edits(text, edits[:k] + edits[k + 1:])
        assert partial != full and len(word_spans(partial)) == len(word_spans(text))


def test_two_edits_of_one_word_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="word 0 twice"):
        apply_edits("great food", [Edit(0, 0, "delete", ""), Edit(0, 1, "delete", "")])


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"max_queries": 0}, "max_queries must be an integer >= 1"),
    ({"max_edits": 1.5}, "max_edits must be an integer"),
    ({"edits": ["keybord"]}, "did you mean 'keyboard'"),
    ({"edits": []}, "edits is empty"),
    ({"labels": ["pos"]}, "labels has 1 entries for 2 inputs"),
    ({"seed": -1}, "seed must be an integer >= 0"),
    ({"indices": [0, 0.5]}, "indices must be 2 non-negative integers"),
])
def test_bad_arguments_name_the_argument(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidArgument, match=match):
        attack_text(keyword_labels, ["great", "bad"], **kwargs)


def test_a_single_string_is_refused_as_texts() -> None:
    with pytest.raises(InvalidArgument, match="single string"):
        attack_text(keyword_labels, "the food was great")
