"""Wrapping nlpaug augmenters as perturbations."""

from __future__ import annotations

from typing import Any

from ._registry import Perturbation


def from_nlpaug(augmenter: Any, *, name: str) -> Perturbation:
    raise NotImplementedError("from_nlpaug is not written yet")
