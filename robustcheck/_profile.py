"""Production profile: how often real traffic shows what each perturbation family
simulates, so that an audit's failure rates can be weighed by what production sends
(:func:`robustcheck._impact.impact`).

Public as ``robustcheck.profile``, ``robustcheck.compare_profiles`` and
``robustcheck.load_profile``. The module is private on purpose: a submodule named
``profile`` would replace the function ``robustcheck.profile`` as soon as it is imported.

``profile(inputs, reference=clean)`` counts, per phenomenon, the inputs (texts or rows)
that show it at least once, gives the share with a Wilson 95% interval and names the
catalogue families the phenomenon stands for. A family's frequency is the share of
inputs showing any of its phenomena. What cannot be measured without the clean data
(the vocabulary, the categories, the numeric range, the schema) is ``None``, never 0.

Text: emoji (emoji), all-caps words (case), URLs, @mentions and #hashtags (chat),
accented, decomposed or fullwidth letters (unicode), words mixing Latin with Cyrillic
or Greek letters (homoglyph), zero-width or invisible characters and odd whitespace
(whitespace),
slang and abbreviations from the catalogue's lexicons (slang, abbreviation),
contractions (contraction), repeated ``!``/``?`` (punctuation), HTML or Markdown
(markup) and, with a reference, words out of its vocabulary (typo: the proxy counts a
text with a lower-case alphabetic word of three letters or more that is neither in the
reference nor in any lexicon; capitalised words are skipped, as names are no typos,
and so are links, addresses, mentions and hashtags). A coarse proxy: with a reference of
a few hundred texts, new but correct words count too. Words in capitals that the
reference also writes in capitals ("USB") are acronyms, not shouting.

Tables (per column): missing values (NaN, None, NaT, empty or blank strings, "NA",
"null", "-", ..., and the sentinels -999, -9999, -99999) (missing); numbers written as
strings in a column that holds numbers (format); with a reference, values a categorical
column never took (category), numbers outside the column's clean range (outlier,
drift), dates in a format the clean column does not use (format) and columns missing,
extra or reordered (schema). The number and date formats seen ("1,234.5", "1.234,5",
"12%", "$3", "5 kg", ISO, day-first and month-first dates) are reported too.

The JSON holds counts, never an input: ``kind: "robustcheck.profile"``, a
``schema_version``; :func:`compare_profiles` tells which shares moved between two.
"""

from __future__ import annotations

import difflib
import functools
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

from ._data import check_column_names, is_frame
from ._files import dumps, read_json, write_atomic
from .errors import InvalidArgument, ResultFileError
from .metrics import Metric
from .stats import wilson_interval

__all__ = ["SCHEMA_VERSION", "FamilyFrequency", "Phenomenon", "Profile", "ProfileDrift",
           "compare_profiles", "load_profile", "profile"]

SCHEMA_VERSION = 1
KIND = "robustcheck.profile"
MODALITIES = ("text", "tabular")
NEEDS_REFERENCE = "not measured: pass reference= (the clean data the model was audited on)"

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


@functools.cache
def _lexicon(name: str) -> tuple[tuple[str, ...], ...]:
    """The entries of the catalogue's ``data/<name>.tsv`` (read as package data)."""
    text = resources.files("perturbations").joinpath("data").joinpath(f"{name}.tsv") \
        .read_text("utf-8")
    return tuple(tuple(f.strip() for f in line.split("\t")) for line in text.splitlines()
                 if line.strip() and not line.startswith("#"))


