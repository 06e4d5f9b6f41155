"""One-character edits inside words: the rules of the catalogue's typos and homoglyphs.

The catalogue's ``typo.keyboard``, ``typo.swap``, ``typo.delete``, ``typo.insert``,
``homoglyph.cyrillic`` and ``homoglyph.greek`` each make one such edit in a random share
of words. An attack, or a property test, wants every edit a text allows, to try them in
turn. Both follow the rules written here, once:

>>> from perturbations import edits
>>> edits.word_spans("The staff weren't rude")
[(0, 3), (4, 9), (10, 17), (18, 22)]
>>> options = edits.text_edits("The staff weren't rude", ["swap"])
>>> edits.apply_edits("The staff weren't rude", [options[1]["swap"][0], options[3]["swap"][0]])
"The tsaff weren't urde"

**What a word is.** A maximal run of letters (``str.isalpha``) of one text; an apostrophe
(``'`` or ``\u2019``) with a letter on each side belongs to the word. So "isn't" and
"rock'n'roll" are one word each, and "dogs'" is the word "dogs". Digits, underscores and
combining marks end a word ("abc123def" and "snake_case" are two words each; "x²" is the
word "x"); letters of every script count ("Ωμέγα", "中文", "naïve" written with ``ï``).

**Where each kind of edit may go.** Only letters inside a word ever change; no word
disappears or merges with the next. ``MIN_LENGTH`` is the shortest word a kind edits.

=========  ==========================================  ==============================  ===
kind       edit                                        where it may go                 min
=========  ==========================================  ==============================  ===
keyboard   a letter becomes a neighbouring key         a letter with a neighbour       2
swap       two adjacent letters trade places           two letters that differ         3
delete     a letter is dropped                         a letter, no apostrophe beside  3
insert     a neighbouring key is typed after a letter  a letter with a neighbour       2
homoglyph  a letter becomes its Cyrillic/Greek twin    a letter with a look-alike      1
=========  ==========================================  ==============================  ===

The delete rule looks at the characters next to the letter in the text, inside the word
or not: "don't" never becomes "don'", and "'tis" keeps its t. That is why
:func:`text_edits` (or :func:`word_edits` given ``before`` and ``after``) is the way to
list the edits of a word that sits in a text. Keyboard neighbours are nlpaug's layouts,
letters only, in the letter's case (:func:`keyboard`); look-alikes are the catalogue's
``data/homoglyphs.tsv`` (:func:`homoglyphs`).

An :class:`Edit` names a word by its number in the *original* text, so any subset of a
list of edits (one per word) applies cleanly (:func:`apply_edits`): that is what lets a
counterexample be shrunk edit by edit.
"""

from __future__ import annotations

import difflib
import functools
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from . import _lexicon
from ._errors import InvalidArgument
from ._random import stable_hash
from ._text_engine import (
    APOSTROPHE_CHARS,
    CharTable,
    apostrophe_mask,
    letters_mask,
    text_breaks,
    word_mask,
)

__all__ = [
    "APOSTROPHES",
    "EDIT_KINDS",
    "HOMOGLYPH_SCRIPTS",
    "MIN_LENGTH",
    "Edit",
    "apply_edits",
    "check_kinds",
    "homoglyphs",
    "keyboard",
    "random_edits",
    "text_edits",
    "word_edits",
    "word_spans",
]

EDIT_KINDS = ("keyboard", "swap", "delete", "insert", "homoglyph")
"""The kinds of one-character edit, in the order edits of a word are listed."""

MIN_LENGTH: Mapping[str, int] = MappingProxyType(
    {"keyboard": 2, "swap": 3, "delete": 3, "insert": 2, "homoglyph": 1})
"""The shortest word each kind edits ("a" gets no typo; "is" is not cut to "i")."""

APOSTROPHES = APOSTROPHE_CHARS
"""The characters that join two letters into one word: ``'`` and ``\u2019``."""

HOMOGLYPH_SCRIPTS = ("cyrillic", "greek")
"""The scripts of the look-alikes in ``data/homoglyphs.tsv``, in the order of its columns."""

_SUBSTITUTIONS = ("keyboard", "insert", "homoglyph")  # kinds whose letter comes from a table


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, order=True)
class Edit:
    """One character edit inside word number ``word`` of a text (counted from 0).

    ``position`` is a character index in that word. ``replacement`` is what the edited
    stretch becomes: the new letter (keyboard, homoglyph), the two letters swapped
    (swap), nothing (delete), or the letter typed after ``position`` (insert).
    """

    word: int
    position: int
    kind: str
    replacement: str

    def apply(self, word: str) -> str:
        """``word`` with this edit made."""
        p = self.position
        if self.kind == "insert":
            return word[: p + 1] + self.replacement + word[p + 1:]
        width = 2 if self.kind == "swap" else 1
        return word[:p] + self.replacement + word[p + width:]

    def to_dict(self) -> dict[str, Any]:
        return {"word": self.word, "position": self.position, "kind": self.kind,
                "replacement": self.replacement}


# --------------------------------------------------------------------------- tables


