"""Word swaps a reader hardly notices: homophones, number words and digits, British and
American spelling, synonyms and gendered words, each from a lexicon under ``data/``.

Unlike :func:`~perturbations._text_words.replace_phrases`, :func:`swap_matches` hands the
edit the whole match: these swaps read the words around the one they change ('a' or 'an',
'her' as 'his' or 'him', a number next to a month). Words inside a hyphenated compound
('e-mail', 'check-in') are never touched: the compound would stop meaning what it meant.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import cast

import numpy as np

from . import _lexicon
from ._random import Draws
from ._registry import perturbation
from ._text_engine import kept, rank_select
from ._text_words import first_swap, match_case, trie_pattern

Edit = Callable[[re.Match[str], float], str]
Test = Callable[[re.Match[str]], bool]


def swap_matches(texts: list[str], draws: Draws, severity: float, pattern: re.Pattern[str],
                 edit: Edit, eligible: Test | None = None) -> list[str]:
    """Replace ``ceil(severity * n)`` of the ``n`` eligible matches of ``pattern`` in each
    text by ``edit(match, u)`` (those with the smallest draws, so a larger severity
    replaces a superset; ``u`` is a uniform draw of that match).

    Where the eligible matches start is :func:`~._text_engine.kept` (8 bytes a match;
    ``pattern`` and ``eligible`` are the same objects at every call), and the chosen
    ones are matched again at their start: the scan is most of these swaps' time.
    """
    if severity <= 0:
        return list(texts)
    owner, starts = kept(texts, ("swap_matches", pattern, eligible),
                         lambda: _eligible_starts(texts, pattern, eligible))
    if not len(owner):
        return list(texts)
    ordinal = np.arange(len(owner)) - np.searchsorted(owner, owner)
    picked = rank_select(draws, 0, owner, ordinal, severity, len(texts)).tolist()
    u = draws.uniform(1, owner[picked], ordinal[picked]).tolist()
    pieces: dict[int, list[str]] = {}
    cursor: dict[int, int] = {}
    for i, x in zip(picked, u):  # in text order, then match order
        t = int(owner[i])
        m = cast(re.Match[str], pattern.match(texts[t], int(starts[i])))
        pieces.setdefault(t, []).extend([texts[t][cursor.get(t, 0):m.start()], edit(m, x)])
        cursor[t] = m.end()
    out = list(texts)
    for t, parts in pieces.items():
        out[t] = "".join(parts) + texts[t][cursor[t]:]
    return out


def _eligible_starts(texts: list[str], pattern: re.Pattern[str],
                     eligible: Test | None) -> tuple[np.ndarray, np.ndarray]:
    """The text and the start of each eligible match of ``pattern`` in ``texts``: the
    matches ``pattern.finditer`` finds, any of which ``pattern.match`` finds again at its
    start (the whole text is searched, so look-behinds see what they saw)."""
    owner: list[int] = []
    starts: list[int] = []
    for t, text in enumerate(texts):
        for m in pattern.finditer(text):
            if eligible is None or eligible(m):
                owner.append(t)
                starts.append(m.start())
    return np.array(owner, dtype=np.int32), np.array(starts, dtype=np.int32)


# -- words of a lexicon ---------------------------------------------------------------

_NEXT_WORD = re.compile(r"\s+([\w'’-]+)")


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


def _key(word: str) -> str:  # the lexicons' spelling: lower case, ASCII apostrophe
    return word.lower().replace("’", "'")


def _respell(source: str, new: str) -> str:
    """``new`` in the case pattern of ``source``, with its kind of apostrophe."""
    return match_case(source, new.replace("'", "’") if "’" in source else new)


def _pick(options: Sequence[str], u: float) -> str:
    return options[min(int(u * len(options)), len(options) - 1)]


def _next_word(m: re.Match[str]) -> str | None:
    """The word right after the match, lower case; None before punctuation or the end."""
    found = _NEXT_WORD.match(m.string, m.end())
    return found.group(1).lower() if found else None


def _before(m: re.Match[str], width: int = 40) -> str:
    """The end of the text before the match (a window: a long text is not scanned again
    for every match)."""
    return m.string[max(0, m.start() - width):m.start()]


def word_pattern(keys: Iterable[str], head: str = "", tail: str = "") -> re.Pattern[str]:
    """Whole-word matches of ``keys`` (any case, either apostrophe) in group ``word``,
    outside hyphenated compounds; ``head`` and ``tail`` are regexes matched around it."""
    keys = set(keys)
    keys |= {k.replace("'", "’") for k in keys}
    return re.compile(rf"(?<![\w'’-]){head}(?P<word>{trie_pattern(keys)}){tail}(?![\w'’-])",
                      re.IGNORECASE)


def _swap_from(table: Callable[[], Mapping[str, Sequence[str]]],
               tail: str = "") -> Callable[..., list[str]]:
    """A perturbation replacing each word found in ``table()`` by one of its values
    (``tail``: a regex allowed after the word, kept as it is)."""

    @functools.cache
    def pattern() -> re.Pattern[str]:
        return word_pattern(table(), tail=tail)

    def eligible(m: re.Match[str]) -> bool:
        return _key(m["word"]) in table()  # "ſo" matches "so" but is not a key

    def substitute(texts: list[str], *, draws: Draws, severity: float) -> list[str]:
        found = table()
        return swap_matches(
            texts, draws, severity, pattern(),
            lambda m, u: _respell(m["word"], _pick(found[_key(m["word"])], u))
            + m.string[m.end("word"):m.end()],
            eligible)

    return substitute


homophone = perturbation(
    name="homophone.swap", modality="text", expectation="invariant", batched=True,
    description="Words written as a homophone, the way speech-to-text or a hurried typist "
                "writes them: 'their' -> 'there', 'too' -> 'to', 'week' -> 'weak'.",
    severity="share of the words that have a homophone: all of them at 1.0, at least one",
)(_swap_from(functools.partial(_lexicon.mapping, "homophones")))


_POSSESSIVE = r"(?:['’]s)?"  # "my neighbour's car"


@functools.cache
def _spellings(column: int) -> dict[str, tuple[str, ...]]:
    """A column of data/spelling.tsv (0: British, 1: American) -> the other column."""
    return {row[column]: (row[1 - column],) for row in _lexicon.rows("spelling")}


american = perturbation(
    name="spelling.american", modality="text", expectation="invariant", batched=True,
    description="British spellings written the American way: 'colour' -> 'color', "
                "'organised' -> 'organized', 'travelled' -> 'traveled'.",
    severity="share of the words with a British spelling respelt: all of them at 1.0, "
             "at least one",
)(_swap_from(functools.partial(_spellings, 0), tail=_POSSESSIVE))

british = perturbation(
    name="spelling.british", modality="text", expectation="invariant", batched=True,
    default=False,
    description="American spellings written the British way: 'color' -> 'colour', "
                "'organized' -> 'organised', 'center' -> 'centre'. In the extended suite: "
                "the shipped reviews are British, so only 2 change and the study has 2 "
                "pairs, too few to show the label is kept in 90%.",
    severity="share of the words with an American spelling respelt: all of them at 1.0, "
             "at least one",
)(_swap_from(functools.partial(_spellings, 1), tail=_POSSESSIVE))


# -- synonyms ---------------------------------------------------------------------------

_SOUNDS_CONSONANT = ("use", "usu", "uni", "ure", "eu", "one", "once")
_SOUNDS_VOWEL = ("hour", "honest", "honour", "honor", "heir")


def article_for(word: str) -> str:
    """'a' or 'an' before ``word``, by how it is said ('an hour', 'a user-friendly')."""
    w = word.lower()
    vowel = (w[:1] in "aeiou" and not w.startswith(_SOUNDS_CONSONANT)) or w.startswith(
        _SOUNDS_VOWEL)
    return "an" if vowel else "a"


@functools.cache
def _synonyms() -> tuple[dict[str, tuple[str, ...]], dict[str, frozenset[str]], re.Pattern[str]]:
    table = _lexicon.mapping("synonyms")
    blockers = {k: frozenset(v) for k, v in _lexicon.mapping("synonyms", 2).items()}
    return table, blockers, word_pattern(table, head=r"(?:(?P<article>an?)(?P<gap>\s+))?")


# A negated word is left alone: 'not great' means bad, 'not superb' only less than superb.
_NEGATED = re.compile(
    r"(?i)(?:\b(?:not|never|hardly|barely)|n['’]t)\s+(?:(?:\w+ly|very|so|too|that|all|quite)\s+)?$")


def _synonym_eligible(m: re.Match[str]) -> bool:
    table, blockers, _ = _synonyms()
    key = _key(m["word"])
    return (key in table and _next_word(m) not in blockers.get(key, ())
            and not _NEGATED.search(_before(m, 30)))


def _synonym(texts: list[str], *, draws: Draws, severity: float) -> list[str]:
    table, _, pattern = _synonyms()

    def edit(m: re.Match[str], u: float) -> str:
        new = _respell(m["word"], _pick(table[_key(m["word"])], u))
        if m["article"] is None:
            return new
        return match_case(m["article"], article_for(new)) + m["gap"] + new

    return swap_matches(texts, draws, severity, pattern, edit, _synonym_eligible)


synonym = perturbation(
    name="synonym.swap", modality="text", expectation="invariant", batched=True,
    description="Review words replaced by a synonym of the same sense and sentiment from a "
                "hand-written lexicon: 'terrible' -> 'awful', 'pricey' -> 'expensive', "
                "'a great hotel' -> 'an excellent hotel'.",
    severity="share of the words that have a synonym: all of them at 1.0, at least one",
)(_synonym)


# -- gendered words -------------------------------------------------------------------

# After 'her' these make it an object ('asked her to', 'gave her a refund'); before
# anything else it is a determiner ('her room'). Adverbs in -ly count as these too,
# except the -ly words that are nouns or adjectives ('her lovely smile').
_OBJECT_NEXT = _wordset("""
a an the to and or but for with at in on up out off down back about that this these those
some any if when while so because as from into onto over again too very really twice once
yesterday today tonight tomorrow how what why where who which he she it they we you i me
us them my your our their its is was were are be been being not never all both had has
have would could should will can did do does by of than then until after before since
though although anything something nothing everything everyone anyone someone no more most
well later now there here just enough either instead anyway around through
""")
_LY_NOT_ADVERBS = _wordset("""
only lovely friendly early family elderly lonely daily weekly monthly yearly ugly curly
silly likely costly lively jolly holy belly ally bully jelly lily
""")
# After 'his' these make it a pronoun ('the choice was his and ...'): 'hers'.
_PRONOUN_NEXT = _wordset("and or but is was too as not now anyway instead")


def _her_is_object(m: re.Match[str]) -> bool:
    word = _next_word(m)
    return word is None or word in _OBJECT_NEXT or word[0].isdigit() or (
        word.endswith("ly") and word not in _LY_NOT_ADVERBS)


# a word with two readings lists the first reading's counterpart first (data/gendered.tsv)
_SECOND_READING: dict[str, Test] = {
    "her": _her_is_object, "his": lambda m: _next_word(m) in _PRONOUN_NEXT | {None}}


@functools.cache
def _gendered() -> tuple[dict[str, tuple[str, ...]], re.Pattern[str]]:
    table = _lexicon.mapping("gendered")
    return table, word_pattern(table, tail=r"(?P<clitic>['’](?:s|d|ll))?")


def _swap_gender(texts: list[str], *, draws: Draws, severity: float) -> list[str]:
    table, pattern = _gendered()

    def edit(m: re.Match[str], u: float) -> str:
        key = _key(m["word"])
        options = table[key]
        reading = _SECOND_READING.get(key)
        new = options[int(reading(m))] if reading is not None else _pick(options, u)
        return _respell(m["word"], new) + (m["clitic"] or "")

    return swap_matches(texts, draws, severity, pattern, edit, _gendered_eligible)


def _gendered_eligible(m: re.Match[str]) -> bool:
    return _key(m["word"]) in _gendered()[0]


@functools.cache
def _gender_of() -> dict[str, str]:
    return {row[0]: {"m": "male", "f": "female"}[row[2]]
            for row in _lexicon.rows("gendered") if len(row) > 2}


def _gender_group(original: str, perturbed: str) -> str | None:
    """``"male → female"`` or ``"female → male"``, read from the first word swapped."""
    gender_of = _gender_of()
    swap = first_swap(original, perturbed, lambda w: _key(w) in gender_of)
    if swap is None:
        return None
    old, new = gender_of[_key(swap[0])], gender_of[_key(swap[1])]
    return f"{old} → {new}" if old != new else None


gender = perturbation(
    name="counterfactual.gender", modality="text", expectation="invariant", batched=True,
    groups=_gender_group,
    default=False,
    description="Gendered words swapped for their counterpart: 'he' -> 'she', 'her "
                "husband' -> 'his wife', 'waiter' -> 'waitress', 'Mr' -> 'Ms': a fair "
                "model does not care ('her' becomes 'his' or 'him' by the word after it). "
                "In the extended suite: the shipped reviews hold 2 gendered words and no "
                "pronoun, so the study has 2 pairs, too few to show the label is kept in 90%.",
    severity="share of the gendered words swapped: all of them at 1.0, at least one",
)(_swap_gender)


# -- numbers ----------------------------------------------------------------------------

_MONTHS = _wordset("""january february march april may june july august september october
november december jan feb mar apr jun jul aug sep sept oct nov dec""")
_SCALES = _wordset("hundred thousand million billion trillion")
_AFTER_SCALE = re.compile(r"(?i)(?:hundred|thousand|million|billion)(?:\s+and)?\s+$")
_WORD_BEFORE = re.compile(r"([\w'’]+)\s*$")
_SENTENCE_END = re.compile(r"[.!?…]['\")\]]*\s*$")


@functools.cache
def _number_words() -> tuple[dict[int, str], dict[int, str]]:
    rows = _lexicon.rows("numbers")
    return {int(r[0]): r[1] for r in rows}, {int(r[0]): r[2] for r in rows}


def number_in_words(n: int, ordinal: bool = False) -> str:
    """``n`` (0 to 100) in English words: 21 -> 'twenty-one', 'twenty-first'."""
    cardinals, ordinals = _number_words()
    if n in cardinals:
        return (ordinals if ordinal else cardinals)[n]
    last = (ordinals if ordinal else cardinals)[n % 10]
    return f"{cardinals[n - n % 10]}-{last}"


def _words_before(m: re.Match[str], count: int) -> list[str]:
    """Up to ``count`` words right before the match (only spaces between), nearest
    first, lower case."""
    out, text = [], _before(m)
    for _ in range(count):
        found = _WORD_BEFORE.search(text)
        if found is None:
            break
        out.append(found.group(1).lower())
        text = text[:found.start()]
    return out


def _near_date(m: re.Match[str]) -> bool:
    """Whether a month name is next to the match: '5 May', 'May 5', '5th of May'."""
    after = _NEXT_WORD.match(m.string, m.end())
    if after and after.group(1).lower() == "of":
        after = _NEXT_WORD.match(m.string, after.end())
    return bool(after and after.group(1).lower() in _MONTHS) or bool(
        set(_words_before(m, 1)) & _MONTHS)


_DIGITS = re.compile(
    r"(?<![\w.,:/'’$€£¥#+\-–])(?P<num>\d{1,3})(?P<ord>st|nd|rd|th)?"
    r"(?![\w%$€£¥]|[.,:/\-–]\d)", re.IGNORECASE)


def _digits_eligible(m: re.Match[str]) -> bool:
    num = m["num"]
    return (num == "0" or not num.startswith("0")) and int(num) <= 100 and not _near_date(m)


def _to_words(texts: list[str], *, draws: Draws, severity: float) -> list[str]:
    def edit(m: re.Match[str], u: float) -> str:
        words = number_in_words(int(m["num"]), ordinal=m["ord"] is not None)
        if m.start() == 0 or _SENTENCE_END.search(_before(m)):
            return words[:1].upper() + words[1:]
        return words

    return swap_matches(texts, draws, severity, _DIGITS, edit, _digits_eligible)


to_words = perturbation(
    name="number.to_words", modality="text", expectation="invariant", batched=True,
    description="Numbers up to 100 written out: '3 stars' -> 'three stars', '21st' -> "
                "'twenty-first'. Prices, decimals, ratings like '4/5', ranges, times, dates "
                "and longer numbers are left alone.",
    severity="share of the numbers written out: all of them at 1.0, at least one",
)(_to_words)


# 'one' is a pronoun after these ('this one', 'every single one', 'a better one')
_ONE_PRONOUN_AFTER = _wordset("""
the this that which any every each no some another other only single right wrong same
last next first second third new old good bad better best worse worst big small little
nice main cheap cheaper a an my your his her our their
""")
_DETERMINERS = _wordset("the a an this that my your his her our their every each any")
_UNITS = ("star|hour|minute|second|day|week|night|month|year|mile|inch|foot|page|course|"
          "seater|person|piece|bedroom|pack|point|step")


@functools.cache
def _number_pattern() -> tuple[dict[str, int], re.Pattern[str]]:
    cardinals, _ = _number_words()
    value = {w: n for n, w in cardinals.items() if n < 100}
    units = "|".join(cardinals[n] for n in range(1, 10))
    tens = "|".join(cardinals[n] for n in range(20, 100, 10))
    small = trie_pattern(cardinals[n] for n in range(20))
    body = (rf"(?P<hundred>(?:one|a)\s+hundred)|(?P<tens>{tens})(?:[- ](?P<unit>{units}))?"
            rf"|(?P<small>{small})")
    # a number word may start a compound with a unit ('five-star', 'ten-minute')
    end = rf"(?=-(?:{_UNITS})s?\b|(?![\w'’-]))"
    return value, re.compile(rf"(?<![\w'’-])(?:{body}){end}", re.IGNORECASE)


def _words_eligible(m: re.Match[str]) -> bool:
    following = _next_word(m)
    if following in _SCALES or (m["hundred"] and following == "and"):
        return False
    if _AFTER_SCALE.search(_before(m)):
        return False
    if (m["small"] or "").lower() == "one":
        before = _words_before(m, 2)
        if following == "another" or (before and before[0] in _ONE_PRONOUN_AFTER):
            return False
        if len(before) == 2 and before[1] in _DETERMINERS:
            return False
    return not _near_date(m)


def _to_digits(texts: list[str], *, draws: Draws, severity: float) -> list[str]:
    value, pattern = _number_pattern()

    def edit(m: re.Match[str], u: float) -> str:
        if m["hundred"]:
            return "100"
        if m["tens"]:
            return str(value[m["tens"].lower()] + value.get((m["unit"] or "zero").lower(), 0))
        return str(value[m["small"].lower()])

    return swap_matches(texts, draws, severity, pattern, edit, _words_eligible)


to_digits = perturbation(
    name="number.to_digits", modality="text", expectation="invariant", batched=True,
    description="Number words up to one hundred written as digits: 'three stars' -> "
                "'3 stars', 'twenty-five' -> '25', 'five-star' -> '5-star'. Ordinals "
                "('at first'), 'one' as a pronoun ('this one') and larger numbers ('two "
                "hundred') are left alone.",
    severity="share of the number words written as digits: all of them at 1.0, at least one",
)(_to_digits)
