"""``robustcheck demo``: the whole product on a fresh machine, offline, in 1-2 minutes.

Two sentiment classifiers are trained on the spot on the review data set shipped with
robustcheck (word TF-IDF + logistic regression, "v1", against character n-grams +
logistic regression, "v2") and audited under the default text suite; their comparison
says where one is significantly less robust than the other. A tabular audit of two
scikit-learn models on the breast-cancer data set scikit-learn ships runs the tabular
suite: logistic regression crashes on missing values (a finding, not an abort), while
histogram gradient boosting copes. A vision section trains a small MLP and an SVC on
scikit-learn's digits (8x8 grayscale images), audits both under the image suite,
compares them and gives the mCE of the MLP with the SVC as the baseline (which of the
two is more robust to corruption, with a paired-bootstrap interval). When Pillow is
installed (it reads the JPEGs), it also cuts tiles from scikit-learn's two sample
photographs, trains a colour classifier to tell which photograph a tile comes from and
audits it under the ImageNet-C corruptions, so that report's thumbnails are photographs;
without Pillow it says so and goes on. A generative section audits an extractive
summariser written here (:func:`extractive_summary`: a review's most representative
sentence) with ``task="generation"`` on 150 reviews under the text suite: how often a
perturbed review changes the meaning of its summary, and how close the summaries are to
the reviews' first sentences.

The loop closes on the word model (:func:`augmentation_loop`): its audit guides
:func:`robustcheck.augmentation.augment` to perturbed copies of the *training* reviews,
more of what it failed; the same recipe retrained on both ("sentiment-v2-augmented") is
audited on the same held-out reviews and compared with the paired tests, clean accuracy
included.
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["AugmentationLoop", "DemoOutput", "Vision", "augmentation_loop", "digits_models",
           "digits_split", "extractive_summary", "first_sentence", "generation_section",
           "photo_model", "photo_section", "photo_split", "photo_tiles", "run_demo",
           "sentences", "summarise", "text_models", "validation_split", "vision_section"]

TEXT_PERTURBATIONS = "text"
TABULAR_PERTURBATIONS = "tabular"
# what a team might require before a release; the reports show which rows pass
TEXT_THRESHOLDS = {"max_flip_rate": 0.10, "max_crash_rate": 0.0}
TABULAR_THRESHOLDS = {"max_flip_rate": 0.10, "max_crash_rate": 0.0}
IMAGE_THRESHOLDS = {"max_flip_rate": 0.10, "max_crash_rate": 0.0}
V1 = "sentiment-v1-words"
V2_AUGMENTED = "sentiment-v2-augmented"
AIMED = 5
"""The loop's summary follows the units that got the most copies: where it aimed."""
LOOP_SIZE = 3.0
"""Copies per training review in the loop. Measured (seeds 0, 1, 2): with one copy per
review the word model gets ~50 fullwidth copies, too few to learn the fullwidth words
(its fullwidth failure rate falls in every seed but passes Holm's correction in one);
with three it falls from 52% to 23-34%, significantly in all three."""


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
    char = make_pipeline(TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4)),
                         LogisticRegression(max_iter=1000))
    return {"sentiment-v1-words": _word_pipeline().fit(texts, labels),
            "sentiment-v2-chars": char.fit(texts, labels)}


