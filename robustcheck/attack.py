"""Black-box attacks: the smallest input change found that flips a model's label.

Random perturbations measure average-case brittleness; an engineer debugging a model
wants the worst case, as a concrete input: *this* review, with *these* two letters
changed, is read as negative. The attacks here search for such inputs using nothing but
the model's answers (labels, and scores when it gives them), so they work on any model
:func:`robustcheck.adapt` accepts, an HTTP endpoint included.

- :func:`attack_text` ranks the words of a text by how much leaving each one out lowers
  the model's score for its clean label (or whether it changes the label, for models
  that return labels only), then greedily edits one character of the most important
  words first (the catalogue's typo kinds: keyboard neighbour, swap, delete, homoglyph),
  keeping the edit that lowers the clean label's score most, until the label flips or a
  budget runs out.
- :func:`attack_tabular` moves a row's numeric features along random directions measured
  in standard deviations of a reference data set, finds a direction that flips the label
  within a radius, bisects the radius to the boundary, and tries swapping categorical
  values for values seen in the reference.

Budgets are exact: every input sent to the model counts as one query (the clean input,
leave-one-out variants, candidates, inputs re-sent while isolating a crash), and no input
is sent once ``max_queries`` for that input is spent. A model error never aborts an
attack: the failing candidate is isolated (a failing batch is split in halves, as the
runner does), recorded and skipped. Randomness comes from generators keyed by ``(seed,
index of the input)``, so the same seed gives the same result, whatever the order or the
subset of inputs attacked (pass ``indices`` when attacking a shard).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

import numpy as np

from perturbations import InvalidArgument as _CatalogueInvalidArgument
from perturbations import edits as _edits
from perturbations import stable_hash
from perturbations.edits import EDIT_KINDS, Edit, text_edits, word_edits, word_spans

from ._calls import predict_isolating
from ._data import pack_rows
from ._files import jsonable
from ._files import plain as _plain
from .adapters import Adapter, adapt
from .errors import InvalidArgument
from .metrics import Metric, proportion
from .modalities import Dataset, get

__all__ = [
    "EDIT_KINDS",
    "AttackResult",
    "Edit",
    "apply_edits",
    "attack_tabular",
    "attack_text",
    "random_edits",
    "word_edits",
    "word_spans",
]

STATUSES = ("success", "failed", "skipped", "crashed")
"""Per-input outcome: the label flipped; it did not within the budgets; the clean
prediction was already wrong (only with ``labels``); the model failed on the clean input."""


# --------------------------------------------------------------------------- edits

# The edit kinds (EDIT_KINDS), what a word is and where each edit may go are the
# catalogue's, in perturbations.edits: an attack edits text as the typo and homoglyph
# perturbations do. ``insert`` (a neighbouring key typed as well) is not in the text
# attack's default set, which keeps to edits that do not lengthen a word.

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _own_errors(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """``func`` raising robustcheck's InvalidArgument for a bad argument, as every other
    function of this module does, where the catalogue raises its own."""

    @functools.wraps(func)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return func(*args, **kwargs)
        except _CatalogueInvalidArgument as error:
            raise InvalidArgument(str(error)) from error

    return wrapper


apply_edits = _own_errors(_edits.apply_edits)
random_edits = _own_errors(_edits.random_edits)


def _leave_out(text: str, span: tuple[int, int]) -> str:
    """``text`` without one word and one space next to it."""
    start, end = span
    if end < len(text) and text[end] == " ":
        end += 1
    elif start > 0 and text[start - 1] == " ":
        start -= 1
    return text[:start] + text[end:]


# --------------------------------------------------------------------------- results


@dataclass
class AttackResult:
    """The outcome of one attack run: per-input lists, one entry per input, in order.

    ``status`` is one of :data:`STATUSES`; ``success`` is ``status == "success"``.
    ``edits`` counts the character edits (text) or changed columns (tabular) of the
    adversarial input, 0 where there is none; ``distance`` is the size of the change in
    standard deviations (tabular; None for text). ``changes`` lists the edits (text:
    :meth:`Edit.to_dict` entries with the word before and after; for a failed attack,
    the edits it had kept) or the changed columns (tabular).
    ``crashes`` lists the candidates the model failed on, per input.
    """

    kind: str
    seed: int
    max_queries: int
    max_edits: int | None
    indices: list[int]
    status: list[str]
    success: list[bool]
    edits: list[int]
    queries: list[int]
    original: list[Any]
    adversarial: list[Any]
    original_label: list[Any]
    adversarial_label: list[Any]
    distance: list[float | None]
    changes: list[list[dict[str, Any]]]
    crashes: list[list[dict[str, Any]]]
    parameters: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.status)

    @property
    def attacked(self) -> int:
        """Inputs attacked: not skipped (already misclassified), not crashed when clean."""
        return sum(s in ("success", "failed") for s in self.status)

    @property
    def success_rate(self) -> Metric:
        """Share of attacked inputs whose label flipped, with its 95% Wilson interval."""
        hits = np.array([s == "success" for s in self.status if s in ("success", "failed")],
                        dtype=bool)
        return proportion(hits)

    @property
    def median_edits(self) -> float:
        """Median edits of the successful attacks (NaN when none succeeded)."""
        used = [e for e, ok in zip(self.edits, self.success) if ok]
        return float(np.median(used)) if used else math.nan

    @property
    def total_queries(self) -> int:
        """Inputs sent to the model over the whole run."""
        return int(sum(self.queries))

    @property
    def mean_queries(self) -> float:
        return float(np.mean(self.queries)) if self.queries else math.nan

    @property
    def median_queries(self) -> float:
        return float(np.median(self.queries)) if self.queries else math.nan

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: plain types, NaN as None."""
        median = self.median_edits
        inputs = []
        for i in range(len(self)):
            inputs.append({
                "index": self.indices[i], "status": self.status[i], "success": self.success[i],
                "edits": self.edits[i], "queries": self.queries[i],
                "original": jsonable(self.original[i]),
                "adversarial": jsonable(self.adversarial[i]),
                "original_label": jsonable(self.original_label[i]),
                "adversarial_label": jsonable(self.adversarial_label[i]),
                "distance": jsonable(self.distance[i]), "changes": jsonable(self.changes[i]),
                "crashes": jsonable(self.crashes[i]),
            })
        return {
            "kind": self.kind, "seed": self.seed, "max_queries": self.max_queries,
            "max_edits": self.max_edits, "parameters": jsonable(self.parameters),
            "summary": {"n": len(self), "attacked": self.attacked,
                        "success_rate": self.success_rate.to_dict(),
                        "median_edits": None if math.isnan(median) else median,
                        "total_queries": self.total_queries},
            "inputs": inputs,
        }


