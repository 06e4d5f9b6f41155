"""robustcheck.augment: label-keeping perturbed copies of training data, weighted by an
audit; the ``robustcheck augment`` command; the demo's augmentation loop."""

from __future__ import annotations

import argparse
import copy
import dataclasses
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import perturbations
import robustcheck
from robustcheck import demo
from robustcheck._cli_augment import add_parser
from robustcheck._cli_io import UsageError
from robustcheck.augmentation import UNIFORM_SHARE, Augmented, augment
from robustcheck.datasets import load_reviews
from robustcheck.errors import InvalidArgument, RobustcheckWarning

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def reviews() -> tuple[list[str], list[str]]:
    data = load_reviews()
    return data.texts[:60], data.labels[:60]


@pytest.fixture(scope="module")
def table() -> tuple[pd.DataFrame, pd.Series]:
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(as_frame=True, return_X_y=True)
    return x.iloc[:40, :6].copy(), y.iloc[:40].copy()


def used(result: Augmented) -> set[str]:
    return set(result.sources["perturbation"])


def passes_study(name: str) -> bool:
    p = perturbations.get(name)
    study = p.validity
    return study is None or study["label_kept"] >= 0.9 * study["pairs"]


# -- which perturbations make copies --------------------------------------------------


def test_the_text_suite_makes_copies_only_with_invariant_perturbations_that_passed(reviews):
    texts, labels = reviews
    result = augment(texts, labels, size=2.0, seed=0)
    names = used(result)
    assert names, "no copies at all"
    assert {perturbations.get(n).expectation for n in names} == {"invariant"}
    assert all(passes_study(n) for n in names)
    suite = {p.name for p in perturbations.select("text")}
    assert "negation.clause" in suite and "negation.clause" not in names
    assert not any(n.startswith("length.") for n in names)


def test_a_family_keeps_its_members_that_passed_and_drops_the_one_that_failed(reviews):
    texts, labels = reviews
    result = augment(texts, labels, perturbations="entity", size=1.0, seed=0)
    assert not passes_study("entity.number")  # 23 of 30 pairs kept the label
    planned = {row["perturbation"] for row in result.plan}
    assert planned == {"entity.location", "entity.person"}
    assert used(result) <= planned and used(result)


@pytest.mark.parametrize(("spec", "words"), [
    ("negation.clause", "directional"),
    ("length.truncate", "no-crash"),
    ("entity.number", "validity study"),
    (["typo.keyboard", "negation.clause"], "directional"),
    ("attack.text", "attack"),
    ("negation", "no label-keeping"),
])
def test_a_perturbation_that_may_change_the_label_is_refused_when_asked_for(reviews, spec,
                                                                            words):
    texts, labels = reviews
    with pytest.raises(InvalidArgument, match=words):
        augment(texts, labels, perturbations=spec)


def test_an_invariant_perturbation_without_a_study_makes_copies(reviews):
    texts, labels = reviews

    @perturbations.perturbation(name="shout.bang", modality="text", expectation="invariant",
                                description="an exclamation mark at the end",
                                severity="unused", register=False)
    def bang(text: str, *, rng: Any, severity: float) -> str:
        return text + "!"

    result = augment(texts, labels, perturbations=[bang], severities=[1.0], size=0.5)
    assert used(result) == {"shout.bang"}
    assert all(t.endswith("!") for t in result.inputs)


# -- weights ---------------------------------------------------------------------------


def loud(texts: list[str]) -> list[str]:
    """A model that fails on shouting only."""
    return ["loud" if t.isupper() else "calm" for t in texts]


@pytest.fixture(scope="module")
def shouting() -> tuple[list[str], robustcheck.RunResult]:
    texts = [t.lower() for t in load_reviews().texts[:40]]
    result = robustcheck.run(loud, texts, perturbations=["case.upper", "typo.keyboard"],
                             severities=[1.0], seed=0, progress=False)
    assert result["case.upper"][0].metrics["failure_rate"].value == 1.0
    assert result["typo.keyboard"][0].metrics["failure_rate"].value == 0.0
    return texts, result


