"""One unit (a perturbation at one severity), whole or in shards.

A unit is evaluated in *parts*: each part perturbs the inputs of one shard of the data
(with their positions, so the draws are those of the whole data set), finds the changed
ones, predicts each distinct changed input once (with crash isolation, and the probing of
:mod:`robustcheck._systematic` when the shard is big) and returns compact arrays. On an
executor the parts are shards run as separate tasks; in one process a unit runs in parts
of its modality's ``part_size`` samples, one after the other (:func:`evaluate_in_parts`),
perturbed ``perturb_parts`` parts at a time, so that only one block of parts' perturbed
inputs is alive at a time.

:func:`combine` then decides the unit as if it had been one part: inputs are identified
(within a part as across shards) by a 64-bit hash of their key
(:meth:`~robustcheck.modalities.Modality.keys`), so an input that occurs in two shards is
one distinct input, answered by its first occurrence; the systematic-crash decision is
taken on the global lowest-priority inputs, which every shard has asked (a shard's own
lowest-priority inputs include every global probe that falls in it). When a shard stopped
at its probes but the unit as a whole is not a systematic crash, :func:`combine` says
which inputs must still be asked (:func:`ask`), and is called again with those answers.
The outcome is the same for any shard size and worker count, byte for byte (outside
timings), as long as the model answers an input the same way each time it is asked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _systematic
from ._arrays import Compact, SortedRuns, contains, expanded, merge_distinct
from ._calls import Answers, predict_isolating
from ._outcomes import Crash, UnitOutcome
from ._prediction_data import Prediction
from .adapters import Adapter
from .modalities import Dataset, perturb

__all__ = ["Part", "ask", "combine", "evaluate_in_parts", "evaluate_part", "evaluate_parts",
           "shards"]


@dataclass
class Part:
    """What one shard of a unit produced (positions are positions in the whole data)."""

    start: int
    changed: np.ndarray        # bool, one per sample of the shard
    keys: np.ndarray           # uint64 key hash of each changed sample, in position order
    answers: Answers           # what was asked: answered positions, crashes, calls
    probed: bool               # only the shard's probes were asked (see _systematic)
    groups: dict[int, str] = field(default_factory=dict)

    def __getstate__(self) -> dict[str, Any]:
        # pickled on its way from a worker: the flags as bits (the keys are hashes)
        return {**self.__dict__, "changed": Compact(self.changed)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(expanded(state))


def shards(n: int, size: int | None) -> list[tuple[int, int]]:
    """``[start, stop)`` of each shard of ``n`` samples (one shard when ``size`` is None)."""
    if size is None or size >= n:
        return [(0, n)]
    return [(start, min(start + size, n)) for start in range(0, n, size)]


def key_hashes(keys: np.ndarray) -> np.ndarray:
    """A ``uint64`` per input key, equal for equal keys, the same in every process."""
    import pandas as pd

    if len(keys) == 0:
        return np.zeros(0, dtype=np.uint64)
    if isinstance(keys, np.ndarray) and keys.dtype == np.uint64:
        return keys  # already a 64-bit hash of the input (a table's rows)
    try:
        # categorize=False: 7x faster on distinct texts, and the same hashes for strings
        return pd.util.hash_array(np.asarray(keys, dtype=object), categorize=False)
    except UnicodeEncodeError:  # a lone surrogate (scraped text): hashed by its escaped
        # form; text without one round-trips unchanged, so it hashes as above in any shard
        safe = [k.encode("utf-8", "surrogatepass").decode("utf-8", "backslashreplace")
                if isinstance(k, str) else k for k in np.asarray(keys, dtype=object).tolist()]
        return pd.util.hash_array(np.array(safe, dtype=object), categorize=False)


def evaluate_part(adapter: Adapter, data: Dataset, p: Any, severity: float, seed: int,
                  batch_size: int, timeout: float | None, start: int, stop: int,
                  seen: Seen | None = None) -> Part:
    """Perturb the samples ``start:stop``, predict each distinct changed one once.

    ``seen``: what the earlier parts of the unit asked, in this process (see
    :func:`evaluate_in_parts`); an input asked there is not asked again."""
    block = _perturb_block(data, p, severity, seed, start, stop)
    return _predict_part(adapter, data, p, severity, seed, batch_size, timeout, block, start,
                         stop, seen)


def evaluate_parts(adapter: Adapter, data: Dataset, p: Any, severities: list[float], seed: int,
                   batch_size: int, timeout: float | None, start: int, stop: int
                   ) -> list[Part]:
    """:func:`evaluate_part` of the samples ``start:stop`` at each of ``severities``, in
    one task: the severities of a perturbation share what it finds in the shard's clean
    inputs before it draws (see :class:`perturbations.TextCorpus`), which tasks of one
    severity each, on other workers, would each find again."""
    return [evaluate_part(adapter, data, p, s, seed, batch_size, timeout, start, stop)
            for s in severities]


@dataclass
class _Block:
    """The samples ``start:stop`` of a unit, perturbed at once: what the parts of the
    block predict."""

    start: int
    before: Any                # the clean inputs of the block
    perturbed: Any             # the perturbed inputs of the block (Modality.batches)
    changed: np.ndarray        # bool, one per sample of the block
    local: np.ndarray          # the changed samples' positions in the block
    keys: np.ndarray           # uint64 key hash of each changed sample


def _perturb_block(data: Dataset, p: Any, severity: float, seed: int, start: int,
                   stop: int) -> _Block:
    whole = start == 0 and stop == len(data)
    positions = None if whole else np.arange(start, stop)
    perturbed = data.kind.batches(perturb(data, p, severity, seed, positions))
    before = data.inputs if positions is None else data.take(positions)
    changed, raw_keys = data.kind.changes(data.inputs, positions, before, perturbed)
    changed = np.asarray(changed, dtype=bool)
    return _Block(start, before, perturbed, changed, np.flatnonzero(changed),
                  key_hashes(raw_keys))


def _predict_part(adapter: Adapter, data: Dataset, p: Any, severity: float, seed: int,
                  batch_size: int, timeout: float | None, block: _Block, start: int,
                  stop: int, seen: Seen | None) -> Part:
    """Predict the distinct changed samples ``start:stop`` of ``block`` (see
    :func:`evaluate_part`). Positions within the block are named ``*_local``."""
    offset = start - block.start
    within = slice(*np.searchsorted(block.local, [offset, stop - block.start]).tolist())
    local, keys = block.local[within], block.keys[within]
    first = _first_of_equal(keys)
    distinct = np.flatnonzero(first == np.arange(len(first)))  # first occurrences
    owners_local = local[distinct]
    owner_keys = keys[distinct]
    shifted = data.like(block.perturbed)

    def predict(at: np.ndarray) -> Answers:
        if not data.kind.gather or len(at) <= batch_size:
            return predict_isolating(adapter, shifted, at, batch_size, timeout)
        got = predict_isolating(adapter, data.like(shifted.take(at)), np.arange(len(at)),
                                batch_size, timeout)
        return _at(got, at)

    unit = (seed, p.name, severity)
    if seen is None:
        got, probed = _systematic.predict_probing(predict, owners_local, owner_keys, unit)
    else:
        new = ~seen.asked.contains(owner_keys)
        priorities = _systematic.priority(owner_keys, unit)
        seen.see(priorities)
        if seen.probing:
            # only what may still be among the unit's probes: the lowest priorities of
            # every input seen so far (the unit's own probes can only be lower)
            new &= priorities <= seen.limit()
            got, probed = predict(owners_local[new]), True
        else:
            got, probed = _systematic.predict_probing(predict, owners_local[new],
                                                      owner_keys[new], unit)
        asked = np.concatenate([got.positions, [c.position for c in got.crashes]])
        if len(asked) == np.count_nonzero(new):  # every new input (the usual case)
            asked_keys = owner_keys[new]
        else:
            asked_keys = owner_keys[np.searchsorted(owners_local, asked.astype(np.int64))]
        seen.ask(asked_keys, got, probed)
    answers = Answers(got.positions + block.start, got.prediction, got.seconds,
                      [Crash(c.position + block.start, c.kind, c.message)
                       for c in got.crashes], got.calls, got.sent)
    return Part(start, block.changed[offset:stop - block.start], keys, answers, probed,
                _groups(p, data, block.before, block.perturbed, local, block.start))


@dataclass
class Seen:
    """The inputs the earlier parts of a unit saw and asked, when its parts run one after
    the other in this process: a later part asks none of them again, and while every
    part so far looked like a systematic crash, asks only possible probes."""

    lowest: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))
    """The :data:`~robustcheck._systematic.PROBES` lowest priorities seen (sorted)."""
    asked: SortedRuns = field(default_factory=SortedRuns)
    """The keys asked (make it ``SortedRuns(n)`` for a unit of ``n`` samples)."""
    probing: bool = False

    def see(self, priorities: np.ndarray) -> None:
        """Take in the priorities of a part's distinct inputs."""
        k = _systematic.PROBES
        if len(priorities) > k:  # only the lowest can stay: select them in linear time
            priorities = np.partition(priorities, k - 1)[:k]
        self.lowest = merge_distinct(self.lowest, priorities)[:k]

    def limit(self) -> np.uint64:
        """The highest priority an input can have and still be one of the unit's probes."""
        if len(self.lowest) < _systematic.PROBES:
            return np.uint64(np.iinfo(np.uint64).max)
        return self.lowest[-1]

    def ask(self, asked: np.ndarray, got: Answers, probed: bool) -> None:
        self.asked.add(asked)
        self.probing = probed and (
            len(asked) == 0 or _systematic.dense(len(got.crashes), len(asked)))