@functools.cache
def keyboard(layout: str = "en") -> Mapping[str, tuple[str, ...]]:
    """Letter -> its neighbouring letters on nlpaug's ``layout`` keyboard, in its case."""
    return MappingProxyType(_lexicon.keyboard(layout))


@functools.cache
def homoglyphs(script: str | None = None) -> Mapping[str, tuple[str, ...]]:
    """Latin letter -> the single letters that look like it: of one script of
    :data:`HOMOGLYPH_SCRIPTS`, or of both when ``script`` is None (Cyrillic first)."""
    if script is None:
        merged: dict[str, list[str]] = {}
        for one in HOMOGLYPH_SCRIPTS:
            for key, alternatives in homoglyphs(one).items():
                merged.setdefault(key, []).extend(alternatives)
        return MappingProxyType({k: tuple(dict.fromkeys(v)) for k, v in merged.items()})
    if script not in HOMOGLYPH_SCRIPTS:
        raise InvalidArgument(f"script={script!r} has no look-alikes; use one of "
                              f"{list(HOMOGLYPH_SCRIPTS)}, or None for both")
    column = HOMOGLYPH_SCRIPTS.index(script) + 1
    table = {}
    for key, alternatives in _lexicon.mapping("homoglyphs", column).items():
        singles = tuple(a for a in alternatives if len(a) == 1 and a != key)
        if singles:
            table[key] = singles
    return MappingProxyType(table)


@functools.cache
def _keyboard_table(layout: str = "en") -> CharTable:
    return CharTable(keyboard(layout))


@functools.cache
def _homoglyph_table(script: str | None = None) -> CharTable:
    return CharTable(homoglyphs(script))


# The tables of the edits listed one by one: the default keyboard, look-alikes of both scripts.
_TABLES: Mapping[str, Callable[[], CharTable]] = {
    "keyboard": _keyboard_table, "insert": _keyboard_table, "homoglyph": _homoglyph_table}


def _sites(kind: str, cps: np.ndarray, breaks: np.ndarray,
           table: CharTable | None = None) -> np.ndarray:
    """Where an edit of ``kind`` may go: a bool per code point of ``cps``, the texts of a
    batch back to back, which meet at ``breaks`` (:func:`~._text_engine.text_breaks`).
    This is the table of the module docstring, for a whole batch at once. ``table``
    holds the letters a keyboard, insert or homoglyph edit uses; its keys are letters."""
    if kind in _SUBSTITUTIONS:
        if table is None:
            raise TypeError(f"a {kind} edit needs its replacement table")
        return table.has(cps)
    n = len(cps)
    letters = letters_mask(cps)
    joined = ~breaks[1:n]  # code points i and i + 1 belong to one text
    if kind == "swap":
        out = np.zeros(n, dtype=bool)
        out[:-1] = letters[:-1] & letters[1:] & (cps[:-1] != cps[1:]) & joined
        return out
    if kind == "delete":  # "don't" must not become "don'": keep the apostrophe's neighbours
        apostrophe = apostrophe_mask(cps)
        near = np.zeros(n, dtype=bool)
        near[:-1] |= apostrophe[1:] & joined
        near[1:] |= apostrophe[:-1] & joined
        return letters & ~near
    raise InvalidArgument(f"{kind!r} is not an edit kind; use one of {list(EDIT_KINDS)}")


# --------------------------------------------------------------------------- words


