"""Batched text perturbations run in chunks of ``TEXT_CHUNK`` texts (issue: scale, text
engine); the draws are keyed per input, so the output is the same for any chunk size."""

from __future__ import annotations

import pytest

import perturbations
from perturbations import _registry
from robustcheck.datasets import load_reviews

TEXTS = load_reviews().texts[:300]
BATCHED = [p.name for p in perturbations.catalogue() if p.modality == "text" and p.batched]


@pytest.mark.parametrize("name", BATCHED)
def test_a_batched_text_perturbation_gives_the_same_output_in_any_chunk_size(
        monkeypatch, name):
    p = perturbations.get(name)
    whole = p.apply(TEXTS, severity=1.0, seed=5, indices=range(1000, 1300))
    monkeypatch.setattr(_registry, "TEXT_CHUNK", 7)
    assert p.apply(TEXTS, severity=1.0, seed=5, indices=range(1000, 1300)) == whole


def test_the_chunks_are_the_size_asked(monkeypatch):
    seen: list[int] = []

    def upper(texts, *, draws, severity):
        seen.append(len(texts))
        assert len(draws) == len(texts)
        return [t.upper() for t in texts]

    p = perturbations.perturbation(name="chunk.upper", modality="text", batched=True,
                                   expectation="invariant", description="Upper case.",
                                   severity="none", register=False)(upper)
    monkeypatch.setattr(_registry, "TEXT_CHUNK", 4)
    assert p.apply(["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"], severity=1.0) == \
        list("ABCDEFGHIJ")
    assert seen == [4, 4, 2]
