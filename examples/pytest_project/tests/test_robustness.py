"""Robustness tests: run next to the unit tests by plain `pytest`.

Results are matched with the baseline by test and by `name`: keep the name the same
across model versions so a new version is compared with the released one.
"""

from __future__ import annotations

import pytest


@pytest.mark.robustcheck(max_crash_rate=0, max_flip_rate=0.35,
                         per={"case": {"max_flip_rate": 0.05}})
def test_sentiment_survives_typos_and_case(robustcheck, model, validation_set):
    texts, labels = validation_set
    robustcheck.run(model, texts, labels, name="sentiment",
                    perturbations=["typo", "case", "punctuation", "whitespace.extra",
                                   "whitespace.newline"])


@pytest.mark.robustcheck(max_crash_rate=0)
def test_sentiment_answers_on_any_chat_noise(robustcheck, model, validation_set):
    texts, labels = validation_set
    result = robustcheck.run(model, texts, labels, name="sentiment-chat",
                             perturbations=["emoji", "slang", "chat", "length"])
    assert result.complete
