"""``negation.clause``: the one opinion clause of a review negated, where the result is
still a grammatical review of the opposite sentiment, and nothing otherwise.

The rules (which clause, which shapes, what blocks a negation) are explained below and
checked against judged reviews in ``data/validity/negation.clause.jsonl``.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

import numpy as np

from . import _lexicon
from ._random import Draws
from ._registry import perturbation
from ._text_engine import kept
from ._text_words import match_case, trie_pattern

# -- negation (directional) ----------------------------------------------------------
#
# A negation changes a review's sentiment only when it negates the clause the verdict
# rests on and the result is still English. Negating the first auxiliary anywhere did that
# in 1 of 30 judged reviews: it negated a minor clause beside the verdict, broke idioms that
# need their negation ("I couldn't fault it"), put "not" into questions and left ratings
# standing ("5 stars"). So the rule is narrow on purpose: a text is negated only when
# exactly one of its clauses states an opinion (a word of data/opinion.tsv or a negation),
# nothing contrasts or rates it, and that clause has a shape whose negation is known:
# subject + be + opinion ("the food was good"), subject + auxiliary + opinion verb ("I would
# recommend it") or subject + opinion verb ("I loved it"), or one of those already negated.
# Everything else is returned as it is, which the runner counts as not covered.

_CONTRASTS = frozenset({"but", "although", "though", "however", "yet", "while", "whereas",
                        "except", "despite", "still", "otherwise", "nevertheless",
                        "nonetheless", "instead", "downside", "apart from", "other than"})
_NEGATIONS = frozenset({"not", "no", "never", "nothing", "nobody", "none", "nowhere",
                        "neither", "nor", "without", "hardly", "barely", "scarcely", "cannot"})
_EMOJI = re.compile(r"[\u2600-\u27bf\u2b50\U0001f300-\U0001faff]")
_RATING = re.compile(  # "5 stars", "one star", "4/5", "ten out of ten" (in lower case)
    r"\b(?:\d+(?:\.\d+)?|zero|one|two|three|four|five|ten)[- ]?stars?\b"
    r"|\b(?:\d+(?:\.\d+)?|one|two|three|four|five|ten)\s*(?:/|out of)\s*(?:\d+|five|ten)\b")
_BOUNDARY = re.compile(  # sentence ends, colons, dashes (the lookahead makes it fast)
    r"(?=[.!…;:\n–—-])(?:[.!…]+(?=\s|$)|[;:](?=\s)|(?<=\s)[-–—]+(?=\s)|\n)")
_LEAD = re.compile(  # discourse markers around the clause, kept as they are
    r"\s*(?:(?:honestly|overall|frankly|seriously|to be honest|all in all|in short|well|ok|"
    r"okay),\s*|honestly\s+)?", re.IGNORECASE)
_TRAILERS = frozenset({"honestly", "overall", "to be honest", "really"})  # ", honestly"
_VERB_GROUP = re.compile(  # a finite auxiliary or copula, perhaps negated (in lower case)
    r"\b(?:(?P<aux>am|is|are|was|were|do|does|did|can|could|will|would|should|has|have|had|"
    r"ca|wo|cannot)(?P<neg>n['’]t|\s+not)?|(?P<clitic>['’](?:s|re|m|d|ll|ve))(?P<cneg>\s+not)?)"
    r"(?![\w'’])")
_WORD = re.compile(r"[\w'’-]+")
_NARRATIVE = re.compile(  # in lower case
    r"\b(?:\w+ed|been|came|went|got|bought|took|flew|spent|paid|made|had|found|left|ate|"
    r"drank|drove|sent|brought|wore|saw|met|sat|slept|gave|chose|heard|kept|told|rode|"
    r"caught|ran|stood|began|wrote|picked up)\b")
_DESCRIPTION = re.compile(  # in lower case
    r"\b(?:am|is|are|was|were|(?:it|that|this|he|she|there|what|here)['’]s|\w+['’](?:re|m))\b")
_COPULA = {"am", "is", "are", "was", "were", "'s", "'re", "'m"}
_NEGATED = {"can": "can't", "could": "couldn't", "will": "won't", "would": "wouldn't",
            "should": "shouldn't", "do": "don't", "does": "doesn't", "did": "didn't",
            "has": "hasn't", "have": "haven't", "had": "hadn't", "is": "isn't",
            "are": "aren't", "was": "wasn't", "were": "weren't", "am": "am not",
            "'s": "'s not", "'re": "'re not", "'m": "'m not", "'d": " wouldn't",
            "'ll": " won't", "'ve": " haven't"}
_AFFIRMED = {"ca": "can", "wo": "will", "cannot": "can"}
_DO_TENSE = {"do": "base", "does": "third", "did": "past"}
_HAVE = {"has", "have", "had", "'ve"}
_PRONOUNS = {"i", "we", "you", "they", "he", "she", "it"}
_CLITIC_HOSTS = _PRONOUNS | {"that", "this"}  # "it's" is "it is"; "Priya's" is not
_BEFORE_OPINION = {"a", "an"}
_INTENSIFIERS = {"really", "very", "so"}  # "wasn't really good" is a complaint
_SOME = ("something", "anything")  # [negated]: what a negation turns "something" into
_ADVERBS = {"really", "definitely", "highly", "truly", "genuinely", "absolutely", "totally",
            "honestly", "actually", "just", "also", "even", "always", "simply", "certainly",
            "probably", "seriously", "literally", "so", "only", "usually", "now"}
# Words that change what a negation says when they are in its scope: "wasn't all good",
# "wasn't completely useless", "wasn't good enough", "was anything special".
_SCOPE = {"all", "every", "everything", "everyone", "everybody", "always", "both", "each",
          "completely", "totally", "absolutely", "entirely", "utterly", "extremely",
          "incredibly", "super", "pretty", "quite", "fairly", "rather", "way", "too", "just",
          "only", "even", "already", "more", "most", "less", "least", "than", "enough",
          "somewhat", "bit", "such", "also", "again", "some", "something", "someone",
          "any", "anything", "anyone", "anybody", "ever", "much", "many", "nearly",
          "almost", "whatsoever", "either", "that", "half", "exactly", "like", "as"}
_JOINERS = {"and", "or", "so", "because", "since", "as", "when", "whenever", "if",
            "unless", "until", "after", "before", "which", "who", "whom", "whose", "where",
            "whether", "what", "how", "why", "then", "plus", "nor", "that"}


class _Hit(NamedTuple):
    start: int
    end: int
    word: str  # lower case
    negation: bool  # "not", "n't", "no complaints" ...


class _Verb(NamedTuple):
    start: int
    end: int
    word: str  # lower case, ASCII apostrophe: "is", "'s", "did", "loved"
    copula: bool
    negated: bool


@functools.cache
def _opinions() -> tuple[dict[str, tuple[str, bool]], dict[str, tuple[str, str]],
                         re.Pattern[str], re.Pattern[str]]:
    """``phrase -> (polarity, flips)``, ``verb form -> (base form, form)`` with form one
    of base, third, past; a regex matching any of them as whole words; and one for lower
    case text that also matches negations and contrasts (faster without IGNORECASE)."""
    phrases: dict[str, tuple[str, bool]] = {}
    forms: dict[str, tuple[str, str]] = {}
    for phrase, polarity, negated, *verb in _lexicon.rows("opinion"):
        phrases[phrase] = (polarity, negated == "flips")
        if verb and verb[0]:
            third, past = verb[0].split("|")
            forms.update({phrase: (phrase, "base"), third: (phrase, "third"),
                          past: (phrase, "past")})
    keys = set(phrases) | set(forms)
    regex = re.compile(rf"(?<![\w'’-]){trie_pattern(keys)}(?![\w'’-])", re.IGNORECASE)
    words = trie_pattern(keys | _NEGATIONS | _CONTRASTS)
    scan = re.compile(rf"(?<![\w'’-])(?:{words})(?![\w'’-])|n['’]t\b")
    return phrases, forms, regex, scan


def _conjugate(base: str, form: str) -> str:
    if form == "base":
        return base
    forms = _opinions()[1]
    return next(f for f, (b, kind) in forms.items() if b == base and kind == form)


def _negate_one(text: str) -> str:
    """``text`` with its only opinion clause negated, or unchanged (see above)."""
    low = text.lower()
    hits = _hits(text, low)
    if not hits:
        return text
    spans, start = [], 0
    for b in _BOUNDARY.finditer(text):
        spans.append((start, b.start()))
        start = b.end()
    spans.append((start, len(text)))
    start, end = next(s for s in reversed(spans) if s[0] <= hits[0].start)
    if hits[-1].start >= end:
        return text  # opinions in two segments
    begin = _LEAD.match(text, start, end).end()  # type: ignore[union-attr]
    stop = len(text[begin:end].rstrip()) + begin
    comma = text.rfind(",", begin, stop)
    if comma >= 0 and text[comma + 1:stop].strip().lower() in _TRAILERS:
        stop = comma
    if text.count(",", begin, stop) not in (0, 2):  # 2: "the stylist, Chloe, was ..."
        return text
    if not all(_is_setting(low[a:b]) for a, b in spans if (a, b) != (start, end)):
        return text
    inside = [h._replace(start=h.start - begin, end=h.end - begin) for h in hits
              if begin <= h.start < stop]
    new = _negate_clause(text[begin:stop], low[begin:stop], inside,
                         "’" if "’" in text else "'")
    return text if new is None else text[:begin] + new + text[stop:]


def _hits(text: str, low: str) -> list[_Hit]:
    """The opinion words and negations of ``text`` (``low`` is it in lower case); none when
    it is a question, has emoji, a contrast or a rating, which leave a text alone whatever
    it says. This runs on every text, so it is one scan with one regular expression."""
    if not text or "?" in text:
        return []
    if not text.isascii() and (_EMOJI.search(text) or len(low) != len(text)):
        return []  # emoji; or lower() moved the offsets ("İ"), too rare to handle
    found: list[re.Match[str]] = []
    for m in _opinions()[3].finditer(low):
        if len(found) == 3 or m.group(0) in _CONTRASTS:  # a negated clause holds 3 at most
            return []
        found.append(m)
    if found and ("star" in low or "/" in low or "out of" in low) and _RATING.search(low):
        return []
    return [_Hit(m.start(), m.end(), m.group(0), m.group(0).split(" ", 1)[0] in _NEGATIONS
                 or m.group(0)[-2:] in ("'t", "’t")) for m in found]


def _is_setting(segment: str) -> bool:  # in lower case
    """Whether a segment without opinion words only sets the scene, as a past-tense
    narrative does ("Flew economy with two kids"). A verbless fragment ("Proper home
    cooking") or a description ("The jacket was boxy") may judge with words the lexicon
    lacks, so it is not taken for one."""
    return not segment.strip() or (_NARRATIVE.search(segment) is not None
                                   and _DESCRIPTION.search(segment) is None)


def _negate_clause(clause: str, low: str, hits: list[_Hit], apostrophe: str) -> str | None:
    """``clause`` negated (``low`` is it in lower case), or None when its shape is not one
    whose negation is known."""
    opinions = [h for h in hits if not h.negation]
    negations = len(hits) - len(opinions)
    if len(opinions) > 2 or negations > 1:
        return None
    verb = _main_verb(clause, low, opinions)
    if verb is None or negations != verb.negated:
        return None
    if any(h.start < verb.start for h in opinions):
        return None  # an opinion in the subject: "the best pizza was ..."
    rest = clause[verb.end:]
    new = _affirm(verb, rest) if verb.negated else _deny(verb, rest)
    if new is None:
        return None
    word = match_case(clause[verb.start:verb.end].strip(), new[0].replace("'", apostrophe))
    out = clause[:verb.start] + word + new[1]
    return out.upper() if clause.isupper() else out


def _main_verb(clause: str, low: str, opinions: list[_Hit]) -> _Verb | None:
    """The first finite verb of ``clause`` (an auxiliary, a copula or a verb of the
    opinion lexicon), if the words before it read as its subject."""
    forms = _opinions()[1]
    found = next((m for m in _VERB_GROUP.finditer(low) if not _possessive(low, m)), None)
    lexical = next((h for h in opinions if h.word in forms), None)
    if lexical is not None and (found is None or lexical.start < found.start()):
        word, head = lexical.word, clause[:lexical.start]
        form = forms[word][1]
        pronoun = [w.lower() for w in _WORD.findall(head)]
        if _shares_subject(head):
            agrees = form != "base"  # "and love it" could be an imperative
        elif len(pronoun) == 1 and pronoun[0] in _PRONOUNS:
            agrees = form == "past" or (form == "third") == (pronoun[0] in {"he", "she", "it"})
        else:
            agrees = False
        return _Verb(lexical.start, lexical.end, word, False, False) if agrees else None
    if found is None:
        return None
    word = (found.group("aux") or found.group("clitic")).replace("’", "'")
    negated = bool(found.group("neg") or found.group("cneg")) or word == "cannot"
    head = clause[:found.start()]
    if word.startswith("'"):
        if head.strip().lower() not in (_CLITIC_HOSTS if word == "'s" else _PRONOUNS):
            return None
    elif (word in ("ca", "wo") and not negated) or not _is_subject(head):
        return None
    return _Verb(found.start(), found.end(), word, word in _COPULA, negated)


def _possessive(clause: str, m: re.Match[str]) -> bool:
    """Whether an "'s" is a possessive ("Priya's pasta") rather than "is" ("it's")."""
    return (m.group("clitic") or "")[1:].lower() == "s" and _last_word(
        clause[:m.start()]) not in _CLITIC_HOSTS


def _last_word(text: str) -> str:
    words = _WORD.findall(text)
    return words[-1].lower() if words else ""


def _shares_subject(head: str) -> bool:
    """"Emily paid $24 for 3 items and": a first verb phrase whose subject the next
    verb shares."""
    words = [w.lower() for w in _WORD.findall(head)]
    return (len(words) > 2 and words[-1] == "and" and "," not in head
            and not any(w in _JOINERS for w in words[:-1]))


def _is_subject(head: str) -> bool:
    words = [w.lower() for w in _WORD.findall(head)]
    if not words or len(words) > 8:
        return False
    if words[-1] == "and":
        return _shares_subject(head)
    commas = head.count(",")  # only around an apposition: "the stylist, Chloe, was ..."
    return (not any(w in _JOINERS or w in _ADVERBS for w in words)
            and (commas == 0 or (commas == 2 and head.rstrip().endswith(","))))


def _deny(verb: _Verb, rest: str) -> tuple[str, str] | None:
    """The negation of ``verb + rest`` (verb not negated) as (new verb, new rest), or
    None."""
    phrases, forms, _, _ = _opinions()
    if verb.copula:
        predicate = _predicate(rest, deny=True)
        return None if predicate is None else (_NEGATED[verb.word], predicate)
    if verb.word in forms:  # "loved it" -> "didn't love it"
        base, form = forms[verb.word]
        do = {"base": "don't", "third": "doesn't", "past": "didn't"}[form]
        return (f"{do} {base}", rest) if phrases[base][1] and _plain(rest) else None
    be = re.match(r"\s+(be|been)\b", rest, re.IGNORECASE)
    if be and (be.group(1).lower() == "been") == (verb.word in _HAVE):
        predicate = _predicate(rest[be.end():], deny=True)
        return None if predicate is None else (_NEGATED[verb.word], be.group(0) + predicate)
    after = _verb_after(verb.word, rest)
    return (_NEGATED[verb.word], rest) if after and phrases[after[0]][1] else None


def _affirm(verb: _Verb, rest: str) -> tuple[str, str] | None:
    """``verb + rest`` with the verb's negation removed, as (new verb, new rest), or
    None."""
    word = _AFFIRMED.get(verb.word, verb.word)
    if verb.copula:
        predicate = _predicate(rest, deny=False)
        return None if predicate is None else (word, predicate)
    if verb.word.startswith("'"):
        return None
    been = re.match(r"\s+been\b", rest, re.IGNORECASE)
    if been and word in _HAVE:  # "hasn't been great" -> "has been great"
        predicate = _predicate(rest[been.end():], deny=False)
        return None if predicate is None else (word, been.group(0) + predicate)
    after = _verb_after(word, rest)
    if after is None:
        return None
    if word in _DO_TENSE:  # "didn't like it" -> "liked it"
        return _conjugate(after[0], _DO_TENSE[word]), rest[after[1]:]
    return word, rest


def _verb_after(aux: str, rest: str) -> tuple[str, int] | None:
    """The opinion verb right after auxiliary ``aux`` (a participle after a form of have,
    else the base form) as (base form, where it ends in ``rest``), if a plain tail
    follows it."""
    _, forms, pattern, _ = _opinions()
    m = pattern.match(rest, len(rest) - len(rest.lstrip()))
    if m is None or m.group(0).lower() not in forms or not _plain(rest[m.end():]):
        return None
    base, form = forms[m.group(0).lower()]
    return (base, m.end()) if form == ("past" if aux in _HAVE else "base") else None


def _predicate(rest: str, *, deny: bool) -> str | None:
    """What follows a copula, negated or affirmed: an opinion after at most an article or
    an intensifier, perhaps two joined by "and" ("wasn't quick or friendly"), then a plain
    tail ("to type on"). Returns ``rest`` as it reads after the change, or None."""
    phrases, _, pattern, _ = _opinions()
    words = list(_WORD.finditer(rest))
    some = words[0] if words and words[0].group(0).lower() == _SOME[not deny] else None
    i = 0 if some is None else 1  # "was something special" <-> "wasn't anything special"
    while i < len(words) and words[i].group(0).lower() in _BEFORE_OPINION | _INTENSIFIERS:
        i += 1
    starts = [words[j].start() for j in (i - 1, i) if 0 <= j < len(words)
              and (j == i or words[j].group(0).lower() in _BEFORE_OPINION)]
    found = (pattern.match(rest, at) for at in starts)  # "a letdown" holds its article
    first = next((m for m in found if m and m.group(0).lower() in phrases), None)
    if first is None:
        return None
    polarity, flips = phrases[first.group(0).lower()]
    intensified = any(w.group(0).lower() in _INTENSIFIERS for w in words[:i])
    if deny and (not flips or (intensified and polarity == "-")):
        return None  # "wasn't filthy", "wasn't very slow": no praise
    end = first.end()
    both = re.match(r"\s+and\s+", rest[end:])
    at_all = re.match(r"\s+at all\b", rest[end:], re.IGNORECASE)
    if both and deny:
        second = pattern.match(rest, end + both.end())
        if second is None or phrases.get(second.group(0).lower()) != (polarity, True):
            return None
        rest = rest[:end] + " or " + rest[end + both.end():]
        end = second.end() - both.end() + 4
    elif at_all and not deny:  # "wasn't bad at all" -> "was bad"
        rest = rest[:end] + rest[end + at_all.end():]
    if not _plain(rest[end:]):
        return None
    if some is not None:
        other = match_case(some.group(0), _SOME[deny])
        rest = rest[:some.start()] + other + rest[some.end():]
    return rest


def _plain(tail: str) -> bool:
    """A tail that neither states another opinion nor changes what a negation says."""
    words = [w.lower() for w in _WORD.findall(tail)]
    return (len(words) <= 8 and "," not in tail and not _opinions()[2].search(tail)
            and not any(w in _SCOPE or w in _JOINERS for w in words))


def _negate(texts: list[str], *, draws: Draws, severity: float) -> list[str]:
    # no draw and no strength: every severity of a run negates a chunk alike, so a
    # corpus keeps the texts that change (a few in a hundred) for the other severities
    changed, negated = kept(texts, ("negation.clause",), lambda: _negated(texts))
    out = list(texts)
    for i, text in zip(changed.tolist(), negated.tolist()):
        out[i] = text
    return out


def _negated(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The positions of the texts negation changes, and what they become."""
    pairs = [(i, new) for i, text in enumerate(texts) if (new := _negate_one(text)) != text]
    negated = np.empty(len(pairs), dtype=object)
    negated[:] = [new for _, new in pairs]
    return np.array([i for i, _ in pairs], dtype=np.int32), negated


negation = perturbation(
    name="negation.clause", modality="text", expectation="directional", batched=True,
    direction="the predicted label changes (for sentiment: to the opposite polarity)",
    description="The one clause that states an opinion negated, where the result is a "
                "grammatical review of the opposite sentiment: 'the food was good' -> 'the "
                "food wasn't good', 'I loved it' -> 'I didn't love it', 'I wasn't happy with "
                "it' -> 'I was happy with it'. Only when that clause is the text's only "
                "opinion (any other sentence just sets the scene: 'Flew economy with two "
                "kids.') and there is no contrast ('but', 'although'), question, star rating, "
                "idiom that needs its negation (\"couldn't fault\") or word that changes what "
                "a negation says ('all', 'enough'); every other text is returned unchanged "
                "(not covered), so coverage is low.",
    severity="negation has no strength: any severity above 0 negates the opinion clause",
)(_negate)
