"""Character edits inside words: typos, OCR errors, homoglyphs, leetspeak, accents,
fullwidth forms, zero-width characters and random case.

All are batch perturbations on :class:`~perturbations._text_engine.TextBatch`: words are
chosen per text with counter-based draws, then one array operation edits every chosen
word of the batch at once. Only letters inside chosen words change (or, for insertions,
letters and invisible characters are added inside them); every other character of the
text is left exactly as it was.

The typos and homoglyphs follow the rules of :mod:`perturbations.edits` (which letters
an edit may touch, the shortest word it edits, the keyboard and look-alike tables), so
each of their outputs is one of the edits an attack can list there.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from . import _lexicon
from ._random import Draws
from ._registry import perturbation
from ._text_engine import (
    CharTable,
    TextBatch,
    case_forms,
    letters_mask,
    pick_chars,
    running_count,
    share_for,
)
from .edits import MIN_LENGTH, _homoglyph_table, _keyboard_table, _sites

TYPO_SHARE = 0.3  # share of words with one typo at severity 1 (nlpaug's default word rate)
_VOWELS = np.array([ord(c) for c in "aeiouyAEIOUY"], dtype=np.uint32)
_ZERO_WIDTH = np.array([0x200B, 0x200C, 0x200D, 0x2060], dtype=np.uint32)


@functools.cache
def _table(name: str, column: int = 1) -> CharTable:
    return CharTable(_lexicon.mapping(name, column))


@functools.cache
def _ocr() -> CharTable:
    return CharTable({k: v for k, v in _lexicon.ocr().items() if k.isalpha()})


@functools.cache
def _fullwidth() -> CharTable:
    return CharTable({chr(c): [chr(c + 0xFEE0)] for c in range(0x21, 0x7F)})


def words_with(batch: TextBatch, allowed: np.ndarray, min_len: int) -> np.ndarray:
    """Words at least ``min_len`` long holding at least one allowed code point."""
    running = running_count(allowed)
    return (running[batch.end] > running[batch.start]) & (batch.lengths >= min_len)


def substitute(texts: list[str], draws: Draws, severity: float, table: CharTable, *,
               share: float, per_word: int | None = 1, min_len: int = 1,
               kind: str | None = None) -> list[str]:
    """Replace ``per_word`` characters (all when None) of a share of words by one of
    their alternatives in ``table``: any character the table has, or where an edit of
    ``kind`` (:mod:`perturbations.edits`) may go."""
    batch = TextBatch(texts)
    allowed = (table.has(batch.cps) if kind is None
               else _sites(kind, batch.cps, batch.breaks, table))
    words = batch.choose(draws, 0, words_with(batch, allowed, min_len),
                         share_for(severity, share))
    pos, word_id = pick_chars(batch, words, allowed, draws, 1, per_word)
    rows, _ = table.lookup(batch.cps[pos])
    owner = batch.owner[words[word_id]]
    u = draws.uniform(2, owner, pos - batch.offsets[owner])
    return batch.substitute(pos, table.pick(rows, u))


def _keyboard_typo(texts: list[str], *, draws: Draws, severity: float, layout: str = "en",
                   word_share: float = TYPO_SHARE,
                   min_len: int = MIN_LENGTH["keyboard"]) -> list[str]:
    return substitute(texts, draws, severity, _keyboard_table(layout), share=word_share,
                      min_len=min_len, kind="keyboard")


keyboard_typo = perturbation(
    name="typo.keyboard", modality="text", expectation="invariant", batched=True,
    description="One letter of a word replaced by a neighbouring key (nlpaug's keyboard "
                "layouts, letters only, case kept): 'great' -> 'grwat'.",
    severity="share of words with one typo: up to 30% of the words at 1.0, at least one",
)(_keyboard_typo)


def _swap(texts: list[str], *, draws: Draws, severity: float,
          word_share: float = TYPO_SHARE, min_len: int = MIN_LENGTH["swap"]) -> list[str]:
    batch = TextBatch(texts)
    allowed = _sites("swap", batch.cps, batch.breaks)
    words = batch.choose(draws, 0, words_with(batch, allowed, min_len),
                         share_for(severity, word_share))
    pos, _ = pick_chars(batch, words, allowed, draws, 1)
    both = np.concatenate([pos, pos + 1])
    return batch.substitute(both, np.concatenate([batch.cps[pos + 1], batch.cps[pos]]))


swap_typo = perturbation(
    name="typo.swap", modality="text", expectation="invariant", batched=True,
    description="Two adjacent letters of a word swapped: 'service' -> 'serivce'.",
    severity="share of words with one swap: up to 30% of the words at 1.0, at least one",
)(_swap)


def _delete(texts: list[str], *, draws: Draws, severity: float,
            word_share: float = TYPO_SHARE, min_len: int = MIN_LENGTH["delete"]) -> list[str]:
    batch = TextBatch(texts)
    allowed = _sites("delete", batch.cps, batch.breaks)
    words = batch.choose(draws, 0, words_with(batch, allowed, min_len),
                         share_for(severity, word_share))
    pos, _ = pick_chars(batch, words, allowed, draws, 1)
    return batch.delete(pos)


delete_typo = perturbation(
    name="typo.delete", modality="text", expectation="invariant", batched=True,
    description="One letter of a word dropped: 'delivery' -> 'delivry'. Words of three "
                "letters or more only, so no word disappears.",
    severity="share of words missing one letter: up to 30% of the words at 1.0, at least one",
)(_delete)


def _insert(texts: list[str], *, draws: Draws, severity: float, layout: str = "en",
            word_share: float = TYPO_SHARE, min_len: int = MIN_LENGTH["insert"]) -> list[str]:
    batch = TextBatch(texts)
    table = _keyboard_table(layout)
    allowed = _sites("insert", batch.cps, batch.breaks, table)
    words = batch.choose(draws, 0, words_with(batch, allowed, min_len),
                         share_for(severity, word_share))
    pos, word_id = pick_chars(batch, words, allowed, draws, 1)
    rows, _ = table.lookup(batch.cps[pos])
    owner = batch.owner[words][word_id]
    u = draws.uniform(2, owner, pos - batch.offsets[owner])
    return batch.insert(pos + 1, table.pick(rows, u), owner)


insert_typo = perturbation(
    name="typo.insert", modality="text", expectation="invariant", batched=True,
    description="A neighbouring key typed as well, after a letter of a word "
                "(fat finger): 'order' -> 'orfder'.",
    severity="share of words with one extra letter: up to 30% of the words at 1.0, "
             "at least one",
)(_insert)


def _repeat(texts: list[str], *, draws: Draws, severity: float, word_share: float = 0.2,
            copies: int = 2) -> list[str]:
    batch = TextBatch(texts)
    letters = letters_mask(batch.cps)
    vowel = np.isin(batch.cps, _VOWELS)
    allowed = vowel | (letters & ~_words_with_vowel_mask(batch, vowel))
    words = batch.choose(draws, 0, words_with(batch, allowed, 2),
                         share_for(severity, word_share))
    pos, word_id = pick_chars(batch, words, allowed, draws, 1)
    owner = batch.owner[words][word_id]
    reps = max(1, int(copies))
    return batch.insert(np.repeat(pos, reps), np.repeat(batch.cps[pos], reps),
                        np.repeat(owner, reps))


def _words_with_vowel_mask(batch: TextBatch, vowel: np.ndarray) -> np.ndarray:
    """Per code point: whether it lies in a word that has a vowel (then only vowels
    are stretched, as people do: 'sooo good'; otherwise any letter: 'hmmm')."""
    return batch.inside(np.flatnonzero(words_with(batch, vowel, 1)))


repeat_typo = perturbation(
    name="typo.repeat", modality="text", expectation="invariant", batched=True,
    description="A vowel stretched for emphasis, as people type it: 'so good' -> "
                "'sooo good' (a consonant when the word has no vowel: 'hmmm').",
    severity="share of words with one stretched letter: up to 20% of the words at 1.0, "
             "at least one",
)(_repeat)


def _ocr_errors(texts: list[str], *, draws: Draws, severity: float,
                word_share: float = TYPO_SHARE) -> list[str]:
    return substitute(texts, draws, severity, _ocr(), share=word_share, min_len=2)


ocr_errors = perturbation(
    name="ocr.char", modality="text", expectation="invariant", batched=True,
    description="One letter of a word misread as a scanner would (nlpaug's OCR map): "
                "'clean' -> 'c1ean', 'good' -> 'g0od'.",
    severity="share of words with one OCR error: up to 30% of the words at 1.0, "
             "at least one",
)(_ocr_errors)


def _homoglyph(script: str) -> Callable[..., list[str]]:
    def homoglyph(texts: list[str], *, draws: Draws, severity: float,
                  word_share: float = 0.5) -> list[str]:
        return substitute(texts, draws, severity, _homoglyph_table(script), share=word_share,
                          min_len=MIN_LENGTH["homoglyph"], kind="homoglyph")

    return homoglyph


homoglyph_cyrillic = perturbation(
    name="homoglyph.cyrillic", modality="text", expectation="invariant", batched=True,
    description="One Latin letter of a word replaced by the Cyrillic letter that looks the "
                "same ('a' -> U+0430): invisible to a reader, a new token to a model.",
    severity="share of words with one look-alike letter: up to 50% of the words at 1.0",
)(_homoglyph("cyrillic"))

homoglyph_greek = perturbation(
    name="homoglyph.greek", modality="text", expectation="invariant", batched=True,
    description="One Latin letter of a word replaced by the Greek letter that looks the "
                "same ('o' -> U+03BF).",
    severity="share of words with one look-alike letter: up to 50% of the words at 1.0",
)(_homoglyph("greek"))


def _leetspeak(texts: list[str], *, draws: Draws, severity: float,
               word_share: float = 0.5) -> list[str]:
    return substitute(texts, draws, severity, _table("leetspeak"), share=word_share,
                      per_word=None, min_len=3)


leetspeak = perturbation(
    name="leetspeak.char", modality="text", expectation="invariant", batched=True,
    description="Letters of a word written as look-alike digits and symbols: "
                "'great' -> 'gr347'.",
    severity="share of words in leetspeak (every replaceable letter of the word): up to "
             "50% of the words at 1.0",
)(_leetspeak)


def _add_accents(texts: list[str], *, draws: Draws, severity: float,
                 word_share: float = 0.5) -> list[str]:
    return substitute(texts, draws, severity, _table("accents"), share=word_share)


add_accents = perturbation(
    name="unicode.add_accents", modality="text", expectation="invariant", batched=True,
    description="One vowel (or c, n, y) of a word given an accent: 'cafe' -> 'café', "
                "'nice' -> 'nicé'.",
    severity="share of words with one accented letter: up to 50% of the words at 1.0",
)(_add_accents)


def _fullwidth_forms(texts: list[str], *, draws: Draws, severity: float,
                     word_share: float = 1.0) -> list[str]:
    return substitute(texts, draws, severity, _fullwidth(), share=word_share, per_word=None)


fullwidth = perturbation(
    name="unicode.fullwidth", modality="text", expectation="invariant", batched=True,
    description="Words written in fullwidth forms, as East Asian input methods produce "
                "them: 'good' -> 'ｇｏｏｄ'.",
    severity="share of words in fullwidth letters: all words at 1.0",
)(_fullwidth_forms)


def _random_case(texts: list[str], *, draws: Draws, severity: float,
                 word_share: float = 1.0) -> list[str]:
    batch = TextBatch(texts)
    letters = letters_mask(batch.cps)
    words = batch.choose(draws, 0, words_with(batch, letters, 2),
                         share_for(severity, word_share))
    pos, word_id = pick_chars(batch, words, letters, draws, 1, per_word=None)
    owner = batch.owner[words][word_id]
    pos = pos[draws.uniform(2, owner, pos - batch.offsets[owner]) < 0.5]
    chars = batch.cps[pos]
    lower = case_forms("lower", chars)
    # a letter with a lower-case form takes it, any other its upper-case form (or
    # stays): a title-case letter such as 'ǅ' has both and is lowered
    flipped = np.where(lower != chars, lower, case_forms("upper", chars))
    cps = batch.cps.copy()
    cps[pos] = flipped
    return batch.rebuild(cps)


random_case = perturbation(
    name="case.random", modality="text", expectation="invariant", batched=True,
    description="Letters of a word in random case: 'delivery' -> 'dEliVeRy'.",
    severity="share of words in random case (each letter flipped with probability 1/2): "
             "all words at 1.0",
)(_random_case)


def _zero_width(texts: list[str], *, draws: Draws, severity: float,
                word_share: float = 1.0) -> list[str]:
    batch = TextBatch(texts)
    letters = letters_mask(batch.cps)
    inner = letters.copy()
    inner[batch.start] = False  # insert *between* letters, never before a word
    words = batch.choose(draws, 0, words_with(batch, inner, 2), share_for(severity, word_share))
    pos, word_id = pick_chars(batch, words, inner, draws, 1)
    owner = batch.owner[words][word_id]
    u = draws.uniform(2, owner, pos - batch.offsets[owner])
    chars = _ZERO_WIDTH[np.minimum((u * len(_ZERO_WIDTH)).astype(np.int64), 3)]
    return batch.insert(pos, chars, owner)


zero_width = perturbation(
    name="whitespace.zero_width", modality="text", expectation="invariant", batched=True,
    description="An invisible zero-width character (U+200B, U+200C, U+200D or U+2060) "
                "inside a word: the text looks the same and tokenises differently.",
    severity="share of words with one zero-width character: all words at 1.0",
)(_zero_width)