# --------------------------------------------------------------------------- the oracle


_CRASH = object()
_UNKNOWN = object()


class _Oracle:
    """The model as the attack of one input sees it: a query budget and a counter.

    ``ask`` sends a batch (cut to what is left of the budget) and returns one reply per
    item: ``(label, score of the clean label)``, ``_CRASH`` when the model failed on that
    item alone, or None when the budget ran out before it was sent. A batch that fails
    is split in halves until the failing items are isolated; every input sent, re-sent
    ones included, is a query.
    """

    def __init__(self, adapter: Adapter, budget: int, pack: Callable[[list[Any]], Any],
                 describe: Callable[[Any], Any], modality: str,
                 timeout: float | None = None) -> None:
        self.adapter = adapter
        self.remaining = budget
        self.queries = 0
        self.pack = pack
        self.describe = describe
        self.modality = modality
        self.timeout = timeout
        self.crashes: list[dict[str, Any]] = []
        self.clean_label: Any = _UNKNOWN  # set by the attack once the clean input answered
        self.scored = False

    def ask(self, items: Sequence[Any]) -> list[Any]:
        """One reply per item; the model is called, and failures isolated, as in every
        unit of a run (:func:`robustcheck._calls.predict_isolating`), within the budget."""
        replies: list[Any] = [None] * len(items)
        idx = list(range(len(items)))[: self.remaining]
        if not idx:
            return replies
        batch = Dataset(self.pack([items[i] for i in idx]), None, get(self.modality), "")
        got = predict_isolating(self.adapter, batch, np.arange(len(idx)), len(idx),
                                self.timeout, budget=self.remaining)
        self.queries += got.sent
        self.remaining -= got.sent
        for crash in got.crashes:
            replies[idx[crash.position]] = _CRASH
            self.crashes.append({"input": self.describe(items[idx[crash.position]]),
                                 "type": crash.kind, "message": crash.message})
        pred = got.prediction
        if pred is None:
            return replies
        if pred.values is not None:
            raise InvalidArgument("model is a regressor (it returned values); attacks flip "
                                  "class labels and need a classifier")
        labels = [_plain(v) for v in pred.labels.tolist()]
        if self.clean_label is _UNKNOWN:  # this is the clean input's answer
            self.scored = pred.scores is not None
            scores = pred.confidence
        else:
            scores = pred.score_of(np.array([self.clean_label] * len(pred), dtype=object))
        for j, position in enumerate(got.positions.tolist()):
            replies[idx[position]] = (labels[j], float(scores[j]))
        return replies