def _word_pipeline() -> Any:
    """The word model's recipe, unfitted: word TF-IDF + logistic regression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000))


def word_model() -> Any:
    """A zero-argument factory, usable as ``--model robustcheck.demo:word_model``."""
    texts, labels, _, _ = validation_split()
    return _word_pipeline().fit(texts, labels)


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
    loop: AugmentationLoop | None = None
    """The augmentation loop on the word model (see :func:`augmentation_loop`)."""
    vision: Vision | None = None
    """The digits section (see :func:`vision_section`)."""
    generation: Any = None
    """The audit of the summariser (see :func:`generation_section`)."""


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
    models = text_models()
    for name, model in models.items():
        say(f"Auditing {name} on {len(texts)} held-out reviews under the text suite...")
        result = run(model, texts, labels, perturbations=TEXT_PERTURBATIONS, seed=seed,
                     name=name, progress=progress)
        _keep(result, TEXT_THRESHOLDS, folder, files, results)
    v1, v2 = results["sentiment-v1-words"], results["sentiment-v2-chars"]
    comparison = compare(v1, v2)
    files["comparison report"] = comparison.to_html(folder / "comparison-v1-vs-v2.html")
    say(f"Augmenting the training reviews where {V1} failed, retraining, auditing again...")
    loop = augmentation_loop(seed=seed, model=models[V1], result=v1, progress=progress)
    _keep(loop.v2, TEXT_THRESHOLDS, folder, files, results, label="augmented")
    files["augmented comparison report"] = loop.comparison.to_html(
        folder / "comparison-v1-vs-augmented.html")
    frame, target, models = tabular_models()
    for name, model in models.items():
        say(f"Auditing {name} on {len(frame)} rows under the tabular suite...")
        with _one_thread():  # crash isolation calls the model on single rows
            result = run(model, frame, target, perturbations=TABULAR_PERTURBATIONS,
                         seed=seed, name=name, progress=progress)
        _check(result, TABULAR_THRESHOLDS)
        results[name] = result
        files[f"{name} report"] = result.to_html(folder / f"{name}.html")
    vision = vision_section(folder, seed=seed, progress=progress, say=say, files=files,
                            results=results)
    generated = generation_section(folder, seed=seed, progress=progress, say=say,
                                   files=files, results=results)
    say("")
    say(summary(results, comparison))
    say("")
    say(loop.summary())
    say("")
    say(vision.summary())
    say("")
    say(generation_summary(generated))
    say("")
    for label, path in files.items():
        say(f"  {label:28} {path}")
    return DemoOutput(files, results, comparison, loop, vision, generated)


def _keep(result: Any, thresholds: dict[str, float], folder: Path, files: dict[str, Path],
          results: dict[str, Any], *, label: str | None = None) -> None:
    """Check ``result``, keep it in ``results`` under its name and write its report and
    JSON into ``folder`` (``files``: "<label> report" and "<label> json", the label
    being the model's name unless given)."""
    _check(result, thresholds)
    results[result.name] = result
    label = label or result.name
    files[f"{label} report"] = result.to_html(folder / f"{result.name}.html")
    files[f"{label} json"] = folder / f"{result.name}.json"
    result.to_json(files[f"{label} json"])


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


# -- vision: digits ----------------------------------------------------------------------

DIGITS_SVC = "digits-svc"
DIGITS_MLP = "digits-mlp"
IMAGE_PERTURBATIONS = "image"
DIGITS_AUDIT = 200
"""Held-out digits the demo audits (of 450): the image suite perturbs each image once per
perturbation x severity, so this bounds the section's time (~15 s without the ImageNet-C
corruptions); ``examples/image_digits.py`` audits all 450."""


NEEDS_PILLOW = ("compression.jpeg", "digital.jpeg")
"""The image perturbations that encode JPEG with Pillow (the ``image`` extra): the demo
leaves them out, and says so, where Pillow is not installed (``pip install ".[sklearn]"``
does not bring it)."""


def has_pillow() -> bool:
    """Whether Pillow (the ``image`` extra) can be imported: the JPEG perturbations and
    the sample photographs need it."""
    import importlib.util

    return importlib.util.find_spec("PIL") is not None


def image_suite() -> tuple[list[str], list[str]]:
    """The image suite the demo runs here and the perturbations left out of it (those
    that need Pillow, when it is missing)."""
    import perturbations

    names = [p.name for p in perturbations.select(IMAGE_PERTURBATIONS)]
    if has_pillow():
        return names, []
    return [n for n in names if n not in NEEDS_PILLOW], [n for n in names if n in NEEDS_PILLOW]


def _to_unit(pixels: Any) -> Any:
    import numpy as np

    return np.asarray(pixels, dtype=np.float64) / 255.0


def digits_split() -> tuple[Any, Any, Any, Any]:
    """scikit-learn's digits as uint8 images (N, 8, 8), 0-255: train on three in four
    (1,347), hold out the fourth (450)."""
    import numpy as np
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.rint(digits.images * 255 / 16).astype(np.uint8)
    held = np.arange(len(images)) % 4 == 0
    return images[~held], digits.target[~held], images[held], digits.target[held]


def digits_models() -> dict[str, Any]:
    """An SVC and a small MLP on the digits' 64 pixels scaled to [0, 1], fitted; the
    audit flattens each batch (``adapt(model, flatten=True)``)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer
    from sklearn.svm import SVC

    train, labels, _, _ = digits_split()
    flat = train.reshape(len(train), -1)
    with _one_thread(), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 100 epochs: 97% accurate
        return {
            DIGITS_SVC: make_pipeline(FunctionTransformer(_to_unit), SVC()).fit(flat, labels),
            DIGITS_MLP: make_pipeline(
                FunctionTransformer(_to_unit),
                MLPClassifier(hidden_layer_sizes=(32,), max_iter=100, random_state=0),
            ).fit(flat, labels),
        }


def digits_corruptions(result: Any) -> list[str]:
    """What the mCE counts: the ImageNet-C families in the result, else the pipeline
    faults a model is expected to survive (the invariant image perturbations)."""
    import perturbations

    from ._mce import CORRUPTION_FAMILIES

    families = [f for f in CORRUPTION_FAMILIES if any(r.family == f for r in result.rows)]
    if families:
        return families
    invariant = {p.name for p in perturbations.catalogue(modality="image")
                 if p.expectation == "invariant"}
    return sorted({r.perturbation for r in result.rows} & invariant)


@dataclass
class Vision:
    """The digits section: both audits, their ``comparison`` (the MLP as B against the
    SVC as A), and the ``mce`` and ``relative`` mCE of the MLP against the SVC."""

    svc: Any
    mlp: Any
    comparison: Any
    mce: Any
    relative: Any
    photos: Any = None
    """The audit of the photographs model (see :func:`photo_section`); None without
    Pillow."""

    def summary(self) -> str:
        m, c = self.mce, self.comparison
        more = ("the SVC" if m.low > 1 else "the MLP" if m.high < 1 else
                "neither, significantly")
        accuracy = {r.name: r.clean["accuracy"]["value"] for r in (self.svc, self.mlp)}
        return "\n".join([
            f"Vision (digits, {self.svc.n} held-out 8x8 images): clean accuracy "
            f"{DIGITS_SVC} {100 * accuracy[DIGITS_SVC]:.1f}%, {DIGITS_MLP} "
            f"{100 * accuracy[DIGITS_MLP]:.1f}%; robustness score {self.svc.score} and "
            f"{self.mlp.score}",
            f"  {m.line()}",
            f"  {self.relative.line()}",
            f"  the MLP against the SVC: {len(c.regressions)} rows significantly worse, "
            f"{len(c.improvements)} better, {len(c.mixed)} mixed (Holm over {c.tests} tests)",
            f"  more robust to corruption: {more}",
            photo_summary(self.photos),
        ])


def vision_section(folder: str | Path, *, seed: int = 0,
                   progress: bool | Callable[[int, int, str], Any] | None = None,
                   say: Callable[[str], Any] = print, files: dict[str, Path] | None = None,
                   results: dict[str, Any] | None = None) -> Vision:
    """Train the digits models, audit both under the image suite, compare them, and
    take the mCE of the MLP against the SVC; reports into ``folder`` (their paths added
    to ``files``, the results to ``results``)."""
    import json

    from .adapters import adapt
    from .comparison import compare
    from .runner import run

    folder = Path(folder)
    files = {} if files is None else files
    results = {} if results is None else results
    train, _, held, held_labels = digits_split()
    held, held_labels = held[:DIGITS_AUDIT], held_labels[:DIGITS_AUDIT]
    say(f"Training an SVC and a small MLP on {len(train)} handwritten digits "
        "(8x8 grayscale images)...")
    models = digits_models()
    suite, left_out = image_suite()
    if left_out:
        say(f"(Pillow is not installed: {', '.join(left_out)} left out; "
            'pip install "robustcheck[image]" to run them)')
    for name, model in models.items():
        say(f"Auditing {name} on {len(held)} held-out digits under the image suite...")
        with _one_thread():
            result = run(adapt(model, flatten=True), held, held_labels.tolist(),
                         perturbations=suite, seed=seed, name=name, progress=progress)
        _keep(result, IMAGE_THRESHOLDS, folder, files, results)
    svc, mlp = results[DIGITS_SVC], results[DIGITS_MLP]
    comparison = compare(svc, mlp)
    files["digits comparison report"] = comparison.to_html(folder / "comparison-digits.html")
    chosen = digits_corruptions(mlp)
    vision = Vision(svc, mlp, comparison, mlp.mce(svc, corruptions=chosen),
                    mlp.mce(svc, corruptions=chosen, relative=True))
    files["digits mce json"] = folder / "mce-digits.json"
    files["digits mce json"].write_text(json.dumps(
        {"mce": vision.mce.to_dict(), "relative_mce": vision.relative.to_dict()},
        indent=1) + "\n", encoding="utf-8")
    vision.photos = photo_section(folder, seed=seed, progress=progress, say=say, files=files,
                                  results=results)
    return vision


# -- vision: photographs -----------------------------------------------------------------

PHOTOS = ("china", "flower")
"""scikit-learn's two sample photographs (``load_sample_images``: china.jpg and
flower.jpg, 427 x 640 RGB; scikit-learn reads them with Pillow). A tile's label is the
photograph it was cut from."""
PHOTO_MODEL = "photos-logistic"
PHOTO_SIDE = 64
PHOTO_TILES = 80
"""Tiles the demo cuts from each photograph; a quarter of the 160 (40) are audited."""
PHOTO_PERTURBATIONS = ("image_noise", "blur", "weather", "digital")
"""The demo audits the photographs under the ImageNet-C corruptions only (about 5 s for
40 tiles of 64 x 64); ``examples/image_photos.py`` runs the whole image suite."""
NEEDS_IMAGE_EXTRA = ('(Pillow is not installed: the photographs section is skipped; '
                     'pip install "robustcheck[image]" to run it)')


def photo_tiles(seed: int = 0, *, per_photo: int = PHOTO_TILES,
                side: int = PHOTO_SIDE) -> tuple[Any, Any]:
    """``per_photo`` square tiles of ``side`` pixels cut from each of :data:`PHOTOS`, at
    positions drawn from ``np.random.default_rng(seed)``, half of them mirrored left to
    right, in a shuffled order: uint8 ``(2 * per_photo, side, side, 3)`` and their
    labels (the photograph's name). Needs Pillow (ImportError without)."""
    import numpy as np
    from sklearn.datasets import load_sample_images

    from .errors import InvalidArgument

    if isinstance(per_photo, bool) or not isinstance(per_photo, int) or per_photo < 1:
        raise InvalidArgument(f"per_photo={per_photo!r}: give a whole number of tiles >= 1")
    if isinstance(side, bool) or not isinstance(side, int) or not 1 <= side <= 427:
        raise InvalidArgument(f"side={side!r}: give a tile side in pixels from 1 to 427 "
                              "(the photographs are 427 x 640)")
    data = load_sample_images()
    photos = {Path(name).stem: image for name, image in zip(data.filenames, data.images)}
    rng = np.random.default_rng(seed)
    tiles = []
    for name in PHOTOS:
        photo = photos[name]
        tops = rng.integers(0, photo.shape[0] - side + 1, per_photo)
        lefts = rng.integers(0, photo.shape[1] - side + 1, per_photo)
        mirrored = rng.random(per_photo) < 0.5
        for top, left, mirror in zip(tops, lefts, mirrored):
            tile = photo[top:top + side, left:left + side]
            tiles.append(tile[:, ::-1] if mirror else tile)
    order = rng.permutation(len(tiles))
    labels = np.repeat(np.array(PHOTOS), per_photo)
    return np.ascontiguousarray(np.stack(tiles)[order]), labels[order]


def photo_split(seed: int = 0, *, per_photo: int = PHOTO_TILES,
                side: int = PHOTO_SIDE) -> tuple[Any, Any, Any, Any]:
    """:func:`photo_tiles`: train on three tiles in four, hold out the fourth."""
    import numpy as np

    tiles, labels = photo_tiles(seed, per_photo=per_photo, side=side)
    held = np.arange(len(tiles)) % 4 == 0
    return tiles[~held], labels[~held], tiles[held], labels[held]


def _photo_features(flat: Any) -> Any:
    """Colour features of flattened square RGB tiles (N, side * side * 3), uint8 0-255:
    a 4 x 4 x 4 joint colour histogram, each channel's mean and spread, and the mean
    horizontal gradient (texture). Another channel count raises, as a model fed RGBA
    does."""
    import math

    import numpy as np

    flat = np.asarray(flat)
    side = math.isqrt(flat.shape[1] // 3)
    if side * side * 3 != flat.shape[1]:
        raise ValueError(f"expected square RGB tiles flattened to side * side * 3 values, "
                         f"got {flat.shape[1]} values per tile")
    pixels = flat.reshape(len(flat), side, side, 3).astype(np.float64) / 255.0
    bins = np.clip((pixels * 4).astype(np.int64), 0, 3)
    cells = (bins[..., 0] * 16 + bins[..., 1] * 4 + bins[..., 2]).reshape(len(flat), -1)
    histogram = np.stack([np.bincount(c, minlength=64) for c in cells]) / (side * side)
    gradient = np.abs(np.diff(pixels, axis=2)).mean(axis=(1, 2, 3))[:, None]
    return np.hstack([histogram, pixels.mean(axis=(1, 2)), pixels.std(axis=(1, 2)),
                      gradient])


def photo_model(tiles: Any, labels: Any) -> Any:
    """Which photograph a tile comes from: colour features (:func:`_photo_features`),
    standardised, into a logistic regression, fitted on ``tiles`` (N, side, side, 3)
    flattened; the audit flattens each batch (``adapt(model, flatten=True)``)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    model = make_pipeline(FunctionTransformer(_photo_features), StandardScaler(),
                          LogisticRegression(max_iter=1000))
    with _one_thread():
        return model.fit(tiles.reshape(len(tiles), -1), labels)


def photo_section(folder: str | Path, *, seed: int = 0,
                  progress: bool | Callable[[int, int, str], Any] | None = None,
                  say: Callable[[str], Any] = print, files: dict[str, Path] | None = None,
                  results: dict[str, Any] | None = None) -> Any:
    """Audit :func:`photo_model` on held-out tiles of the sample photographs under the
    ImageNet-C corruptions (:data:`PHOTO_PERTURBATIONS`), so the report's thumbnails are
    photographs; the report and JSON into ``folder``. Without Pillow, say so in one line
    and return None."""
    from .adapters import adapt
    from .runner import run

    if not has_pillow():
        say(NEEDS_IMAGE_EXTRA)
        return None
    folder = Path(folder)
    files = {} if files is None else files
    results = {} if results is None else results
    train, labels, held, held_labels = photo_split(seed)
    say(f"Training a colour classifier on {len(train)} {PHOTO_SIDE}x{PHOTO_SIDE} tiles of "
        f"scikit-learn's sample photographs ({' vs '.join(PHOTOS)})...")
    model = photo_model(train, labels)
    say(f"Auditing {PHOTO_MODEL} on {len(held)} held-out tiles under the ImageNet-C "
        "corruptions...")
    with _one_thread():
        result = run(adapt(model, flatten=True), held, held_labels.tolist(),
                     perturbations=list(PHOTO_PERTURBATIONS), seed=seed, name=PHOTO_MODEL,
                     progress=progress)
    _keep(result, IMAGE_THRESHOLDS, folder, files, results, label="photos")
    return result


def photo_summary(result: Any) -> str:
    """One line on the photographs audit (or why there is none)."""
    if result is None:
        return 'Photographs: skipped (Pillow missing: pip install "robustcheck[image]")'
    worst = max(result.rows, key=lambda r: r.metrics["failure_rate"].value)
    return (f"Photographs ({result.n} held-out {PHOTO_SIDE}x{PHOTO_SIDE} tiles of "
            f"{' and '.join(f'{p}.jpg' for p in PHOTOS)}): clean accuracy "
            f"{100 * result.clean['accuracy']['value']:.1f}%, robustness score "
            f"{result.score}; worst: {worst.key} fails "
            f"{100 * worst.metrics['failure_rate'].value:.0f}%")


# -- generation: an extractive summariser ------------------------------------------------

SUMMARISER = "summariser-extractive"
GENERATION_REVIEWS = 150
"""Shipped reviews the summariser is audited on (the first 150 of 1,050)."""
GENERATION_PERTURBATIONS = "text"
GENERATION_THRESHOLDS = {"max_change_rate": 0.10, "max_crash_rate": 0.0}
_SENTENCE = re.compile(r"\S.*?(?:[.!?…]+(?=\s|$)|$)", re.DOTALL)
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")
_STOPWORD_LIST = """
a about after all also am an and any are as at be been but by can could did do does
for from had has have he her here him his how i if in into is it its just me more my
no not of on or our out she so some such than that the their them then there these
they this those to too up very was we were what when where which who why will with
would you your"""
_STOPWORDS = frozenset(_STOPWORD_LIST.split())  # words that say nothing of what a review is about


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` as written in it (each ends at a run of ``.!?…``
    followed by white space, or at the end of the text); none for a blank text."""
    return [m.group().strip() for m in _SENTENCE.finditer(text)]


def first_sentence(text: str) -> str:
    """The first sentence of ``text`` ("" for a blank text): the demo's reference summary."""
    found = sentences(text)
    return found[0] if found else ""


def _content_words(sentence: str) -> set[str]:
    return {w for w in _WORD.findall(sentence.lower()) if len(w) > 2 and w not in _STOPWORDS}


def extractive_summary(text: str) -> str:
    """The sentence of ``text`` that best stands for the whole: the most content words
    (not in a short stop-word list, three letters or more), each counting twice when
    another sentence has it too; ties go to the first. Returned as written in ``text``;
    "" for a blank text. A pure function of the text: no model, no randomness."""
    found = sentences(text)
    if len(found) < 2:
        return found[0] if found else ""
    words = [_content_words(s) for s in found]
    seen = Counter(w for ws in words for w in ws)
    shared = {w for w, n in seen.items() if n > 1}  # in another sentence too
    return found[max(range(len(found)), key=lambda i: (len(words[i]) + len(words[i] & shared),
                                                       -i))]


def summarise(texts: Any) -> list[str]:
    """:func:`extractive_summary` of each text: the summariser as a batched model, a list
    of texts in, one str each out."""
    return [extractive_summary(text) for text in texts]


def generation_section(folder: str | Path, *, seed: int = 0,
                       progress: bool | Callable[[int, int, str], Any] | None = None,
                       say: Callable[[str], Any] = print,
                       files: dict[str, Path] | None = None,
                       results: dict[str, Any] | None = None) -> Any:
    """Audit :func:`summarise` with ``task="generation"`` on the first
    :data:`GENERATION_REVIEWS` shipped reviews under the text suite: how often a
    perturbed review changes the meaning of its summary (token F1 with the clean
    summary below 0.5), and, with each review's first sentence as the reference, how
    correct the summaries are; the report and JSON into ``folder`` (their paths added to
    ``files``, the result to ``results``)."""
    from .datasets import load_reviews
    from .runner import run

    folder = Path(folder)
    files = {} if files is None else files
    results = {} if results is None else results
    reviews = load_reviews().texts[:GENERATION_REVIEWS]
    say(f"Auditing an extractive summariser on {len(reviews)} reviews under the text "
        "suite (task: generation)...")
    result = run(summarise, reviews, [first_sentence(r) for r in reviews],
                 task="generation", perturbations=GENERATION_PERTURBATIONS, seed=seed,
                 name=SUMMARISER, progress=progress)
    _keep(result, GENERATION_THRESHOLDS, folder, files, results, label="summariser")
    return result


def generation_summary(result: Any) -> str:
    """One line on the summariser's audit, and its worst rows."""
    clean = result.clean
    correct = clean["correctness"]
    floor = clean["self_change_rate"]
    changed = [r for r in result.rows if r.metrics["change_rate"].value > 0]
    worst = sorted(result.rows, key=lambda r: -r.metrics["change_rate"].value)[:3]
    return "\n".join([
        f"Generation ({SUMMARISER}, {result.n} reviews, text suite): correctness against "
        f"the first sentence {correct['value']:.2f} [{correct['low']:.2f}, "
        f"{correct['high']:.2f}] (token F1); noise floor {100 * floor['value']:.0f}%"
        f"{' (deterministic)' if floor['value'] == 0 else ''}; the summary's meaning "
        f"changed in {len(changed)} of "
        f"{len(result.rows)} rows; robustness score {result.score}",
        "  worst: " + ", ".join(f"{r.key} {100 * r.metrics['change_rate'].value:.0f}%"
                                for r in worst),
    ])


# -- the augmentation loop -------------------------------------------------------------


@dataclass
class AugmentationLoop:
    """One turn of the loop (:func:`augmentation_loop`): the word model's audit (``v1``),
    the copies its failures asked for (``augmented``), the audit of the same recipe
    retrained with them (``v2``), their ``comparison`` and the paired test of their
    clean accuracy (``clean``: ``v1`` and ``v2`` accuracies, ``v1_only`` and ``v2_only``
    the reviews only one of them got right, ``p_value`` of the exact McNemar test,
    ``confidence``: the mean probability each gives its answer), the two fitted
    ``models`` and the number of training reviews (``train``)."""

    v1: Any
    v2: Any
    augmented: Any
    comparison: Any
    clean: dict[str, Any]
    models: dict[str, Any]
    train: int
    """How many training reviews the copies were made from."""

    def changed(self, metric: str, verdict: str) -> list[dict[str, Any]]:
        """The comparison's rows whose ``metric`` got ``verdict`` ("improvement" or
        "regression"), after Holm's correction over every test of the comparison."""
        return [r for r in self.comparison.rows
                if r["metrics"].get(metric, {}).get("verdict") == verdict]

    def aimed(self) -> list[dict[str, Any]]:
        """The comparison's rows of the :data:`AIMED` units that got the most copies."""
        top = sorted(self.augmented.plan, key=lambda u: (-u["copies"], u["perturbation"],
                                                         u["severity"]))[:AIMED]
        keys = [(u["perturbation"], u["severity"]) for u in top]
        rows = {(r["perturbation"], r["severity"]): r for r in self.comparison.rows}
        return [rows[k] for k in keys if k in rows]

    def summary(self) -> str:
        """What happened, in numbers: the copies, clean accuracy, the failure rates
        where the copies aimed and everywhere, the confidence drops."""
        c, copies = self.clean, self.augmented
        rate = "failure_rate"
        better, worse = self.changed(rate, "improvement"), self.changed(rate, "regression")
        drops_up = self.changed("confidence_drop", "regression")
        drops_down = self.changed("confidence_drop", "improvement")
        confidence = c["confidence"]
        lines = [
            f"Augmentation loop: {len(copies.sources)} perturbed copies of the "
            f"{self.train} training reviews, weighted by the failure rates of "
            f"{self.v1.name}; the same recipe retrained on both is {self.v2.name}, "
            f"audited on the same {self.v1.n} held-out reviews.",
            f"  clean accuracy: {100 * c['v1']:.1f}% -> {100 * c['v2']:.1f}% (paired McNemar: "
            f"{c['v1_only']} reviews only v1 got right, {c['v2_only']} only v2; p "
            f"{c['p_value']:.3g})",
            "  where the copies aimed (failure rate, paired McNemar, Holm over all "
            f"{self.comparison.tests} tests):",
        ]
        for row in self.aimed():
            lines.append("    " + _rate_line(row))
        lines.append(f"  failure rate significantly lower in {_rows(better)}, higher in "
                     f"{_rows(worse)}")
        lines.append(f"  confidence drop significantly larger in {len(drops_up)} rows, "
                     f"smaller in {len(drops_down)} (mean clean confidence {confidence[0]:.3f} -> "
                     f"{confidence[1]:.3f})")
        lines.append(f"  robustness score {self.v1.score} -> {self.v2.score}")
        return "\n".join(lines)


def augmentation_loop(*, seed: int = 0, size: float = LOOP_SIZE, model: Any = None,
                      result: Any = None,
                      progress: bool | Callable[[int, int, str], Any] | None = False
                      ) -> AugmentationLoop:
    """Audit v1, augment the training split where it failed, retrain v2, audit, compare.

    v1 is the word model (``model``: a fitted scikit-learn estimator of that kind,
    trained on the training split; default :func:`word_model`), audited on the
    held-out split of :func:`validation_split` under the text suite with ``seed``
    (``result``: that audit, when already made). :func:`robustcheck.augmentation.augment`
    makes ``size`` x len(training split) copies of the training reviews, weighted by
    v1's failure rates; a clone of v1 fitted on the training reviews and the copies is
    v2, audited on the same held-out reviews with the same seed, so that
    :func:`robustcheck.compare` pairs every sample. Nothing is written.
    """
    import numpy as np
    from sklearn.base import clone

    from .augmentation import augment
    from .comparison import compare
    from .runner import run
    from .stats import paired_outcome_test

    texts, labels, held, held_labels = validation_split()
    v1 = word_model() if model is None else model
    before = result if result is not None else run(
        v1, held, held_labels, perturbations=TEXT_PERTURBATIONS, seed=seed, name=V1,
        progress=progress)
    copies = augment(texts, labels, result=before, perturbations=TEXT_PERTURBATIONS,
                     size=size, seed=seed)
    new_texts, new_labels = copies
    v2 = clone(v1).fit(texts + new_texts, labels + new_labels)
    after = run(v2, held, held_labels, perturbations=TEXT_PERTURBATIONS, seed=seed,
                name=V2_AUGMENTED, progress=progress)
    right = [np.asarray(m.predict(held)) == np.asarray(held_labels) for m in (v1, v2)]
    test = paired_outcome_test(*right)
    clean = {"v1": test.rate_a, "v2": test.rate_b, "v1_only": test.b, "v2_only": test.c,
             "p_value": test.p_value,
             "confidence": [float(m.predict_proba(held).max(axis=1).mean()) for m in (v1, v2)]}
    return AugmentationLoop(before, after, copies, compare(before, after), clean,
                            {"v1": v1, "v2": v2}, len(texts))


def _rows(rows: list[Any]) -> str:
    """"2 rows (a@1, b@0.5)", "0 rows"."""
    keys = ", ".join(f"{r['perturbation']}@{r['severity']:g}" for r in rows)
    return f"{len(rows)} row{'' if len(rows) == 1 else 's'}" + (f" ({keys})" if keys else "")


def _rate_line(row: dict[str, Any]) -> str:
    m = row["metrics"]["failure_rate"]
    p = m.get("p_adjusted")
    shown = "-" if p is None else "<0.0001" if p < 1e-4 else f"{p:.4f}"
    verdict = {"improvement": "lower", "regression": "higher"}.get(m["verdict"],
                                                                   "no significant change")
    return (f"{row['perturbation']}@{row['severity']:g}: {100 * m['a']['value']:.1f}% -> "
            f"{100 * m['b']['value']:.1f}% (p {shown}): {verdict}")
