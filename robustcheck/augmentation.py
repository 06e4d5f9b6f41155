"""``robustcheck.augment``: perturbed copies of training data, more of what the model fails.

(The module is ``augmentation``, as ``compare`` lives in ``comparison``: a submodule named
``augment`` would replace the function ``robustcheck.augment`` once imported.)

An audit says which perturbations break a model; augmentation feeds that back into
training. :func:`augment` returns label-keeping perturbed copies of the training inputs,
each with the label of the input it was made from, spread over the chosen perturbations
uniformly or, given an audit's result, in proportion to the failure rate of each
perturbation x severity in it::

    result = robustcheck.run(model, held_out_texts, held_out_labels, seed=0)
    new_texts, new_labels = robustcheck.augment(train_texts, train_labels, result=result)
    model.fit(train_texts + new_texts, train_labels + new_labels)

Only perturbations that keep the label make copies (a copy keeps its source's label):
``invariant`` ones, and of those with a validity study (every built-in text
perturbation) only those whose study passes, as for the default suites. Directional
(``negation.clause``) and no-crash (``length.truncate``) perturbations are left out of a
modality or family asked for, and refused when asked for by name. Tables have no
validity study: every invariant tabular perturbation is used (category, format, missing,
noise, schema). Copies with missing values or numbers written as text teach only a
pipeline that can take them (an imputer, a parser); a plain numeric pipeline cannot fit
them, so choose the families, e.g. ``perturbations=["noise", "category"]``. A copy must
fit the inputs' columns: ``schema.extra_column`` and ``schema.column_order`` make none
(their rows would not fit, or would be their sources again), and a change of dtype alone
is no change (stacked with the inputs a column takes one dtype), so ``schema.dtype``
copies differ from their sources only where float32 rounded a value.

Determinism: the copies depend on the seed, the inputs and the set of perturbations x
severities, never on the order they were asked in, nor on global random state. A copy's
draws are keyed by (seed, perturbation, input) as in a run, under seeds of augment's own,
so a copy is never the perturbed input a run with the same seed audits.
"""

from __future__ import annotations

import math
import numbers
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import perturbations as catalogue
from perturbations import Perturbation, stable_hash

from ._data import _refuse_unordered, is_frame
from ._options import DEFAULT_SEVERITIES
from ._suite import select
from ._validate import check_seed, check_severities
from .errors import InvalidArgument, RobustcheckWarning
from .modalities import Modality, for_inputs
from .results import RunResult, load

__all__ = ["UNIFORM_SHARE", "Augmented", "augment"]

UNIFORM_SHARE = 0.2
"""Share of the copies spread evenly over every perturbation x severity when a result
weights the rest: a perturbation the model withstood in the audit still gets copies, so
that retraining does not unlearn it, and a rate of 0 measured on a few samples is no
proof of robustness."""
MAX_ROUNDS = 100
"""Copies of one input by one perturbation x severity, at most (each round draws anew)."""
CHUNK = 64
"""Inputs perturbed at a time while a perturbation x severity fills its quota."""


@dataclass(frozen=True, eq=False, repr=False)
class Augmented:
    """The copies :func:`augment` made; unpacks as ``inputs, labels``.

    ``inputs`` and ``labels`` are in the containers they were passed in (a list for a
    list, a Series or DataFrame for pandas, a numpy array for an array); a pandas copy
    keeps the index label of the row it was made from, so ``X.loc[X_aug.index]`` are
    its sources (concatenate with ``ignore_index=True`` for a fresh index). ``sources``
    has one row per copy, in the same order: ``perturbation``, ``severity`` and
    ``source_index`` (the 0-based position of the input it was made from). ``plan`` has
    one dict per perturbation x severity: its ``failure_rate`` in the result (None
    without one), its ``weight`` (the share of the copies asked of it) and the
    ``copies`` it made.
    """

    inputs: Any
    labels: Any
    sources: Any
    plan: list[dict[str, Any]]

    def __iter__(self) -> Iterator[Any]:
        yield self.inputs
        yield self.labels

    def __repr__(self) -> str:
        used = sum(bool(row["copies"]) for row in self.plan)
        return (f"Augmented({len(self.sources)} copies by {used} of {len(self.plan)} "
                "perturbation x severity units)")

    def table(self) -> str:
        """One line per perturbation x severity that made copies: its failure rate in
        the result, its weight and its copies, most copies first."""
        rows = sorted((r for r in self.plan if r["copies"]),
                      key=lambda r: (-r["copies"], r["perturbation"], r["severity"]))
        lines = [f"{len(self.sources)} copies by {len(rows)} perturbation x severity units"]
        width = max([len(r["perturbation"]) for r in rows] + [12])
        lines.append(f"{'perturbation'.ljust(width)}  sev   failure  weight  copies")
        for r in rows:
            rate = "-" if r["failure_rate"] is None else f"{100 * r['failure_rate']:.1f}%"
            lines.append(f"{r['perturbation'].ljust(width)}  {r['severity']:<4g}  "
                         f"{rate:>7}  {100 * r['weight']:5.1f}%  {r['copies']:>6}")
        return "\n".join(lines)


