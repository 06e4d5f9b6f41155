"""How a text is written rather than which words it has: case, punctuation, white
space, Unicode normal forms, length, markup and chat noise."""

from __future__ import annotations

import functools
import math
import unicodedata
from collections.abc import Callable

import numpy as np

from . import _lexicon
from ._random import Draws
from ._registry import perturbation
from ._text_chars import words_with as _words_with
from ._text_engine import TextBatch, case_forms, map_words, rank_select, share_for

# -- case -----------------------------------------------------------------------------


def _case(first: str, rest: str) -> Callable[..., list[str]]:
    """Put the first letter of chosen words in case ``first`` and the others in case
    ``rest`` ("upper", "lower" or "" to keep), all words of the batch at once."""

    def change_case(texts: list[str], *, draws: Draws, severity: float) -> list[str]:
        batch = TextBatch(texts)
        cps = batch.cps
        # every code point in its new case, the word's first letters in theirs; a
        # letter changes where its form differs, so words are chosen among those
        new = case_forms(rest, cps) if rest else cps.copy()
        heads = batch.start
        new[heads] = case_forms(first, cps[heads]) if first else cps[heads]
        words = batch.choose(draws, 0, _words_with(batch, new != cps, 1),
                             share_for(severity, 1.0))
        keep = batch.inside(words)
        np.logical_not(keep, out=keep)  # outside the chosen words: the case stays
        np.copyto(new, cps, where=keep)
        return batch.rebuild(new)

    return change_case


upper = perturbation(
    name="case.upper", modality="text", expectation="invariant", batched=True,
    description="Words in capitals, as in shouting: 'great food' -> 'GREAT FOOD'.",
    severity="share of the words put in upper case: all of them at 1.0",
)(_case("upper", "upper"))

lower = perturbation(
    name="case.lower", modality="text", expectation="invariant", batched=True,
    description="Words in lower case, as typed on a phone: 'Paris' -> 'paris', "
                "'NASA' -> 'nasa'.",
    severity="share of the words with a capital put in lower case: all of them at 1.0",
)(_case("lower", "lower"))

title = perturbation(
    name="case.title", modality="text", expectation="invariant", batched=True,
    description="Words capitalised as in a headline: 'the food' -> 'The Food'.",
    severity="share of the words capitalised: all of them at 1.0",
)(_case("upper", "lower"))


# -- punctuation -----------------------------------------------------------------------

_ASCII_PUNCT = np.zeros(128, dtype=bool)
for _c in "!\"#%&'()*,-./:;?@[\\]_{}":
    _ASCII_PUNCT[ord(_c)] = True
_ENDINGS = np.array([ord(c) for c in "!?."], dtype=np.uint32)
_ADDED = np.array([ord(c) for c in ",.!;"], dtype=np.uint32)


def punctuation_mask(cps: np.ndarray) -> np.ndarray:
    """Whether each code point is punctuation (Unicode category P*)."""
    out = np.zeros(len(cps), dtype=bool)
    ascii_ = cps < 128
    out[ascii_] = _ASCII_PUNCT[cps[ascii_]]
    other = np.flatnonzero(~ascii_)
    if len(other):
        uniq, inverse = np.unique(cps[other], return_inverse=True)
        flags = np.array([unicodedata.category(chr(int(c))).startswith("P") for c in uniq])
        out[other] = flags[inverse]
    return out


