"""The text attack against random typos of the same size (run by hand, not in CI).

    python benchmarks/bench_attack.py [--seed N] [--baseline-seeds N] [--max-queries N]
                                      [--max-edits N] [--texts N]

On the demo's word-level classifier (``robustcheck.demo.text_models()
["sentiment-v1-words"]``: TF-IDF + logistic regression trained on the shipped reviews)
and the demo's held-out reviews (``validation_split()``):

1. ``robustcheck.attack.attack_text`` with the given budgets; its flip rate is the share
   of reviews whose label it flipped.
2. Random keyboard typos of the same size: for each review, ``k`` random one-letter
   keyboard-neighbour edits in ``k`` different random words
   (``robustcheck.attack.random_edits``, a generator keyed by seed and review), where
   ``k`` is the number of characters the attack changed in that review (a swap counts
   two), or its ``max_edits`` budget where the attack failed. Repeated for
   ``--baseline-seeds`` seeds; the flip rate is the mean over seeds (the range is
   printed too). A second baseline row draws the random edits from all four kinds the
   attack uses (keyboard, swap, delete, homoglyph), so the comparison does not hinge on
   the kind of edit.

Target: the attack flips at least 3x more reviews than random keyboard typos. Every
number is a pure function of the seeds; only the timings vary between runs.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_perturbations, run from anywhere
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # robustcheck from a checkout

from bench_perturbations import machine_facts, print_table

from robustcheck.attack import AttackResult, attack_text, random_edits
from robustcheck.demo import text_models, validation_split
from robustcheck.stats import wilson_interval

RATIO_TARGET = 3.0
ATTACK_KINDS = ("keyboard", "swap", "delete", "homoglyph")


def random_flip_rates(model: object, texts: list[str], result: AttackResult,
                      kinds: tuple[str, ...], seeds: range) -> tuple[list[float], float]:
    """Flip rate of random edits of the attack's size, per baseline seed, and the mean
    number of edited characters per review."""
    clean = np.asarray(model.predict(texts))  # type: ignore[attr-defined]
    sizes = edited_characters(result)
    rates = []
    for seed in seeds:
        typos = [random_edits(t, k, kinds=kinds, seed=seed, index=i)
                 for i, (t, k) in enumerate(zip(texts, sizes))]
        rates.append(float(np.mean(np.asarray(model.predict(typos)) != clean)))  # type: ignore[attr-defined]
    return rates, float(np.mean(sizes))


def edited_characters(result: AttackResult) -> list[int]:
    """Characters the attack changed per review (a swap changes two), or its
    ``max_edits`` budget where it failed: the size of the matching random typos."""
    return [sum(2 if c["kind"] == "swap" else 1 for c in changes) if ok
            else result.max_edits or 0
            for changes, ok in zip(result.changes, result.success)]


def rate_cell(rate: float, n: int) -> str:
    low, high = wilson_interval(round(rate * n), n)
    return f"{100 * rate:5.1f}%  [{100 * low:4.1f}, {100 * high:4.1f}]"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--baseline-seeds", type=int, default=5)
    parser.add_argument("--max-queries", type=int, default=200)
    parser.add_argument("--max-edits", type=int, default=5)
    parser.add_argument("--texts", type=int, default=None,
                        help="attack only the first N held-out reviews (default: all)")
    args = parser.parse_args(argv)

    facts = machine_facts()
    for key in ("date", "cpu", "cpu_count", "python", "numpy", "git"):
        if key in facts:
            print(f"{key + ':':12} {facts[key]}")
    given = argv if argv is not None else sys.argv[1:]
    print(f"{'reproduce:':12} " + shlex.join(["python", "benchmarks/bench_attack.py", *given]))
    print()

    start = time.perf_counter()
    model = text_models()["sentiment-v1-words"]
    _, _, texts, _ = validation_split()
    texts = texts[: args.texts] if args.texts else texts
    trained = time.perf_counter() - start

    start = time.perf_counter()
    result = attack_text(model, texts, seed=args.seed, max_queries=args.max_queries,
                         max_edits=args.max_edits)
    attack_seconds = time.perf_counter() - start
    n = result.attacked
    seeds = range(args.baseline_seeds)
    keyboard, size = random_flip_rates(model, texts, result, ("keyboard",), seeds)
    mixed, _ = random_flip_rates(model, texts, result, ATTACK_KINDS, seeds)

    print(f"sentiment-v1-words on {len(texts)} held-out reviews "
          f"(trained in {trained:.1f} s); attack seed {args.seed}, "
          f"max_queries={args.max_queries}, max_edits={args.max_edits}")
    print()
    attack_rate = result.success_rate.value
    rows = [
        ["attack_text (greedy, word importance)", rate_cell(attack_rate, n), f"{size:.2f}",
         f"{result.mean_queries:.1f} / {result.median_queries:.0f}", "-"],
        ["random keyboard typos, same size", rate_cell(float(np.mean(keyboard)), n),
         f"{size:.2f}", "-", f"{100 * min(keyboard):.1f}-{100 * max(keyboard):.1f}%"],
        ["random edits of the attack's kinds, same size", rate_cell(float(np.mean(mixed)), n),
         f"{size:.2f}", "-", f"{100 * min(mixed):.1f}-{100 * max(mixed):.1f}%"],
    ]
    print_table(["method", "flip rate [95% CI]", "chars edited/review",
                 "queries mean / median",
                 f"range over {len(seeds)} seeds"], rows, "lrrrr")
    ratio = attack_rate / float(np.mean(keyboard)) if np.mean(keyboard) > 0 else float("inf")
    ratio_mixed = attack_rate / float(np.mean(mixed)) if np.mean(mixed) > 0 else float("inf")
    print(f"median edits of successful attacks: {result.median_edits:g}; "
          f"total queries: {result.total_queries:,}; attack time {attack_seconds:.1f} s "
          f"({1000 * attack_seconds / max(1, len(texts)):.1f} ms per review)")
    print(f"ratio attack / random keyboard typos: {ratio:.1f}x "
          f"(target >= {RATIO_TARGET:g}x: {'met' if ratio >= RATIO_TARGET else 'NOT met'}); "
          f"attack / random edits of its kinds: {ratio_mixed:.1f}x")
    print()
    shown = 0
    for original, adversarial, before, after in zip(result.original, result.adversarial,
                                                    result.original_label,
                                                    result.adversarial_label):
        if adversarial is not None and shown < 3:
            print(f"  {before:>8}: {original}\n  {after:>8}: {adversarial}\n")
            shown += 1
    return 0 if ratio >= RATIO_TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
