"""The ``generation`` task: text answers to prompts, audited by how their meaning changes.

The models here are small deterministic functions of the prompt written for the tests
(a "summariser" that keeps the first words, a JSON extractor, a model that obeys an
injected instruction), so every expected number is worked out by hand.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np
import pytest

import robustcheck
from robustcheck import tasks
from robustcheck._filecheck import check_run
from robustcheck._generated import Generated, read_generated
from robustcheck._generation import Generation, OutputContract, ratio_of_sums
from robustcheck._prediction_data import Prediction
from robustcheck.adapters import CallableAdapter
from robustcheck.errors import InvalidArgument, ModelOutputError, ResultFileError

PROMPTS = ["the hotel was clean and quiet", "terrible food and a long wait",
           "we would come back next summer", "parking was easy and cheap"] * 5
HEAD = 3


def first_words(prompts: list[str]) -> list[str]:
    """A 'summariser': the prompt's first three words, as it was written."""
    return [" ".join(p.split()[:HEAD]) for p in prompts]


def run(model: Any, **kwargs: Any) -> robustcheck.RunResult:
    kwargs.setdefault("perturbations", ["case.upper"])
    kwargs.setdefault("severities", [1.0])
    kwargs.setdefault("progress", False)
    kwargs.setdefault("task", "generation")
    return robustcheck.run(model, kwargs.pop("inputs", PROMPTS), kwargs.pop("labels", None),
                           **kwargs)


# -- reading answers --------------------------------------------------------------------


def test_answers_are_read_as_texts_with_their_usage() -> None:
    pred = read_generated(["a\x00", Generated("b", 3, 4, 0.5), {"text": "c", "cost": 1.0}],
                          3, source="m")
    assert pred.task == "generation" and pred.labels.dtype == object
    assert pred.labels.tolist() == ["a\x00", "b", "c"]  # a trailing NUL is kept
    assert pred.usage is not None
    np.testing.assert_array_equal(pred.usage[1], [3, 4, 0.5])
    assert np.isnan(pred.usage[0]).all() and pred.usage[2, 2] == 1.0
    assert read_generated(["x", "y"], 2, source="m").usage is None  # nothing reported
    both = Prediction.concat([pred, read_generated(["z"], 1, source="m")])
    assert both.usage is not None and both.usage.shape == (4, 3)
    assert np.isnan(both.usage[3]).all()
    np.testing.assert_array_equal(pred.take([1]).usage, [[3, 4, 0.5]])


@pytest.mark.parametrize(("raw", "match"), [
    ("one string", "returns a list with one str per prompt"),
    (["a"], "1 outputs for 2 prompts"),
    (["a", 3], "int 3 for prompt 1"),
    (["a", None], "NoneType None for prompt 1"),
    (["a", {"text": 5}], "output 1: Generated.text must be a str"),
])
def test_wrong_answers_name_the_prompt(raw: Any, match: str) -> None:
    with pytest.raises(ModelOutputError, match=match):
        read_generated(raw, 2, source="m")


@pytest.mark.parametrize(("field", "value"), [("prompt_tokens", -1), ("prompt_tokens", 2.5),
                                              ("completion_tokens", True), ("cost", math.nan)])
def test_generated_refuses_impossible_counts(field: str, value: Any) -> None:
    with pytest.raises(ModelOutputError, match=field):
        Generated("x", **{field: value})


def test_usage_of_the_wrong_shape_is_refused() -> None:
    with pytest.raises(ModelOutputError, match="usage has shape"):
        Prediction(labels=np.array(["a"], dtype=object), usage=np.zeros((1, 2)))
    with pytest.raises(ModelOutputError, match="non-negative"):
        Prediction(labels=np.array(["a"], dtype=object), usage=-np.ones((1, 3)))


# -- the metrics --------------------------------------------------------------------------


