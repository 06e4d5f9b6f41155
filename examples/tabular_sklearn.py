"""Two scikit-learn classifiers on a table, audited under missing values and format shifts.

The data is scikit-learn's bundled breast cancer table (569 rows, 30 numeric columns; no
download). Two models that score about the same on clean data:

* a ``StandardScaler`` + ``LogisticRegression`` pipeline, which raises on a single NaN;
* a ``HistGradientBoostingClassifier``, which handles missing values natively.

Both are audited on the same 150 held-out rows under the same seed, so that
``robustcheck.compare`` can pair them sample by sample and say, with a corrected p-value,
where one is significantly more fragile than the other. Crashes are findings, not
errors: they are counted per perturbation and their messages are kept.

Run it from the repository root (``pip install ".[sklearn]"``):

    python examples/tabular_sklearn.py                 # writes examples-output/tabular_sklearn/
    python examples/tabular_sklearn.py --out /tmp/tabular
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

import perturbations
import robustcheck

# The variants of the missing, format and schema families that act on an all-numeric
# table (perturbations.catalogue(modality="tabular") lists them all: missing.none and
# missing.empty_string touch text columns, format.boolean and format.date boolean and date
# columns, so here they would change nothing). format.currency, format.percent and
# format.units fail the same way format.decimal_comma does.
SUITE = [
    "missing.nan",                 # a failed join, a sensor drop-out
    "missing.sentinel",            # -999 for "unknown", as legacy systems write it
    "format.number_as_string",     # "5.0": a CSV read without type inference
    "format.decimal_comma",        # "5,25": a European export
    "format.thousands_separator",  # "1,234.5"
    "schema.column_order",         # a new export, a SELECT *
    "schema.dtype",                # float64 -> float32 after a parquet round trip
    "schema.extra_column",         # an upstream team added a column
]
SEVERITIES = (0.25, 1.0)


def load_data(test_rows: int = 150):
    """Train and held-out frames of the breast cancer table (labels 0/1)."""
    X, y = load_breast_cancer(as_frame=True, return_X_y=True)
    return train_test_split(X, y, test_size=test_rows, random_state=0, stratify=y)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("examples-output/tabular_sklearn"),
                        help="folder for the reports and the JSON results")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    known = {p.name for p in perturbations.catalogue(modality="tabular")}
    missing = sorted(set(SUITE) - known)
    if missing:
        raise SystemExit(f"not in the tabular catalogue: {missing}")

    X_train, X_test, y_train, y_test = load_data()
    models = {
        "logistic": make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
        "boosting": HistGradientBoostingClassifier(random_state=0),
    }
    results = {}
    started = time.perf_counter()
    # A model that crashes is called again on halves of the batch until the failing rows
    # are isolated, so there are many calls of a few rows. OpenMP start-up costs more than
    # such a call; one thread makes the audit several times faster.
    with threadpool_limits(1):
        for name, model in models.items():
            model.fit(X_train, y_train)
            results[name] = robustcheck.run(model, X_test, y_test.tolist(),
                                            perturbations=SUITE, severities=SEVERITIES,
                                            seed=0, name=name, progress=False)
    seconds = time.perf_counter() - started

    for name, result in results.items():
        print(result.table())
        accuracy = result.clean["accuracy"]["value"]
        crashed = sum(int(row.crashed.sum()) for row in result.rows)
        print(f"{name}: clean accuracy {accuracy:.1%}; it crashed on {crashed} of "
              f"{result.n * len(result.rows)} perturbed inputs (the first messages of each "
              "perturbation are in result.crashes)\n")
        result.to_html(args.out / f"{name}.html")
        result.to_json(args.out / f"{name}.json")

    print("What made the models crash (one message per perturbation and model):")
    for name, result in results.items():
        seen = set()
        for crash in result.crashes:
            if crash["perturbation"] in seen:
                continue
            seen.add(crash["perturbation"])
            first_line = crash["message"].splitlines()[0][:110]
            print(f"  {name:8}  {crash['perturbation']:27}  {crash['type']}: {first_line}")
    print()

    comparison = robustcheck.compare(results["logistic"], results["boosting"])
    print(comparison.table())
    comparison.to_html(args.out / "logistic-vs-boosting.html")
    comparison.to_json(args.out / "logistic-vs-boosting.json")

    print(f"\nfit and audit took {seconds:.1f} s; reports in {args.out}/: logistic.html, "
          "boosting.html, logistic-vs-boosting.html (and the JSON of each)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
