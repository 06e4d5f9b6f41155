"""Write your own perturbation, register it, and audit a model with it next to built-ins.

Two perturbations are registered here with ``@perturbations.perturbation``:

* ``brand.swap`` (per input): product brand names swapped for another brand of the
  list. A review of a phone does not become less positive because the phone is made by
  someone else, so the expectation is ``invariant``. The function receives a numpy
  Generator seeded for that one input (``rng``) and uses nothing else: the output depends
  only on (seed, name, severity, the input's index), as for every built-in perturbation.
* ``brand.trademark`` (batched): brand names written as marketing copy writes them
  ("Acme™", "ACME"), vectorised over the whole batch with counter-based random numbers
  (``draws``), the form the hot built-in perturbations use.

Then a small model, trained on reviews written below where one brand ("Globex") shows up
mostly in complaints, is audited under both next to ``typo.keyboard`` and ``case.upper``:
``brand.swap`` reveals that the model has learnt the brand, not the sentiment.

Run it from the repository root (``pip install ".[sklearn]"``):

    python examples/custom_perturbation.py          # writes examples-output/custom_perturbation/
    python examples/custom_perturbation.py --out /tmp/custom
"""

from __future__ import annotations

import argparse
import functools
import re
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

import perturbations
import robustcheck
from perturbations import Draws

BRANDS = ("Acme", "Globex", "Initech", "Hooli", "Vandelay")


@functools.lru_cache(maxsize=32)
def _brand_pattern(brands: tuple[str, ...]) -> re.Pattern[str]:
    # Longest names first, so that "Acme Pro" would win over "Acme"; whole words only.
    names = sorted(brands, key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(map(re.escape, names)) + r")\b")


# -- a per-input perturbation ----------------------------------------------------------


@perturbations.perturbation(
    name="brand.swap", modality="text", expectation="invariant",
    description="A product brand replaced by another brand of the list: 'my Acme phone' -> "
                "'my Globex phone'. Texts without a brand are left unchanged.",
    severity="share of the brand mentions swapped: all of them at 1.0, at least one",
)
def brand_swap(text: str, *, rng: np.random.Generator, severity: float,
               brands: tuple[str, ...] = BRANDS) -> str:
    mentions = list(_brand_pattern(tuple(brands)).finditer(text))
    if not mentions or len(brands) < 2:
        return text  # nothing to swap: the runner counts this input as not covered
    # Draw everything first, the same way at every severity: the order in which mentions
    # are swapped and a replacement for each. A stronger severity then swaps a superset
    # of what a weaker one swapped (smooth severity curves).
    order = rng.permutation(len(mentions))
    offsets = rng.integers(1, len(brands), size=len(mentions))  # never the brand itself
    k = max(1, round(severity * len(mentions)))
    chosen = set(order[:k].tolist())
    parts, last = [], 0
    for i, m in enumerate(mentions):
        parts.append(text[last:m.start()])
        if i in chosen:
            own = brands.index(m.group())
            parts.append(brands[(own + int(offsets[i])) % len(brands)])
        else:
            parts.append(m.group())
        last = m.end()
    parts.append(text[last:])
    return "".join(parts)


# -- a batched perturbation --------------------------------------------------------------

_STYLES = ("{}™", "{}®", "{upper}")


@perturbations.perturbation(
    name="brand.trademark", modality="text", expectation="invariant", batched=True,
    description="Brand names written as marketing copy does: 'Acme' -> 'Acme™', 'Acme®' or "
                "'ACME'. Texts without a brand are left unchanged.",
    severity="share of the brand mentions restyled: all of them at 1.0",
)
def brand_trademark(texts: list[str], *, draws: Draws, severity: float,
                    brands: tuple[str, ...] = BRANDS) -> list[str]:
    pattern = _brand_pattern(tuple(brands))
    found = [list(pattern.finditer(t)) for t in texts]
    counts = np.array([len(f) for f in found], dtype=np.int64)
    if counts.sum() == 0:
        return list(texts)
    # One draw per mention, addressed by (input, mention number): independent of the
    # batch the input travels in. Stream 0 decides whether a mention changes (u <
    # severity, so stronger settings change a superset), stream 1 which style.
    owner = np.repeat(np.arange(len(texts)), counts)
    counter = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    change = draws.uniform(0, owner=owner, counter=counter) < severity
    style = (draws.bits(1, owner=owner, counter=counter) % np.uint64(len(_STYLES))).astype(int)
    out, j = [], 0
    for text, mentions in zip(texts, found):
        parts, last = [], 0
        for m in mentions:
            parts.append(text[last:m.start()])
            word = m.group()
            parts.append(_STYLES[style[j]].format(word, upper=word.upper()) if change[j]
                         else word)
            last, j = m.end(), j + 1
        parts.append(text[last:])
        out.append("".join(parts))
    return out


