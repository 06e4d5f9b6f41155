"""The augmentation loop on the shipped reviews: audit, augment, retrain, audit, compare.

1. v1: word TF-IDF + logistic regression (the demo's word model), trained on three
   reviews in four (``robustcheck.demo.validation_split``), audited on the fourth under
   the text suite.
2. ``robustcheck.augment``: label-keeping perturbed copies of the *training* reviews,
   more of them for what v1 failed more (its failure rate per perturbation x severity).
3. v2: the same recipe fitted on the training reviews and the copies.
4. v2 audited on the same held-out reviews with the same seed, so that every sample
   pairs with itself under v1.
5. ``robustcheck.compare``: McNemar's exact test per row, Holm-corrected over every
   test; clean accuracy compared with the same paired test.

It writes the two results, the copies as CSV and the comparison report to ``--out DIR``
(default ``examples-output/augmentation_loop/``). Run it from the repository root
(``pip install ".[sklearn]"``)::

    python examples/augmentation_loop.py
    python examples/augmentation_loop.py --seed 1 --size 1 --out /tmp/loop
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.base import clone

import robustcheck
from robustcheck.demo import validation_split, word_model
from robustcheck.stats import paired_outcome_test


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("examples-output/augmentation_loop"),
                        help="folder for the results, the copies and the comparison report "
                             "(default: examples-output/augmentation_loop)")
    parser.add_argument("--seed", type=int, default=0, help="seed of audits and copies")
    parser.add_argument("--size", type=float, default=3.0,
                        help="copies per training review (default 3: with 1 the word model "
                             "sees too few copies of each perturbation to learn from)")
    args = parser.parse_args(argv)
    loop(args.out, seed=args.seed, size=args.size)
    return 0


def loop(out: Path, *, seed: int, size: float) -> None:
    started = time.perf_counter()
    train, train_labels, held, held_labels = validation_split()

    # 1. audit v1 on the held-out reviews
    v1 = word_model()
    before = robustcheck.run(v1, held, held_labels, perturbations="text", seed=seed,
                             name="sentiment-v1-words", progress=False)
    print(f"v1: trained on {len(train)} reviews; on {len(held)} held-out reviews clean "
          f"accuracy {before.clean['accuracy']['value']:.1%}, robustness score {before.score}")

    # 2. copies of the training reviews, weighted by v1's failure rates
    copies = robustcheck.augment(train, train_labels, result=before, perturbations="text",
                                 size=size, seed=seed)
    new_texts, new_labels = copies
    print("\n" + "\n".join(copies.table().splitlines()[:12]) + "\n  ...")

    # 3. v2: the same recipe on the training reviews and the copies
    v2 = clone(v1).fit(train + new_texts, train_labels + new_labels)

    # 4. audit v2 on the same held-out reviews, same seed
    after = robustcheck.run(v2, held, held_labels, perturbations="text", seed=seed,
                            name="sentiment-v2-augmented", progress=False)

    # 5. compare: paired tests, Holm over every test of every row
    comparison = robustcheck.compare(before, after)
    right = [np.asarray(m.predict(held)) == np.asarray(held_labels) for m in (v1, v2)]
    clean = paired_outcome_test(*right)
    print(f"\nv2: trained on {len(train)} reviews + {len(new_texts)} copies; robustness score "
          f"{after.score}")
    print(f"clean accuracy {clean.rate_a:.1%} -> {clean.rate_b:.1%}: {clean.b} reviews only "
          f"v1 got right, {clean.c} only v2 (exact McNemar p = {clean.p_value:.3g})")
    print(f"\nfailure rate per row (paired McNemar, Holm over {comparison.tests} tests):")
    aimed = sorted(copies.plan, key=lambda u: (-u["copies"], u["perturbation"]))[:5]
    rows = {(r["perturbation"], r["severity"]): r for r in comparison.rows}
    for unit in aimed:
        print(f"  aimed ({unit['copies']:>3} copies)  "
              + _line(rows[(unit["perturbation"], unit["severity"])]))
    for verdict, word in (("improvement", "lower"), ("regression", "higher")):
        found = [r for r in comparison.rows
                 if r["metrics"].get("failure_rate", {}).get("verdict") == verdict]
        print(f"  significantly {word} in {len(found)} row{'' if len(found) == 1 else 's'}"
              + "".join(f"\n    {_line(r)}" for r in found))
    drops = {v: sum(r["metrics"].get("confidence_drop", {}).get("verdict") == v
                    for r in comparison.rows) for v in ("regression", "improvement")}
    confidence = [float(m.predict_proba(held).max(axis=1).mean()) for m in (v1, v2)]
    print(f"confidence drop significantly larger in {drops['regression']} rows, smaller in "
          f"{drops['improvement']}; mean clean confidence {confidence[0]:.3f} -> "
          f"{confidence[1]:.3f}")

    out.mkdir(parents=True, exist_ok=True)
    before.to_json(out / "v1.json")
    after.to_json(out / "v2.json")
    table = copies.sources.assign(text=list(new_texts), label=list(new_labels))
    table.to_csv(out / "copies.csv", index=False)
    comparison.to_html(out / "v1-vs-v2.html")
    print(f"\n{time.perf_counter() - started:.0f} s; wrote v1.json, v2.json, copies.csv and "
          f"v1-vs-v2.html to {out}")


def _line(row: dict) -> str:
    m = row["metrics"]["failure_rate"]
    p = m["p_adjusted"]
    return (f"{row['perturbation']}@{row['severity']:g}: {m['a']['value']:.1%} -> "
            f"{m['b']['value']:.1%} (p {'<0.0001' if p < 1e-4 else f'{p:.4f}'})")


if __name__ == "__main__":
    raise SystemExit(main())
