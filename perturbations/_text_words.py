"""Word and phrase substitutions from lexicons: misspellings, slang, abbreviations,
emoji, contractions and entity swaps (negation is in :mod:`._text_negation`).

Single-word lexicons go through :func:`~perturbations._text_engine.map_words` (words
found and chosen with arrays, one dictionary look-up per word). Lexicons whose keys
span several words or contain apostrophes are matched with one regular expression
compiled from a trie of the keys, so matching costs about the same whatever the
lexicon's size.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

from . import _lexicon
from ._random import Draws
from ._registry import perturbation
from ._text_engine import TextBatch, kept, map_words, rank_select, share_for

# -- helpers ----------------------------------------------------------------------


def match_case(source: str, replacement: str) -> str:
    """``replacement`` in the case pattern of ``source`` (UPPER, Title or as is)."""
    if len(source) > 1 and source.isupper():
        return replacement.upper()
    if source[:1].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement


def _pick(options: Sequence[str], u: float) -> str:
    return options[min(int(u * len(options)), len(options) - 1)]


def trie_pattern(keys: Iterable[str]) -> str:
    """A regular expression matching any of ``keys``, factored by common prefixes so the
    engine follows one branch per character instead of trying every key."""
    trie: dict[str, dict] = {}
    for key in keys:
        node = trie
        for ch in key:
            node = node.setdefault(ch, {})
        node[""] = {}

    def render(node: dict[str, dict]) -> str:
        ends = "" in node
        branches = [re.escape(ch) + render(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if ends:
            return "(?:" + body + ")?"
        return body

    return render(trie)


@functools.cache
def _phrase_regex(name: str, column: int = 0, ignore_case: bool = True) -> re.Pattern[str]:
    """Whole-word matches of column ``column`` of lexicon ``name``."""
    if column == 0:
        keys: Iterable[str] = _lexicon.words(name)
    else:
        keys = {alt.split("|")[0] for row in _lexicon.rows(name) if len(row) > column
                for alt in [row[column]] if alt}
    flags = re.IGNORECASE if ignore_case else 0
    return re.compile(r"(?<![\w'])" + trie_pattern(keys) + r"(?![\w'])", flags)


def replace_phrases(texts: list[str], draws: Draws, share: float, pattern: re.Pattern[str],
                    replace: Callable[[str, float], str]) -> list[str]:
    """Replace ``ceil(share * n)`` of the ``n`` matches of ``pattern`` in each text
    (those with the smallest draws, so a larger share replaces a superset). Where the
    matches are is :func:`~._text_engine.kept` (12 bytes a match): ``pattern`` is the
    same object at every call.
    """
    if share <= 0 or not texts:
        return list(texts)
    owner, starts, ends = kept(texts, ("replace_phrases", pattern),
                               lambda: _phrases(texts, pattern))
    if not len(owner):
        return list(texts)
    ordinal = np.arange(len(owner)) - np.searchsorted(owner, owner)
    picked = rank_select(draws, 0, owner, ordinal, share, len(texts))
    u = draws.uniform(1, owner[picked], ordinal[picked]).tolist()
    out = list(texts)
    cursor_text, pieces, cursor = -1, [], 0
    for i, x in zip(picked.tolist(), u):
        t = int(owner[i])
        if t != cursor_text:
            if cursor_text >= 0:
                pieces.append(texts[cursor_text][cursor:])
                out[cursor_text] = "".join(pieces)
            cursor_text, pieces, cursor = t, [], 0
        start, end = int(starts[i]), int(ends[i])
        pieces.append(texts[t][cursor:start])
        pieces.append(replace(texts[t][start:end], x))
        cursor = end
    pieces.append(texts[cursor_text][cursor:])
    out[cursor_text] = "".join(pieces)
    return out


def _phrases(texts: list[str], pattern: re.Pattern[str]
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The text of each match of ``pattern`` and its start and end in that text.

    One regular-expression scan over the whole batch: texts are joined by NUL, which no
    pattern here matches, so no match spans two texts."""
    bounds = np.array([m.span() for m in pattern.finditer("\x00".join(texts))],
                      dtype=np.int64).reshape(-1, 2)
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)) + 1
    text_start = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    owner = np.searchsorted(text_start, bounds[:, 0], side="right") - 1
    local = bounds - text_start[owner][:, None]
    return (owner.astype(np.int32), local[:, 0].astype(np.int32),
            local[:, 1].astype(np.int32))


