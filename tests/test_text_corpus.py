"""The clean texts of a run are analysed once per chunk, not once per unit (issue 17, item
2): a :class:`perturbations.TextCorpus` keeps each chunk's analysis for every perturbation
and severity, with outputs identical to a plain list's."""

from __future__ import annotations

import pickle
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import perturbations
import robustcheck
from perturbations import TextCorpus, _registry, _text_engine
from robustcheck import _assemble
from robustcheck.datasets import load_reviews
from robustcheck.modalities import TEXT

BATCHED = [p for p in perturbations.catalogue(modality="text") if p.batched]
REVIEWS = load_reviews().texts[:120]
WORDS = ["great", "food", "isn't", "you", "colour", "color", "two", "3", "21st", "he", "she",
         "not", "good", "the", "was", "café", "naïve", "ﬁne", "l’été", "Paris", "NASA",
         "because", "thanks", "LOL", "and", "very", "happy", "his", "mother", "1,000", "!!",
         "?", "...", ","]
ODD = "aZé'’ .,!?-09\n\t\u200bß" + "İ东ﬁ" + "😀𝔘\U0001F3FD"


def model(xs):
    return [len(x) % 2 for x in xs]


class Counter:
    """Counts the analyses made: chunks a TextBatch analysed itself, Analysis objects, and
    apart from them the batches analysed to regenerate a result's worst examples."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.batches: list[int] = []
        self.examples: list[int] = []
        self.shared = 0
        analyse, shared_init = _text_engine.TextBatch._analyse, _text_engine.Analysis.__init__
        regenerated = _assemble._perturbed_inputs
        in_examples = [False]

        def counting_analyse(batch):
            (self.examples if in_examples[0] else self.batches).append(len(batch.texts))
            analyse(batch)

        def examples(*args, **kwargs):
            in_examples[0] = True
            try:
                return regenerated(*args, **kwargs)
            finally:
                in_examples[0] = False

        def counting_init(analysis, texts):
            self.shared += 1
            shared_init(analysis, texts)

        monkeypatch.setattr(_text_engine.TextBatch, "_analyse", counting_analyse)
        monkeypatch.setattr(_text_engine.Analysis, "__init__", counting_init)
        monkeypatch.setattr(_assemble, "_perturbed_inputs", examples)


text = st.one_of(
    st.just(""),
    st.lists(st.one_of(st.sampled_from(WORDS), st.text(alphabet=ODD, max_size=6)),
             max_size=10).map(" ".join),
    st.text(max_size=12),
)


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(texts=st.lists(text, min_size=1, max_size=9), chunk=st.integers(1, 5),
       severity=st.sampled_from([0.2, 0.5, 1.0]), seed=st.integers(0, 2**32),
       offset=st.integers(0, 10**6))
def test_a_corpus_gives_exactly_the_outputs_of_a_plain_list(texts, chunk, severity, seed,
                                                             offset):
    corpus = TextCorpus(texts)
    indices = np.arange(len(texts)) + offset
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_registry, "TEXT_CHUNK", chunk)
        for p in BATCHED:
            want = p.apply(list(texts), severity=severity, seed=seed, indices=indices)
            assert p.apply(corpus, severity=severity, seed=seed, indices=indices) == want, p.name
            again = p.apply(corpus, severity=severity, seed=seed, indices=indices)
            assert again == want, p.name  # from the kept analysis
    assert corpus == texts


def test_the_analysis_is_made_once_per_chunk_of_a_run(monkeypatch):
    monkeypatch.setattr(_registry, "TEXT_CHUNK", 4)
    counter = Counter(monkeypatch)
    robustcheck.run(model, REVIEWS[:10], perturbations="text", severities=(0.2, 0.5, 1.0),
                    progress=False)
    assert counter.shared == 3  # chunks of 4, 4 and 2 texts
    assert counter.batches == [4, 4, 2]  # no unit analysed a chunk
    # after the units, the worst examples are perturbed again, a few inputs at a time
    assert counter.examples and max(counter.examples) <= _assemble.EXAMPLES_PER_PERTURBATION


def test_without_a_corpus_every_unit_analyses_its_chunks(monkeypatch):
    counter = Counter(monkeypatch)
    corpus = TextCorpus(REVIEWS)
    for p in BATCHED:
        p.apply(corpus, severity=1.0, seed=0)
    assert counter.batches == [len(REVIEWS)] and counter.shared == 1
    for p in BATCHED:
        p.apply(list(REVIEWS), severity=1.0, seed=0)
    assert len(counter.batches) > 10 and counter.shared == 1


def test_the_run_prepares_a_corpus_and_leaves_the_users_list_alone():
    user = list(REVIEWS[:30])
    before = list(user)
    data, _, _ = TEXT.prepare(user, None)
    assert isinstance(data, TextCorpus) and data is not user and data == user
    for p in BATCHED:
        p.apply(data, severity=1.0, seed=3)
    robustcheck.run(model, user, perturbations="text", severities=(0.5,), progress=False)
    assert user == before and all(a is b for a, b in zip(user, before))
    assert data == before


def test_a_corpus_pickles_without_its_analysis_and_gives_the_same_outputs():
    corpus = TextCorpus([*REVIEWS[:40], "", "😀 great 👍🏽", "Привет мир", "x" * 3000])
    want = {p.name: p.apply(corpus, severity=0.5, seed=1) for p in BATCHED}
    assert corpus.analysis_bytes > 0
    data = pickle.dumps(corpus)
    assert len(data) < len(pickle.dumps(list(corpus))) + 100  # the texts, nothing more
    copy = pickle.loads(data)
    assert type(copy) is TextCorpus and copy == corpus and copy.analysis_bytes == 0
    assert {p.name: p.apply(copy, severity=0.5, seed=1) for p in BATCHED} == want
    assert copy.analysis_bytes == corpus.analysis_bytes
    chunk = corpus.chunk(0, 10)
    assert type(pickle.loads(pickle.dumps(chunk))) is list


def test_a_text_changed_after_the_analysis_is_analysed_again():
    corpus = TextCorpus(REVIEWS[:20])
    p = perturbations.get("typo.swap")
    p.apply(corpus, severity=1.0, seed=0)
    corpus[3] = "completely different words here"
    assert p.apply(corpus, severity=1.0, seed=0) == p.apply(list(corpus), severity=1.0, seed=0)


def test_a_shard_on_the_chunk_grid_shares_the_analysis_and_others_add_none(monkeypatch):
    monkeypatch.setattr(_registry, "TEXT_CHUNK", 10)
    data, _, _ = TEXT.prepare(REVIEWS[:50], None)
    counter = Counter(monkeypatch)
    p = perturbations.get("typo.keyboard")
    whole = p.apply(data, severity=1.0, seed=2)
    assert counter.shared == 5
    kept = data.analysis_bytes
    for positions in (np.arange(20, 40), np.arange(40, 50), np.arange(15, 32),
                      np.array([3, 7, 44]), np.array([7])):
        got = TEXT.perturb(p, data, 1.0, 2, positions)
        assert got == [whole[i] for i in positions.tolist()]
    assert counter.shared == 5 and data.analysis_bytes == kept  # one analysis per chunk


def test_a_shard_off_the_chunk_grid_reuses_the_whole_chunks_inside_it(monkeypatch):
    # an executor's shards of 25,000 texts on a grid of 10,000: before, every text of a
    # shard that did not start on the grid was analysed again by every unit
    monkeypatch.setattr(_registry, "TEXT_CHUNK", 10)
    data, _, _ = TEXT.prepare(REVIEWS[:50], None)
    p = perturbations.get("typo.keyboard")
    whole = p.apply(data, severity=1.0, seed=2)
    counter = Counter(monkeypatch)
    positions = np.arange(15, 45)
    assert TEXT.perturb(p, data, 1.0, 2, positions) == whole[15:45]
    assert sorted(counter.batches) == [5, 5]  # only the ends; 20-30 and 30-40 are kept
    assert counter.shared == 0


def test_the_default_shards_and_text_parts_are_whole_chunks():
    # a shard or a part off the grid re-analyses its ends in every unit (above): the
    # defaults and the round sizes the README suggests sit on it
    from robustcheck._schedule import SHARD_SIZE

    for size in (SHARD_SIZE, TEXT.part_size, 10_000, 25_000, 50_000):
        assert size % _registry.TEXT_CHUNK == 0, size


def test_units_on_threads_share_one_analysis(monkeypatch):
    counter = Counter(monkeypatch)
    corpus = TextCorpus(REVIEWS)
    units = [(p, s) for p in BATCHED for s in (0.2, 1.0)]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda u: u[0].apply(corpus, severity=u[1], seed=0), units))
    assert got == [p.apply(list(REVIEWS), severity=s, seed=0) for p, s in units]
    assert counter.shared == 1


def test_the_kept_analysis_is_smaller_than_the_code_points():
    texts = load_reviews().texts
    corpus = TextCorpus(texts)
    for p in BATCHED:
        p.apply(corpus, severity=0.5, seed=0)
    chars = sum(map(len, texts))
    assert 0 < corpus.analysis_bytes < 4 * chars  # uint32 code points alone would be 4/char


@pytest.mark.parametrize(("module", "scan", "names"), [
    ("_text_swaps", "_eligible_starts", {"synonym.swap", "homophone.swap", "spelling.american",
                                         "number.to_words", "number.to_digits"}),
    ("_text_words", "_phrases", {"abbreviation.phrase", "contraction.expand",
                                 "contraction.contract", "entity.location"}),
    ("_text_engine", "_eligible_words", {"slang.word", "emoji.replace_word",
                                        "typo.misspelling", "entity.person", "unicode.nfkd",
                                        "unicode.strip_accents", "chat.hashtag",
                                        "markup.html"}),  # markup.markdown: the same words
    ("_text_negation", "_negated", {"negation.clause"}),
])
def test_what_a_perturbation_finds_in_a_chunk_at_any_severity_is_found_once(
        monkeypatch, module, scan, names):
    # finding the words a lexicon swap, a phrase swap or the negation may change was
    # most of their time, and the same at every severity: a corpus keeps it, per chunk
    import importlib

    monkeypatch.setattr(_registry, "TEXT_CHUNK", 40)
    texts = [*REVIEWS[:100], "the colour of two 3 stars, their mother, u know",
             "one hundred and 21st, asap, Paris", "The food was good.", "I didn't like it"]
    owner = importlib.import_module(f"perturbations.{module}")
    find, counting, scans = getattr(owner, scan), [False], []

    def counted(*args):
        if counting[0]:
            scans.append(len(args[0]) if isinstance(args[0], list) else len(args[0].texts))
        return find(*args)

    monkeypatch.setattr(owner, scan, counted)
    corpus = TextCorpus(texts)
    found = set()
    for p in BATCHED:
        before = len(scans)
        for severity in (0.2, 0.5, 1.0):
            want = p.apply(list(texts), severity=severity, seed=4)
            counting[0] = True
            got = p.apply(corpus, severity=severity, seed=4)
            counting[0] = False
            assert got == want, (p.name, severity)
        if p.name in names:  # each chunk once, not once per severity
            assert scans[before:] == [40, 40, 24], p.name
            found.add(p.name)
    assert found == names
    assert corpus == texts


def test_what_a_chunk_keeps_counts_in_its_analysis_bytes():
    texts = [*REVIEWS[:40], "I didn't like it at all"]
    fresh = TextCorpus(texts)
    perturbations.get("typo.swap").apply(fresh, severity=1.0, seed=4)
    analysed = fresh.analysis_bytes
    for name in ("number.to_words", "contraction.expand", "slang.word", "negation.clause"):
        perturbations.get(name).apply(fresh, severity=1.0, seed=4)
        assert fresh.analysis_bytes > analysed, name
        analysed = fresh.analysis_bytes


def test_a_swap_on_a_chunk_changed_since_it_was_cut_scans_it_again():
    from perturbations._text_engine import AnalysedTexts

    corpus = TextCorpus(REVIEWS[:30])
    p = perturbations.get("synonym.swap")
    p.apply(corpus, severity=1.0, seed=0)
    chunk = corpus.chunk(0, 30)
    assert isinstance(chunk, AnalysedTexts)
    chunk[2] = "the food was great and the staff were friendly"
    draws = perturbations.Draws(perturbations.stable_hash(0, p.name), np.arange(30))
    got = p.func(chunk, draws=draws, severity=1.0)
    assert got == p.func(list(chunk), draws=draws, severity=1.0)
    assert got[2] != chunk[2]
