"""Production profiles: known counts on hand-made inputs, the shipped reviews, tables,
the JSON form, drift between two profiles and the argument checks."""

from __future__ import annotations

import json
import math
import re
import unicodedata
from importlib import resources

import numpy as np
import pandas as pd
import pytest

import perturbations
from robustcheck._profile import Profile, compare_profiles, load_profile, profile
from robustcheck.datasets import load_reviews
from robustcheck.errors import InvalidArgument, ResultFileError
from robustcheck.stats import wilson_interval

# Ten texts: 3 with emoji, 2 with all-caps words, 1 with a URL, 2 with a zero-width space.
TEN = [
    "I love this place 😍",
    "Great food 👍 and GREAT staff",
    "ok 🎉",
    "This is TERRIBLE",
    "see https://example.com/menu for more",
    "nice\u200bplace",
    "good\u200b food",
    "the food was good",
    "the staff was nice",
    "the menu was fine",
]


def counts(p: Profile) -> dict[str, int | None]:
    return {ph.name: ph.count for ph in p.phenomena if ph.column is None}


def lexicon_rows(name: str) -> list[list[str]]:
    text = resources.files("perturbations").joinpath("data").joinpath(f"{name}.tsv") \
        .read_text("utf-8")
    return [line.split("\t") for line in text.splitlines()
            if line.strip() and not line.startswith("#")]


# -- text: known counts ------------------------------------------------------------------


def test_ten_hand_made_texts_show_exactly_the_phenomena_put_in_them():
    found = counts(profile(TEN))
    assert found["emoji"] == 3
    assert found["all_caps"] == 2
    assert found["url"] == 1
    assert found["zero_width"] == 2
    for name in ("mention", "hashtag", "non_ascii_letters", "mixed_script", "odd_whitespace",
                 "slang", "abbreviation", "contraction", "repeated_marks", "markup"):
        assert found[name] == 0, name


def test_a_share_is_the_count_over_n_with_its_wilson_interval():
    p = profile(TEN)
    share = p.share("emoji")
    assert share is not None
    assert (share.value, share.n) == (0.3, 10)
    assert (share.low, share.high) == pytest.approx(wilson_interval(3, 10))


def test_a_family_frequency_counts_an_input_once_whatever_it_shows():
    texts = ["see https://a.example.com @sam", "@sam #winning", "nothing here"]
    p = profile(texts)
    assert counts(p)["url"] == 1 and counts(p)["mention"] == 2 and counts(p)["hashtag"] == 1
    chat = p.frequency("chat")
    assert chat is not None and chat.value == pytest.approx(2 / 3)


def test_words_out_of_the_reference_vocabulary_count_as_typos():
    reference = ["the food was good", "the staff was nice", "the menu was fine"]
    production = ["the fod was good", "the staff was nise", "the menu was fine",
                  "Lisbon was fine", "teh food was good", "the food was good"]
    p = profile(production, reference=reference)
    assert counts(p)["out_of_vocabulary"] == 2  # fod, nise; Lisbon is capitalised
    assert counts(p)["slang"] == 1  # teh, a lexicon misspelling, is slang, not a typo
    assert p.frequency("typo").value == pytest.approx(2 / 6)


def test_without_a_reference_the_typo_proxy_is_not_measured_rather_than_zero():
    p = profile(TEN)
    assert counts(p)["out_of_vocabulary"] is None
    assert p.share("out_of_vocabulary") is None
    assert p.frequency("typo") is None
    assert "reference=" in str(p)


def test_slang_abbreviations_and_contractions_come_from_the_lexicons():
    texts = ["u r gr8", "btw the room was fine", "imo it's fine", "I can't wait",
             "It is what it is", "Came for 2 nights, it was ok"]
    found = counts(profile(texts))
    assert found["slang"] == 1  # u, gr8; digits and "ok" are ordinary English
    assert found["abbreviation"] == 2  # btw, imo
    assert found["contraction"] == 2  # it's, can't


def test_curly_apostrophes_count_as_contractions():
    assert counts(profile(["I don’t know", "I do not know"]))["contraction"] == 1


@pytest.mark.parametrize("text", ["this hotel",
                                  "the fish & chips",
                                  "contact me at sam@example.org",
                                  "5* hotel, 4* food"])