_TOKEN = re.compile(r"[^\W\d_][\w'’-]*")


def first_swap(original: str, perturbed: str, known: Callable[[str], bool]
               ) -> tuple[str, str] | None:
    """The first word a swap replaced: the words ``known`` accepts, read in order in both
    texts, and the first pair that differs (None when there is none)."""
    before = [w for w in _TOKEN.findall(original) if known(w)]
    after = [w for w in _TOKEN.findall(perturbed) if known(w)]
    return next(((x, y) for x, y in zip(before, after) if x != y), None)


def lexicon_swap(texts: list[str], draws: Draws, severity: float,
                 table: Mapping[str, Sequence[str]], *, share: float) -> list[str]:
    """Replace a ``share * severity`` of the words found in ``table`` (looked up lower
    case) by one of their alternatives, in the case pattern of the word replaced
    (``table`` is the same object at every call: see :func:`map_words`)."""

    def edit(word: str, u: float) -> str:
        alts = table[word.lower()]
        new = alts[int(u * len(alts))]
        if word[:1].isupper():
            return new.upper() if len(word) > 1 and word.isupper() else new[:1].upper() + new[1:]
        return new

    return map_words(texts, draws, severity, share=share, edit=edit, lexicon=table)


def _lexicon_words(name: str, *, share: float) -> Callable[..., list[str]]:
    """A perturbation replacing whole words found in a single-word lexicon."""

    def substitute(texts: list[str], *, draws: Draws, severity: float) -> list[str]:
        return lexicon_swap(texts, draws, severity, _lexicon.mapping(name), share=share)

    return substitute


# -- typos that are real words: misspellings --------------------------------------


def _misspell(texts: list[str], *, draws: Draws, severity: float,
              word_share: float = 0.3) -> list[str]:
    return lexicon_swap(texts, draws, severity, _misspelling_table(), share=word_share)


@functools.cache
def _misspelling_table() -> dict[str, tuple[str, ...]]:
    table: dict[str, tuple[str, ...]] = {}
    for key, values in _lexicon.misspellings().items():
        alts = tuple(dict.fromkeys(
            a.lower() for a in values if a.isalpha() and a.lower() != key.lower()))
        if alts and key.isalpha():
            table.setdefault(key.lower(), alts)
    return table


misspelling = perturbation(
    name="typo.misspelling", modality="text", expectation="invariant", batched=True,
    description="A word replaced by a misspelling people really make (nlpaug's English "
                "spelling list): 'receive' -> 'recieve'.",
    severity="share of the words that have a known misspelling: up to 30% at 1.0, "
             "at least one",
)(_misspell)


slang = perturbation(
    name="slang.word", modality="text", expectation="invariant", batched=True,
    description="Words written as chat slang: 'you' -> 'u', 'because' -> 'cuz', "
                "'please' -> 'pls'.",
    severity="share of the words that have a slang form: all of them at 1.0, at least one",
)(_lexicon_words("slang", share=1.0))

emoji_word = perturbation(
    name="emoji.replace_word", modality="text", expectation="invariant", batched=True,
    description="A word replaced by the emoji that stands for it: 'love' -> '❤️', "
                "'pizza' -> '🍕'.",
    severity="share of the words that have an emoji: all of them at 1.0, at least one",
)(_lexicon_words("emoji", share=1.0))


