"""Hypothesis strategies over perturbed inputs, and the search for a minimal failure.

Hypothesis turns "the model should not care about typos" into a property test, and its
shrinker turns a failing input into the smallest one that still fails: the example an
engineer can debug. Three pieces:

- :func:`perturbed` draws perturbed variants of one input (a catalogue perturbation, a
  severity and a seed), for ``@given`` in a user's own tests;
- :func:`char_edits` draws lists of one-character edits of a text (at most one per
  word, as :class:`~robustcheck.attack.Edit` objects); Hypothesis shrinks a list by
  dropping elements, so a failing list shrinks towards fewer edits;
- :func:`minimal_failure` searches those lists with :func:`hypothesis.find`, steered by
  :func:`hypothesis.target` on the drop of the clean label's score, and returns the
  shrunk :class:`Counterexample`: removing any one of its edits restores the clean
  label (checked before returning, at most one model call per edit). With a Hypothesis
  example database the failure is saved and the next call replays it first.
"""

from __future__ import annotations

import difflib
import hashlib
import math
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from random import Random
from typing import Any

import hypothesis
import hypothesis.strategies as st
import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity
from hypothesis.database import ExampleDatabase
from hypothesis.errors import NoSuchExample

import perturbations as catalogue
from perturbations import Perturbation
from perturbations.edits import EDIT_KINDS, Edit, apply_edits, text_edits, word_spans

from ._files import plain as _plain
from .adapters import adapt
from .errors import InvalidArgument

__all__ = ["FAMILIES", "Counterexample", "char_edits", "minimal_failure", "perturbed"]

FAMILIES: dict[str, tuple[str, ...]] = {
    "typo": ("keyboard", "swap", "delete", "insert"),
    "homoglyph": ("homoglyph",),
    "typo.keyboard": ("keyboard",),
    "typo.swap": ("swap",),
    "typo.delete": ("delete",),
    "typo.insert": ("insert",),
    "homoglyph.cyrillic": ("homoglyph",),
    "homoglyph.greek": ("homoglyph",),
}
"""What ``minimal_failure(families=...)`` may edit: catalogue families and names whose
edits are single characters inside words, and the edit kinds they stand for. A bare edit
kind (``"swap"``) is accepted too."""


# --------------------------------------------------------------------------- perturbed


_SEVERITIES = st.floats(0.05, 1.0)
_SEEDS = st.integers(0, 2**32 - 1)


def perturbed(x: Any, *, family: str | Sequence[str] | None = None,
              names: str | Sequence[str] | None = None,
              severities: st.SearchStrategy[float] = _SEVERITIES,
              seeds: st.SearchStrategy[int] = _SEEDS,
              reference: Any = None) -> st.SearchStrategy[Any]:
    """Perturbed variants of ``x``: a text, or a DataFrame of rows (tabular).

    Each draw picks a perturbation (of ``family``, from ``names``, or else from the
    default suite of ``x``'s modality), a severity from ``severities`` and a seed from
    ``seeds``, and applies it: ``p(x, severity=..., seed=...)``. A variant may equal
    ``x`` when the perturbation does not apply to it, as in the runner. ``reference``
    (tabular) is the data whose spread scales the change (default: ``x`` itself, whose
    spread is zero for a single row: pass the data set).

        @given(robustcheck.strategies.perturbed("great food", family="typo"))
        def test_typos_keep_the_label(text):
            np.testing.assert_equal(model.predict([text])[0], "pos")
    """
    modality = _modality(x)
    if family is not None and names is not None:
        raise InvalidArgument("give family or names, not both: family picks every "
                              "perturbation of a family, names picks perturbations by name")
    for name, strategy in (("severities", severities), ("seeds", seeds)):
        if not isinstance(strategy, st.SearchStrategy):
            raise InvalidArgument(f"{name} must be a Hypothesis strategy such as "
                                  f"st.floats(0.1, 1.0); got {strategy!r}")
    if family is not None:
        families = [family] if isinstance(family, str) else list(family)
        chosen = [p for f in families for p in catalogue.catalogue(modality, family=f)]
    elif names is not None:
        chosen = [catalogue.get(n) for n in ([names] if isinstance(names, str) else names)]
    else:
        chosen = [p for p in catalogue.catalogue(modality) if p.default]
    wrong = [p.name for p in chosen if p.modality != modality]
    if wrong:
        raise InvalidArgument(f"names {wrong} are not {modality} perturbations, but x is "
                              f"{modality} data ({type(x).__name__})")
    if not chosen:
        raise InvalidArgument(f"no {modality} perturbation matches family={family!r}, "
                              f"names={names!r}")
    unique = list({p.name: p for p in chosen}.values())

    single = isinstance(x, str)  # one text; a run's inputs are a list of them
    batch = [x] if single else x

    def apply(draw: tuple[Perturbation, float, int]) -> Any:
        p, severity, seed = draw
        out = p.apply(batch, severity=severity, seed=seed, reference=reference)
        return out[0] if single else out

    return st.tuples(st.sampled_from(unique), severities, seeds).map(apply)


