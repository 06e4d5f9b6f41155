"""The model of this example repository: a review sentiment classifier.

Two versions, chosen with the MODEL_VERSION environment variable:

* version 1: word TF-IDF + logistic regression (the released model);
* version 2: character n-grams + logistic regression (the candidate).

SENTIMENT_LOWERCASE=0 makes version 2 stop lower-casing its input: the kind of small
change that passes every unit test and makes the model brittle to upper-case text.
"""

from __future__ import annotations

import os
from functools import cache

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline

from robustcheck.datasets import load_reviews


def split() -> tuple[list[str], list[str], list[str], list[str]]:
    """Every fourth review is held out for validation, the rest trains."""
    data = load_reviews()
    train = [i for i in range(len(data.texts)) if i % 4]
    valid = [i for i in range(len(data.texts)) if not i % 4]
    return ([data.texts[i] for i in train], [data.labels[i] for i in train],
            [data.texts[i] for i in valid], [data.labels[i] for i in valid])


@cache
def train(version: str | None = None) -> Pipeline:
    version = version or os.environ.get("MODEL_VERSION", "1")
    texts, labels, _, _ = split()
    if version == "1":
        vectorizer = TfidfVectorizer()
    else:
        lowercase = os.environ.get("SENTIMENT_LOWERCASE", "1") != "0"
        vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4),
                                     lowercase=lowercase)
    return make_pipeline(vectorizer, LogisticRegression(max_iter=1000)).fit(texts, labels)