def test_a_result_gives_more_copies_to_what_the_model_fails(shouting):
    texts, result = shouting
    labels = ["calm"] * len(texts)
    guided = augment(texts, labels, result=result, perturbations=["case.upper", "typo"],
                     severities=[1.0], size=0.5, seed=0)
    copies = {row["perturbation"]: row["copies"] for row in guided.plan}
    units = len(guided.plan)  # case.upper and the 6 typos, at severity 1
    assert units == 7
    share = UNIFORM_SHARE / units + (1 - UNIFORM_SHARE)  # all the failures are case.upper's
    assert copies["case.upper"] == round(share * 20)
    assert sum(copies.values()) == 20
    assert max(n for name, n in copies.items() if name != "case.upper") <= 1
    even = augment(texts, labels, perturbations=["case.upper", "typo"], severities=[1.0],
                   size=0.5, seed=0)
    assert max(row["copies"] for row in even.plan) - min(row["copies"] for row in even.plan) <= 1
    assert {row["failure_rate"] for row in even.plan} == {None}


def test_the_result_can_be_a_json_file_and_gives_the_same_copies(shouting, tmp_path):
    texts, result = shouting
    labels = ["calm"] * len(texts)
    path = tmp_path / "audit.json"
    result.to_json(path)
    a = augment(texts, labels, result=result, perturbations=["case.upper", "typo.keyboard"])
    b = augment(texts, labels, result=str(path), perturbations=["case.upper", "typo.keyboard"])
    assert a.inputs == b.inputs and a.sources.equals(b.sources)
    assert {row["severity"] for row in a.plan} == {1.0}  # the result's severities


# -- determinism, containers, the data passed ------------------------------------------


def test_the_same_seed_gives_the_same_copies_whatever_the_order_asked(reviews):
    texts, labels = reviews
    spec = ["typo.keyboard", "case.upper", "emoji"]
    a = augment(texts, labels, perturbations=spec, size=1.5, seed=3)
    b = augment(texts, labels, perturbations=spec[::-1], size=1.5, seed=3)
    assert a.inputs == b.inputs and a.labels == b.labels and a.sources.equals(b.sources)
    c = augment(texts, labels, perturbations=spec, size=1.5, seed=4)
    assert c.inputs != a.inputs


def test_a_copy_is_never_what_a_run_with_the_same_seed_audits(reviews):
    texts, labels = reviews
    result = augment(texts, labels, perturbations=["typo.keyboard"], severities=[1.0], seed=0)
    audited = perturbations.get("typo.keyboard").apply(texts, severity=1.0, seed=0)
    made = set(zip(result.sources["source_index"], result.inputs))
    assert not made & set(enumerate(audited))


def test_each_copy_is_a_changed_input_with_the_label_of_its_source(reviews):
    texts, _ = reviews
    labels = [f"label-{i}" for i in range(len(texts))]  # one label per input
    result = augment(texts, labels, size=2.0, seed=1)
    assert len(result.inputs) == len(result.labels) == len(result.sources) == 120
    for copy_, label, source in zip(result.inputs, result.labels,
                                    result.sources["source_index"]):
        assert label == labels[source]
        assert copy_ != texts[source]
    made = list(zip(result.sources["source_index"], result.inputs))
    assert len(set(made)) == len(made), "a copy was made twice"


def test_inputs_and_labels_passed_are_not_modified(reviews, table):
    texts, labels = reviews
    kept = (copy.deepcopy(texts), copy.deepcopy(labels))
    augment(texts, labels, size=1.0, seed=0)
    assert (texts, labels) == kept
    frame, target = table
    frame_before, target_before = frame.copy(deep=True), target.copy(deep=True)
    augment(frame, target, perturbations=["missing.nan", "noise", "format.number_as_string"])
    pd.testing.assert_frame_equal(frame, frame_before)
    pd.testing.assert_series_equal(target, target_before)