def test_ordinary_text_shows_no_chat_or_markup(text):
    found = counts(profile([text]))
    assert found["mention"] == found["hashtag"] == found["markup"] == 0
    assert found["url"] == (1 if "example.org" in text else 0)


def test_every_emoji_of_the_lexicons_is_seen_as_emoji():
    emoji = {e for row in lexicon_rows("emoji") for e in row[1].split("|")}
    emoji |= {row[0] for row in lexicon_rows("emoji_decorative")}
    texts = [f"nice {e}" for e in sorted(emoji)]
    assert counts(profile(texts))["emoji"] == len(texts)


def test_an_emoji_family_joiner_is_not_a_zero_width_character():
    found = counts(profile(["we 👨\u200d👩\u200d👧 loved it", "lo\u200dved it"]))
    assert found["zero_width"] == 1


def test_odd_whitespace_at_the_edges_and_inside_is_seen():
    texts = [" leading", "trailing ", "two  spaces", "tab\there", "nbsp\u00a0here", "fine"]
    assert counts(profile(texts))["odd_whitespace"] == 5


@pytest.mark.parametrize(("name", "phenomenon"), [
    ("emoji.append", "emoji"), ("chat.url", "url"), ("chat.mention", "mention"),
    ("chat.hashtag", "hashtag"), ("homoglyph.cyrillic", "mixed_script"),
    ("homoglyph.greek", "mixed_script"), ("whitespace.zero_width", "zero_width"),
    ("whitespace.extra", "odd_whitespace"), ("unicode.fullwidth", "non_ascii_letters"),
    ("markup.html", "markup"), ("case.upper", "all_caps"),
])
def test_the_profile_sees_every_input_the_catalogue_changed(name, phenomenon):
    texts = load_reviews().texts[:150]
    perturbed = perturbations.get(name).apply(texts, severity=1.0, seed=3)
    changed = [after for before, after in zip(texts, perturbed) if before != after]
    assert len(changed) > 100
    assert counts(profile(changed))[phenomenon] == len(changed)


# -- the shipped reviews -----------------------------------------------------------------


def test_the_shipped_reviews_have_no_emoji_links_or_chat():
    texts = load_reviews().texts
    found = counts(profile(texts))
    for name in ("emoji", "url", "mention", "hashtag", "mixed_script", "zero_width",
                 "odd_whitespace", "markup", "all_caps", "slang", "abbreviation"):
        assert found[name] == 0, name


def test_the_shipped_reviews_accents_and_contractions_match_a_direct_count():
    texts = load_reviews().texts
    accented = sum(any(unicodedata.decomposition(c) and c.isalpha() for c in t) for t in texts)
    keys = [row[0] for row in lexicon_rows("contractions")]
    pattern = re.compile("|".join(rf"(?<![\w']){re.escape(k)}(?![\w'])" for k in keys))
    contracted = sum(pattern.search(t.lower()) is not None for t in texts)
    found = counts(profile(texts))
    assert found["non_ascii_letters"] == accented > 0
    assert found["contraction"] == contracted > 0


def test_a_hand_made_production_sample_with_emoji_and_typos_against_the_reviews():
    reviews = load_reviews().texts
    production = ["the food was delicous 😍", "teh room was clean", "the staf were lovely 👍",
                  "the pool was lovely", "The staff were friendly", "awful wifi 😡",
                  "the room was clean", "the food was cold"]
    p = profile(production, reference=reviews, name="prod")
    found = counts(p)
    assert found["emoji"] == 3
    assert found["out_of_vocabulary"] == 2  # delicous, staf
    assert found["slang"] == 1  # teh


# -- tables ------------------------------------------------------------------------------


@pytest.fixture
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    clean = pd.DataFrame({"age": [20, 30, 40, 50, 60, 35],
                          "city": ["Paris", "Rome", "Paris", "Rome", "Oslo", "Oslo"],
                          "when": ["2024-01-02"] * 6,
                          "note": ["a b", "c d", "e f", "g h", "i j", "k l"]})
    production = pd.DataFrame({
        "age": [25, None, "31", "1,234", 99, -999, 15, 40],
        "city": ["Paris", "paris", "", "Rome", "Berlin", "N/A", None, "Oslo"],
        "when": ["2024-01-05", "31/01/2024", "01/31/2024", "03/04/2024", "2024-02-01",
                 None, "2024-03-03", "x"],
        "extra": [1] * 8})
    return clean, production