def word_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of every word of ``text``, in order (see *What a word is*)."""
    _check_text(text)
    inside = np.zeros(len(text) + 2, dtype=bool)
    inside[1:-1] = word_mask(_code_points(text))
    edges = np.flatnonzero(inside[1:] != inside[:-1]).tolist()  # starts and ends, in turn
    return list(zip(edges[0::2], edges[1::2]))


def text_edits(text: str, kinds: Iterable[str] = EDIT_KINDS) -> list[dict[str, list[Edit]]]:
    """Every one-character edit of every word of ``text``, of the kinds in ``kinds``.

    Entry ``w`` holds the edits of word ``w`` (as numbered by :func:`word_spans`), by
    kind in the order of ``kinds``; a kind with no edit in that word is left out. Within
    a kind, edits come by position, then in the order of the replacement table.
    """
    spans = word_spans(text)
    chosen = check_kinds(kinds)
    cps = _code_points(text)
    sites: dict[str, np.ndarray] = {}
    return [_edits_of(text, cps, span, w, chosen, sites) for w, span in enumerate(spans)]


def word_edits(word: str, index: int = 0, kinds: Iterable[str] = EDIT_KINDS, *,
               before: str = "", after: str = "") -> dict[str, list[Edit]]:
    """Every one-character edit of ``word``, word number ``index`` of its text, by kind.

    ``before`` and ``after`` are the text on either side of the word (only the nearest
    character matters; empty at the text's edges): a delete never takes a letter next to
    an apostrophe, in the word or not. :func:`text_edits` fills them in for a whole text.
    """
    for name, value in (("word", word), ("before", before), ("after", after)):
        _check_text(value, name)
    text = before[-1:] + word + after[:1]  # the nearest characters are all that matter
    span = (len(before[-1:]), len(before[-1:]) + len(word))
    return _edits_of(text, _code_points(text), span, index, check_kinds(kinds), {})


def _edits_of(text: str, cps: np.ndarray, span: tuple[int, int], index: int,
              kinds: tuple[str, ...], sites: dict[str, np.ndarray]) -> dict[str, list[Edit]]:
    """The edits of ``text[span]``, word ``index``; ``sites`` caches :func:`_sites` of
    the text's code points ``cps`` by kind, so that its words share one pass per kind."""
    start, end = span
    word = text[start:end]
    out: dict[str, list[Edit]] = {}
    for kind in kinds:
        if end - start < MIN_LENGTH[kind]:
            continue
        if kind not in sites:
            table = _TABLES[kind]() if kind in _TABLES else None
            sites[kind] = _sites(kind, cps, text_breaks(np.array([0, len(cps)]), len(cps)),
                                 table)
        found = [Edit(index, p, kind, r)
                 for p in np.flatnonzero(sites[kind][start:end]).tolist()
                 for r in _replacements(kind, word, p)]
        if found:
            out[kind] = found
    return out


def _replacements(kind: str, word: str, p: int) -> Sequence[str]:
    if kind in ("keyboard", "insert"):
        return keyboard()[word[p]]
    if kind == "homoglyph":
        return homoglyphs()[word[p]]
    return (word[p + 1] + word[p],) if kind == "swap" else ("",)


# --------------------------------------------------------------------------- applying


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """``text`` with ``edits`` made: at most one per word, words numbered as in ``text``.

    The order of ``edits`` does not matter.
    """
    spans = word_spans(text)
    by_word: dict[int, Edit] = {}
    for edit in edits:
        if not isinstance(edit, Edit):
            raise InvalidArgument(f"edits must be Edit objects; got {edit!r}")
        if not 0 <= edit.word < len(spans):
            raise InvalidArgument(f"edit {edit} names word {edit.word}, but the text has "
                                  f"{len(spans)} words")
        if edit.word in by_word:
            raise InvalidArgument(f"edits touch word {edit.word} twice ({by_word[edit.word]} "
                                  f"and {edit}); give at most one edit per word")
        start, end = spans[edit.word]
        if not 0 <= edit.position < end - start:
            raise InvalidArgument(f"edit {edit} has position {edit.position}, outside word "
                                  f"{text[start:end]!r}")
        by_word[edit.word] = edit
    out = text
    for w in sorted(by_word, reverse=True):  # from the end, so earlier spans stay valid
        start, end = spans[w]
        out = out[:start] + by_word[w].apply(out[start:end]) + out[end:]
    return out


def random_edits(text: str, k: int, *, kinds: Sequence[str] = ("keyboard",), seed: int = 0,
                 index: int = 0) -> str:
    """``text`` with ``k`` random one-character edits in ``k`` different random words.

    The baseline an attack is measured against: random typos of the same size. Words
    and edits are drawn uniformly from a generator keyed by ``(seed, index)``; with
    fewer than ``k`` editable words, every editable word gets one edit.
    """
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 0:
        raise InvalidArgument(f"k must be an integer >= 0; got {k!r}")
    # The key names the harness, where this function was first written, so that seeds
    # give the same typos as they did there.
    rng = np.random.default_rng(stable_hash("robustcheck.random_edits", seed, index))
    options = [[e for found in word.values() for e in found]
               for word in text_edits(text, check_kinds(kinds))]
    editable = [w for w, found in enumerate(options) if found]
    chosen = rng.permutation(len(editable))[:k]
    edits = [options[editable[j]][int(rng.integers(len(options[editable[j]])))]
             for j in sorted(chosen.tolist())]
    return apply_edits(text, edits)


# --------------------------------------------------------------------------- checks


def check_kinds(kinds: Iterable[str] | str, argument: str = "kinds") -> tuple[str, ...]:
    """``kinds`` as a tuple of edit kinds without repeats; an unknown or missing kind is
    an :class:`~perturbations.InvalidArgument` naming ``argument``."""
    if isinstance(kinds, str):
        kinds = [kinds]
    try:
        chosen = tuple(dict.fromkeys(kinds))
    except TypeError:
        raise InvalidArgument(f"{argument} must be a list of edit kinds from "
                              f"{list(EDIT_KINDS)}; got {kinds!r}") from None
    for kind in chosen:
        if kind not in EDIT_KINDS:
            close = difflib.get_close_matches(str(kind), EDIT_KINDS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise InvalidArgument(f"{argument} contains {kind!r}, which is not an edit kind; "
                                  f"use some of {list(EDIT_KINDS)}{hint}")
    if not chosen:
        raise InvalidArgument(f"{argument} is empty; give at least one of {list(EDIT_KINDS)}")
    return chosen


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _check_text(value: Any, name: str = "text") -> None:
    if not isinstance(value, str):
        raise InvalidArgument(f"{name} must be a string; got {type(value).__name__}")
