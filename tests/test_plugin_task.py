"""A new task is one class and one registration (DESIGN §12): a toy task of tag sets,
defined only in this file, reads its own model outputs and runs end to end through run,
to_json, load, compare and to_html."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pytest

import robustcheck
from robustcheck import tasks
from robustcheck.adapters import CallableAdapter, Prediction
from robustcheck.errors import InvalidArgument, ModelOutputError


class Tags(tasks.Classification):
    """Each answer is a set of tags (any iterable of strings); two answers agree when
    they hold the same tags, in any order. Scored like classification over tag sets."""

    name = "tags"
    scored = False

    def read(self, raw: Any, n: int, *, classes: np.ndarray | None, source: str,
             hint: str = "") -> Prediction:
        answers = list(raw)
        if len(answers) != n:
            raise ModelOutputError(f"{source} returned {len(answers)} tag sets for {n} inputs")
        keys = np.empty(n, dtype=object)
        for i, tags in enumerate(answers):
            if isinstance(tags, str) or not all(isinstance(t, str) for t in tags):
                raise ModelOutputError(f"{source} returned {tags!r} for input {i}; expected "
                                       "a set of tag strings")
            keys[i] = "|".join(sorted(set(tags)))
        return Prediction(labels=keys, kind=self.name)

    def empty(self) -> Prediction:
        return Prediction(labels=np.empty(0, dtype=object), kind=self.name)


@pytest.fixture(scope="module")
def toy() -> Iterator[Tags]:
    task = tasks.register(Tags())
    yield task
    tasks._REGISTRY.pop(task.name)


TEXTS = [f"the {w} was {v}" for w in ("screen", "battery", "keyboard", "speaker", "camera")
         for v in ("great", "awful", "fine", "slow", "bright", "loud", "cheap", "broken")]


KNOWN = {"screen", "battery", "keyboard", "speaker", "camera", "great", "awful"}


def words_tagger(batch: Sequence[str]) -> list[set[str]]:
    """Tags are the known nouns and adjectives, matched exactly (case and typos lose
    them)."""
    return [{w for w in text.split() if w in KNOWN} for text in batch]


def folded_tagger(batch: Sequence[str]) -> list[list[str]]:
    """The same tags, matched after lower-casing, as a list in reverse order."""
    return [sorted({w for w in text.lower().split() if w in KNOWN}, reverse=True)
            for text in batch]


LABELS = ["|".join(sorted(t)) for t in words_tagger(TEXTS)]
SUITE = ["typo.keyboard", "case.upper", "whitespace.extra"]


def test_a_toy_task_runs_end_to_end(toy, tmp_path):
    a = robustcheck.run(CallableAdapter(words_tagger, task="tags"), TEXTS, LABELS,
                        perturbations=SUITE, severities=(1.0,), progress=False, name="words")
    assert a.task == "tags"
    assert a.clean["accuracy"]["value"] == 1.0
    assert a["case.upper"][0].metrics["flip_rate"].value == 1.0  # exact matching of words
    assert a["whitespace.extra"][0].metrics["flip_rate"].value == 0.0  # split() ignores it
    a.to_json(tmp_path / "a.json")
    loaded = robustcheck.load(tmp_path / "a.json")
    assert loaded.task == "tags" and loaded.table() == a.table()
    b = robustcheck.run(CallableAdapter(folded_tagger, task="tags"), TEXTS, LABELS,
                        perturbations=SUITE, severities=(1.0,), progress=False, name="folded")
    comparison = robustcheck.compare(loaded, b)
    upper = next(r for r in comparison.rows if r["perturbation"] == "case.upper")
    assert upper["verdict"] == "improvement"  # B lower-cases first
    report = a.to_html(tmp_path / "a.html").read_text("utf-8")
    assert "case.upper" in report and "great|screen" in report
    assert "folded" in comparison.to_html(tmp_path / "c.html").read_text("utf-8")


def test_the_task_reads_the_model_output_and_keeps_its_name(toy):
    adapter = CallableAdapter(folded_tagger, task="tags")
    pred = adapter.predict(["great Screen here", "here screen great"])
    assert pred.task == "tags" and pred.labels.tolist() == ["great|screen"] * 2
    assert pred.take([1]).task == "tags"
    assert Prediction.concat([pred, pred.take([0])]).task == "tags"
    assert adapter.predict([]).task == "tags"
    with pytest.raises(ModelOutputError, match="expected a set of tag strings"):
        CallableAdapter(lambda b: ["a"] * len(b), task="tags").predict(["x"])


def test_an_unregistered_task_is_refused_with_the_known_ones():
    with pytest.raises(InvalidArgument, match="one of 'classification', 'regression'"):
        CallableAdapter(words_tagger, task="tagz")


def test_a_task_without_class_scores_keeps_an_estimator_on_predict(toy):
    class Estimator:
        def predict_proba(self, batch: Sequence[str]) -> np.ndarray:
            raise AssertionError("a tags model has no class scores to ask for")

        def predict(self, batch: Sequence[str]) -> list[set[str]]:
            return words_tagger(batch)

    adapter = robustcheck.adapters.SklearnAdapter(Estimator(), task="tags")
    assert adapter.predict(["great screen"]).labels.tolist() == ["great|screen"]
    with pytest.raises(InvalidArgument, match="makes no sense for a tags model"):
        robustcheck.adapters.SklearnAdapter(Estimator(), task="tags", method="predict_proba")
