"""Tests of robustcheck.similarity: the scorers a generation audit compares outputs with.

Expected values are computed by hand in the comments, from the definitions in the
docstrings (SQuAD's token F1, Popović's chrF), not by running the code.
"""

from __future__ import annotations

import doctest
import functools
import math
import sys
import unicodedata
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import robustcheck.similarity as similarity
from robustcheck.errors import InvalidArgument, ModelOutputError
from robustcheck.similarity import (
    DEFAULT,
    DEFAULT_THRESHOLD,
    EmbeddingScorer,
    chrf,
    embedding,
    exact,
    normalize,
    resolve,
    score_pairs,
    token_f1,
)

BUILTIN = {"exact": exact, "token_f1": token_f1, "chrf": chrf}


def test_the_docstring_examples_are_true():
    # the repository collects no doctests: this runs the module's own
    result = doctest.testmod(similarity, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted >= 25


def test_the_public_names_are_sorted_and_exist():
    assert similarity.__all__ == sorted(similarity.__all__)
    assert all(hasattr(similarity, name) for name in similarity.__all__)


# -- normalisation and exact match -------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("The Cat SAT.", "cat sat"),                      # case, an article, punctuation
    ("an apple, a pear and the plum", "apple pear and plum"),
    ("theatre another atheist", "theatre another atheist"),  # articles only as words
    ("ＦＵＬＬ　ｗｉｄｔｈ", "full width"),             # NFKC: full-width letters and space
    ("ﬁne", "fine"),                                   # NFKC: the ligature fi
    ("Straße", "strasse"),                            # casefold, not lower
    ("«Hola», ¿qué tal?", "hola qué tal"),            # Unicode punctuation (P*)
    ("don't stop-me", "dont stopme"),                 # deleted, not replaced by a space
    ("  tabs\tand\nnew\u00a0lines  ", "tabs and new lines"),
    ("$5 + 3 = 8 €", "$5 + 3 = 8 €"),                 # symbols (S*) are kept
    ("The.", ""),
    ("", ""),
])
def test_normalize_follows_squad_widened_to_unicode(text, expected):
    assert normalize(text) == expected


def test_no_punctuation_lies_above_the_planes_normalize_scans():
    above = [cp for cp in range(similarity._PUNCTUATION_PLANES, sys.maxunicode + 1)
             if cp not in similarity._TAGS]
    assert not [cp for cp in above if similarity._deleted(unicodedata.category(chr(cp)))]
    assert len(similarity._deleted_characters()) > 800


def test_invisible_format_characters_do_not_change_a_word():
    # a summary that copies a zero-width space or a bidi mark from its prompt says the same
    hidden = "the ho\u200btel was cl\u200dean\u200e and quiet\U000E0041"
    assert normalize(hidden) == normalize("the hotel was clean and quiet")
    assert similarity.token_f1(hidden, "hotel was clean and quiet") == 1.0
    assert similarity.exact(hidden, "The hotel was clean and quiet.") == 1.0


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("The answer is Paris.", "answer is paris", 1.0),
    ("Ｐａｒｉｓ!", "paris", 1.0),
    ("the cat sat", "the cat was sitting", 0.0),      # paraphrase is a change
    ("5 apples", "five apples", 0.0),
    ("yes", "no", 0.0),
    ("", "the", 1.0),                                 # nothing left on either side
])
def test_exact_compares_normalized_texts(a, b, expected):
    assert exact(a, b) == expected
    assert exact(b, a) == expected


# -- token F1 ----------------------------------------------------------------------------


