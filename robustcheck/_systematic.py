"""Systematic crashes: a unit on which the model raises one exception on a large share of
its inputs is measured on a seeded sample of probes instead of on every input.

Crash isolation costs about one model call per crashing input once crashes are dense (a
model fed numbers as strings, say: every row, or every row with a large number), which
on 100k rows is hours for a finding the first few crashes already show. So before a big
unit is predicted, a seeded *pilot* of its inputs goes first. When its crashes are
*dense* (the 95% Wilson interval of their share reaches :data:`DENSE`: 4 of the 40)
and share one exception type and message pattern (at least :data:`SHARE` of them), the
probes are extended to :data:`PROBES` inputs; when their crashes are dense too (about 49
of the 300), the unit is recorded as a systematic crash: its rates are
estimated from the probes (with their intervals), the crash with its examples, and every
other changed input is *not evaluated*: neither answered nor crashed, left out of every
rate and of the paired samples of a comparison. Otherwise the rest is predicted as
usual, the probes' answers kept.

The probes are chosen by *input*, not by position: every distinct perturbed input has a
priority (its 64-bit key hash mixed with a hash of the seed, perturbation and severity),
and the pilot is the :data:`PILOT` distinct inputs of lowest priority, the probes the
:data:`PROBES` lowest. So the probes are the same whatever the batch size, the worker
count, the order units run in, and however the data is split into shards: a shard's own
lowest-priority inputs include every global probe that falls in it
(:mod:`robustcheck._units` relies on that to decide a sharded unit exactly as an
unsharded one).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from perturbations import stable_hash

from ._calls import Answers
from ._crashpattern import pattern
from ._outcomes import Crash
from ._prediction_data import Prediction
from .stats import wilson_interval

__all__ = ["DENSE", "PILOT", "PROBES", "SHARE", "decide", "dense", "lowest", "merge",
           "predict_probing", "priority"]

PILOT = 40
"""Inputs predicted first in a unit bigger than :data:`PROBES`."""
PROBES = 300
"""Inputs a systematic crash is measured on (a Wilson interval of about ±1% at 100%)."""
DENSE = 0.2
"""A systematic crash: the probes cannot rule out that at least this share of the
unit's inputs crash (the upper end of the 95% Wilson interval of their crash share
reaches it). From here on crash isolation costs about a call per crashing input, while
the probes measure the unit with an interval; so a unit near the line is probed, not
isolated for minutes: 300 probes of a unit where 22.4% of the inputs crash fall below a
bare 20% about one time in seven (below 47 of 300: 0.15%), and the whole unit was then
isolated crash by crash (HistGradientBoosting, 22,391 crashes of
``format.thousands_separator@0.25`` on 100,000 rows: 369 s)..."""
SHARE = 0.9
"""...and at least this share of those crashes has one exception type and message
pattern."""


def priority(keys: np.ndarray, key: tuple[Any, ...]) -> np.ndarray:
    """The probing priority of each input key (``uint64``): lower goes first. The keys
    salted with the unit's hash, through the SplitMix64 finaliser."""
    z = np.asarray(keys, dtype=np.uint64) ^ np.uint64(stable_hash("probes", *key))
    z ^= z >> np.uint64(30)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return z


def lowest(keys: np.ndarray, key: tuple[Any, ...], k: int) -> np.ndarray:
    """Indices of the ``k`` keys (distinct) of lowest probing priority, lowest first.

    Distinct keys have distinct priorities (the salt and the finaliser are bijections),
    so the choice has no ties; selecting them is linear in the number of keys (sorting
    every key by priority was 7 ms per 100k-input part)."""
    prio = priority(keys, key)
    idx = np.argpartition(prio, k - 1)[:k] if len(prio) > k else np.arange(len(prio))
    return idx[np.argsort(prio[idx])]


def predict_probing(predict: Callable[[np.ndarray], Answers], positions: np.ndarray,
                    keys: np.ndarray, key: tuple[Any, ...]) -> tuple[Answers, bool]:
    """Predict ``positions`` (sorted distinct positions of changed inputs, whose input
    keys are ``keys``) with ``predict``; more than :data:`PROBES` of them are probed first
    (see the module docstring). Returns the answers and whether only the probes were
    asked (the probes looked like a systematic crash)."""
    if len(positions) <= PROBES:
        return predict(positions), False
    first = lowest(keys, key, PROBES)
    order = positions[first]
    pilot = predict(np.sort(order[:PILOT]))
    rest = np.ones(len(positions), dtype=bool)  # positions are sorted: so is every rest
    if decide(pilot.crashes, PILOT) is None:
        rest[first[:PILOT]] = False
        return merge(pilot, predict(positions[rest])), False
    probes = merge(pilot, predict(np.sort(order[PILOT:PROBES])))
    if decide(probes.crashes, PROBES) is None:
        rest[first] = False
        return merge(probes, predict(positions[rest])), False
    return probes, True


def dense(crashed: int, probed: int) -> bool:
    """Whether ``crashed`` of ``probed`` inputs cannot rule out a crash share of
    :data:`DENSE`: the upper end of their 95% Wilson interval reaches it."""
    return probed > 0 and wilson_interval(crashed, probed)[1] >= DENSE


def decide(crashes: Sequence[Crash], probed: int) -> dict[str, Any] | None:
    """The dominant crash of ``probed`` inputs, of which ``crashes`` crashed, when the
    crashes are :func:`dense` and share one pattern; else None."""
    if not crashes or not dense(len(crashes), probed):
        return None
    kinds = Counter((c.kind, pattern(c.message)) for c in crashes)
    (kind, message), count = kinds.most_common(1)[0]
    if count < SHARE * len(crashes):
        return None
    return {"type": kind, "pattern": message, "crashes": len(crashes)}


def merge(a: Answers, b: Answers) -> Answers:
    """The answers of two disjoint sets of positions, as one."""
    parts = [x for x in (a, b) if x.prediction is not None]
    prediction = Prediction.concat([x.prediction for x in parts if x.prediction is not None]) \
        if parts else None
    return Answers(np.concatenate([a.positions, b.positions]).astype(np.int64), prediction,
                   np.concatenate([a.seconds, b.seconds]), [*a.crashes, *b.crashes],
                   [*a.calls, *b.calls], a.sent + b.sent)
