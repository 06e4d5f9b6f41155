"""Two image classifiers on handwritten digits: which one is more robust?

The data is scikit-learn's bundled digits (1,797 grayscale 8x8 images, values 0-16; no
download), turned into uint8 images (0-255) as a camera pipeline would deliver them. Two
models are trained on three images in four:

* a small ``MLPClassifier`` (one hidden layer of 32 units);
* an ``SVC`` (RBF kernel).

Both see each image flattened to 64 pixels scaled to [0, 1]
(``robustcheck.adapters.adapt(model, flatten=True)`` flattens each batch). They are
audited on the same 450 held-out images under the image suite (``perturbations="image"``,
the ImageNet-C corruptions and the pipeline faults) with the same seed, so that
``robustcheck.compare`` pairs them sample by sample. The mean corruption error (mCE,
Hendrycks & Dietterich 2019) of the MLP against the SVC as the baseline says how much
more top-1 error the MLP makes under corruption: below 1 it is the more robust, above 1
the less, with a paired-bootstrap 95% interval. The mCE counts the ImageNet-C
corruption families when the catalogue has them, else the pipeline faults a model is
expected to survive (every "invariant" image perturbation).

Run it from the repository root (``pip install ".[sklearn,image]"``):

    python examples/image_digits.py                 # writes examples-output/image_digits/
    python examples/image_digits.py --out /tmp/digits
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.svm import SVC
from threadpoolctl import threadpool_limits

import robustcheck
from robustcheck.adapters import adapt
from robustcheck.demo import digits_corruptions


def to_unit(pixels: np.ndarray) -> np.ndarray:
    """uint8 pixels (0-255) to [0, 1], the scale both models are trained on."""
    return np.asarray(pixels, dtype=np.float64) / 255.0


def load_images() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Train and held-out digits as uint8 images (N, 8, 8) and their labels: every
    fourth image is held out (450 of 1,797)."""
    digits = load_digits()
    images = np.rint(digits.images * 255 / 16).astype(np.uint8)
    held = np.arange(len(images)) % 4 == 0
    return images[~held], digits.target[~held], images[held], digits.target[held]


def models() -> dict[str, object]:
    return {
        "digits-svc": make_pipeline(FunctionTransformer(to_unit), SVC()),
        "digits-mlp": make_pipeline(FunctionTransformer(to_unit),
                                    MLPClassifier(hidden_layer_sizes=(32,), max_iter=100,
                                                  random_state=0)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("examples-output/image_digits"),
                        help="folder for the reports and the JSON results")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    train, train_labels, held, held_labels = load_images()
    results = {}
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 100 epochs are enough here
        for name, model in models().items():
            model.fit(train.reshape(len(train), -1), train_labels)
            results[name] = robustcheck.run(adapt(model, flatten=True), held,
                                            held_labels.tolist(), perturbations="image",
                                            seed=0, name=name, progress=False)
    svc, mlp = results["digits-svc"], results["digits-mlp"]

    for name, result in results.items():
        result.to_html(args.out / f"{name}.html")
        result.to_json(args.out / f"{name}.json")
        print(f"{name}: clean accuracy {result.clean['accuracy']['value']:.1%}, robustness "
              f"score {result.score}")

    # B (the MLP) against A (the SVC): a regression is a row where the MLP is worse
    comparison = robustcheck.compare(svc, mlp)
    comparison.to_html(args.out / "svc-vs-mlp.html")
    comparison.to_json(args.out / "svc-vs-mlp.json")
    print()
    print(comparison.table())

    chosen = digits_corruptions(mlp)
    mce = mlp.mce(svc, corruptions=chosen)
    relative = mlp.mce(svc, corruptions=chosen, relative=True)
    (args.out / "mce.json").write_text(json.dumps(
        {"mce": mce.to_dict(), "relative_mce": relative.to_dict()}, indent=1) + "\n",
        encoding="utf-8")
    seconds = time.perf_counter() - started
    print()
    print(mce)
    print(relative.line())
    print()
    worse, better = len(comparison.regressions), len(comparison.improvements)
    more = ("the SVC" if mce.low > 1 else "the MLP" if mce.high < 1 else "neither model")
    print(f"Which is more robust? {more}: mCE of the MLP against the SVC {mce.value:.2f} "
          f"[{mce.low:.2f}, {mce.high:.2f}]; the MLP is significantly worse in {worse} rows "
          f"and better in {better} of {len(comparison.rows)} (paired tests, Holm over "
          f"{comparison.tests} tests).")
    print(f"\ntraining, two audits, the comparison and the mCE took {seconds:.1f} s; reports "
          f"in {args.out}/: digits-svc.html, digits-mlp.html, svc-vs-mlp.html, mce.json "
          "(and the JSON of each)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
