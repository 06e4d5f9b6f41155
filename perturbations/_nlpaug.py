"""Wrapping any nlpaug augmenter as a perturbation.

nlpaug draws from Python's and numpy's *global* generators. To keep the determinism
contract, each call runs under a lock with both global generators set to a state
derived from the input's own key, and their previous states are put back afterwards:
the output depends only on (seed, name, index), and the caller's global random state
is left exactly as it was. Other threads drawing from the global generators at the same
moment would see the borrowed state; robustcheck itself never does.
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from ._errors import InvalidArgument
from ._registry import Perturbation, perturbation

__all__ = ["from_nlpaug"]

_GLOBAL_STATE = threading.Lock()
_RATE_ATTRIBUTES = ("aug_p", "aug_word_p", "aug_char_p")


@contextlib.contextmanager
def borrowed_global_random(seed: int) -> Iterator[None]:
    """Set ``random`` and ``numpy.random``'s global states from ``seed`` for the
    duration of the block, then restore them."""
    with _GLOBAL_STATE:
        saved_py, saved_np = random.getstate(), np.random.get_state()
        random.setstate(random.Random(seed).getstate())
        np.random.set_state(np.random.RandomState(seed).get_state())
        try:
            yield
        finally:
            random.setstate(saved_py)
            np.random.set_state(saved_np)


@contextlib.contextmanager
def _scaled_rates(augmenter: Any, severity: float) -> Iterator[None]:
    """Scale the augmenter's own rates (``aug_p``, ``aug_word_p``, ``aug_char_p``) by
    severity for one call; restore them afterwards."""
    saved = {a: getattr(augmenter, a) for a in _RATE_ATTRIBUTES
             if isinstance(getattr(augmenter, a, None), (int, float))}
    for attribute, value in saved.items():
        setattr(augmenter, attribute, value * severity)
    try:
        yield
    finally:
        for attribute, value in saved.items():
            setattr(augmenter, attribute, value)


def from_nlpaug(augmenter: Any, *, name: str, expectation: str = "invariant",
                description: str | None = None, register: bool = False) -> Perturbation:
    """A :class:`Perturbation` that calls ``augmenter.augment`` on each text.

    Severity scales the augmenter's own rate attributes (``aug_p``, ``aug_word_p``,
    ``aug_char_p``: 1.0 keeps the rates it was built with); an augmenter without them is
    applied as it is at any severity above 0. Pass ``register=True`` to add it to the
    catalogue so that ``perturbations=[name]`` finds it.

    >>> import nlpaug.augmenter.char as nac                      # doctest: +SKIP
    >>> p = from_nlpaug(nac.OcrAug(), name="ocr.nlpaug")           # doctest: +SKIP
    """
    if not callable(getattr(augmenter, "augment", None)):
        raise InvalidArgument(
            f"augmenter must be an nlpaug augmenter (an object with .augment()), got "
            f"{type(augmenter).__name__}"
        )
    kind = type(augmenter).__name__

    def augment(text: str, *, rng: np.random.Generator, severity: float) -> str:
        if not text.strip():
            return text
        seed = int(rng.integers(0, 2**32 - 1))
        with borrowed_global_random(seed), _scaled_rates(augmenter, severity):
            out = augmenter.augment(text)
        if isinstance(out, list):
            out = out[0] if out else text
        return out if isinstance(out, str) else text

    augment.__module__ = type(augmenter).__module__
    return perturbation(
        name=name, modality="text", expectation=expectation,
        description=description or f"nlpaug {kind} ({getattr(augmenter, 'name', kind)}).",
        severity="scales the augmenter's own rates (aug_p / aug_word_p / aug_char_p); "
                 "1.0 keeps the rates it was built with",
        register=register,
    )(augment)