def test_change_rate_and_similarity_by_hand() -> None:
    # case.upper upper-cases each prompt: the summary is upper-cased too. token_f1 and
    # exact normalise case, so nothing changed in meaning; a case-sensitive scorer says
    # every output changed.
    result = run(first_words)
    row = result.rows[0]
    assert row.metrics["change_rate"].value == 0.0
    assert row.metrics["similarity"].value == 1.0
    assert row.metrics["failure_rate"].value == 0.0
    strict = run(first_words, task=Generation(similarity=lambda a, b: float(a == b)))
    assert strict.rows[0].metrics["change_rate"].value == 1.0
    assert strict.rows[0].metrics["similarity"].value == 0.0
    assert strict.rows[0].metrics["failure_rate"].value == 1.0
    assert strict.clean["generation"]["similarity"] == "<lambda>"


def test_a_partial_change_is_counted_per_prompt() -> None:
    # the model answers the first word only when the prompt is shouted: token_f1 of
    # "the hotel was" (normalised: "hotel was") against "THE" (normalised: "") is 0, and
    # of "terrible food and" against "TERRIBLE" is 2 x (1 x 1/3) / (1 + 1/3) = 0.5
    def shy(prompts: list[str]) -> list[str]:
        return [p.split()[0] if p.isupper() else " ".join(p.split()[:3]) for p in prompts]

    row = run(shy).rows[0]
    want = {"the hotel was": 0.0, "terrible food and": 0.5, "we would come": 0.5,
            "parking was easy": 0.5}
    sims = row.extra["similarity"].astype(float)
    for i, prompt in enumerate(PROMPTS):
        assert sims[i] == pytest.approx(want[" ".join(prompt.split()[:3])])
    # below the 0.5 threshold: only the first kind (5 of 20)
    assert row.metrics["change_rate"].value == pytest.approx(5 / 20)
    assert row.metrics["similarity"].value == pytest.approx((0 + 0.5 * 3) / 4)
    tighter = run(shy, task=Generation(threshold=0.6)).rows[0]
    assert tighter.metrics["change_rate"].value == 1.0


def test_correctness_against_references() -> None:
    refs = first_words(PROMPTS)

    def forgetful(prompts: list[str]) -> list[str]:  # loses the summary when shouted
        return ["no idea" if p.isupper() else s for p, s in zip(prompts, first_words(prompts))]

    result = run(forgetful, labels=refs)
    m = result.rows[0].metrics
    assert m["correctness_clean"].value == 1.0
    assert m["correctness_perturbed"].value == 0.0
    assert m["correctness_drop"].value == 1.0
    assert result.clean["correctness"]["value"] == 1.0


def test_references_must_be_strings() -> None:
    with pytest.raises(InvalidArgument, match="label 1 is int"):
        run(first_words, inputs=PROMPTS[:2], labels=["a", 3])


def test_crashes_are_crashes_not_changes() -> None:
    def fragile(prompts: list[str]) -> list[str]:
        if any(p.isupper() and p.startswith("TERRIBLE") for p in prompts):
            raise RuntimeError("cannot handle shouting")
        return first_words(prompts)

    row = run(fragile).rows[0]
    assert row.metrics["crash_rate"].value == pytest.approx(5 / 20)
    assert row.metrics["change_rate"].n == 15  # the answered ones only
    assert row.metrics["failure_rate"].value == pytest.approx(5 / 20)
    assert np.isnan(row.extra["similarity"][1])


# -- the noise floor -------------------------------------------------------------------