@pytest.mark.parametrize("kind", ["list", "tuple", "array", "series"])
def test_copies_come_in_the_container_the_inputs_came_in(reviews, kind):
    texts, labels = reviews
    wrap = {"list": list, "tuple": tuple, "array": np.array,
            "series": lambda xs: pd.Series(xs, index=range(100, 100 + len(xs)), name="t")}[kind]
    result = augment(wrap(texts), wrap(labels), perturbations="typo", size=0.5, seed=0)
    new_inputs, new_labels = result
    assert type(new_inputs) is type(wrap(texts)) and type(new_labels) is type(wrap(labels))
    assert len(new_inputs) == len(new_labels) == 30
    if kind == "series":  # each copy keeps the index label of its source
        assert list(new_inputs.index) == [100 + i for i in result.sources["source_index"]]
        assert new_inputs.name == "t" and new_labels.index.equals(new_inputs.index)


def test_a_table_gives_a_table_with_its_columns_and_the_index_of_the_sources(table):
    frame, target = table
    frame = frame.set_axis([f"r{i}" for i in range(len(frame))])
    target = target.set_axis(frame.index)
    new_rows, new_labels = augment(frame, target, perturbations=["noise", "missing.nan"],
                                   seed=0)
    assert isinstance(new_rows, pd.DataFrame) and isinstance(new_labels, pd.Series)
    assert list(new_rows.columns) == list(frame.columns) and len(new_rows) == len(frame)
    assert (new_rows.dtypes == "float64").all()
    assert new_rows.index.equals(new_labels.index)
    sources = frame.loc[new_rows.index]
    differs = ~((new_rows.to_numpy() == sources.to_numpy())
                | (new_rows.isna().to_numpy() & sources.isna().to_numpy()))
    assert differs.any(axis=1).all(), "a copy equal to its source"
    assert (new_labels.to_numpy() == target.loc[new_rows.index].to_numpy()).all()


def test_table_perturbations_whose_rows_would_not_fit_make_no_copies(table):
    frame, target = table
    result = augment(frame, target, perturbations=["schema.extra_column",
                                                   "schema.column_order", "noise.gaussian"])
    assert used(result) == {"noise.gaussian"}
    assert list(result.inputs.columns) == list(frame.columns)


# -- size ------------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "copies"), [(0.5, 30), (1.0, 60), (2.5, 150), (0.001, 1)])
def test_size_is_the_number_of_copies_per_input(reviews, size, copies):
    texts, labels = reviews
    result = augment(texts, labels, perturbations=["typo", "emoji"], size=size, seed=0)
    assert len(result.inputs) == len(result.sources) == copies


def test_fewer_copies_than_asked_are_made_with_a_warning_when_no_more_exist(reviews):
    texts, labels = reviews
    with pytest.warns(RobustcheckWarning, match="made 60 copies of the 120"):
        result = augment(texts, labels, perturbations=["case.upper"], severities=[1.0],
                         size=2.0)
    assert sorted(result.sources["source_index"]) == list(range(60))  # each once


# -- errors ----------------------------------------------------------------------------


def tabular_result(shouting: Any) -> robustcheck.RunResult:
    _, result = shouting
    return dataclasses.replace(result, data={**result.data, "modality": "tabular"})


@pytest.mark.parametrize(("change", "words"), [
    ({"labels": ["positive"] * 3}, "labels has 3 entries for 60 inputs"),
    ({"labels": None}, "labels is None"),
    ({"labels": {"a": 1}}, "labels is a dict"),
    ({"size": 0}, "size must be a positive number"),
    ({"size": -1.0}, "size must be a positive number"),
    ({"size": math.nan}, "size must be a positive number"),
    ({"size": True}, "size must be a positive number"),
    ({"size": "1"}, "size must be a positive number"),
    ({"seed": -1}, "seed must be a non-negative integer"),
    ({"severities": [0.0]}, "severities must be numbers in"),
    ({"perturbations": "typo.keybaord"}, "typo.keyboard"),
    ({"perturbations": "tabular"}, "not text perturbations"),
    ({"result": {"rows": []}}, "result must be a RunResult or the path"),
    ({"result": "tabular"}, "result is an audit of tabular data"),
])
def test_bad_arguments_name_the_argument_the_value_and_the_fix(reviews, shouting, change,
                                                              words):
    texts, labels = reviews
    kwargs: dict[str, Any] = {"labels": labels, **change}
    if kwargs.get("result") == "tabular":
        kwargs["result"] = tabular_result(shouting)
    with pytest.raises(InvalidArgument, match=words):
        augment(texts, **kwargs)


