"""The text attack: words ranked by importance, then one-character edits, greedily.

Public as :func:`robustcheck.attack.attack_text`; the method is described there.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec, TypeVar

import numpy as np

from perturbations import InvalidArgument as _CatalogueInvalidArgument
from perturbations import edits as _edits
from perturbations import stable_hash
from perturbations.edits import Edit, text_edits, word_spans

from ._attack_common import (
    AttackResult,
    _check_indices,
    _check_int,
    _check_labels,
    _empty_result,
    _flipped,
    _Oracle,
    _Outcome,
    _record,
)
from .adapters import adapt
from .errors import InvalidArgument

# --------------------------------------------------------------------------- edits

# The edit kinds (EDIT_KINDS), what a word is and where each edit may go are the
# catalogue's, in perturbations.edits: an attack edits text as the typo and homoglyph
# perturbations do. ``insert`` (a neighbouring key typed as well) is not in the text
# attack's default set, which keeps to edits that do not lengthen a word.

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _own_errors(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """``func`` raising robustcheck's InvalidArgument for a bad argument, as every other
    function of the attacks does, where the catalogue raises its own."""

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


# --------------------------------------------------------------------------- arguments


def _check_kinds(kinds: Any) -> tuple[str, ...]:
    """The catalogue's check of edit kinds, naming the argument ``edits``."""
    return _own_errors(_edits.check_kinds)(kinds, "edits")


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
