"""What each text perturbation does, checked by undoing it or by its defining property."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

import pytest

import perturbations
from perturbations import _lexicon

CORPUS = [
    "The delivery was fast and the food was great!",
    "I love this pizza, you know, because the price is fair.",
    "Emily from Paris paid $24.99 for 3 items and isn't happy.",
    "Please answer as soon as possible, I am waiting for my refund.",
    "The staff were friendly and the room was clean... would stay again?",
    "It is not what I expected and they do not answer the phone.",
    "Hmm so good, a café with a nice view of Tokyo.",
]
ZERO_WIDTH = re.compile("[\u200b-\u200d\u2060]")


def changed_words(before: str, after: str) -> list[tuple[str, str]]:
    """Word pairs that differ, for perturbations that keep the word count."""
    a, b = before.split(" "), after.split(" ")
    assert len(a) == len(b), (before, after)
    return [(x, y) for x, y in zip(a, b) if x != y]


def keyboard_typo(before: str, after: str) -> None:
    near = _lexicon.keyboard("en")
    diffs = [(x, y) for x, y in zip(before, after) if x != y]
    assert len(before) == len(after)
    assert diffs and all(y in near[x] for x, y in diffs)


def swap(before: str, after: str) -> None:
    for x, y in changed_words(before, after):
        assert sorted(x) == sorted(y) and sum(p != q for p, q in zip(x, y)) == 2


def delete(before: str, after: str) -> None:
    for x, y in changed_words(before, after):
        assert len(y) == len(x) - 1
        assert any(x[:i] + x[i + 1:] == y for i in range(len(x)))


def insert(before: str, after: str) -> None:
    near = _lexicon.keyboard("en")
    for x, y in changed_words(before, after):
        assert len(y) == len(x) + 1
        assert any(y[:i] + y[i + 1:] == x and y[i] in near.get(y[i - 1], ())
                   for i in range(1, len(y))), (x, y)


def repeat(before: str, after: str) -> None:
    for x, y in changed_words(before, after):
        assert re.search(r"([^\W\d_])\1\1", y) and re.sub(r"([^\W\d_])\1\1", r"\1", y) in {
            x, re.sub(r"([^\W\d_])\1", r"\1", x)} | {x}


def substitution_from(table: dict[str, tuple[str, ...]]) -> Callable[[str, str], None]:
    def check(before: str, after: str) -> None:
        assert len(before) == len(after)
        diffs = [(x, y) for x, y in zip(before, after) if x != y]
        assert diffs and all(y in table[x] for x, y in diffs), diffs

    return check


def script(name: str) -> Callable[[str, str], None]:
    def check(before: str, after: str) -> None:
        diffs = [y for x, y in zip(before, after) if x != y]
        assert len(before) == len(after) and diffs
        assert all(unicodedata.name(c).startswith(name) for c in diffs)

    return check


def words_from(lexicon: str) -> Callable[[str, str], None]:
    table = {k.lower(): v for k, v in _lexicon.mapping(lexicon).items()}

    def check(before: str, after: str) -> None:
        pairs = changed_words(before, after)
        assert pairs
        for x, y in pairs:
            key = re.sub(r"[^\w']", "", x).lower()
            assert any(alt.lower() in y.lower() for alt in table[key]), (x, y)

    return check


def undone_by(undo: Callable[[str], str], compare: Callable[[str], str] = str
              ) -> Callable[[str, str], None]:
    def check(before: str, after: str) -> None:
        assert after != before
        assert compare(undo(after)) == compare(before), (before, after)

    return check


DECORATIVE = sorted((" " + e for e in _lexicon.words("emoji_decorative")), key=len,
                    reverse=True)


def remove_all(text: str, parts: list[str]) -> str:
    for part in parts:
        text = text.replace(part, "")
    return text


def squeeze(text: str) -> str:
    return " ".join(text.split())


def strip_marks(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


CASES: dict[str, Callable[[str, str], None]] = {
    "typo.keyboard": keyboard_typo,
    "typo.swap": swap,
    "typo.delete": delete,
    "typo.insert": insert,
    "typo.repeat": repeat,
    "ocr.char": substitution_from(_lexicon.ocr()),
    "leetspeak.char": substitution_from(_lexicon.mapping("leetspeak")),
    "homoglyph.cyrillic": script("CYRILLIC"),
    "homoglyph.greek": script("GREEK"),
    "slang.word": words_from("slang"),
    "emoji.replace_word": words_from("emoji"),
    "unicode.add_accents": undone_by(strip_marks, strip_marks),
    "unicode.fullwidth": undone_by(lambda t: unicodedata.normalize("NFKC", t)),
    "unicode.nfkd": undone_by(lambda t: unicodedata.normalize("NFC", t)),
    "unicode.strip_accents": undone_by(lambda t: t, strip_marks),
    "case.random": undone_by(str.lower, str.lower),
    "case.upper": undone_by(str.upper, str.upper),
    "case.lower": undone_by(str.lower, str.lower),
    "case.title": undone_by(str.lower, str.lower),
    "whitespace.zero_width": undone_by(lambda t: ZERO_WIDTH.sub("", t)),
    "whitespace.extra": undone_by(squeeze, squeeze),
    "whitespace.newline": undone_by(lambda t: re.sub(r"[\n\t\r]", " ", t)),
    "punctuation.strip": undone_by(lambda t: t, lambda t: re.sub(r"[^\w\s$]|(?<!\d)\.", "", t)),
    "punctuation.add": undone_by(lambda t: re.sub(r"[,.!;]", "", t),
                                 lambda t: re.sub(r"[,.!;]", "", t)),
    "punctuation.repeat": undone_by(lambda t: re.sub(r"([!?.])\1\1", r"\1", t)),
    "markup.html": undone_by(lambda t: re.sub(r"</?\w+>", "", t)),
    "markup.markdown": undone_by(lambda t: re.sub(r"\*\*|~~|[_`]", "", t),
                                 lambda t: t.replace("_", "")),
    "chat.hashtag": undone_by(lambda t: t.replace("#", "")),
    "emoji.insert": undone_by(lambda t: remove_all(t, DECORATIVE)),
    "length.truncate": lambda before, after: (
        None if before.startswith(after) and len(after) >= 0.69 * len(before) - 12
        else pytest.fail(f"{after!r} is not a prefix of {before!r}")),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_perturbation_does_what_it_says(name: str, seed: int) -> None:
    p = perturbations.get(name)
    out = p.apply(CORPUS, severity=1.0, seed=seed)
    checked = 0
    for before, after in zip(CORPUS, out):
        if before != after:
            CASES[name](before, after)
            checked += 1
    assert checked >= 1


def test_a_typo_touches_30_percent_of_words_at_full_severity() -> None:
    text = "one two three four five six seven eight nine ten"
    typo = perturbations.get("typo.keyboard")
    assert len(changed_words(text, typo(text, severity=1.0))) == 3
    assert len(changed_words(text, typo(text, severity=0.25))) == 1
    # the words touched at a lower severity are touched again at a higher one
    low = {x for x, _ in changed_words(text, typo(text, severity=0.5))}
    high = {x for x, _ in changed_words(text, typo(text, severity=1.0))}
    assert low <= high


def test_abbreviations_cover_phrases_and_keep_case() -> None:
    out = perturbations.get("abbreviation.phrase")("Reply as soon as possible", severity=1.0)
    assert out == "Reply asap"
    out = perturbations.get("abbreviation.phrase")("As soon as possible please", severity=1.0)
    assert out.startswith("Asap")


def test_contractions_expand_and_contract() -> None:
    assert perturbations.get("contraction.expand")("It isn't bad", severity=1.0) == "It is not bad"
    contract = perturbations.get("contraction.contract")
    assert contract("It does not work", severity=1.0) == "It doesn't work"
    assert contract("It is not bad", severity=1.0) in {"It isn't bad", "It's not bad"}
    assert perturbations.get("contraction.expand")("I'm fine", severity=1.0) == "I am fine"


def test_negation_adds_or_removes_not_in_the_only_opinion_clause() -> None:
    negate = perturbations.get("negation.clause")  # the cases: tests/test_negation.py
    assert negate("The food was good", severity=0.5) == "The food wasn't good"
    assert negate("The food isn't good", severity=0.5) == "The food is good"
    assert negate("The food was good, but the staff were rude", severity=0.5) == (
        "The food was good, but the staff were rude")  # a contrast: unchanged
    assert negate("I couldn't fault it", severity=0.5) == "I couldn't fault it"  # an idiom
    assert negate("Great food", severity=0.5) == "Great food"  # does not apply: unchanged
    assert negate.expectation == "directional"


def test_entities_are_swapped_for_others_of_their_kind() -> None:
    regions = {row[0]: row[1] for row in _lexicon.rows("names")}
    out = perturbations.get("entity.person")("Emily said hi", severity=1.0)
    name = out.split()[0]
    assert name != "Emily" and regions[name] != regions["Emily"]
    kinds = {row[0]: row[1] for row in _lexicon.rows("locations")}
    out = perturbations.get("entity.location")("I live in Paris now", severity=1.0)
    place = out[len("I live in "):-len(" now")]
    assert place != "Paris" and kinds[place] == kinds["Paris"]
    out = perturbations.get("entity.number")("paid $24.99 for 3 items", severity=1.0)
    assert re.fullmatch(r"paid \$\d\d\.99 for \d items", out) and out != "paid $24.99 for 3 items"


def test_emoji_are_appended_more_with_severity() -> None:
    append = perturbations.get("emoji.append")
    low, high = append("nice", severity=0.2), append("nice", severity=1.0)
    assert low.startswith("nice ") and high.startswith("nice ")
    assert len(high) > len(low)


def test_length_repeat_makes_20_copies_at_full_severity() -> None:
    out = perturbations.get("length.repeat")("ok go", severity=1.0)
    assert out == " ".join(["ok go"] * 20)


def test_mentions_and_urls_wrap_the_text() -> None:
    text = "the food was great"
    mention = perturbations.get("chat.mention")(text, severity=1.0)
    assert re.fullmatch(r"@\w+ the food was great @\w+", mention)
    link = perturbations.get("chat.url")(text, severity=0.3)
    assert link.startswith(text + " http")


def test_misspellings_come_from_the_spelling_list() -> None:
    table = _lexicon.misspellings()
    out = perturbations.get("typo.misspelling")("I will receive it tomorrow", severity=1.0)
    pairs = changed_words("I will receive it tomorrow", out)
    assert pairs
    for x, y in pairs:
        assert y.lower() in {a.lower() for a in table.get(x, table.get(x.lower(), ()))}
