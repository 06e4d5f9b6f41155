"""Time and size of the HTML report on a big audit.

    python benchmarks/bench_report.py                    # 100,000 samples x 60 rows
    python benchmarks/bench_report.py --samples N --perturbations N --repeats N --out x.html

Builds a RunResult by hand, as the runner would: per row random per-sample arrays
(changed, crashed, labels, scores) whose metrics come from ``robustcheck.metrics``, the
runner's caps on what a result keeps (5 examples per perturbation with texts of at most
2,000 characters, 10 crashes per row), examples perturbed by real catalogue
perturbations. Then renders it with ``robustcheck.report.render_run``: the first render
(which also loads and compiles the templates) and the best of ``--repeats`` after it.
Targets: under 2 s and under 5 MB.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from typing import Any

import numpy as np

import perturbations
import robustcheck
from robustcheck import report
from robustcheck.metrics import row_metrics
from robustcheck.results import Row, RunResult

EXAMPLES = 5
CRASHES_PER_ROW = 10
TEXT_LIMIT = 2000
SEVERITIES = [0.25, 0.5, 1.0]
WORDS = ["the", "room", "was", "clean", "and", "quiet", "but", "breakfast", "arrived", "cold",
         "staff", "never", "answered", "phone", "although", "view", "from", "balcony",
         "lovely", "great", "terrible", "friendly", "slow", "expensive", "worth", "price"]


def sentence(rng: np.random.Generator, words: int) -> str:
    return " ".join(rng.choice(WORDS, size=words)).capitalize() + "."


def build(n: int, count: int, seed: int = 0) -> RunResult:
    rng = np.random.default_rng(seed)
    names = [p.name for p in perturbations.catalogue(modality="text")][:count]
    truth = rng.integers(0, 2, n).astype(np.int32)
    clean = np.where(rng.random(n) < 0.9, truth, 1 - truth).astype(np.int32)
    confidence = rng.uniform(0.5, 1.0, n)
    clean_ok = np.ones(n, dtype=bool)
    rows, examples, crashes = [], {}, []
    for name in names:
        for s in SEVERITIES:
            changed = rng.random(n) < min(1.0, 0.4 + 0.5 * s)
            crashed = changed & (rng.random(n) < 0.01 * s)
            flip = changed & ~crashed & (rng.random(n) < 0.15 * s * rng.random())
            labels = np.where(flip, 1 - clean, clean).astype(np.int32)
            labels[crashed] = -1
            score = np.where(changed, confidence - rng.uniform(0, 0.3 * s, n), confidence)
            score[crashed] = np.nan
            metrics = row_metrics(
                changed=changed, crashed=crashed, clean_ok=clean_ok, clean_labels=clean,
                labels=labels, truth=truth, clean_confidence=confidence,
                score_of_clean=score, clean_values=None, values=None,
                expectation="invariant", expectation_kind="invariant", seed=seed)
            rows.append(Row(
                perturbation=name, severity=s, expectation="invariant", metrics=metrics,
                model_calls=int(changed.sum()), changed=changed, crashed=crashed,
                labels=labels, score_of_clean=score.astype(np.float32),
                failed=changed & (crashed | flip),
                latency={"latency_p50": 2e-4, "latency_p95": 5e-4,
                         "latency_ratio": float(rng.uniform(0.8, 1.6))}))
            for i in range(CRASHES_PER_ROW):
                crashes.append({
                    "perturbation": name, "severity": s, "index": i, "type": "ValueError",
                    "message": "could not tokenize the input: " + sentence(rng, 80),
                    "input": sentence(rng, 400)[:TEXT_LIMIT]})
        texts = [sentence(rng, int(w))[:TEXT_LIMIT] for w in rng.integers(10, 400, EXAMPLES)]
        after = perturbations.get(name).apply(texts, severity=1.0, seed=seed)
        examples[name] = [{
            "index": i, "severity": 1.0, "input": t, "perturbed": str(a)[:TEXT_LIMIT],
            "label": 1, "clean": 1, "predicted": 0, "confidence": 0.91,
            "perturbed_confidence": 0.42, "confidence_drop": 0.49, "crash": None}
            for i, (t, a) in enumerate(zip(texts, after))]
    return RunResult(
        name="synthetic sentiment model", seed=seed, complete=True,
        model={"kind": "callable", "class": "bench.model", "task": "classification"},
        data={"fingerprint": "sha256:" + "0" * 64, "n": n, "modality": "text",
              "labelled": True},
        task="classification", classes=[0, 1], severities=SEVERITIES,
        perturbations={name: perturbations.get(name).record() for name in names},
        clean={"answered": n, "crashes": 0,
               "self_disagreement": {"value": 0.0, "low": 0.0, "high": 3.8e-05, "n": n},
               "accuracy": {"value": 0.9, "low": 0.898, "high": 0.902, "n": n}},
        rows=rows, examples=examples, crashes=crashes,
        environment={"robustcheck": robustcheck.__version__,
                     "python": platform.python_version(), "numpy": np.__version__},
        timings={"started": "2026-11-26T00:00:00+00:00", "seconds": 600.0})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--perturbations", type=int, default=20,
                        help="text perturbations, each at 3 severities (20 -> 60 rows)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", help="also write the report here")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    result = build(args.samples, args.perturbations)
    built = time.perf_counter() - started
    started = time.perf_counter()
    html = report.render_run(result)
    first = time.perf_counter() - started
    times = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        html = report.render_run(result)
        times.append(time.perf_counter() - started)
    size = len(html.encode("utf-8"))
    if args.out:
        report.write(html, args.out)

    command = "python benchmarks/bench_report.py" + "".join(f" {a}" for a in sys.argv[1:])
    info: dict[str, Any] = {
        "command": command, "python": platform.python_version(),
        "platform": platform.platform(), "samples": f"{args.samples:,}",
        "rows": len(result.rows), "examples": sum(len(v) for v in result.examples.values()),
        "crashes": len(result.crashes), "build s": f"{built:.2f}",
        "first render s": f"{first:.3f} (loads and compiles the templates)",
        f"best of {args.repeats} s": f"{min(times):.3f}   (target < 2 s)",
        "html size": f"{size:,} bytes = {size / 1e6:.2f} MB   (target < 5 MB)",
    }
    width = max(map(len, info))
    for key, value in info.items():
        print(f"{key.ljust(width)}  {value}")
    return 0 if min(times) < 2 and size < 5_000_000 else 1


if __name__ == "__main__":
    raise SystemExit(main())