def test_a_label_column_name_is_refused_with_the_call_to_make(table):
    frame, target = table
    with pytest.raises(InvalidArgument, match=r"df.drop\(columns=\['target'\]\)"):
        augment(frame.assign(target=target), "target", perturbations="noise")


def test_empty_inputs_are_refused():
    with pytest.raises(InvalidArgument, match="inputs is empty"):
        augment([], [])


# -- the command -------------------------------------------------------------------------


def augment_command(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="robustcheck")
    add_parser(parser.add_subparsers())
    args = parser.parse_args(["augment", *argv])
    return int(args.handler(args))


def test_the_command_writes_the_copies_with_their_source_rows_and_record(tmp_path, capsys):
    frame = load_reviews().frame().iloc[:50]
    data = tmp_path / "train.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "copies" / "augmented.csv"
    assert augment_command("--data", str(data), "--input-column", "text", "--label-column",
                           "label", "--perturbations", "typo", "emoji", "--size", "0.4",
                           "--seed", "2", "--out", str(out)) == 0
    written = pd.read_csv(out)
    assert list(written.columns) == ["text", "label", "domain", "perturbation", "severity",
                                     "source_index"]
    assert len(written) == 20
    sources = frame.iloc[written["source_index"]]
    assert (written["label"].to_numpy() == sources["label"].to_numpy()).all()
    assert (written["domain"].to_numpy() == sources["domain"].to_numpy()).all()
    assert (written["text"].to_numpy() != sources["text"].to_numpy()).all()
    expected = augment(frame["text"].tolist(), frame["label"].tolist(),
                       perturbations=["typo", "emoji"], size=0.4, seed=2)
    assert written["text"].tolist() == list(expected.inputs)
    assert "20 copies" in capsys.readouterr().out


def test_robustcheck_augment_runs_from_the_command_line(tmp_path, capsys):
    from robustcheck.cli import main

    data = tmp_path / "train.csv"
    load_reviews().frame().iloc[:20].to_csv(data, index=False)
    out = tmp_path / "augmented.csv"
    argv = ["augment", "--data", str(data), "--input-column", "text", "--label-column",
            "label", "--perturbations", "typo", "--size", "0.5", "--out", str(out)]
    assert main(argv) == 0
    assert len(pd.read_csv(out)) == 10
    with pytest.raises(SystemExit) as stop:
        main([*argv[:4], "body", *argv[5:]])
    assert stop.value.code == 2
    assert "robustcheck augment: error: --input-column 'body'" in capsys.readouterr().err


def test_the_command_augments_a_table_weighted_by_a_result_file(tmp_path, table):
    frame, target = table
    data = tmp_path / "train.csv"
    frame.assign(target=target).to_csv(data, index=False)
    result = robustcheck.run(lambda x: (x["mean radius"] > 14).astype(int).tolist(),
                             frame, target.tolist(), perturbations=["noise"],
                             severities=[0.5, 1.0], progress=False)
    result.to_json(tmp_path / "audit.json")
    out = tmp_path / "augmented.csv"
    assert augment_command("--data", str(data), "--label-column", "target", "--result",
                           str(tmp_path / "audit.json"), "--perturbations", "noise",
                           "--out", str(out)) == 0
    written = pd.read_csv(out)
    assert list(written.columns) == [*frame.columns, "target", "perturbation", "severity",
                                     "source_index"]
    assert set(written["severity"]) <= {0.5, 1.0} and len(written) == len(frame)
    assert (written["target"].to_numpy() ==
            target.to_numpy()[written["source_index"].to_numpy()]).all()


@pytest.mark.parametrize(("argv", "words"), [
    (["--input-column", "body"], "--input-column 'body': no such column"),
    (["--label-column", "stars"], "--label-column 'stars': no such column"),
])
def test_the_command_names_a_missing_column(tmp_path, argv, words):
    data = tmp_path / "train.csv"
    load_reviews().frame().iloc[:10].to_csv(data, index=False)
    base = {"--input-column": "text", "--label-column": "label"}
    base.update(dict(zip(argv[::2], argv[1::2])))
    flat = [x for pair in base.items() for x in pair]
    with pytest.raises(UsageError, match=words):
        augment_command("--data", str(data), *flat, "--out", str(tmp_path / "o.csv"))