def _chosen_positions(batch: TextBatch, mask: np.ndarray, draws: Draws, share: float,
                      stream: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Positions where ``mask`` holds, ``ceil(share * n)`` per text; and their text."""
    pos = np.flatnonzero(mask)
    owner = np.searchsorted(batch.offsets, pos, side="right") - 1
    picked = rank_select(draws, stream, owner, pos - batch.offsets[owner], share,
                         len(batch.texts))
    return pos[picked], owner[picked]


def _in_number(cps: np.ndarray) -> np.ndarray:
    """Marks between two digits ('24.99', '1,000'): part of a number, not punctuation."""
    digit = (cps >= 0x30) & (cps <= 0x39)
    out = np.zeros(len(cps), dtype=bool)
    if len(cps) > 2:
        out[1:-1] = digit[:-2] & digit[2:]
    return out


def _strip_punctuation(texts: list[str], *, draws: Draws, severity: float) -> list[str]:
    batch = TextBatch(texts)
    marks = punctuation_mask(batch.cps) & ~_in_number(batch.cps)
    pos, _ = _chosen_positions(batch, marks, draws, share_for(severity, 1.0))
    return batch.delete(pos)


strip_punctuation = perturbation(
    name="punctuation.strip", modality="text", expectation="invariant", batched=True,
    description="Punctuation removed: \"Great, isn't it?\" -> 'Great isnt it'.",
    severity="share of the punctuation marks removed: all of them at 1.0, at least one",
)(_strip_punctuation)


def _add_punctuation(texts: list[str], *, draws: Draws, severity: float,
                     word_share: float = 0.3) -> list[str]:
    batch = TextBatch(texts)
    chosen = batch.choose(draws, 0, batch.lengths > 0, share_for(severity, word_share))
    owner = batch.owner[chosen]
    u = draws.uniform(1, owner, batch.ordinal[chosen])
    marks = _ADDED[np.minimum((u * len(_ADDED)).astype(np.int64), len(_ADDED) - 1)]
    return batch.insert(batch.end[chosen], marks, owner)


add_punctuation = perturbation(
    name="punctuation.add", modality="text", expectation="invariant", batched=True,
    description="Stray punctuation after words: 'the food was great' -> 'the food, was "
                "great!'.",
    severity="share of words followed by a mark: up to 30% of the words at 1.0, "
             "at least one",
)(_add_punctuation)


def _repeat_punctuation(texts: list[str], *, draws: Draws, severity: float,
                        copies: int = 2) -> list[str]:
    batch = TextBatch(texts)
    endings = np.isin(batch.cps, _ENDINGS) & ~_in_number(batch.cps)
    pos, owner = _chosen_positions(batch, endings, draws, share_for(severity, 1.0))
    reps = max(1, int(copies))
    return batch.insert(np.repeat(pos, reps), np.repeat(batch.cps[pos], reps),
                        np.repeat(owner, reps))


repeat_punctuation = perturbation(
    name="punctuation.repeat", modality="text", expectation="invariant", batched=True,
    description="Sentence-ending marks repeated for emphasis: 'great!' -> 'great!!!', "
                "'why?' -> 'why???'.",
    severity="share of the '!', '?' and '.' marks tripled: all of them at 1.0, "
             "at least one",
)(_repeat_punctuation)


# -- white space -----------------------------------------------------------------------

_SPACE = ord(" ")
_BREAKS = np.array([ord(c) for c in "\n\t\n\r"], dtype=np.uint32)


def _extra_space(texts: list[str], *, draws: Draws, severity: float,
                 word_share: float = 0.5) -> list[str]:
    batch = TextBatch(texts)
    chosen = batch.choose(draws, 0, batch.lengths > 0, share_for(severity, word_share))
    owner = batch.owner[chosen]
    u = draws.uniform(1, owner, batch.ordinal[chosen])
    count = 1 + (u < 0.5)  # one or two extra spaces
    pos = np.repeat(batch.start[chosen], count)
    return batch.insert(pos, np.full(len(pos), _SPACE, dtype=np.uint32),
                        np.repeat(owner, count))


extra_space = perturbation(
    name="whitespace.extra", modality="text", expectation="invariant", batched=True,
    description="Extra spaces before words: 'the food' -> 'the   food', ' great'.",
    severity="share of words preceded by one or two extra spaces: up to 50% of the words "
             "at 1.0, at least one",
)(_extra_space)


def _newlines(texts: list[str], *, draws: Draws, severity: float,
              space_share: float = 0.5) -> list[str]:
    batch = TextBatch(texts)
    pos, owner = _chosen_positions(batch, batch.cps == _SPACE, draws,
                                   share_for(severity, space_share))
    u = draws.uniform(1, owner, pos - batch.offsets[owner])
    breaks = _BREAKS[np.minimum((u * len(_BREAKS)).astype(np.int64), len(_BREAKS) - 1)]
    return batch.substitute(pos, breaks)


newlines = perturbation(
    name="whitespace.newline", modality="text", expectation="invariant", batched=True,
    description="Spaces turned into line breaks, tabs or carriage returns, as in text "
                "pasted from a form or a PDF.",
    severity="share of the spaces replaced: up to 50% at 1.0, at least one",
)(_newlines)


# -- Unicode normal forms ----------------------------------------------------------------


def _nfkd(word: str) -> str:
    return unicodedata.normalize("NFKD", word)


def _strip_accents(word: str) -> str:
    return "".join(c for c in _nfkd(word) if not unicodedata.combining(c))


def _unicode(transform: Callable[[str], str]) -> Callable[..., list[str]]:
    def changes(word: str) -> bool:  # one object for every call: see map_words
        return not word.isascii() and transform(word) != word

    def normalise(texts: list[str], *, draws: Draws, severity: float) -> list[str]:
        return map_words(texts, draws, severity, share=1.0, edit=lambda w, u: transform(w),
                         eligible=changes)

    return normalise


nfkd = perturbation(
    name="unicode.nfkd", modality="text", expectation="invariant", batched=True,
    description="Words in Unicode NFKD form: 'café' becomes 'cafe' + a combining accent, "
                "'ﬁne' becomes 'fine'. Looks the same, is a different string. Applies only "
                "to words with characters that decompose.",
    severity="share of the decomposable words decomposed: all of them at 1.0",
)(_unicode(_nfkd))

strip_accents = perturbation(
    name="unicode.strip_accents", modality="text", expectation="invariant", batched=True,
    description="Accents removed, as typed on a keyboard without them: 'café' -> 'cafe', "
                "'São Paulo' -> 'Sao Paulo'. Applies only to words with accents.",
    severity="share of the accented words stripped: all of them at 1.0",
)(_unicode(_strip_accents))


# -- length ------------------------------------------------------------------------------


def _truncate_one(text: str, cut_share: float) -> str:
    keep = math.ceil(len(text) * (1.0 - cut_share))
    cut = text.rfind(" ", 0, keep + 1)
    if cut <= 0 or keep >= len(text):
        return text
    return text[:cut].rstrip()


def _truncate(texts: list[str], *, draws: Draws, severity: float,
              most: float = 0.3) -> list[str]:
    """Cut the tail at a word boundary, dropping at most ``most * severity`` of each text."""
    return [_truncate_one(text, most * severity) for text in texts]


truncate = perturbation(
    name="length.truncate", modality="text", expectation="no-crash", batched=True,
    description="The end of the text cut off at a word boundary, as by a length limit in "
                "a form or a database column. The model must still answer (no-crash): a "
                "cut often drops the closing verdict, so the label need not stay (it did in "
                "25 of 30 judged pairs, the meaning in 2).",
    severity="share of the characters cut from the end: up to 30% at 1.0",
)(_truncate)


def _repeat_text(texts: list[str], *, draws: Draws, severity: float,
                 most: int = 20) -> list[str]:
    copies = 1 + math.ceil(severity * (most - 1) - 1e-9)
    return [" ".join([text] * copies) if text else text for text in texts]


repeat_text = perturbation(
    name="length.repeat", modality="text", expectation="no-crash", batched=True,
    description="The text repeated to make a very long input: tests that the model "
                "answers (and stays fast) on inputs far longer than it was trained on.",
    severity="number of copies: 1 + severity x 19, so 20 copies at 1.0",
)(_repeat_text)


# -- markup ------------------------------------------------------------------------------

_HTML_TAGS = (("<b>", "</b>"), ("<i>", "</i>"), ("<em>", "</em>"), ("<strong>", "</strong>"))
_MD_MARKS = (("**", "**"), ("_", "_"), ("`", "`"), ("~~", "~~"))


def _markup(marks: tuple[tuple[str, str], ...], wrap: tuple[str, str]
            ) -> Callable[..., list[str]]:
    def mark_up(texts: list[str], *, draws: Draws, severity: float,
                word_share: float = 0.3) -> list[str]:
        def edit(word: str, u: float) -> str:
            left, right = marks[min(int(u * len(marks)), len(marks) - 1)]
            return f"{left}{word}{right}"

        marked = map_words(texts, draws, severity, share=word_share, edit=edit)
        return [f"{wrap[0]}{t}{wrap[1]}" if t else t for t in marked]

    return mark_up


html = perturbation(
    name="markup.html", modality="text", expectation="invariant", batched=True,
    description="The text as it arrives from a web form or a scraper: wrapped in <p> with "
                "some words in <b>, <i>, <em> or <strong>.",
    severity="share of words inside a tag: up to 30% of the words at 1.0, at least one",
)(_markup(_HTML_TAGS, ("<p>", "</p>")))

markdown = perturbation(
    name="markup.markdown", modality="text", expectation="invariant", batched=True,
    description="Markdown emphasis on some words: '**great**', '_fast_', '`code`', "
                "'~~old~~'.",
    severity="share of words marked up: up to 30% of the words at 1.0, at least one",
)(_markup(_MD_MARKS, ("", "")))


# -- chat noise ----------------------------------------------------------------------------


def _hashtags(texts: list[str], *, draws: Draws, severity: float,
              word_share: float = 0.3) -> list[str]:
    return map_words(texts, draws, severity, share=word_share, edit=lambda w, u: "#" + w,
                     min_len=3)


hashtags = perturbation(
    name="chat.hashtag", modality="text", expectation="invariant", batched=True,
    description="Words turned into hashtags: 'great food' -> 'great #food'.",
    severity="share of words (3 letters or more) made hashtags: up to 30% at 1.0, "
             "at least one",
)(_hashtags)


def _decorate(lexicon: str, prefix: str, lead: bool) -> Callable[..., list[str]]:
    """Add one item of ``lexicon`` before the text (after it if not ``lead``), and at
    severity above 0.5 another one on the other side."""

    def decorate(texts: list[str], *, draws: Draws, severity: float) -> list[str]:
        items = _items(lexicon)
        u = draws.uniform(0)
        v = draws.uniform(1)
        both = severity > 0.5
        out = []
        for text, a, b in zip(texts, u.tolist(), v.tolist()):
            first = prefix + items[min(int(a * len(items)), len(items) - 1)]
            second = prefix + items[min(int(b * len(items)), len(items) - 1)]
            before, after = (first, second if both else "") if lead else (
                second if both else "", first)
            out.append(" ".join(part for part in (before, text, after) if part))
        return out

    return decorate


@functools.cache
def _items(lexicon: str) -> tuple[str, ...]:
    return _lexicon.words(lexicon)


mention = perturbation(
    name="chat.mention", modality="text", expectation="invariant", batched=True,
    description="@mentions around the text, as in a reply: '@sam_lee the food was great'.",
    severity="one mention before the text; above 0.5 another one after it",
)(_decorate("mentions", "@", lead=True))

url = perturbation(
    name="chat.url", modality="text", expectation="invariant", batched=True,
    description="Links around the text, as in shared posts (reserved example domains): "
                "'loved it https://shop.example/p/12'.",
    severity="one link after the text; above 0.5 another one before it",
)(_decorate("urls", "", lead=False))
