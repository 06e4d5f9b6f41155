"""Systematic crashes: a unit where the model raises on every input, with and without
probing (run by hand, not in CI).

    python benchmarks/bench_systematic.py [--rows N] [--repeats N]

A scikit-learn HistGradientBoostingClassifier fitted on the breast-cancer table (its
first 10 columns, tiled to ``--rows`` rows, default 20,000, each copy jittered by a
relative 1e-6 so that every row is a distinct input) is audited under the ``format``
family (numbers written as strings: the model raises on every row of those units), in
one process:

- **probing** (the default): each unit of more than ``PROBES`` distinct inputs is measured
  on a seeded sample of probes (``robustcheck._systematic``);
- **every input**: the same audit with probing switched off (``PROBES`` set above the
  data size), so crash isolation asks every row on its own.

Prints the wall time, the model calls and the crash rate (with its interval) of each,
and their ratio. ``OMP_NUM_THREADS=1`` is set so the model's own threads do not blur the
comparison. Both are timed in turns, best of ``--repeats``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import HistGradientBoostingClassifier

import robustcheck
from robustcheck import _systematic


def data(rows: int) -> tuple[pd.DataFrame, np.ndarray, HistGradientBoostingClassifier]:
    bunch = load_breast_cancer(as_frame=True)
    frame, target = bunch.data.iloc[:, :10], bunch.target.to_numpy()
    model = HistGradientBoostingClassifier(max_iter=50, random_state=0).fit(frame, target)
    reps = -(-rows // len(frame))
    big = pd.concat([frame] * reps, ignore_index=True).iloc[:rows]
    # jitter each copy by a relative 1e-6 so that every row is a distinct input
    jitter = np.random.default_rng(0).normal(0.0, 1e-6, size=big.shape)
    big = big * (1.0 + jitter)
    return big, np.tile(target, reps)[:rows], model


def audit(model, frame, labels):
    start = time.perf_counter()
    result = robustcheck.run(model, frame, labels, perturbations="format", severities=[1.0],
                             seed=0, progress=False)
    return time.perf_counter() - start, result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    frame, labels, model = data(args.rows)
    print(f"# systematic crashes: {args.rows:,} rows x {frame.shape[1]} columns, "
          f"format family, HistGradientBoosting; Python {platform.python_version()}, "
          f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}")
    print(f"# command: python benchmarks/bench_systematic.py --rows {args.rows} "
          f"--repeats {args.repeats}")
    probes = _systematic.PROBES
    best = {"probing": np.inf, "every input": np.inf}
    results = {}
    for _ in range(args.repeats):
        for mode in best:
            _systematic.PROBES = probes if mode == "probing" else args.rows + 1
            seconds, results[mode] = audit(model, frame, labels)
            best[mode] = min(best[mode], seconds)
    _systematic.PROBES = probes
    print(f"{'mode':<12} {'seconds':>9} {'model calls':>12}  crashed rows: rate [95% interval] "
          "of n, per unit")
    for mode, result in results.items():
        calls = sum(r.model_calls for r in result.rows)
        rates = "; ".join(f"{r.perturbation} {r.metrics['crash_rate'].value:.3f} "
                          f"[{r.metrics['crash_rate'].low:.3f}, "
                          f"{r.metrics['crash_rate'].high:.3f}] n={r.metrics['crash_rate'].n}"
                          for r in result.rows if r.metrics["coverage"].value > 0)
        print(f"{mode:<12} {best[mode]:>9.2f} {calls:>12,}  {rates}")
    print(f"ratio every input / probing: {best['every input'] / best['probing']:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