def _flipped(reply: Any, clean: Any) -> bool:
    return isinstance(reply, tuple) and reply[0] != clean


# --------------------------------------------------------------------------- text


def attack_text(model: Any, texts: Sequence[str], *, seed: int = 0, max_queries: int = 200,
                max_edits: int = 5,
                edits: Sequence[str] = ("keyboard", "swap", "delete", "homoglyph"),
                labels: Sequence[Any] | None = None, candidates: int = 8,
                indices: Sequence[int] | None = None,
                timeout: float | None = None) -> AttackResult:
    """Greedy word-importance attack with one-character edits, per text.

    For each text: one query for the clean label; one leave-one-out query per editable
    word (batched) to rank words by the drop of the clean label's score (label change
    for label-only models); then, most important word first, ``candidates`` edits of that
    word drawn from the kinds in ``edits`` (batched). A candidate that flips the label
    ends the attack; otherwise the one that lowers the clean label's score most is kept
    (for label-only models, the first answered one, since edits add up) and the next
    word is tried, until ``max_edits`` edits are kept or ``max_queries`` inputs were
    sent for this text.

    ``labels`` (the truth, optional): texts the model already gets wrong are skipped
    (status ``"skipped"``) and left out of the success rate. ``indices``: the texts'
    positions in the whole data set (default ``0..n-1``), which key the random draws.
    """
    adapter = adapt(model)
    items = _texts(texts)
    seed = _check_int("seed", seed, 0)
    max_queries = _check_int("max_queries", max_queries, 1)
    max_edits = _check_int("max_edits", max_edits, 1)
    candidates = _check_int("candidates", candidates, 1)
    kinds = _check_kinds(edits)
    truth = _check_labels(labels, len(items))
    keys = _check_indices(indices, len(items))
    out = _empty_result("text", seed, max_queries, max_edits, keys,
                        {"edits": list(kinds), "candidates": candidates})
    for i, text in enumerate(items):
        oracle = _Oracle(adapter, max_queries, list, lambda x: x, "text", timeout)
        rng = np.random.default_rng(stable_hash("robustcheck.attack_text", seed, keys[i]))
        outcome = _attack_one_text(oracle, text, rng, kinds, max_edits, candidates,
                                   None if truth is None else truth[i])
        _record(out, text, oracle, outcome)
    return out


@dataclass
class _Outcome:
    status: str
    clean_label: Any = None
    adversarial: Any = None
    adversarial_label: Any = None
    edits: int = 0
    distance: float | None = None
    changes: list[dict[str, Any]] = field(default_factory=list)


def _attack_one_text(oracle: _Oracle, text: str, rng: np.random.Generator,
                     kinds: tuple[str, ...], max_edits: int, candidates: int,
                     truth: Any) -> _Outcome:
    (clean,) = oracle.ask([text])
    if not isinstance(clean, tuple):
        return _Outcome("crashed")
    clean_label, clean_score = clean
    oracle.clean_label = clean_label
    if truth is not None and clean_label != truth:
        return _Outcome("skipped", clean_label)
    spans = word_spans(text)
    options = dict(enumerate(text_edits(text, kinds)))  # edits see the text around words
    editable = [w for w in range(len(spans)) if options[w]]
    tiebreak = rng.permutation(len(editable)) if editable else np.zeros(0, dtype=np.int64)
    # Rank words: leave each one out (one batch), by the drop of the clean label's score.
    replies = oracle.ask([_leave_out(text, spans[w]) for w in editable])
    importance = [_importance(r, clean_label, clean_score, oracle.scored) for r in replies]
    order = sorted(range(len(editable)), key=lambda j: (-importance[j], tiebreak[j]))
    kept: list[Edit] = []
    current = clean_score
    for j in order:
        if len(kept) >= max_edits or oracle.remaining <= 0:
            break
        w = editable[j]
        tries = _draw(options[w], rng, candidates)
        variants = [apply_edits(text, [*kept, e]) for e in tries]
        answers = oracle.ask(variants)
        for e, variant, reply in zip(tries, variants, answers):
            if _flipped(reply, clean_label):
                done = [*kept, e]
                return _Outcome("success", clean_label, variant, reply[0], len(done),
                                changes=_describe_edits(text, spans, done))
        answered = [(k, r) for k, r in enumerate(answers) if isinstance(r, tuple)]
        if not answered:
            continue
        if oracle.scored:
            k, (_, score) = min(answered, key=lambda kr: (_nan_high(kr[1][1]), kr[0]))
            if _nan_high(score) < _nan_high(current):
                kept.append(tries[k])
                current = score
        else:
            kept.append(tries[answered[0][0]])
    return _Outcome("failed", clean_label, changes=_describe_edits(text, spans, kept))