def evaluate_in_parts(adapter: Adapter, data: Dataset, p: Any, severity: float, seed: int,
                      batch_size: int, timeout: float | None) -> UnitOutcome:
    """A whole unit in this process, predicted the modality's ``part_size`` samples at a
    time and perturbed ``perturb_parts`` parts at a time: only one block's perturbed
    inputs are alive at once. The outcome is that of one part over all the data (see
    :func:`combine`); an input repeated across parts is asked once, and a systematic
    crash is probed in the first part, then only where a later part may hold one of the
    unit's probes."""
    size = data.kind.part_size
    seen = Seen(asked=SortedRuns(len(data)))
    parts = []
    for begin, end in shards(len(data), size * data.kind.perturb_parts):
        block = _perturb_block(data, p, severity, seed, begin, end)
        parts += [_predict_part(adapter, data, p, severity, seed, batch_size, timeout,
                                block, begin + start, begin + stop, seen)
                  for start, stop in shards(end - begin, size)]
        del block  # its inputs freed before the next block is perturbed
    extra: list[Answers] = []
    while True:
        found = combine(p.name, severity, seed, parts, extra)
        if isinstance(found, UnitOutcome):
            return found
        extra.append(ask(adapter, data, p, severity, seed, batch_size, timeout, found))


def _groups(p: Any, data: Dataset, before: Any, after: Any, changed: np.ndarray,
            start: int) -> dict[int, str]:
    """Each changed sample's group of a counterfactual perturbation (see
    ``Perturbation.groups``), read from the inputs as a result shows them."""
    if getattr(p, "groups", None) is None:
        return {}
    show, found = data.kind.show, {}
    for i in changed.tolist():
        group = p.groups(show(before, i), show(after, i))
        if group is not None:
            found[i + start] = str(group)
    return found


