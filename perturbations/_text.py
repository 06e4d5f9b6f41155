"""Text perturbations: importing this module registers them all."""

from __future__ import annotations

from . import _text_chars, _text_layout, _text_negation, _text_swaps, _text_words  # noqa: F401