def augment(
    inputs: Any,
    labels: Any,
    *,
    result: RunResult | str | os.PathLike[str] | None = None,
    perturbations: Any = "text",
    size: float = 1.0,
    seed: int = 0,
    severities: float | Sequence[float] | None = None,
) -> Augmented:
    """Label-keeping perturbed copies of ``inputs`` with the labels of their sources.

    ``inputs``: texts (a list, tuple, numpy array or pandas Series of strings), a
    pandas DataFrame, or images (a batch array or a list); ``labels``: one label per
    input, in any sequence (a label column is passed as ``df[col]``, the inputs as
    ``df.drop(columns=[col])``). Neither is modified. ``result``: a
    :class:`~robustcheck.results.RunResult` (or the path of its JSON), best an audit of
    held-out data, never of ``inputs`` themselves: each perturbation x severity then gets
    a share of the copies in proportion to its failure rate there, after
    :data:`UNIFORM_SHARE` of them are spread evenly; without it every one gets the same
    share. ``perturbations``: as for :func:`robustcheck.run` (a modality, families,
    names, Perturbation objects); only label-keeping ones are used (see the module's
    docstring). ``size``: the number of copies as a fraction of ``len(inputs)`` (1.0: as
    many copies as inputs; at least one copy). ``severities``:
    default the result's, else 0.25, 0.5 and 1.

    A perturbation that leaves an input unchanged makes no copy of it; its share goes to
    other inputs, and when it can make no more distinct copies (``case.lower`` at one
    severity makes one per input at most), to the other perturbations. When none can
    make more, fewer copies are returned, with a
    :class:`~robustcheck.errors.RobustcheckWarning`.

    Returns an :class:`Augmented`, which unpacks as ``new_inputs, new_labels`` and says
    where each copy came from (``sources``). The same seed gives the same copies,
    whatever the order of ``perturbations``.
    """
    kind = for_inputs(inputs)
    data, _, _ = kind.prepare(inputs, None)  # a validated copy
    n = len(data)
    if n == 0:
        raise InvalidArgument("inputs is empty; pass at least one training sample")
    values = _label_values(labels, inputs, n)
    total = max(1, round(_check_size(size) * n))
    seed = check_seed(seed)
    run = _as_result(result, kind)
    chosen = _label_keeping(perturbations, kind.name)
    levels = (check_severities(severities) if severities is not None
              else sorted(set(run.severities)) if run is not None
              else list(DEFAULT_SEVERITIES))
    units = sorted(((p, s) for p in chosen for s in levels), key=lambda u: (u[0].name, u[1]))
    rates = _failure_rates(run, units)
    weights = _weights(units, rates)
    seen: set[tuple[int, Any]] = set()  # shared: no two units make the same copy
    streams = [_Stream(kind, data, p, s, seed, seen) for p, s in units]
    counts = _fill(streams, weights, total)
    if sum(counts) < total:
        warnings.warn(f"augment made {sum(counts)} copies of the {total} asked for "
                      f"(size={size!r}): the perturbations chosen cannot make more distinct "
                      "changed copies of these inputs; add perturbations or lower size",
                      RobustcheckWarning, stacklevel=2)
    plan = [{"perturbation": p.name, "severity": s, "failure_rate": rates[i],
             "weight": weights[i], "copies": counts[i]} for i, (p, s) in enumerate(units)]
    return _assemble(inputs, labels, values, streams, counts, plan)


# -- checks --------------------------------------------------------------------------


def _check_size(size: Any) -> float:
    if isinstance(size, bool) or not isinstance(size, numbers.Real) or \
            not math.isfinite(float(size)) or float(size) <= 0:
        raise InvalidArgument(f"size must be a positive number (copies per input), got "
                              f"{size!r}; e.g. size=1.0 for as many copies as inputs")
    return float(size)


