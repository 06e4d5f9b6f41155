"""The clean texts of a run, analysed once rather than once per perturbation and severity.

A run applies every perturbation at every severity to the same clean texts. The batched
text perturbations build a :class:`~perturbations._text_engine.TextBatch` of each chunk
of :data:`~perturbations._registry.TEXT_CHUNK` texts: code points, offsets, word spans.
None of that depends on the perturbation or the severity, so a :class:`TextCorpus` keeps
it per chunk (compactly, see :class:`~perturbations._text_engine.Analysis`), made the
first time a unit needs it, and every later unit of the run starts from it. The outputs
are the same as for a plain list, for any chunk size and any indices.

A corpus is a ``list`` (robustcheck's text modality prepares its data as one): it pickles
as its texts alone, the analysis being rebuilt where it is needed (once per worker process
that receives the corpus once, as a Dask worker does); its memory is one analysis per
chunk, whatever the number of units. A text changed in place after its chunk was analysed
is noticed (the chunk's texts are compared, by identity first, each time) and its chunk
analysed again; a corpus is meant to be left as it is.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable
from typing import Any

from ._errors import InvalidArgument
from ._random import Draws
from ._text_engine import AnalysedTexts, SharedAnalysis

__all__ = ["TextCorpus", "apply_in_chunks"]


class _Store:
    """The analyses of one corpus (shared by its spans), by ``(start, stop)`` in it."""

    __slots__ = ("chunks", "lock", "n")

    def __init__(self, n: int) -> None:
        self.n = n  # texts in the corpus: its last chunk may be short
        self.chunks: dict[tuple[int, int], SharedAnalysis] = {}
        self.lock = threading.Lock()


class TextCorpus(list[str]):
    """A list of clean texts that keeps their analysis for the batched text perturbations.

    >>> import perturbations
    >>> corpus = perturbations.TextCorpus(["the food was great", "slow service"])
    >>> typo = perturbations.get("typo.swap")
    >>> typo.apply(corpus, severity=1.0, seed=0) == typo.apply(list(corpus), severity=1.0,
    ...                                                        seed=0)
    True

    Pass the same corpus to every ``apply`` of a run; slicing or copying it gives a plain
    list (without the analysis), :meth:`span` a corpus of a contiguous part that shares it.
    """

    __slots__ = ("_offset", "_store")

    def __init__(self, texts: Iterable[str] = ()) -> None:
        super().__init__(texts)
        self._store = _Store(len(self))
        self._offset = 0

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (list(self),))  # the analysis stays behind: rebuilt lazily

    def span(self, start: int, stop: int) -> TextCorpus:
        """The texts ``start:stop`` as a corpus sharing this one's analyses: the whole
        chunks of the corpus inside it reuse them (see :meth:`pieces`)."""
        if not 0 <= start <= stop <= len(self):
            raise InvalidArgument(f"span({start}, {stop}) of a corpus of {len(self)} texts")
        part = TextCorpus(list.__getitem__(self, slice(start, stop)))
        part._store = self._store
        part._offset = self._offset + start
        return part

    def pieces(self, size: int) -> list[tuple[int, int]]:
        """``(start, stop)`` of at most ``size`` texts each, cut on the whole corpus's grid
        of ``size``: a span that does not start on the grid (an executor's shard of 3,000
        texts, on a grid of 2,500) still meets the whole chunks inside it, whose
        analyses are kept, and only its ends are analysed as they come."""
        head = -self._offset % size
        cuts = [0, *range(head or size, len(self), size), len(self)]
        return [(a, b) for a, b in itertools.pairwise(cuts) if b > a]

    def chunk(self, start: int, stop: int, size: int | None = None) -> list[str]:
        """The texts ``start:stop``, with their analysis (made on first use) when they
        are a chunk of the corpus's grid of ``size`` (by default ``stop - start``) texts:
        ``size`` texts from a multiple of that, or the last ones. Texts off the grid (the
        ends of a shard that does not line up, one sample to show) come as a plain list,
        analysed by the unit as any list is, so the analyses kept never cover a text
        twice."""
        texts = list.__getitem__(self, slice(start, stop))
        first, store = self._offset + start, self._store
        size = stop - start if size is None else size
        if size <= 0 or first % size or (len(texts) < size and first + len(texts) != store.n):
            return texts
        key = (first, first + len(texts))
        with store.lock:
            shared = store.chunks.get(key)
            if shared is None or shared.texts != texts:  # new, or changed since
                shared = store.chunks[key] = SharedAnalysis(texts)
        return AnalysedTexts(texts, shared)

    @property
    def analysis_bytes(self) -> int:
        """Memory held by the analyses made so far, in bytes."""
        with self._store.lock:
            return sum(shared.nbytes for shared in self._store.chunks.values())


def apply_in_chunks(func: Callable[..., Any], texts: list[str], draws: Draws,
                    severity: float, params: dict[str, Any], size: int) -> list[str]:
    """A batched text perturbation applied in chunks of ``size`` texts (a corpus hands
    each chunk over with its analysis). The draws are keyed per input, so the output is
    the same for any chunking; chunks keep the engine's arrays cache-sized, so time per
    text does not grow with the batch."""
    out: list[str] = []
    corpus = texts if isinstance(texts, TextCorpus) else None
    for start, stop in (corpus.pieces(size) if corpus is not None else
                        ((k, min(k + size, len(texts))) for k in range(0, len(texts), size))):
        part = corpus.chunk(start, stop, size) if corpus is not None else texts[start:stop]
        out.extend(func(part, draws=draws.part(start, start + len(part)), severity=severity,
                        **params))
    return out