def test_the_command_refuses_data_that_already_has_a_record_column(tmp_path):
    data = tmp_path / "train.csv"
    load_reviews().frame().iloc[:10].assign(severity=1).to_csv(data, index=False)
    with pytest.raises(UsageError, match="already has a column 'severity'"):
        augment_command("--data", str(data), "--input-column", "text", "--label-column",
                        "label", "--out", str(tmp_path / "o.csv"))


@pytest.mark.parametrize("size", ["0", "-2", "many", "inf"])
def test_the_command_refuses_a_size_that_is_not_positive(tmp_path, size, capsys):
    with pytest.raises(SystemExit) as stop:
        augment_command("--data", "x.csv", "--label-column", "label", "--size", size,
                        "--out", str(tmp_path / "o.csv"))
    assert stop.value.code == 2 and "--size" in capsys.readouterr().err


# -- the loop ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def loop() -> demo.AugmentationLoop:
    return demo.augmentation_loop(seed=0)


@pytest.mark.slow  # two audits of the word model, a retraining and a comparison (~25 s)
def test_the_loop_compares_v1_and_v2_on_the_same_held_out_reviews(loop):
    held = demo.validation_split()[2]
    assert loop.v1.data["fingerprint"] == loop.v2.data["fingerprint"]
    assert loop.v1.n == len(held) and len(loop.augmented.sources) == 3 * loop.train
    assert loop.comparison.unpaired == [] and len(loop.comparison.rows) == len(loop.v1.rows)
    assert loop.clean["v1"] == pytest.approx(loop.v1.clean["accuracy"]["value"])
    assert loop.clean["v2"] == pytest.approx(loop.v2.clean["accuracy"]["value"])
    words = [m.steps[0][1].vocabulary_ for m in (loop.models["v1"], loop.models["v2"])]
    assert len(words[1]) > len(words[0])  # v2 saw the copies
    # the numbers the README reports (seed 0, size 3)
    better = [(r["perturbation"], r["severity"])
              for r in loop.changed("failure_rate", "improvement")]
    assert ("unicode.fullwidth", 1.0) in better
    assert loop.changed("failure_rate", "regression") == []
    assert loop.clean["p_value"] > 0.05
    assert "unicode.fullwidth@1: 52.1% -> 23.2%" in loop.summary()


@pytest.mark.slow  # the example end to end, in its own interpreter (~25 s)
def test_the_example_prints_the_numbers_of_the_loop(loop, tmp_path):
    done = subprocess.run([sys.executable, str(EXAMPLES / "augmentation_loop.py"), "--out",
                           str(tmp_path)], capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    c = loop.clean
    assert (f"clean accuracy {c['v1']:.1%} -> {c['v2']:.1%}: {c['v1_only']} reviews only v1 "
            f"got right, {c['v2_only']} only v2") in done.stdout
    for row in loop.changed("failure_rate", "improvement"):
        m = row["metrics"]["failure_rate"]
        assert (f"{row['perturbation']}@{row['severity']:g}: {m['a']['value']:.1%} -> "
                f"{m['b']['value']:.1%}") in done.stdout
    assert {p.name for p in tmp_path.iterdir()} == {"v1.json", "v2.json", "copies.csv",
                                                    "v1-vs-v2.html"}
    assert robustcheck.load(tmp_path / "v2.json").score == loop.v2.score


@pytest.mark.slow  # the whole demo (~60 s): three text audits, two tabular ones, the loop
def test_the_demo_runs_the_loop_and_writes_its_reports(tmp_path):
    said: list[str] = []
    output = demo.run_demo(tmp_path, progress=False, say=said.append)
    assert output.loop is not None
    assert output.loop.v1 is output.results["sentiment-v1-words"]  # audited once
    assert output.results[demo.V2_AUGMENTED] is output.loop.v2
    for name in ("augmented report", "augmented json", "augmented comparison report"):
        assert output.files[name].is_file()
    assert output.loop.summary() in said