def ask(adapter: Adapter, data: Dataset, p: Any, severity: float, seed: int,
        batch_size: int, timeout: float | None, positions: np.ndarray) -> Answers:
    """The perturbed inputs at ``positions`` (distinct, sorted), predicted."""
    perturbed = perturb(data, p, severity, seed, positions)
    got = predict_isolating(adapter, data.like(perturbed), np.arange(len(positions)),
                            batch_size, timeout)
    return _at(got, positions)


def _at(got: Answers, positions: np.ndarray) -> Answers:
    """Answers about ``positions[i]`` from answers about ``i``."""
    return Answers(positions[got.positions], got.prediction, got.seconds,
                   [Crash(int(positions[c.position]), c.kind, c.message) for c in got.crashes],
                   got.calls, got.sent)


def combine(name: str, severity: float, seed: int, parts: list[Part],
            extra: list[Answers]) -> UnitOutcome | np.ndarray:
    """The unit's outcome from its parts (in position order) and the answers of earlier
    :func:`ask` calls; or, when some distinct inputs are still to be asked, the sorted
    positions to ask.

    Worked out by *changed index* (a changed sample's rank among the changed ones), not
    by key: each changed sample's input is owned by the first sample with its key, and
    an input's answer is the one asked at its lowest position. No step ranks the keys:
    on a million keys here an argsort takes 146 ms and a search in random order 494 ms,
    a plain sort 27 ms and a search in sorted order 67 ms."""
    changed = np.concatenate([pt.changed for pt in parts])
    n = len(changed)
    changed_pos = np.flatnonzero(changed)
    keys = np.concatenate([pt.keys for pt in parts]) if parts else np.zeros(0, np.uint64)
    answers = [pt.answers for pt in parts] + extra
    answered_count = sum(len(a.positions) for a in answers)
    crash_list = [c for a in answers for c in a.crashes]
    first = _first_of_equal(keys)
    owners = np.flatnonzero(first == np.arange(len(first)))  # one per distinct input
    best = _best_entries(answers, changed, first)
    systematic = None
    if len(owners) > _systematic.PROBES and crash_list:  # no crash: nothing to decide
        order = owners[_systematic.lowest(keys[owners], (seed, name, severity),
                                          _systematic.PROBES)]

        def crashes_of(at: np.ndarray) -> list[Crash]:
            return [crash_list[e - answered_count] for e in best[at].tolist()
                    if e >= answered_count]

        if _systematic.decide(crashes_of(order[:_systematic.PILOT]),
                              _systematic.PILOT) is not None:
            found = _systematic.decide(crashes_of(order), _systematic.PROBES)
            if found is not None:
                systematic = {**found, "probes": _systematic.PROBES, "inputs": len(owners),
                              "unasked": len(owners) - _systematic.PROBES}
                probe = np.zeros(len(best), dtype=bool)
                probe[order] = True
                best[~probe] = -1  # only the probes' answers count
    if systematic is None:
        missing = owners[best[owners] < 0]
        if len(missing):
            _only_one_round(name, severity, changed_pos[missing], extra)
            return changed_pos[missing]
    # each changed sample takes the answer of its input's owner
    entry = best[first]
    known = entry >= 0
    answered_mask = known & (entry < answered_count)
    crashed_mask = entry >= answered_count
    crashed = np.zeros(n, dtype=bool)
    crashed[changed_pos[crashed_mask]] = True
    evaluated = None
    if systematic is not None:
        evaluated = ~changed
        evaluated[changed_pos] = known
    crashes = [Crash(int(pos), crash_list[e - answered_count].kind,
                     crash_list[e - answered_count].message)
               for pos, e in zip(changed_pos[crashed_mask].tolist(),
                                 entry[crashed_mask].tolist())]
    source = entry[answered_mask]
    preds = [a.prediction for a in answers if a.prediction is not None]
    prediction = Prediction.concat(preds).take(source) if preds and len(source) else None
    seconds = np.concatenate([a.seconds for a in answers])[source] if len(source) \
        else np.zeros(0)
    groups = {i: g for pt in parts for i, g in pt.groups.items()}
    return UnitOutcome(
        perturbation=name, severity=severity, changed=changed, crashed=crashed,
        answered=changed_pos[answered_mask], prediction=prediction, seconds=seconds,
        crashes=crashes,
        model_calls=len(owners) if systematic is None else _systematic.PROBES,
        calls=[c for a in answers for c in a.calls], groups=groups, evaluated=evaluated,
        details={"systematic": systematic} if systematic is not None else {})


