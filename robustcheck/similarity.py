"""Similarity scorers for auditing generative (text-to-text) models.

A generation audit compares, for each prompt, the model's output on the clean prompt
with its output on the perturbed prompt (or an output with a reference answer). A
*scorer* is any callable ``(a: str, b: str) -> float`` in ``[0, 1]``, 1 meaning "the
same". Built in, by name:

* ``"exact"`` -- :func:`exact`: 1.0 when the two texts are equal after :func:`normalize`.
* ``"token_f1"`` -- :func:`token_f1` (the default, :data:`DEFAULT`): SQuAD's token F1.
* ``"chrf"`` -- :func:`chrf`: character n-gram F-score (Popović 2015).

and :func:`embedding`, which wraps a sentence-embedding model that you load yourself
(robustcheck never downloads one). :func:`resolve` turns a name or a callable into a
scorer; :func:`score_pairs` scores many pairs at once and checks the texts and the
scores. :data:`DEFAULT_THRESHOLD` is the similarity below which a pair counts as
changed, unless the caller sets another.

No surface score knows what a text means. What each one misses, in short:

>>> exact("The cat sat.", "the cat sat")        # case, punctuation, articles ignored
1.0
>>> exact("the cat sat", "the cat was sitting")  # ... but a paraphrase is a change
0.0
>>> token_f1("is good", "is not good")           # a negation flip is a small change
0.8
>>> token_f1("dog bites man", "man bites dog")   # and word order is not seen at all
1.0
>>> token_f1("recieve the package", "receive the package")   # a typo costs a word
0.5
>>> round(chrf("recieve the package", "receive the package"), 3)  # chrF: a few n-grams
0.731
>>> round(chrf("the total is 40", "the total is 400"), 3)  # and a changed number, too
0.979

Pick the score for the change you care about, and read flagged pairs, not only rates:
an embedding model catches paraphrase (high similarity) but may also score a negation
flip as similar.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import math
import numbers
import operator
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

import numpy as np

__all__ = [
    "DEFAULT",
    "DEFAULT_THRESHOLD",
    "EmbeddingScorer",
    "Scorer",
    "chrf",
    "embedding",
    "exact",
    "normalize",
    "resolve",
    "score_pairs",
    "token_f1",
]

DEFAULT = "token_f1"
"""The scorer a generation audit uses when none is given."""

DEFAULT_THRESHOLD = 0.5
"""A pair whose similarity is below this counts as changed, unless the caller sets one."""

_ARTICLES = frozenset({"a", "an", "the"})


class Scorer(Protocol):
    """What :func:`resolve` returns: called with two texts, returns a float in [0, 1].
    A scorer may also have ``pairs(a_list, b_list) -> array``, which
    :func:`score_pairs` then calls instead of looping, and a ``name`` for messages
    (see :class:`EmbeddingScorer`)."""

    def __call__(self, a: str, b: str, /) -> float: ...


def _invalid(message: str) -> Exception:
    # robustcheck.errors loads the catalogue (and pandas): only when there is an error
    from robustcheck.errors import InvalidArgument

    return InvalidArgument(message)


def _snip(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check_text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__} {_snip(value)}")
    return value


# -- normalisation, exact match, token F1 ------------------------------------------------


@functools.cache
def _deleted_characters() -> dict[int, None]:
    # Every code point of Unicode category P* (819 in Unicode 14) and the invisible
    # format characters (Cf: zero-width spaces and joiners, bidi marks, the soft hyphen,
    # tags), found at first use. Only planes 0 and 1 and the tag block are scanned, 10x
    # faster: the other planes hold ideographs and private use, neither punctuation nor
    # format characters (a test checks it on this Python's tables).
    return {cp: None for cp in (*range(_PUNCTUATION_PLANES), *_TAGS)
            if _deleted(unicodedata.category(chr(cp)))}


def _deleted(category: str) -> bool:
    return category.startswith("P") or category == "Cf"


_PUNCTUATION_PLANES = 0x20000
_TAGS = range(0xE0000, 0xE0080)


def _tokens(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).casefold().translate(_deleted_characters())
    return [token for token in text.split() if token not in _ARTICLES]


def _overlap(x: list[str], y: list[str]) -> int:
    """How many items ``x`` and ``y`` share, counted as multisets: ``(Counter(x) &
    Counter(y)).total()``, several times faster (that one loops in Python)."""
    sx, sy = set(x), set(y)
    common = sx & sy
    if len(sx) == len(x) or len(sy) == len(y):  # each shared item: once on one side
        return len(common)
    cx, cy = Counter(x), Counter(y)
    return sum(map(min, map(cx.__getitem__, common), map(cy.__getitem__, common)))


def normalize(text: str) -> str:
    """The text :func:`exact` and :func:`token_f1` compare, SQuAD's convention widened
    to Unicode: NFKC (full-width letters, ligatures and superscripts become plain ones),
    casefold, delete punctuation (Unicode category P*, so ``"don't"`` becomes ``"dont"``)
    and invisible format characters (Cf: a zero-width space, a bidi mark), drop the
    English articles *a*, *an*, *the*, and collapse whitespace.

    Symbols (category S*: ``$ + = < > | ~ €``), digits and accents are kept, and nothing
    is done for other languages' articles.

    >>> normalize("  The ＣＡＦÉ's menu -- isn't   it great?! ")
    'cafés menu isnt it great'
    >>> normalize("A $5 fee")
    '$5 fee'
    """
    return " ".join(_tokens(_check_text(text, "text")))


def exact(a: str, b: str) -> float:
    """1.0 if ``a`` and ``b`` are equal after :func:`normalize`, else 0.0. Symmetric.

    Catches a change of any word, but not of case, punctuation or an article, and
    punctuation inside a word is deleted, so a decimal point is not seen; flags every
    paraphrase, synonym, reordering or change of number format as a change.

    >>> exact("The answer is Paris.", "answer is paris")
    1.0
    >>> exact("a cat", "the cat"), exact("3.5", "35")
    (1.0, 1.0)
    >>> exact("Paris", "It is Paris")
    0.0
    >>> exact("5 apples", "five apples")
    0.0
    """
    if _check_text(a, "a") == _check_text(b, "b"):
        return 1.0
    return float(_tokens(a) == _tokens(b))


def token_f1(a: str, b: str) -> float:
    """SQuAD's token F1 of the :func:`normalize`-d words: with ``c`` the words the two
    share (counted as a multiset), precision ``c/len(a)``, recall ``c/len(b)`` and their
    harmonic mean, ``2c / (len(a) + len(b))``. Symmetric. Two texts with no words left
    (empty, or only punctuation and articles) score 1.0; one of them alone, 0.0.

    It sees which words changed, not how: a negation flip or a changed number costs one
    word, word order is ignored, and a typo or a synonym costs a whole word.

    >>> token_f1("the cat sat", "cat sat down")
    0.8
    >>> token_f1("is good", "is not good")
    0.8
    >>> token_f1("the total is 40", "the total is 400")
    0.6666666666666666
    >>> token_f1("recieve the package", "receive the package")
    0.5
    """
    if _check_text(a, "a") == _check_text(b, "b"):
        return 1.0
    ta, tb = _tokens(a), _tokens(b)
    if not ta or not tb:
        return float(ta == tb)
    return 2 * _overlap(ta, tb) / (len(ta) + len(tb))


# -- chrF --------------------------------------------------------------------------------


def _check_chrf_args(n: Any, beta: Any) -> None:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise _invalid(f"n must be a positive integer (the longest character n-gram), "
                       f"got {n!r}; chrF uses n=6")
    if isinstance(beta, bool) or not isinstance(beta, numbers.Real) or \
            not math.isfinite(beta) or beta < 0:
        raise _invalid(f"beta must be a finite number >= 0 (how much more recall counts "
                       f"than precision), got {beta!r}; chrF uses beta=2")


def _ngrams(text: str, n: int) -> list[list[str]]:
    """The character k-grams of ``text`` for k in 1..n, in order: each order is the
    previous one plus the next character (twice as fast as slicing)."""
    grams = [list(text)]
    for k in range(1, n):
        grams.append(list(map(operator.add, grams[-1], text[k:])))
    return grams


def _chrf_from_matches(matches: Sequence[int], ref_len: int, hyp_len: int,
                       beta: float) -> float:
    # Each average is over the orders at which its own side has n-grams: an order the
    # reference is too short for adds no recall term, the hypothesis's n-grams of that
    # order all miss (precision 0). Orders neither side reaches are left out.
    precisions = [m / (hyp_len - k + 1) for k, m in enumerate(matches, 1) if hyp_len >= k]
    recalls = [m / (ref_len - k + 1) for k, m in enumerate(matches, 1) if ref_len >= k]
    p, r = sum(precisions) / len(precisions), sum(recalls) / len(recalls)
    if p == 0:  # no character in common: r is 0 too
        return 0.0
    b2 = beta * beta
    return min(1.0, (1 + b2) * p * r / (b2 * p + r))


def chrf(a: str, b: str, *, n: int = 6, beta: float = 2.0) -> float:
    """chrF (Popović 2015), in [0, 1]: ``a`` is the reference (the clean output, or the
    reference answer), ``b`` the hypothesis (the output on the perturbed prompt).

    Whitespace is removed; for each order ``k`` in ``1..n``, precision is the share of
    ``b``'s character k-grams found in ``a``'s (as multisets), recall the share of
    ``a``'s found in ``b``'s. Precisions and recalls are averaged over the orders (each
    over the orders its side is long enough for) and combined as
    ``(1 + beta²) P R / (beta² P + R)``. Not symmetric: with ``beta=2`` recall counts
    four times as much, so an answer that drops part of the reference costs more than
    one that adds to it. Identical texts (ignoring whitespace) score 1.0, including two
    empty ones; one empty text, 0.0.

    Tolerates typos and inflections, which cost a few n-grams instead of a word. Case,
    accents and punctuation count (nothing is normalised but whitespace). A negation
    flip or a changed digit in a long answer costs only a few n-grams; meaning is not
    seen.

    For many pairs, ``score_pairs(chrf, a_list, b_list)`` gives the same floats about
    ten times faster (it counts the n-grams of every pair at once, with numpy).

    >>> chrf("receive the package", " receive  the package ")
    1.0
    >>> round(chrf("recieve the package", "receive the package"), 3)
    0.731
    >>> round(chrf("the food was good and the staff were friendly",
    ...            "the food was not good and the staff were friendly"), 3)
    0.909
    >>> round(chrf("Paris", "paris"), 3)
    0.543
    >>> round(chrf("abc", "ab"), 3), round(chrf("ab", "abc"), 3)  # recall weighs more
    (0.443, 0.761)
    """
    _check_chrf_args(n, beta)
    ref = "".join(_check_text(a, "a").split())
    hyp = "".join(_check_text(b, "b").split())
    if ref == hyp:
        return 1.0
    if not ref or not hyp:
        return 0.0
    matches = [_overlap(x, y) for x, y in zip(_ngrams(ref, n), _ngrams(hyp, n))]
    return _chrf_from_matches(matches, len(ref), len(hyp), float(beta))


def _chrf_pairs(refs: list[str], hyps: list[str], *, n: int = 6,
                beta: float = 2.0) -> np.ndarray:
    """:func:`chrf` of many pairs, the same floats, counted with numpy (see
    :func:`_ngram_matches`); the per-pair formula is the same Python code."""
    _check_chrf_args(n, beta)
    refs = ["".join(t.split()) for t in refs]
    hyps = ["".join(t.split()) for t in hyps]
    out = np.array([1.0 if r == h else 0.0 for r, h in zip(refs, hyps)])
    todo = [i for i, (r, h) in enumerate(zip(refs, hyps)) if r != h and r and h]
    matches = _ngram_matches([refs[i] for i in todo], [hyps[i] for i in todo], n)
    for row, i in zip(matches.tolist(), todo):
        out[i] = _chrf_from_matches(row, len(refs[i]), len(hyps[i]), float(beta))
    return out


# Pairs counted at once: about 100k positions of 40-word pairs, whose arrays stay in the
# cache (twice as fast as 2048 pairs at once, measured).
_CHUNK = 256
_B_MINUS_A = (1 << 32) - 1  # adding this to a count of 1 in a makes it a count of 1 in b


def _ngram_matches(refs: list[str], hyps: list[str], n: int) -> np.ndarray:
    """``(len(refs), n)`` int array: for each pair and order, the character n-grams the
    two texts share, counted as multisets (what :func:`_overlap` counts), in chunks."""
    out = np.zeros((len(refs), n), dtype=np.int64)
    for first in range(0, len(refs), _CHUNK):
        last = min(first + _CHUNK, len(refs))
        out[first:last] = _count_pairs(refs[first:last], hyps[first:last], n)
    return out


def _count_pairs(refs: list[str], hyps: list[str], n: int) -> np.ndarray:
    """Every position of every text gets one int64 key: (pair, the ``n`` characters from
    there, padded past the end, side). One sort puts equal n-grams next to each other;
    the k-grams are the keys' prefixes, so each order's counts are sums of the next
    order's, from the longest n-grams down. Characters get dense ids so that a key fits
    in 63 bits; when it does not (many distinct characters, or a large ``n``), the pairs
    are split in halves, and a single pair that still does not fit is counted in Python.
    """
    texts = [t for pair in zip(refs, hyps) for t in pair]
    codes = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"),
                          dtype=np.uint32)
    alphabet = np.unique(codes)
    char_bits = (len(alphabet) + 1).bit_length()  # ids from 2: 0 and 1 pad
    if (len(refs) - 1).bit_length() + n * char_bits <= 62:
        table = np.zeros(int(alphabet[-1]) + 1, dtype=np.int64)  # 3x faster than sorting
        table[alphabet] = np.arange(2, len(alphabet) + 2)
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        return _count_chunk(table[codes], lengths, n, char_bits)
    if len(refs) > 1:
        half = len(refs) // 2
        return np.concatenate([_count_pairs(refs[:half], hyps[:half], n),
                               _count_pairs(refs[half:], hyps[half:], n)])
    return np.array([[_overlap(x, y) for x, y in zip(_ngrams(refs[0], n),
                                                     _ngrams(hyps[0], n))]])


def _count_chunk(ids: np.ndarray, lengths: np.ndarray, n: int, char_bits: int) -> np.ndarray:
    n_texts, n_pairs = len(lengths), len(lengths) // 2
    # Each text is followed by n - 1 pads, so an n-gram never reads into the next text:
    # 0 after a reference, 1 after a hypothesis. An n-gram that runs past the end of its
    # text then never equals one of the other text: the k-grams that do not exist are
    # never counted as shared, with no mask to apply.
    text_of = np.repeat(np.arange(n_texts), lengths + (n - 1))
    size = len(text_of)
    padded = np.append(text_of & 1, np.ones(n - 1, dtype=np.int64))
    padded[np.arange(len(ids)) + np.repeat(np.arange(n_texts) * (n - 1), lengths)] = ids
    keys = (text_of >> 1) << (n * char_bits)  # the pair, then the n characters, the side
    for j in range(n):
        keys |= padded[j:j + size] << ((n - 1 - j) * char_bits)
    keys = (keys << 1) | (text_of & 1)
    keys.sort()
    # the distinct (pair, n characters), with how many of each text of the pair, packed
    # in one int64 as (in b) << 32 | (in a), so that one sum merges both
    gram = keys >> 1
    starts = _group_starts(gram)
    both = _group_sums(1 + (keys & 1) * _B_MINUS_A, starts)
    gram = gram[starts]
    counts = np.zeros((n_pairs, n), dtype=np.int64)
    for k in range(n, 0, -1):
        shared = np.minimum(both & 0xFFFFFFFF, both >> 32)
        # every pair has keys at every order (its texts are not empty), so no empty run
        pair_starts = np.searchsorted(gram >> (k * char_bits), np.arange(n_pairs))
        counts[:, k - 1] = _group_sums(shared, pair_starts)
        if k > 1:  # the (k-1)-grams: drop the last character, merge equal prefixes
            gram >>= char_bits
            starts = _group_starts(gram)
            both = _group_sums(both, starts)
            gram = gram[starts]
    return counts


def _group_starts(sorted_values: np.ndarray) -> np.ndarray:
    """Where each run of equal values starts."""
    return np.flatnonzero(np.concatenate(([True], sorted_values[1:] != sorted_values[:-1])))


def _group_sums(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The sums of ``values[starts[i]:starts[i + 1]]`` (to the end for the last);
    several times faster than np.add.reduceat on many short runs."""
    total = np.cumsum(values)
    return np.diff(total[np.append(starts[1:], len(values)) - 1], prepend=0)


