from __future__ import annotations

import pytest
import sentiment


@pytest.fixture(scope="session")
def model():
    return sentiment.train()


@pytest.fixture(scope="session")
def validation_set() -> tuple[list[str], list[str]]:
    _, _, texts, labels = sentiment.split()
    return texts, labels