def _nan_high(x: float) -> float:
    return math.inf if math.isnan(x) else x


def _importance(reply: Any, clean_label: Any, clean_score: float, scored: bool) -> float:
    if not isinstance(reply, tuple):
        return -math.inf  # not asked (budget) or crashed: rank last
    label, score = reply
    if label != clean_label:
        return 2.0 + (clean_score if scored and math.isfinite(clean_score) else 0.0)
    if not scored or not math.isfinite(score) or not math.isfinite(clean_score):
        return 0.0
    return clean_score - score


def _draw(options: dict[str, list[Edit]], rng: np.random.Generator, k: int) -> list[Edit]:
    """Up to k edits, the kinds taken in turns (in a random order) so that each kind is
    tried even when one kind has many more options (keyboard neighbours)."""
    kinds = [list(options)[i] for i in rng.permutation(len(options))]
    pools = [[options[kind][i] for i in rng.permutation(len(options[kind]))] for kind in kinds]
    out: list[Edit] = []
    depth = 0
    while len(out) < k and any(depth < len(p) for p in pools):
        out.extend(p[depth] for p in pools if depth < len(p))
        depth += 1
    return out[:k]


def _describe_edits(text: str, spans: list[tuple[int, int]],
                    edits: list[Edit]) -> list[dict[str, Any]]:
    out = []
    for e in sorted(edits):
        before = text[spans[e.word][0]: spans[e.word][1]]
        out.append({**e.to_dict(), "before": before, "after": e.apply(before)})
    return out


# --------------------------------------------------------------------------- tabular


