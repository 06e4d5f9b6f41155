"""A batch of texts as one array of code points, with its words located by numpy.

Most text perturbations pick some words and edit characters inside them. Doing that one
sentence at a time in Python costs ~10 µs a sentence before any edit is made; here the
whole batch is encoded once into a ``uint32`` array, words are found with array
operations, the words to touch are ranked with counter-based draws, and the edits are
array assignments, insertions or deletions. Python runs once per batch, plus once per
*edited word* for the perturbations whose edit is a string function.

A word is a maximal run of letters (``str.isalpha``) inside one text, an apostrophe
between two letters of that text included ("isn't" is one word): the rule
:mod:`perturbations.edits` documents and its ``word_spans`` applies to one text, written
here once for a whole batch (:func:`word_mask`). Edits only ever change letters inside a
word (or add characters inside it), so every other character of the text is left as it
was.
"""

from __future__ import annotations

import functools
import itertools
import sys
import threading
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import numpy as np

from ._random import Draws

__all__ = ["CharTable", "TextBatch"]

@functools.cache
def _bmp_letters() -> np.ndarray:
    """``str.isalpha`` of every code point of the Basic Multilingual Plane, once."""
    return np.array([chr(c).isalpha() for c in range(0x10000)], dtype=bool)


class CharTable:
    """``character -> alternatives`` as arrays, for vectorised look-up of code points.

    Only single-code-point keys and alternatives are kept (array edits replace one code
    point by one code point).
    """

    def __init__(self, table: Mapping[str, Sequence[str]]) -> None:
        items = sorted(
            (ord(k), [ord(v) for v in vals if len(v) == 1 and v != k])
            for k, vals in table.items()
            if len(k) == 1
        )
        items = [(k, v) for k, v in items if v]
        width = max((len(v) for _, v in items), default=1)
        self.counts = np.array([len(v) for _, v in items], dtype=np.int64)
        self.values = np.zeros((len(items), width), dtype=np.uint32)
        for row, (_, vals) in enumerate(items):
            self.values[row, : len(vals)] = vals
        # a dense code point -> row index table, -1 where there is none; it ends with a
        # -1 so that clipping maps every larger code point to "none"
        self.rows = np.full((items[-1][0] + 2) if items else 1, -1, dtype=np.int32)
        for row, (key, _) in enumerate(items):
            self.rows[key] = row
        self.present = self.rows >= 0

    def lookup(self, cps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row of each code point in the table and whether it has one."""
        row = np.take(self.rows, cps, mode="clip")
        return np.maximum(row, 0), row >= 0

    def pick(self, rows: np.ndarray, u: np.ndarray) -> np.ndarray:
        """An alternative per looked-up row, chosen by uniforms ``u``."""
        col = np.minimum((u * self.counts[rows]).astype(np.int64), self.counts[rows] - 1)
        return self.values[rows, col]

    def has(self, cps: np.ndarray) -> np.ndarray:
        """Whether each code point is in the table: one byte per code point taken, where
        :meth:`lookup` makes nine (its rows, clipped, and this mask)."""
        return np.take(self.present, cps, mode="clip")


@functools.cache
def case_table(kind: str) -> CharTable:
    """Letter -> its upper (or lower) case form, for every BMP letter whose case maps to
    one other code point."""
    table: dict[str, list[str]] = {}
    for cp in range(0x10000):
        ch = chr(cp)
        if ch.isalpha():
            other = ch.upper() if kind == "upper" else ch.lower()
            if len(other) == 1 and other != ch:
                table[ch] = [other]
    return CharTable(table)


def case_forms(kind: str, cps: np.ndarray) -> np.ndarray:
    """Each code point's form in ``kind`` case ("upper" or "lower") as :func:`case_table`
    has it, the code point itself where the table has none: a new array.

    The table is dense and indexed by the code points themselves: indexing casts the
    ``uint32`` code points to array indices a block at a time, where ``np.take`` (as in
    :meth:`CharTable.lookup`) first copies them whole to ``int64``. For a perturbation
    that edits most letters, as a change of case does, the look-ups this replaces (the
    positions, their rows, the mask of rows found) were most of its large temporaries,
    each of which maps fresh pages while a heap grows under a fixed
    ``MALLOC_TRIM_THRESHOLD_`` (a Dask worker's first audit).
    """
    wide = len(cps) > 0 and int(cps.max()) > 0xFFFF
    return _case_map(kind, wide)[cps]


@functools.cache
def _case_map(kind: str, wide: bool) -> np.ndarray:
    """:func:`case_forms`' table: every code point of the BMP (of Unicode if ``wide``)."""
    table = case_table(kind)
    out = np.arange(0x110000 if wide else 0x10000, dtype=np.uint32)
    keys = np.flatnonzero(table.present)
    out[keys] = table.values[table.rows[keys], 0]
    out.flags.writeable = False
    return out


def letters_mask(cps: np.ndarray) -> np.ndarray:
    """Whether each code point is a letter (``str.isalpha``), vectorised."""
    out = np.take(_bmp_letters(), cps, mode="clip")  # U+FFFF is no letter: clip is safe
    astral = np.flatnonzero(cps > 0xFFFF)
    if len(astral):
        uniq, inverse = np.unique(cps[astral], return_inverse=True)
        out[astral] = np.array([_isalpha(int(c)) for c in uniq], dtype=bool)[inverse]
    return out


APOSTROPHE_CHARS = "'\u2019"
"""The apostrophes that join two letters into one word: "isn't", "l’été"."""
APOSTROPHES = np.array([ord(c) for c in APOSTROPHE_CHARS], dtype=np.uint32)


def apostrophe_mask(cps: np.ndarray) -> np.ndarray:
    """Whether each code point is one of :data:`APOSTROPHE_CHARS`."""
    return (cps == APOSTROPHES[0]) | (cps == APOSTROPHES[1])


def text_breaks(offsets: np.ndarray, n: int) -> np.ndarray:
    """``out[i]`` is true where a text of a batch starts or ends, between code points
    ``i - 1`` and ``i`` (length ``n + 1``; ``offsets`` as in :class:`TextBatch`)."""
    out = np.zeros(n + 1, dtype=bool)
    out[offsets] = True
    return out


def word_mask(cps: np.ndarray, breaks: np.ndarray | None = None) -> np.ndarray:
    """Letters, plus apostrophes with a letter on both sides, in the same text.

    ``breaks`` (from :func:`text_breaks`) marks where the texts of a batch meet: an
    apostrophe that ends one text is not joined to a letter that starts the next, so a
    word never depends on the texts next to it in a batch. None: ``cps`` is one text.
    """
    letter = letters_mask(cps)
    n = len(cps)
    if n > 2:
        inner = apostrophe_mask(cps[1:-1]) & letter[:-2] & letter[2:]
        if breaks is not None:  # the apostrophe's two neighbours are in its own text
            inner &= ~breaks[1:n - 1] & ~breaks[2:n]
        letter[1:-1] |= inner
    return letter


def _isalpha(cp: int) -> bool:
    try:
        return chr(cp).isalpha()
    except ValueError:
        return False


class TextBatch:
    """Texts of one batch as a single code-point array, with word spans.

    Attributes: ``cps`` (uint32 code points of all texts back to back), ``offsets``
    (text i is ``cps[offsets[i]:offsets[i+1]]``), ``breaks`` (:func:`text_breaks` of the
    offsets), and per word ``start``, ``end``, ``owner`` (its text) and ``ordinal`` (its
    position among its text's words).
    """

    texts: list[str]
    joined: str
    offsets: np.ndarray
    cps: np.ndarray
    breaks: np.ndarray
    start: np.ndarray
    end: np.ndarray
    owner: np.ndarray
    ordinal: np.ndarray

    def __init__(self, texts: Sequence[str]) -> None:
        shared = texts.analysis() if isinstance(texts, AnalysedTexts) else None
        if shared is not None and shared.texts == texts:  # not changed since analysed
            shared.unpack(self)
            return
        self.texts = list(texts)
        self._analyse()

    def _analyse(self) -> None:
        """Encode ``self.texts`` and find their words (see the class docstring)."""
        lengths = np.fromiter(map(len, self.texts), dtype=np.int64, count=len(self.texts))
        self.offsets = np.zeros(len(self.texts) + 1, dtype=np.int64)
        np.cumsum(lengths, out=self.offsets[1:])
        self._encode("".join(self.texts))
        n = len(self.cps)
        letter = word_mask(self.cps, self.breaks)
        prev = np.zeros(n, dtype=bool)
        prev[1:] = letter[:-1]
        prev &= ~self.breaks[:n]
        nxt = np.zeros(n, dtype=bool)
        nxt[:-1] = letter[1:]
        nxt &= ~self.breaks[1:]
        self.start = np.flatnonzero(letter & ~prev)
        self.end = np.flatnonzero(letter & ~nxt) + 1
        self.owner = np.searchsorted(self.offsets, self.start, side="right") - 1
        first = np.searchsorted(self.owner, np.arange(len(self.texts)))
        self.ordinal = np.arange(len(self.start)) - first[self.owner]

    def _encode(self, joined: str) -> None:
        """``joined``, ``cps`` and ``breaks`` from the joined texts (``offsets`` set)."""
        self.joined = joined
        self.cps = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        self.breaks = text_breaks(self.offsets, len(self.cps))

    @property
    def lengths(self) -> np.ndarray:
        return self.end - self.start

    def words(self, index: np.ndarray, lower: bool = False) -> list[str]:
        """The text of the words at ``index`` (lower-cased if ``lower``)."""
        joined = self.joined
        bounds = zip(self.start[index].tolist(), self.end[index].tolist())
        if lower:
            folded = joined.lower()
            if len(folded) == len(joined):  # a few letters lower-case to two code points
                return [folded[s:e] for s, e in bounds]
            return [joined[s:e].lower() for s, e in bounds]
        return [joined[s:e] for s, e in bounds]

    def _runs(self, words: np.ndarray) -> np.ndarray:
        """The lengths of the runs of code points that alternate between gaps and the
        words at ``words`` (distinct and sorted): gap, word, gap, ..., word, gap."""
        edges = np.empty(2 * len(words) + 2, dtype=np.int64)
        edges[0], edges[-1] = 0, len(self.cps)
        edges[1:-1:2], edges[2:-1:2] = self.start[words], self.end[words]
        return np.diff(edges)

    def inside(self, words: np.ndarray) -> np.ndarray:
        """Whether each code point lies in one of the words at ``words`` (distinct and
        sorted, as :meth:`choose` gives them): a new mask."""
        runs = self._runs(words)
        marks = np.zeros(len(runs), dtype=bool)
        marks[1::2] = True
        return np.repeat(marks, runs)

    def word_of(self, words: np.ndarray) -> np.ndarray:
        """For each code point, which of the words at ``words`` (distinct and sorted) it
        lies in, as an index into ``words``; -1 outside them."""
        runs = self._runs(words)
        ids = np.full(len(runs), -1, dtype=np.int32)
        ids[1::2] = np.arange(len(words), dtype=np.int32)
        return np.repeat(ids, runs)

    def choose(self, draws: Draws, stream: int, eligible: np.ndarray, share: float) -> np.ndarray:
        """Indices of the words to touch: see :func:`rank_select`."""
        cand = np.flatnonzero(eligible)
        picked = rank_select(draws, stream, self.owner[cand], self.ordinal[cand], share,
                             len(self.texts))
        return cand[picked]

    # -- rebuilding texts ----------------------------------------------------------

    def _split(self, cps: np.ndarray, offsets: np.ndarray) -> list[str]:
        joined = cps.astype(np.uint32, copy=False).tobytes().decode("utf-32-le", "surrogatepass")
        return self._split_str(joined, offsets)

    def rebuild(self, cps: np.ndarray) -> list[str]:
        """Texts from an edited copy of ``cps`` (same length as the original)."""
        return self._split(cps, self.offsets)

    def substitute(self, positions: np.ndarray, values: np.ndarray) -> list[str]:
        """Texts with the code points at ``positions`` replaced by ``values``."""
        if len(positions) == 0:
            return list(self.texts)
        cps = self.cps.copy()
        cps[positions] = values
        return self._split(cps, self.offsets)

    def delete(self, positions: np.ndarray) -> list[str]:
        """Texts with the code points at ``positions`` removed."""
        if len(positions) == 0:
            return list(self.texts)
        keep = np.ones(len(self.cps), dtype=bool)
        keep[positions] = False
        removed = np.bincount(self._owner_of(positions), minlength=len(self.texts))
        return self._split(self.cps[keep], self._shifted(-removed))

    def insert(self, positions: np.ndarray, values: np.ndarray, owner: np.ndarray) -> list[str]:
        """Texts with ``values`` inserted before the code points at ``positions``.

        ``owner`` says which text each insertion belongs to: a position equal to a text's
        end is also the next text's start, and only the caller knows which it meant.
        """
        if len(positions) == 0:
            return list(self.texts)
        order = np.lexsort((owner, positions))
        cps = np.insert(self.cps, positions[order], values[order].astype(np.uint32))
        added = np.bincount(owner, minlength=len(self.texts))
        return self._split(cps, self._shifted(added))

    def replace_words(self, words: np.ndarray, new: Sequence[str]) -> list[str]:
        """Texts with the words at ``words`` (sorted) replaced by the strings ``new``."""
        if len(words) == 0:
            return list(self.texts)
        starts = self.start[words].tolist()
        ends = self.end[words].tolist()
        joined = self.joined
        pieces: list[str] = [joined[a:b] for a, b in zip([0, *ends], [*starts, len(joined)])]
        merged: list[str] = [""] * (2 * len(new) + 1)
        merged[0::2] = pieces
        merged[1::2] = new
        grown = np.fromiter(map(len, new), dtype=np.int64, count=len(new)) - (
            self.end[words] - self.start[words])
        per_text = np.bincount(self.owner[words], weights=grown, minlength=len(self.texts))
        return self._split_str("".join(merged), self._shifted(per_text.astype(np.int64)))

    def _split_str(self, joined: str, offsets: np.ndarray) -> list[str]:
        return [joined[a:b] for a, b in itertools.pairwise(offsets.tolist())]

    def _owner_of(self, positions: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.offsets, positions, side="right") - 1

    def _shifted(self, delta: np.ndarray) -> np.ndarray:
        lengths = np.diff(self.offsets) + delta
        out = np.zeros(len(self.texts) + 1, dtype=np.int64)
        np.cumsum(lengths, out=out[1:])
        return out


class Analysis:
    """What :class:`TextBatch` finds in a chunk of clean texts that no perturbation or
    severity changes, kept compactly to be shared by every unit of a run: the texts, their
    offsets and the word spans (``start``, ``end``, ``owner``, ``ordinal``, each in the
    smallest unsigned type that holds it: about 11 bytes a word). ``joined``, ``cps`` and
    ``breaks`` cost more to keep (``cps`` is 4 bytes a character) than to rebuild (a join
    and an encoding, in C), so each unit rebuilds them. Every array a unit gets is its
    own, so no unit can change what another sees.
    """

    __slots__ = ("end", "offsets", "ordinal", "owner", "start", "texts")

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        batch = TextBatch(texts)
        self.offsets = batch.offsets
        self.start, self.end, self.owner, self.ordinal = (
            a.astype(np.min_scalar_type(int(a.max()) if len(a) else 0))
            for a in (batch.start, batch.end, batch.owner, batch.ordinal))

    @property
    def nbytes(self) -> int:
        """Bytes held by the analysis: its arrays and its list (of the corpus's own
        strings, which it does not copy)."""
        arrays = (self.offsets, self.start, self.end, self.owner, self.ordinal)
        return sum(a.nbytes for a in arrays) + 8 * len(self.texts)

    def unpack(self, batch: TextBatch) -> None:
        """Fill ``batch`` as ``TextBatch(self.texts)`` would, with arrays of its own."""
        batch.texts = list(self.texts)
        batch.offsets = self.offsets.copy()
        batch._encode("".join(batch.texts))
        batch.start, batch.end, batch.owner, batch.ordinal = (
            a.astype(np.int64) for a in (self.start, self.end, self.owner, self.ordinal))


class SharedAnalysis:
    """The :class:`Analysis` of one chunk of texts, made on first use (by the first
    unit that builds a :class:`TextBatch` of the chunk), once, then kept; and, under
    :meth:`memo`, what perturbations find in the chunk before they draw."""

    __slots__ = ("_lock", "_memo", "_value", "texts")

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self._value: Analysis | None = None
        self._lock = threading.Lock()
        self._memo: dict[Hashable, tuple[np.ndarray, ...]] = {}

    def get(self) -> Analysis:
        if self._value is None:
            with self._lock:  # units on threads: one analyses, the others wait for it
                if self._value is None:
                    self._value = Analysis(self.texts)
        return self._value

    def memo(self, key: Hashable, make: Callable[[], tuple[np.ndarray, ...]]
             ) -> tuple[np.ndarray, ...]:
        """``make()``'s arrays, made on first use under ``key`` and then kept. Units on
        threads may make them at once: they are the same, and the first one kept wins."""
        found = self._memo.get(key)
        if found is None:
            found = self._memo.setdefault(key, make())
        return found

    @property
    def nbytes(self) -> int:
        kept = sum(_nbytes(a) for arrays in list(self._memo.values()) for a in arrays)
        return kept + (0 if self._value is None else self._value.nbytes)


def _nbytes(array: np.ndarray) -> int:
    """An array's bytes, with the objects an object array points to (kept texts)."""
    if array.dtype != object:
        return array.nbytes
    return array.nbytes + sum(map(sys.getsizeof, array.tolist()))


class AnalysedTexts(list[str]):
    """A chunk of texts as a batched perturbation gets it from a
    :class:`~perturbations._text_corpus.TextCorpus`: a plain list of its strings that
    also carries the chunk's :class:`SharedAnalysis`, which :class:`TextBatch` uses
    instead of analysing the texts again. Pickled, it is a plain list."""

    __slots__ = ("_shared",)

    def __init__(self, texts: list[str], shared: SharedAnalysis) -> None:
        super().__init__(texts)
        self._shared = shared

    def analysis(self) -> Analysis:
        return self._shared.get()

    def memo(self, key: Hashable, make: Callable[[], tuple[np.ndarray, ...]]
             ) -> tuple[np.ndarray, ...]:
        """Arrays that depend on these texts only (and on what ``key`` names), made once
        per chunk and kept with its analysis for the other units of a run: ``make()``
        the first time, the kept arrays after (``make()`` again, without keeping it, if
        the texts changed since the chunk was cut)."""
        if self._shared.texts != self:
            return make()
        return self._shared.memo(key, make)

    def __reduce__(self) -> tuple[Any, ...]:
        return (list, (list(self),))


def kept(texts: Sequence[str], key: Hashable, make: Callable[[], tuple[np.ndarray, ...]]
         ) -> tuple[np.ndarray, ...]:
    """``make()``: arrays that depend on ``texts`` only and on what ``key`` names, kept
    for the other units of a run when ``texts`` is a chunk of a
    :class:`~perturbations.TextCorpus` (:meth:`AnalysedTexts.memo`), made afresh for any
    other list. What a perturbation finds in a chunk before it draws is the same at every
    severity. ``key`` names objects that are the same at every call (module level or
    cached): a new object at each call would add an entry at each call."""
    return texts.memo(key, make) if isinstance(texts, AnalysedTexts) else make()


def rank_select(draws: Draws, stream: int, owner: np.ndarray, counter: np.ndarray,
                share: float, n_texts: int) -> np.ndarray:
    """Choose items (words, characters) per text: ``ceil(share * n)`` of a text's ``n``
    candidates, at least one when it has any, those with the smallest draws.

    ``owner`` is each candidate's text and ``counter`` its stable position there. The
    draws do not depend on severity, so a larger share picks a superset. Returns the
    positions (into ``owner``) of the chosen candidates, sorted.
    """
    if len(owner) == 0 or share <= 0:
        return np.zeros(0, dtype=np.intp)
    if share >= 1:  # every candidate: no draw can leave one out
        return np.arange(len(owner), dtype=np.intp)
    u = draws.uniform(stream, owner, counter)
    order = np.argsort(owner + u)  # by text, then by draw (u < 1 never crosses texts)
    per_text = np.bincount(owner, minlength=n_texts)
    quota = np.ceil(per_text * share - 1e-9).astype(np.int64)
    quota = np.where(per_text > 0, np.maximum(quota, 1), 0)
    sorted_owner = owner[order]
    group_start = np.searchsorted(sorted_owner, np.arange(n_texts))
    rank = np.arange(len(order)) - group_start[sorted_owner]
    return np.sort(order[rank < quota[sorted_owner]])


def running_count(mask: np.ndarray) -> np.ndarray:
    """``out[i]`` = how many of ``mask[:i]`` are true (length ``len(mask) + 1``)."""
    out = np.zeros(len(mask) + 1, dtype=np.int32)
    np.cumsum(mask, out=out[1:], dtype=np.int32)
    return out


def share_for(severity: float, full: float) -> float:
    """The share of eligible items touched at ``severity`` when ``full`` is the share at 1."""
    return min(1.0, max(0.0, severity * full))


def map_words(texts: Sequence[str], draws: Draws, severity: float, *, share: float,
              edit: Callable[[str, float], str], eligible: Callable[[str], bool] | None = None,
              lexicon: Mapping[str, Any] | None = None, min_len: int = 1,
              stream: int = 0) -> list[str]:
    """Apply ``edit(word, u)`` to a ``share * severity`` of each text's eligible words.

    A word is eligible when it is at least ``min_len`` long, its lower-case form is a
    key of ``lexicon`` (if given) and ``eligible(word)`` holds (if given). Words are
    found and chosen with arrays; Python runs once per word for the eligibility test
    and once per chosen word for the edit. Which words are eligible is :func:`kept`, a
    bit a word: ``lexicon`` and ``eligible`` are the same objects at every call.
    """
    batch = TextBatch(texts)
    (bits,) = kept(texts, ("map_words", _Same(lexicon), eligible, min_len),
                   lambda: (np.packbits(_eligible_words(batch, eligible, lexicon, min_len)),))
    ok = np.unpackbits(bits, count=len(batch.start)).view(bool)
    chosen = batch.choose(draws, stream, ok, share_for(severity, share))
    if len(chosen) == 0:
        return list(texts)
    u = draws.uniform(stream + 1, batch.owner[chosen], batch.ordinal[chosen]).tolist()
    new = [edit(w, x) for w, x in zip(batch.words(chosen), u)]
    return batch.replace_words(chosen, new)


def _eligible_words(batch: TextBatch, eligible: Callable[[str], bool] | None,
                    lexicon: Mapping[str, Any] | None, min_len: int) -> np.ndarray:
    """Whether :func:`map_words` may edit each word of ``batch``."""
    ok = batch.lengths >= min_len
    cand = np.flatnonzero(ok)
    if lexicon is not None and len(cand):
        flags = np.fromiter(map(lexicon.__contains__, batch.words(cand, lower=True)),
                            dtype=bool, count=len(cand))
        ok[cand[~flags]] = False
        cand = cand[flags]
    if eligible is not None and len(cand):
        flags = np.fromiter(map(eligible, batch.words(cand)), dtype=bool, count=len(cand))
        ok[cand[~flags]] = False
    return ok


class _Same:
    """A part of a memo key equal to another only when both hold the same object (a
    lexicon: dicts do not hash); it holds the object, so its id is not reused while the
    key lives."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __hash__(self) -> int:
        return id(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.value is self.value


def pick_chars(batch: TextBatch, words: np.ndarray, allowed: np.ndarray, draws: Draws,
               stream: int, per_word: int | None = 1) -> tuple[np.ndarray, np.ndarray]:
    """Code-point positions inside the chosen ``words`` where ``allowed`` is true: one
    per word, uniformly among its allowed positions (``per_word=None``: all of them).

    Returns ``(positions, word_of_position)``, the second indexing into ``words``
    (distinct and, for ``per_word=None``, sorted, as :meth:`TextBatch.choose` gives
    them). Words without an allowed position get none.
    """
    if per_word is None:
        word = batch.word_of(words)
        pos = np.flatnonzero(np.logical_and(word >= 0, allowed))
        return pos, word[pos]
    running = running_count(allowed)
    starts, ends = batch.start[words], batch.end[words]
    first, count = running[starts], running[ends] - running[starts]
    has = np.flatnonzero(count > 0)
    owner = batch.owner[words[has]]
    u = draws.uniform(stream, owner, batch.ordinal[words[has]])
    rank = np.minimum((u * count[has]).astype(np.int64), count[has] - 1)
    return np.flatnonzero(allowed)[first[has] + rank], has