def _label_values(labels: Any, inputs: Any, n: int) -> list[Any]:
    """The labels as a list, one per input, checked (the container is restored later)."""
    if labels is None:
        raise InvalidArgument("labels is None; pass the training labels, one per input: "
                              "each copy takes the label of the input it was made from")
    if is_frame(labels):
        raise InvalidArgument(f"labels is a DataFrame of {labels.shape[1]} columns; pass "
                              "one column, e.g. labels=df['label']")
    if isinstance(labels, (str, bytes)):
        fix = (f"pass the column itself, augment(df.drop(columns=[{labels!r}]), "
               f"df[{labels!r}])" if is_frame(inputs) else "pass one label per input")
        raise InvalidArgument(f"labels={labels!r} is a single value, not one label per "
                              f"input; {fix}")
    _refuse_unordered(labels, "labels", "pass a list or array with one label per input, "
                      "in the order of inputs")
    if isinstance(labels, np.ndarray) and labels.ndim != 1:
        raise InvalidArgument(f"labels has shape {labels.shape}; pass one label per input "
                              "(a 1-d sequence)")
    try:
        values = labels.tolist() if hasattr(labels, "tolist") else list(labels)
    except TypeError:
        raise InvalidArgument(f"labels must be a sequence with one label per input, got "
                              f"{type(labels).__name__}") from None
    if len(values) != n:
        raise InvalidArgument(f"labels has {len(values)} entries for {n} inputs; pass one "
                              "label per input, in the order of inputs")
    return values


def _as_result(result: Any, kind: Modality) -> RunResult | None:
    if result is None:
        return None
    if isinstance(result, (str, os.PathLike)):
        result = load(result)
    if not isinstance(result, RunResult):
        raise InvalidArgument(f"result must be a RunResult or the path of a result JSON "
                              f"file, got {type(result).__name__}; e.g. "
                              "result=robustcheck.run(model, held_out, labels)")
    audited = result.data.get("modality")
    if audited != kind.name:
        raise InvalidArgument(f"result is an audit of {audited} data, but inputs are "
                              f"{kind.name} data; pass the result of a {kind.name} audit "
                              "of the same kind of model, or result=None")
    return result


def _label_keeping(spec: Any, modality: str) -> list[Perturbation]:
    """The perturbations asked for that keep the label. Those named one by one must; a
    modality or family asked for keeps those of its members that do."""
    items = [spec] if isinstance(spec, (str, Perturbation)) or not _iterable(spec) else spec
    chosen: dict[str, Perturbation] = {}
    for item in items:
        found = select(item, modality)
        named = (len(found) == 1 and getattr(found[0], "name", None) == item) if \
            isinstance(item, str) else not _iterable(item)  # an object: a name too
        for p in found:
            why = _why_not(p)
            if why is None:
                chosen.setdefault(p.name, p)
            elif named:
                raise InvalidArgument(f"perturbations: {p.name} {why}; augment makes "
                                      "copies that keep their source's label, so it uses "
                                      "invariant perturbations whose validity study passes")
    if not chosen:
        raise InvalidArgument(f"perturbations={spec!r} selects no label-keeping "
                              f"perturbation; e.g. perturbations={modality!r}")
    return list(chosen.values())


def _iterable(spec: Any) -> bool:
    try:
        iter(spec)
    except TypeError:
        return False
    return True


def _why_not(p: Any) -> str | None:
    """Why ``p`` cannot make label-keeping copies, or None when it can."""
    if not isinstance(p, Perturbation):
        return "is an attack, which searches a model's failures; it makes no copies"
    if p.expectation != "invariant":
        return (f"is {p.expectation}: it may change the label on purpose"
                if p.expectation == "directional" else
                f"is {p.expectation}: it promises an answer, not the same label")
    if _study_passes(p) is False:
        return (f"failed its validity study ({catalogue.validity_phrase(p.record(), long=True)}"
                "): too often the label does not survive it")
    return None


def _study_passes(p: Perturbation) -> bool | None:
    # The default suites' rule, read from the catalogue (the one place it is written).
    return catalogue.validity_passes(p.expectation, p.validity)


# -- weights -------------------------------------------------------------------------