def attack_tabular(model: Any, frame: Any, *, seed: int = 0, max_queries: int = 200,
                   columns: Sequence[Any] | None = None, reference: Any = None,
                   radius: float = 3.0, directions: int = 16, tolerance: float = 0.01,
                   patience: int = 3, max_categories: int = 20,
                   indices: Sequence[int] | None = None,
                   timeout: float | None = None) -> AttackResult:
    """Bounded black-box search for the smallest change of each row that flips its label.

    Numeric columns move in units of their standard deviation in ``reference`` (default:
    ``frame``), so one unit means the same on every feature. Per row, batches of
    ``directions`` random unit directions are tried at the current radius (first
    ``radius``); when some flip the label, the radius is bisected along the most flipped
    one down to the boundary (to ``tolerance``), and new directions are tried within
    the smaller radius, until ``patience`` batches in a row find nothing smaller or the
    budget is spent. Categorical (non-numeric) columns are tried first, one swap at a
    time, among the ``max_categories`` most frequent values seen in ``reference``; a
    swap counts as a distance of 1 (one standard deviation) per column.

    ``distance`` is the L2 norm of the change in standard deviations. Missing numeric
    cells are not moved. ``columns`` limits which columns may change (default: all).
    """
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise InvalidArgument(f"frame must be a pandas DataFrame of rows to attack; got "
                              f"{type(frame).__name__}")
    reference = frame if reference is None else reference
    if not isinstance(reference, pd.DataFrame):
        raise InvalidArgument(f"reference must be a pandas DataFrame (the data whose spread "
                              f"sets the units) or None; got {type(reference).__name__}")
    adapter = adapt(model)
    seed = _check_int("seed", seed, 0)
    max_queries = _check_int("max_queries", max_queries, 1)
    directions = _check_int("directions", directions, 1)
    patience = _check_int("patience", patience, 1)
    max_categories = _check_int("max_categories", max_categories, 1)
    radius = _check_positive("radius", radius)
    tolerance = _check_positive("tolerance", tolerance)
    keys = _check_indices(indices, len(frame))
    chosen = list(frame.columns) if columns is None else list(columns)
    missing = [c for c in chosen if c not in frame.columns or c not in reference.columns]
    if missing:
        raise InvalidArgument(f"columns {missing} are not columns of both frame and reference; "
                              f"frame has {[str(c) for c in frame.columns][:20]}")
    numeric, stds, categorical = [], [], {}
    for c in chosen:
        series = reference[c]
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            std = float(pd.to_numeric(series, errors="coerce").std())
            if math.isfinite(std) and std > 0:
                numeric.append(c)
                stds.append(std)
        else:
            counts = series.dropna().value_counts(sort=True)
            values = sorted(counts.index.tolist(), key=lambda v: (-counts[v], repr(v)))
            if len(values) > 1:
                categorical[c] = values[:max_categories]
    params = {"columns": [str(c) for c in chosen], "radius": radius, "directions": directions,
              "tolerance": tolerance, "patience": patience, "max_categories": max_categories}
    out = _empty_result("tabular", seed, max_queries, None, keys, params)
    search = _TabularSearch(numeric, np.asarray(stds), categorical, radius, directions,
                            tolerance, patience)
    for i in range(len(frame)):
        row = frame.iloc[[i]].reset_index(drop=True)
        oracle = _Oracle(adapter, max_queries, functools.partial(pack_rows, row),
                         lambda overrides: jsonable(dict(overrides)), "tabular", timeout)
        rng = np.random.default_rng(stable_hash("robustcheck.attack_tabular", seed, keys[i]))
        outcome = search.run(oracle, row, rng)
        _record(out, {str(k): _plain(v) for k, v in row.iloc[0].items()}, oracle, outcome)
    return out


