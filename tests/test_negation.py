"""negation.clause negates the one clause that carries a review's opinion, or nothing.

The examples left alone are the failures of the validity study that made it this narrow
(perturbations/data/validity/negation.clause.jsonl before the fix): a minor clause negated
beside the verdict, idioms that need their negation, questions, ratings, contradictions.
"""

from __future__ import annotations

import pytest

import perturbations
from robustcheck.datasets import load_reviews

negate = perturbations.get("negation.clause")


def negated(text: str) -> str:
    return negate(text, severity=1.0, seed=0)


@pytest.mark.parametrize(("before", "after"), [
    ("The food was good.", "The food wasn't good."),
    ("The food isn't good", "The food is good"),
    ("The staff were friendly and professional.", "The staff weren't friendly or professional."),
    ("The app is a joy to use", "The app isn't a joy to use"),
    ("The room was really good.", "The room wasn't really good."),
    ("It's great.", "It's not great."),
    ("I'm not impressed.", "I'm impressed."),
    ("I wasn't happy with the stitching.", "I was happy with the stitching."),
    ("The flight wasn't bad at all!!", "The flight was bad!!"),
    ("The food wasn't bad, honestly!", "The food was bad, honestly!"),
    ("The app wasn't anything special.", "The app was something special."),
    ("It hasn't been great.", "It has been great."),
    ("I loved it!", "I didn't love it!"),
    ("She loves it.", "She doesn't love it."),
    ("I didn't like it.", "I liked it."),
    ("The bed didn't live up to the hype.", "The bed lived up to the hype."),
    ("I would recommend it.", "I wouldn't recommend it."),
    ("I'd recommend it.", "I wouldn't recommend it."),
    ("I wouldn't recommend it.", "I would recommend it."),
    ("The stylist, Chloe, was lovely.", "The stylist, Chloe, wasn't lovely."),
    ("Emily from Paris paid $24.99 for 3 items and loved them.",
     "Emily from Paris paid $24.99 for 3 items and didn't love them."),
    ("Flew economy with two kids. The crew were lovely!",
     "Flew economy with two kids. The crew weren't lovely!"),
    ("Spent a long weekend here - the location didn't live up to the hype...",
     "Spent a long weekend here - the location lived up to the hype..."),
    ("THE FOOD WAS GOOD", "THE FOOD WASN'T GOOD"),
    ("The food wasn’t great.", "The food was great."),
])
def test_a_single_opinion_clause_is_negated_as_a_person_writes_it(before: str,
                                                                   after: str) -> None:
    assert negated(before) == after


@pytest.mark.parametrize("text", [
    # a minor clause beside the verdict, or a contrast deciding it
    "Although the keyboard is lovely to type on, the build quality is cheap.",
    "The pool was heated and clean, and the view was stunning.",
    "We found hair in the sheets and the pool was closed all week.",
    "The food was good and the staff were rude.",
    "The seats weren't bad, honestly. The crew were attentive!",
    "The wine list was tiny, but the bartender, Kwame, couldn't have been nicer. "
    "Genuinely impressed.",
    # idioms that need their negation
    "it made my week! the rebooking was top notch. can't recommend it enough.",
    "I can't recommend it enough.",
    "I couldn't fault the camera.",
    "picked up this phone on sale for $57! I couldn't fault the camera.",
    "I can't say a bad word about the crew.",
    "I can't say the seats were any good.",
    "The flight attendant, Sven, couldn't have cared less!",
    "Never again.",
    "Book it, you won't regret it.",
    # questions and ratings
    "Why does a notes app need my location?",
    "The breakfast was sad and overpriced. Is that really too much to ask?",
    "5 stars. The food was good.",
    "Solid 4 stars. The notifications are a mess.",
    "The food was good. 1/5",
    "The food was good. Ten out of ten.",
    # a second sentence that judges, with or without a word of the lexicon
    "I'm fuming. The colour didn't live up to the hype!",
    "The interface isn't great! Support was nonexistent.",
    "I wasn't happy with the stitching. The jacket was boxy.",
    "Proper home cooking. The food was good.",
    "The food was good. Highly recommend!",
    # negation whose removal or addition says something else
    "The food was good enough.",
    "The food was all good.",
    "The pasta wasn't nearly as good as the photos suggested.",
    "The room was filthy.",
    "The room was really bad.",
    "The view was stunning.",
    "Great food",
    "They do not care",
])
def test_texts_whose_negation_would_not_flip_the_verdict_are_left_unchanged(text: str) -> None:
    assert negated(text) == text


def test_severity_only_switches_it_on() -> None:
    assert negate("The food was good.", severity=0.0) == "The food was good."
    assert {negate("The food was good.", severity=s) for s in (0.1, 0.5, 1.0)} == {
        "The food wasn't good."}


def test_the_shipped_reviews_get_the_same_output_in_a_batch_and_one_by_one() -> None:
    reviews = load_reviews().texts
    batch = negate.apply(reviews, severity=1.0, seed=0)
    assert batch == negate.apply(reviews, severity=1.0, seed=7)  # no randomness involved
    changed = [i for i, (a, b) in enumerate(zip(reviews, batch)) if a != b]
    assert changed
    for i in changed[:10] + list(range(10)):
        assert negate(reviews[i], severity=1.0, seed=0, index=i) == batch[i]
    halves = (negate.apply(reviews[:500], severity=1.0, seed=0)
              + negate.apply(reviews[500:], severity=1.0, seed=0, indices=range(500, 1050)))
    assert halves == batch


def test_the_record_says_what_it_does() -> None:
    assert negate.expectation == "directional" and negate.direction
    assert "only" in negate.description and "unchanged" in negate.description
    assert "severity above 0" in negate.severity


def test_the_opinion_lexicon_is_well_formed() -> None:
    from perturbations import _lexicon

    rows = _lexicon.rows("opinion")
    assert len(rows) >= 250
    for phrase, polarity, negated, *forms in rows:
        assert phrase == phrase.lower() and phrase == " ".join(phrase.split()), phrase
        assert polarity in {"+", "-", "±"} and negated in {"flips", "weak"}, phrase
        assert not forms or len(forms[0].split("|")) == 2, phrase  # third person|past