# -- phrase lexicons: abbreviations, contractions ---------------------------------


def _abbreviate(texts: list[str], *, draws: Draws, severity: float) -> list[str]:
    table = {k.lower(): v for k, v in _lexicon.mapping("abbreviations").items()}
    return replace_phrases(texts, draws, severity, _phrase_regex("abbreviations"),
                           lambda m, u: match_case(m, _pick(table[m.lower()], u)))


abbreviation = perturbation(
    name="abbreviation.phrase", modality="text", expectation="invariant", batched=True,
    description="Words and phrases abbreviated as people type them: 'as soon as "
                "possible' -> 'asap', 'tomorrow' -> 'tmrw'.",
    severity="share of the abbreviable phrases abbreviated: all of them at 1.0, "
             "at least one",
)(_abbreviate)


@functools.cache
def _contractions() -> tuple[dict[str, str], dict[str, str]]:
    expand = {k.lower(): v[0] for k, v in _lexicon.mapping("contractions").items()}
    contract = {v.lower(): k for k, v in expand.items()}
    return expand, contract


def _expand(texts: list[str], *, draws: Draws, severity: float) -> list[str]:
    expand, _ = _contractions()
    return replace_phrases(texts, draws, severity, _phrase_regex("contractions"),
                           lambda m, u: match_case(m, expand[m.lower()]))


def _contract(texts: list[str], *, draws: Draws, severity: float) -> list[str]:
    _, contract = _contractions()
    return replace_phrases(texts, draws, severity, _phrase_regex("contractions", column=1),
                           lambda m, u: match_case(m, contract[m.lower()]))


contraction_expand = perturbation(
    name="contraction.expand", modality="text", expectation="invariant", batched=True,
    description="Contractions written out: \"isn't\" -> 'is not', \"I'm\" -> 'I am'.",
    severity="share of the contractions expanded: all of them at 1.0, at least one",
)(_expand)

contraction_contract = perturbation(
    name="contraction.contract", modality="text", expectation="invariant", batched=True,
    description="Phrases contracted: 'is not' -> \"isn't\", 'I am' -> \"I'm\".",
    severity="share of the contractible phrases contracted: all of them at 1.0, "
             "at least one",
)(_contract)


# -- entities -----------------------------------------------------------------------


@functools.cache
def _names() -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    region_of = {row[0]: row[1] for row in _lexicon.rows("names") if len(row) > 1}
    others = {region: tuple(n for n, r in region_of.items() if r != region)
              for region in set(region_of.values())}
    return region_of, others


def _swap_person(texts: list[str], *, draws: Draws, severity: float) -> list[str]:
    region_of, others = _names()
    return map_words(texts, draws, severity, share=1.0,
                     edit=lambda w, u: _pick(others[region_of[w]], u),
                     eligible=_is_known_name)


def _is_known_name(word: str) -> bool:
    return word in _names()[0]


def _person_group(original: str, perturbed: str) -> str | None:
    """The region of the first name swapped in, as the group of a fairness row."""
    region_of = _names()[0]
    swap = first_swap(original, perturbed, lambda w: w in region_of)
    return None if swap is None else "→ " + region_of[swap[1]].replace("_", " ")


person = perturbation(
    name="entity.person", modality="text", expectation="invariant", batched=True,
    groups=_person_group,
    description="A person's given name replaced by one from another region of the world "
                "('Emily' -> 'Oluwaseun'): a fair model does not care.",
    severity="share of the known given names swapped: all of them at 1.0, at least one",
)(_swap_person)


@functools.cache
def _locations() -> dict[str, tuple[str, ...]]:
    kind_of = {row[0]: row[1] for row in _lexicon.rows("locations") if len(row) > 1}
    return {loc: tuple(o for o, k in kind_of.items() if k == kind and o != loc)
            for loc, kind in kind_of.items()}