@pytest.mark.parametrize(("a", "b", "expected"), [
    # [cat, sat] vs [cat, sat, down]: 2 shared; P = 2/2, R = 2/3, F1 = 2*2/(2+3)
    ("the cat sat", "cat sat down", Fraction(4, 5)),
    # a negation flip: [is, good] vs [is, not, good]: 2*2/(2+3)
    ("is good", "is not good", Fraction(4, 5)),
    # multisets: [yes, yes, no] vs [yes, no, no] share min(2,1) + min(1,2) = 2: 2*2/6
    ("yes yes no", "yes no no", Fraction(2, 3)),
    # a typo costs a whole word: [recieve, package] vs [receive, package]: 2*1/4
    ("recieve the package", "receive the package", Fraction(1, 2)),
    ("dog bites man", "man bites dog", Fraction(1)),  # order is not seen
    ("The Answer!", "answer", Fraction(1)),
    ("red", "blue", Fraction(0)),
    ("", "", Fraction(1)),                            # both empty
    ("the !!", "a .", Fraction(1)),                   # both empty after normalising
    ("", "something", Fraction(0)),                   # one empty
])
def test_token_f1_on_pairs_computed_by_hand(a, b, expected):
    assert token_f1(a, b) == pytest.approx(float(expected), abs=1e-15)
    assert token_f1(b, a) == token_f1(a, b)


# -- chrF --------------------------------------------------------------------------------


def test_chrf_of_identical_texts_is_one_whitespace_aside():
    assert chrf("receive the package", "receive the package") == 1.0
    assert chrf("receive the package", " receive\tthe  package\n") == 1.0
    assert chrf("", "") == 1.0
    assert chrf("  ", "\n") == 1.0


def test_chrf_of_texts_with_no_character_in_common_is_zero():
    assert chrf("abc", "xyz") == 0.0
    assert chrf("", "abc") == 0.0
    assert chrf("abc", " ") == 0.0


def test_chrf_of_a_small_pair_computed_by_hand():
    # "abc" vs "abd". Order 1: {a,b,c} vs {a,b,d}: 2 shared of 3, P1 = R1 = 2/3.
    # Order 2: {ab,bc} vs {ab,bd}: 1 of 2, P2 = R2 = 1/2. Order 3: {abc} vs {abd}: 0.
    # Orders 4-6: neither text has any, left out. P = R = (2/3 + 1/2 + 0) / 3 = 7/18,
    # and F-beta of P = R is P, whatever beta.
    assert chrf("abc", "abd") == pytest.approx(7 / 18, abs=1e-12)
    assert chrf("abc", "abd", beta=1.0) == pytest.approx(7 / 18, abs=1e-12)
    # with n=2: P = R = (2/3 + 1/2) / 2 = 7/12
    assert chrf("abc", "abd", n=2) == pytest.approx(7 / 12, abs=1e-12)


def test_chrf_is_not_symmetric_recall_weighs_four_times_more():
    # reference "ab", hypothesis "abc": P = (2/3 + 1/2 + 0) / 3 = 7/18 (the trigram "abc"
    # is not in the reference), R = (2/2 + 1/1) / 2 = 1; F2 = 5PR / (4P + R) = 35/46
    assert chrf("ab", "abc") == pytest.approx(35 / 46, abs=1e-12)
    # reversed: P = 1, R = 7/18; F2 = 5R / (4 + R) = 35/79: dropping costs more
    assert chrf("abc", "ab") == pytest.approx(35 / 79, abs=1e-12)
    # beta = 0 is the precision alone: every n-gram of "ab" is in "abc"
    assert chrf("abc", "ab", beta=0) == 1.0


def test_chrf_tolerates_a_typo_that_token_f1_counts_as_a_whole_word():
    a, b = "recieve the package", "receive the package"
    assert chrf(a, b) > token_f1(a, b) + 0.2


def test_chrf_counts_case_and_accents():
    assert chrf("Paris", "paris") < 1.0
    assert chrf("café", "cafe") < 1.0


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"n": 0}, "n must be a positive integer"),
    ({"n": 2.5}, "n must be a positive integer"),
    ({"n": True}, "n must be a positive integer"),
    ({"beta": -1.0}, "beta must be a finite number >= 0"),
    ({"beta": math.inf}, "beta must be a finite number >= 0"),
    ({"beta": "2"}, "beta must be a finite number >= 0"),
])
def test_chrf_rejects_bad_parameters(kwargs, match):
    with pytest.raises(InvalidArgument, match=match):
        chrf("a", "b", **kwargs)
    with pytest.raises(InvalidArgument, match=match):
        score_pairs(functools.partial(chrf, **kwargs), ["a"], ["b"])


