"""VADER's robustness as pytest tests: the gate version of ``examples/vader_sentiment.py``.

The ``robustcheck`` fixture and the ``@pytest.mark.robustcheck`` marker come from the
pytest plugin installed with robustcheck: no conftest.py, nothing to register.

    python -m pytest examples/vader_pytest
    python -m pytest examples/vader_pytest --robustcheck-report=reports/vader.html

The fixture runs ``robustcheck.run`` with the session's seed (``--robustcheck-seed``) and
records each result; the marker's thresholds are checked against every result the test
recorded, and the test fails with a table of the rows that exceed them.
"""

from __future__ import annotations

import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from robustcheck.datasets import load_reviews

_ANALYZER = SentimentIntensityAnalyzer()


def vader(texts: list[str]) -> list[dict[str, object]]:
    """A batch of texts in, one ``{"label", "scores"}`` dict per text out."""
    out: list[dict[str, object]] = []
    for text in texts:
        s = _ANALYZER.polarity_scores(text)
        label = ("positive" if s["compound"] >= 0.05
                 else "negative" if s["compound"] <= -0.05 else "neutral")
        out.append({"label": label,
                    "scores": {"positive": s["pos"], "neutral": s["neu"], "negative": s["neg"]}})
    return out


@pytest.fixture(scope="module")
def reviews() -> tuple[list[str], list[str]]:
    """Every third shipped review (350 of them), with its label."""
    data = load_reviews()
    return data.texts[::3], data.labels[::3]


@pytest.mark.robustcheck(max_crash_rate=0)
def test_vader_answers_every_noisy_review(robustcheck, reviews):
    texts, labels = reviews
    result = robustcheck.run(vader, texts, labels, name="vader",
                             perturbations=["typo", "slang", "emoji", "negation", "case",
                                            "leetspeak", "homoglyph"])
    assert result.complete


@pytest.mark.robustcheck(max_flip_rate=0.05)
def test_vader_ignores_letter_case(robustcheck, reviews):
    texts, labels = reviews
    robustcheck.run(vader, texts, labels, name="vader-case", perturbations="case")
