"""What a generative model answers for one prompt: :class:`Generated` (text, and what it
cost when the model reports it), and the reader that turns a batch of answers into a
:class:`~robustcheck._prediction_data.Prediction` of the ``generation`` task.

A generation adapter (a callable, a Hugging Face text-generation pipeline, an
OpenAI-compatible endpoint) returns, per prompt, a ``str`` or a :class:`Generated`. The
texts become the prediction's ``labels`` (an object array, so nothing numpy would do to
a fixed-width string, such as dropping trailing NULs, touches them), the token counts
and cost its ``usage`` (NaN where not reported).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._prediction_data import USAGE_COLUMNS, Prediction, _snip
from .errors import ModelOutputError

__all__ = ["GENERATION_KIND", "Generated", "read_generated"]

GENERATION_KIND = "generation"


@dataclass(frozen=True)
class Generated:
    """One generated answer: its ``text`` and, when the model reports them, the tokens
    of the prompt and of the completion, and the ``cost`` of the call's share for this
    prompt (in whatever currency the prices were given in)."""

    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise ModelOutputError(f"Generated.text must be a str; got "
                                   f"{type(self.text).__name__} {_snip(self.text)}")
        for name in ("prompt_tokens", "completion_tokens", "cost"):
            value = getattr(self, name)
            if value is None:
                continue
            ok = isinstance(value, (int, float, np.integer, np.floating)) and \
                not isinstance(value, bool) and math.isfinite(value) and value >= 0
            if not ok or (name != "cost" and float(value) != int(value)):
                kind = "a non-negative number" if name == "cost" else \
                    "a non-negative whole number"
                raise ModelOutputError(f"Generated.{name} must be {kind} or None; got "
                                       f"{value!r}")

    def usage(self) -> tuple[float, float, float]:
        return tuple(math.nan if v is None else float(v)  # type: ignore[return-value]
                     for v in (self.prompt_tokens, self.completion_tokens, self.cost))


def read_generated(raw: Any, n: int, *, source: str, hint: str = "") -> Prediction:
    """A batch of ``n`` answers (each a ``str``, a :class:`Generated` or a mapping with
    ``"text"`` and optionally ``"prompt_tokens"``, ``"completion_tokens"``, ``"cost"``)
    as a generation prediction. Anything else raises ModelOutputError naming the input."""
    if isinstance(raw, (str, bytes)) or not isinstance(raw, (Sequence, np.ndarray)):
        raise ModelOutputError(
            f"{source} returned {type(raw).__name__} {_snip(raw)} for {n} prompts; a "
            f"generation model returns a list with one str per prompt{hint}")
    if len(raw) != n:
        raise ModelOutputError(f"{source} returned {len(raw)} outputs for {n} prompts; "
                               f"expected one output per prompt{hint}")
    texts = np.empty(n, dtype=object)
    usage = np.full((n, USAGE_COLUMNS), np.nan)
    reported = False
    for i, item in enumerate(raw):
        if isinstance(item, str):
            texts[i] = item
            continue
        if isinstance(item, Mapping) and "text" in item:
            try:
                item = Generated(item["text"], item.get("prompt_tokens"),
                                 item.get("completion_tokens"), item.get("cost"))
            except ModelOutputError as err:
                raise ModelOutputError(f"{source}, output {i}: {err}") from None
        if not isinstance(item, Generated):
            raise ModelOutputError(
                f"{source} returned {type(item).__name__} {_snip(item)} for prompt {i}; a "
                "generation model returns a str (or robustcheck.adapters.Generated with "
                f"token counts) per prompt{hint}")
        texts[i] = item.text
        row = item.usage()
        if not all(math.isnan(v) for v in row):
            usage[i] = row
            reported = True
    return Prediction(labels=texts, kind=GENERATION_KIND, usage=usage if reported else None)