def _only_one_round(name: str, severity: float, positions: np.ndarray,
                    extra: list[Answers]) -> None:
    """One round of :func:`ask` is all a unit needs: it is given every input still
    without an answer, and answers each (or records its crash). Inputs still missing
    after it mean a bug in robustcheck, raised as one; asking again would loop for
    ever."""
    if extra:
        raise RuntimeError(
            f"robustcheck bug: unit {name}@{severity:g} has no answer for the inputs at "
            f"positions {positions[:5].tolist()} after asking the model for them; please "
            "report it with the perturbation, the data's modality and the model's type")


def _best_entries(answers: list[Answers], changed: np.ndarray, first: np.ndarray
                  ) -> np.ndarray:
    """Per changed index, for the owners of inputs that were asked: the *entry* of the
    input's answer (an index into the concatenated answered positions, or past them into
    the concatenated crashes); -1 elsewhere. Where one input was asked twice (in two
    shards), its lowest position wins.

    An asked position's changed index is read from the running count of ``changed``:
    the positions come in the order they were asked (a unit's probes first), and
    searching the changed positions for them in that order took 406 ms for a million
    against 65 ms for the count and a gather."""
    answered = np.concatenate([a.positions for a in answers]).astype(np.int64)
    crashed = np.array([c.position for a in answers for c in a.crashes], dtype=np.int64)
    pos = np.concatenate([answered, crashed])
    what = np.arange(len(pos), dtype=np.int64)
    best = np.full(len(first), -1, dtype=np.int64)
    if len(pos) == 0:
        return best
    index = np.cumsum(changed, dtype=np.int64)
    index -= 1  # at a changed position: its changed index (asked positions are changed)
    own = first[index[pos]]
    # an owner is a changed index: counted in one pass (a sort of a million took 14 ms)
    once = np.bincount(own, minlength=len(first))[own] == 1
    best[own[once]] = what[once]
    twice = np.flatnonzero(~once)
    if len(twice):  # the lowest position of each input asked twice
        twice = twice[np.argsort(pos[twice], kind="stable")]
        lowest = twice[_first_of_equal(own[twice]) == np.arange(len(twice))]
        best[own[lowest]] = what[lowest]
    return best


def _first_of_equal(keys: np.ndarray) -> np.ndarray:
    """For each key hash, the position of the first equal one.

    Most keys of a unit occur once, and a plain sort (SIMD) is about 8x faster than the
    stable argsort it takes to rank equal keys; so the sort finds the repeated keys, and
    only the positions holding one are ranked."""
    first = np.arange(len(keys), dtype=np.int64)
    repeated = _repeated(keys)
    if len(repeated) == 0:
        return first
    at = np.flatnonzero(contains(repeated, keys))  # repeated is sorted
    sub = keys[at]
    order = np.argsort(sub, kind="stable")
    head = np.ones(len(sub), dtype=bool)
    np.not_equal(sub[order][1:], sub[order][:-1], out=head[1:])
    first[at[order]] = at[order][head][np.cumsum(head) - 1]
    return first


def _repeated(values: np.ndarray) -> np.ndarray:
    """The values that occur more than once (sorted; one entry per extra occurrence)."""
    ranked = np.sort(values)
    return ranked[1:][ranked[1:] == ranked[:-1]]