@dataclass
class _TabularSearch:
    numeric: list[Any]
    stds: np.ndarray
    categorical: dict[Any, list[Any]]
    radius: float
    directions: int
    tolerance: float
    patience: int

    def run(self, oracle: _Oracle, row: Any, rng: np.random.Generator) -> _Outcome:
        (clean,) = oracle.ask([{}])
        if not isinstance(clean, tuple):
            return _Outcome("crashed")
        clean_label = clean[0]
        oracle.clean_label = clean_label
        best: tuple[float, dict[Any, Any], Any] | None = None  # (distance, overrides, label)
        # Categorical swaps, one column at a time: at most half the budget.
        swaps = [{c: v} for c, values in self.categorical.items() for v in values
                 if not _same_value(row[c].iloc[0], v)]
        swaps = swaps[: max(0, oracle.remaining // 2)]
        for change, reply in zip(swaps, oracle.ask(swaps)):
            if _flipped(reply, clean_label):
                best = (1.0, change, reply[0])
                break
        # Numeric directions, in standard deviations; missing cells stay put.
        x = row[self.numeric].to_numpy(dtype=float, na_value=np.nan)[0] if self.numeric \
            else np.zeros(0)
        movable = np.isfinite(x)
        if movable.any():
            best = self._numeric(oracle, x, movable, rng, clean_label, best)
        if best is None:
            return _Outcome("failed", clean_label)
        distance, change, label = best
        changes = []
        for column, after in change.items():
            before = _plain(row[column].iloc[0])
            entry = {"column": str(column), "before": before, "after": _plain(after)}
            if column in self.numeric:
                entry["std_units"] = (after - before) / self.stds[self.numeric.index(column)]
            changes.append(entry)
        adversarial = {str(k): _plain(v) for k, v in row.iloc[0].items()}
        adversarial.update({str(k): _plain(v) for k, v in change.items()})
        return _Outcome("success", clean_label, adversarial, label, len(change),
                        distance, changes)

    def _numeric(self, oracle: _Oracle, x: np.ndarray, movable: np.ndarray,
                 rng: np.random.Generator, clean_label: Any,
                 best: tuple[float, dict[Any, Any], Any] | None,
                 ) -> tuple[float, dict[Any, Any], Any] | None:
        def point(direction: np.ndarray, r: float) -> dict[Any, Any]:
            moved = x + r * direction * self.stds
            return {c: float(moved[k]) for k, c in enumerate(self.numeric) if direction[k]}

        hi = self.radius if best is None else min(self.radius, best[0])
        idle = 0
        while oracle.remaining > 0 and idle < self.patience:
            batch = rng.standard_normal((min(self.directions, oracle.remaining), len(x)))
            batch[:, ~movable] = 0.0
            batch /= np.linalg.norm(batch, axis=1, keepdims=True)
            replies = oracle.ask([point(d, hi) for d in batch])
            flips = [(k, r) for k, r in enumerate(replies) if _flipped(r, clean_label)]
            if not flips:
                idle += 1
                continue
            # Bisect along the direction the model is surest flipped (lowest clean score).
            k, reply = min(flips, key=lambda kr: (_nan_low(kr[1][1]), kr[0]))
            d, lo, label = batch[k], 0.0, reply[0]
            while hi - lo > self.tolerance and oracle.remaining > 0:
                mid = (lo + hi) / 2
                (answer,) = oracle.ask([point(d, mid)])
                if _flipped(answer, clean_label):
                    hi, label = mid, answer[0]
                else:
                    lo = mid  # crashed or same label: the boundary is further out
            if best is None or hi < best[0]:
                best, idle = (hi, point(d, hi), label), 0
            else:
                idle += 1
        return best


def _nan_low(x: float) -> float:
    return -math.inf if math.isnan(x) else x


def _same_value(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


# --------------------------------------------------------------------------- shared


def _empty_result(kind: str, seed: int, max_queries: int, max_edits: int | None,
                  indices: list[int], parameters: dict[str, Any]) -> AttackResult:
    return AttackResult(kind, seed, max_queries, max_edits, indices, [], [], [], [], [], [],
                        [], [], [], [], [], parameters)


def _record(out: AttackResult, original: Any, oracle: _Oracle, o: _Outcome) -> None:
    out.status.append(o.status)
    out.success.append(o.status == "success")
    out.edits.append(o.edits)
    out.queries.append(oracle.queries)
    out.original.append(original)
    out.adversarial.append(o.adversarial)
    out.original_label.append(o.clean_label)
    out.adversarial_label.append(o.adversarial_label)
    out.distance.append(o.distance)
    out.changes.append(o.changes)
    out.crashes.append(oracle.crashes)


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise InvalidArgument(f"{name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def _check_positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value) or value <= 0:
        raise InvalidArgument(f"{name} must be a finite number > 0; got {value!r}")
    return float(value)


def _check_kinds(kinds: Any) -> tuple[str, ...]:
    import difflib

    if isinstance(kinds, str):
        kinds = [kinds]
    try:
        chosen = tuple(dict.fromkeys(kinds))
    except TypeError:
        raise InvalidArgument(f"edits must be a list of edit kinds from {list(EDIT_KINDS)}; "
                              f"got {kinds!r}") from None
    for kind in chosen:
        if kind not in EDIT_KINDS:
            close = difflib.get_close_matches(str(kind), EDIT_KINDS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise InvalidArgument(f"edits contains {kind!r}, which is not an edit kind; use "
                                  f"some of {list(EDIT_KINDS)}{hint}")
    if not chosen:
        raise InvalidArgument(f"edits is empty; give at least one of {list(EDIT_KINDS)}")
    return chosen


def _texts(texts: Any) -> list[str]:
    if isinstance(texts, (str, bytes)):
        raise InvalidArgument("texts is a single string; pass a list of strings, e.g. [text]")
    try:
        items = list(texts.tolist() if hasattr(texts, "tolist") else texts)
    except TypeError:
        raise InvalidArgument(f"texts must be a list of strings; got {type(texts).__name__}"
                              ) from None
    bad = next((i for i, t in enumerate(items) if not isinstance(t, str)), None)
    if bad is not None:
        raise InvalidArgument(f"texts[{bad}] is {items[bad]!r} ({type(items[bad]).__name__}); "
                              "every text must be a string")
    return items


def _check_labels(labels: Any, n: int) -> list[Any] | None:
    if labels is None:
        return None
    if isinstance(labels, str):
        raise InvalidArgument("labels is a single string; pass one label per text, or None")
    values = [_plain(v) for v in (labels.tolist() if hasattr(labels, "tolist") else labels)]
    if len(values) != n:
        raise InvalidArgument(f"labels has {len(values)} entries for {n} inputs; pass one "
                              "label per input, or None")
    return values


def _check_indices(indices: Any, n: int) -> list[int]:
    if indices is None:
        return list(range(n))
    values = list(indices.tolist() if hasattr(indices, "tolist") else indices)
    if len(values) != n or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                                   and int(v) >= 0 for v in values):
        raise InvalidArgument(f"indices must be {n} non-negative integers (the inputs' "
                              f"positions in the whole data set), or None; got {values[:10]!r}")
    return [int(v) for v in values]


# -- attacks as rows of robustcheck.run ---------------------------------------------------


@dataclass(frozen=True)
class Attack:
    """An attack run as a row of :func:`robustcheck.run`, next to the perturbations:
    ``perturbations=["text", "attack.text"]``. It fills the same record fields as a
    :class:`~perturbations.Perturbation` (name, family, modality, expectation, what
    severity scales), so results, checks, comparisons and the report treat it alike.

    A row's coverage is the share of inputs attacked, its flip rate the attack's success
    rate; the attack's own numbers (edits, queries) are in ``row.details``.
    """

    name: str
    modality: str
    description: str
    severity: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    expectation: str = "invariant"
    direction: str = ""
    default: bool = False
    minimal: bool = False
    """Whether a run asked for ``minimal=True`` also searches its smallest breaking change."""

    @property
    def family(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def variant(self) -> str:
        return self.name.split(".", 1)[1]

    def record(self) -> dict[str, Any]:
        return {"name": self.name, "family": self.family, "modality": self.modality,
                "expectation": self.expectation, "direction": self.direction,
                "description": self.description, "severity": self.severity,
                "parameters": {k: jsonable(v) for k, v in sorted(self.parameters.items())}}

    def configure(self, **parameters: Any) -> Attack:
        unknown = sorted(set(parameters) - set(self.parameters))
        if unknown:
            raise InvalidArgument(f"{self.name} has no parameter {unknown[0]!r}; its "
                                  f"parameters are: {', '.join(sorted(self.parameters))}")
        return dataclasses.replace(self, parameters={**self.parameters, **parameters})

    def run(self, model: Any, inputs: Any, *, severity: float, seed: int,
            timeout: float | None = None) -> AttackResult:
        """The attack at ``severity`` (which scales its budget) on every input; each
        query under the run's ``timeout``."""
        raise NotImplementedError(f"{type(self).__name__} must implement run")


@dataclass(frozen=True)
class TextAttack(Attack):
    """:func:`attack_text` as a row: severity scales the number of edited characters."""

    def run(self, model: Any, inputs: Any, *, severity: float, seed: int,
            timeout: float | None = None) -> AttackResult:
        params = dict(self.parameters)
        max_edits = max(1, math.ceil(severity * params.pop("max_edits") - 1e-9))
        return attack_text(model, inputs, seed=seed, max_edits=max_edits, timeout=timeout,
                           **params)


@dataclass(frozen=True)
class TabularAttack(Attack):
    """:func:`attack_tabular` as a row: severity scales the search radius."""

    def run(self, model: Any, inputs: Any, *, severity: float, seed: int,
            timeout: float | None = None) -> AttackResult:
        params = dict(self.parameters)
        radius = params.pop("radius") * severity
        return attack_tabular(model, inputs, seed=seed, radius=radius, timeout=timeout,
                              **params)


ATTACKS = {
    "attack.text": TextAttack(
        name="attack.text", modality="text",
        description="Black-box attack: words ranked by how much leaving each out lowers the "
                    "model's confidence, then one-character edits (keyboard, swap, delete, "
                    "homoglyph) to the most important words first, until the label flips "
                    "or the budget is spent. The row's flip rate is its success rate.",
        severity="edit budget: ceil(5 x severity) edited characters (5 at 1.0), 200 model "
                 "queries per input",
        parameters={"max_edits": 5, "max_queries": 200, "candidates": 8},
        minimal=True,
    ),
    "attack.tabular": TabularAttack(
        name="attack.tabular", modality="tabular",
        description="Black-box search for the smallest change that flips a row's label: "
                    "random directions over the numeric features in standard deviations, "
                    "bisected to the decision boundary, and swaps of categorical values.",
        severity="search radius: 3 x severity standard deviations (3 at 1.0), 200 model "
                 "queries per row",
        parameters={"radius": 3.0, "max_queries": 200, "directions": 16},
    ),
}