def by_column(p: Profile) -> dict[tuple[str, str | None], int | None]:
    return {ph.key: ph.count for ph in p.phenomena}


def test_a_table_with_known_missing_strings_unseen_and_out_of_range_values(frames):
    clean, production = frames
    found = by_column(profile(production, reference=clean))
    assert found[("missing", "age")] == 2  # None, -999
    assert found[("missing", "city")] == 3  # "", "N/A", None
    assert found[("missing", "when")] == 1
    assert found[("number_as_string", "age")] == 2  # "31", "1,234"
    assert found[("unseen_category", "city")] == 2  # paris, Berlin
    assert found[("out_of_range", "age")] == 2  # 99, 15 (clean range 20 to 60)
    assert found[("new_date_format", None)] == 3  # the clean dates are all ISO
    assert found[("schema", None)] == 8  # note is missing, extra is new
    assert ("unseen_category", "when") not in found  # a date column is no category
    assert ("unseen_category", "note") not in found  # free text is no category


def test_the_formats_seen_are_counted_but_stand_for_no_family(frames):
    clean, production = frames
    p = profile(production, reference=clean)
    found = by_column(p)
    assert found[("seen.plain", None)] == 1
    assert found[("seen.thousands", None)] == 1
    assert found[("seen.iso_date", None)] == 3
    assert found[("seen.day_first_date", None)] == 1
    assert found[("seen.month_first_date", None)] == 1
    assert found[("seen.ambiguous_date", None)] == 1
    assert all(not ph.families for ph in p.phenomena if ph.name.startswith("seen."))


def test_table_families_unite_their_columns(frames):
    clean, production = frames
    p = profile(production, reference=clean)
    assert p.frequency("missing").value == pytest.approx(4 / 8)  # rows 1, 2, 5, 6
    assert p.frequency("outlier").value == pytest.approx(2 / 8)
    assert p.frequency("drift").value == pytest.approx(2 / 8)
    assert p.frequency("category").value == pytest.approx(2 / 8)


@pytest.mark.parametrize("cell", [np.nan, None, pd.NA, "", "  ", "NULL", "n/a", "-999",
                                  -999, -9999.0])
def test_every_kind_of_missing_cell_is_missing(cell):
    frame = pd.DataFrame({"x": pd.Series([cell, "a", "b"], dtype=object)})
    assert by_column(profile(frame))[("missing", "x")] == 1


def test_without_a_reference_the_table_phenomena_that_need_one_are_not_measured(frames):
    _, production = frames
    p = profile(production)
    found = by_column(p)
    for name in ("unseen_category", "out_of_range", "new_date_format", "schema"):
        assert found[(name, None)] is None
    for family in ("category", "outlier", "drift", "schema"):
        assert p.frequency(family) is None
    assert p.frequency("missing") is not None


def test_profiling_changes_neither_the_frame_nor_the_reference(frames):
    clean, production = frames
    before, clean_before = production.copy(), clean.copy()
    numeric = pd.DataFrame({"x": np.array([1.0, -999.0, np.nan])})
    numeric_before = numeric.copy()
    profile(production, reference=clean)
    profile(numeric, reference=numeric)
    pd.testing.assert_frame_equal(production, before)
    pd.testing.assert_frame_equal(clean, clean_before)
    pd.testing.assert_frame_equal(numeric, numeric_before)


def test_a_wine_table_against_itself_has_nothing_out_of_range_or_unseen():
    datasets = pytest.importorskip("sklearn.datasets")
    frame = datasets.load_wine(as_frame=True).frame
    p = profile(frame.iloc[:100], reference=frame)
    assert p.frequency("outlier").value == 0
    assert p.frequency("missing").value == 0
    assert p.frequency("schema").value == 0
    shifted = frame.iloc[:100].assign(alcohol=frame["alcohol"].iloc[:100] + 100)
    assert profile(shifted, reference=frame).frequency("outlier").value == 1


