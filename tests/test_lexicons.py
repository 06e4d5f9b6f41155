"""The lexicon data files under ``perturbations/data/`` are well formed and big enough."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from perturbations import _lexicon

DATA = Path(_lexicon.__file__).resolve().parent / "data"

# name -> minimum number of entries
MINIMUMS = {
    "homophones": 150,
    "opinion": 250,
    "spelling": 150,
    "synonyms": 150,
    "gendered": 100,
    "numbers": 29,
    "slang": 150,
    "abbreviations": 80,
    "emoji": 100,
    "emoji_decorative": 40,
    "homoglyphs": 1,
    "leetspeak": 12,
    "contractions": 60,
    "names": 8 * 25,
    "locations": 120,
    "accents": 16,
    "urls": 20,
    "mentions": 30,
}
LEXICONS = sorted(MINIMUMS)

KEYCAP = re.compile("^[0-9#*]\ufe0f?\u20e3$")


def raw_lines(name: str) -> list[str]:
    return (DATA / f"{name}.tsv").read_text("utf-8").splitlines()


def entry_lines(name: str) -> list[str]:
    return [line for line in raw_lines(name) if line.strip() and not line.startswith("#")]


def looks_like_emoji(text: str) -> bool:
    """A symbol (category So) somewhere in it, or a keycap sequence (digit + U+20E3)."""
    return any(unicodedata.category(c) == "So" for c in text) or bool(KEYCAP.match(text))


def test_every_expected_lexicon_file_exists():
    missing = [name for name in LEXICONS if not (DATA / f"{name}.tsv").is_file()]
    assert not missing, f"missing lexicon files: {missing}"


def test_there_is_no_data_file_the_tests_do_not_know_about():
    unknown = sorted(p.stem for p in DATA.glob("*.tsv") if p.stem not in MINIMUMS)
    assert not unknown, f"add these files to MINIMUMS in this test: {unknown}"


@pytest.mark.parametrize("name", LEXICONS)
def test_every_lexicon_starts_with_a_header_comment(name):
    lines = raw_lines(name)
    header = []
    for line in lines:
        if not line.startswith("#"):
            break
        header.append(line)
    assert len(header) >= 2, f"{name}.tsv needs a header comment of a few # lines"
    text = "\n".join(header).lower()
    assert "format" in text, f"{name}.tsv header does not state the column format"
    assert "robustcheck" in text, f"{name}.tsv header does not say it was written for robustcheck"


@pytest.mark.parametrize("name", LEXICONS)
def test_every_lexicon_has_at_least_its_minimum_number_of_entries(name):
    assert len(_lexicon.rows(name)) >= MINIMUMS[name]
    assert len(_lexicon.rows(name)) == len(entry_lines(name))


@pytest.mark.parametrize("name", LEXICONS)
def test_no_lexicon_has_an_empty_or_duplicate_key(name):
    keys = _lexicon.words(name)
    assert all(keys), f"{name}.tsv has an entry with an empty key"
    dupes = [k for k, n in Counter(keys).items() if n > 1]
    assert not dupes, f"{name}.tsv repeats keys {dupes}"


@pytest.mark.parametrize("name", LEXICONS)
def test_no_field_has_stray_whitespace_or_empty_alternatives(name):
    for line in entry_lines(name):
        key, *values = line.split("\t")
        assert key == key.strip() and "  " not in key, f"{name}.tsv: bad spacing in {key!r}"
        for field in values:
            if field:
                assert field == field.strip(), f"{name}.tsv: stray whitespace in {line!r}"
                assert "" not in field.split("|"), f"{name}.tsv: empty alternative in {line!r}"


@pytest.mark.parametrize(
    "name", ["slang", "abbreviations", "emoji", "leetspeak", "contractions", "accents"]
)
def test_every_key_of_a_mapping_lexicon_has_at_least_one_alternative(name):
    table = _lexicon.mapping(name)
    without = [k for k in _lexicon.words(name) if not table.get(k)]
    assert not without, f"{name}.tsv keys with no alternative: {without}"


@pytest.mark.parametrize("name", ["slang", "abbreviations", "leetspeak", "contractions"])
def test_replacements_differ_from_their_keys(name):
    same = [(k, v) for k, vs in _lexicon.mapping(name).items() for v in vs if v == k]
    assert not same, f"{name}.tsv maps a key to itself: {same}"


def test_slang_keys_are_single_lower_case_words_and_values_have_no_spaces():
    for key, alts in _lexicon.mapping("slang").items():
        assert re.fullmatch(r"[a-z']+", key), key
        assert key == key.lower()
        for alt in alts:
            assert alt and not any(c.isspace() for c in alt), (key, alt)


def test_abbreviation_keys_are_lower_case_phrases_and_values_have_no_spaces():
    table = _lexicon.mapping("abbreviations")
    for key, alts in table.items():
        assert key == key.lower() and key == " ".join(key.split()), key
        for alt in alts:
            assert alt and not any(c.isspace() for c in alt), (key, alt)
    phrases = [k for k in table if " " in k]
    single = [k for k in table if " " not in k]
    assert len(phrases) >= 20 and len(single) >= 20, "abbreviations should mix words and phrases"


def test_emoji_keys_are_lower_case_words_and_every_value_looks_like_an_emoji():
    table = _lexicon.mapping("emoji")
    for key, alts in table.items():
        assert re.fullmatch(r"[a-z]+", key), key
        for alt in alts:
            assert looks_like_emoji(alt), (key, alt, [hex(ord(c)) for c in alt])
            assert not any(c.isascii() and c.isalnum() for c in alt), (key, alt)


def test_decorative_emoji_look_like_emoji_and_have_a_name():
    for row in _lexicon.rows("emoji_decorative"):
        assert len(row) >= 2 and row[1], f"decorative emoji {row[0]!r} has no short name"
        assert looks_like_emoji(row[0]), [hex(ord(c)) for c in row[0]]


def test_decorative_emoji_include_each_kind_of_multi_code_point_sequence():
    keys = _lexicon.words("emoji_decorative")
    skin_tones = {chr(c) for c in range(0x1F3FB, 0x1F400)}
    regional = {chr(c) for c in range(0x1F1E6, 0x1F200)}
    kinds = {
        "skin tone": any(set(k) & skin_tones for k in keys),
        "zwj": any("\u200d" in k for k in keys),
        "flag": any(len(k) == 2 and set(k) <= regional for k in keys),
        "keycap": any(KEYCAP.match(k) for k in keys),
        "variation selector": any(len(k) == 2 and k.endswith("\ufe0f") for k in keys),
    }
    assert all(kinds.values()), f"missing sequence kinds: {[k for k, v in kinds.items() if not v]}"


def test_homoglyph_keys_are_ascii_letters_with_at_least_one_look_alike():
    for row in _lexicon.rows("homoglyphs"):
        assert len(row) == 3, f"homoglyph row needs latin, cyrillic and greek fields: {row!r}"
        assert len(row[0]) == 1 and row[0].isascii() and row[0].isalpha(), row
        assert row[1] or row[2], f"{row[0]!r} has no look-alike in either script"


@pytest.mark.parametrize(("column", "script"), [(1, "CYRILLIC"), (2, "GREEK")])
def test_homoglyph_alternatives_are_single_code_points_of_the_right_script(column, script):
    table = _lexicon.mapping("homoglyphs", column)
    assert table, f"no {script} homoglyphs at all"
    for latin, alts in table.items():
        for alt in alts:
            assert len(alt) == 1, (latin, alt)
            assert not alt.isascii(), (latin, alt)
            assert unicodedata.name(alt, "").startswith(script), (latin, hex(ord(alt)))
            # a look-alike of a lower-case letter is lower case, of a capital is a capital
            if alt.lower() != alt.upper():
                assert alt.islower() == latin.islower(), (latin, alt)


def test_homoglyphs_cover_the_best_known_look_alikes():
    cyrillic = _lexicon.mapping("homoglyphs", 1)
    for letter in "aceopxyABCEHKMOPTX":
        assert letter in cyrillic, f"{letter!r} has a well-known Cyrillic twin"


def test_leetspeak_keys_are_lower_case_letters_and_subs_are_not_letters():
    table = _lexicon.mapping("leetspeak")
    for key, subs in table.items():
        assert len(key) == 1 and key.isascii() and key.islower(), key
        for sub in subs:
            assert not sub.isalpha() and not any(c.isspace() for c in sub), (key, sub)


def test_contractions_have_an_apostrophe_and_unique_first_expansions():
    table = _lexicon.mapping("contractions")
    firsts = []
    for key, expansions in table.items():
        assert key == key.lower() and "'" in key and "\u2019" not in key, key
        for expansion in expansions:
            assert expansion == expansion.lower() and "'" not in expansion, (key, expansion)
        first = expansions[0]
        # "cannot" is the one common expansion written as a single word
        assert " " in first or (key, first) == ("can't", "cannot"), (key, first)
        firsts.append(first)
    dupes = [e for e, n in Counter(firsts).items() if n > 1]
    assert not dupes, f"first expansions used twice (cannot contract back): {dupes}"


def test_names_cover_at_least_eight_regions_with_no_name_in_two():
    regions: dict[str, set[str]] = defaultdict(set)
    seen: dict[str, set[str]] = defaultdict(set)
    for row in _lexicon.rows("names"):
        assert len(row) == 2, row
        name, region = row
        assert re.fullmatch(r"[a-z_]+", region), region
        assert name.isalpha() and name[0].isupper() and name[1:].islower(), name
        regions[region].add(name)
        seen[name].add(region)
    big = [r for r, names in regions.items() if len(names) >= 25]
    assert len(big) >= 8, {r: len(n) for r, n in regions.items()}
    for wanted in ("english", "hispanic", "west_african", "east_asian", "south_asian",
                   "arabic", "slavic", "nordic"):
        assert wanted in big, wanted
    twice = {n: r for n, r in seen.items() if len(r) > 1}
    assert not twice, f"names under two regions: {twice}"


WORDLIKE_NAMES = {"will", "may", "mark", "grace", "hope", "bill", "rose", "summer", "joy",
                  "faith", "sky", "jack", "sue", "art", "dawn", "pat", "rob", "ray", "guy"}
WORDLIKE_PLACES = {"nice", "reading", "mobile", "chad", "split", "bath", "turkey", "china"}


def test_names_are_not_common_english_words():
    common = WORDLIKE_NAMES | set(_lexicon.words("slang")) | set(_lexicon.words("emoji"))
    clash = [n for n in _lexicon.words("names") if n.lower() in common]
    assert not clash, clash


def test_locations_are_not_common_english_words():
    common = WORDLIKE_PLACES | set(_lexicon.words("slang")) | set(_lexicon.words("emoji"))
    clash = [p for p in _lexicon.words("locations") if p.lower() in common]
    assert not clash, clash


def test_locations_are_cities_or_countries_with_clean_spacing():
    kinds = Counter()
    for row in _lexicon.rows("locations"):
        assert len(row) == 2 and row[1] in {"city", "country"}, row
        assert row[0] == " ".join(row[0].split()) and row[0][0].isupper(), row
        kinds[row[1]] += 1
    assert kinds["city"] >= 30 and kinds["country"] >= 30, kinds


def test_no_location_is_also_a_given_name():
    names = set(_lexicon.words("names"))
    assert not names & set(_lexicon.words("locations"))


def test_accents_cover_the_listed_letters_in_both_cases():
    table = _lexicon.mapping("accents")
    for letter in "aeioucny":
        assert letter in table and letter.upper() in table, letter


def test_every_accented_letter_decomposes_to_its_key_letter():
    for key, accented in _lexicon.mapping("accents").items():
        assert len(key) == 1 and key.isascii() and key.isalpha(), key
        for char in accented:
            assert len(char) == 1 and char != key, (key, char)
            decomposed = unicodedata.normalize("NFKD", char)
            assert decomposed[0] == key and len(decomposed) > 1, (key, char, decomposed)


RESERVED = re.compile(
    r"^(?:[a-z0-9-]+\.)*(?:example\.(?:com|org|net)|[a-z0-9-]+\.(?:example|test)|example|test)$"
)


def test_urls_use_only_reserved_domains_and_both_schemes():
    from urllib.parse import urlsplit

    schemes = Counter()
    with_query = 0
    for url in _lexicon.words("urls"):
        parts = urlsplit(url)
        assert parts.scheme in {"http", "https"}, url
        assert parts.hostname and RESERVED.match(parts.hostname), url
        assert not any(c.isspace() for c in url), url
        schemes[parts.scheme] += 1
        with_query += bool(parts.query)
    assert schemes["http"] and schemes["https"], schemes
    assert with_query >= 5


def test_mentions_are_plain_handles():
    for handle in _lexicon.words("mentions"):
        assert re.fullmatch(r"[A-Za-z0-9_]{3,30}", handle), handle