PAIRS = [
    ("The delivery was fast and the food was great.", "the delivery was slow, food great"),
    ("recieve the package", "receive the package"),
    ("abc", "abd"),
    ("ab", "abc"),
    ("aaaa", "aa"),                                   # repeated n-grams: multisets
    ("", "x"),
    ("same", "same"),
    ("emoji 😀😀 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "emoji 😀 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢!"),  # beyond the BMP
    ("\x00\x00a", "\x00a"),                           # NUL is a character like another
    ("lone \ud800 surrogate", "lone \udfff surrogate"),  # not valid UTF-8, still a str
    ("x" * 500 + "y", "y" + "x" * 400),
]


def _loop(scorer, pairs):
    return [scorer(a, b) for a, b in pairs]


@pytest.mark.parametrize("n", [1, 2, 6, 9])
def test_chrf_of_many_pairs_is_the_same_floats_as_one_at_a_time(n):
    scorer = functools.partial(chrf, n=n)
    a, b = zip(*PAIRS)
    assert score_pairs(scorer, a, b).tolist() == _loop(scorer, PAIRS)


def test_chrf_of_many_pairs_is_the_same_in_small_chunks(monkeypatch):
    monkeypatch.setattr(similarity, "_CHUNK", 3)
    a, b = zip(*PAIRS)
    assert score_pairs("chrf", a, b).tolist() == _loop(chrf, PAIRS)


def test_chrf_of_many_pairs_with_thousands_of_distinct_characters_is_the_same():
    # 1500 distinct characters need 11 bits each: 6 of them do not fit a 63-bit key, so
    # the pairs are split until they fit (600 + 600 distinct: 10 bits each) or, for a
    # single pair that still does not, counted in Python
    def cjk(start, count):
        return "".join(chr(0x4E00 + i) for i in range(start, start + count))

    pairs = [(cjk(0, 1500), cjk(0, 1500)[::-1] + "x"), ("abc", "abd"),
             (cjk(2000, 600), cjk(2000, 300)), (cjk(3000, 600), cjk(3300, 300))]
    a, b = zip(*pairs)
    assert score_pairs(chrf, a, b).tolist() == _loop(chrf, pairs)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.text(alphabet="abc d", max_size=12),
                          st.text(alphabet="abc d", max_size=12)), max_size=8))
def test_chrf_of_many_pairs_agrees_with_the_reference_on_any_pairs(pairs):
    a = [x for x, _ in pairs]
    b = [y for _, y in pairs]
    assert score_pairs(chrf, a, b).tolist() == _loop(chrf, pairs)


# -- properties of every built-in scorer -------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(a=st.text(max_size=40), b=st.text(max_size=40))
@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_every_builtin_scorer_is_in_0_1_and_one_on_identical_texts(name, a, b):
    scorer = BUILTIN[name]
    value = scorer(a, b)
    assert isinstance(value, float)
    assert 0.0 <= value <= 1.0
    assert scorer(a, a) == 1.0
    assert score_pairs(name, [a, b], [b, b]).tolist() == [value, 1.0]
    if name != "chrf":
        assert scorer(b, a) == value


def test_builtin_scorers_reject_a_text_that_is_not_a_str():
    for scorer in BUILTIN.values():
        with pytest.raises(TypeError, match="b must be a str, got NoneType"):
            scorer("text", None)  # type: ignore[arg-type]


# -- embeddings --------------------------------------------------------------------------


class FakeSentenceTransformer:
    """sentence-transformers' contract: ``encode(list[str]) -> ndarray (n, d)``. A text
    is embedded as (count of "a", count of "b"); every call is recorded."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode(self, sentences):
        self.calls.append(list(sentences))
        return np.array([[s.count("a"), s.count("b")] for s in sentences], dtype=np.float32)


class FakeFastEmbed:
    """fastembed's contract: ``embed(list[str]) -> iterable of 1-D arrays`` (a generator)."""

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, documents):
        self.calls += 1
        return (np.array([d.count("a"), d.count("b")], dtype=np.float32) for d in documents)


