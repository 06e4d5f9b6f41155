"""Audit VADER, a rule-based sentiment analyser, as if it were any other model.

VADER (``vaderSentiment``) scores a text from a hand-made lexicon that ships with the
package: no training, no download. Rule-based models look robust because they have no
learned weights to fool, but every word they do not find in the lexicon is a word they
cannot read. This example wraps VADER in a plain batched function (one label per text,
plus the pos/neu/neg shares as class scores), audits it on 300 of the reviews robustcheck
ships, and writes the HTML report and the JSON result.

Run it from the repository root (``pip install ".[examples]"`` installs vaderSentiment):

    python examples/vader_sentiment.py                 # writes examples-output/vader_sentiment/
    python examples/vader_sentiment.py --out /tmp/vader

No threshold is applied here: the script reports. To gate a model on thresholds, see
``examples/vader_pytest/test_vader.py`` (a pytest test with ``@pytest.mark.robustcheck``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

import robustcheck
from robustcheck.datasets import load_reviews

# What shows VADER's weak spots: words it cannot look up (typos, slang, leetspeak,
# look-alike letters), emoji (VADER has its own emoji lexicon, but not every emoji),
# case (VADER reads ALL CAPS as emphasis) and negation (which a sentiment model must
# follow: expectation "changes").
SUITE = ["typo", "slang", "emoji", "negation", "case", "leetspeak", "homoglyph"]

_ANALYZER = SentimentIntensityAnalyzer()  # the lexicon ships with the package


def vader_label(compound: float) -> str:
    """VADER's documented thresholds on the compound score."""
    if compound >= 0.05:
        return "positive"
    if compound <= -0.05:
        return "negative"
    return "neutral"


def vader(texts: list[str]) -> list[dict[str, object]]:
    """The model: a batch of texts in, one ``{"label", "scores"}`` dict per text out.

    The label comes from the compound score; the scores are VADER's shares of positive,
    neutral and negative words, which robustcheck uses for the confidence drop.
    """
    out: list[dict[str, object]] = []
    for text in texts:
        s = _ANALYZER.polarity_scores(text)
        out.append({"label": vader_label(s["compound"]),
                    "scores": {"positive": s["pos"], "neutral": s["neu"], "negative": s["neg"]}})
    return out


def sample_reviews(n: int = 300, seed: int = 0) -> tuple[list[str], list[str]]:
    """``n`` of the shipped reviews, drawn without replacement by a seeded generator."""
    data = load_reviews()
    picks = np.sort(np.random.default_rng(seed).choice(len(data), size=n, replace=False))
    return [data.texts[i] for i in picks], [data.labels[i] for i in picks]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("examples-output/vader_sentiment"),
                        help="folder for the report and the JSON result")
    parser.add_argument("--n", type=int, default=300, help="number of reviews to audit")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    texts, labels = sample_reviews(args.n)
    started = time.perf_counter()
    result = robustcheck.run(vader, texts, labels, perturbations=SUITE, seed=0,
                             name="vader", progress=False)
    seconds = time.perf_counter() - started

    print(result.table())
    print()
    accuracy = result.clean["accuracy"]
    neutral = sum(r["label"] == "neutral" for r in vader(texts))
    print(f"clean accuracy {accuracy['value']:.1%} [{accuracy['low']:.1%}, "
          f"{accuracy['high']:.1%}] on {result.n} reviews; {neutral} of them VADER calls "
          "'neutral', a label the data does not have")
    worst = sorted((r for r in result.rows if r.expectation == "invariant"),
                   key=lambda r: r.metrics["failure_rate"].value, reverse=True)[:3]
    for r in worst:
        m = r.metrics["failure_rate"]
        print(f"weak spot: {r.key} changes the label of {m.value:.1%} of the reviews it "
              f"touches [{m.low:.1%}, {m.high:.1%}]")

    negated = result["negation.clause"][-1].metrics["flip_rate"]
    print(f"negation: with its one opinion clause negated, a review gets another label in "
          f"{negated.value:.1%} [{negated.low:.1%}, {negated.high:.1%}] of the cases")

    html = result.to_html(args.out / "vader.html")
    result.to_json(args.out / "vader.json")
    print(f"\naudit took {seconds:.1f} s; report: {html}  result: {args.out / 'vader.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