# -- embeddings --------------------------------------------------------------------------


class EmbeddingScorer:
    """Cosine similarity of sentence embeddings, clipped to [0, 1]; made by
    :func:`embedding`. ``scorer(a, b)`` scores one pair, ``scorer.pairs(a_list, b_list)``
    many, encoding each distinct text once, ``batch_size`` texts per call. Identical
    texts score 1.0 without being encoded; a text whose embedding is all zeros scores
    0.0 against any other."""

    name = "embedding"

    def __init__(self, model: Any, *, batch_size: int = 64) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
                or batch_size < 1:
            raise _invalid(f"batch_size must be a positive integer (texts per encode "
                           f"call), got {batch_size!r}; e.g. batch_size=64")
        self._method: str = _embedding_method(model)
        self.model: Any = model
        self.batch_size: int = int(batch_size)

    def __repr__(self) -> str:
        return f"<EmbeddingScorer of {type(self.model).__name__}.{self._method}>"

    def __call__(self, a: str, b: str) -> float:
        return float(self.pairs([_check_text(a, "a")], [_check_text(b, "b")])[0])

    def pairs(self, a_list: Sequence[str], b_list: Sequence[str]) -> np.ndarray:
        a, b = _pair_texts(a_list, b_list)
        out = np.ones(len(a))
        differ = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
        if not differ:
            return out
        texts = list(dict.fromkeys([t for i in differ for t in (a[i], b[i])]))
        vectors = self._encode(texts)
        row = {text: i for i, text in enumerate(texts)}
        va = vectors[[row[a[i]] for i in differ]]
        vb = vectors[[row[b[i]] for i in differ]]
        out[differ] = np.clip(np.einsum("ij,ij->i", va, vb), 0.0, 1.0)
        return out

    def _encode(self, texts: list[str]) -> np.ndarray:
        """Unit vectors (zero vectors stay zero), one row per text, float64."""
        method = getattr(self.model, self._method)
        where = f"{type(self.model).__name__}.{self._method}"
        chunks = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start:start + self.batch_size]
            try:
                arr = np.asarray(list(method(batch)) if self._method == "embed"
                                 else method(batch), dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise _model_output(f"{where} returned something that is not an array of "
                                    f"numbers ({exc})") from exc
            if arr.ndim != 2 or arr.shape[0] != len(batch) or not np.isfinite(arr).all():
                raise _model_output(f"{where} returned an array of shape {arr.shape} for "
                                    f"{len(batch)} texts; expected ({len(batch)}, d), "
                                    "finite")
            chunks.append(arr)
        vectors = np.concatenate(chunks)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


def _model_output(message: str) -> Exception:
    from robustcheck.errors import ModelOutputError

    return ModelOutputError(message)


def _embedding_method(model: Any) -> str:
    fix = ("load the model yourself and pass the object, e.g. "
           "embedding(SentenceTransformer('all-MiniLM-L6-v2')) or "
           "embedding(fastembed.TextEmbedding()); robustcheck never downloads a model")
    if isinstance(model, str):
        raise TypeError(f"embedding(model=...) needs a loaded model object, got the string "
                        f"{model!r}: {fix}")
    if isinstance(model, type):
        raise TypeError(f"embedding(model=...) needs a model instance, got the class "
                        f"{model.__name__}: {fix}")
    for method in ("encode", "embed"):
        if callable(getattr(model, method, None)):
            return method
    raise TypeError(f"embedding(model=...) needs an object with sentence-transformers' "
                    f"encode(list[str]) -> array (n, d) or fastembed's "
                    f"embed(list[str]) -> iterable of vectors; got "
                    f"{type(model).__name__} {_snip(model)}, which has neither: {fix}")


def embedding(model: Any, *, batch_size: int = 64) -> EmbeddingScorer:
    """A scorer of the cosine similarity of two texts' embeddings, clipped to [0, 1]
    (opposite directions score 0). ``model`` is an object you loaded: anything with
    sentence-transformers' ``model.encode(list[str]) -> array (n, d)``, or fastembed's
    ``model.embed(list[str]) -> iterable of 1-D arrays``. Symmetric.

    Catches paraphrase (a reworded answer stays similar) where :func:`exact` and
    :func:`token_f1` do not; what it misses depends on the model, and most sentence
    models score a negation flip or a changed number as very similar. Scores are not
    comparable across models.

    >>> class Letters:  # a toy model: counts of the letters a, b, c
    ...     def encode(self, texts):
    ...         return [[t.count(c) for c in "abc"] for t in texts]
    >>> scorer = embedding(Letters())
    >>> round(scorer("ab", "ba"), 6), scorer("aa", "cc"), scorer("abc", "abc")
    (1.0, 0.0, 1.0)
    """
    return EmbeddingScorer(model, batch_size=batch_size)


# -- names, callables, many pairs --------------------------------------------------------


_BUILTIN: dict[str, Scorer] = {"chrf": chrf, "exact": exact, "token_f1": token_f1}


def _name(scorer: Any) -> str:
    if isinstance(scorer, functools.partial):
        return f"partial({_name(scorer.func)})"
    return str(getattr(scorer, "name", None) or getattr(scorer, "__qualname__", None) or
               type(scorer).__name__)


def resolve(similarity: str | Scorer = DEFAULT) -> Scorer:
    """The scorer ``similarity`` names (``"exact"``, ``"token_f1"``, ``"chrf"``), or
    ``similarity`` itself when it is a callable that takes two texts.

    >>> resolve("chrf") is chrf
    True
    """
    names = ", ".join(map(repr, sorted(_BUILTIN)))
    if isinstance(similarity, str):
        if similarity in _BUILTIN:
            return _BUILTIN[similarity]
        if similarity == "embedding":
            hint = ("; an embedding scorer needs your model: "
                    "similarity=robustcheck.similarity.embedding(model)")
        else:
            close = difflib.get_close_matches(similarity, sorted(_BUILTIN), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
        raise _invalid(f"similarity={similarity!r} is not a built-in scorer: use one of "
                       f"{names}, or a callable (a, b) -> float in [0, 1]{hint}")
    if not callable(similarity):
        raise TypeError(f"similarity must be a scorer name ({names}) or a callable "
                        f"(a: str, b: str) -> float in [0, 1]; got "
                        f"{type(similarity).__name__} {_snip(similarity)}")
    try:
        signature = inspect.signature(similarity)
    except (TypeError, ValueError):  # some builtins have none: trust them
        return similarity
    try:
        signature.bind("", "")
    except TypeError:
        raise TypeError(f"similarity={_name(similarity)} cannot be called with two texts "
                        f"(a, b): its signature is {signature}") from None
    return similarity


def _pair_texts(a_list: Iterable[Any], b_list: Iterable[Any]) -> tuple[list[str], list[str]]:
    for name, value in (("a_list", a_list), ("b_list", b_list)):
        if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
            raise TypeError(f"{name} must be a sequence of texts, one per pair; got "
                            f"{type(value).__name__} {_snip(value)}")
    a, b = list(a_list), list(b_list)
    if len(a) != len(b):
        raise _invalid(f"a_list and b_list must have the same length (one text each per "
                       f"pair); got {len(a)} and {len(b)}")
    for name, texts in (("a_list", a), ("b_list", b)):
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"pair {i}: {name}[{i}] is {type(text).__name__} "
                                f"{_snip(text)}, not str; leave out the pairs of "
                                "generations that failed (None) before scoring")
    return a, b


def _batch(scorer: Any) -> Callable[[list[str], list[str]], Any] | None:
    if scorer is chrf:
        return _chrf_pairs
    if isinstance(scorer, functools.partial) and scorer.func is chrf and not scorer.args:
        return functools.partial(_chrf_pairs, **scorer.keywords)
    pairs = getattr(scorer, "pairs", None)
    return pairs if callable(pairs) else None


def _bad_score(scorer: Any, i: int, value: Any, a: str, b: str) -> Exception:
    return _invalid(f"similarity scorer {_name(scorer)} returned {_snip(value)} for pair {i} "
                    f"({_snip(a, 40)}, {_snip(b, 40)}); a scorer must return a finite "
                    "number in [0, 1]")


def score_pairs(scorer: str | Scorer, a_list: Iterable[str],
                b_list: Iterable[str]) -> np.ndarray:
    """``[scorer(a, b) for a, b in zip(a_list, b_list)]`` as a float64 array, checked.

    ``scorer`` is anything :func:`resolve` takes. Uses the scorer's ``pairs`` method
    when it has one (:func:`chrf` has a faster one of its own). Raises TypeError for a
    text that is not a str (a failed generation, None, must be left out first), and
    :class:`~robustcheck.errors.InvalidArgument` for lists of different lengths or a
    score that is not a finite number in [0, 1] (scores are never clipped).

    >>> score_pairs("token_f1", ["the cat sat", "yes"], ["cat sat down", "no"])
    array([0.8, 0. ])
    """
    scorer = resolve(scorer)
    a, b = _pair_texts(a_list, b_list)
    batch = _batch(scorer)
    if batch is None:
        out = np.empty(len(a))
        for i, (x, y) in enumerate(zip(a, b)):
            value = scorer(x, y)
            if isinstance(value, (bool, np.bool_)):
                value = float(value)
            if not isinstance(value, numbers.Real) or not 0 <= value <= 1:  # NaN fails too
                raise _bad_score(scorer, i, value, x, y)
            out[i] = value
        return out
    raw = batch(a, b)
    try:
        values = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        values = None
    if values is None or values.shape != (len(a),):
        raise _invalid(f"{_name(scorer)}.pairs returned {_snip(raw)} for {len(a)} pairs; "
                       f"expected {len(a)} numbers in [0, 1]")
    bad = np.flatnonzero(~((values >= 0) & (values <= 1)))  # NaN fails too
    if bad.size:
        i = int(bad[0])
        raise _bad_score(scorer, i, float(values[i]), a[i], b[i])
    return values
