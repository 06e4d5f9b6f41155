"""``robustcheck demo``: the whole product on a fresh machine, offline, in about a minute.

Two sentiment classifiers are trained on the spot on the review data set shipped with
robustcheck (word TF-IDF + logistic regression, "v1", against character n-grams +
logistic regression, "v2") and audited under the default text suite; their comparison
says where one is significantly less robust than the other. A tabular audit of two
scikit-learn models on the breast-cancer data set scikit-learn ships runs the tabular
suite: logistic regression crashes on missing values (a finding, not an abort), while
histogram gradient boosting copes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["DemoOutput", "run_demo", "text_models", "validation_split"]

TEXT_PERTURBATIONS = "text"
TABULAR_PERTURBATIONS = "tabular"
# what a team might require before a release; the reports show which rows pass
TEXT_THRESHOLDS = {"max_flip_rate": 0.10, "max_crash_rate": 0.0}
TABULAR_THRESHOLDS = {"max_flip_rate": 0.10, "max_crash_rate": 0.0}


def validation_split() -> tuple[list[str], list[str], list[str], list[str]]:
    """Train on three reviews in four, audit on the fourth."""
    from .datasets import load_reviews

    data = load_reviews()
    train = [i for i in range(len(data.texts)) if i % 4]
    held = [i for i in range(len(data.texts)) if not i % 4]
    return ([data.texts[i] for i in train], [data.labels[i] for i in train],
            [data.texts[i] for i in held], [data.labels[i] for i in held])


def text_models() -> dict[str, Any]:
    """The two text classifiers of the demo, trained on the shipped reviews."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    texts, labels, _, _ = validation_split()
    word = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000))
    char = make_pipeline(TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4)),
                         LogisticRegression(max_iter=1000))
    return {"sentiment-v1-words": word.fit(texts, labels),
            "sentiment-v2-chars": char.fit(texts, labels)}


def word_model() -> Any:
    """A zero-argument factory, usable as ``--model robustcheck.demo:word_model``."""
    return text_models()["sentiment-v1-words"]


def tabular_models() -> tuple[Any, Any, dict[str, Any]]:
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = load_breast_cancer(as_frame=True)
    frame = data.frame
    train = frame[frame.index % 4 != 0]
    held = frame[frame.index % 4 == 0].iloc[:100]  # the audit: 100 held-out rows
    x, y = train.drop(columns=["target"]), train["target"]
    with _one_thread():
        models = {
            "cancer-logistic": make_pipeline(StandardScaler(),
                                             LogisticRegression(max_iter=2000)).fit(x, y),
            "cancer-boosting": HistGradientBoostingClassifier(max_iter=40, random_state=0
                                                              ).fit(x, y),
        }
    audit = held.drop(columns=["target"]).reset_index(drop=True)
    return audit, held["target"].to_numpy(), models


@dataclass
class DemoOutput:
    """Where the demo wrote what, and the results behind it."""

    files: dict[str, Path]
    results: dict[str, Any]
    comparison: Any


def run_demo(out: str | Path = "robustcheck-demo", *, seed: int = 0,
             progress: bool | Callable[[int, int, str], Any] | None = None,
             say: Callable[[str], Any] = print) -> DemoOutput:
    """Train, audit, compare; write the reports and JSON into ``out``."""
    from .comparison import compare
    from .runner import run

    folder = Path(out)
    files: dict[str, Path] = {}
    results: dict[str, Any] = {}
    _, _, texts, labels = validation_split()
    say(f"Training two sentiment models on {len(texts) * 4} shipped reviews "
        "(word TF-IDF vs character n-grams)...")
    for name, model in text_models().items():
        say(f"Auditing {name} on {len(texts)} held-out reviews under the text suite...")
        result = run(model, texts, labels, perturbations=TEXT_PERTURBATIONS, seed=seed,
                     name=name, progress=progress)
        _check(result, TEXT_THRESHOLDS)
        results[name] = result
        files[f"{name} report"] = result.to_html(folder / f"{name}.html")
        files[f"{name} json"] = Path(folder / f"{name}.json")
        result.to_json(files[f"{name} json"])
    v1, v2 = results["sentiment-v1-words"], results["sentiment-v2-chars"]
    comparison = compare(v1, v2)
    files["comparison report"] = comparison.to_html(folder / "comparison-v1-vs-v2.html")
    frame, target, models = tabular_models()
    for name, model in models.items():
        say(f"Auditing {name} on {len(frame)} rows under the tabular suite...")
        with _one_thread():  # crash isolation calls the model on single rows
            result = run(model, frame, target, perturbations=TABULAR_PERTURBATIONS,
                         seed=seed, name=name, progress=progress)
        _check(result, TABULAR_THRESHOLDS)
        results[name] = result
        files[f"{name} report"] = result.to_html(folder / f"{name}.html")
    say("")
    say(summary(results, comparison))
    say("")
    for label, path in files.items():
        say(f"  {label:28} {path}")
    return DemoOutput(files, results, comparison)


def _check(result: Any, thresholds: dict[str, float]) -> None:
    """Apply the thresholds so the report shows pass and fail; a demo does not stop on
    a failed check, it reports it."""
    from .errors import RobustnessError

    with contextlib.suppress(RobustnessError):
        result.check(**thresholds)


def _one_thread() -> Any:
    """Single-threaded BLAS/OpenMP: gradient boosting spends ~15 ms starting threads for
    every one-row call, and crash isolation makes many of those."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1)


def summary(results: dict[str, Any], comparison: Any) -> str:
    lines = ["Robustness scores (100 = no perturbation broke the model):"]
    for name, result in results.items():
        crashes = sum(int(r.crashed.sum()) for r in result.rows)
        worst = max(result.rows, key=lambda r: r.metrics["failure_rate"].value
                    if r.metrics["coverage"].value > 0 else -1.0)
        passed = sum(r.passed is True for r in result.rows)
        lines.append(f"  {name:22} score {result.score:6}   {passed}/{len(result.rows)} rows "
                     f"pass   worst: {worst.key} fails "
                     f"{100 * worst.metrics['failure_rate'].value:.0f}%"
                     + (f"   crashes: {crashes}" if crashes else ""))
    regressions = {r["perturbation"] for r in comparison.regressions}
    improvements = {r["perturbation"] for r in comparison.improvements}
    lines.append(f"v2 (characters) against v1 (words): {len(comparison.improvements)} "
                 f"significantly better rows ({', '.join(sorted(improvements)[:6]) or '-'}), "
                 f"{len(comparison.regressions)} significantly worse "
                 f"({', '.join(sorted(regressions)[:6]) or '-'}).")
    return "\n".join(lines)
