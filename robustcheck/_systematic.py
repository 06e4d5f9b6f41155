"""Systematic crashes: a unit on which the model raises one exception on nearly every
input is measured on a seeded sample of probes instead of on every input.

Crash isolation costs about one model call per input when every input fails (a model
fed numbers as strings, say), which on 100k rows is hours for a finding the first few
crashes already show. So before a big unit is predicted, a seeded *pilot* of its inputs
goes first. When nearly all of the pilot crashes, with one exception type and message
pattern, the probes are extended to :data:`PROBES` inputs; when those confirm it, the
unit is recorded as a systematic crash: its rates are estimated from the probes (with
their intervals), the crash with its examples, and every other changed input is *not
evaluated*: neither answered nor crashed, left out of every rate and of the paired
samples of a comparison. Otherwise the rest is predicted as usual, the probes' answers
kept.

The probes are the first inputs of a permutation keyed by (seed, perturbation, severity),
so the same run gives the same probes and the same result whatever the batch size, the
worker count or the order units run in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from perturbations import stable_hash

from ._calls import Answers
from ._crashpattern import pattern
from ._prediction_data import Prediction

__all__ = ["PILOT", "PROBES", "SHARE", "predict_probing"]

PILOT = 40
"""Inputs predicted first in a unit bigger than :data:`PROBES`."""
PROBES = 300
"""Inputs a systematic crash is measured on (a Wilson interval of about ±1% at 100%)."""
SHARE = 0.9
"""A systematic crash: at least this share of the probes crashed, and this share of
those crashes has one exception type and message pattern."""


def predict_probing(predict: Callable[[np.ndarray], Answers], positions: np.ndarray,
                    key: tuple[Any, ...]) -> tuple[Answers, dict[str, Any] | None]:
    """Predict ``positions`` (sorted distinct positions of changed inputs) with
    ``predict``; a unit of more than :data:`PROBES` inputs is probed first (see the module
    docstring). Returns the answers and, for a systematic crash, what the result records
    of it: the exception ``type`` and message ``pattern``, the ``crashes`` among the
    ``probes``, the distinct changed ``inputs`` and those left ``unasked`` (None
    otherwise)."""
    if len(positions) <= PROBES:
        return predict(positions), None
    order = positions[np.random.default_rng(stable_hash(*key) & 0xFFFFFFFF)
                      .permutation(len(positions))]
    pilot = predict(np.sort(order[:PILOT]))
    if _systematic(pilot, PILOT) is None:
        return merge(pilot, predict(np.sort(order[PILOT:]))), None
    probes = merge(pilot, predict(np.sort(order[PILOT:PROBES])))
    found = _systematic(probes, PROBES)
    if found is None:
        return merge(probes, predict(np.sort(order[PROBES:]))), None
    return probes, {**found, "probes": PROBES, "inputs": len(positions),
                    "unasked": len(positions) - PROBES}


def _systematic(answers: Answers, probed: int) -> dict[str, Any] | None:
    """The dominant crash of a probe set when it is systematic, else None."""
    if len(answers.crashes) < SHARE * probed:
        return None
    kinds = Counter((c.kind, pattern(c.message)) for c in answers.crashes)
    (kind, message), count = kinds.most_common(1)[0]
    if count < SHARE * len(answers.crashes):
        return None
    return {"type": kind, "pattern": message, "crashes": len(answers.crashes)}


def merge(a: Answers, b: Answers) -> Answers:
    """The answers of two disjoint sets of positions, as one."""
    parts = [x for x in (a, b) if x.prediction is not None]
    prediction = Prediction.concat([x.prediction for x in parts if x.prediction is not None]) \
        if parts else None
    return Answers(np.concatenate([a.positions, b.positions]).astype(np.int64), prediction,
                   np.concatenate([a.seconds, b.seconds]), [*a.crashes, *b.crashes],
                   [*a.calls, *b.calls], a.sent + b.sent)