def test_embedding_is_the_cosine_clipped_to_0_1():
    scorer = embedding(FakeSentenceTransformer())
    assert scorer("a", "aaa") == pytest.approx(1.0)       # same direction
    assert scorer("a", "ab") == pytest.approx(1 / math.sqrt(2))
    assert scorer("a", "b") == 0.0                        # orthogonal
    assert scorer("a", "") == 0.0                         # a zero vector is like nothing
    assert scorer("xyz", "xyz") == 1.0                    # identical, zero vector or not


def test_embedding_clips_opposite_directions_to_zero():
    class Signed:
        def encode(self, sentences):
            return np.array([[1.0] if s == "up" else [-1.0] for s in sentences])

    assert embedding(Signed())("up", "down") == 0.0


def test_embedding_encodes_each_distinct_text_once_in_batches():
    model = FakeSentenceTransformer()
    scorer = embedding(model, batch_size=2)
    a = ["a", "ab", "a", "b", "same"]
    b = ["ab", "a", "b", "ab", "same"]
    values = score_pairs(scorer, a, b)
    # distinct texts of the differing pairs: a, ab, b -> 3 texts, batches of 2 -> 2 calls
    assert sorted(t for call in model.calls for t in call) == ["a", "ab", "b"]
    assert [len(call) for call in model.calls] == [2, 1]
    expected = [1 / math.sqrt(2), 1 / math.sqrt(2), 0.0, 1 / math.sqrt(2), 1.0]
    assert values == pytest.approx(expected)
    assert values.dtype == np.float64


def test_embedding_does_not_call_the_model_when_every_pair_is_identical():
    model = FakeSentenceTransformer()
    assert score_pairs(embedding(model), ["x", "y"], ["x", "y"]).tolist() == [1.0, 1.0]
    assert model.calls == []


def test_embedding_takes_fastembeds_contract_too():
    model = FakeFastEmbed()
    scorer = embedding(model, batch_size=64)
    values = score_pairs(scorer, ["a", "a", "b"], ["ab", "b", "bb"])
    assert values == pytest.approx([1 / math.sqrt(2), 0.0, 1.0])
    assert model.calls == 1


def test_embedding_pairs_check_their_texts():
    scorer = embedding(FakeSentenceTransformer())
    with pytest.raises(TypeError, match=r"pair 0: a_list\[0\] is NoneType"):
        scorer.pairs([None], ["a"])
    with pytest.raises(TypeError, match="a must be a str, got int"):
        scorer(3, "a")  # type: ignore[arg-type]


@pytest.mark.parametrize(("model", "match"), [
    (object(), r"embedding\(model=...\) needs an object with sentence-transformers' "
               r"encode.*got object .*robustcheck never downloads a model"),
    ("all-MiniLM-L6-v2", "needs a loaded model object, got the string 'all-MiniLM-L6-v2'"
                         ".*SentenceTransformer"),
    (FakeSentenceTransformer, "needs a model instance, got the class "
                              "FakeSentenceTransformer"),
])
def test_embedding_rejects_what_is_not_a_loaded_model(model, match):
    with pytest.raises(TypeError, match=match):
        embedding(model)


@pytest.mark.parametrize("batch_size", [0, -1, 2.0, True, None])
def test_embedding_rejects_a_bad_batch_size(batch_size):
    with pytest.raises(InvalidArgument, match="batch_size must be a positive integer"):
        embedding(FakeSentenceTransformer(), batch_size=batch_size)


@pytest.mark.parametrize(("answer", "match"), [
    (lambda texts: np.zeros(len(texts)), r"shape \(2,\) for 2 texts"),
    (lambda texts: np.zeros((1, 3)), r"shape \(1, 3\) for 2 texts"),
    (lambda texts: np.full((len(texts), 2), np.nan), "finite"),
    (lambda texts: [["x", "y"]] * len(texts), "not an array of numbers"),
])
def test_embedding_names_a_model_that_answers_in_the_wrong_shape(answer, match):
    class Broken:
        def encode(self, sentences):
            return answer(sentences)

    with pytest.raises(ModelOutputError, match="Broken.encode returned .*" + match):
        embedding(Broken())("a", "b")


