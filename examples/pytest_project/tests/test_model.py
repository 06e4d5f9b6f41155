"""Ordinary unit tests: the model works on clean data."""

from __future__ import annotations


def test_the_model_is_accurate_on_clean_validation_data(model, validation_set) -> None:
    texts, labels = validation_set
    accuracy = sum(p == y for p, y in zip(model.predict(texts), labels)) / len(labels)
    assert accuracy > 0.8


def test_the_model_answers_one_of_two_labels(model) -> None:
    assert set(model.predict(["great", "awful"])) <= {"positive", "negative"}