def _swap_location(texts: list[str], *, draws: Draws, severity: float) -> list[str]:
    table = _locations()
    return replace_phrases(texts, draws, severity,
                           _phrase_regex("locations", ignore_case=False),
                           lambda m, u: _pick(table[m], u) if table.get(m) else m)


location = perturbation(
    name="entity.location", modality="text", expectation="invariant", batched=True,
    description="A city or country replaced by another of the same kind: 'Paris' -> "
                "'Nairobi'.",
    severity="share of the known places swapped: all of them at 1.0, at least one",
)(_swap_location)

_NUMBER = re.compile(r"(?<![\w.,])\d+(?:[.,]\d+)?(?![\w])")
_NUMBER_PARTS = re.compile(r"(\d+)(?:([.,])(\d+))?")


def _new_number(number: str, u: float) -> str:
    """Another number written the same way: same digits before and after the point."""
    head, sep, tail = _NUMBER_PARTS.match(number).groups(default="")  # type: ignore[union-attr]
    width = len(head)
    low = 10 ** (width - 1) if width > 1 else 0
    span = 10**width - low
    value = low + int(u * span)
    if str(value) == head:
        value = low + (value - low + 1) % span
    return f"{value}{sep}{tail}"


def _swap_number(texts: list[str], *, draws: Draws, severity: float) -> list[str]:
    return replace_phrases(texts, draws, severity, _NUMBER, _new_number)


number = perturbation(
    name="entity.number", modality="text", expectation="invariant", batched=True,
    default=False,
    description="A number replaced by another with as many digits: '3 days' -> '7 days', "
                "'$24.99' -> '$61.99'. In the extended suite, not the default one: in "
                "reviews it also rewrites the star rating the verdict rests on ('1/5' -> "
                "'9/9'), so the label was kept in only 23 of 30 judged pairs.",
    severity="share of the numbers swapped: all of them at 1.0, at least one",
)(_swap_number)


# -- emoji decoration -----------------------------------------------------------------


@functools.cache
def _decorative() -> tuple[str, ...]:
    return _lexicon.words("emoji_decorative")


def _append_emoji(texts: list[str], *, draws: Draws, severity: float,
                  most: int = 3) -> list[str]:
    count = max(1, math.ceil(severity * most - 1e-9))
    emoji = _decorative()
    n = len(texts)
    u = draws.uniform(0, np.repeat(np.arange(n), count), np.tile(np.arange(count), n))
    picks = [emoji[i] for i in np.minimum((u * len(emoji)).astype(np.int64),
                                          len(emoji) - 1).tolist()]
    out = []
    for i, text in enumerate(texts):
        tail = "".join(picks[i * count:(i + 1) * count])
        out.append(f"{text} {tail}" if text else tail)
    return out


append_emoji = perturbation(
    name="emoji.append", modality="text", expectation="invariant", batched=True,
    description="Decorative emoji added at the end, as in chats and reviews: "
                "'great service' -> 'great service 🔥👍🏽' (skin tones, flags and ZWJ "
                "sequences included).",
    severity="how many emoji: 1 up to 3 at 1.0",
)(_append_emoji)


def _insert_emoji(texts: list[str], *, draws: Draws, severity: float,
                  word_share: float = 0.3) -> list[str]:
    emoji = _decorative()
    batch = TextBatch(texts)
    chosen = batch.choose(draws, 0, batch.lengths > 0, share_for(severity, word_share))
    u = draws.uniform(1, batch.owner[chosen], batch.ordinal[chosen]).tolist()
    new = [f"{w} {_pick(emoji, x)}" for w, x in zip(batch.words(chosen), u)]
    return batch.replace_words(chosen, new)


insert_emoji = perturbation(
    name="emoji.insert", modality="text", expectation="invariant", batched=True,
    description="Decorative emoji inserted after some words: 'the food 😂 was great'.",
    severity="share of words followed by an emoji: up to 30% of the words at 1.0, "
             "at least one",
)(_insert_emoji)