def test_nullable_categorical_and_odd_cells_are_read_without_crashing():
    clean = pd.DataFrame({"cat": pd.Categorical(["a", "b"] * 3),
                          "i": pd.array([1, 2, None, 4, 2, 1], dtype="Int64"),
                          "big": [10**400, 1, 2, 3, 1, 2],
                          "lists": [[1], [2]] * 3})
    production = pd.DataFrame({"cat": pd.Categorical(["a", "c", "a", None]),
                               "i": pd.array([1, 9, None, -999], dtype="Int64"),
                               "big": [10**400, 1, 2, "1" * 400],
                               "lists": [[1], [3], [1], [2]]})
    found = by_column(profile(production, reference=clean))
    assert found[("unseen_category", "cat")] == 1  # c
    assert found[("missing", "cat")] == 1
    assert found[("missing", "i")] == 2  # <NA>, -999
    assert found[("out_of_range", "i")] == 1  # 9
    assert found[("out_of_range", "big")] == 2  # numbers past any float: infinite
    assert found[("missing", "lists")] == 0


@pytest.mark.parametrize("texts", [
    [""], ["   "], ["\x00", "u r\x00gr8", "u"], ["\ud800 u", "\u202egpj.exe"],
    ["a" * 100_000 + " 😍"], ["\u0301\u0301", "\U0001F3FB", "\ufeff"]])
def test_hostile_texts_are_profiled_without_crashing(texts):
    p = profile(texts, reference=texts)
    assert p.n == len(texts)
    assert all(ph.count is None or 0 <= ph.count <= p.n for ph in p.phenomena)
    assert Profile.from_dict(json.loads(p.to_json())) == p


def test_a_nul_in_a_text_does_not_shift_words_to_another_text():
    found = counts(profile(["fine\x00", "u r gr8", "\x00fine"]))
    assert found["slang"] == 1


# -- JSON --------------------------------------------------------------------------------


def test_a_profile_survives_its_json_and_holds_no_input(tmp_path):
    p = profile([*TEN, "zebracorn"], reference=["the food was good"], name="prod")
    path = tmp_path / "prod.json"
    text = p.to_json(path)
    assert load_profile(path) == p
    assert Profile.from_dict(json.loads(text)) == p
    d = json.loads(path.read_text("utf-8"))
    assert (d["kind"], d["schema_version"]) == ("robustcheck.profile", 1)
    assert "zebracorn" not in text and "TERRIBLE" not in text
    assert len(text) < 10_000


def test_a_table_profile_survives_its_json(tmp_path, frames):
    clean, production = frames
    p = profile(production, reference=clean, name="tab")
    p.to_json(tmp_path / "t.json")
    assert load_profile(tmp_path / "t.json") == p


def _damaged(d, change):
    d = json.loads(json.dumps(d))
    change(d)
    return d