def test_embedding_scorer_repr_names_the_model():
    assert repr(embedding(FakeFastEmbed())) == "<EmbeddingScorer of FakeFastEmbed.embed>"
    assert isinstance(embedding(FakeFastEmbed()), EmbeddingScorer)


def test_a_real_sentence_transformers_model_from_the_local_cache():
    st_module = pytest.importorskip("sentence_transformers")
    hub = pytest.importorskip("huggingface_hub")
    name = "sentence-transformers/all-MiniLM-L6-v2"
    if not isinstance(hub.try_to_load_from_cache(name, "config.json"), str):
        pytest.skip(f"{name} is not in the local Hugging Face cache; tests never download")
    model = st_module.SentenceTransformer(name, device="cpu", local_files_only=True)
    scorer = embedding(model)
    a = ["The weather is lovely today.", "The weather is lovely today.", "Same text."]
    b = ["It is a beautiful, sunny day.", "I need to file my tax return.", "Same text."]
    paraphrase, unrelated, same = score_pairs(scorer, a, b)
    assert 0.0 <= unrelated < paraphrase <= 1.0
    assert same == 1.0


# -- resolve -----------------------------------------------------------------------------


def test_resolve_names_the_builtin_scorers_and_the_default():
    assert resolve("exact") is exact
    assert resolve("token_f1") is token_f1
    assert resolve("chrf") is chrf
    assert resolve() is resolve(DEFAULT) is token_f1
    assert DEFAULT_THRESHOLD == 0.5


def test_resolve_returns_a_callable_as_it_is():
    def mine(a: str, b: str) -> float:
        return float(a == b)

    scorer = embedding(FakeSentenceTransformer())
    assert resolve(mine) is mine
    assert resolve(scorer) is scorer
    partial = functools.partial(chrf, n=4)
    assert resolve(partial) is partial


@pytest.mark.parametrize(("name", "match"), [
    ("tokenf1", r"similarity='tokenf1' is not a built-in scorer: use one of 'chrf', "
                r"'exact', 'token_f1'.*did you mean 'token_f1'\?"),
    ("bleu", r"use one of 'chrf', 'exact', 'token_f1', or a callable"),
    ("embedding", r"needs your model: similarity=robustcheck.similarity.embedding\(model\)"),
])
def test_resolve_rejects_an_unknown_name_listing_the_valid_ones(name, match):
    with pytest.raises(InvalidArgument, match=match):
        resolve(name)
    with pytest.raises(ValueError, match=match):
        score_pairs(name, ["a"], ["b"])


@pytest.mark.parametrize("value", [None, 0.5, ["chrf"]])
def test_resolve_rejects_what_is_neither_a_name_nor_a_callable(value):
    with pytest.raises(TypeError, match=r"similarity must be a scorer name .* or a callable"):
        resolve(value)


def test_resolve_rejects_a_callable_that_does_not_take_two_texts():
    with pytest.raises(TypeError, match=r"cannot be called with two texts \(a, b\): its "
                                        r"signature is \(a\)"):
        resolve(lambda a: 1.0)


# -- score_pairs -------------------------------------------------------------------------


def test_score_pairs_scores_each_pair_in_order_as_float64():
    values = score_pairs("token_f1", ["the cat sat", "yes"], ["cat sat down", "no"])
    assert values.dtype == np.float64
    assert values.tolist() == [0.8, 0.0]
    assert score_pairs(exact, (t for t in ["a"]), np.array(["A"])).tolist() == [1.0]
    assert score_pairs(chrf, [], []).shape == (0,)