def _modality(x: Any) -> str:
    if isinstance(x, str):
        return "text"
    if type(x).__name__ == "DataFrame" and type(x).__module__.startswith("pandas"):
        return "tabular"
    raise InvalidArgument(f"x must be a string (text) or a pandas DataFrame (tabular); got "
                          f"{type(x).__name__}")


# --------------------------------------------------------------------------- edits


def char_edits(text: str, *, kinds: Iterable[str] = EDIT_KINDS, min_size: int = 1,
               max_size: int = 5) -> st.SearchStrategy[list[Edit]]:
    """Lists of one-character edits of ``text``, at most one per word.

    Apply a drawn list with :func:`robustcheck.attack.apply_edits`. Edits name words of
    the original text, so every sub-list applies too, which is what lets Hypothesis
    shrink a failing list by dropping edits. Shrinking also moves towards earlier
    words and the first edits of each word (a kind order of ``kinds``).
    """
    if not isinstance(text, str):
        raise InvalidArgument(f"text must be a string; got {type(text).__name__}")
    table = _edit_table(text, _kinds(kinds, "kinds"))
    for name, value in (("min_size", min_size), ("max_size", max_size)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
            raise InvalidArgument(f"{name} must be an integer >= 0; got {value!r}")
    if min_size > max_size:
        raise InvalidArgument(f"min_size={min_size} is larger than max_size={max_size}")
    if min_size > len(table):
        raise InvalidArgument(f"min_size={min_size}, but {text!r} has only {len(table)} "
                              "words these edit kinds can change")
    return _edit_lists(table, int(min_size), int(max_size))


def _edit_table(text: str, kinds: tuple[str, ...]) -> dict[int, list[Edit]]:
    table = {}
    for w, options in enumerate(text_edits(text, kinds)):  # edits see the text around
        flat = [e for kind in kinds for e in options.get(kind, [])]
        if flat:
            table[w] = flat
    return table


def _edit_lists(table: dict[int, list[Edit]], min_size: int,
                max_size: int) -> st.SearchStrategy[list[Edit]]:
    if not table:
        return st.just([])
    words = sorted(table)

    @st.composite
    def one(draw: Any) -> Edit:
        w = draw(st.sampled_from(words))
        return draw(st.sampled_from(table[w]))

    return st.lists(one(), min_size=min_size, max_size=min(max_size, len(words)),
                    unique_by=lambda e: e.word)


def _kinds(families: Any, argument: str) -> tuple[str, ...]:
    if isinstance(families, str):
        families = [families]
    try:
        items = list(families)
    except TypeError:
        raise InvalidArgument(f"{argument} must be a list of names; got {families!r}") from None
    kinds: dict[str, None] = {}
    known = [*FAMILIES, *EDIT_KINDS]
    for item in items:
        if item in FAMILIES:
            kinds.update(dict.fromkeys(FAMILIES[item]))
        elif item in EDIT_KINDS:
            kinds[item] = None
        else:
            close = difflib.get_close_matches(str(item), known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise InvalidArgument(f"{argument} contains {item!r}, which names no character "
                                  f"edit; use some of {known}{hint}")
    if not kinds:
        raise InvalidArgument(f"{argument} is empty; give at least one of {known}")
    return tuple(kinds)


# --------------------------------------------------------------------------- search


@dataclass(frozen=True)
class Counterexample:
    """The smallest failing variant found: ``perturbed`` is ``original`` with ``edits``
    made, and the model labels it ``label`` instead of ``clean_label``.

    ``confidence_drop`` is the clean label's score on the original minus on the
    perturbed text (None when the model gives no scores for it).
    """

    original: str
    perturbed: str
    edits: tuple[Edit, ...]
    clean_label: Any
    label: Any
    confidence_drop: float | None

    def to_dict(self) -> dict[str, Any]:
        spans = word_spans(self.original)
        changes = []
        for e in self.edits:
            before = self.original[spans[e.word][0]: spans[e.word][1]]
            changes.append({**e.to_dict(), "before": before, "after": e.apply(before)})
        return {"original": self.original, "perturbed": self.perturbed, "edits": changes,
                "clean_label": _plain(self.clean_label), "label": _plain(self.label),
                "confidence_drop": self.confidence_drop}


def minimal_failure(model: Any, x: str, *, families: Iterable[str] = ("typo",),
                    max_examples: int = 300, database: ExampleDatabase | None = None,
                    seed: int = 0, max_edits: int = 5) -> Counterexample | None:
    """The smallest set of character edits of ``x`` that changes the model's label.

    Hypothesis draws lists of up to ``max_edits`` edits (kinds from ``families``, see
    :data:`FAMILIES`), steered by ``hypothesis.target`` towards a larger drop of the
    clean label's score; the first list that changes the label is shrunk. The result is
    then checked edit by edit: removing any one edit restores the clean label (an edit
    whose removal does not is dropped). Returns None when no failure turned up in
    ``max_examples`` examples.

    Without a ``database`` the search is deterministic for a given ``seed`` (and a
    deterministic model). With one (e.g.
    ``DirectoryBasedExampleDatabase(".hypothesis/robustcheck")``) the failure is saved
    under a key made of ``x``, the edit kinds and ``max_edits``, and the next call
    replays it first and returns it again; Hypothesis then draws new examples from its
    own randomness, not from ``seed`` (it ignores a database when given a seed).

    A model error on a variant counts as "no failure" for that variant; an error on
    ``x`` itself is raised, as there is nothing to compare with.
    """
    if not isinstance(x, str):
        raise InvalidArgument(f"x must be a string (minimal_failure edits characters of a "
                              f"text); got {type(x).__name__}")
    kinds = _kinds(families, "families")
    for name, value, low in (("max_examples", max_examples, 1), ("seed", seed, 0),
                             ("max_edits", max_edits, 1)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise InvalidArgument(f"{name} must be an integer >= {low}; got {value!r}")
    if database is not None and not isinstance(database, ExampleDatabase):
        raise InvalidArgument(f"database must be a Hypothesis ExampleDatabase (e.g. "
                              f"DirectoryBasedExampleDatabase(path)) or None; got {database!r}")
    adapter = adapt(model)
    clean = adapter.predict([x])
    clean_label = _plain(clean.labels[0])
    clean_score = float(clean.confidence[0])
    table = _edit_table(x, kinds)
    if not table:
        return None

    def answer(edits: Sequence[Edit]) -> tuple[Any, float] | None:
        try:
            pred = adapter.predict([apply_edits(x, edits)])
        except Exception:  # a crash is not a label change; the runner reports crashes
            return None
        label = _plain(pred.labels[0])
        score = float(pred.score_of(np.array([clean_label], dtype=object))[0])
        return label, clean_score - score

    def fails(edits: list[Edit]) -> bool:
        reply = answer(edits)
        if reply is None:
            return False
        label, drop = reply
        if math.isfinite(drop):
            hypothesis.target(drop, label="confidence_drop")
        return bool(label != clean_label)

    settings = hypothesis.settings(
        max_examples=int(max_examples), database=database, deadline=None,
        # every phase but explain: it line-traces each later call (the model's included)
        # to explain failures in a report that ``find`` never prints
        phases=tuple(p for p in Phase if p is not Phase.explain),
        verbosity=Verbosity.quiet, derandomize=False,
        suppress_health_check=list(HealthCheck))
    key = hashlib.sha256(repr(("robustcheck.minimal_failure", x, kinds, int(max_edits)))
                         .encode("utf-8", "surrogatepass")).digest()
    # Hypothesis ignores the database when a seed is given (a seed is for reproducing
    # a run, a database for replaying failures), so the seed applies without database.
    rng = Random(seed) if database is None else None
    try:
        found = hypothesis.find(_edit_lists(table, 1, int(max_edits)), fails,
                                settings=settings, random=rng, database_key=key)
    except NoSuchExample:
        return None
    edits = _one_minimal(sorted(found), answer, clean_label)
    label, drop = answer(edits) or (None, math.nan)
    if label is None or label == clean_label:  # a model that does not answer the same twice
        return None
    return Counterexample(x, apply_edits(x, edits), tuple(edits), clean_label, label,
                          drop if math.isfinite(drop) else None)


def _one_minimal(edits: list[Edit], answer: Any, clean_label: Any) -> list[Edit]:
    """Drop edits whose removal keeps the label changed, until every edit is needed.

    Hypothesis's shrinker tries deleting each list element, so this usually costs one
    model call per edit and changes nothing; it makes minimality a guarantee.
    """
    changed = True
    while changed and len(edits) > 1:
        changed = False
        for e in edits:
            rest = [f for f in edits if f != e]
            reply = answer(rest)
            if reply is not None and reply[0] != clean_label:
                edits, changed = rest, True
                break
    return edits


