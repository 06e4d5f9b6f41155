"""The edit rules of :mod:`perturbations.edits`, and that the catalogue's typos and the
harness's attacks follow the same ones: the same words, the same edit sites, the same
tables."""

from __future__ import annotations

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import perturbations
import robustcheck.attack
import robustcheck.errors
import robustcheck.strategies
from perturbations import edits
from perturbations._text_engine import TextBatch
from perturbations.edits import Edit, apply_edits, text_edits, word_edits, word_spans

# Characters where word rules tend to disagree: apostrophes, digits that are and are not
# decimal ('²', '½', 'Ⅻ' are numeric but not letters), underscores, combining marks,
# letters of several scripts, letters outside the BMP, and the look-alike letters.
TRICKY = [*"abcOIN'’ _-1٣²½Ⅻ①éΩωЖаο中ǅ\u0301\u200d\t", "𝐀", "𝑥", "\U00010400"]
TEXTS = st.one_of(st.text(max_size=40), st.text(st.sampled_from(TRICKY), max_size=40))
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
# for the properties checked once per perturbation of SCRIPTS (six times in all)
PER_NAME = settings(SETTINGS, max_examples=60)


def reference_words(text: str) -> list[tuple[int, int]]:
    """The word rule as the module docstring states it, written as plainly as possible:
    runs of ``str.isalpha`` letters, joined across one apostrophe with letters on both
    sides."""
    inside = [c.isalpha() for c in text]
    for i in range(1, len(text) - 1):
        if text[i] in "'\u2019" and text[i - 1].isalpha() and text[i + 1].isalpha():
            inside[i] = True
    spans, start = [], None
    for i, flag in enumerate([*inside, False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            spans.append((start, i))
            start = None
    return spans


# --------------------------------------------------------------------------- words


@pytest.mark.parametrize(("text", "words"), [
    ("", []),
    ("don't stop", ["don't", "stop"]),
    ("l’été, rock'n'roll", ["l’été", "rock'n'roll"]),
    ("'tis the dogs' 'quoted' a''b", ["tis", "the", "dogs", "quoted", "a", "b"]),
    ("it's'", ["it's"]),
    ("abc123def 4th", ["abc", "def", "th"]),
    ("snake_case __init__", ["snake", "case", "init"]),
    ("x² ½off Ⅻth ①a", ["x", "off", "th", "a"]),
    ("Ωμέγα жизнь 中文 한국어", ["Ωμέγα", "жизнь", "中文", "한국어"]),
    ("naïve nai\u0308ve", ["naïve", "nai", "ve"]),
    ("ǅemal 𝐀𝐁c", ["ǅemal", "𝐀𝐁c"]),
])
def test_a_word_is_a_run_of_letters_joined_by_inner_apostrophes(text, words):
    assert [text[s:e] for s, e in word_spans(text)] == words


@SETTINGS
@given(text=TEXTS)
def test_word_spans_follow_the_rule_the_docstring_states(text):
    assert word_spans(text) == reference_words(text)


@SETTINGS
@given(texts=st.lists(TEXTS, max_size=6))
def test_the_catalogue_finds_the_words_of_every_text_of_a_batch_as_word_spans_does(texts):
    batch = TextBatch(texts)
    for i, text in enumerate(texts):
        mine = batch.owner == i
        offset = int(batch.offsets[i])
        found = list(zip((batch.start[mine] - offset).tolist(),
                         (batch.end[mine] - offset).tolist()))
        assert found == word_spans(text)


def test_a_word_never_reaches_into_the_next_text_of_a_batch():
    batch = TextBatch(["ab'", "cd", "ef", "'gh"])
    words = [batch.joined[s:e] for s, e in zip(batch.start, batch.end)]
    assert words == ["ab", "cd", "ef", "gh"]


@SETTINGS
@given(texts=st.lists(TEXTS, max_size=6), data=st.data())
def test_the_code_points_inside_chosen_words_are_found_word_by_word(texts, data):
    """:meth:`TextBatch.inside`, :meth:`TextBatch.word_of` and ``pick_chars`` with every
    allowed position, against a loop over the chosen words' spans."""
    from perturbations._random import Draws
    from perturbations._text_engine import letters_mask, pick_chars

    batch = TextBatch(texts)
    n_words = len(batch.start)
    words = np.flatnonzero(np.array(data.draw(st.lists(st.booleans(), min_size=n_words,
                                                       max_size=n_words)), dtype=bool))
    word_of = [-1] * len(batch.cps)
    for k, w in enumerate(words.tolist()):
        word_of[batch.start[w]:batch.end[w]] = [k] * int(batch.end[w] - batch.start[w])
    assert batch.word_of(words).tolist() == word_of
    assert batch.inside(words).tolist() == [k >= 0 for k in word_of]
    allowed = letters_mask(batch.cps) & (np.arange(len(batch.cps)) % 3 > 0)
    pos, word_id = pick_chars(batch, words, allowed, Draws(0, np.arange(len(texts))), 1,
                              per_word=None)
    expected = [(i, k) for i, k in enumerate(word_of) if k >= 0 and allowed[i]]
    assert list(zip(pos.tolist(), word_id.tolist())) == expected


# --------------------------------------------------------------------------- kinds


def kinds_at(word: str, kind: str, **context: str) -> list[tuple[int, str]]:
    return [(e.position, e.replacement) for e in word_edits(word, 0, [kind], **context)
            .get(kind, [])]


def test_a_keyboard_typo_is_a_neighbouring_key_in_the_letters_case():
    near = edits.keyboard()
    assert kinds_at("Go", "keyboard") == [(0, c) for c in near["G"]] + \
        [(1, c) for c in near["o"]]
    assert all(c.isupper() for c in near["G"]) and all(c.islower() for c in near["o"])
    assert kinds_at("a", "keyboard") == []  # one-letter words get no typo


def test_a_swap_takes_two_different_adjacent_letters_of_a_word_of_three_or_more():
    assert kinds_at("seen", "swap") == [(0, "es"), (2, "ne")]
    assert kinds_at("it's", "swap") == [(0, "ti")]  # an apostrophe never moves
    assert kinds_at("its", "swap") == [(0, "ti"), (1, "st")]
    assert kinds_at("no", "swap") == []


def test_a_delete_never_takes_a_letter_next_to_an_apostrophe_in_the_text():
    assert kinds_at("don't", "delete") == [(0, ""), (1, "")]
    assert kinds_at("dogs", "delete") == [(p, "") for p in range(4)]
    assert kinds_at("dogs", "delete", after="' bowls") == [(p, "") for p in range(3)]
    assert kinds_at("tis", "delete", before="'") == [(1, ""), (2, "")]
    assert kinds_at("cat", "delete", before="'", after="'") == [(1, "")]
    assert kinds_at("is", "delete") == []  # a word of two letters keeps both
    delete_of = {w: [e.position for e in found["delete"]]
                 for w, found in enumerate(text_edits("'tis dogs' don't", ["delete"]))}
    assert delete_of == {0: [1, 2], 1: [0, 1, 2], 2: [0, 1]}


def test_an_insert_types_a_neighbouring_key_after_a_letter():
    near = edits.keyboard()
    assert kinds_at("ok", "insert") == [(0, c) for c in near["o"]] + [(1, c) for c in near["k"]]
    assert Edit(0, 0, "insert", "p").apply("ok") == "opk"
    assert kinds_at("o", "insert") == []


def test_a_homoglyph_is_a_cyrillic_look_alike_first_then_a_greek_one():
    cyrillic, greek = edits.homoglyphs("cyrillic"), edits.homoglyphs("greek")
    assert edits.homoglyphs()["a"] == (*cyrillic["a"], *greek["a"])
    assert edits.homoglyphs()["N"] == greek["N"]  # no Cyrillic N looks like a Latin one
    assert kinds_at("cafe", "homoglyph") == [(0, c) for c in edits.homoglyphs()["c"]] + \
        [(1, c) for c in edits.homoglyphs()["a"]] + [(3, c) for c in edits.homoglyphs()["e"]]
    assert kinds_at("a", "homoglyph") != []  # one letter is enough for a look-alike


def test_the_replacement_tables_hold_single_letters_only():
    for table in (edits.keyboard(), edits.homoglyphs(), *map(edits.homoglyphs,
                                                              edits.HOMOGLYPH_SCRIPTS)):
        for key, alternatives in table.items():
            assert key.isalpha() and len(key) == 1
            assert alternatives and all(a.isalpha() and len(a) == 1 and a != key
                                        for a in alternatives)


def test_the_tables_cannot_be_changed_by_a_caller():
    with pytest.raises(TypeError):
        edits.keyboard()["a"] = ("b",)


@SETTINGS
@given(text=TEXTS)
def test_every_listed_edit_changes_the_text_and_keeps_its_words(text):
    spans = word_spans(text)
    for w, found in enumerate(text_edits(text)):
        for kind, listed in found.items():
            assert spans[w][1] - spans[w][0] >= edits.MIN_LENGTH[kind]
            for edit in listed:
                out = apply_edits(text, [edit])
                assert out != text
                assert len(word_spans(out)) == len(spans)


@SETTINGS
@given(text=TEXTS)
def test_text_edits_are_word_edits_given_the_text_around_the_word(text):
    for w, (s, e) in enumerate(word_spans(text)):
        assert text_edits(text)[w] == word_edits(text[s:e], w, before=text[:s], after=text[e:])


# --------------------------------------------------------------------------- applying


@SETTINGS
@given(text=TEXTS, data=st.data())
def test_apply_edits_does_not_depend_on_the_order_of_the_edits(text, data):
    table = [[e for found in word.values() for e in found] for word in text_edits(text)]
    chosen = [data.draw(st.sampled_from(options)) for options in table if options]
    shuffled = data.draw(st.permutations(chosen))
    assert apply_edits(text, shuffled) == apply_edits(text, chosen)
    for k in range(len(chosen)):  # every subset applies: leave one out
        assert len(word_spans(apply_edits(text, chosen[:k] + chosen[k + 1:]))) == \
            len(word_spans(text))


@pytest.mark.parametrize(("edit_list", "match"), [
    (["not an edit"], "must be Edit objects"),
    ([Edit(2, 0, "delete", "")], "names word 2, but the text has 2 words"),
    ([Edit(0, 0, "delete", ""), Edit(0, 1, "delete", "")], "word 0 twice"),
    ([Edit(1, 4, "delete", "")], "position 4, outside word 'food'"),
])
def test_edits_that_do_not_fit_the_text_are_refused(edit_list, match):
    with pytest.raises(perturbations.InvalidArgument, match=match):
        apply_edits("great food", edit_list)


@pytest.mark.parametrize(("kinds", "match"), [
    (["keybord"], "did you mean 'keyboard'"),
    ([], "kinds is empty"),
    (3, "must be a list of edit kinds"),
])
def test_unknown_edit_kinds_are_refused_with_the_known_ones(kinds, match):
    with pytest.raises(perturbations.InvalidArgument, match=match):
        text_edits("great food", kinds)


def test_one_kind_may_be_given_as_a_string():
    assert text_edits("great food", "swap") == text_edits("great food", ["swap"])


def test_random_edits_are_the_same_for_the_same_seed_and_input():
    text = "the food was great and the staff were friendly"
    assert edits.random_edits(text, 3, seed=7, index=4) == \
        "the food wxs great and tue syaff were friendly"
    assert edits.random_edits(text, 2, kinds=edits.EDIT_KINDS, seed=0, index=0) == \
        "the food was great аnd the staff werr friendly"
    assert edits.random_edits(text, 0) == text
    changed = edits.random_edits(text, 20, seed=1)
    assert sum(a != b for a, b in zip(text.split(), changed.split())) == 9  # every word
    with pytest.raises(perturbations.InvalidArgument, match="k must be an integer >= 0"):
        edits.random_edits(text, -1)


# --------------------------------------------------------------------------- hash


@pytest.mark.parametrize(("parts", "expected"), [
    ((0, "typo.keyboard"), 5935725500143459525),
    (("robustcheck.random_edits", 0, 0), 5302232459727089207),
    ((), 13020603013274838756),
    (("é", 1.5, None), 8156872833850952431),
])
def test_the_stable_hash_has_the_same_value_in_every_process(parts, expected):
    # Python's hash() of a str changes with every process; this one must not, since
    # seeds and data set positions are turned into random streams with it.
    assert perturbations.stable_hash(*parts) == expected


# --------------------------------------------------------------------------- agreement

SCRIPTS = {"typo.keyboard": ("keyboard", None), "typo.swap": ("swap", None),
           "typo.delete": ("delete", None), "typo.insert": ("insert", None),
           "homoglyph.cyrillic": ("homoglyph", "cyrillic"),
           "homoglyph.greek": ("homoglyph", "greek")}


def one_edit_outputs(name: str, text: str) -> set[str]:
    """Every text one edit of perturbation ``name``'s kind can make, by the edit API."""
    kind, script = SCRIPTS[name]
    spans = word_spans(text)
    out = set()
    for found in text_edits(text, [kind]):
        for e in found.get(kind, []):
            letter = text[spans[e.word][0] + e.position]
            if script is None or e.replacement in edits.homoglyphs(script).get(letter, ()):
                out.add(apply_edits(text, [e]))
    return out


@pytest.mark.parametrize("name", sorted(SCRIPTS))
@PER_NAME
@given(text=TEXTS, seed=st.integers(0, 2**32 - 1))
def test_a_catalogue_typo_is_one_of_the_edits_the_attacks_can_make(name, text, seed):
    # At a tiny severity the catalogue edits exactly one word (at least one is its rule).
    out = perturbations.get(name)(text, severity=0.01, seed=seed)
    possible = one_edit_outputs(name, text)
    assert out in possible if possible else out == text


@pytest.mark.parametrize(("name", "text"), [
    ("typo.delete", "'tis dogs' don't"),
    ("typo.swap", "seen it's 'tis"),
    ("homoglyph.greek", "No Zoo"),
])
def test_the_catalogue_reaches_every_edit_the_attacks_can_make(name, text):
    p = perturbations.get(name)
    made = {p(text, severity=0.01, seed=seed) for seed in range(300)}
    assert made == one_edit_outputs(name, text)


@pytest.mark.parametrize("name", sorted(SCRIPTS))
@settings(PER_NAME, max_examples=30)
@given(texts=st.lists(st.text(st.sampled_from(list("ab'’ cd")), max_size=8), max_size=6),
       seed=st.integers(0, 2**32 - 1))
def test_a_typo_of_one_text_does_not_depend_on_the_texts_next_to_it(name, texts, seed):
    p = perturbations.get(name)
    alone = [p(t, severity=1.0, seed=seed, index=i) for i, t in enumerate(texts)]
    assert p.apply(texts, severity=1.0, seed=seed) == alone


def test_the_harness_uses_the_catalogues_edit_rules():
    for name in ("EDIT_KINDS", "Edit", "text_edits", "word_edits", "word_spans"):
        assert getattr(robustcheck.attack, name) is getattr(edits, name)
    for name in ("EDIT_KINDS", "Edit", "apply_edits", "text_edits", "word_spans"):
        assert getattr(robustcheck.strategies, name) is getattr(edits, name)
    assert robustcheck.attack.apply_edits("great food", [Edit(0, 0, "swap", "rg")]) == \
        "rgeat food"
    assert robustcheck.attack.random_edits("great food", 1, seed=3) == \
        edits.random_edits("great food", 1, seed=3)


def test_the_attack_module_raises_robustchecks_own_error_for_a_bad_edit():
    with pytest.raises(robustcheck.errors.InvalidArgument, match="word 0 twice") as info:
        robustcheck.attack.apply_edits("great", [Edit(0, 0, "delete", ""),
                                                 Edit(0, 1, "delete", "")])
    assert isinstance(info.value.__cause__, perturbations.InvalidArgument)
    with pytest.raises(robustcheck.errors.InvalidArgument, match="did you mean 'swap'"):
        robustcheck.attack.random_edits("great", 1, kinds=["swop"])


def test_the_edit_module_lists_each_of_its_public_names_once():
    assert len(set(edits.__all__)) == len(edits.__all__)
    assert all(hasattr(edits, name) for name in edits.__all__)
    assert "stable_hash" in perturbations.__all__
