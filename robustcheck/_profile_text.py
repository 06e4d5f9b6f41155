"""The text phenomena of the production profile (:func:`robustcheck.profile` on texts):
characters and patterns found by regular expressions, and words read against the
catalogue's lexicons and, with a reference, its vocabulary (the typo proxy).

:func:`_profile_texts` returns each phenomenon with the mask of the texts showing it;
:mod:`robustcheck._profile` turns them into a :class:`~robustcheck._profile.Profile`.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np

from perturbations import lexicon_rows

from ._profile_base import NEEDS_REFERENCE, Phenomenon, _Found

# -- text: characters ------------------------------------------------------------------

_EMOJI_CHARS = ("\U0001F000-\U0001FAFF\u2600-\u27BF\u2B05-\u2B07\u2B1B\u2B1C\u2B50\u2B55"
                "\u231A\u231B\u23E9-\u23F3\u23F8-\u23FA\u3030\u303D\u3297\u3299")
_SCRIPTS = "\u0370-\u03FF\u0400-\u052F"  # Greek, Cyrillic (with its supplement)


@dataclass(frozen=True)
class _Rule:
    """A phenomenon found by ``pattern``. Every match of the pattern contains a match of
    one of the ``triggers``: fast patterns (a literal, a character set) that are run
    once over all texts, so that the full pattern reads only the texts they point at."""

    name: str
    label: str
    families: tuple[str, ...]
    pattern: re.Pattern[str]
    triggers: tuple[re.Pattern[str], ...]
    edges: bool = False
    """Texts that start or end with whitespace are read too (no trigger finds those)."""


def _rule(name: str, label: str, family: str, pattern: str, *triggers: str,
          flags: int = 0, edges: bool = False) -> _Rule:
    return _Rule(name, label, (family,), re.compile(pattern, flags),
                 tuple(re.compile(t, flags) for t in triggers), edges)


_TLD = r"\.(?:com|org|net|io|edu|gov|co|uk|de|fr|info|biz|ly|me|tv|example|test)"
_INVISIBLE = "\u200B\u200C\u200E\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF\u00AD\u180E"
_SPACES = "\t\n\r\f\v\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
_CHAR_RULES = (
    _rule("emoji", "emoji", "emoji",
          f"[{_EMOJI_CHARS}]|[\u00A9\u00AE\u203C\u2049\u2122\u2139\u2194-\u21AA\u24C2"
          "\u25AA-\u25FE\u2934\u2935]\uFE0F|[0-9#*]\uFE0F?\u20E3",
          f"[{_EMOJI_CHARS}\uFE0F\u20E3]"),
    _rule("url", "URLs", "chat",
          rf"(?:https?://|www\.)\S|\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*{_TLD}(?![\w-])",
          "://", r"www\.", _TLD, flags=re.IGNORECASE),
    _rule("mention", "@mentions", "chat", r"(?<![\w@.])@\w{2,}", "@"),
    _rule("hashtag", "#hashtags", "chat", r"(?<![\w#&])#[^\W\d]\w*", "#"),
    _rule("non_ascii_letters", "accented or fullwidth letters", "unicode",
          "[\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u1E00-\u1EFF\u0300-\u036F"
          "\uFF01-\uFF5E]", "[\u00C0-\u024F\u0300-\u036F\u1E00-\u1EFF\uFF01-\uFF5E]"),
    _rule("mixed_script", "mixed-script words (homoglyphs)", "homoglyph",
          f"[A-Za-z][{_SCRIPTS}]|[{_SCRIPTS}][A-Za-z]", f"[{_SCRIPTS}]"),
    # U+200D joins emoji into one (a family, a flag): only a joiner after a letter counts
    _rule("zero_width", "zero-width or invisible characters", "whitespace",
          f"[{_INVISIBLE}]|(?<![{_EMOJI_CHARS}\uFE0F])\u200D", f"[{_INVISIBLE}\u200D]"),
    _rule("odd_whitespace", "odd whitespace", "whitespace",
          f"  |[{_SPACES}]|^\\s|\\s$", "  ", f"[{_SPACES}]", edges=True),
    _rule("repeated_marks", "repeated ! or ?", "punctuation", r"[!?]{2,}|\.{4,}",
          "[!?][!?]", r"\.\.\.\."),
    _rule("markup", "HTML or Markdown", "markup",
          r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?>|\*\*[^*\s]|~~\S|`[^`\s][^`]*`"
          r"|(?<![\w*])\*[^*\s][^*]*?\*(?![\w*])|(?<![\w_])_[^_\s][^_]*?_(?![\w_])",
          "[<*~`_]"),
)


def _char_hits(rule: _Rule, texts: list[str], joined: str, starts: np.ndarray,
               edges: np.ndarray) -> np.ndarray:
    """Per text: the rule's pattern matches it. ``joined`` is the texts joined by one
    character no trigger matches, text ``i`` starting at ``starts[i]``."""
    found = [m.start() for trigger in rule.triggers for m in trigger.finditer(joined)]
    candidate = np.zeros(len(texts), dtype=bool)
    candidate[np.searchsorted(starts, np.asarray(found, dtype=np.int64), "right") - 1] = True
    if rule.edges:
        candidate |= edges
    hit = np.zeros(len(texts), dtype=bool)
    for i in np.flatnonzero(candidate).tolist():
        hit[i] = rule.pattern.search(texts[i]) is not None
    return hit


# -- text: words -----------------------------------------------------------------------

_TOKEN = re.compile(r"[\w'’]+(?:[/.&;-][\w'’]+)*[/.#]?")
"""A word with what abbreviations carry inside it: "w/o", "e.g.", "tl;dr", "s&h", "trk#"."""
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
"""An alphabetic word (any script), apostrophes inside: "don't"."""
_ADDRESS = re.compile(rf"://|www\.|\w@\w|^\W*[@#]\w|\w{_TLD}(?![\w-])", re.IGNORECASE)

# Lexicon forms that are also ordinary words, units, names of months and days, or
# abbreviations standard in edited text: counting them would call plain English slang.
_SLANG_ORDINARY = frozenset({
    "bye", "da", "den", "em", "fr", "hr", "hrs", "ill", "its", "jelly", "lets", "lite",
    "min", "msg", "no.", "num", "pic", "pics", "rite", "sec", "thy", "till", "wit", "wk",
    "wks", "wo", "ye", "yr", "yrs", "bb"})
_ABBREVIATION_ORDINARY = frozenset({
    "ad", "app", "co", "co.", "doc", "docs", "info", "ok", "no.", "re", "temp", "imp",
    "ref", "admin", "pics", "max", "min", "mins", "sec", "secs", "hr", "hrs", "yr", "wk",
    "mo", "exp", "acc", "st", "dr", "mr", "ave", "rd", "pm", "ph", "tel", "po", "pos",
    "br", "kr", "cs", "ooo", "etc", "e.g.", "eg", "vs", "faq", "faqs", "diy", "eta",
    "prof", "ans", "att", "apt", "num", "xp", "jan", "feb", "mar", "apr", "aug", "sep",
    "sept", "oct", "nov", "dec", "mon", "tue", "tues", "wed", "thu", "thurs", "fri",
    "sat", "sun"})
_KNOWN_WORDS_FROM = ("slang", "abbreviations", "contractions", "emoji", "numbers",
                     "homophones", "spelling", "synonyms", "names", "locations",
                     "gendered", "opinion")


def _alternatives(name: str) -> set[str]:
    return {a.lower() for row in lexicon_rows(name) if len(row) > 1
            for a in row[1].split("|") if a}


def _distinctive(form: str) -> bool:
    return (len(form) >= 2 or form == "u") and not form.isdigit()


@dataclass(frozen=True)
class _Lexicons:
    slang: frozenset[str]
    abbreviations: frozenset[str]
    contractions: frozenset[str]
    known: frozenset[str]


@functools.cache
def _lexicons() -> _Lexicons:
    standard = {row[0].lower() for row in lexicon_rows("slang")}  # "ok" is a key: standard
    slang = {a for a in _alternatives("slang")
             if _distinctive(a) and a not in standard and a not in _SLANG_ORDINARY}
    abbreviations = {a for a in _alternatives("abbreviations")
                     if _distinctive(a) and a not in _ABBREVIATION_ORDINARY}
    known = {w.lower() for name in _KNOWN_WORDS_FROM for row in lexicon_rows(name)
             for field in row for w in _WORD.findall(field)}
    return _Lexicons(frozenset(slang), frozenset(abbreviations),
                     frozenset(row[0].lower() for row in lexicon_rows("contractions")),
                     frozenset(known))


def _norm(word: str) -> str:
    return word.lower().replace("’", "'")


@dataclass(frozen=True)
class _Vocabulary:
    words: frozenset[str]
    acronyms: frozenset[str]
    """Words in capitals in the clean texts ("USB"): not counted as shouting."""


def _chunks(texts: list[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """``(distinct chunks, chunk id of each chunk, text of each chunk)``: the texts split
    at whitespace, by C code over one joined string when no text holds a NUL."""
    import pandas as pd

    if not any("\x00" in t for t in texts):
        pieces = " \x00 ".join(texts).split()
        codes, uniques = pd.factorize(np.array(pieces, dtype=object))
        sep = np.array([u == "\x00" for u in uniques.tolist()] + [False])[codes]
        text_of = np.cumsum(sep)[~sep]
        return uniques.tolist(), codes[~sep].astype(np.int64), text_of
    per_text = [t.split() for t in texts]
    counts = np.fromiter((len(p) for p in per_text), np.int64, count=len(texts))
    index: dict[str, int] = {}
    ids = np.fromiter((index.setdefault(w, len(index)) for p in per_text for w in p),
                      np.int64, count=int(counts.sum()))
    return list(index), ids, np.repeat(np.arange(len(texts)), counts)


def _vocabulary(texts: list[str]) -> _Vocabulary:
    chunks, _, _ = _chunks(texts)
    words = {w for c in chunks for w in _WORD.findall(c)}
    return _Vocabulary(frozenset(_norm(w) for w in words),
                       frozenset(w for w in words if len(w) >= 2 and w.isupper()))


def _word_flags(chunk: str, lex: _Lexicons, vocab: _Vocabulary | None) -> tuple[bool, ...]:
    """(all caps, slang, abbreviation, contraction, out of vocabulary) of one chunk of
    text between spaces; a link, an e-mail address, a mention or a hashtag has none."""
    if _ADDRESS.search(chunk):
        return (False,) * len(_WORD_RULES)
    tokens = [_norm(t) for t in _TOKEN.findall(chunk)]
    words = _WORD.findall(chunk)
    lows = [_norm(w) for w in words]
    forms = {*tokens, *(t.rstrip(".") for t in tokens), *lows}
    acronyms = vocab.acronyms if vocab is not None else frozenset()
    caps = any(len(w) >= 2 and w.isupper() and w not in acronyms for w in words)
    oov = vocab is not None and any(
        len(w) >= 3 and not w[0].isupper() and lw not in vocab.words and lw not in lex.known
        for w, lw in zip(words, lows))
    return (caps, not forms.isdisjoint(lex.slang), not forms.isdisjoint(lex.abbreviations),
            not lex.contractions.isdisjoint(lows), oov)


_WORD_RULES = (
    ("all_caps", "all-caps words", ("case",)),
    ("slang", "slang (u, pls, gr8)", ("slang",)),
    ("abbreviation", "abbreviations (btw, imo)",
     ("abbreviation",)),
    ("contraction", "contractions (don't, I'm)", ("contraction",)),
    ("out_of_vocabulary", "out-of-vocabulary words (typo proxy)", ("typo",)),
)


def _profile_texts(texts: list[str], reference: list[str] | None) -> _Found:
    n = len(texts)
    lengths = np.fromiter((len(t) for t in texts), np.int64, count=n)
    starts = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]])
    joined = "\x00".join(texts)  # no trigger matches NUL, so none spans two texts
    edges = np.fromiter((t[:1].isspace() or t[-1:].isspace() for t in texts), bool, count=n)
    found: dict[str, tuple[Phenomenon, np.ndarray | None]] = {}
    for rule in _CHAR_RULES:
        hit = _char_hits(rule, texts, joined, starts, edges)
        found[rule.name] = (Phenomenon(rule.name, rule.label, rule.families,
                                       int(hit.sum()), n), hit)
    vocab = None if reference is None else _vocabulary(reference)
    uniques, ids, text_of = _chunks(texts)
    flags = np.array([_word_flags(u, _lexicons(), vocab) for u in uniques], dtype=bool) \
        .reshape(len(uniques), len(_WORD_RULES))
    for k, (name, label, families) in enumerate(_WORD_RULES):
        if vocab is None and name == "out_of_vocabulary":
            found[name] = (Phenomenon(name, label, families, None, n, note=NEEDS_REFERENCE),
                           None)
            continue
        hit = np.zeros(n, dtype=bool)
        hit[text_of[flags[ids, k]]] = True
        note = "" if vocab is None or name != "out_of_vocabulary" else \
            f"vocabulary of {len(vocab.words)} words"
        found[name] = (Phenomenon(name, label, families, int(hit.sum()), n, note=note), hit)
    return [found[name] for name in _TEXT_ORDER]


_TEXT_ORDER = ("emoji", "all_caps", "url", "mention", "hashtag", "non_ascii_letters",
               "mixed_script", "zero_width", "odd_whitespace", "slang", "abbreviation",
               "contraction", "repeated_marks", "markup", "out_of_vocabulary")