def _alternatives(name: str) -> set[str]:
    return {a.lower() for row in _lexicon(name) if len(row) > 1
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
    standard = {row[0].lower() for row in _lexicon("slang")}  # "ok" is a key: standard
    slang = {a for a in _alternatives("slang")
             if _distinctive(a) and a not in standard and a not in _SLANG_ORDINARY}
    abbreviations = {a for a in _alternatives("abbreviations")
                     if _distinctive(a) and a not in _ABBREVIATION_ORDINARY}
    known = {w.lower() for name in _KNOWN_WORDS_FROM for row in _lexicon(name)
             for field in row for w in _WORD.findall(field)}
    return _Lexicons(frozenset(slang), frozenset(abbreviations),
                     frozenset(row[0].lower() for row in _lexicon("contractions")),
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

_Found = list[tuple["Phenomenon", "np.ndarray | None"]]


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


# -- tables ----------------------------------------------------------------------------

_MISSING_TEXT = frozenset({"", "na", "n/a", "n.a.", "nan", "null", "none", "nil", "-",
                           "--", "?", "missing", "#n/a", "#na", "undefined"})
_SENTINELS = (-999.0, -9999.0, -99999.0)
_STYLES = (  # (name, label, pattern on the stripped lower-case cell), first match wins
    ("plain", "plain numbers as text (\"12.5\")",
     r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?"),
    ("thousands", "thousands separators (\"1,234.5\")", r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?"),
    ("decimal_comma", "a decimal comma (\"1.234,5\", \"3,5\")",
     r"[+-]?\d{1,3}(?:\.\d{3})+(?:,\d+)?|[+-]?\d+,\d+"),
    ("percent", "percentages (\"12%\")", r"[+-]?\d+(?:[.,]\d+)?\s?%"),
    ("currency", "money (\"$3\", \"3 €\")",
     r"[+-]?(?:[$€£¥]|usd|eur|gbp)\s?[+-]?\d[\d,.]*|[+-]?\d[\d,.]*\s?(?:[$€£¥]|usd|eur|gbp)"),
    ("unit", "a unit (\"5 kg\")",
     r"[+-]?\d+(?:[.,]\d+)?\s?(?!(?:st|nd|rd|th)$)[a-zµ]{1,3}"),
    ("iso_date", "ISO dates (\"2024-03-31\")",
     r"\d{4}-\d{2}-\d{2}(?:[t ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:z|[+-]\d{2}:?\d{2})?)?"),
    ("slash_date", "", r"\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})"),
)
_STYLE_RE = re.compile("|".join(f"(?P<{name}>{p})" for name, _, p in _STYLES))
_DATE_STYLES = {"day_first_date": "day-first dates (\"31/03/2024\")",
                "month_first_date": "month-first dates (\"03/31/2024\")",
                "ambiguous_date": "dates either way (\"03/04/2024\")"}
STYLES = [s for s, _, _ in _STYLES if s != "slash_date"] + list(_DATE_STYLES)
_LABELS = {**{s: label for s, label, _ in _STYLES}, **_DATE_STYLES}
_NUMBER = np.array([s in ("plain", "thousands", "decimal_comma", "percent", "currency",
                          "unit") for s in STYLES] + [False])  # index -1: no style
_DATE = np.array([s.endswith("_date") for s in STYLES] + [False])
_MISSING_CODE = len(STYLES)  # a code past the styles: the cell says "missing"


def _classify(value: str) -> tuple[int, float]:
    """(style code, -1 for none; the number a plain cell holds, else NaN)."""
    text = value.strip().lower()
    if text in _MISSING_TEXT:
        return _MISSING_CODE, math.nan
    m = _STYLE_RE.fullmatch(text)
    if m is None:
        return -1, math.nan
    style = m.lastgroup or ""
    if style == "plain":
        number = float(text)
        return (_MISSING_CODE, math.nan) if number in _SENTINELS else (0, number)
    if style == "slash_date":
        first, second = (int(x) for x in re.split(r"[/.-]", text)[:2])
        if first > 31 or second > 31 or min(first, second) < 1 or min(first, second) > 12:
            return -1, math.nan
        style = "ambiguous_date" if max(first, second) <= 12 else \
            "day_first_date" if first > 12 else "month_first_date"
    return STYLES.index(style), math.nan


@dataclass(frozen=True)
class _Column:
    """What one column's cells are: missing, a string, in which style, which number."""

    series: Any
    missing: np.ndarray
    strings: np.ndarray
    style: np.ndarray
    numbers: np.ndarray
    numeric_dtype: bool

    @property
    def number_share(self) -> float:
        """The share of the filled cells that hold a number (or a number as text)."""
        return self._share(~np.isnan(self.numbers) | _NUMBER[self.style])

    @property
    def date_share(self) -> float:
        return self._share(_DATE[self.style])

    def _share(self, cells: np.ndarray) -> float:
        present = ~self.missing
        return float((cells & present).sum() / max(1, present.sum()))


def _real(value: Any) -> float:
    """A cell's number when it holds one (not a bool), else NaN."""
    if isinstance(value, (bool, np.bool_)) or \
            not isinstance(value, (int, float, np.integer, np.floating)):
        return math.nan
    try:
        return float(value)
    except OverflowError:  # an int past any float
        return math.inf if value > 0 else -math.inf


def _column(series: Any) -> _Column:
    import pandas as pd
    from pandas.api import types

    n = len(series)
    na = series.isna().to_numpy(dtype=bool)
    strings = np.zeros(n, dtype=bool)
    style = np.full(n, -1, dtype=np.int64)
    numeric = bool(types.is_numeric_dtype(series) and not types.is_bool_dtype(series))
    if numeric:
        numbers = series.to_numpy(dtype=float, na_value=np.nan, copy=True)  # ours to edit
    else:
        values = series.to_numpy(dtype=object)
        strings = np.fromiter((isinstance(v, str) for v in values), bool, count=n)
        numbers = np.fromiter((_real(v) for v in values), float, count=n)
        if strings.any():
            codes, uniques = pd.factorize(values[strings])
            classes = [_classify(u) for u in uniques]
            style[strings] = np.array([c for c, _ in classes], dtype=np.int64)[codes]
            numbers[strings] = np.array([x for _, x in classes], dtype=float)[codes]
    missing = na | (style == _MISSING_CODE) | np.isin(numbers, _SENTINELS)
    style[style == _MISSING_CODE] = -1
    numbers[missing] = np.nan
    return _Column(series, missing, strings, style, numbers, numeric)


def _categories(ref: _Column) -> Any | None:
    """The values a clean column took, when it is categorical (not numbers, not dates,
    and its values repeat: at most half as many distinct values as filled cells)."""
    from pandas.api import types

    if ref.numeric_dtype or ref.number_share >= 0.5 or ref.date_share >= 0.5 or \
            types.is_datetime64_any_dtype(ref.series):
        return None
    filled = ref.series[~ref.missing]
    try:
        values = filled.unique()
    except TypeError:  # unhashable cells (lists): no categories to speak of
        return None
    return values if len(values) <= max(1, len(filled) // 2) else None


def _frame_found(frame: Any, reference: Any | None) -> _Found:
    n = len(frame)
    found: _Found = []
    seen = {s: np.zeros(n, dtype=bool) for s in STYLES}
    seen_in: dict[str, list[str]] = {s: [] for s in STYLES}
    ref_at = {} if reference is None else {str(c): j for j, c in enumerate(reference.columns)}
    checked = {"category": 0, "range": 0}
    new_dates = np.zeros(n, dtype=bool)
    for j, col in enumerate(str(c) for c in frame.columns):
        cells = _column(frame.iloc[:, j])
        ref = None if reference is None or col not in ref_at else \
            _column(reference.iloc[:, ref_at[col]])
        found.append((Phenomenon("missing", "missing values", ("missing",),
                                 int(cells.missing.sum()), n, col), cells.missing))
        basis = ref if ref is not None else cells  # what the column is meant to hold
        holds_numbers = basis.numeric_dtype or basis.number_share >= 0.5
        if holds_numbers:
            hit = cells.strings & _NUMBER[cells.style] & ~cells.missing
            found.append((Phenomenon("number_as_string", "numbers written as text",
                                     ("format",), int(hit.sum()), n, col), hit))
        for k, s in enumerate(STYLES):
            hit = cells.style == k
            if hit.any():
                seen[s] |= hit
                seen_in[s].append(col)
        if ref is not None:
            new_dates |= _DATE[cells.style] & ~np.isin(cells.style, ref.style)
            found += _against_reference(cells, ref, col, n, holds_numbers, checked)
    for s in STYLES:
        note = "in " + ", ".join(seen_in[s][:5]) + (" ..." if len(seen_in[s]) > 5 else "") \
            if seen_in[s] else ""
        found.append((Phenomenon(f"seen.{s}", _LABELS[s], (), int(seen[s].sum()), n,
                                 note=note), seen[s]))
    found += _frame_level(frame, reference, n, checked, new_dates)
    return found


def _against_reference(cells: _Column, ref: _Column, col: str, n: int,
                       holds_numbers: bool, checked: dict[str, int]) -> _Found:
    found: _Found = []
    categories = None if holds_numbers else _categories(ref)
    if categories is not None:
        checked["category"] += 1
        hit = ~cells.missing & ~cells.series.isin(categories).to_numpy(dtype=bool)
        found.append((Phenomenon("unseen_category", "categories the clean data never had",
                                 ("category",), int(hit.sum()), n, col), hit))
    clean = ref.numbers[np.isfinite(ref.numbers)]
    if holds_numbers and clean.size:
        checked["range"] += 1
        low, high = float(clean.min()), float(clean.max())
        with np.errstate(invalid="ignore"):
            hit = (cells.numbers < low) | (cells.numbers > high)
        found.append((Phenomenon("out_of_range", "numbers outside the clean range",
                                 ("outlier", "drift"), int(hit.sum()), n, col,
                                 note=f"clean range [{low:g}, {high:g}]"), hit))
    return found


def _frame_level(frame: Any, reference: Any | None, n: int, checked: dict[str, int],
                 new_dates: np.ndarray) -> _Found:
    """The phenomena of the whole frame that rest on the reference."""
    rules = [("unseen_category", "categories the clean data never had", ("category",),
              "category", "no categorical column in the reference"),
             ("out_of_range", "numbers outside the clean range", ("outlier", "drift"),
              "range", "no numeric column in the reference")]
    found: _Found = []
    for name, label, families, key, none_found in rules:
        if reference is None:
            found.append((Phenomenon(name, label, families, None, n, note=NEEDS_REFERENCE),
                          None))
        elif not checked[key]:
            found.append((Phenomenon(name, label, families, 0, n, note=none_found),
                          np.zeros(n, dtype=bool)))
    date_label = "dates in a format the clean column does not use"
    schema_label = "columns missing, extra or reordered against the clean data"
    if reference is None:
        found.append((Phenomenon("new_date_format", date_label, ("format",), None, n,
                                 note=NEEDS_REFERENCE), None))
        found.append((Phenomenon("schema", schema_label, ("schema",), None, n,
                                 note=NEEDS_REFERENCE), None))
        return found
    found.append((Phenomenon("new_date_format", date_label, ("format",),
                             int(new_dates.sum()), n), new_dates))
    mine, clean = [str(c) for c in frame.columns], [str(c) for c in reference.columns]
    gone, extra = [c for c in clean if c not in mine], [c for c in mine if c not in clean]
    common = [c for c in mine if c in clean]
    moved = common != [c for c in clean if c in mine]
    why = "; ".join(x for x in (f"missing: {', '.join(gone[:5])}" if gone else "",
                                f"extra: {', '.join(extra[:5])}" if extra else "",
                                "columns in another order" if moved else "") if x)
    hit = np.full(n, bool(why))
    found.append((Phenomenon("schema", schema_label, ("schema",), int(hit.sum()), n,
                             note=why), hit))
    return found


# -- the profile -----------------------------------------------------------------------


def _share(count: int | None, n: int, confidence: float = 0.95) -> Metric | None:
    if count is None or n == 0:
        return None
    low, high = wilson_interval(count, n, confidence)
    return Metric(count / n, low, high, n)


@dataclass(frozen=True)
class Phenomenon:
    """One thing production inputs may show: how many of the ``n`` inputs show it
    (``count``; None when it could not be measured, ``note`` says why) and the catalogue
    families it stands for (none for the formats merely reported as seen)."""

    name: str
    label: str
    families: tuple[str, ...]
    count: int | None
    n: int
    column: str | None = None
    note: str = ""

    @property
    def key(self) -> tuple[str, str | None]:
        return (self.name, self.column)

    @property
    def title(self) -> str:
        return self.label if self.column is None else f"{self.label} [{self.column}]"

    @property
    def share(self) -> Metric | None:
        """The share of inputs showing it, with its Wilson 95% interval."""
        return _share(self.count, self.n)


@dataclass(frozen=True)
class FamilyFrequency:
    """How many inputs show any of a family's measured ``phenomena`` (None: none could
    be measured)."""

    family: str
    count: int | None
    n: int
    phenomena: tuple[str, ...]

    @property
    def share(self) -> Metric | None:
        return _share(self.count, self.n)


def _families(found: _Found, n: int) -> tuple[FamilyFrequency, ...]:
    parts: dict[str, list[tuple[str, np.ndarray]]] = {}
    for p, mask in found:
        for family in p.families:
            parts.setdefault(family, [])
            if mask is not None:
                parts[family].append((p.title, mask))
    return tuple(FamilyFrequency(
        family, None if not masks else int(np.logical_or.reduce([m for _, m in masks]).sum()),
        n, tuple(t for t, _ in masks)) for family, masks in sorted(parts.items()))


@dataclass(frozen=True)
class Profile:
    """How often each phenomenon occurs in a sample of production inputs.

    ``frequency(family)`` is the share of inputs showing any of the family's phenomena;
    ``share(name, column=None)`` that of one phenomenon; ``str(profile)`` a table;
    ``to_json(path)`` a small JSON of counts (:func:`load_profile` reads it back).
    """

    modality: str
    n: int
    phenomena: tuple[Phenomenon, ...]
    families: tuple[FamilyFrequency, ...]
    name: str | None = None
    reference_n: int | None = None

    def frequency(self, family: str) -> Metric | None:
        """The share of inputs showing any phenomenon of ``family`` (Wilson 95%
        interval); None when the profile holds no measured phenomenon of it."""
        if not isinstance(family, str):
            raise InvalidArgument(f"family must be a family name such as 'emoji', got "
                                  f"{family!r}")
        found = next((f for f in self.families if f.family == family), None)
        if found is None:
            import perturbations

            known = sorted({p.family for p in perturbations.catalogue()} |
                           {f.family for f in self.families})
            if family not in known:
                close = difflib.get_close_matches(family, known, n=3)
                hint = f"did you mean {', '.join(close)}? " if close else ""
                raise InvalidArgument(f"family={family!r} is not a perturbation family; "
                                      f"{hint}known: {', '.join(known)}")
        return None if found is None else found.share

    def share(self, name: str, column: str | None = None) -> Metric | None:
        """The share of inputs showing phenomenon ``name`` (in ``column`` for a table);
        None when it was not measured. Unknown names raise with the known ones."""
        for p in self.phenomena:
            if p.key == (name, column):
                return p.share
        known = sorted({p.name if p.column is None else f"{p.name} (column {p.column!r})"
                        for p in self.phenomena})
        raise InvalidArgument(f"name={name!r}, column={column!r} is not a phenomenon of this "
                              f"profile; use one of: {', '.join(known)}")

    def table(self) -> str:
        """A plain-text table: every phenomenon, then every family."""
        unit = _UNITS.get(self.modality, "inputs")
        ref = "no reference" if self.reference_n is None else \
            f"reference of {self.reference_n} {unit}"
        head = f"Production profile {self.name or '(unnamed)'!r}: {self.n} {unit}, {ref}"
        phenomena = _columns(["phenomenon", "families", unit, "share", "95% interval", "note"],
                             [(p.title, ", ".join(p.families) or "(format seen)", p.count,
                               p.n, p.share, p.note) for p in self.phenomena])
        families = _columns(["family", "", unit, "share", "95% interval", "measured by"],
                            [(f.family, "", f.count, f.n, f.share,
                              "; ".join(f.phenomena) or NEEDS_REFERENCE)
                             for f in self.families])
        return "\n".join([head, *phenomena, "",
                          "Families (share of inputs showing any of their phenomena):",
                          *families])

    def __str__(self) -> str:
        return self.table()

    def to_dict(self) -> dict[str, Any]:
        from . import __version__

        return {
            "kind": KIND, "schema_version": SCHEMA_VERSION, "robustcheck_version": __version__,
            "name": self.name, "modality": self.modality, "n": self.n,
            "reference_n": self.reference_n,
            "phenomena": [{"name": p.name, "column": p.column, "label": p.label,
                           "families": list(p.families), "count": p.count, "note": p.note}
                          for p in self.phenomena],
            "families": [{"family": f.family, "count": f.count, "phenomena": list(f.phenomena)}
                         for f in self.families],
        }

    def to_json(self, path: str | os.PathLike[str] | None = None) -> str:
        """The profile as JSON; written atomically to ``path`` when given."""
        text = dumps(self.to_dict(), indent=1, allow_nan=False) + "\n"
        if path is not None:
            write_atomic(path, text)
        return text

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Profile:
        """A profile from :meth:`to_dict`; a dict of another shape raises
        :class:`InvalidArgument` naming the field."""
        _check_header(d)
        n = d["n"]
        phenomena = tuple(Phenomenon(
            name=_text(p, "name", f"phenomena[{i}]"),
            label=_text(p, "label", f"phenomena[{i}]"),
            families=_names(p, "families", f"phenomena[{i}]"),
            count=_count(p, n, f"phenomena[{i}]"), n=n,
            column=None if _field(p, "column", f"phenomena[{i}]") is None else
            _text(p, "column", f"phenomena[{i}]"),
            note=str(p.get("note") or "")) for i, p in enumerate(_items(d, "phenomena")))
        families = tuple(FamilyFrequency(
            family=_text(f, "family", f"families[{i}]"), count=_count(f, n, f"families[{i}]"),
            n=n, phenomena=_names(f, "phenomena", f"families[{i}]"))
            for i, f in enumerate(_items(d, "families")))
        name = d.get("name")
        reference_n = d.get("reference_n")
        if name is not None and not isinstance(name, str):
            raise InvalidArgument(f"profile field 'name' is {name!r}; expected text or null")
        if reference_n is not None and not _is_count(reference_n):
            raise InvalidArgument(f"profile field 'reference_n' is {reference_n!r}; expected a "
                                  "count or null")
        return cls(d["modality"], n, phenomena, families, name, reference_n)


_UNITS = {"text": "texts", "tabular": "rows"}


def _columns(header: list[str],
             rows: Iterable[tuple[str, str, int | None, int, Metric | None, str]]) -> list[str]:
    cells = [header]
    for title, families, count, n, share, note in rows:
        if share is None or count is None:
            cells.append([title, families, "—", "", "", note or "not measured"])
        else:
            cells.append([title, families, f"{count}/{n}", f"{100 * share.value:.1f}%",
                          f"[{100 * share.low:.1f}, {100 * share.high:.1f}]", note])
    widths = [max(len(c[k]) for c in cells) for k in range(5)]
    return [f"  {c[0].ljust(widths[0])}  {c[1].ljust(widths[1])}  {c[2].rjust(widths[2])}  "
            f"{c[3].rjust(widths[3])}  {c[4].ljust(widths[4])}  {c[5]}".rstrip()
            for c in cells]


# -- reading a profile back ------------------------------------------------------------


def _check_header(d: Any) -> None:
    if not isinstance(d, Mapping):
        raise InvalidArgument(f"a profile is a dict (from Profile.to_dict), got "
                              f"{type(d).__name__}")
    if d.get("kind") != KIND:
        other = f"a {d['kind']!r} file" if isinstance(d.get("kind"), str) else \
            "no 'kind' field"
        raise InvalidArgument(f"not a robustcheck profile: it has {other}, expected kind "
                              f"{KIND!r}; make one with robustcheck.profile(inputs)"
                              ".to_json(path)")
    version = d.get("schema_version")
    if version != SCHEMA_VERSION:
        raise InvalidArgument(f"profile schema_version {version!r} is not {SCHEMA_VERSION}, "
                              "the version this robustcheck reads; profile the inputs again "
                              "with this version")
    if not _is_count(d.get("n")) or d["n"] < 1:
        raise InvalidArgument(f"profile field 'n' is {d.get('n')!r}; expected a positive count")
    if d.get("modality") not in MODALITIES:
        raise InvalidArgument(f"profile field 'modality' is {d.get('modality')!r}; expected "
                              f"one of {', '.join(MODALITIES)}")


def _is_count(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def _items(d: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    items = d.get(key)
    if not isinstance(items, list) or not all(isinstance(x, Mapping) for x in items):
        raise InvalidArgument(f"profile field {key!r} must be a list of objects, got "
                              f"{type(items).__name__}")
    return items


def _field(d: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in d:
        raise InvalidArgument(f"profile {where} has no field {key!r}")
    return d[key]


def _text(d: Mapping[str, Any], key: str, where: str) -> str:
    value = _field(d, key, where)
    if not isinstance(value, str):
        raise InvalidArgument(f"profile {where}.{key} is {value!r}; expected text")
    return value


def _names(d: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = _field(d, key, where)
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise InvalidArgument(f"profile {where}.{key} is {value!r}; expected a list of names")
    return tuple(value)


def _count(d: Mapping[str, Any], n: int, where: str) -> int | None:
    value = _field(d, "count", where)
    if value is not None and not (_is_count(value) and value <= n):
        raise InvalidArgument(f"profile {where}.count is {value!r}; expected null or a count "
                              f"from 0 to n={n}")
    return value


def load_profile(path: str | os.PathLike[str] | Profile) -> Profile:
    """Read a profile written by :meth:`Profile.to_json` (a :class:`Profile` is returned
    as it is). A missing, damaged or foreign file raises
    :class:`~robustcheck.errors.ResultFileError` naming the file and what is wrong."""
    if isinstance(path, Profile):
        return path
    if not isinstance(path, (str, os.PathLike)):
        raise InvalidArgument(f"path must be a file path or a Profile, got "
                              f"{type(path).__name__}")
    d = read_json(path, expected="a robustcheck profile JSON (Profile.to_json)")
    try:
        return Profile.from_dict(d)
    except InvalidArgument as exc:
        raise ResultFileError(f"{path}: {exc}") from None


# -- making one ------------------------------------------------------------------------


def _as_texts(value: Any, argument: str) -> list[str]:
    if isinstance(value, (str, bytes)):
        raise InvalidArgument(f"{argument} is a single string; pass a list of texts, one per "
                              "input")
    if isinstance(value, (Mapping, set, frozenset)) or not isinstance(value, Iterable):
        raise InvalidArgument(f"{argument} must be a list of texts, a pandas Series or a "
                              f"DataFrame; got {type(value).__name__}")
    texts = list(value.tolist() if hasattr(value, "tolist") else value)
    bad = next((i for i, x in enumerate(texts) if not isinstance(x, str)), None)
    if bad is not None:
        raise InvalidArgument(f"{argument}[{bad}] is {texts[bad]!r} "
                              f"({type(texts[bad]).__name__}); every text must be a string: "
                              "fill or drop missing texts first")
    return texts


def _as_frame(value: Any, argument: str) -> Any:
    check_column_names(value)
    names = [str(c) for c in value.columns]
    if len(set(names)) < len(names):
        raise InvalidArgument(f"{argument} has columns whose names read the same as text "
                              f"({names}); rename them so each is unique")
    return value


def profile(inputs: Any, *, reference: Any = None, name: str | None = None) -> Profile:
    """Count how often production ``inputs`` show what each perturbation family simulates.

    ``inputs``: a list, tuple or Series of texts, or a pandas DataFrame (one row per
    input). ``reference``: the clean data the model was audited on (texts or a frame like
    ``inputs``): the vocabulary, categories, numeric ranges, date formats and columns the
    phenomena that need one are measured against; without it they are not measured
    (None). ``name`` labels the profile (e.g. "prod-2024-06"). Nothing passed is changed.
    """
    if name is not None and not isinstance(name, str):
        raise InvalidArgument(f"name must be text or None, got {name!r}; e.g. "
                              "name='prod-2024-06'")
    tabular = is_frame(inputs)
    if reference is not None and is_frame(reference) != tabular:
        raise InvalidArgument(
            f"reference is {'a DataFrame' if is_frame(reference) else type(reference).__name__}"
            f" but inputs {'are a DataFrame' if tabular else 'are texts'}; pass the clean data "
            "in the same form as the production inputs")
    if tabular:
        frame = _as_frame(inputs, "inputs")
        ref = None if reference is None else _as_frame(reference, "reference")
        found, n, kind = _frame_found(frame, ref), len(frame), MODALITIES[1]
    else:
        texts = _as_texts(inputs, "inputs")
        ref = None if reference is None else _as_texts(reference, "reference")
        n, kind = len(texts), MODALITIES[0]
        found = _profile_texts(texts, ref) if n else []
    if n == 0:
        raise InvalidArgument("inputs is empty; profile needs at least one input (a text or "
                              "a row)")
    if ref is not None and len(ref) == 0:
        raise InvalidArgument("reference is empty; pass the clean data the model was audited "
                              "on, or reference=None")
    return Profile(kind, n, tuple(p for p, _ in found), _families(found, n), name,
                   None if ref is None else len(ref))


# -- drift -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DriftRow:
    """One phenomenon (or a family, ``name`` "family") in two profiles: both shares,
    ``difference`` = new - old with its interval, and whether the interval excludes 0."""

    name: str
    column: str | None
    label: str
    old: Metric | None
    new: Metric | None
    difference: Metric | None
    significant: bool | None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "column": self.column, "label": self.label,
                **{k: None if m is None else m.to_dict()
                   for k, m in (("old", self.old), ("new", self.new),
                                ("difference", self.difference))},
                "significant": self.significant}


@dataclass(frozen=True)
class ProfileDrift:
    """Which shares moved between two profiles. Each difference has a Newcombe hybrid
    score interval (built from the two Wilson intervals; the samples are independent)
    at a Bonferroni-adjusted level, so that all intervals hold together with probability
    ``confidence``: a row is significant when its interval excludes 0."""

    old_name: str | None
    new_name: str | None
    confidence: float
    level: float
    """The confidence of each interval: ``1 - (1 - confidence) / rows compared``."""
    rows: tuple[DriftRow, ...]

    @property
    def significant(self) -> tuple[DriftRow, ...]:
        return tuple(r for r in self.rows if r.significant)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "robustcheck.profile_drift", "old": self.old_name,
                "new": self.new_name, "confidence": self.confidence, "level": self.level,
                "method": "Newcombe hybrid score interval of new - old, Bonferroni-adjusted",
                "rows": [r.to_dict() for r in self.rows]}

    def __str__(self) -> str:
        head = (f"Profile drift {self.old_name or '(old)'!r} -> {self.new_name or '(new)'!r}: "
                f"{len(self.significant)} of "
                f"{sum(r.difference is not None for r in self.rows)} shares moved (Newcombe "
                f"intervals, {100 * self.confidence:g}% for all rows together)")
        cells = [["", "phenomenon", "old", "new", "difference", "interval"]]
        for r in self.rows:
            title = r.label if r.column is None else f"{r.label} [{r.column}]"
            if r.name == "family":
                title = f"family {r.label}"
            d = r.difference
            cells.append(["*" if r.significant else "", title, _pct(r.old), _pct(r.new),
                          "—" if d is None else f"{100 * d.value:+.1f}",
                          "" if d is None else f"[{100 * d.low:+.1f}, {100 * d.high:+.1f}]"])
        widths = [max(len(c[k]) for c in cells) for k in range(6)]
        lines = [head] + [f"{c[0]:1} {c[1].ljust(widths[1])}  {c[2].rjust(widths[2])}  "
                          f"{c[3].rjust(widths[3])}  {c[4].rjust(widths[4])}  {c[5]}".rstrip()
                          for c in cells]
        return "\n".join([*lines, "* the interval of the difference excludes 0"])


def _pct(m: Metric | None) -> str:
    return "—" if m is None else f"{100 * m.value:.1f}%"


def _newcombe(old: tuple[int, int], new: tuple[int, int], level: float) -> Metric:
    """Newcombe's hybrid score interval (his method 10) of ``p_new - p_old``."""
    (k1, n1), (k2, n2) = old, new
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson_interval(k1, n1, level)
    l2, u2 = wilson_interval(k2, n2, level)
    d = p2 - p1
    return Metric(d, d - math.hypot(p2 - l2, u1 - p1), d + math.hypot(u2 - p2, p1 - l1),
                  n1 + n2)


def compare_profiles(old: Profile | str | os.PathLike[str],
                     new: Profile | str | os.PathLike[str], *,
                     confidence: float = 0.95) -> ProfileDrift:
    """Compare two profiles (or their JSON files) of the same kind of input: per
    phenomenon and per family, both shares, the difference ``new - old`` with its
    Newcombe interval, and whether it is significant (see :class:`ProfileDrift`).
    Phenomena measured in only one of them are listed with None on the other side."""
    if not isinstance(confidence, float) or not 0.5 <= confidence < 1:
        raise InvalidArgument(f"confidence must be a float in [0.5, 1), got {confidence!r}; "
                              "e.g. confidence=0.95")
    a, b = load_profile(old), load_profile(new)
    if a.modality != b.modality:
        raise InvalidArgument(f"old profiles {a.modality} inputs and new {b.modality} "
                              "inputs; compare profiles of the same kind of input")
    pairs: dict[tuple[str, str | None], list[Any]] = {}
    for side, prof in enumerate((a, b)):
        for p in prof.phenomena:
            pairs.setdefault(p.key, [p.label, None, None])[side + 1] = (p.count, p.n)
        for f in prof.families:
            pairs.setdefault(("family", f.family), [f.family, None, None])[side + 1] = \
                (f.count, f.n)
    both = [k for k, (_, x, y) in pairs.items()
            if x is not None and y is not None and x[0] is not None and y[0] is not None]
    level = 1 - (1 - confidence) / max(1, len(both))
    rows = []
    for key, (label, x, y) in pairs.items():
        diff = _newcombe(x, y, level) if key in both else None
        rows.append(DriftRow(key[0], key[1], label,
                             None if x is None else _share(*x), None if y is None else _share(*y),
                             diff, None if diff is None else diff.low > 0 or diff.high < 0))
    return ProfileDrift(a.name, b.name, confidence, level, tuple(rows))