def test_score_pairs_takes_a_user_scorer_returning_any_real_number_or_a_bool():
    assert score_pairs(lambda a, b: a == b, ["x", "x"], ["x", "y"]).tolist() == [1.0, 0.0]
    assert score_pairs(lambda a, b: np.float32(0.25), ["x"], ["y"]).tolist() == [0.25]
    assert score_pairs(lambda a, b: 1, ["x"], ["y"]).tolist() == [1.0]


def test_score_pairs_rejects_lists_of_different_lengths():
    with pytest.raises(InvalidArgument, match=r"same length .*got 2 and 3"):
        score_pairs("chrf", ["a", "b"], ["a", "b", "c"])


@pytest.mark.parametrize(("a", "b", "match"), [
    (["ok", "fine"], ["ok", None], r"pair 1: b_list\[1\] is NoneType None, not str; leave "
                                   r"out the pairs of generations that failed"),
    ([3.5], ["x"], r"pair 0: a_list\[0\] is float 3.5, not str"),
    ([b"bytes"], ["x"], r"pair 0: a_list\[0\] is bytes"),
    ("abc", ["a", "b", "c"], "a_list must be a sequence of texts, one per pair; got str"),
    (["a"], None, "b_list must be a sequence of texts, one per pair; got NoneType"),
])
def test_score_pairs_rejects_a_text_that_is_not_a_str(a, b, match):
    for scorer in ["exact", "token_f1", "chrf", embedding(FakeSentenceTransformer())]:
        with pytest.raises(TypeError, match=match):
            score_pairs(scorer, a, b)


def too_similar(a: str, b: str) -> float:
    return 1.5


@pytest.mark.parametrize(("scorer", "match"), [
    (too_similar, r"similarity scorer too_similar returned 1.5 for pair 0 \('a', 'b'\); "
                  r"a scorer must return a finite number in \[0, 1\]"),
    (lambda a, b: -0.1 if b == "b" else 0.0, r"<lambda> returned -0.1 for pair 0"),
    (lambda a, b: math.nan, r"returned nan for pair 0"),
    (lambda a, b: "0.5", r"returned '0.5' for pair 0"),
    (lambda a, b: None, r"returned None for pair 0"),
])
def test_score_pairs_names_a_user_scorer_that_returns_a_bad_score(scorer, match):
    with pytest.raises(InvalidArgument, match=match):
        score_pairs(scorer, ["a", "c"], ["b", "b"])


def test_score_pairs_reports_the_first_bad_pair_not_the_first_pair():
    with pytest.raises(InvalidArgument, match=r"returned 2.0 for pair 2 \('z', 'b'\)"):
        score_pairs(lambda a, b: 2.0 if a == "z" else 0.5, ["a", "c", "z"], ["b"] * 3)


class PairsScorer:
    """A scorer with a batch method of its own, returning what it is told to."""

    name = "mine"

    def __init__(self, answer):
        self.answer = answer
        self.batches = 0

    def __call__(self, a: str, b: str) -> float:
        raise AssertionError("score_pairs must call pairs, not the scorer pair by pair")

    def pairs(self, a_list, b_list):
        self.batches += 1
        return self.answer


def test_score_pairs_uses_a_scorers_pairs_method():
    scorer = PairsScorer([0.25, 1.0])
    assert score_pairs(scorer, ["a", "b"], ["c", "d"]).tolist() == [0.25, 1.0]
    assert scorer.batches == 1


@pytest.mark.parametrize(("answer", "match"), [
    ([0.5], r"mine.pairs returned \[0.5\] for 2 pairs; expected 2 numbers in \[0, 1\]"),
    (["x", "y"], r"mine.pairs returned \['x', 'y'\] for 2 pairs"),
    ([0.5, 1.25], r"similarity scorer mine returned 1.25 for pair 1 \('b', 'd'\)"),
    ([math.nan, 0.5], r"similarity scorer mine returned nan for pair 0"),
])
def test_score_pairs_checks_what_a_pairs_method_returns(answer, match):
    with pytest.raises(InvalidArgument, match=match):
        score_pairs(PairsScorer(answer), ["a", "b"], ["c", "d"])
