"""Tests of robustcheck.datasets: the bundled review data set and its generator."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from types import ModuleType

import pytest

from robustcheck.datasets import ReviewData, load_reviews

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "make_reviews.py"


@pytest.fixture(scope="module")
def script() -> Iterator[ModuleType]:
    """scripts/make_reviews.py imported as a module (it is not part of the package)."""
    name = "_robustcheck_make_reviews"
    spec = importlib.util.spec_from_file_location(name, SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while being created
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[name]


@pytest.fixture(scope="module")
def reviews() -> ReviewData:
    return load_reviews()


def test_there_are_at_least_600_reviews_in_three_parallel_lists(reviews):
    assert len(reviews.texts) >= 600
    assert len(reviews.texts) == len(reviews.labels) == len(reviews.domains) == len(reviews)


def test_the_reviews_come_from_at_least_six_roughly_balanced_domains(reviews):
    counts = Counter(reviews.domains)
    assert len(counts) >= 6
    assert max(counts.values()) <= 2 * min(counts.values())


def test_labels_are_only_positive_or_negative_and_balanced(reviews):
    counts = Counter(reviews.labels)
    assert set(counts) == {"positive", "negative"}
    assert 0.45 <= counts["positive"] / len(reviews.labels) <= 0.55


def test_every_domain_has_both_labels(reviews):
    for domain in set(reviews.domains):
        labels = {lab for lab, dom in zip(reviews.labels, reviews.domains) if dom == domain}
        assert labels == {"positive", "negative"}, domain


def test_no_review_text_appears_twice(reviews):
    repeated = [text for text, n in Counter(reviews.texts).items() if n > 1]
    assert repeated == []


def test_every_review_has_between_6_and_30_words(reviews):
    outside = [text for text in reviews.texts if not 6 <= len(text.split()) <= 30]
    assert outside == []


def test_reviews_are_non_empty_single_lines_without_surrounding_space(reviews):
    bad = [t for t in reviews.texts if t != t.strip() or "\n" in t or "\r" in t]
    assert bad == []


def test_the_shipped_csv_is_exactly_what_the_generator_writes(script, tmp_path):
    output = tmp_path / "reviews.csv"
    count = script.write_reviews(output)
    shipped = files("robustcheck").joinpath("data").joinpath("reviews.csv").read_bytes()
    assert output.read_bytes() == shipped, (
        "robustcheck/data/reviews.csv is stale: run `python scripts/make_reviews.py`"
    )
    assert count == len(load_reviews())


def test_the_csv_is_utf8_with_a_header_and_unix_line_endings():
    raw = files("robustcheck").joinpath("data").joinpath("reviews.csv").read_bytes()
    text = raw.decode("utf-8")
    assert text.startswith("text,label,domain\n")
    assert "\r" not in text
    assert text.endswith("\n")


def test_the_generator_depends_on_its_seed_and_nothing_else(script):
    first = script.generate_reviews(seed=1, per_domain=20)
    assert script.generate_reviews(seed=1, per_domain=20) == first
    assert script.generate_reviews(seed=2, per_domain=20) != first


def test_a_word_tfidf_logistic_regression_scores_well_but_not_perfectly(reviews):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline

    x_train, x_test, y_train, y_test = train_test_split(
        reviews.texts, reviews.labels, test_size=0.25, random_state=0, stratify=reviews.labels
    )
    model = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000))
    accuracy = model.fit(x_train, y_train).score(x_test, y_test)
    assert 0.80 <= accuracy <= 0.99


def test_returned_lists_are_copies_that_callers_may_change():
    first = load_reviews()
    original = (list(first.texts), list(first.labels), list(first.domains))
    first.texts[0] = "changed"
    first.labels.clear()
    first.domains.append("extra")
    second = load_reviews()
    assert (second.texts, second.labels, second.domains) == original
    assert second.texts is not first.texts


def test_the_frame_has_one_row_per_review_in_the_same_order(reviews):
    frame = reviews.frame()
    assert list(frame.columns) == ["text", "label", "domain"]
    assert frame["text"].tolist() == reviews.texts
    assert frame["label"].tolist() == reviews.labels
    assert frame["domain"].tolist() == reviews.domains
