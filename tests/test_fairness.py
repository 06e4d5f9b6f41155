"""Counterfactual rows: each changed input's group swapped, and the row's rates per group
in the result, its JSON and the report (issue: findings you can trust, item 3)."""

from __future__ import annotations

import numpy as np
import pytest

import perturbations
import robustcheck
from perturbations import _lexicon

GENDER = perturbations.get("counterfactual.gender")
PERSON = perturbations.get("entity.person")


@pytest.mark.parametrize(("text", "group"), [
    ("She said the room was clean.", "female → male"),
    ("My husband loved the breakfast.", "male → female"),
    ("Ask for Mr Patel at the desk.", "male → female"),
    ("The room was clean.", None),
])
def test_the_gender_group_is_read_from_the_first_word_swapped(text, group):
    perturbed = GENDER.apply([text], severity=1.0, seed=0)[0]
    assert GENDER.groups is not None
    assert GENDER.groups(text, perturbed) == group
    assert GENDER.groups(text, text) is None


def test_every_gendered_word_swaps_to_the_other_gender():
    rows = {row[0]: row for row in _lexicon.rows("gendered")}
    assert all(len(row) == 3 and row[2] in ("m", "f") for row in rows.values())
    wrong = [(word, other) for word, row in rows.items() for other in row[1].split("|")
             if rows[other][2] == row[2]]
    assert wrong == []


def test_the_person_group_is_the_region_of_the_name_swapped_in():
    region_of = {row[0]: row[1] for row in _lexicon.rows("names")}
    text = "Emily booked the table for us."
    perturbed = PERSON.apply([text], severity=1.0, seed=3)[0]
    new = perturbed.split()[0]
    assert new != "Emily" and PERSON.groups is not None
    assert PERSON.groups(text, perturbed) == "→ " + region_of[new].replace("_", " ")


TEXTS = [f"{who} {verb} the {thing}." for who in ("He", "She", "My wife", "My husband")
         for verb in ("loved", "liked", "enjoyed", "praised", "hated")
         for thing in ("room", "view", "food", "staff", "pool", "bar")]


def biased(batch: list[str]) -> list[str]:
    """Sentiment from the verb, except that any female word makes a 'liked' negative."""
    female = {"she", "wife", "her"}
    out = []
    for text in batch:
        words = set(text.lower().rstrip(".").split())
        bad = "hated" in words or ("liked" in words and words & female)
        out.append("neg" if bad else "pos")
    return out


@pytest.fixture(scope="module")
def audited():
    return robustcheck.run(biased, TEXTS, biased(TEXTS), perturbations=["counterfactual.gender",
                           "case.lower"], severities=[1.0], seed=0, progress=False)


def test_a_counterfactual_row_reports_its_rates_per_group(audited):
    groups = audited["counterfactual.gender"][0].details["groups"]
    assert set(groups) == {"female → male", "male → female"}
    perturbed = GENDER.apply(TEXTS, severity=1.0, seed=0)
    before, after = biased(TEXTS), biased(perturbed)
    for name, found in groups.items():
        members = [i for i, (x, y) in enumerate(zip(TEXTS, perturbed))
                   if x != y and GENDER.groups(x, y) == name]
        flips = np.mean([before[i] != after[i] for i in members])
        assert found["changed"] == len(members) == 60
        assert found["flip_rate"]["value"] == pytest.approx(flips)
        assert found["flip_rate"]["n"] == 60
        assert found["flip_rate"]["low"] < flips < found["flip_rate"]["high"]
    assert groups["male → female"]["flip_rate"]["value"] == pytest.approx(12 / 60)
    assert "groups" not in audited["case.lower"][0].details


def test_the_groups_survive_json_and_show_in_the_report(audited, tmp_path):
    audited.to_json(tmp_path / "r.json")
    loaded = robustcheck.load(tmp_path / "r.json")
    assert loaded["counterfactual.gender"][0].details == \
        audited["counterfactual.gender"][0].details
    html = loaded.to_html(tmp_path / "r.html").read_text("utf-8")
    table = html.split('id="fairness-table"')[1].split("</table>")[0]
    assert "male → female" in table and "female → male" in table
    assert "20.0%" in table and 'href="#fairness"' in html


def test_a_report_without_counterfactual_rows_has_no_fairness_section(tmp_path):
    result = robustcheck.run(biased, TEXTS[:30], biased(TEXTS[:30]),
                             perturbations=["case.lower"], severities=[1.0], progress=False)
    html = result.to_html(tmp_path / "r.html").read_text("utf-8")
    assert 'id="fairness' not in html and 'href="#fairness"' not in html