def _failure_rates(run: RunResult | None, units: list[tuple[Perturbation, float]]
                   ) -> list[float | None]:
    """Per unit: the failure rate of its row in the result; 0 for a row that measured
    nothing or a unit the result has no row for; None without a result."""
    if run is None:
        return [None] * len(units)
    measured: dict[tuple[str, float], float] = {}
    for row in run.rows:
        metric = row.metrics.get("failure_rate")
        value = None if metric is None else metric.value
        measured[(row.perturbation, row.severity)] = (
            float(value) if value is not None and math.isfinite(value) else 0.0)
    return [measured.get((p.name, s), 0.0) for p, s in units]


def _weights(units: list[Any], rates: list[float | None]) -> list[float]:
    """Shares of the copies: even without rates (or when all are 0), else
    :data:`UNIFORM_SHARE` evenly and the rest in proportion to the rates."""
    k = len(units)
    known = [r or 0.0 for r in rates]
    mass = sum(known)
    if mass <= 0:
        return [1.0 / k] * k
    return [UNIFORM_SHARE / k + (1.0 - UNIFORM_SHARE) * r / mass for r in known]


def _apportion(total: int, weights: Sequence[float]) -> list[int]:
    """``total`` split in proportion to ``weights`` (largest remainders, ties to the
    earlier unit, so the split is the same every time)."""
    mass = sum(weights)
    exact = [total * w / mass for w in weights]
    counts = [math.floor(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[:total - sum(counts)]:
        counts[i] += 1
    return counts


def _fill(streams: list[_Stream], weights: list[float], total: int) -> list[int]:
    """Copies per unit: each takes its share; what an exhausted unit could not make is
    shared again among the others, until ``total`` is reached or every unit is spent."""
    counts = [0] * len(streams)
    active = [i for i, w in enumerate(weights) if w > 0]
    missing = total
    while missing > 0 and active:
        quotas = _apportion(missing, [weights[i] for i in active])
        missing, still = 0, []
        for i, quota in zip(active, quotas):
            made = streams[i].take(quota)
            counts[i] += made
            if made < quota:
                missing += quota - made
            else:
                still.append(i)
        active = still
    return counts


# -- the copies ------------------------------------------------------------------------


class _Stream:
    """The copies one perturbation x severity makes, in a fixed order: round after
    round, the inputs in an order drawn for that round, each input it changes into
    something new (a deterministic perturbation repeats itself in the next round and
    stops there). The order does not depend on how many copies are taken at a time."""

    def __init__(self, kind: Modality, data: Any, p: Perturbation, severity: float,
                 seed: int, seen: set[tuple[int, Any]]) -> None:
        self.kind, self.data, self.p, self.severity, self.seed = kind, data, p, severity, seed
        self.round, self.cursor, self.new_in_round = 0, 0, 0
        self.order = self._order(0)
        self.seen = seen  # (source, copy) pairs made by any unit
        self.parts: list[tuple[np.ndarray, Any]] = []  # (sources, perturbed batch) kept
        self.pending: list[tuple[np.ndarray, Any]] = []  # made, not yet taken
        self.spent = False

    def _order(self, round_: int) -> np.ndarray:
        key = stable_hash(self.seed, "augment", self.p.name, self.severity, round_)
        return np.random.default_rng(key).permutation(len(self.data))

    def _seed(self) -> int:
        # Seeds of its own: a copy is never the perturbed input a run with the same seed
        # audits, even when a user augments the very data they audit.
        return stable_hash(self.seed, "augment", self.round) >> 2

    def take(self, wanted: int) -> int:
        """Keep up to ``wanted`` more copies; returns how many were kept."""
        kept = 0
        while kept < wanted:
            if not self.pending and not self._make(wanted - kept):
                break
            sources, batch = self.pending.pop(0)
            room = wanted - kept
            if len(sources) > room:
                self.pending.insert(0, (sources[room:], _rows(batch, np.arange(room,
                                                                               len(sources)))))
                sources, batch = sources[:room], _rows(batch, np.arange(room))
            self.parts.append((sources, batch))
            kept += len(sources)
        return kept

    def _make(self, wanted: int) -> bool:
        """Perturb the next chunk of inputs into ``pending``; False once spent."""
        while not self.spent:
            if self.cursor >= len(self.order):
                if self.new_in_round == 0 or self.round + 1 >= MAX_ROUNDS:
                    self.spent = True
                    break
                self.round, self.cursor, self.new_in_round = self.round + 1, 0, 0
                self.order = self._order(self.round)
            chunk = self.order[self.cursor:self.cursor + max(CHUNK, 2 * wanted)]
            self.cursor += len(chunk)
            found = self._perturb(chunk)
            if found is not None:
                self.pending.append(found)
                return True
        return False

    def _perturb(self, chunk: np.ndarray) -> tuple[np.ndarray, Any] | None:
        before = self.kind.take(self.data, chunk)
        after = _aligned(before, self.kind.perturb(self.p, self.data, self.severity,
                                                   self._seed(), chunk))
        if after is None:  # a table with other columns: its rows cannot be stacked
            self.spent = True
            return None
        changed = np.flatnonzero(_changed(self.kind, before, after))
        keys: Any = self.kind.keys(after, changed) if len(changed) else []
        fresh = []
        for j, key in zip(changed.tolist(), keys):
            if (int(chunk[j]), key) not in self.seen:
                self.seen.add((int(chunk[j]), key))
                fresh.append(j)
        self.new_in_round += len(fresh)
        if not fresh:
            return None
        picked = np.asarray(fresh, dtype=np.int64)
        return chunk[picked], _rows(after, picked)


def _aligned(before: Any, after: Any) -> Any:
    """``after`` with the columns of ``before`` in their order (a table), None when
    its columns are others; other inputs as they are."""
    if not is_frame(before):
        return after
    if list(after.columns) == list(before.columns):
        return after
    if set(after.columns) != set(before.columns) or after.columns.duplicated().any():
        return None
    return after[list(before.columns)]


def _changed(kind: Modality, before: Any, after: Any) -> np.ndarray:
    """Inputs whose values changed. A table's dtypes alone do not count: stacked with the
    inputs a column takes one dtype, and the row would be its source again."""
    if is_frame(before) and list(before.dtypes) != list(after.dtypes):
        return kind.changed(before.astype(object), after.astype(object))
    return kind.changed(before, after)


def _rows(batch: Any, positions: np.ndarray) -> Any:
    if is_frame(batch):
        return batch.iloc[positions]
    return [batch[i] for i in positions.tolist()]


def _assemble(inputs: Any, labels: Any, values: list[Any], streams: list[_Stream],
              counts: list[int], plan: list[dict[str, Any]]) -> Augmented:
    import pandas as pd

    sources = [s for stream in streams for s, _ in stream.parts]
    where = (np.concatenate(sources) if sources else np.zeros(0, dtype=np.int64)).astype(
        np.int64)
    batches = [b for stream in streams for _, b in stream.parts]
    record = pd.DataFrame({
        "perturbation": [st.p.name for st, c in zip(streams, counts) for _ in range(c)],
        "severity": [st.severity for st, c in zip(streams, counts) for _ in range(c)],
        "source_index": where,
    })
    return Augmented(_like_inputs(inputs, batches, where), _like_labels(labels, values, where),
                     record, plan)


def _like_inputs(inputs: Any, batches: list[Any], where: np.ndarray) -> Any:
    """The copies in the container ``inputs`` came in."""
    import pandas as pd

    if is_frame(inputs):
        if not batches:
            return inputs.iloc[:0].copy()
        # a column that some copies hold as text is object; the others keep their dtype
        frame = pd.concat(batches).infer_objects()
        frame.index = inputs.index[where]
        return frame
    items = [x for batch in batches for x in batch]
    if isinstance(inputs, pd.Series):
        text = pd.api.types.is_string_dtype(inputs.dtype) and \
            not isinstance(inputs.dtype, pd.CategoricalDtype)  # new texts: no category
        return pd.Series(items, index=inputs.index[where], name=inputs.name,
                         dtype=inputs.dtype if text else object)
    if isinstance(inputs, np.ndarray) and inputs.dtype.kind in "OUS":  # texts
        return np.array(items, dtype=inputs.dtype if inputs.dtype == object else str)
    if isinstance(inputs, np.ndarray):  # a batch of images
        if not items:
            return inputs[:0].copy()
        if len({(np.shape(x), np.asarray(x).dtype.str) for x in items}) == 1:
            return np.stack(items)
        return items  # some copies changed shape (a rotated non-square image), as `apply`
    if isinstance(inputs, tuple):
        return tuple(items)
    return items


def _like_labels(labels: Any, values: list[Any], where: np.ndarray) -> Any:
    """The copies' labels in the container ``labels`` came in (a pandas copy keeps the
    index label of its source)."""
    import pandas as pd

    if isinstance(labels, (pd.Series, np.ndarray)):
        return labels[where] if isinstance(labels, np.ndarray) else labels.iloc[where].copy()
    picked = [values[i] for i in where.tolist()]
    return tuple(picked) if isinstance(labels, tuple) else picked