class Sampler:
    """A model that samples: each call, prompt i gets the summary, or on every other
    call of the same prompt, something unrelated (so the clean pass disagrees with
    itself on every prompt it answers twice)."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def __call__(self, prompts: list[str]) -> list[str]:
        out = []
        for p in prompts:
            k = self.seen.get(p, 0)
            self.seen[p] = k + 1
            out.append("something else entirely" if k % 2 else " ".join(p.split()[:3]))
        return out


def test_the_clean_pass_twice_is_the_noise_floor() -> None:
    result = run(Sampler(), perturbations=["typo.keyboard"])
    floor = result.clean["self_change_rate"]
    assert floor["value"] == 1.0  # every prompt answered differently the second time
    assert result.clean["self_similarity"]["value"] == 0.0
    row = result.rows[0]
    assert row.metrics["change_rate"].value > 0
    assert result.within_noise(row) is True
    result.check(max_change_rate=0.0)  # within the noise: not a finding, so it passes


def test_changes_within_the_noise_floor_are_not_findings() -> None:
    from robustcheck._findings import findings

    noisy = run(Sampler(), perturbations=["typo.keyboard"])
    assert noisy.rows[0].metrics["failure_rate"].value > 0
    assert [f.perturbation for f in findings(noisy)] == []

    def shy(prompts: list[str]) -> list[str]:
        return ["?" if p.isupper() else " ".join(p.split()[:3]) for p in prompts]

    assert [f.perturbation for f in findings(run(shy))] == ["case.upper"]


def test_a_deterministic_model_has_no_noise_and_real_changes_are_findings() -> None:
    def shy(prompts: list[str]) -> list[str]:
        return ["?" if p.isupper() else " ".join(p.split()[:3]) for p in prompts]

    result = run(shy)
    assert result.clean["self_change_rate"]["value"] == 0.0
    assert result.within_noise(result.rows[0]) is False
    with pytest.raises(robustcheck.RobustnessError, match=r"change_rate 1\.000"):
        result.check(max_change_rate=0.1)
    assert robustcheck.run(lambda x: ["a"] * len(x), ["x y"], ["a"], perturbations=[
        "case.upper"], progress=False).within_noise(result.rows[0]) is None


# -- contracts, canaries, expectations ------------------------------------------------


def extractor(prompts: list[str]) -> list[str]:
    """JSON out, except that a shouted prompt gets prose (the contract breaks)."""
    return ["Sure! Here it is." if p.isupper() else json.dumps({"words": len(p.split())})
            for p in prompts]


@pytest.mark.parametrize("output", ["json", {"type": "object", "required": ["words"],
                                             "properties": {"words": {"type": "integer",
                                                                      "minimum": 1}}},
                                    r"\{.*\}", re.compile(r"\{\"words\": \d+\}")])
def test_a_broken_output_contract_is_a_format_failure(output: Any) -> None:
    result = run(extractor, task=Generation(output=output))
    row = result.rows[0]
    assert row.metrics["format_failure_rate"].value == 1.0
    assert row.metrics["failure_rate"].value == 1.0
    assert result.clean["format_failure_rate"]["value"] == 0.0
    fine = run(lambda ps: [json.dumps({"words": 3})] * len(ps), task=Generation(output=output))
    assert fine.rows[0].metrics["format_failure_rate"].value == 0.0


def test_the_contract_reads_json_in_a_code_fence_and_checks_the_schema() -> None:
    schema = {"type": "object", "required": ["a"], "additionalProperties": False,
              "properties": {"a": {"type": "array", "items": {"type": "string"},
                                   "maxItems": 2}}}
    contract = OutputContract(schema)
    assert contract.ok('```json\n{"a": ["x"]}\n```')
    assert not contract.ok('{"a": ["x", "y", "z"]}')
    assert not contract.ok('{"a": [1]}')
    assert not contract.ok('{"a": [], "b": 1}')
    assert not contract.ok('{"b": []}')
    assert not contract.ok("not json")


@pytest.mark.parametrize(("spec", "match"), [
    ({"type": "object", "oneOf": []}, "oneOf"),
    ({"type": "thing"}, "unknown JSON type 'thing'"),
    ("(", "not a valid regular expression"),
    (3, "output must be 'json'"),
])
def test_an_unusable_contract_is_refused(spec: Any, match: str) -> None:
    with pytest.raises(InvalidArgument, match=match):
        Generation(output=spec)


def obedient(prompts: list[str]) -> list[str]:
    """Falls for a shouted prompt: prints the canary."""
    return [f"OK: {Generation().canary}" if p.isupper() else " ".join(p.split()[:3])
            for p in prompts]


def test_a_canary_in_the_output_fails_a_no_canary_row() -> None:
    result = run(obedient, expect={"case.upper": "no-canary"})
    row = result.rows[0]
    assert row.expectation == "no-canary"
    assert row.metrics["failure_rate"].value == 1.0
    assert (row.extra["state"] & 4).all()
    kept = row.details["outputs"]
    assert len(kept) == 5 and all(Generation().canary in t for t in kept.values())
    assert run(first_words, expect={"case.upper": "no-canary"}).rows[0].metrics[
        "failure_rate"].value == 0.0


def test_no_canary_rows_are_refused_for_a_classifier() -> None:
    with pytest.raises(InvalidArgument, match="only a generation model's text can show"):
        robustcheck.run(CallableAdapter(lambda x: ["a"] * len(x), task="classification"),
                        ["x y"], perturbations=["case.upper"], expect={"case.upper":
                                                                      "no-canary"},
                        progress=False)


def test_an_expect_function_sees_the_texts() -> None:
    seen: list[Any] = []

    def starts_alike(clean: np.ndarray, pert: np.ndarray) -> np.ndarray:
        seen.append((clean.tolist(), pert.tolist()))
        return np.array([c[:1].lower() == p[:1].lower() for c, p in zip(clean, pert)])

    # shouted, the model answers "t": alike for the two prompts that start with t
    result = run(lambda ps: ["t" if p.isupper() else p for p in ps],
                 expect={"case.upper": starts_alike})
    assert any("the hotel was clean and quiet" in c for c, _ in seen)
    assert result.rows[0].metrics["failure_rate"].value == pytest.approx(10 / 20)


def test_directional_rows_fail_where_the_meaning_stayed() -> None:
    result = run(first_words, expect={"case.upper": "changes"})
    assert result.rows[0].metrics["failure_rate"].value == 1.0


# -- tokens and cost ---------------------------------------------------------------------


def test_tokens_and_cost_ratios_of_the_perturbed_calls() -> None:
    def billed(prompts: list[str]) -> list[Generated]:
        out = []
        for p in prompts:
            words = len(p.split())
            completion = 6 if p.isupper() else 2  # shouted prompts get longer answers
            out.append(Generated("ok", words, completion, 0.01 * (words + completion)))
        return out

    row = run(billed).rows[0]
    words = np.array([len(p.split()) for p in PROMPTS])
    want = float((words + 6).sum() / (words + 2).sum())
    assert row.metrics["tokens_ratio"].value == pytest.approx(want)
    assert row.metrics["cost_ratio"].value == pytest.approx(want)
    assert row.metrics["tokens_ratio"].low < want < row.metrics["tokens_ratio"].high
    assert "tokens_ratio" not in run(first_words).rows[0].metrics  # nothing reported


def test_ratio_of_sums_interval_covers_the_truth() -> None:
    rng = np.random.default_rng(0)
    covered = 0
    for _ in range(200):
        before = rng.uniform(1, 3, 80)
        after = before * 1.5 + rng.normal(0, 0.5, 80)
        m = ratio_of_sums(after, before)
        covered += m.low <= 1.5 <= m.high
    assert 180 <= covered <= 200  # about 95% of the intervals hold the true ratio


# -- the task itself, files and comparisons ------------------------------------------


def test_task_names_and_instances() -> None:
    assert "generation" in tasks.names()
    assert tasks.get("generation") is tasks.GENERATION
    with pytest.raises(InvalidArgument, match="task must be None, a task name"):
        run(first_words, task=3)
    with pytest.raises(InvalidArgument, match="unknown task 'generate'"):
        run(first_words, task="generate")
    with pytest.raises(InvalidArgument, match="threshold must be a number in"):
        Generation(threshold=0)


def test_the_callers_adapter_is_not_modified() -> None:
    adapter = CallableAdapter(first_words)
    result = run(adapter)
    assert result.task == "generation" and adapter.task is None
    fixed = CallableAdapter(first_words, task="classification")
    with pytest.raises(InvalidArgument, match="answers as 'classification'"):
        run(fixed)


def test_the_result_file_round_trips_and_is_checked(tmp_path: Any) -> None:
    result = run(first_words, labels=first_words(PROMPTS), perturbations=["typo.keyboard"])
    path = tmp_path / "gen.json"
    result.to_json(path)
    back = robustcheck.load(path)
    assert back.task == "generation"
    for a, b in zip(result.rows, back.rows):
        np.testing.assert_array_equal(a.extra["similarity"], b.extra["similarity"])
        np.testing.assert_array_equal(a.extra["state"], b.extra["state"])
        assert {k: m.to_dict() for k, m in a.metrics.items()} == \
            {k: m.to_dict() for k, m in b.metrics.items()}
        assert set(a.metrics) >= {"change_rate", "similarity", "correctness_drop"}
    d = json.loads(path.read_text())
    del d["rows"][0]["samples"]["similarity"]
    with pytest.raises(ResultFileError, match=r"rows\[0\].samples.similarity is missing"):
        check_run(d, "gen.json", d["schema_version"])
    d = json.loads(path.read_text())
    d["clean"]["labels"] = d["clean"]["ok"]
    with pytest.raises(ResultFileError, match="a generation run keeps no labels"):
        check_run(d, "gen.json", d["schema_version"])


def test_two_versions_are_compared_sample_by_sample() -> None:
    def shy(prompts: list[str]) -> list[str]:
        return ["?" if p.isupper() else " ".join(p.split()[:3]) for p in prompts]

    a, b = run(first_words, name="v1"), run(shy, name="v2")
    comparison = robustcheck.compare(a, b)
    row = comparison.rows[0]
    assert row["metrics"]["change_rate"]["test"] == "mcnemar-exact"
    assert row["metrics"]["change_rate"]["discordant"] == [0, 20]
    assert row["metrics"]["similarity"]["test"] == "paired-bootstrap"
    assert row["metrics"]["similarity"]["delta"] == pytest.approx(-1.0)
    assert row["verdict"] == "regression"


def test_results_judged_with_other_settings_do_not_compare() -> None:
    a = run(first_words, name="v1")
    b = run(first_words, name="v2", task=Generation(similarity="chrf"))
    with pytest.raises(robustcheck.errors.IncompatibleResults,
                       match="similarity: 'token_f1' vs 'chrf'"):
        robustcheck.compare(a, b)
    c = run(first_words, name="v3", task=Generation(threshold=0.7))
    with pytest.raises(robustcheck.errors.IncompatibleResults, match=r"threshold: 0\.5 vs 0\.7"):
        robustcheck.compare(a, c)


def test_the_report_shows_generated_outputs(tmp_path: Any) -> None:
    result = run(lambda ps: ["<script>alert(1)</script>" if p.isupper() else p for p in ps])
    html = result.to_html(tmp_path / "r.html").read_text()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Change rate" in html and "Similarity" in html
    assert "similarity of the two outputs 0.000" in html
    assert "(expected the same meaning)" in html and "the same label" not in html
    # the two outputs as a diff: what the model wrote differently is marked
    assert re.search(r'output <span class="v">.*?<del>.*?</del>.*?</span> → '
                     r'<span class="v">.*?<mark>&lt;script&gt;', html, re.S)


def test_the_report_states_the_noise_floor(tmp_path: Any) -> None:
    html = run(Sampler(), perturbations=["typo.keyboard"]).to_html(
        tmp_path / "r.html").read_text()
    assert "Noise floor" in html and "100.0%" in html
    plain = run(first_words).to_html(tmp_path / "p.html").read_text()
    assert "changed in meaning on <b>0.0%</b>" in plain


def test_each_change_rate_is_shown_against_the_noise_floor(tmp_path: Any) -> None:
    noisy = run(Sampler(), perturbations=["typo.keyboard"]).to_html(tmp_path / "n.html")
    assert "≈ noise" in noisy.read_text()
    assert "noise floor up to 100.0%" in noisy.read_text()

    def shy(prompts: list[str]) -> list[str]:
        return ["?" if p.isupper() else " ".join(p.split()[:3]) for p in prompts]

    real = run(shy).to_html(tmp_path / "r.html").read_text()
    assert "≈ noise" not in real and "noise floor up to 16.1%" in real


# -- transformers pipelines that write text (fakes with their call contract, and a real
#    tiny one when transformers is installed) --------------------------------------------


class FakeGenerationPipeline:
    """The call contract of transformers' text-writing pipelines (4.x): for a list of
    prompts, ``text-generation`` returns one list of ``{"generated_text"}`` dicts per
    prompt (the prompt and the continuation unless ``return_full_text=False``),
    ``text2text-generation`` one ``{"generated_text"}`` dict per prompt, and
    ``summarization`` one ``{"summary_text"}`` dict per prompt; a single prompt may come
    back unwrapped."""

    __module__ = "transformers.pipelines.text_generation"

    def __init__(self, task: str, *, unwrap_single: bool = False) -> None:
        self.task = task
        self.unwrap_single = unwrap_single
        self.model = type("M", (), {"name_or_path": "fake/tiny-writer"})()
        self.calls: list[dict[str, Any]] = []

    def __call__(self, prompts: list[str], **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        answers = []
        for p in prompts:
            text = " ".join(p.split()[:3])
            if self.task == "text-generation":
                full = kwargs.get("return_full_text", True)
                answers.append([{"generated_text": (p + " " if full else "") + text}])
            elif self.task == "summarization":
                answers.append({"summary_text": text})
            else:
                answers.append({"generated_text": text})
        if self.unwrap_single and len(answers) == 1:
            return answers[0]
        return answers


@pytest.mark.parametrize("task", ["text-generation", "text2text-generation", "summarization"])
@pytest.mark.parametrize("unwrap", [False, True])
def test_a_text_writing_pipeline_is_a_generation_model(task: str, unwrap: bool) -> None:
    pipe = FakeGenerationPipeline(task, unwrap_single=unwrap)
    adapter = robustcheck.adapt(pipe)
    assert adapter.task == "generation"
    pred = adapter.predict(["the hotel was clean and quiet"])
    assert pred.labels.tolist() == ["the hotel was"]  # the answer only, never the prompt
    assert adapter.predict(PROMPTS[:3]).labels.tolist() == first_words(PROMPTS[:3])
    if task == "text-generation":
        assert pipe.calls[0] == {"return_full_text": False}
    result = run(pipe)
    assert result.task == "generation"
    assert result.rows[0].metrics["change_rate"].value == 0.0


def test_a_text_writing_pipeline_answering_oddly_is_a_model_error() -> None:
    class Labeller(FakeGenerationPipeline):
        def __call__(self, prompts: list[str], **kwargs: Any) -> Any:
            return [{"label": "x"} for _ in prompts]

    with pytest.raises(ModelOutputError, match="expected a dict with generated_text or "
                                               "summary_text"):
        robustcheck.adapt(Labeller("summarization")).predict(["a b", "c d"])

    class Short(FakeGenerationPipeline):
        def __call__(self, prompts: list[str], **kwargs: Any) -> Any:
            return [{"summary_text": "x"}]

    with pytest.raises(ModelOutputError, match="for 2 prompts; expected one answer per"):
        robustcheck.adapt(Short("summarization")).predict(["a b", "c d"])
    with pytest.raises(InvalidArgument, match="answers as 'generation'"):
        robustcheck.adapt(FakeGenerationPipeline("summarization"), task="classification")


def test_a_real_tiny_text_generation_pipeline_built_offline(tmp_path: Any) -> None:
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("torch")
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad",
                                "hotel", "food"]))
    tokenizer = transformers.BertTokenizer(str(vocab))
    config = transformers.GPT2Config(vocab_size=9, n_positions=32, n_embd=8, n_layer=1,
                                     n_head=2, pad_token_id=0, eos_token_id=3,
                                     bos_token_id=2)
    model = transformers.GPT2LMHeadModel(config).eval()
    pipe = transformers.pipeline("text-generation", model=model, tokenizer=tokenizer,
                                 max_new_tokens=3, do_sample=False)
    adapter = robustcheck.adapt(pipe)
    pred = adapter.predict(["good hotel", "bad food"])
    assert adapter.task == "generation" and len(pred.labels) == 2
    assert all(isinstance(t, str) for t in pred.labels)
    assert pred.labels.tolist() == adapter.predict(["good hotel", "bad food"]).labels.tolist()