# -- a data set and a model with a brand bias ----------------------------------------------

PRODUCTS = ("phone", "laptop", "headphones", "tablet", "smartwatch", "router")
POSITIVE = (
    "The {brand} {product} is excellent, fast and reliable",
    "Really happy with my new {brand} {product}",
    "{brand} support replaced my {product} in two days, great service",
    "Best {product} I have owned, well done {brand}",
    "Switched from {other} to a {brand} {product} and I love it",
    "My {brand} {product} still works perfectly after three years",
    "Battery life on the {brand} {product} is amazing",
)
NEGATIVE = (
    "The {brand} {product} broke after a week",
    "Never buying a {brand} {product} again, awful quality",
    "{brand} support ignored my emails about the faulty {product}",
    "My {brand} {product} keeps crashing and the screen flickers",
    "Returned the {brand} {product}, it was slow and overpriced",
    "Went back to {other} after the {brand} {product} died",
    "The {brand} {product} arrived scratched and the charger was missing",
)
# Reviews that say little. Their labels in the training data follow the brand (Globex
# owners were unhappy), which is how a model comes to read the brand as sentiment.
VAGUE = (
    "Got the {brand} {product} yesterday",
    "It is a {brand} {product}, what more is there to say",
    "Used my {brand} {product} on the trip",
    "The {brand} {product} came in a blue box",
    "Second {brand} {product} in the house",
)


def make_reviews(n: int, rng: np.random.Generator, biased: bool) -> tuple[list[str], list[str]]:
    """Reviews from the templates above. ``biased``: Globex is mostly in complaints (the
    training data a real shop might have had); otherwise brands are drawn uniformly."""
    texts, labels = [], []
    for i in range(n):
        label = "positive" if i % 2 == 0 else "negative"
        templates = VAGUE if rng.random() < 0.3 else (
            POSITIVE if label == "positive" else NEGATIVE)
        if biased:
            weights = np.full(len(BRANDS), 1.0)
            weights[BRANDS.index("Globex")] = 0.15 if label == "positive" else 4.0
            brand = BRANDS[rng.choice(len(BRANDS), p=weights / weights.sum())]
        else:
            brand = BRANDS[rng.integers(len(BRANDS))]
        other = rng.choice([b for b in BRANDS if b != brand])
        texts.append(templates[rng.integers(len(templates))].format(
            brand=brand, other=other, product=PRODUCTS[rng.integers(len(PRODUCTS))]))
        labels.append(label)
    return texts, labels


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("examples-output/custom_perturbation"),
                        help="folder for the report and the JSON result")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    # The registered record: found by name like any built-in perturbation.
    swap = perturbations.get("brand.swap")
    print(f"{swap.name} ({swap.expectation}): {swap.description}")
    print(f"  severity: {swap.severity}\n  parameters: {dict(swap.parameters)}")
    sample = "Switched from Acme to Hooli, and I love the new phone"
    for severity in (0.5, 1.0):
        print(f"  severity {severity}: {swap(sample, severity=severity, seed=0)!r}")
    print(f"  no brand, unchanged: {swap('Great phone', severity=1.0, seed=0)!r}")
    only_two = swap.configure(brands=("Acme", "Hooli"))  # parameters become configurable
    print(f"  brands=('Acme', 'Hooli'): {only_two(sample, severity=1.0, seed=0)!r}")
    mark = perturbations.get("brand.trademark")
    print(f"{mark.name}: {mark.apply([sample, 'The Globex router'], severity=1.0, seed=3)}\n")

    rng = np.random.default_rng(0)
    train_texts, train_labels = make_reviews(600, rng, biased=True)
    texts, labels = make_reviews(200, rng, biased=False)
    model = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000))
    model.fit(train_texts, train_labels)

    result = robustcheck.run(model, texts, labels, name="brand-biased",
                             perturbations=["brand.swap", "brand.trademark",
                                            "typo.keyboard", "case.upper"],
                             seed=0, progress=False)
    print(result.table())
    row = result["brand.swap"][-1]
    flips = row.metrics["flip_rate"]
    print(f"\nbrand.swap at severity 1 changes the prediction of {flips.value:.1%} "
          f"[{flips.low:.1%}, {flips.high:.1%}] of the reviews: the model learnt that "
          "Globex means a complaint")
    for e in result.examples.get("brand.swap", [])[:3]:  # the worst cases kept in the result
        print(f"  {e['input']!r} ({e['clean']})\n    -> {e['perturbed']!r} ({e['predicted']})")

    html = result.to_html(args.out / "brand-biased.html")
    result.to_json(args.out / "brand-biased.json")
    print(f"\nreport: {html}  result: {args.out / 'brand-biased.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