@pytest.mark.parametrize(("change", "words"), [
    (lambda d: d.update(kind="robustcheck.run"), "robustcheck.run"),
    (lambda d: d.pop("kind"), "no 'kind'"),
    (lambda d: d.update(schema_version=99), "schema_version 99"),
    (lambda d: d.update(n=0), "'n'"),
    (lambda d: d.update(modality="audio"), "modality"),
    (lambda d: d["phenomena"][0].update(count=11), "count is 11"),
    (lambda d: d["phenomena"][0].update(count="3"), "count is '3'"),
    (lambda d: d["phenomena"][0].pop("label"), "no field 'label'"),
    (lambda d: d["families"][0].update(phenomena="emoji"), "list of names"),
    (lambda d: d.update(phenomena={}), "list of objects"),
])
def test_a_damaged_profile_file_is_refused_naming_what_is_wrong(tmp_path, change, words):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(_damaged(profile(TEN).to_dict(), change)), "utf-8")
    with pytest.raises(ResultFileError, match=re.escape(words)) as err:
        load_profile(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(("content", "words"), [
    (None, "no such file"), (b"{not json", "not valid JSON"), (b"[1, 2]", "is a dict"),
    (b"\xff\xfe", "not UTF-8")])
def test_a_file_that_is_no_profile_is_refused(tmp_path, content, words):
    path = tmp_path / "p.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ResultFileError, match=words):
        load_profile(path)


# -- drift -------------------------------------------------------------------------------


def test_two_halves_of_the_same_reviews_show_no_drift():
    texts = load_reviews().texts
    drift = compare_profiles(profile(texts[::2], name="even"), profile(texts[1::2]))
    assert drift.significant == ()
    assert "0 of" in str(drift)


def test_emoji_added_to_a_third_of_the_texts_is_a_significant_shift(tmp_path):
    texts = load_reviews().texts
    old = profile(texts[::2], name="old")
    new = profile([t + " 😍" if i % 3 == 0 else t for i, t in enumerate(texts[1::2])],
                  name="new")
    old.to_json(tmp_path / "old.json")
    drift = compare_profiles(tmp_path / "old.json", new)
    moved = {(r.name, r.label) for r in drift.significant}
    assert moved == {("emoji", "emoji"), ("family", "emoji")}
    row = next(r for r in drift.rows if r.name == "emoji")
    assert row.difference.value == pytest.approx(175 / 525 - 0)
    assert row.difference.low > 0
    assert json.loads(json.dumps(drift.to_dict()))["rows"][0]["name"] == "emoji"


def test_a_phenomenon_measured_on_one_side_only_has_no_difference():
    drift = compare_profiles(profile(TEN), profile(TEN, reference=TEN))
    row = next(r for r in drift.rows if r.name == "out_of_vocabulary")
    assert row.old is None and row.new is not None
    assert row.difference is None and row.significant is None


def test_the_difference_has_newcombes_interval_at_the_bonferroni_level():
    old, new = profile(["😍"] * 3 + ["x"] * 7), profile(["😍"] * 6 + ["x"] * 4)
    drift = compare_profiles(old, new, confidence=0.9)
    compared = sum(r.difference is not None for r in drift.rows)
    assert drift.level == pytest.approx(1 - 0.1 / compared)
    row = next(r for r in drift.rows if r.name == "emoji")
    l1, u1 = wilson_interval(3, 10, drift.level)
    l2, u2 = wilson_interval(6, 10, drift.level)
    assert row.difference.value == pytest.approx(0.3)
    assert row.difference.low == pytest.approx(0.3 - math.hypot(0.6 - l2, u1 - 0.3))
    assert row.difference.high == pytest.approx(0.3 + math.hypot(u2 - 0.6, 0.3 - l1))


# -- arguments ---------------------------------------------------------------------------


@pytest.mark.parametrize(("call", "words"), [
    (lambda: profile("one text"), "single string"),
    (lambda: profile([]), "inputs is empty"),
    (lambda: profile(["a", None]), "inputs[1] is None"),
    (lambda: profile({"a": 1}), "inputs must be"),
    (lambda: profile(42), "inputs must be"),
    (lambda: profile(["a"], reference=[]), "reference is empty"),
    (lambda: profile(["a"], reference=[b"x"]), "reference[0]"),
    (lambda: profile(["a"], reference=pd.DataFrame({"x": [1]})), "same form"),
    (lambda: profile(pd.DataFrame({"x": [1]}), reference=["a"]), "same form"),
    (lambda: profile(pd.DataFrame({1: [1], "1": [2]})), "rename them"),
    (lambda: profile(["a"], name=3), "name must be text"),
    (lambda: profile(["a"]).frequency(3), "family must be"),
    (lambda: profile(["a"]).share("emojis"), "'emojis'"),
    (lambda: compare_profiles(profile(["a"]), profile(["b"]), confidence=1.5), "confidence"),
    (lambda: compare_profiles(profile(["a"]), profile(pd.DataFrame({"x": [1]}))), "same kind"),
    (lambda: load_profile(3), "path must be"),
])
def test_bad_arguments_are_refused_naming_the_argument_and_the_fix(call, words):
    with pytest.raises(InvalidArgument, match=re.escape(words)):
        call()


def test_a_profile_prints_as_a_table_with_counts_and_intervals():
    text = str(profile(TEN, name="prod"))
    assert "Production profile 'prod': 10 texts" in text
    line = next(x for x in text.splitlines() if x.strip().startswith("emoji"))
    low, high = wilson_interval(3, 10)
    assert "3/10" in line and "30.0%" in line
    assert f"[{100 * low:.1f}, {100 * high:.1f}]" in line
    assert not math.isnan(low)
