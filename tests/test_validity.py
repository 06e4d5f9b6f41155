"""The validity study stays true to the catalogue: every text perturbation has judged
pairs, the pairs are what the perturbation does today (changing a perturbation means
judging it again), and the default suites hold only perturbations that passed."""

from __future__ import annotations

import pytest

import perturbations
from perturbations import _validity
from robustcheck.datasets import load_reviews

# The prompt families (injection, distractor, template) rewrite a request for a model that
# writes text; a review whose sentiment label is kept is not what they are judged by.
TEXT = [p.name for p in perturbations.catalogue(modality="text") if not p.prompt]
FIELDS = ("label_after", "meaning_kept", "plausible", "note")


@pytest.mark.parametrize("name", TEXT)
def test_every_text_perturbation_has_a_fully_judged_study(name):
    pairs = _validity.judged_pairs(name)
    reviews = load_reviews()
    changed = sum(a != b for a, b in zip(reviews.texts, perturbations.get(name).apply(
        reviews.texts, severity=1.0, seed=0)))
    assert len(pairs) == min(30, changed), "run scripts/draw_validity_sample.py " + name
    for pair in pairs:
        assert all(pair[k] is not None for k in FIELDS), f"{name}: pair {pair['index']} unjudged"
        assert pair["label_after"] in ("positive", "negative", "unclear")


@pytest.mark.parametrize("name", TEXT)
def test_the_judged_pairs_are_what_the_perturbation_does_today(name):
    p = perturbations.get(name)
    reviews = load_reviews()
    for pair in _validity.judged_pairs(name):
        assert reviews.texts[pair["index"]] == pair["original"]
        assert reviews.labels[pair["index"]] == pair["label"]
        now = p(pair["original"], severity=1.0, seed=0, index=pair["index"])
        assert now == pair["perturbed"], (
            f"{name} changed since its pairs were judged: run "
            f"scripts/draw_validity_sample.py {name} and judge the new pairs")


@pytest.mark.parametrize("name", TEXT)
def test_default_suites_hold_only_perturbations_that_passed_the_study(name):
    p = perturbations.get(name)
    verdict = _validity.passes(p.expectation, p.validity)
    if p.default:
        assert verdict is not False, (
            f"{name} is in the default suite but "
            f"{_validity.describe(p.expectation, p.validity)}: fix it or set default=False")


def test_the_record_carries_the_study_and_extended_selects_what_is_left_out():
    record = perturbations.get("typo.keyboard").record()
    assert record["validity"]["pairs"] == 30
    assert set(record["validity"]) == {"pairs", "label_kept", "label_changed",
                                       "meaning_kept", "plausible"}
    extended = perturbations.select("extended")
    assert "entity.number" in [p.name for p in extended]
    assert not any(p.default for p in extended)
    assert "entity.number" not in [p.name for p in perturbations.select("text")]


def test_the_thresholds_are_applied_as_documented():
    assert _validity.passes("invariant", {"pairs": 30, "label_kept": 27,
                                          "label_changed": 0}) is True
    assert _validity.passes("invariant", {"pairs": 30, "label_kept": 26,
                                          "label_changed": 0}) is False
    assert _validity.passes("directional", {"pairs": 30, "label_kept": 6,
                                            "label_changed": 24}) is True
    assert _validity.passes("directional", {"pairs": 30, "label_kept": 7,
                                            "label_changed": 23}) is False
    assert _validity.passes("no-crash", {"pairs": 30, "label_kept": 0,
                                         "label_changed": 0}) is None


def test_robustcheck_list_shows_each_perturbations_study_and_suite(capsys):
    from robustcheck.cli import main

    assert main(["list", "--family", "entity"]) == 0
    out = capsys.readouterr().out
    assert "label kept 23/30 (extended)" in out  # entity.number
    assert "label kept 30/30 (default)" in out


def test_the_study_is_worded_once_for_the_catalogue_the_cli_and_the_report():
    record = perturbations.get("negation.clause").record()
    study = record["validity"]
    short = perturbations.validity_phrase(record)
    assert short == f"label changed {study['label_changed']}/{study['pairs']}"
    assert perturbations.validity_phrase(record, long=True).startswith(
        f"label changed as stated in {study['label_changed']} of {study['pairs']} judged pairs")
    assert perturbations.validity_phrase({"expectation": "invariant"}) == ""
